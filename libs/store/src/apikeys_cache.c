/* The gateway's API key lookup: SHA-256 of the presented key, an in-process cache keyed by
 * that hash (positive and negative answers, each kind in its own LRU list with its own cap so
 * a flood of made-up keys cannot push the real ones out), and PostgreSQL behind a circuit
 * breaker for misses. The database query runs without the cache lock held. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "vc/apikeys.h"
#include "vc/breaker.h"
#include "vc/clock.h"
#include "vc/config.h"
#include "vc/error.h"
#include "vc/log.h"

enum { POS = 0, NEG = 1 };

typedef struct centry {
    struct centry *hnext;
    struct centry *prev, *next; /* LRU list of its kind, most recent first */
    uint8_t hash[32];
    int kind;           /* POS or NEG */
    int64_t fetched_ms; /* monotonic: when the database gave this answer */
    vc_apikey_t key;    /* POS only */
} centry_t;

struct vc_apikeys {
    pthread_mutex_t mu;
    vc_apikeys_opts_t opts;
    vc_pg_pool_t *pg;
    vc_breaker_t *breaker;
    centry_t **buckets;
    size_t nbuckets;
    centry_t *lru_head[2], *lru_tail[2];
    size_t count[2], cap[2];
    vc_apikeys_stats_t stats; /* counters only; entries/breaker filled on read */
};

void vc_apikeys_opts_default(vc_apikeys_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->ttl_ms = 5000;
    o->negative_ttl_ms = 1000;
    o->stale_ms = 60000;
    o->max_entries = 10000;
    o->breaker_failures = 3;
    o->breaker_open_ms = 5000;
}

int vc_apikeys_opts_from_env(vc_apikeys_opts_t *o, char *err, size_t errlen)
{
    long long max = 0, fails = 0;
    vc_apikeys_opts_default(o);
    int rc = vc_config_duration_ms("API_KEY_CACHE_TTL", 5000, 0, 3600000, &o->ttl_ms, err, errlen);
    if (rc == 0)
        rc = vc_config_duration_ms("API_KEY_NEGATIVE_CACHE_TTL", 1000, 0, 3600000,
                                   &o->negative_ttl_ms, err, errlen);
    if (rc == 0)
        rc = vc_config_duration_ms("API_KEY_CACHE_STALE", 60000, 0, 86400000, &o->stale_ms, err,
                                   errlen);
    if (rc == 0)
        rc = vc_config_int("API_KEY_CACHE_MAX", 10000, 4, 10000000, &max, err, errlen);
    if (rc == 0)
        rc = vc_config_int("API_KEY_BREAKER_FAILURES", 3, 1, 1000, &fails, err, errlen);
    if (rc == 0)
        rc = vc_config_duration_ms("API_KEY_BREAKER_COOLDOWN", 5000, 10, 3600000,
                                   &o->breaker_open_ms, err, errlen);
    if (rc != 0)
        return rc;
    o->max_entries = (size_t)max;
    o->breaker_failures = (int)fails;
    return 0;
}

int vc_apikeys_new(const vc_apikeys_opts_t *o, vc_pg_pool_t *pg, vc_apikeys_t **out)
{
    if (pg == NULL || o->max_entries < 4 || o->ttl_ms < 0 || o->negative_ttl_ms < 0 ||
        o->stale_ms < 0)
        return VC_EINVAL;
    vc_apikeys_t *ak = calloc(1, sizeof(*ak));
    if (ak == NULL)
        return VC_ENOMEM;
    ak->opts = *o;
    ak->pg = pg;
    ak->cap[POS] = o->max_entries;
    ak->cap[NEG] = o->max_entries / 4;
    ak->nbuckets = 64;
    while (ak->nbuckets < o->max_entries && ak->nbuckets < ((size_t)1 << 22))
        ak->nbuckets <<= 1;
    vc_breaker_opts_t bo;
    vc_breaker_opts_default(&bo);
    bo.name = "apikeys_postgres";
    bo.failure_threshold = o->breaker_failures;
    bo.open_ms = o->breaker_open_ms;
    int rc = vc_breaker_new(&bo, &ak->breaker);
    if (rc != 0)
        goto fail;
    rc = VC_ENOMEM;
    ak->buckets = calloc(ak->nbuckets, sizeof(*ak->buckets));
    if (ak->buckets == NULL)
        goto fail;
    if (pthread_mutex_init(&ak->mu, NULL) != 0)
        goto fail;
    *out = ak;
    return 0;
fail:
    free(ak->buckets);
    vc_breaker_free(ak->breaker);
    free(ak);
    return rc;
}

/* @locks ak->mu held (all cache helpers). */
static void lru_unlink(vc_apikeys_t *ak, centry_t *e)
{
    if (e->prev != NULL)
        e->prev->next = e->next;
    else
        ak->lru_head[e->kind] = e->next;
    if (e->next != NULL)
        e->next->prev = e->prev;
    else
        ak->lru_tail[e->kind] = e->prev;
    e->prev = e->next = NULL;
    ak->count[e->kind]--;
}

static void lru_push_front(vc_apikeys_t *ak, centry_t *e)
{
    e->prev = NULL;
    e->next = ak->lru_head[e->kind];
    if (e->next != NULL)
        e->next->prev = e;
    ak->lru_head[e->kind] = e;
    if (ak->lru_tail[e->kind] == NULL)
        ak->lru_tail[e->kind] = e;
    ak->count[e->kind]++;
}

static size_t bucket_of(const vc_apikeys_t *ak, const uint8_t hash[32])
{
    size_t b = 0;
    memcpy(&b, hash, sizeof(b)); /* SHA-256 output is uniform: any 8 bytes index well */
    return b & (ak->nbuckets - 1);
}

static void remove_entry(vc_apikeys_t *ak, centry_t *e)
{
    centry_t **pp = &ak->buckets[bucket_of(ak, e->hash)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    lru_unlink(ak, e);
    explicit_bzero(e, sizeof(*e));
    free(e);
}

/* Finds the entry of hash; the hashes are compared in constant time. */
static centry_t *find(vc_apikeys_t *ak, const uint8_t hash[32])
{
    for (centry_t *e = ak->buckets[bucket_of(ak, hash)]; e != NULL; e = e->hnext) {
        if (CRYPTO_memcmp(e->hash, hash, 32) == 0)
            return e;
    }
    return NULL;
}

/* Records a database answer for hash: key != NULL (active key) or NULL (unknown/revoked). */
static void store(vc_apikeys_t *ak, const uint8_t hash[32], const vc_apikey_t *key, int64_t now)
{
    int kind = key != NULL ? POS : NEG;
    if (ak->cap[kind] == 0)
        return;
    centry_t *e = find(ak, hash);
    if (e != NULL) {
        lru_unlink(ak, e);
    } else {
        e = calloc(1, sizeof(*e));
        if (e == NULL)
            return; /* not cached: the next lookup asks the database again */
        memcpy(e->hash, hash, 32);
        size_t b = bucket_of(ak, hash);
        e->hnext = ak->buckets[b];
        ak->buckets[b] = e;
    }
    /* e is in no LRU list now, so the evicted tail is never e itself. */
    if (ak->count[kind] >= ak->cap[kind])
        remove_entry(ak, ak->lru_tail[kind]);
    e->kind = kind;
    e->fetched_ms = now;
    if (key != NULL)
        e->key = *key;
    else
        memset(&e->key, 0, sizeof(e->key));
    lru_push_front(ak, e);
}

void vc_apikeys_cache_clear(vc_apikeys_t *ak)
{
    pthread_mutex_lock(&ak->mu);
    for (int kind = POS; kind <= NEG; kind++) {
        while (ak->lru_head[kind] != NULL)
            remove_entry(ak, ak->lru_head[kind]);
    }
    pthread_mutex_unlock(&ak->mu);
}

void vc_apikeys_free(vc_apikeys_t *ak)
{
    if (ak == NULL)
        return;
    vc_apikeys_cache_clear(ak);
    pthread_mutex_destroy(&ak->mu);
    free(ak->buckets);
    vc_breaker_free(ak->breaker);
    free(ak);
}

/* Looks hash up in the cache. Returns 1 (fresh answer: *rc and *out set), 0 (miss or
 * expired). With stale != 0 an expired positive entry younger than stale_ms counts. A miss is
 * counted unless stale or probe is set (a probe is followed by a counted lookup). */
static int cached(vc_apikeys_t *ak, const uint8_t hash[32], int64_t now, int stale, int probe,
                  vc_apikey_t *out, int *rc)
{
    int hit = 0;
    pthread_mutex_lock(&ak->mu);
    centry_t *e = find(ak, hash);
    if (e != NULL) {
        int64_t age = now - e->fetched_ms;
        if (e->kind == POS && (age < ak->opts.ttl_ms || (stale && age < ak->opts.stale_ms))) {
            *out = e->key;
            *rc = 0;
            hit = 1;
            if (age < ak->opts.ttl_ms)
                ak->stats.hits++;
            else
                ak->stats.stale_hits++;
        } else if (e->kind == NEG && !stale && age < ak->opts.negative_ttl_ms) {
            *rc = VC_ENOTFOUND;
            hit = 1;
            ak->stats.negative_hits++;
        }
        if (hit) {
            lru_unlink(ak, e);
            lru_push_front(ak, e);
        }
    }
    if (!hit && !stale && !probe)
        ak->stats.misses++;
    pthread_mutex_unlock(&ak->mu);
    return hit;
}

/* Asks PostgreSQL. Returns 0 (found; *out), VC_ENOTFOUND, or VC_EUNAVAIL (breaker open or
 * database error). @locality any thread; no lock held. */
static int ask_db(vc_apikeys_t *ak, const uint8_t hash[32], vc_apikey_t *out)
{
    if (vc_breaker_allow(ak->breaker) != 0)
        return VC_EUNAVAIL;
    char err[256] = "";
    PGconn *conn = NULL;
    int rc = vc_pg_acquire(ak->pg, &conn, err, sizeof(err));
    if (rc == 0) {
        rc = vc_apikeys_get_by_hash(conn, hash, out, err, sizeof(err));
        vc_pg_release(ak->pg, conn, rc != 0 && rc != VC_ENOTFOUND);
    }
    int ok = rc == 0 || rc == VC_ENOTFOUND;
    vc_breaker_record(ak->breaker, ok);
    if (ok)
        return rc;
    pthread_mutex_lock(&ak->mu);
    ak->stats.db_errors++;
    pthread_mutex_unlock(&ak->mu);
    VC_WARN("apikeys.db_error", "error=\"%s\"", err);
    return VC_EUNAVAIL;
}

int vc_apikeys_lookup(vc_apikeys_t *ak, const char *key, size_t len, vc_apikey_t *out)
{
    /* Malformed input never reaches the cache or the database. */
    if (len > VC_APIKEY_PRESENTED_MAX || !vc_apikeys_well_formed(key, len))
        return VC_ENOTFOUND;
    uint8_t hash[32];
    vc_apikeys_hash(key, len, hash);
    int64_t now = vc_clock_mono_ms();
    int rc = 0;
    if (cached(ak, hash, now, 0, 0, out, &rc))
        return rc;

    vc_apikey_t k;
    rc = ask_db(ak, hash, &k);
    if (rc == VC_EUNAVAIL) {
        /* Stale-if-error: a key that was active moments ago keeps working through an outage
         * (revocations cannot be read either way). */
        int stale_rc = 0;
        if (ak->opts.stale_ms > 0 && cached(ak, hash, now, 1, 0, out, &stale_rc))
            return stale_rc;
        return VC_EUNAVAIL;
    }
    int active = rc == 0 && k.revoked_at_ms == 0;
    pthread_mutex_lock(&ak->mu);
    store(ak, hash, active ? &k : NULL, vc_clock_mono_ms());
    pthread_mutex_unlock(&ak->mu);
    if (!active)
        return VC_ENOTFOUND;
    *out = k;
    return 0;
}

int vc_apikeys_lookup_cached(vc_apikeys_t *ak, const char *key, size_t len, vc_apikey_t *out)
{
    if (len > VC_APIKEY_PRESENTED_MAX || !vc_apikeys_well_formed(key, len))
        return VC_ENOTFOUND;
    uint8_t hash[32];
    vc_apikeys_hash(key, len, hash);
    int rc = 0;
    if (cached(ak, hash, vc_clock_mono_ms(), 0, 1, out, &rc))
        return rc;
    return VC_EBUSY; /* not cached: only the database can say */
}

void vc_apikeys_stats(vc_apikeys_t *ak, vc_apikeys_stats_t *out)
{
    pthread_mutex_lock(&ak->mu);
    *out = ak->stats;
    out->entries = ak->count[POS] + ak->count[NEG];
    pthread_mutex_unlock(&ak->mu);
    out->breaker_state = (int)vc_breaker_state(ak->breaker);
}
