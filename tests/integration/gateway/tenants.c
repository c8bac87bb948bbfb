/* Tenant isolation and idempotency, as a hostile tenant would try them: tenant B, with its own
 * valid key, uses tenant A's detection ids on every route (GET, GET ?wait, POST with and
 * without ?wait, batch, feedback, and a BatchEnvelope published straight to Kafka), and must
 * get its own, unrelated detections each time while A's stay as they were. Then the
 * acknowledgement race: a re-submission that arrives while the original's publish is still in
 * flight, and that publish then fails, must not be answered 202 unless a request for the id was
 * acknowledged (and is processed). */
#include <jansson.h>
#include <signal.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "support/stack.h"
#include "test.h"
#include "vc/base64.h"
#include "vc/mq.h"
#include "vc/wire.h"
#include "vc/wire_batch.h"

static char base[64], prefix[64], tenant_b[96];
static char key_a[64], key_b[64];
static vc_proc_t gateway, detector;
static char *wav_a, *wav_b; /* base64 of two different clips */
static char t_req[200], t_res[200], t_dlq[200], topic_req[160];
static const char *kafka;

static char *url(const char *path)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof(buf[k]), "%s%s", base, path);
    return buf[k];
}

static long call(const char *key, const char *method, const char *path, const char *body,
                 json_t **reply)
{
    vc_test_api_key = key;
    char *resp = NULL;
    long st = vc_test_http(method, url(path), body ? "application/json" : NULL, body,
                           body ? strlen(body) : 0, &resp);
    if (reply != NULL)
        *reply = resp ? json_loads(resp, 0, NULL) : NULL;
    free(resp);
    return st;
}

static char *body_of(const char *id, const char *b64)
{
    json_t *o = json_pack("{s:s, s:s}", "detection_type", "audio", "audio_data", b64);
    if (id != NULL)
        json_object_set_new(o, "detection_id", json_string(id));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static char *b64_of(double freq, double amp)
{
    size_t len = 0, n = 0;
    unsigned char *wav = vc_test_wav_sine(freq, amp, 0.5, 16000, &len);
    size_t cap = vc_base64_encoded_len(len) + 1;
    char *b = malloc(cap);
    ASSERT_OK(vc_base64_encode(wav, len, b, cap, &n));
    free(wav);
    return b;
}

/* The analysis part of a result, as text: what must differ between unrelated detections. */
static char *analysis_of(json_t *r)
{
    return json_dumps(json_object_get(r, "modalities"), JSON_COMPACT | JSON_SORT_KEYS);
}

/* Waits for (key's) id to be completed; returns the result (caller decrefs). */
static json_t *wait_completed(const char *key, const char *id)
{
    char path[200];
    snprintf(path, sizeof(path), "/v1/detections/%s?wait=10", id);
    for (int i = 0; i < 12; i++) {
        json_t *r = NULL;
        long st = call(key, "GET", path, NULL, &r);
        const char *s = json_string_value(json_object_get(r, "status"));
        if (st == 200 && s != NULL && strcmp(s, "completed") == 0)
            return r;
        json_decref(r);
        if (st == 404)
            sleep(1);
    }
    vc_test_print_log(&detector, 30);
    VC_TEST_FAIL("%s never completed", id);
}

/* Both tenants' detections of id completed, with different analyses (each of its own media). */
static void expect_unrelated(const char *id)
{
    json_t *mine = wait_completed(key_b, id), *a = wait_completed(key_a, id);
    char *m = analysis_of(mine), *o = analysis_of(a);
    if (strcmp(m, o) == 0)
        VC_TEST_FAIL("%s: tenant B's detection shows tenant A's analysis: %s", id, m);
    free(m);
    free(o);
    json_decref(mine);
    json_decref(a);
}

static char id_x[96], id_y[96];
static char *a_x_analysis;

/* A's detections X and Y, completed. */
static void tenant_a_submits(void)
{
    snprintf(id_x, sizeof(id_x), "%scall-x", prefix);
    snprintf(id_y, sizeof(id_y), "%scall-y", prefix);
    char *bx = body_of(id_x, wav_a), *by = body_of(id_y, wav_a);
    ASSERT_EQ(call(key_a, "POST", "/v1/detections", bx, NULL), 202);
    ASSERT_EQ(call(key_a, "POST", "/v1/detections", by, NULL), 202);
    json_t *r = wait_completed(key_a, id_x);
    a_x_analysis = analysis_of(r);
    json_decref(r);
    json_decref(wait_completed(key_a, id_y));
    free(bx);
    free(by);
}

/* B POSTs A's id X with ?wait: B gets B's own new detection (not a duplicate, analysed from B's
 * media), and A's X is unchanged. */
static void post_with_wait_is_not_a_window(void)
{
    char *b = body_of(id_x, wav_b);
    json_t *r = NULL;
    long st = call(key_b, "POST", "/v1/detections?wait=20", b, &r);
    ASSERT_EQ(st, 200);
    ASSERT(json_object_get(r, "duplicate") == NULL);
    char *mine = analysis_of(r);
    if (strcmp(mine, a_x_analysis) == 0)
        VC_TEST_FAIL("tenant B received tenant A's analysis: %s", mine);
    free(mine);
    json_decref(r);
    json_t *a = wait_completed(key_a, id_x);
    char *still = analysis_of(a);
    ASSERT_STREQ(still, a_x_analysis);
    free(still);
    json_decref(a);
    free(b);
}

/* B POSTs A's id Y without ?wait: 202 and no duplicate flag (nothing tells B that A used it);
 * B's retry is B's duplicate; B's id Y completes as B's own. */
static void post_without_wait_reveals_nothing(void)
{
    char *b = body_of(id_y, wav_b);
    json_t *r1 = NULL, *r2 = NULL;
    ASSERT_EQ(call(key_b, "POST", "/v1/detections", b, &r1), 202);
    ASSERT(json_object_get(r1, "duplicate") == NULL);
    ASSERT_EQ(call(key_b, "POST", "/v1/detections", b, &r2), 202);
    ASSERT(json_is_true(json_object_get(r2, "duplicate")));
    json_decref(r1);
    json_decref(r2);
    expect_unrelated(id_y);
    free(b);
}

/* An id only A used and an id nobody used answer B the same: 404, same body, no wait. */
static void get_and_feedback_of_other_tenants_ids(void)
{
    char only_a[96], path_a[200], path_none[200];
    snprintf(only_a, sizeof(only_a), "%sonly-a", prefix);
    char *ba = body_of(only_a, wav_a);
    ASSERT_EQ(call(key_a, "POST", "/v1/detections", ba, NULL), 202);
    json_decref(wait_completed(key_a, only_a));
    free(ba);
    const char *suffix[] = {"", "?wait=2"};
    for (int k = 0; k < 2; k++) {
        snprintf(path_a, sizeof(path_a), "/v1/detections/%s%s", only_a, suffix[k]);
        snprintf(path_none, sizeof(path_none), "/v1/detections/%snever%s", prefix, suffix[k]);
        json_t *ra = NULL, *rn = NULL;
        time_t t0 = time(NULL);
        ASSERT_EQ(call(key_b, "GET", path_a, NULL, &ra), 404);
        ASSERT_EQ(call(key_b, "GET", path_none, NULL, &rn), 404);
        ASSERT(time(NULL) - t0 <= 1); /* neither waited */
        ASSERT(json_equal(ra, rn));
        json_decref(ra);
        json_decref(rn);
    }
    snprintf(path_a, sizeof(path_a), "/v1/detections/%s/feedback", only_a);
    json_t *f = NULL;
    ASSERT_EQ(call(key_b, "POST", path_a, "{\"verdict\":\"genuine\"}", &f), 404);
    json_decref(f);
    ASSERT_EQ(call(key_a, "POST", path_a, "{\"verdict\":\"genuine\"}", &f), 201);
    json_decref(f);
}

/* A batch of B reusing A's ids: each item is B's new detection. */
static void batch_of_other_tenants_ids(void)
{
    char only_a[96];
    snprintf(only_a, sizeof(only_a), "%sbatch-a", prefix);
    char *ba = body_of(only_a, wav_a);
    ASSERT_EQ(call(key_a, "POST", "/v1/detections", ba, NULL), 202);
    free(ba);
    json_t *items = json_array();
    json_array_append_new(items, json_pack("{s:s, s:s, s:s}", "detection_id", only_a,
                                           "detection_type", "audio", "audio_data", wav_b));
    json_t *batch = json_pack("{s:o}", "requests", items);
    char *body = json_dumps(batch, JSON_COMPACT);
    json_decref(batch);
    json_t *r = NULL;
    ASSERT_EQ(call(key_b, "POST", "/v1/detections/batch", body, &r), 202);
    json_t *it = json_array_get(json_object_get(r, "items"), 0);
    ASSERT(json_object_get(it, "duplicate") == NULL);
    json_decref(r);
    free(body);
    expect_unrelated(only_a);
}

/* A Kafka producer publishes a BatchEnvelope whose item names tenant B and A's id X: it becomes
 * B's detection X (B's media), and A's X is unchanged. */
static void kafka_batch_envelope_naming_another_tenant(void)
{
    char kid[96];
    snprintf(kid, sizeof(kid), "%scall-k", prefix);
    char *ba = body_of(kid, wav_a);
    ASSERT_EQ(call(key_a, "POST", "/v1/detections", ba, NULL), 202);
    free(ba);
    json_t *a0 = wait_completed(key_a, kid);
    char *before = analysis_of(a0);
    json_decref(a0);
    size_t len = 0, n = 0;
    unsigned char *wav = vc_test_wav_sine(2500, 0.9, 0.5, 16000, &len);
    vc_request_t req;
    memset(&req, 0, sizeof(req));
    req.v = VC_WIRE_VERSION;
    snprintf(req.id, sizeof(req.id), "%.64s", kid);
    snprintf(req.tenant, sizeof(req.tenant), "%.64s", tenant_b);
    req.type = VC_TYPE_AUDIO;
    req.has_audio = 1;
    snprintf(req.audio.format, sizeof(req.audio.format), "wav");
    req.audio.data = wav;
    req.audio.len = len;
    req.submitted_at_ms = (int64_t)time(NULL) * 1000;
    uint8_t *msg = NULL;
    ASSERT_OK(vc_wire_batch_encode(&req, 1, &msg, &n));
    vc_kafka_config_t kc;
    memset(&kc, 0, sizeof(kc));
    char err[256];
    setenv("KAFKA_BROKERS", kafka, 1);
    ASSERT_OK(vc_kafka_config_from_env(&kc, err, sizeof(err)));
    vc_producer_t *p = NULL;
    ASSERT_OK(vc_producer_new(&kc, "tenants-test", &p, err, sizeof(err)));
    if (vc_producer_send(p, topic_req, kid, strlen(kid), msg, n, NULL, 0, err, sizeof(err)) != 0)
        VC_TEST_FAIL("produce: %s", err);
    vc_producer_free(p);
    free(msg);
    free(wav);
    expect_unrelated(kid);
    json_t *a = wait_completed(key_a, kid);
    char *after = analysis_of(a);
    ASSERT_STREQ(after, before);
    free(after);
    free(before);
    json_decref(a);
}

/* Sends sig to the detector supervisor and its workers (its children). */
static void freeze_detector(int sig)
{
    pid_t workers[16];
    int n = vc_test_children(detector.pid, workers, 16);
    kill(detector.pid, sig);
    for (int i = 0; i < n; i++)
        kill(workers[i], sig);
}

typedef struct {
    const char *body;
    long status;
} post_arg_t;

static void *post_in_thread(void *arg)
{
    post_arg_t *pa = arg;
    pa->status = call(key_a, "POST", "/v1/detections", pa->body, NULL);
    return NULL;
}

/* The first publish of id W is in flight (2.5 s of broker latency) and then fails (an injected
 * non-retriable Produce error); a re-submission of W arrives meanwhile. Whatever each is
 * answered, a 202 must mean W is processed. Before PostgreSQL held the claims, the retry got
 * "202 duplicate" at once, the failed original deleted the placeholder, and W was never
 * processed. */
/* One try with id W: returns the re-submission's status, after checking the original's. */
static long ack_then_lose_once(const char *w)
{
    char *b = body_of(w, wav_a);
    freeze_detector(SIGSTOP);
    ASSERT_OK(vc_test_devbroker("rtt all 2500"));
    ASSERT_OK(vc_test_devbroker("error 0 29 1")); /* TOPIC_AUTHORIZATION_FAILED, once */
    post_arg_t first = {b, 0};
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, post_in_thread, &first), 0);
    usleep(1000000);
    long second = call(key_a, "POST", "/v1/detections", b, NULL);
    pthread_join(t, NULL);
    vc_test_devbroker("rtt all 0");
    vc_test_devbroker("error clear 0");
    freeze_detector(SIGCONT);
    fprintf(stderr, "   %s: first publish: %ld, re-submission: %ld\n", w, first.status, second);
    ASSERT(first.status != 202); /* the injected failure hit the original */
    free(b);
    return second;
}

static void ack_then_lose(void)
{
    /* A connection to every partition leader first, and no detector work left: a publish that
     * must also connect under the injected latency waits long enough for the re-submission to
     * join its Produce request, and the one injected error goes to the next Produce request
     * the cluster receives, which must not be a detector's result record (both seen). */
    char warm[12][96];
    for (int i = 0; i < 12; i++) {
        snprintf(warm[i], sizeof(warm[i]), "%swarm-%d", prefix, i);
        char *wb = body_of(warm[i], wav_a);
        ASSERT_EQ(call(key_a, "POST", "/v1/detections", wb, NULL), 202);
        free(wb);
    }
    for (int i = 0; i < 12; i++)
        json_decref(wait_completed(key_a, warm[i]));
    /* The re-submission can still share the original's Produce request (the sanitizer pass
     * saw it: both failed, both 503, which is correct but shows nothing): then again with a
     * new id. A 202 must always mean the request is processed. */
    for (int attempt = 0; attempt < 4; attempt++) {
        char w[96];
        snprintf(w, sizeof(w), "%scall-w%d", prefix, attempt);
        long second = ack_then_lose_once(w);
        if (second == 202) {
            json_decref(wait_completed(key_a, w)); /* the retry published itself */
            return;
        }
    }
    VC_TEST_FAIL("in 4 tries the re-submission never got its own Produce request");
}

static void spawn_services(const char *redis, const char *pg)
{
    int port = vc_test_free_port();
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
    static char e_port[32], e_redis[256], e_pg[256], e_kafka[512], e_group[64];
    snprintf(e_port, sizeof(e_port), "HTTP_PORT=%d", port);
    snprintf(e_redis, sizeof(e_redis), "REDIS_URL=%s", redis);
    snprintf(e_pg, sizeof(e_pg), "DATABASE_URL=%s", pg);
    snprintf(e_kafka, sizeof(e_kafka), "KAFKA_BROKERS=%s", kafka);
    snprintf(e_group, sizeof(e_group), "KAFKA_GROUP_ID=tntest-%d", (int)getpid());
    const char *env[] = {e_port, e_redis, e_pg, e_kafka, t_req, t_res, t_dlq,
                         "RATE_LIMIT_PER_MINUTE=100000", NULL};
    vc_test_spawn(&gateway, "gateway", "vc-gateway", env);
    if (!vc_test_wait_http_ok(url("/health"), 60)) {
        vc_test_print_log(&gateway, 40);
        VC_TEST_FAIL("gateway never became healthy");
    }
    const char *denv[] = {e_redis, e_pg, e_kafka, e_group, "KAFKA_SESSION_TIMEOUT_MS=6000",
                          "THREAD_POOL_SIZE=2", "PROCESS_POOL_SIZE=1", "INSTANCE_ID=tntest",
                          t_req, t_res, t_dlq, NULL};
    vc_test_spawn(&detector, "detector", "vc-detector", denv);
}

int main(void)
{
    const char *redis = vc_test_env_or_skip("VC_TEST_REDIS_URL");
    const char *pg = vc_test_env_or_skip("VC_TEST_DATABASE_URL");
    /* vc-devbroker: ack_then_lose needs its injected latency and one-shot produce error. */
    kafka = vc_test_devbroker_brokers();
    snprintf(prefix, sizeof(prefix), "tn-%d-%ld-", (int)getpid(), (long)time(NULL));
    const char *kinds[3] = {"requests", "results", "dlq"}, *names[3] = {"REQUESTS", "RESULTS",
                                                                      "DLQ"};
    char *vars[3] = {t_req, t_res, t_dlq};
    vc_test_create_topics(kafka, prefix, 6);
    for (int k = 0; k < 3; k++) {
        snprintf(vars[k], 200, "KAFKA_TOPIC_%s=%s%s", names[k], prefix, kinds[k]);
    }
    snprintf(topic_req, sizeof(topic_req), "%srequests", prefix);
    char tenant_a[96];
    snprintf(tenant_a, sizeof(tenant_a), "%sa", prefix);
    snprintf(tenant_b, sizeof(tenant_b), "%sb", prefix);
    vc_test_create_key(pg, tenant_a, 0, key_a, NULL);
    vc_test_create_key(pg, tenant_b, 0, key_b, NULL);
    wav_a = b64_of(440, 0.5);
    wav_b = b64_of(1800, 0.2);
    spawn_services(redis, pg);

    RUN(tenant_a_submits);
    RUN(post_with_wait_is_not_a_window);
    RUN(post_without_wait_reveals_nothing);
    RUN(get_and_feedback_of_other_tenants_ids);
    RUN(batch_of_other_tenants_ids);
    RUN(kafka_batch_envelope_naming_another_tenant);
    RUN(ack_then_lose);

    ASSERT_EQ(vc_test_stop(&detector, 30), 0);
    ASSERT_EQ(vc_test_stop(&gateway, 30), 0);
    free(wav_a);
    free(wav_b);
    free(a_x_analysis);
    return 0;
}
