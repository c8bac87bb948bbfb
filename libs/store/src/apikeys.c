/* API keys repository: key generation, hashing, and the parameterised statements on
 * api_keys. The gateway's cached lookup lives in apikeys_cache.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/sha.h>

#include "vc/apikeys.h"
#include "vc/error.h"
#include "vc/id.h"
#include "vc/ratelimit.h"

#define KEY_TAG "vck_"
#define KEY_RANDOM_BYTES 32
#define KEY_B64_LEN 43 /* base64url of 32 bytes, no padding */

/* The columns every statement returns, in the order row_to_key reads them. */
#define KEY_COLS                                                                                   \
    "id, tenant, name, prefix, coalesce(rate_limit_per_minute, 0),"                                \
    " (extract(epoch FROM created_at) * 1000)::bigint,"                                            \
    " coalesce((extract(epoch FROM revoked_at) * 1000)::bigint, 0)"

static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void vc_apikeys_hash(const char *key, size_t keylen, uint8_t out[32])
{
    SHA256((const unsigned char *)key, keylen, out);
}

static int b64url_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

int vc_apikeys_well_formed(const char *s, size_t len)
{
    if (s == NULL || len != VC_APIKEY_LEN || memcmp(s, KEY_TAG, 4) != 0)
        return 0;
    for (size_t i = 4; i < len; i++) {
        if (!b64url_char(s[i]))
            return 0;
    }
    /* 43 characters carry 258 bits: the last one's low 2 bits must be zero (canonical). */
    const char *pos = strchr(B64URL, s[len - 1]);
    return pos != NULL && ((pos - B64URL) & 3) == 0;
}

/* Encodes n bytes as unpadded base64url into out (cap >= 4n/3 + 2). */
static void b64url_encode(const uint8_t *in, size_t n, char *out)
{
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = B64URL[v >> 18 & 63];
        out[o++] = B64URL[v >> 12 & 63];
        out[o++] = B64URL[v >> 6 & 63];
        out[o++] = B64URL[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = B64URL[v >> 18 & 63];
        out[o++] = B64URL[v >> 12 & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = B64URL[v >> 18 & 63];
        out[o++] = B64URL[v >> 12 & 63];
        out[o++] = B64URL[v >> 6 & 63];
    }
    out[o] = '\0';
}

/* Parses a decimal column value; 0 on success. */
static int parse_ll(const char *s, long long *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return VC_EPROTO;
    *out = v;
    return 0;
}

static void copy_col(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Reads row `row` of a KEY_COLS result into k. */
static int row_to_key(const PGresult *r, int row, vc_apikey_t *k)
{
    long long id = 0, limit = 0, created = 0, revoked = 0;
    memset(k, 0, sizeof(*k));
    if (PQnfields(r) != 7 || parse_ll(PQgetvalue(r, row, 0), &id) != 0 ||
        parse_ll(PQgetvalue(r, row, 4), &limit) != 0 ||
        parse_ll(PQgetvalue(r, row, 5), &created) != 0 ||
        parse_ll(PQgetvalue(r, row, 6), &revoked) != 0)
        return VC_EPROTO;
    k->id = id;
    copy_col(k->tenant, sizeof(k->tenant), PQgetvalue(r, row, 1));
    copy_col(k->name, sizeof(k->name), PQgetvalue(r, row, 2));
    copy_col(k->prefix, sizeof(k->prefix), PQgetvalue(r, row, 3));
    k->rate_limit_per_minute = (long)limit;
    k->created_at_ms = created;
    k->revoked_at_ms = revoked;
    return 0;
}

/* Runs a parameterised statement expected to return KEY_COLS rows. Returns the result (caller
 * PQclear) or NULL with err set. */
static PGresult *query(PGconn *conn, const char *sql, int n, const char *const *vals,
                       const int *lens, const int *fmts, const char *what, char *err, size_t errlen)
{
    PGresult *r = PQexecParams(conn, sql, n, NULL, vals, lens, fmts, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        vc_err(err, errlen, VC_EIO, "api_keys %s: %s", what, PQresultErrorMessage(r));
        PQclear(r);
        return NULL;
    }
    return r;
}

/* True when s is at most VC_APIKEY_NAME_MAX bytes of well-formed UTF-8 (no overlong forms,
 * surrogates or code points past U+10FFFF) without control characters. */
static int valid_name(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    if (n > VC_APIKEY_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f)
                return 0;
            i++;
            continue;
        }
        size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
        if (c < 0xc2 || c > 0xf4 || i + len > n)
            return 0;
        uint32_t cp = c & (0x3f >> (len - 1));
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (p[i + k] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
            return 0;
        i += len;
    }
    return 1;
}

static int valid_tenant(const char *tenant)
{
    return tenant != NULL && vc_id_valid(tenant, strlen(tenant));
}

int vc_apikeys_create(PGconn *conn, const char *tenant, const char *name,
                      long rate_limit_per_minute, vc_apikey_t *out, char *plaintext,
                      size_t plaincap, char *err, size_t errlen)
{
    if (name == NULL)
        name = "";
    if (!valid_tenant(tenant))
        return vc_err(err, errlen, VC_EINVAL, "tenant: expected 1..64 of [A-Za-z0-9._:-]");
    if (!valid_name(name))
        return vc_err(err, errlen, VC_EINVAL, "name: at most %d bytes, no control characters",
                      VC_APIKEY_NAME_MAX);
    if (rate_limit_per_minute < 0 || rate_limit_per_minute > VC_RATELIMIT_MAX_LIMIT)
        return vc_err(err, errlen, VC_EINVAL, "rate limit: expected 1..%ld per minute",
                      VC_RATELIMIT_MAX_LIMIT);
    if (plaincap < VC_APIKEY_LEN + 1)
        return vc_err(err, errlen, VC_EINVAL, "key buffer too small");

    uint8_t rnd[KEY_RANDOM_BYTES];
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        return vc_err(err, errlen, VC_EIO, "getrandom: %s", strerror(errno));
    char key[VC_APIKEY_LEN + 1];
    memcpy(key, KEY_TAG, 4);
    b64url_encode(rnd, sizeof(rnd), key + 4);
    uint8_t hash[32];
    vc_apikeys_hash(key, VC_APIKEY_LEN, hash);
    char prefix[VC_APIKEY_PREFIX_LEN + 1];
    memcpy(prefix, key, VC_APIKEY_PREFIX_LEN);
    prefix[VC_APIKEY_PREFIX_LEN] = '\0';
    char limit_s[24];
    snprintf(limit_s, sizeof(limit_s), "%ld", rate_limit_per_minute);

    const char *vals[5] = {tenant, (const char *)hash, prefix, name,
                           rate_limit_per_minute > 0 ? limit_s : NULL};
    int lens[5] = {0, 32, 0, 0, 0};
    int fmts[5] = {0, 1, 0, 0, 0};
    PGresult *r = query(conn,
                        "INSERT INTO api_keys (tenant, key_hash, prefix, name,"
                        " rate_limit_per_minute) VALUES ($1, $2, $3, $4, $5::integer)"
                        " RETURNING " KEY_COLS,
                        5, vals, lens, fmts, "insert", err, errlen);
    /* The plaintext leaves this function only on success; wipe the stack copies. */
    int rc = r == NULL ? VC_EIO : 0;
    if (rc == 0 && (PQntuples(r) != 1 || row_to_key(r, 0, out) != 0))
        rc = vc_err(err, errlen, VC_EIO, "api_keys insert: unexpected reply");
    if (rc == 0)
        memcpy(plaintext, key, VC_APIKEY_LEN + 1);
    PQclear(r);
    explicit_bzero(key, sizeof(key));
    explicit_bzero(rnd, sizeof(rnd));
    return rc;
}

int vc_apikeys_list(PGconn *conn, const char *tenant, vc_apikey_t **out, size_t *n, char *err,
                    size_t errlen)
{
    *out = NULL;
    *n = 0;
    if (tenant != NULL && !valid_tenant(tenant))
        return vc_err(err, errlen, VC_EINVAL, "tenant: expected 1..64 of [A-Za-z0-9._:-]");
    const char *vals[1] = {tenant};
    PGresult *r = query(conn,
                        "SELECT " KEY_COLS " FROM api_keys"
                        " WHERE $1::text IS NULL OR tenant = $1 ORDER BY id",
                        1, vals, NULL, NULL, "list", err, errlen);
    if (r == NULL)
        return VC_EIO;
    int rc = 0;
    size_t rows = (size_t)PQntuples(r);
    vc_apikey_t *keys = NULL;
    if (rows > 0) {
        keys = calloc(rows, sizeof(*keys));
        if (keys == NULL)
            rc = vc_err(err, errlen, VC_ENOMEM, "api_keys list: out of memory");
    }
    for (size_t i = 0; rc == 0 && i < rows; i++) {
        if (row_to_key(r, (int)i, &keys[i]) != 0)
            rc = vc_err(err, errlen, VC_EIO, "api_keys list: unexpected reply");
    }
    PQclear(r);
    if (rc != 0) {
        free(keys);
        return rc;
    }
    *out = keys;
    *n = rows;
    return 0;
}

static int all_digits(const char *s)
{
    if (*s == '\0' || strlen(s) > 18)
        return 0;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return 0;
    }
    return 1;
}

/* Counts keys with display prefix p. Returns the count or VC_EIO. */
static long long count_prefix(PGconn *conn, const char *p, char *err, size_t errlen)
{
    const char *vals[1] = {p};
    PGresult *r = PQexecParams(conn, "SELECT count(*) FROM api_keys WHERE prefix = $1", 1, NULL,
                               vals, NULL, NULL, 0);
    long long n = VC_EIO;
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1 ||
        parse_ll(PQgetvalue(r, 0, 0), &n) != 0) {
        vc_err(err, errlen, VC_EIO, "api_keys revoke: %s", PQresultErrorMessage(r));
        n = VC_EIO;
    }
    PQclear(r);
    return n;
}

int vc_apikeys_revoke(PGconn *conn, const char *ref, vc_apikey_t *out, char *err, size_t errlen)
{
    static const char SET[] = "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())";
    char sql[512];
    const char *vals[1] = {ref};
    int lens[1] = {0}, fmts[1] = {0};
    uint8_t hash[32];
    if (ref == NULL)
        return vc_err(err, errlen, VC_EINVAL, "expected a key id or prefix");
    size_t len = strlen(ref);
    if (all_digits(ref)) {
        snprintf(sql, sizeof(sql), "%s WHERE id = $1::bigint RETURNING " KEY_COLS, SET);
    } else if (vc_apikeys_well_formed(ref, len)) {
        /* The whole key: found by its hash, like the gateway does. */
        vc_apikeys_hash(ref, len, hash);
        vals[0] = (const char *)hash;
        lens[0] = 32;
        fmts[0] = 1;
        snprintf(sql, sizeof(sql), "%s WHERE key_hash = $1 RETURNING " KEY_COLS, SET);
    } else if (len == VC_APIKEY_PREFIX_LEN && strncmp(ref, KEY_TAG, 4) == 0) {
        long long n = count_prefix(conn, ref, err, errlen);
        if (n < 0)
            return (int)n;
        if (n > 1)
            return vc_err(err, errlen, VC_EEXIST,
                          "prefix %s matches %lld keys: revoke by id (see keys list)", ref, n);
        snprintf(sql, sizeof(sql), "%s WHERE prefix = $1 RETURNING " KEY_COLS, SET);
    } else {
        return vc_err(err, errlen, VC_EINVAL,
                      "expected a key id (digits) or a %d-character prefix vck_…",
                      VC_APIKEY_PREFIX_LEN);
    }
    PGresult *r = query(conn, sql, 1, vals, lens, fmts, "revoke", err, errlen);
    if (r == NULL)
        return VC_EIO;
    vc_apikey_t k = {0};
    int rc = 0;
    if (PQntuples(r) == 0)
        rc = vc_err(err, errlen, VC_ENOTFOUND, "no key %s", fmts[0] ? "with that hash" : ref);
    else if (PQntuples(r) > 1 || row_to_key(r, 0, &k) != 0)
        rc = vc_err(err, errlen, VC_EIO, "api_keys revoke: unexpected reply");
    PQclear(r);
    if (rc == 0 && out != NULL)
        *out = k;
    return rc;
}

int vc_apikeys_get_by_hash(PGconn *conn, const uint8_t hash[32], vc_apikey_t *out, char *err,
                           size_t errlen)
{
    const char *vals[1] = {(const char *)hash};
    int lens[1] = {32}, fmts[1] = {1};
    PGresult *r = query(conn, "SELECT " KEY_COLS " FROM api_keys WHERE key_hash = $1", 1, vals,
                        lens, fmts, "lookup", err, errlen);
    if (r == NULL)
        return VC_EIO;
    int rc = 0;
    if (PQntuples(r) == 0)
        rc = VC_ENOTFOUND;
    else if (row_to_key(r, 0, out) != 0)
        rc = vc_err(err, errlen, VC_EIO, "api_keys lookup: unexpected reply");
    PQclear(r);
    return rc;
}
