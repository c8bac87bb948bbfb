/* The operator's credential, METRICS_TOKEN: it guards /metrics, /metrics.json and the backend
 * detail of /health (host names, addresses, error text, resources), which no tenant needs. */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "gateway.h"
#include "vc/apikeys.h"

/* True when the two digests are equal, in a time that does not depend on where they differ.
 * Digests, not the token itself, are compared, so the time depends on neither the presented
 * length nor a matching prefix. */
static int digest_equal(const unsigned char a[32], const unsigned char b[32])
{
    volatile unsigned char diff = 0;
    for (size_t i = 0; i < 32; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

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
    unsigned char h[32];
    vc_apikeys_hash(v, len, h);
    return digest_equal(h, gw->cfg.metrics_token_hash);
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
