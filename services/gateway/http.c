/* HTTP plumbing shared by the handlers: complete responses, JSON errors, bounded body reads,
 * per-status counters. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "access.h"
#include "gateway.h"
#include "vc/error.h"
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
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
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
    mg_printf(conn,
              "HTTP/1.1 %d %s\r\n"
              "Content-Type: %s\r\n"
              "Content-Length: %zu\r\n"
              "Cache-Control: no-store\r\n"
              "%s%s\r\n",
              status, reason_phrase(status), content_type, len, gateway_access_headers(conn),
              extra_headers != NULL ? extra_headers : "");
    /* HEAD gets the headers (Content-Length included) but never a body. */
    if (len > 0 && strcmp(mg_get_request_info(conn)->request_method, "HEAD") != 0)
        mg_write(conn, body, len);
    gateway_count_status(mg_get_user_data(mg_get_context(conn)), route_of(conn), status);
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

/* Reads until len == want or the client stops sending; returns bytes read or -1. */
static long long read_full(struct mg_connection *conn, char *buf, size_t want)
{
    size_t got = 0;
    while (got < want) {
        int n = mg_read(conn, buf + got, want - got);
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (long long)got;
}

int gateway_read_body(struct mg_connection *conn, size_t max, char **body, size_t *len)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    long long declared = ri->content_length;
    if (declared > (long long)max)
        return VC_ETOOBIG; /* refused before reading a byte */
    /* Unknown length (chunked): read up to max + 1 to detect an oversized body. */
    size_t cap = declared >= 0 ? (size_t)declared : max + 1;
    char *buf = malloc(cap + 1);
    if (buf == NULL)
        return VC_ENOMEM;
    long long got = read_full(conn, buf, cap);
    if (got < 0 || (declared >= 0 && got != declared)) {
        free(buf);
        return VC_EIO;
    }
    if ((size_t)got > max) {
        free(buf);
        return VC_ETOOBIG;
    }
    buf[got] = '\0';
    *body = buf;
    *len = (size_t)got;
    return 0;
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
