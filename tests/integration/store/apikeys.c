/* Integration tests for vc/apikeys.h against a real PostgreSQL (VC_TEST_DATABASE_URL):
 * create/list/revoke, only the hash stored, tenant binding, the lookup cache (positive and
 * negative TTLs, so revocation takes effect within the TTL), and stale-if-error with the
 * breaker while the database cannot be reached. Tenants carry a per-run suffix. */
#include <stdio.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "vc/apikeys.h"
#include "vc/breaker.h"
#include "vc/clock.h"
#include "vc/error.h"
#include "vc/pg.h"

static vc_pg_pool_t *pg;
static PGconn *conn; /* held by the tests for repository calls */
static char tenant_a[64], tenant_b[64], run_id[32];

static void sleep_ms(int64_t ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static vc_pg_pool_t *open_pool(const char *url, size_t size, long long pool_timeout_ms)
{
    vc_pg_opts_t o = {
        .url = url, .size = size, .connect_timeout_ms = 2000, .pool_timeout_ms = pool_timeout_ms};
    vc_pg_pool_t *pool = NULL;
    char err[256] = "";
    if (vc_pg_pool_new(&o, &pool, err, sizeof(err)) != 0)
        VC_TEST_FAIL("pool: %s", err);
    return pool;
}

static void exec_sql(const char *sql, int n, const char *const *vals)
{
    PGresult *r = PQexecParams(conn, sql, n, NULL, vals, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        VC_TEST_FAIL("%s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
}

static void create(const char *tenant, const char *name, long limit, vc_apikey_t *k, char *key)
{
    char err[256] = "";
    int rc =
        vc_apikeys_create(conn, tenant, name, limit, k, key, VC_APIKEY_LEN + 1, err, sizeof(err));
    if (rc != 0)
        VC_TEST_FAIL("create: %d %s", rc, err);
}

static vc_apikeys_t *make_cache(vc_pg_pool_t *pool, long long ttl, long long neg_ttl,
                                long long stale)
{
    vc_apikeys_opts_t o;
    vc_apikeys_opts_default(&o);
    o.ttl_ms = ttl;
    o.negative_ttl_ms = neg_ttl;
    o.stale_ms = stale;
    o.breaker_failures = 2;
    o.breaker_open_ms = 60000;
    vc_apikeys_t *ak = NULL;
    ASSERT_OK(vc_apikeys_new(&o, pool, &ak));
    return ak;
}

static void test_create_and_hash_only(void)
{
    vc_apikey_t k;
    char key[VC_APIKEY_LEN + 1];
    create(tenant_a, "ci key", 42, &k, key);
    vc_apikey_t ku;
    char keyu[VC_APIKEY_LEN + 1];
    create(tenant_b, "caf\xc3\xa9 \xf0\x9f\x94\x91", 0, &ku, keyu); /* "café 🔑" */
    ASSERT_STREQ(ku.name, "caf\xc3\xa9 \xf0\x9f\x94\x91");
    ASSERT_EQ(strlen(key), VC_APIKEY_LEN);
    ASSERT(vc_apikeys_well_formed(key, strlen(key)));
    ASSERT(strncmp(key, "vck_", 4) == 0);
    ASSERT(k.id > 0);
    ASSERT_STREQ(k.tenant, tenant_a);
    ASSERT_STREQ(k.name, "ci key");
    ASSERT_EQ(k.rate_limit_per_minute, 42);
    ASSERT_EQ(strlen(k.prefix), VC_APIKEY_PREFIX_LEN);
    ASSERT(strncmp(k.prefix, key, VC_APIKEY_PREFIX_LEN) == 0);
    ASSERT_EQ(k.revoked_at_ms, 0);
    ASSERT(llabs(k.created_at_ms - vc_clock_wall_ms()) < 60000);

    /* The row holds SHA-256(key) and nothing that contains the key. */
    const char *vals[] = {key};
    PGresult *r = PQexecParams(conn,
                               "SELECT count(*) FROM api_keys WHERE key_hash ="
                               " sha256(convert_to($1, 'UTF8'))"
                               " AND position($1 IN tenant || name || prefix) = 0",
                               1, NULL, vals, NULL, NULL, 0);
    ASSERT_EQ(PQresultStatus(r), PGRES_TUPLES_OK);
    ASSERT_STREQ(PQgetvalue(r, 0, 0), "1");
    PQclear(r);

    /* Two keys never collide. */
    vc_apikey_t k2;
    char key2[VC_APIKEY_LEN + 1];
    create(tenant_a, NULL, 0, &k2, key2);
    ASSERT(strcmp(key, key2) != 0);
    ASSERT(k2.id > k.id);
    ASSERT_STREQ(k2.name, "");
    ASSERT_EQ(k2.rate_limit_per_minute, 0);

    uint8_t hash[32];
    vc_apikeys_hash(key, strlen(key), hash);
    vc_apikey_t got;
    char err[256];
    ASSERT_OK(vc_apikeys_get_by_hash(conn, hash, &got, err, sizeof(err)));
    ASSERT_EQ(got.id, k.id);
    hash[0] ^= 1;
    ASSERT_EQ(vc_apikeys_get_by_hash(conn, hash, &got, err, sizeof(err)), VC_ENOTFOUND);
}

static void test_create_validation(void)
{
    vc_apikey_t k;
    char key[VC_APIKEY_LEN + 1], err[256];
    ASSERT_EQ(vc_apikeys_create(conn, "", NULL, 0, &k, key, sizeof(key), err, sizeof(err)),
              VC_EINVAL);
    ASSERT_EQ(
        vc_apikeys_create(conn, "bad tenant", NULL, 0, &k, key, sizeof(key), err, sizeof(err)),
        VC_EINVAL);
    ASSERT_EQ(
        vc_apikeys_create(conn, tenant_a, "tab\there", 0, &k, key, sizeof(key), err, sizeof(err)),
        VC_EINVAL);
    ASSERT_EQ(vc_apikeys_create(conn, tenant_a, "bad \xff utf-8", 0, &k, key, sizeof(key), err,
                                sizeof(err)),
              VC_EINVAL);
    ASSERT_EQ(vc_apikeys_create(conn, tenant_a, "overlong \xc0\xaf", 0, &k, key, sizeof(key), err,
                                sizeof(err)),
              VC_EINVAL);
    ASSERT_EQ(vc_apikeys_create(conn, tenant_a, "surrogate \xed\xa0\x80", 0, &k, key, sizeof(key),
                                err, sizeof(err)),
              VC_EINVAL);
    ASSERT_EQ(vc_apikeys_create(conn, tenant_a, NULL, -1, &k, key, sizeof(key), err, sizeof(err)),
              VC_EINVAL);
    ASSERT_EQ(vc_apikeys_create(conn, tenant_a, NULL, 0, &k, key, 10, err, sizeof(err)), VC_EINVAL);
    /* Shapes the lookup refuses without asking anyone. */
    ASSERT(!vc_apikeys_well_formed("vck_", 4));
    ASSERT(!vc_apikeys_well_formed("abc_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 47));
    ASSERT(vc_apikeys_well_formed("vck_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 47));
    ASSERT(!vc_apikeys_well_formed("vck_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+", 47));
    ASSERT(!vc_apikeys_well_formed("vck_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB", 47));
}

static void test_lookup_and_tenant_binding(void)
{
    vc_apikeys_t *ak = make_cache(pg, 5000, 1000, 60000);
    vc_apikey_t ka, kb, got;
    char key_a[VC_APIKEY_LEN + 1], key_b[VC_APIKEY_LEN + 1];
    create(tenant_a, "a", 0, &ka, key_a);
    create(tenant_b, "b", 7, &kb, key_b);

    /* The cache-only probe does not go to the database and counts no miss. */
    ASSERT_EQ(vc_apikeys_lookup_cached(ak, key_a, strlen(key_a), &got), VC_EBUSY);
    ASSERT_OK(vc_apikeys_lookup(ak, key_a, strlen(key_a), &got));
    ASSERT_EQ(got.id, ka.id);
    ASSERT_STREQ(got.tenant, tenant_a);
    memset(&got, 0, sizeof(got));
    ASSERT_OK(vc_apikeys_lookup_cached(ak, key_a, strlen(key_a), &got));
    ASSERT_EQ(got.id, ka.id);
    ASSERT_STREQ(got.tenant, tenant_a);
    ASSERT_OK(vc_apikeys_lookup(ak, key_b, strlen(key_b), &got));
    ASSERT_EQ(got.id, kb.id);
    ASSERT_STREQ(got.tenant, tenant_b);
    ASSERT_EQ(got.rate_limit_per_minute, 7);
    /* Cached now. */
    ASSERT_OK(vc_apikeys_lookup(ak, key_a, strlen(key_a), &got));
    ASSERT_STREQ(got.tenant, tenant_a);

    /* One character off, a prefix of the key, the key with junk after it, garbage. */
    char wrong[VC_APIKEY_LEN + 1];
    memcpy(wrong, key_a, sizeof(wrong));
    wrong[10] = wrong[10] == 'A' ? 'B' : 'A';
    ASSERT_EQ(vc_apikeys_lookup(ak, wrong, strlen(wrong), &got), VC_ENOTFOUND);
    ASSERT_EQ(vc_apikeys_lookup_cached(ak, wrong, strlen(wrong), &got), VC_ENOTFOUND);
    ASSERT_EQ(vc_apikeys_lookup_cached(ak, "Bearer", 6, &got), VC_ENOTFOUND);
    ASSERT_EQ(vc_apikeys_lookup(ak, key_a, VC_APIKEY_LEN - 1, &got), VC_ENOTFOUND);
    char longer[VC_APIKEY_LEN + 2];
    memcpy(longer, key_a, VC_APIKEY_LEN);
    longer[VC_APIKEY_LEN] = 'x';
    ASSERT_EQ(vc_apikeys_lookup(ak, longer, VC_APIKEY_LEN + 1, &got), VC_ENOTFOUND);
    ASSERT_EQ(vc_apikeys_lookup(ak, "Bearer", 6, &got), VC_ENOTFOUND);
    static char huge[100000];
    memset(huge, 'a', sizeof(huge));
    ASSERT_EQ(vc_apikeys_lookup(ak, huge, sizeof(huge), &got), VC_ENOTFOUND);

    vc_apikeys_stats_t st;
    vc_apikeys_stats(ak, &st);
    ASSERT_EQ(st.misses, 3); /* key_a, key_b, wrong */
    ASSERT_EQ(st.hits, 2);
    ASSERT_EQ(st.db_errors, 0);
    ASSERT_EQ(st.breaker_state, VC_BREAKER_CLOSED);
    vc_apikeys_free(ak);
}

/* A revoked key stops working once its cache entry expires (here 300 ms), never later. */
static void test_revoke_within_ttl(void)
{
    const long long ttl = 300;
    vc_apikeys_t *ak = make_cache(pg, ttl, 200, 60000);
    vc_apikey_t k, got, rev;
    char key[VC_APIKEY_LEN + 1], err[256];
    create(tenant_a, "to revoke", 0, &k, key);
    ASSERT_OK(vc_apikeys_lookup(ak, key, strlen(key), &got));
    int64_t cached_at = vc_clock_mono_ms();

    ASSERT_OK(vc_apikeys_revoke(conn, k.prefix, &rev, err, sizeof(err)));
    ASSERT_EQ(rev.id, k.id);
    ASSERT(rev.revoked_at_ms > 0);
    /* Revoking again keeps the first time. */
    char id_s[24];
    snprintf(id_s, sizeof(id_s), "%lld", (long long)k.id);
    vc_apikey_t rev2;
    ASSERT_OK(vc_apikeys_revoke(conn, id_s, &rev2, err, sizeof(err)));
    ASSERT_EQ(rev2.revoked_at_ms, rev.revoked_at_ms);

    /* Still served from the cache inside the TTL (when this machine is quick enough)... */
    int rc = vc_apikeys_lookup(ak, key, strlen(key), &got);
    if (vc_clock_mono_ms() - cached_at < ttl - 50)
        ASSERT_OK(rc);
    /* ...and refused as soon as the entry expires. */
    int64_t deadline = cached_at + ttl + 2000;
    while (vc_apikeys_lookup(ak, key, strlen(key), &got) == 0) {
        ASSERT(vc_clock_mono_ms() < deadline);
        sleep_ms(10);
    }
    int64_t refused_after = vc_clock_mono_ms() - cached_at;
    fprintf(stderr, "   revoked key refused %lld ms after caching (ttl %lld)\n",
            (long long)refused_after, ttl);
    ASSERT(refused_after <= ttl + 100);
    ASSERT_EQ(vc_apikeys_lookup(ak, key, strlen(key), &got), VC_ENOTFOUND);
    vc_apikeys_free(ak);
}

/* A key inserted after a failed lookup is found once the negative entry expires. */
static void test_negative_cache(void)
{
    const long long neg = 300;
    vc_apikeys_t *ak = make_cache(pg, 5000, neg, 60000);
    char key[VC_APIKEY_LEN + 1];
    uint8_t rnd[VC_APIKEY_LEN];
    ASSERT(getrandom(rnd, sizeof(rnd), 0) == (ssize_t)sizeof(rnd));
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    memcpy(key, "vck_", 4);
    for (int i = 4; i < VC_APIKEY_LEN - 1; i++)
        key[i] = b64[rnd[i - 4] & 63];
    key[VC_APIKEY_LEN - 1] = 'A';
    key[VC_APIKEY_LEN] = '\0';
    ASSERT(vc_apikeys_well_formed(key, VC_APIKEY_LEN));
    vc_apikey_t got;
    ASSERT_EQ(vc_apikeys_lookup(ak, key, VC_APIKEY_LEN, &got), VC_ENOTFOUND);
    int64_t cached_at = vc_clock_mono_ms();

    char prefix[VC_APIKEY_PREFIX_LEN + 1];
    memcpy(prefix, key, VC_APIKEY_PREFIX_LEN);
    prefix[VC_APIKEY_PREFIX_LEN] = '\0';
    const char *vals[] = {tenant_b, key, prefix};
    exec_sql("INSERT INTO api_keys (tenant, key_hash, prefix, name)"
             " VALUES ($1, sha256(convert_to($2, 'UTF8')), $3, 'inserted')",
             3, vals);
    int rc = vc_apikeys_lookup(ak, key, VC_APIKEY_LEN, &got);
    if (vc_clock_mono_ms() - cached_at < neg - 50)
        ASSERT_EQ(rc, VC_ENOTFOUND);
    int64_t deadline = cached_at + neg + 2000;
    while (vc_apikeys_lookup(ak, key, VC_APIKEY_LEN, &got) != 0) {
        ASSERT(vc_clock_mono_ms() < deadline);
        sleep_ms(10);
    }
    ASSERT_STREQ(got.tenant, tenant_b);
    ASSERT_STREQ(got.name, "inserted");
    vc_apikeys_stats_t st;
    vc_apikeys_stats(ak, &st);
    ASSERT(st.negative_hits >= 1);
    vc_apikeys_free(ak);
}

static void test_list_and_revoke_refs(void)
{
    vc_apikey_t *keys = NULL;
    size_t n = 0;
    char err[256];
    ASSERT_OK(vc_apikeys_list(conn, tenant_b, &keys, &n, err, sizeof(err)));
    ASSERT_EQ(n, 3); /* "café 🔑", "b" and "inserted" */
    for (size_t i = 0; i < n; i++)
        ASSERT_STREQ(keys[i].tenant, tenant_b);
    ASSERT(keys[0].id < keys[1].id);
    ASSERT_STREQ(keys[1].name, "b");
    free(keys);
    ASSERT_OK(vc_apikeys_list(conn, NULL, &keys, &n, err, sizeof(err)));
    ASSERT(n >= 6);
    free(keys);
    ASSERT_EQ(vc_apikeys_list(conn, "bad tenant", &keys, &n, err, sizeof(err)), VC_EINVAL);
    char none[80];
    snprintf(none, sizeof(none), "nobody-%s", run_id);
    ASSERT_OK(vc_apikeys_list(conn, none, &keys, &n, err, sizeof(err)));
    ASSERT_EQ(n, 0);
    ASSERT(keys == NULL);

    /* Two keys sharing a display prefix: the prefix is refused as ambiguous. */
    char pfx[VC_APIKEY_PREFIX_LEN + 1];
    snprintf(pfx, sizeof(pfx), "vck_%.8s", run_id);
    for (int i = 0; i < 2; i++) {
        char fake[64];
        snprintf(fake, sizeof(fake), "fake-%d-%s", i, run_id);
        const char *vals[] = {tenant_b, fake, pfx};
        exec_sql("INSERT INTO api_keys (tenant, key_hash, prefix)"
                 " VALUES ($1, sha256(convert_to($2, 'UTF8')), $3)",
                 3, vals);
    }
    vc_apikey_t k;
    ASSERT_EQ(vc_apikeys_revoke(conn, pfx, &k, err, sizeof(err)), VC_EEXIST);
    ASSERT(strstr(err, "revoke by id") != NULL);
    ASSERT_EQ(vc_apikeys_revoke(conn, "vck_zzzzzzzz", &k, err, sizeof(err)), VC_ENOTFOUND);
    ASSERT_EQ(vc_apikeys_revoke(conn, "999999999999", &k, err, sizeof(err)), VC_ENOTFOUND);
    ASSERT_EQ(vc_apikeys_revoke(conn, "12abc", &k, err, sizeof(err)), VC_EINVAL);
    ASSERT_EQ(vc_apikeys_revoke(conn, "", &k, err, sizeof(err)), VC_EINVAL);
    ASSERT_EQ(vc_apikeys_revoke(conn, "1; DROP TABLE api_keys", &k, err, sizeof(err)), VC_EINVAL);

    /* Revoking by the whole key works too. */
    vc_apikey_t created;
    char key[VC_APIKEY_LEN + 1];
    create(tenant_b, "by key", 0, &created, key);
    ASSERT_OK(vc_apikeys_revoke(conn, key, &k, err, sizeof(err)));
    ASSERT_EQ(k.id, created.id);
    ASSERT(k.revoked_at_ms != 0);
}

/* The database unreachable (its only connection held): a cached key keeps working up to the
 * stale limit, unknown keys get VC_EUNAVAIL, and the breaker stops the waiting. */
static void test_stale_if_error(void)
{
    const char *url = getenv("VC_TEST_DATABASE_URL");
    vc_pg_pool_t *small = open_pool(url, 1, 100);
    vc_apikeys_t *ak = make_cache(small, 50, 50, 60000);
    vc_apikey_t k, got;
    char key[VC_APIKEY_LEN + 1], other[VC_APIKEY_LEN + 1];
    create(tenant_a, "stale", 0, &k, key);
    create(tenant_a, "never cached", 0, &k, other);
    ASSERT_OK(vc_apikeys_lookup(ak, key, strlen(key), &got));

    PGconn *held = NULL;
    char err[256];
    ASSERT_OK(vc_pg_acquire(small, &held, err, sizeof(err)));
    sleep_ms(60); /* past the 50 ms TTL: the next lookup must ask the database */
    ASSERT_OK(vc_apikeys_lookup(ak, key, strlen(key), &got)); /* pool timeout → stale */
    ASSERT_STREQ(got.tenant, tenant_a);
    ASSERT_EQ(vc_apikeys_lookup(ak, other, strlen(other), &got), VC_EUNAVAIL);
    vc_apikeys_stats_t st;
    vc_apikeys_stats(ak, &st);
    ASSERT_EQ(st.stale_hits, 1);
    ASSERT_EQ(st.db_errors, 2);
    ASSERT_EQ(st.breaker_state, VC_BREAKER_OPEN);
    /* Breaker open: answers without waiting for the pool. */
    int64_t t0 = vc_clock_mono_ms();
    ASSERT_OK(vc_apikeys_lookup(ak, key, strlen(key), &got));
    ASSERT_EQ(vc_apikeys_lookup(ak, other, strlen(other), &got), VC_EUNAVAIL);
    ASSERT(vc_clock_mono_ms() - t0 < 50);
    vc_apikeys_stats(ak, &st);
    ASSERT_EQ(st.db_errors, 2);
    vc_pg_release(small, held, 0);
    vc_apikeys_free(ak);
    vc_pg_pool_free(small);
}

int main(void)
{
    const char *url = vc_test_env_or_skip("VC_TEST_DATABASE_URL");
    unsigned int rnd = 0;
    ASSERT(getrandom(&rnd, sizeof(rnd), 0) == (ssize_t)sizeof(rnd));
    snprintf(run_id, sizeof(run_id), "%08x%d", rnd, (int)getpid());
    snprintf(tenant_a, sizeof(tenant_a), "ta-%s", run_id);
    snprintf(tenant_b, sizeof(tenant_b), "tb-%s", run_id);
    pg = open_pool(url, 4, 5000);
    char err[512] = "";
    ASSERT_OK(vc_pg_acquire(pg, &conn, err, sizeof(err)));
    if (vc_pg_migrate(conn, err, sizeof(err)) != 0)
        VC_TEST_FAIL("migrate: %s", err);
    RUN(test_create_and_hash_only);
    RUN(test_create_validation);
    RUN(test_lookup_and_tenant_binding);
    RUN(test_revoke_within_ttl);
    RUN(test_negative_cache);
    RUN(test_list_and_revoke_refs);
    RUN(test_stale_if_error);
    vc_pg_release(pg, conn, 0);
    vc_pg_pool_free(pg);
    return 0;
}
