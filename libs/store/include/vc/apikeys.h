#ifndef VC_APIKEYS_H
#define VC_APIKEYS_H
/* API keys (table `api_keys`, schemas/sql/002_api_keys.sql).
 *
 * A key is `vck_` + base64url (no padding) of 32 bytes from getrandom(2): 47 characters,
 * 256 bits of entropy. Only its SHA-256 is stored; the plaintext exists once, in the reply
 * of vc_apikeys_create. `prefix` (the first 12 characters, `vck_` + 8) is stored for people
 * to recognise a key in listings and to revoke it.
 *
 * Two layers:
 *  - repository functions on a PGconn (create, list, revoke, get by hash) for the admin CLI;
 *  - vc_apikeys_t, the gateway's lookup: hash the presented key, look it up by hash with a
 *    parameterised query, and cache the answer in-process for API_KEY_CACHE_TTL (negative
 *    answers for API_KEY_NEGATIVE_CACHE_TTL), so a revoked key stops working within that
 *    TTL. Cached hashes are compared in constant time. PostgreSQL sits behind a circuit
 *    breaker; while it is unavailable a positive entry up to API_KEY_CACHE_STALE old is
 *    still honoured (stale-if-error), anything else is VC_EUNAVAIL. */
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "vc/pg.h"

#define VC_APIKEY_LEN 47            /* strlen of a key */
#define VC_APIKEY_PREFIX_LEN 12     /* strlen of its display prefix */
#define VC_APIKEY_TENANT_MAX 64     /* tenant: 1..64 of [A-Za-z0-9._:-] (vc_id_valid) */
#define VC_APIKEY_NAME_MAX 128      /* name: 0..128 bytes of UTF-8 without control chars */
#define VC_APIKEY_PRESENTED_MAX 256 /* longer presented strings are refused unhashed */

typedef struct {
    int64_t id;
    char tenant[VC_APIKEY_TENANT_MAX + 1];
    char name[VC_APIKEY_NAME_MAX + 1];
    char prefix[VC_APIKEY_PREFIX_LEN + 1];
    long rate_limit_per_minute; /* 0 = the gateway's RATE_LIMIT_PER_MINUTE */
    int64_t created_at_ms;      /* wall clock, ms since the epoch */
    int64_t revoked_at_ms;      /* 0 while active */
} vc_apikey_t;

/* ---- repository (admin CLI; any thread that owns the connection) ---- */

/* Creates a key for tenant. name may be NULL or ""; rate_limit_per_minute 0 = default.
 * Writes the plaintext key (VC_APIKEY_LEN chars + NUL) into plaintext, which needs
 * plaincap >= VC_APIKEY_LEN + 1, and the stored record into *out. Returns 0, VC_EINVAL (bad
 * tenant, name, limit or plaincap; err says which), VC_EIO (database or getrandom). */
int vc_apikeys_create(PGconn *conn, const char *tenant, const char *name,
                      long rate_limit_per_minute, vc_apikey_t *out, char *plaintext,
                      size_t plaincap, char *err, size_t errlen);

/* Lists keys (all tenants when tenant is NULL), oldest first. *out is malloc'd (caller frees
 * with free(); NULL when *n is 0). Returns 0, VC_EINVAL, VC_ENOMEM or VC_EIO. */
int vc_apikeys_list(PGconn *conn, const char *tenant, vc_apikey_t **out, size_t *n, char *err,
                    size_t errlen);

/* Revokes the key whose id (all digits) or display prefix (starts with "vck_") is ref.
 * Revoking a revoked key succeeds and keeps the first revocation time. Fills *out (may be
 * NULL). Returns 0, VC_ENOTFOUND, VC_EEXIST (a prefix matching several keys: give the id),
 * VC_EINVAL (ref neither) or VC_EIO. */
int vc_apikeys_revoke(PGconn *conn, const char *ref, vc_apikey_t *out, char *err, size_t errlen);

/* Fetches the key whose SHA-256 is hash (32 bytes), revoked or not. Returns 0, VC_ENOTFOUND
 * or VC_EIO. */
int vc_apikeys_get_by_hash(PGconn *conn, const uint8_t hash[32], vc_apikey_t *out, char *err,
                           size_t errlen);

/* SHA-256 of the presented key bytes. */
void vc_apikeys_hash(const char *key, size_t keylen, uint8_t out[32]);

/* True (1) when s (len bytes) has the shape of a key: "vck_" + 43 base64url characters. */
int vc_apikeys_well_formed(const char *s, size_t len);

/* ---- gateway lookup with cache (any thread) ---- */

typedef struct vc_apikeys vc_apikeys_t;

typedef struct {
    long long ttl_ms;          /* API_KEY_CACHE_TTL=5s: positive answers */
    long long negative_ttl_ms; /* API_KEY_NEGATIVE_CACHE_TTL=1s: unknown/revoked answers */
    long long stale_ms;        /* API_KEY_CACHE_STALE=60s: positive answers honoured while
                                  PostgreSQL is unavailable (0 disables) */
    size_t max_entries;        /* API_KEY_CACHE_MAX=10000 */
    int breaker_failures;      /* API_KEY_BREAKER_FAILURES=3 */
    long long breaker_open_ms; /* API_KEY_BREAKER_COOLDOWN=5s */
} vc_apikeys_opts_t;

void vc_apikeys_opts_default(vc_apikeys_opts_t *opts);
/* Reads the variables above. Returns 0 or VC_EINVAL naming the variable. */
int vc_apikeys_opts_from_env(vc_apikeys_opts_t *opts, char *err, size_t errlen);

/* Creates the lookup over pg (borrowed: must outlive it). Returns 0, VC_EINVAL or VC_ENOMEM;
 * caller frees with vc_apikeys_free. */
int vc_apikeys_new(const vc_apikeys_opts_t *opts, vc_pg_pool_t *pg, vc_apikeys_t **out);
void vc_apikeys_free(vc_apikeys_t *ak);

/* Authenticates a presented key (len bytes, not necessarily NUL-terminated). Returns 0 with
 * *out filled for an active key; VC_ENOTFOUND for a malformed, unknown or revoked key (answer
 * 401, never saying which); VC_EUNAVAIL when PostgreSQL cannot answer and nothing usable is
 * cached (answer 503). */
int vc_apikeys_lookup(vc_apikeys_t *ak, const char *key, size_t len, vc_apikey_t *out);

/* vc_apikeys_lookup from the cache alone, never waiting on PostgreSQL: 0 (*out filled) or
 * VC_ENOTFOUND for a fresh cached answer, VC_EBUSY when only the database can say. Lets a
 * caller do per-key work early for known keys and keep cheaper checks in front of the
 * database for the others. */
int vc_apikeys_lookup_cached(vc_apikeys_t *ak, const char *key, size_t len, vc_apikey_t *out);

/* Drops every cached answer (tests; an operator signal). */
void vc_apikeys_cache_clear(vc_apikeys_t *ak);

typedef struct {
    uint64_t hits, misses, negative_hits, stale_hits, db_errors;
    size_t entries;
    int breaker_state; /* vc_breaker_state_t of the PostgreSQL breaker */
} vc_apikeys_stats_t;
void vc_apikeys_stats(vc_apikeys_t *ak, vc_apikeys_stats_t *out);

#endif
