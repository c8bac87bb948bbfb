/* Request begin and end (civetweb callbacks), framing checks, and giving a connection up.
 * The per-request state and the split of the HTTP plumbing are described in request.h. */
#include <string.h>
#include <strings.h>

#include "accesslog.h"
#include "request.h"
#include "vc/clock.h"

_Thread_local req_state_t gateway__req;

gateway_t *gateway__of(const struct mg_connection *conn)
{
    return mg_get_user_data(mg_get_context(conn));
}

int gateway__is_chunked(const struct mg_connection *conn)
{
    return mg_get_header(conn, "Transfer-Encoding") != NULL;
}

/* True while the request declared a body that nobody has read to its end. */
int gateway__body_pending(const struct mg_connection *conn)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    return !gateway__req.done && (ri->content_length > 0 || gateway__is_chunked(conn));
}

/* The connection will not serve another request: close it after the response, and shut its
 * reading side when a body is left unread so civetweb does not wait to discard it. */
void gateway__give_up_connection(struct mg_connection *conn)
{
    gateway__req.closing = 1;
    mg_disable_connection_keep_alive(conn);
    if (gateway__body_pending(conn) && !gateway__req.cut) {
        const struct mg_request_info *ri = mg_get_request_info(conn);
        gateway__req.cut = 1;
        gateway__cut_reading(ri->remote_addr, ri->remote_port, ri->server_port);
    }
}

/* A reason to refuse the request's framing, or NULL. Ambiguous body lengths are how request
 * smuggling works through proxies, so they are refused rather than guessed. */
static const char *framing_problem(const struct mg_request_info *ri)
{
    int cl = 0, te = 0;
    const char *te_value = NULL;
    for (int i = 0; i < ri->num_headers; i++) {
        const char *name = ri->http_headers[i].name;
        if (strcasecmp(name, "Content-Length") == 0)
            cl++;
        else if (strcasecmp(name, "Transfer-Encoding") == 0) {
            te++;
            te_value = ri->http_headers[i].value;
        }
    }
    if (cl > 1)
        return "more than one Content-Length header";
    if (te > 1)
        return "more than one Transfer-Encoding header";
    if (te == 1 && cl == 1)
        return "both Content-Length and Transfer-Encoding";
    if (te == 1 && strcasecmp(te_value, "chunked") != 0)
        return "Transfer-Encoding must be chunked";
    return NULL;
}

void gateway_end_request(const struct mg_connection *conn, int reply_status_code)
{
    gateway_accesslog_end(conn, reply_status_code); /* the access log line */
    gateway_release_bytes(gateway__of(conn)); /* normally done by the handler already */
    atomic_fetch_sub(&gateway__of(conn)->active, 1);
}

int gateway_begin_request(struct mg_connection *conn)
{
    atomic_fetch_add(&gateway__of(conn)->active, 1); /* end_request takes it back */
    gateway_accesslog_begin();
    const struct mg_request_info *ri = mg_get_request_info(conn);
    memset(&gateway__req, 0, sizeof(gateway__req));
    gateway__req.base_ms = vc_clock_mono_ms() + gateway__of(conn)->cfg.request_timeout_ms;
    gateway__req.deadline_ms = gateway__req.base_ms;
    /* civetweb keeps the first MG_MAX_HEADERS header lines and silently drops the rest (a
     * dropped Content-Length would turn the body into the next request), so a request that
     * fills the table may have lost some: refused. */
    if (ri->num_headers >= MG_MAX_HEADERS) {
        gateway__give_up_connection(conn);
        return gateway_send_error(conn, 431, "headers_too_large", "",
                                  "at most %d header lines", MG_MAX_HEADERS - 1);
    }
    const char *problem = framing_problem(ri);
    if (problem != NULL) {
        gateway__give_up_connection(conn);
        return gateway_send_error(conn, 400, "invalid_request", "", "%s", problem);
    }
    /* civetweb listens before the handlers are registered: a request in that instant (a
     * health probe polling a starting gateway) would get civetweb's 404. */
    if (!atomic_load(&gateway__of(conn)->routed)) {
        gateway__give_up_connection(conn);
        return gateway_send_error(conn, 503, "starting", "Retry-After: 1\r\n",
                                  "this gateway is starting");
    }
    /* Stopping: running requests finish and are answered (main.c waits for them); new ones,
     * /health included, are told to go elsewhere, and their connections close. */
    if (atomic_load(&gateway__of(conn)->draining)) {
        gateway__give_up_connection(conn);
        return gateway_send_error(conn, 503, "shutting_down", "Retry-After: 1\r\n",
                                  "this gateway is stopping; retry on another");
    }
    return 0; /* routed to the handlers */
}
