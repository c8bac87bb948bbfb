/* Gateway API v1 against the real Redis, PostgreSQL and embedded Kafka: every status code the
 * gateway produces today, batches with partial failure, the idempotency key, msgpack bodies,
 * long-poll timeout and hit, and load shedding. */
#include <jansson.h>
#include <msgpack.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "support/stack.h"
#include "test.h"
#include "vc/base64.h"

static char base[64], prefix[64];
static const char *pg_url;
static char key_a[64], key_b[64], key_slow[64];
static long long key_a_id;
static vc_proc_t gateway, detector;
static char *wav_b64;
static unsigned char *wav;
static size_t wav_len;

static char *url(const char *path)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof(buf[k]), "%s%s", base, path);
    return buf[k];
}

/* POSTs a JSON text; returns the status and the parsed reply (caller decrefs). */
static long post_json(const char *path, const char *body, json_t **reply)
{
    char *resp = NULL;
    long st = vc_test_http("POST", url(path), "application/json", body, strlen(body), &resp);
    if (reply != NULL)
        *reply = json_loads(resp, 0, NULL);
    free(resp);
    return st;
}

static long get_json(const char *path, json_t **reply)
{
    char *resp = NULL;
    long st = vc_test_http("GET", url(path), NULL, NULL, 0, &resp);
    if (reply != NULL)
        *reply = json_loads(resp, 0, NULL);
    free(resp);
    return st;
}

static const char *error_code(json_t *reply)
{
    return json_string_value(json_object_get(json_object_get(reply, "error"), "code"));
}

/* A request body for an audio detection; id may be NULL. Caller frees. */
static char *audio_body(const char *id)
{
    json_t *o = json_pack("{s:s, s:s}", "detection_type", "audio", "audio_data", wav_b64);
    if (id != NULL)
        json_object_set_new(o, "detection_id", json_string(id));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static void expect_error(const char *path, const char *body, long status, const char *code)
{
    json_t *r = NULL;
    long st = post_json(path, body, &r);
    if (st != status || error_code(r) == NULL || strcmp(error_code(r), code) != 0) {
        char *txt = json_dumps(r, 0);
        VC_TEST_FAIL("POST %s %.60s: got %ld %s, want %ld %s", path, body, st, txt, status, code);
    }
    json_decref(r);
}

static void validation_errors(void)
{
    expect_error("/v1/detections", "{\"detection_type\":", 400, "invalid_json");
    expect_error("/v1/detections", "{}", 400, "invalid_request");
    expect_error("/v1/detections", "[]", 400, "invalid_request");
    expect_error("/v1/detections", "{\"detection_type\":\"smell\"}", 400, "invalid_request");
    expect_error("/v1/detections", "{\"detection_type\":\"audio\"}", 400, "invalid_request");
    expect_error("/v1/detections", "{\"detection_type\":\"audio\",\"audio_data\":\"%%%\"}", 400,
                 "invalid_base64");
    expect_error("/v1/detections", "{\"detection_type\":\"audio\",\"audio_data\":\"aGVsbG8=\"}",
                 415, "unsupported_media_type");
    expect_error("/v1/detections?wait=99", "{}", 400, "invalid_request");
    char *resp = NULL;
    ASSERT_EQ(vc_test_http("POST", url("/v1/detections"), "text/plain", "x", 1, &resp), 415);
    free(resp);
    ASSERT_EQ(vc_test_http("DELETE", url("/v1/detections"), NULL, NULL, 0, NULL), 405);
    json_t *r = NULL;
    ASSERT_EQ(get_json("/v1/detections/no-such-id", &r), 404);
    ASSERT_STREQ(error_code(r), "not_found");
    json_decref(r);
}

static void oversized_body_is_refused_from_content_length(void)
{
    size_t n = 300 * 1024; /* MAX_BODY_BYTES is 256K in this test */
    char *big = malloc(n);
    memset(big, ' ', n);
    char *resp = NULL;
    long st = vc_test_http("POST", url("/v1/detections"), "application/json", big, n, &resp);
    ASSERT_EQ(st, 413);
    ASSERT(strstr(resp, "payload_too_large") != NULL);
    free(resp);
    free(big);
}

static void idempotency_key(void)
{
    char id[96];
    snprintf(id, sizeof(id), "%sidem", prefix);
    char *body = audio_body(id);
    json_t *r1 = NULL, *r2 = NULL;
    ASSERT_EQ(post_json("/v1/detections", body, &r1), 202);
    ASSERT_STREQ(json_string_value(json_object_get(r1, "detection_id")), id);
    ASSERT(json_object_get(r1, "duplicate") == NULL);
    ASSERT_EQ(post_json("/v1/detections", body, &r2), 202);
    ASSERT(json_is_true(json_object_get(r2, "duplicate")));
    json_decref(r1);
    json_decref(r2);
    /* The same id with another payload: 422, the original stands. */
    size_t cap = strlen(wav_b64) + 256;
    char *other = malloc(cap);
    snprintf(other, cap,
             "{\"detection_id\":\"%s\",\"detection_type\":\"audio\",\"audio_data\":\"%s\","
             "\"metadata\":{\"call\":\"other\"}}", id, wav_b64);
    expect_error("/v1/detections", other, 422, "idempotency_key_reused");
    free(other);
    free(body);
}

static void batch_partial_failure_and_limits(void)
{
    char *good = audio_body(NULL);
    char body[1 << 16];
    snprintf(body, sizeof(body), "{\"requests\":[%s,{\"detection_type\":\"video\"},%s]}", good,
             good);
    json_t *r = NULL;
    ASSERT_EQ(post_json("/v1/detections/batch", body, &r), 207);
    ASSERT_EQ(json_integer_value(json_object_get(r, "accepted")), 2);
    ASSERT_EQ(json_integer_value(json_object_get(r, "rejected")), 1);
    json_t *items = json_object_get(r, "items");
    ASSERT_EQ(json_integer_value(json_object_get(json_array_get(items, 1), "http_status")), 400);
    ASSERT(json_object_get(json_array_get(items, 2), "detection_id") != NULL);
    json_decref(r);
    /* The original API: a bare array on /detect/batch. */
    snprintf(body, sizeof(body), "[%s]", good);
    ASSERT_EQ(post_json("/detect/batch", body, NULL), 202);
    snprintf(body, sizeof(body), "[%s,%s,%s,%s]", good, good, good, good); /* MAX_BATCH_SIZE=3 */
    expect_error("/v1/detections/batch", body, 400, "batch_too_large");
    expect_error("/v1/detections/batch", "{\"requests\":[]}", 400, "invalid_request");
    free(good);
}

static void msgpack_bodies(void)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, "detection_type", 14);
    msgpack_pack_str_with_body(&pk, "audio", 5);
    msgpack_pack_str_with_body(&pk, "audio_data", 10);
    msgpack_pack_bin_with_body(&pk, wav, wav_len);
    char *resp = NULL;
    long st = vc_test_http("POST", url("/v1/detections"), "application/msgpack", sb.data,
                           sb.size, &resp);
    if (st != 202)
        VC_TEST_FAIL("msgpack submission: %ld %s", st, resp);
    free(resp);
    st = vc_test_http("POST", url("/v1/detections"), "application/msgpack", "\xc1", 1, &resp);
    ASSERT_EQ(st, 400);
    ASSERT(strstr(resp, "invalid_msgpack") != NULL);
    free(resp);
    msgpack_sbuffer_destroy(&sb);
}

static void long_poll_times_out_without_detectors(void)
{
    char *body = audio_body(NULL);
    time_t t0 = time(NULL);
    json_t *r = NULL;
    ASSERT_EQ(post_json("/v1/detections?wait=1", body, &r), 202);
    ASSERT(time(NULL) - t0 >= 1);
    char path[160];
    snprintf(path, sizeof(path), "/v1/detections/%s?wait=1",
             json_string_value(json_object_get(r, "detection_id")));
    json_t *g = NULL;
    ASSERT_EQ(get_json(path, &g), 200);
    ASSERT_STREQ(json_string_value(json_object_get(g, "status")), "queued");
    json_decref(g);
    json_decref(r);
    free(body);
}

static void *hold_a_slot(void *arg)
{
    vc_test_api_key = arg;
    char *body = audio_body(NULL);
    post_json("/v1/detections?wait=3", body, NULL); /* no detector: holds ~3 s */
    free(body);
    return NULL;
}

static void authentication_and_tenants(void)
{
    char *body = audio_body(NULL);
    const char *saved = vc_test_api_key;
    vc_test_api_key = NULL;
    json_t *r = NULL;
    ASSERT_EQ(post_json("/v1/detections", body, &r), 401);
    ASSERT_STREQ(error_code(r), "unauthorized");
    json_decref(r);
    vc_test_api_key = "vck_this-key-does-not-exist-at-all-000000000000";
    ASSERT_EQ(post_json("/v1/detections", body, NULL), 401);
    /* Tenant A submits; tenant B cannot see it (404, as if it did not exist). */
    vc_test_api_key = key_a;
    ASSERT_EQ(post_json("/v1/detections", body, &r), 202);
    char path[160];
    snprintf(path, sizeof(path), "/v1/detections/%s",
             json_string_value(json_object_get(r, "detection_id")));
    json_decref(r);
    ASSERT_EQ(get_json(path, NULL), 200);
    vc_test_api_key = key_b;
    ASSERT_EQ(get_json(path, NULL), 404);
    /* /health needs no key (its anonymous view). */
    vc_test_api_key = NULL;
    ASSERT_EQ(get_json("/health", NULL), 200);
    vc_test_api_key = saved;
    free(body);
}

static void rate_limit_per_key(void)
{
    /* key_slow allows 3 requests per window: the 4th is refused with the draft headers. */
    const char *saved = vc_test_api_key;
    vc_test_api_key = key_slow;
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(get_json("/v1/detections/rl-probe", NULL), 404);
        ASSERT(strstr(vc_test_last_headers, "RateLimit-Policy: ") != NULL);
    }
    json_t *r = NULL;
    ASSERT_EQ(get_json("/v1/detections/rl-probe", &r), 429);
    ASSERT_STREQ(error_code(r), "rate_limited");
    ASSERT(strstr(vc_test_last_headers, "Retry-After: ") != NULL);
    ASSERT(strstr(vc_test_last_headers, "RateLimit: \"key\";r=0") != NULL);
    json_decref(r);
    vc_test_api_key = saved;
}

static void revoked_key_stops_working(void)
{
    const char *saved = vc_test_api_key;
    vc_test_api_key = key_a;
    ASSERT_EQ(get_json("/v1/detections/revoke-probe", NULL), 404);
    vc_test_revoke_key(pg_url, key_a_id);
    /* API_KEY_CACHE_TTL is 1 s here: refused within a few seconds, never accepted after. */
    long st = 404;
    for (int i = 0; i < 50 && st != 401; i++) {
        st = get_json("/v1/detections/revoke-probe", NULL);
        if (st != 401) {
            struct timespec ts = {0, 100000000L}; /* waiting out the cache TTL */
            nanosleep(&ts, NULL);
        }
    }
    ASSERT_EQ(st, 401);
    vc_test_api_key = saved;
}

static void sheds_load_beyond_max_concurrent(void)
{
    /* A slot is freed just after its answer is written: the previous request may hold it. */
    ASSERT_EQ(vc_test_wait_inflight(base, 0, 6), 0);
    pthread_t t[2];
    for (int i = 0; i < 2; i++) /* MAX_CONCURRENT_REQUESTS=2 */
        ASSERT_OK(pthread_create(&t[i], NULL, hold_a_slot, (void *)vc_test_api_key));
    ASSERT_EQ(vc_test_wait_inflight(base, 2, 6), 2);
    char *body = audio_body(NULL);
    char *resp = NULL;
    long st = vc_test_http("POST", url("/v1/detections"), "application/json", body,
                           strlen(body), &resp);
    ASSERT_EQ(st, 503);
    ASSERT(strstr(resp, "overloaded") != NULL);
    free(resp);
    free(body);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
}

/* The new consumer group starts from the beginning of the topic, behind every message earlier
 * tests produced; wait until it has caught up with this test's own idempotency submission. */
static void wait_until_caught_up(void)
{
    char path[160];
    snprintf(path, sizeof(path), "/v1/detections/%sidem?wait=30", prefix);
    for (int i = 0; i < 8; i++) {
        json_t *r = NULL;
        ASSERT_EQ(get_json(path, &r), 200);
        const char *st = json_string_value(json_object_get(r, "status"));
        int done = st != NULL && strcmp(st, "completed") == 0;
        json_decref(r);
        if (done)
            return;
    }
    vc_test_print_log(&detector, 30);
    VC_TEST_FAIL("the detector did not catch up within 4 minutes");
}

static void trace_context_and_feedback(void)
{
    /* A caller's W3C traceparent travels into the result. */
    char *body = audio_body(NULL);
    vc_test_extra_header = "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    json_t *r = NULL;
    ASSERT_EQ(post_json("/v1/detections?wait=20", body, &r), 200);
    vc_test_extra_header = NULL;
    ASSERT(strstr(vc_test_last_headers, "X-Trace-Id: 4bf92f3577b34da6a3ce929d0e0e4736") != NULL);
    ASSERT_STREQ(json_string_value(json_object_get(r, "trace_id")),
                 "4bf92f3577b34da6a3ce929d0e0e4736");
    /* ... and is stored with it: a later GET shows it too. */
    char path[200];
    snprintf(path, sizeof(path), "/v1/detections/%s",
             json_string_value(json_object_get(r, "detection_id")));
    json_t *g = NULL;
    ASSERT_EQ(get_json(path, &g), 200);
    ASSERT_STREQ(json_string_value(json_object_get(g, "trace_id")),
                 "4bf92f3577b34da6a3ce929d0e0e4736");
    json_decref(g);
    snprintf(path, sizeof(path), "/v1/detections/%s/feedback",
             json_string_value(json_object_get(r, "detection_id")));
    json_decref(r);
    /* Feedback on one's own detection is recorded; bad verdicts and unknown ids are refused. */
    json_t *f = NULL;
    ASSERT_EQ(post_json(path, "{\"verdict\":\"spoof\",\"note\":\"replayed\"}", &f), 201);
    ASSERT(json_integer_value(json_object_get(f, "feedback_id")) > 0);
    json_decref(f);
    expect_error(path, "{\"verdict\":\"maybe\"}", 400, "invalid_request");
    expect_error("/v1/detections/never-seen/feedback", "{\"verdict\":\"spoof\"}", 404,
                 "not_found");
    free(body);
}

static void metrics_show_the_live_detector(void)
{
    /* The detector writes its snapshot every second; allow a few. */
    int seen = 0;
    for (int i = 0; i < 50 && !seen; i++) {
        char *resp = NULL;
        ASSERT_EQ(vc_test_http_ops(url("/metrics.json"), &resp), 200); /* METRICS_TOKEN set */
        json_t *m = json_loads(resp, 0, NULL);
        free(resp);
        ASSERT(json_object_get(json_object_get(m, "resources"), "memory") != NULL);
        ASSERT(json_integer_value(json_object_get(json_object_get(m, "requests"), "total")) > 0);
        json_t *dets = json_object_get(m, "detectors");
        size_t k;
        json_t *d;
        json_array_foreach(dets, k, d)
        {
            const char *inst = json_string_value(json_object_get(d, "instance"));
            /* A detector supervisor's workers report as <instance>-w<N>. */
            seen |= inst != NULL && strncmp(inst, "gwtest-detector", 15) == 0;
        }
        json_decref(m);
        if (!seen) {
            struct timespec ts = {0, 100000000L}; /* waiting for the next snapshot */
            nanosleep(&ts, NULL);
        }
    }
    ASSERT(seen);
    char *text = NULL;
    ASSERT_EQ(vc_test_http_ops(url("/metrics"), &text), 200);
    ASSERT(strstr(text, "vc_detector_completed_total{instance=\"gwtest-detector") != NULL);
    ASSERT(strstr(text, "# TYPE vc_http_responses_total counter") != NULL);
    free(text);
}

static void long_poll_hit_with_a_detector(void)
{
    char *body = audio_body(NULL);
    json_t *r = NULL;
    ASSERT_EQ(post_json("/v1/detections?wait=20", body, &r), 200);
    ASSERT_STREQ(json_string_value(json_object_get(r, "status")), "completed");
    json_decref(r);
    free(body);
}

/* This test's own topics, so its new consumer group has no other test's backlog to read. */
static char t_req[200], t_res[200], t_dlq[200];

static void create_topics(void)
{
    const char *kinds[3] = {"requests", "results", "dlq"};
    char *vars[3] = {t_req, t_res, t_dlq};
    const char *names[3] = {"REQUESTS", "RESULTS", "DLQ"};
    vc_test_create_topics(getenv("VC_TEST_KAFKA_BROKERS"), prefix, 6);
    for (int k = 0; k < 3; k++) {
        snprintf(vars[k], 200, "KAFKA_TOPIC_%s=%s%s", names[k], prefix, kinds[k]);
    }
}

static void start(const char *redis, const char *pg, const char *kafka)
{
    int port = vc_test_free_port();
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
    static char e_port[32], e_redis[256], e_pg[256], e_kafka[512], e_group[64];
    snprintf(e_port, sizeof(e_port), "HTTP_PORT=%d", port);
    snprintf(e_redis, sizeof(e_redis), "REDIS_URL=%s", redis);
    snprintf(e_pg, sizeof(e_pg), "DATABASE_URL=%s", pg);
    snprintf(e_kafka, sizeof(e_kafka), "KAFKA_BROKERS=%s", kafka);
    snprintf(e_group, sizeof(e_group), "KAFKA_GROUP_ID=gwtest-%d", (int)getpid());
    const char *env[] = {e_port, e_redis, e_pg, e_kafka, e_group, "MAX_BODY_BYTES=256K",
                         "MAX_BATCH_SIZE=3", "MAX_CONCURRENT_REQUESTS=2", "HTTP_THREADS=8",
                         "KAFKA_SESSION_TIMEOUT_MS=6000", "KAFKA_MAX_POLL_INTERVAL_MS=30000",
                         "INSTANCE_ID=gwtest-detector", t_req, t_res, t_dlq,
                         "RATE_LIMIT_PER_MINUTE=100000", "API_KEY_CACHE_TTL=1s",
                         "METRICS_TOKEN=" VC_TEST_METRICS_TOKEN, NULL};
    vc_test_spawn(&gateway, "gateway", "vc-gateway", env);
    if (!vc_test_wait_http_ok(url("/health"), 60)) {
        vc_test_print_log(&gateway, 40);
        VC_TEST_FAIL("gateway never became healthy");
    }
    json_t *h = NULL;
    ASSERT_EQ(get_json("/health", &h), 200);
    ASSERT_STREQ(json_string_value(json_object_get(h, "status")), "ok");
    json_decref(h);
    (void)detector;
}

int main(void)
{
    const char *redis = vc_test_env_or_skip("VC_TEST_REDIS_URL");
    const char *pg = vc_test_env_or_skip("VC_TEST_DATABASE_URL");
    const char *kafka = vc_test_env_or_skip("VC_TEST_KAFKA_BROKERS");
    snprintf(prefix, sizeof(prefix), "gw-%d-%ld-", (int)getpid(), (long)time(NULL));
    create_topics();
    pg_url = pg;
    char tenant[96];
    snprintf(tenant, sizeof(tenant), "%sa", prefix);
    vc_test_create_key(pg, tenant, 0, key_a, &key_a_id);
    snprintf(tenant, sizeof(tenant), "%sb", prefix);
    vc_test_create_key(pg, tenant, 0, key_b, NULL);
    vc_test_create_key(pg, tenant, 3, key_slow, NULL);
    static char key_main[64];
    snprintf(tenant, sizeof(tenant), "%smain", prefix);
    vc_test_create_key(pg, tenant, 0, key_main, NULL);
    vc_test_api_key = key_main;
    wav = vc_test_wav_sine(440, 0.5, 0.25, 16000, &wav_len);
    size_t cap = vc_base64_encoded_len(wav_len) + 1, n = 0;
    wav_b64 = malloc(cap);
    ASSERT_OK(vc_base64_encode(wav, wav_len, wav_b64, cap, &n));
    start(redis, pg, kafka);

    RUN(validation_errors);
    RUN(oversized_body_is_refused_from_content_length);
    RUN(idempotency_key);
    RUN(batch_partial_failure_and_limits);
    RUN(msgpack_bodies);
    RUN(long_poll_times_out_without_detectors);
    RUN(sheds_load_beyond_max_concurrent);
    RUN(authentication_and_tenants);
    RUN(rate_limit_per_key);
    RUN(revoked_key_stops_working);

    /* Now a detector joins: queued work completes and long-polls return results inline. */
    static char e_kafka[512], e_group[64], e_redis[256], e_pg[256];
    snprintf(e_redis, sizeof(e_redis), "REDIS_URL=%s", redis);
    snprintf(e_pg, sizeof(e_pg), "DATABASE_URL=%s", pg);
    snprintf(e_kafka, sizeof(e_kafka), "KAFKA_BROKERS=%s", kafka);
    snprintf(e_group, sizeof(e_group), "KAFKA_GROUP_ID=gwtest-%d", (int)getpid());
    const char *denv[] = {e_redis, e_pg, e_kafka, e_group, "KAFKA_SESSION_TIMEOUT_MS=6000",
                          "KAFKA_MAX_POLL_INTERVAL_MS=30000", "THREAD_POOL_SIZE=2",
                          "INSTANCE_ID=gwtest-detector", t_req, t_res, t_dlq, NULL};
    vc_test_spawn(&detector, "detector", "vc-detector", denv);
    RUN(wait_until_caught_up);
    RUN(long_poll_hit_with_a_detector);
    RUN(trace_context_and_feedback);
    RUN(metrics_show_the_live_detector);

    ASSERT_EQ(vc_test_stop(&detector, 30), 0);
    ASSERT_EQ(vc_test_stop(&gateway, 30), 0);
    free(wav_b64);
    free(wav);
    return 0;
}
