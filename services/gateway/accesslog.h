#ifndef VC_GATEWAY_ACCESSLOG_H
#define VC_GATEWAY_ACCESSLOG_H
/* The access log: one JSON line per answered request (ACCESS_LOG=off|stdout|stderr|<path>),
 * written with one write(2) on an O_APPEND descriptor, so lines from concurrent workers never
 * interleave and a file can be rotated by rename + SIGHUP. A line names the tenant, the API
 * key's display prefix (vc/apikeys.h; never the key, never Authorization, never a query
 * string or a body), method, route template and path, status, body bytes in, response bytes
 * out, latency, trace id and the client address the limits counted.
 *
 * The per-request record is thread-local: civetweb runs begin_request, the handler and
 * end_request of one request on one worker thread, while the handler's request_ctx_t is gone
 * (and detached) by end_request. */
#include <stddef.h>

#include <civetweb.h>

#include "access.h"
#include "gateway.h"

/* Reads ACCESS_LOG (default off) into c. Returns 0 or VC_EINVAL naming the variable. */
int gateway_accesslog_config(gateway_config_t *c, char *err, size_t errlen);

/* Opens the sink cfg.access_log names (nothing when off) into gw->accesslog. Returns 0, or
 * VC_EIO / VC_ENOMEM with err naming the path. Main thread, before civetweb starts. */
int gateway_accesslog_open(gateway_t *gw, char *err, size_t errlen);

/* Reopens a file sink by its path (the rotated file keeps what it has; new lines go to the
 * new file). Returns 0 (also for stdout/stderr/off: nothing to do), or VC_EIO keeping the old
 * descriptor, err saying why. Main thread (SIGHUP); workers keep writing meanwhile. */
int gateway_accesslog_reopen(gateway_t *gw, char *err, size_t errlen);

/* Closes the sink; after civetweb stopped. */
void gateway_accesslog_close(gateway_t *gw);

/* Per-request hooks, each on the worker thread serving the request:
 * begin (begin_request) starts the record and its clock; body counts n request body bytes
 * read; sent notes a response written by gateway_send (route template, status, bytes);
 * identity copies tenant, key prefix, trace id and client from the handler's ctx (call while
 * ctx is alive); end (end_request) writes the line; unparsed writes one for a request civetweb
 * refused before routing it (gateway_http_error: no begin/end). */
void gateway_accesslog_begin(void);
void gateway_accesslog_body(long long n);
void gateway_accesslog_sent(const char *route, int status, size_t bytes);
void gateway_accesslog_identity(const request_ctx_t *ctx);
void gateway_accesslog_end(const struct mg_connection *conn, int status);
void gateway_accesslog_unparsed(const struct mg_connection *conn, int status, size_t bytes);

#endif
