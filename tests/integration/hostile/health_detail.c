/* /health and /metrics against askers who should learn nothing: anonymous /health carries no
 * backend detail even while a backend fails with an error that names its address; only the
 * metrics token reads that detail, /metrics and /metrics.json; a tenant's key is not the
 * metrics token; a wrong credential on /health gets the anonymous view, and a key there takes
 * nothing from its quota; and a flood of /health costs the backends one deep check per
 * HEALTH_CACHE_MS, not one per request. */
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostile.h"

#define TOKEN VC_TEST_METRICS_TOKEN

static hostile_t h;

/* GET path on a fresh connection with an optional header line ("" for none). */
static void get(const char *path, const char *header, vc_raw_response_t *r)
{
    char req[512];
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: gateway\r\n%s%s"
                     "Connection: close\r\n\r\n", path, header, header[0] ? "\r\n" : "");
    ASSERT_OK(vc_raw_exchange(h.base, req, (size_t)n, 10000, r));
}

/* Every member of the anonymous /health body: status, and checks.{redis,postgres,kafka}.ok. */
static void expect_anonymous_shape(const char *body)
{
    json_t *o = json_loads(body, 0, NULL);
    ASSERT(o != NULL);
    ASSERT_EQ(json_object_size(o), 2);
    ASSERT(json_is_string(json_object_get(o, "status")));
    json_t *checks = json_object_get(o, "checks");
    ASSERT_EQ(json_object_size(checks), 3);
    const char *names[] = {"redis", "postgres", "kafka"};
    for (int i = 0; i < 3; i++) {
        json_t *c = json_object_get(checks, names[i]);
        if (json_object_size(c) != 1 || !json_is_boolean(json_object_get(c, "ok")))
            VC_TEST_FAIL("anonymous checks.%s is not {ok}: %s", names[i], body);
    }
    json_decref(o);
}

/* A body that names the dead Redis in any way fails the test (the port as ":PORT": a tenant's
 * body has latencies whose digits could hold it by chance). */
static void expect_no_detail(const char *body, const char *port, const char *who)
{
    char colon_port[24];
    snprintf(colon_port, sizeof(colon_port), ":%s", port);
    static const char *const leaks[] = {"127.0.0.1", "refused", "connect", "error",
                                        "resources", "localhost", "redis://"};
    for (size_t i = 0; i < sizeof(leaks) / sizeof(leaks[0]); i++)
        if (strstr(body, leaks[i]) != NULL)
            VC_TEST_FAIL("%s /health shows \"%s\": %s", who, leaks[i], body);
    if (strstr(body, colon_port) != NULL)
        VC_TEST_FAIL("%s /health shows the Redis port %s: %s", who, port, body);
}

static char dead_port[16];

static void anonymous_health_hides_a_dead_redis(void)
{
    vc_raw_response_t r;
    char auth[128];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", TOKEN);
    /* The operator sees why Redis is down (so the detail exists and is hidden from others). */
    get("/health", auth, &r);
    ASSERT_EQ(r.status, 200);
    fprintf(stderr, "operator: %s\n", r.body);
    ASSERT(strstr(r.body, "\"degraded\"") != NULL);
    ASSERT(strstr(r.body, "\"error\"") != NULL);
    vc_raw_response_free(&r);
    get("/health", "", &r);
    fprintf(stderr, "anonymous: %s\n", r.body);
    ASSERT_EQ(r.status, 200);
    ASSERT(strstr(r.body, "\"degraded\"") != NULL);
    ASSERT(strstr(r.body, "\"redis\":{\"ok\":false}") != NULL);
    expect_anonymous_shape(r.body);
    expect_no_detail(r.body, dead_port, "anonymous");
    ASSERT(strstr(r.body, dead_port) == NULL); /* no number at all in the anonymous body */
    vc_raw_response_free(&r);
    /* A tenant's key: latencies and concurrency, still nothing about the failure. */
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", h.key);
    get("/health", auth, &r);
    fprintf(stderr, "tenant: %s\n", r.body);
    ASSERT_EQ(r.status, 200);
    ASSERT(strstr(r.body, "\"latency_ms\"") != NULL);
    ASSERT(strstr(r.body, "\"inflight_requests\"") != NULL);
    expect_no_detail(r.body, dead_port, "tenant");
    vc_raw_response_free(&r);
}

/* Not the token: no token, a prefix, one byte more, the last byte changed, another case, a
 * tenant's API key. Each is 401 with the JSON error and WWW-Authenticate. */
static void wrong_metrics_tokens_are_refused(void)
{
    char wrong[6][160], last[sizeof(TOKEN)];
    snprintf(last, sizeof(last), "%s", TOKEN);
    last[sizeof(TOKEN) - 2] = last[sizeof(TOKEN) - 2] == 'x' ? 'y' : 'x';
    snprintf(wrong[0], sizeof(wrong[0]), "X-Nothing: 1");
    snprintf(wrong[1], sizeof(wrong[1]), "Authorization: Bearer %.*s", 20, TOKEN);
    snprintf(wrong[2], sizeof(wrong[2]), "Authorization: Bearer %sx", TOKEN);
    snprintf(wrong[3], sizeof(wrong[3]), "Authorization: Bearer %s", last);
    snprintf(wrong[4], sizeof(wrong[4]), "Authorization: Bearer VC-TEST-METRICS-TOKEN");
    snprintf(wrong[5], sizeof(wrong[5]), "Authorization: Bearer %s", h.key);
    const char *paths[] = {"/metrics", "/metrics.json"};
    for (int p = 0; p < 2; p++) {
        for (int i = 0; i < 6; i++) {
            vc_raw_response_t r;
            get(paths[p], wrong[i], &r);
            vc_raw_expect_json_error(&r, 401, "unauthorized", wrong[i]);
            ASSERT(strstr(r.head, "WWW-Authenticate: Bearer") != NULL);
            vc_raw_response_free(&r);
        }
        char auth[128];
        snprintf(auth, sizeof(auth), "Authorization: Bearer  %s ", TOKEN); /* blanks trimmed */
        vc_raw_response_t r;
        get(paths[p], auth, &r);
        ASSERT_EQ(r.status, 200);
        vc_raw_response_free(&r);
    }
    /* On /health a credential that is neither a key nor the token never fails the probe: it
     * gets the anonymous view. */
    for (int i = 1; i < 5; i++) {
        vc_raw_response_t r;
        get("/health", wrong[i], &r);
        ASSERT_EQ(r.status, 200);
        expect_anonymous_shape(r.body);
        vc_raw_response_free(&r);
    }
}

/* A key with a quota of one request per window asks /health three times (tenant view each
 * time), and its one request is still there. */
static void health_takes_nothing_from_a_quota(void)
{
    char key[64], tenant[96], auth[128];
    snprintf(tenant, sizeof(tenant), "%s-quota1", h.tenant);
    vc_test_create_key(h.pg, tenant, 1, key, NULL);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", key);
    for (int i = 0; i < 3; i++) {
        vc_raw_response_t r;
        get("/health", auth, &r);
        ASSERT_EQ(r.status, 200);
        ASSERT(strstr(r.body, "\"inflight_requests\"") != NULL); /* the tenant view */
        vc_raw_response_free(&r);
    }
    vc_raw_response_t r;
    get("/v1/detections/no-such-detection", auth, &r);
    vc_raw_expect_json_error(&r, 404, "not_found", "the quota's one request after 3 /health");
    vc_raw_response_free(&r);
}

/* ---- the flood ------------------------------------------------------------------------- */

/* PING calls Redis has served (INFO commandstats): the gateway's deep check is their only
 * sender while this test runs (the suite's server tests run one at a time). */
static long long redis_pings(void)
{
    const char *u = h.redis + strlen("redis://");
    const char *at = strchr(u, '@');
    if (at != NULL)
        u = at + 1;
    char host[64];
    size_t n = strcspn(u, ":/");
    snprintf(host, sizeof(host), "%.*s", (int)n, u);
    int port = u[n] == ':' ? (int)strtol(u + n + 1, NULL, 10) : 6379;
    redisContext *c = redisConnect(host, port);
    ASSERT(c != NULL && c->err == 0);
    redisReply *rep = redisCommand(c, "INFO commandstats");
    ASSERT(rep != NULL && rep->type == REDIS_REPLY_STRING);
    const char *f = strstr(rep->str, "cmdstat_ping:calls=");
    long long calls = f != NULL ? strtoll(f + strlen("cmdstat_ping:calls="), NULL, 10) : 0;
    freeReplyObject(rep);
    redisFree(c);
    return calls;
}

/* vc_health_checks_total from /metrics (with the token). */
static long long deep_checks(void)
{
    vc_raw_response_t r;
    char auth[128];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", TOKEN);
    get("/metrics", auth, &r);
    ASSERT_EQ(r.status, 200);
    const char *f = strstr(r.body, "\nvc_health_checks_total ");
    ASSERT(f != NULL);
    long long n = strtoll(f + strlen("\nvc_health_checks_total "), NULL, 10);
    vc_raw_response_free(&r);
    return n;
}

enum { FLOODERS = 8, FLOOD_MS = 2500 };
static int flood_ok[FLOODERS], flood_sent[FLOODERS];
static long flood_end_ms;

/* Anonymous /health as fast as one connection allows, until the flood's end. */
static void *flooder(void *arg)
{
    int i = (int)(long)arg;
    static const char req[] = "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    while (vc_raw_now_ms() < flood_end_ms) {
        vc_raw_response_t r;
        flood_sent[i]++;
        if (vc_raw_exchange(h.base, req, sizeof(req) - 1, 10000, &r) == 0 && r.status == 200)
            flood_ok[i]++;
        vc_raw_response_free(&r);
    }
    return NULL;
}

static void a_flood_of_health_costs_one_check_per_interval(void)
{
    long long pings0 = redis_pings(), checks0 = deep_checks();
    long t0 = vc_raw_now_ms();
    flood_end_ms = t0 + FLOOD_MS;
    pthread_t t[FLOODERS];
    for (long i = 0; i < FLOODERS; i++)
        ASSERT_OK(pthread_create(&t[i], NULL, flooder, (void *)i));
    int ok = 0, sent = 0;
    for (int i = 0; i < FLOODERS; i++) {
        pthread_join(t[i], NULL);
        ok += flood_ok[i];
        sent += flood_sent[i];
    }
    long ms = vc_raw_now_ms() - t0;
    long long pings = redis_pings() - pings0, checks = deep_checks() - checks0;
    /* One check per started HEALTH_CACHE_MS (1 s) of the flood, plus the one in progress. */
    long long bound = ms / 1000 + 2;
    fprintf(stderr, "flood: %d/%d answered 200 in %ld ms (%d concurrent); deep checks %lld, "
            "Redis PINGs %lld (bound %lld)\n", ok, sent, ms, FLOODERS, checks, pings, bound);
    ASSERT_EQ(ok, sent);
    ASSERT(sent >= 100); /* a flood: without the cache, as many checks */
    ASSERT(checks >= 1 && checks <= bound);
    ASSERT(pings >= 1 && pings <= bound);
}

int main(void)
{
    hostile_init(&h, "health");
    /* Redis at a port nobody listens on: its check fails with "connection refused" and the
     * address, which only the operator may read. */
    snprintf(dead_port, sizeof(dead_port), "%d", vc_test_free_port());
    char dead[64];
    snprintf(dead, sizeof(dead), "redis://127.0.0.1:%s/0", dead_port);
    const char *redis = h.redis;
    h.redis = dead;
    const char *extra[] = {"REDIS_DIAL_TIMEOUT=200ms", "REDIS_MIN_IDLE_CONNS=0", NULL};
    hostile_start(&h, extra);
    RUN(anonymous_health_hides_a_dead_redis);
    hostile_stop(&h);
    h.redis = redis;
    hostile_start(&h, NULL);
    RUN(wrong_metrics_tokens_are_refused);
    RUN(health_takes_nothing_from_a_quota);
    RUN(a_flood_of_health_costs_one_check_per_interval);
    hostile_expect_healthy(&h, "the /health flood");
    hostile_stop(&h);
    return 0;
}
