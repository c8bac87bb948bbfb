#ifndef VC_GATEWAY_ACCESS_H
#define VC_GATEWAY_ACCESS_H
/* Who may call, and how often: per-IP rate limit, API key authentication (tenant binding), and
 * per-key rate limit, in that order, before any request reaches the work that costs. */
#include <civetweb.h>

#include "client_addr.h"
#include "gateway.h"
#include "vc/apikeys.h"

/* Per request; lives on the handler's stack and is attached to the connection so every
 * response carries the RateLimit headers. */
typedef struct {
    char tenant[65];
    char trace_id[33]; /* from `traceparent`, or generated; travels with the request */
    char headers[448]; /* "X-Trace-Id: …\r\nRateLimit-Policy: …\r\nRateLimit: …\r\n" */
    char key_prefix[VC_APIKEY_PREFIX_LEN + 1]; /* the authenticated key's display prefix */
    client_addr_t client; /* whom the per-address limit counts (TRUSTED_PROXIES) */
} request_ctx_t;

/* Admits the request or answers it (401, 429, 503). Returns 0 when admitted, with ctx filled
 * and attached to conn; otherwise the status already sent. */
int gateway_access(struct mg_connection *conn, gateway_t *gw, request_ctx_t *ctx);

/* Detaches ctx from conn (call before the handler returns). */
void gateway_access_done(struct mg_connection *conn);

/* The presented API key: "Authorization: Bearer K" or "X-API-Key: K", trimmed; NULL when
 * there is none (*len set otherwise). */
const char *gateway_presented_key(struct mg_connection *conn, size_t *len);

/* The RateLimit headers of the current request ("" outside one). */
const char *gateway_access_headers(const struct mg_connection *conn);

#endif
