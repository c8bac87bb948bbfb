/* Redis stopped mid-test: with the default fail-open policy submissions keep being accepted
 * promptly (Kafka's acknowledgement is what counts), /health reports Redis down and the
 * gateway degraded, the per-key limit keeps applying per process; with Redis back, the shared
 * limit applies again. Uses a private Redis so the shared one is never stopped. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "support/stack.h"
#include "test.h"
#include "vc/base64.h"

static char base[64], body[8192];
static vc_proc_t gateway, redis;
static int redis_port;

static void start_redis(void)
{
    char port[16];
    snprintf(port, sizeof(port), "%d", redis_port);
    char *argv[] = {"redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
                    "--appendonly", "no", NULL};
    vc_test_spawn_argv(&redis, "redis", "redis-server", argv, NULL);
}

static long submit(double *secs)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    char url[128];
    snprintf(url, sizeof(url), "%s/v1/detections", base);
    long st = vc_test_http("POST", url, "application/json", body, strlen(body), NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    *secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    return st;
}

/* Submits until refused; returns how many were accepted (at most limit + 2 tries). */
static int accepted_until_limited(int limit)
{
    for (int i = 0; i < limit + 2; i++) {
        double secs = 0;
        long st = submit(&secs);
        if (st == 429)
            return i;
        if (st != 202)
            VC_TEST_FAIL("submission %d: status %ld", i, st);
        ASSERT(secs < 3.0); /* never waits on a dead Redis for long */
    }
    return limit + 2;
}

/* /health as an operator sees it (the deep check is shared for HEALTH_CACHE_MS). */
static json_t *health(long *status)
{
    char url[128], *resp = NULL;
    snprintf(url, sizeof(url), "%s/health", base);
    *status = vc_test_http_ops(url, &resp);
    json_t *o = json_loads(resp, 0, NULL);
    free(resp);
    return o;
}

/* The "rate_limiter" counters of /metrics.json. */
static json_int_t limiter(const char *field)
{
    char url[128], *resp = NULL;
    snprintf(url, sizeof(url), "%s/metrics.json", base);
    ASSERT_EQ(vc_test_http_ops(url, &resp), 200);
    json_t *o = json_loads(resp, 0, NULL);
    free(resp);
    json_t *v = json_object_get(json_object_get(o, "rate_limiter"), field);
    ASSERT(json_is_integer(v));
    json_int_t n = json_integer_value(v);
    json_decref(o);
    return n;
}

int main(void)
{
    const char *pg = vc_test_env_or_skip("VC_TEST_DATABASE_URL");
    const char *kafka = vc_test_env_or_skip("VC_TEST_KAFKA_BROKERS");
    vc_test_env_or_skip("VC_TEST_REDIS_URL");
    redis_port = vc_test_free_port();
    start_redis();
    char key[64], tenant[64];
    snprintf(tenant, sizeof(tenant), "redisdown-%d", (int)getpid());
    vc_test_create_key(pg, tenant, 5, key, NULL); /* 5 requests per window */
    vc_test_api_key = key;
    size_t wav_len = 0, n = 0;
    unsigned char *wav = vc_test_wav_sine(300, 0.5, 0.1, 8000, &wav_len);
    char b64[4096];
    ASSERT_OK(vc_base64_encode(wav, wav_len, b64, sizeof(b64), &n));
    snprintf(body, sizeof(body), "{\"detection_type\":\"audio\",\"audio_data\":\"%s\"}", b64);
    free(wav);

    char redis_url[64];
    snprintf(redis_url, sizeof(redis_url), "redis://127.0.0.1:%d/0", redis_port);
    const char *extra[] = {"RATE_LIMIT_PER_IP_PER_MINUTE=100000", "RATE_LIMIT_BREAKER_COOLDOWN=1s",
                           "REDIS_BREAKER_COOLDOWN=1s", "REDIS_DIAL_TIMEOUT=500ms",
                           "RATE_LIMIT_WINDOW=60s", NULL};
    vc_test_start_gateway(&gateway, base, sizeof(base), redis_url, pg, kafka, extra);

    ASSERT_EQ(accepted_until_limited(5), 5); /* the shared (Redis) limit */
    ASSERT_EQ(limiter("fallback"), 0);
    ASSERT(limiter("denied") >= 1);

    ASSERT_EQ(vc_test_stop(&redis, 10), 0);
    long st = 0;
    json_t *h = NULL;
    /* A deep check younger than HEALTH_CACHE_MS (1 s) may still show Redis up. */
    for (int i = 0; i < 30; i++) {
        json_decref(h);
        h = health(&st);
        if (json_is_false(json_object_get(
                json_object_get(json_object_get(h, "checks"), "redis"), "ok")))
            break;
        struct timespec ts = {0, 100000000L}; /* the cached check expiring */
        nanosleep(&ts, NULL);
    }
    ASSERT_EQ(st, 200);
    ASSERT_STREQ(json_string_value(json_object_get(h, "status")), "degraded");
    ASSERT(json_is_false(json_object_get(json_object_get(json_object_get(h, "checks"), "redis"),
                                         "ok")));
    ASSERT(json_is_string(json_object_get(
        json_object_get(json_object_get(h, "checks"), "redis"), "error"))); /* operator view */
    json_decref(h);
    /* Fail-open: accepted without Redis, under the gateway's own copy of the limit. */
    ASSERT_EQ(accepted_until_limited(5), 5);
    /* Every one of those 6 decisions was taken without Redis, and monitoring can see it. */
    ASSERT(limiter("fallback") >= 6);
    ASSERT(limiter("redis_errors") >= 1);

    start_redis();
    /* Once the breaker's cool-down passes the shared limiter decides again (empty after the
     * restart): 5 more, then refused. */
    int healthy = 0;
    for (int i = 0; i < 100 && !healthy; i++) {
        json_t *o = health(&st);
        /* Redis answers again; the gateway stays "degraded" until traffic closes the breakers. */
        healthy = st == 200 && json_is_true(json_object_get(
                                   json_object_get(json_object_get(o, "checks"), "redis"), "ok"));
        json_decref(o);
        if (!healthy) {
            struct timespec ts = {0, 100000000L}; /* waiting for Redis to accept connections */
            nanosleep(&ts, NULL);
        }
    }
    ASSERT(healthy);
    struct timespec cool = {1, 200000000L}; /* let the limiter's breaker cool-down elapse */
    nanosleep(&cool, NULL);
    json_int_t degraded = limiter("fallback");
    ASSERT_EQ(accepted_until_limited(5), 5);
    ASSERT_EQ(limiter("fallback"), degraded); /* Redis decides again */

    ASSERT_EQ(vc_test_stop(&gateway, 30), 0);
    ASSERT_EQ(vc_test_stop(&redis, 10), 0);
    return 0;
}
