/* Complete responses: head and body in one write, JSON error bodies (ours and civetweb's),
 * per-route and per-status counters, and the small shared answers (404, 405). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "access.h"
#include "accesslog.h"
#include "request.h"
#include "vc/wire_json.h"

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 207: return "Multi-Status";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Status";
    }
}

/* The route template of a request, for per-route counters (ids never become label values). */
static const char *route_of(const struct mg_connection *conn)
{
    const char *u = mg_get_request_info(conn)->local_uri;
    static const char *const fixed[] = {"/v1/detections", "/v1/detections/batch", "/detect",
                                        "/detect/batch", "/health", "/metrics", "/metrics.json"};
    for (size_t i = 0; u != NULL && i < sizeof(fixed) / sizeof(fixed[0]); i++)
        if (strcmp(u, fixed[i]) == 0)
            return fixed[i];
    if (u != NULL && strncmp(u, "/v1/detections/", 15) == 0) {
        const char *slash = strchr(u + 15, '/');
        return slash == NULL ? "/v1/detections/{id}"
               : strcmp(slash, "/feedback") == 0 ? "/v1/detections/{id}/feedback"
                                                 : "other";
    }
    return "other";
}

int gateway_send(struct mg_connection *conn, int status, const char *content_type,
                 const char *extra_headers, const void *body, size_t len)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    if (extra_headers == NULL)
        extra_headers = "";
    /* A body the handler gave up on, one the client holds back until "100 Continue", or one
     * refused before it was needed (401, 403, 413 from Content-Length, 429, a 503 shed, ...):
     * the connection is closed rather than read. Draining a refused body would let a client
     * that declared 100 MB hold a worker (and, inside the handler, an admission slot) for as
     * long as it trickles; closing costs an honest client one reconnect after an error. */
    if (gateway__body_pending(conn) &&
        (status >= 400 || gateway__req.touched || mg_get_header(conn, "Expect") != NULL))
        gateway__give_up_connection(conn);
    const char *close_hdr = gateway__req.closing && strstr(extra_headers, "Connection:") == NULL
                                ? "Connection: close\r\n"
                                : "";
    /* Head and body in one write: one syscall, and no second segment for Nagle to hold. */
    char head[4096];
    int hn = snprintf(head, sizeof(head),
                      "HTTP/1.1 %d %s\r\n"
                      "Content-Type: %s\r\n"
                      "Content-Length: %zu\r\n"
                      "Cache-Control: no-store\r\n"
                      "%s%s%s\r\n",
                      status, reason_phrase(status), content_type, len,
                      gateway_access_headers(conn), extra_headers, close_hdr);
    if (hn < 0 || (size_t)hn >= sizeof(head)) /* bounded by construction; never cut a head */
        hn = snprintf(head, sizeof(head), "HTTP/1.1 500 %s\r\nContent-Length: 0\r\n\r\n",
                      reason_phrase(500));
    /* HEAD gets the headers (Content-Length included) but never a body. */
    size_t blen = strcmp(ri->request_method, "HEAD") != 0 ? len : 0;
    /* Counted before the write: a client that reads /metrics right after its answer sees it. */
    gateway_count_status(gateway__of(conn), route_of(conn), status);
    gateway_accesslog_sent(route_of(conn), status, (size_t)hn + blen);
    char small[8192];
    char *out = (size_t)hn + blen <= sizeof(small) ? small : malloc((size_t)hn + blen);
    if (out != NULL) {
        memcpy(out, head, (size_t)hn);
        if (blen > 0)
            memcpy(out + hn, body, blen);
        mg_write(conn, out, (size_t)hn + blen);
        if (out != small)
            free(out);
    } else {
        mg_write(conn, head, (size_t)hn);
        if (blen > 0)
            mg_write(conn, body, blen);
    }
    if (!gateway__req.closing && gateway__body_pending(conn))
        gateway__drain(conn);
    return status;
}

int gateway_send_json(struct mg_connection *conn, int status, const char *extra_headers,
                      const void *json_obj)
{
    char *text = json_dumps(json_obj, JSON_COMPACT | JSON_REAL_PRECISION(12));
    if (text == NULL)
        return gateway_send(conn, 500, "application/json", extra_headers, "{}", 2);
    int rc = gateway_send(conn, status, "application/json", extra_headers, text, strlen(text));
    free(text);
    return rc;
}

int gateway_send_error(struct mg_connection *conn, int status, const char *code,
                       const char *extra_headers, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    char *body = vc_json_error_body(code, msg);
    if (body == NULL)
        return gateway_send(conn, 500, "application/json", extra_headers, "{}", 2);
    int rc = gateway_send(conn, status, "application/json", extra_headers, body, strlen(body));
    free(body);
    return rc;
}

int gateway_http_error(struct mg_connection *conn, int status, const char *errmsg)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    const char *code = status == 413   ? "payload_too_large"
                       : status == 431 ? "headers_too_large"
                       : status == 404 ? "not_found"
                       : status == 405 ? "method_not_allowed"
                       : status == 500 ? "internal_error"
                                       : "invalid_request"; /* 400, 411, 505, ... */
    /* civetweb's text is one short line ("Malformed message", "Request Too Large"); a request
     * whose headers did not arrive in time is reported as malformed. */
    char msg[200];
    const char *text = errmsg != NULL && errmsg[0] != '\0' ? errmsg : reason_phrase(status);
    snprintf(msg, sizeof(msg), "%s%.*s",
             status == 400 ? "request line or headers malformed or incomplete: " : "",
             (int)strcspn(text, "\r\n"), text);
    char *body = vc_json_error_body(code, msg);
    if (body == NULL)
        return 1; /* civetweb's own page */
    size_t len = strlen(body);
    gateway_count_status(gateway__of(conn), "other", status);
    gateway_accesslog_unparsed(conn, status, len);
    /* Sent before a request was parsed (or for one that could not be): no keep-alive. */
    mg_printf(conn,
              "HTTP/1.1 %d %s\r\n"
              "Content-Type: application/json\r\n"
              "Content-Length: %zu\r\n"
              "Cache-Control: no-store\r\n"
              "Connection: close\r\n\r\n",
              status, reason_phrase(status), len);
    if (ri->request_method == NULL || strcmp(ri->request_method, "HEAD") != 0)
        mg_write(conn, body, len);
    free(body);
    mg_disable_connection_keep_alive(conn);
    return 0;
}

void gateway_count_status(gateway_t *gw, const char *route, int status)
{
    if (gw == NULL || gw->metrics == NULL)
        return;
    if (status >= 100 && status < 600)
        atomic_fetch_add(&gw->responses[status - 100], 1);
    char name[128];
    snprintf(name, sizeof(name), "vc_http_responses_total{route=\"%s\",code=\"%d\"}", route,
             status);
    vc_counter_t *c =
        vc_metrics_counter(gw->metrics, name, "HTTP responses by route and status code.");
    if (c != NULL)
        vc_counter_add(c, 1);
}

int gateway_handle_not_found(struct mg_connection *conn, void *gw)
{
    (void)gw;
    return gateway_send_error(conn, 404, "not_found", "", "no such route");
}

int gateway_only_get(struct mg_connection *conn)
{
    const char *m = mg_get_request_info(conn)->request_method;
    if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0)
        return 0;
    return gateway_send_error(conn, 405, "method_not_allowed", "Allow: GET, HEAD\r\n",
                              "use GET");
}
