/* Secrets stay secret. API keys are stored only as SHA-256 hashes (the api_keys table holds no
 * plaintext, and the hash is the key's); no secret reaches a log: a gateway and a detector run
 * with LOG_LEVEL=debug against a password-protected Redis and a DATABASE_URL with a password,
 * serve authenticated requests (one analysed end to end) and failed ones (unknown, malformed,
 * revoked keys, keys in the wrong header), and fail to start with bad URLs that carry the
 * passwords; then every log is searched for every key, the Authorization values, both
 * passwords and the metrics token. Redis key names hold no key either. Finally a tripwire over
 * the sources: keys and the metrics token are compared only as hashes and only with
 * CRYPTO_memcmp (constant time). */
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hostile.h"
#include "vc/apikeys.h"
#include "vc/base64.h"

static hostile_t h;
static vc_proc_t redis, detector;
static int redis_port;
static char pg_password[64], redis_password[64], pg_url[512], redis_url[128];
static char prefix[64], topics[3][200], group[128];
static char revoked_key[64], unknown_key[64], malformed_key[96];

/* ---- keys at rest ------------------------------------------------------------------------ */

static void api_keys_are_stored_only_as_hashes(void)
{
    PGconn *c = PQconnectdb(h.pg);
    ASSERT(PQstatus(c) == CONNECTION_OK);
    /* Every row of the table, every column, as text. */
    PGresult *r = PQexec(c, "SELECT t::text FROM api_keys t");
    ASSERT(PQresultStatus(r) == PGRES_TUPLES_OK);
    ASSERT(PQntuples(r) >= 2);
    const char *secrets[] = {h.key, h.key + VC_APIKEY_PREFIX_LEN, revoked_key,
                             revoked_key + VC_APIKEY_PREFIX_LEN};
    for (int i = 0; i < PQntuples(r); i++)
        for (size_t s = 0; s < sizeof(secrets) / sizeof(secrets[0]); s++)
            if (strstr(PQgetvalue(r, i, 0), secrets[s]) != NULL)
                VC_TEST_FAIL("api_keys row holds plaintext: %s", PQgetvalue(r, i, 0));
    PQclear(r);
    /* The stored hash is the SHA-256 of the key, and only the display prefix is kept. */
    char id[24];
    snprintf(id, sizeof(id), "%lld", h.key_id);
    const char *params[] = {id};
    r = PQexecParams(c,
                     "SELECT encode(key_hash, 'hex'), prefix FROM api_keys WHERE id = $1::bigint",
                     1, NULL, params, NULL, NULL, 0);
    ASSERT(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1);
    uint8_t hash[32];
    vc_apikeys_hash(h.key, strlen(h.key), hash);
    char hex[65];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", hash[i]);
    ASSERT_STREQ(PQgetvalue(r, 0, 0), hex);
    ASSERT(strlen(PQgetvalue(r, 0, 1)) == VC_APIKEY_PREFIX_LEN);
    ASSERT(strncmp(PQgetvalue(r, 0, 1), h.key, VC_APIKEY_PREFIX_LEN) == 0);
    PQclear(r);
    /* No column could hold a key: only the bytea hash and the short prefix are key-derived. */
    r = PQexec(c, "SELECT column_name, data_type FROM information_schema.columns"
                  " WHERE table_name = 'api_keys' ORDER BY ordinal_position");
    ASSERT(PQresultStatus(r) == PGRES_TUPLES_OK);
    for (int i = 0; i < PQntuples(r); i++) {
        const char *col = PQgetvalue(r, i, 0), *type = PQgetvalue(r, i, 1);
        fprintf(stderr, "api_keys.%s %s\n", col, type);
        if (strcmp(col, "key_hash") == 0)
            ASSERT_STREQ(type, "bytea");
        if (strcmp(col, "key") == 0 || strcmp(col, "secret") == 0 ||
            strcmp(col, "plaintext") == 0 || strcmp(col, "api_key") == 0)
            VC_TEST_FAIL("api_keys has a column %s", col);
    }
    PQclear(r);
    PQfinish(c);
}

/* ---- logs -------------------------------------------------------------------------------- */

static long request(const char *method, const char *path, const char *header, const char *body,
                    char **resp)
{
    char url[512];
    snprintf(url, sizeof(url), "%s%s", h.base, path);
    vc_test_extra_header = header;
    long st = vc_test_http(method, url, body ? "application/json" : NULL, body,
                           body ? strlen(body) : 0, resp);
    vc_test_extra_header = NULL;
    return st;
}

static char *audio_body(void)
{
    size_t wav_len = 0, n = 0;
    unsigned char *wav = vc_test_wav_sine(330, 0.5, 0.25, 16000, &wav_len);
    size_t cap = vc_base64_encoded_len(wav_len) + 1;
    char *b64 = malloc(cap);
    ASSERT_OK(vc_base64_encode(wav, wav_len, b64, cap, &n));
    free(wav);
    json_t *o = json_pack("{s:s, s:s, s:{s:s}}", "detection_type", "audio", "audio_data", b64,
                          "metadata", "case", "secrets");
    char *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    free(b64);
    return body;
}

static void traffic_with_good_and_bad_keys(void)
{
    char *body = audio_body(), hdr[160], *resp = NULL;
    /* Authenticated, analysed end to end by the detector (debug logging on both sides). */
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", h.key);
    long st = request("POST", "/v1/detections?wait=30", hdr, body, &resp);
    json_t *o = json_loads(resp, 0, NULL);
    if (st != 200 || strcmp(json_string_value(json_object_get(o, "status")), "completed") != 0) {
        vc_test_print_log(&detector, 30);
        VC_TEST_FAIL("analysed submission: %ld %s", st, resp);
    }
    char path[256];
    snprintf(path, sizeof(path), "/v1/detections/%s",
             json_string_value(json_object_get(o, "detection_id")));
    json_decref(o);
    free(resp);
    snprintf(hdr, sizeof(hdr), "X-API-Key: %s", h.key);
    ASSERT_EQ(request("GET", path, hdr, NULL, NULL), 200);
    ASSERT_EQ(request("POST", "/v1/detections", hdr, body, NULL), 202);
    char fb[300];
    snprintf(fb, sizeof(fb), "%s/feedback", path);
    ASSERT_EQ(request("POST", fb, hdr, "{\"verdict\":\"genuine\"}", NULL), 201);
    /* Refused: unknown, revoked, malformed keys, in both headers, and the key in a query. */
    const char *bad[] = {unknown_key, revoked_key, malformed_key};
    for (size_t i = 0; i < 3; i++) {
        snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", bad[i]);
        ASSERT_EQ(request("POST", "/v1/detections", hdr, body, NULL), 401);
        snprintf(hdr, sizeof(hdr), "X-API-Key: %s", bad[i]);
        ASSERT_EQ(request("GET", path, hdr, NULL, NULL), 401);
    }
    char q[256];
    snprintf(q, sizeof(q), "/v1/detections?api_key=%s", h.key);
    ASSERT_EQ(request("POST", q, NULL, body, NULL), 401);
    free(body);
}

/* A gateway that cannot start (bad URLs carrying the passwords) must exit non-zero by itself,
 * and must not print the passwords either. */
static void failed_start_up(const char *name, const char *const *env)
{
    vc_proc_t p;
    vc_test_spawn(&p, name, "vc-gateway", env);
    int status = hostile_wait_exit(&p, 15);
    if (status < 0)
        VC_TEST_FAIL("%s: still running after 15 s", name);
    fprintf(stderr, "%s exited with %d\n", name, status);
    ASSERT(status == 1 || status == 2);
}

static void no_secret_in_any_log(void)
{
    /* The metrics token presented, right and wrong, before the logs are read. */
    char url[128];
    snprintf(url, sizeof(url), "%s/metrics", h.base);
    ASSERT_EQ(vc_test_http_ops(url, NULL), 200);
    snprintf(url, sizeof(url), "%s/health", h.base);
    ASSERT_EQ(vc_test_http_ops(url, NULL), 200);
    ASSERT_EQ(vc_test_stop(&detector, 30), 0);
    hostile_stop(&h);
    char bad_redis[160], bad_pg[512], e_kafka[512], e_pg[600];
    snprintf(bad_redis, sizeof(bad_redis), "REDIS_URL=redis://:%s@127.0.0.1:notaport/0",
             redis_password);
    snprintf(bad_pg, sizeof(bad_pg), "DATABASE_URL=postgresql://postgres:%s@127.0.0.1:1/vcguard",
             pg_password);
    snprintf(e_kafka, sizeof(e_kafka), "KAFKA_BROKERS=%s", h.kafka);
    snprintf(e_pg, sizeof(e_pg), "DATABASE_URL=%s", pg_url);
    const char *env1[] = {bad_redis, e_pg, e_kafka, "LOG_LEVEL=debug", NULL};
    failed_start_up("gateway-bad-redis", env1);
    char e_redis[200];
    snprintf(e_redis, sizeof(e_redis), "REDIS_URL=%s", redis_url);
    const char *env2[] = {e_redis, bad_pg, e_kafka, "LOG_LEVEL=debug", "DB_CONNECT_TIMEOUT=1s",
                          NULL};
    failed_start_up("gateway-bad-pg", env2);

    const char *secrets[][2] = {
        {h.key, "the API key"},
        {h.key + VC_APIKEY_PREFIX_LEN, "the secret part of the API key"},
        {unknown_key + VC_APIKEY_PREFIX_LEN, "an unknown key"},
        {revoked_key + VC_APIKEY_PREFIX_LEN, "a revoked key"},
        {malformed_key, "a malformed key"},
        {pg_password, "the PostgreSQL password"},
        {redis_password, "the Redis password"},
        {VC_TEST_METRICS_TOKEN, "the metrics token"},
    };
    const char *logs[] = {"gateway", "detector", "gateway-bad-redis", "gateway-bad-pg"};
    for (size_t l = 0; l < sizeof(logs) / sizeof(logs[0]); l++) {
        char path[600];
        snprintf(path, sizeof(path), "%s/%s.log", vc_test_tmpdir(), logs[l]);
        size_t n = 0;
        char *text = vc_test_read_file(path, &n);
        fprintf(stderr, "%s.log: %zu bytes, debug lines: %s\n", logs[l], n,
                vc_test_contains(text, n, "level=debug") ? "yes" : "no");
        ASSERT(n > 0);
        for (size_t s = 0; s < sizeof(secrets) / sizeof(secrets[0]); s++)
            if (vc_test_contains(text, n, secrets[s][0]))
                VC_TEST_FAIL("%s.log contains %s", logs[l], secrets[s][1]);
        free(text);
    }
    /* Redis holds rate-limit and result keys by key id and detection id, never by key. */
    redisContext *rc = redisConnect("127.0.0.1", redis_port);
    ASSERT(rc != NULL && rc->err == 0);
    redisReply *a = redisCommand(rc, "AUTH %s", redis_password);
    freeReplyObject(a);
    redisReply *keys = redisCommand(rc, "KEYS *");
    ASSERT(keys != NULL && keys->type == REDIS_REPLY_ARRAY && keys->elements > 0);
    for (size_t i = 0; i < keys->elements; i++)
        if (strstr(keys->element[i]->str, h.key + VC_APIKEY_PREFIX_LEN) != NULL ||
            strstr(keys->element[i]->str, h.key) != NULL)
            VC_TEST_FAIL("Redis key name holds the API key: %s", keys->element[i]->str);
    freeReplyObject(keys);
    redisFree(rc);
}

/* ---- constant-time comparison tripwire ---------------------------------------------------- */

static void keys_are_compared_only_as_hashes_in_constant_time(void)
{
    /* Every comparison call in the code that handles presented keys, with the reason it is
     * allowed. A new one fails here: compare secrets with CRYPTO_memcmp, and only as hashes. */
    static const char *const allowed[] = {
        "CRYPTO_memcmp(e->hash, hash, 32)", /* the cache: SHA-256 of the key, constant time */
        "memcmp(s, KEY_TAG, 4)",            /* the public "vck_" tag of a presented key */
        "strncmp(ref, KEY_TAG, 4)",         /* vc-admin: the public tag of a prefix */
        "strncasecmp(v, \"Bearer \", 7)",   /* the auth scheme, not the key */
        "CRYPTO_memcmp(h, gw->cfg.metrics_token_hash, 32)", /* METRICS_TOKEN, as a SHA-256 */
    };
    static const char *const files[] = {
        "libs/store/src/apikeys.c", "libs/store/src/apikeys_cache.c", "services/gateway/access.c",
        "services/gateway/opsauth.c"};
    static const char *const calls[] = {"memcmp(",      "strcmp(", "strncmp(",  "strcasecmp(",
                                        "strncasecmp(", "bcmp(",   "timingsafe"};
    const char *src = getenv("VC_SOURCE_DIR");
    ASSERT(src != NULL);
    int cryptos = 0;
    for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", src, files[f]);
        char *text = vc_test_read_file(path, NULL);
        for (size_t c = 0; c < sizeof(calls) / sizeof(calls[0]); c++)
            for (const char *p = strstr(text, calls[c]); p != NULL; p = strstr(p + 1, calls[c])) {
                int ok = 0;
                for (size_t a = 0; a < sizeof(allowed) / sizeof(allowed[0]) && !ok; a++) {
                    const char *at = strstr(allowed[a], calls[c]);
                    ok = at != NULL && p - (at - allowed[a]) >= text &&
                         strncmp(p - (at - allowed[a]), allowed[a], strlen(allowed[a])) == 0;
                }
                if (!ok) {
                    const char *eol = strchr(p, '\n');
                    VC_TEST_FAIL("%s: unreviewed comparison \"%.*s\"", files[f],
                                 (int)(eol ? eol - p : 60), p);
                }
                cryptos += p - text >= 7 && strncmp(p - 7, "CRYPTO_memcmp(", 14) == 0;
            }
        free(text);
    }
    ASSERT(cryptos >= 1);
}

int main(void)
{
    hostile_init(&h, "secrets");
    snprintf(prefix, sizeof(prefix), "hostile-secrets-%d-%ld-", (int)getpid(), (long)time(NULL));
    snprintf(pg_password, sizeof(pg_password), "pgPw-%d-Zq9xW3", (int)getpid());
    snprintf(redis_password, sizeof(redis_password), "rdPw-%d-Kx7Vb1", (int)getpid());
    snprintf(malformed_key, sizeof(malformed_key), "hunter2-not-a-key-%d", (int)getpid());
    /* Keys: ours, a revoked one, and an unknown well-formed one (ours with a middle character
     * changed). */
    long long rid = 0;
    vc_test_create_key(h.pg, h.tenant, 0, revoked_key, &rid);
    vc_test_revoke_key(h.pg, rid);
    snprintf(unknown_key, sizeof(unknown_key), "%s", h.key);
    unknown_key[20] = unknown_key[20] == 'A' ? 'B' : 'A';
    RUN(api_keys_are_stored_only_as_hashes);
    RUN(keys_are_compared_only_as_hashes_in_constant_time);

    /* A DATABASE_URL with a password (trust auth ignores it) and a Redis that needs one. */
    const char *at = strchr(h.pg, '@'), *scheme = strstr(h.pg, "://");
    ASSERT(at != NULL && scheme != NULL && at > scheme);
    snprintf(pg_url, sizeof(pg_url), "%.*s:%s%s", (int)(at - h.pg), h.pg, pg_password, at);
    redis_port = vc_test_free_port();
    char port[16];
    snprintf(port, sizeof(port), "%d", redis_port);
    char *argv[] = {"redis-server", "--port", port,           "--bind", "127.0.0.1",
                    "--save",       "",       "--appendonly", "no",     "--requirepass",
                    redis_password, NULL};
    vc_test_spawn_argv(&redis, "redis", "redis-server", argv, NULL);
    snprintf(redis_url, sizeof(redis_url), "redis://:%s@127.0.0.1:%d/0", redis_password,
             redis_port);
    static const char *const kinds[3][2] = {
        {"REQUESTS", "requests"}, {"RESULTS", "results"}, {"DLQ", "dlq"}};
    vc_test_create_topics(getenv("VC_TEST_KAFKA_BROKERS"), prefix, 2);
    for (int k = 0; k < 3; k++) {
        snprintf(topics[k], sizeof(topics[k]), "KAFKA_TOPIC_%s=%s%s", kinds[k][0], prefix,
                 kinds[k][1]);
    }
    snprintf(group, sizeof(group), "KAFKA_GROUP_ID=%sgroup", prefix);
    /* The gateway, on the private Redis (waiting for it to accept connections is the
     * gateway's own start-up retry) and the password URL. */
    h.redis = redis_url;
    h.pg = pg_url;
    const char *extra[] = {"LOG_LEVEL=debug", topics[0], topics[1], topics[2], NULL};
    hostile_start(&h, extra);
    char e_redis[200], e_pg[600], e_kafka[512];
    snprintf(e_redis, sizeof(e_redis), "REDIS_URL=%s", redis_url);
    snprintf(e_pg, sizeof(e_pg), "DATABASE_URL=%s", pg_url);
    snprintf(e_kafka, sizeof(e_kafka), "KAFKA_BROKERS=%s", h.kafka);
    const char *denv[] = {e_redis,
                          e_pg,
                          e_kafka,
                          group,
                          topics[0],
                          topics[1],
                          topics[2],
                          "LOG_LEVEL=debug",
                          "KAFKA_SESSION_TIMEOUT_MS=6000",
                          "KAFKA_MAX_POLL_INTERVAL_MS=30000",
                          "THREAD_POOL_SIZE=2",
                          "PROCESS_POOL_SIZE=1",
                          "INSTANCE_ID=hostile-secrets",
                          NULL};
    vc_test_spawn(&detector, "detector", "vc-detector", denv);
    RUN(traffic_with_good_and_bad_keys);
    RUN(no_secret_in_any_log);
    ASSERT_EQ(vc_test_stop(&redis, 10), 0);
    return 0;
}
