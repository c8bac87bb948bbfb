/* The operator's credential, METRICS_TOKEN: it guards /metrics, /metrics.json and the backend
 * detail of /health (host names, addresses, error text, resources), which no tenant needs. */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "gateway.h"
#include "vc/apikeys.h"

/* The value of "Authorization: Bearer <v>" with surrounding blanks trimmed, or NULL. */
static const char *bearer(struct mg_connection *conn, size_t *len)
{
    const char *v = mg_get_header(conn, "Authorization");
    if (v == NULL || strncasecmp(v, "Bearer ", 7) != 0)
        return NULL;
    v += 7;
    v += strspn(v, " \t");
    size_t n = strlen(v);
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    *len = n;
    return v;
}

int gateway_ops_token_presented(const gateway_t *gw, struct mg_connection *conn)
{
    size_t len = 0;
    const char *v = bearer(conn, &len);
    if (gw->cfg.metrics_token == NULL || v == NULL)
        return 0;
    /* SHA-256 digests compared with CRYPTO_memcmp (as API keys are, libs/store): the time
     * depends on neither the presented length nor how much of it matches. */
    unsigned char h[32];
    vc_apikeys_hash(v, len, h);
    return CRYPTO_memcmp(h, gw->cfg.metrics_token_hash, 32) == 0;
}

int gateway_ops_guard(const gateway_t *gw, struct mg_connection *conn)
{
    if (gw->cfg.metrics_token == NULL || gateway_ops_token_presented(gw, conn))
        return 0;
    size_t len = 0;
    const char *hdr = "WWW-Authenticate: Bearer\r\n";
    if (bearer(conn, &len) == NULL)
        return gateway_send_error(conn, 401, "unauthorized", hdr,
                                  "the metrics token is required (Authorization: Bearer)");
    return gateway_send_error(conn, 401, "unauthorized", hdr, "invalid metrics token");
}
