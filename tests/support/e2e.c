#include "support/e2e.h"

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "vc/base64.h"

double vc_e2e_freq(int i)
{
    return 200.0 + 15.0 * (i % 200); /* every request of a window carries its own tone */
}

void vc_e2e_init(vc_e2e_t *e, const char *name)
{
    memset(e, 0, sizeof(*e));
    e->redis = vc_test_env_or_skip("VC_TEST_REDIS_URL");
    e->pg = vc_test_env_or_skip("VC_TEST_DATABASE_URL");
    e->kafka = vc_test_env_or_skip("VC_TEST_KAFKA_BROKERS");
    snprintf(e->id_prefix, sizeof(e->id_prefix), "%s-%d-%ld-", name, (int)getpid(),
             (long)time(NULL));
    snprintf(e->group, sizeof(e->group), "KAFKA_GROUP_ID=%s-%d", name, (int)getpid());
    snprintf(e->tenant, sizeof(e->tenant), "%.56stenant", e->id_prefix);
    vc_test_create_key(e->pg, e->tenant, 0, e->api_key, NULL);
    vc_test_api_key = e->api_key;
    static const char *const kinds[3][2] = {{"REQUESTS", "requests"},
                                            {"RESULTS", "results"},
                                            {"DLQ", "dlq"}};
    vc_test_create_topics(e->kafka, e->id_prefix, 6);
    for (int k = 0; k < 3; k++) {
        char topic[128];
        snprintf(topic, sizeof(topic), "%s%s", e->id_prefix, kinds[k][1]);
        snprintf(e->topics[k], sizeof(e->topics[k]), "KAFKA_TOPIC_%s=%s", kinds[k][0], topic);
    }
}

/* Environment shared by every service of the run; entry 12 is left for INSTANCE_ID. */
static void service_env(vc_e2e_t *e, const char **env, char (*buf)[512], int port)
{
    snprintf(buf[0], 512, "HTTP_PORT=%d", port);
    snprintf(buf[1], 512, "REDIS_URL=%s", e->redis);
    snprintf(buf[2], 512, "DATABASE_URL=%s", e->pg);
    snprintf(buf[3], 512, "KAFKA_BROKERS=%s", e->kafka);
    env[0] = buf[0];
    env[1] = buf[1];
    env[2] = buf[2];
    env[3] = buf[3];
    env[4] = e->group;
    env[5] = "KAFKA_SESSION_TIMEOUT_MS=6000";
    env[6] = "KAFKA_MAX_POLL_INTERVAL_MS=30000";
    env[7] = "THREAD_POOL_SIZE=2";
    env[8] = "RATE_LIMIT_PER_MINUTE=100000"; /* measured here: throughput, not quotas */
    env[9] = e->topics[0];
    env[10] = e->topics[1];
    env[11] = e->topics[2];
    env[12] = NULL;
    env[13] = NULL;
}

void vc_e2e_start_detector(vc_e2e_t *e, int i)
{
    const char *env[14];
    char buf[4][512], inst[128], name[32];
    service_env(e, env, buf, 0);
    snprintf(inst, sizeof(inst), "INSTANCE_ID=%sdet-%d", e->id_prefix, i + 1);
    snprintf(name, sizeof(name), "detector-%d", i + 1);
    env[12] = inst;
    vc_test_spawn(&e->detectors[i], name, "vc-detector", env);
}

void vc_e2e_start(vc_e2e_t *e, int n_detectors)
{
    ASSERT(n_detectors <= VC_E2E_MAX_DETECTORS);
    int port = vc_test_free_port();
    snprintf(e->base_url, sizeof(e->base_url), "http://127.0.0.1:%d", port);
    const char *env[14];
    char buf[4][512];
    service_env(e, env, buf, port);
    vc_test_spawn(&e->gateway, "gateway", "vc-gateway", env);
    e->n_detectors = n_detectors;
    for (int i = 0; i < n_detectors; i++)
        vc_e2e_start_detector(e, i);
    char health[128];
    snprintf(health, sizeof(health), "%s/health", e->base_url);
    if (!vc_test_wait_http_ok(health, 60)) {
        vc_test_print_log(&e->gateway, 40);
        VC_TEST_FAIL("gateway never became healthy");
    }
}

static char *submission_body(vc_e2e_t *e, int i)
{
    size_t wav_len = 0, b64len = 0;
    unsigned char *wav = vc_test_wav_sine(vc_e2e_freq(i), 0.5, 0.5, 16000, &wav_len);
    size_t cap = vc_base64_encoded_len(wav_len) + 1;
    char *b64 = malloc(cap);
    ASSERT(b64 != NULL);
    ASSERT_OK(vc_base64_encode(wav, wav_len, b64, cap, &b64len));
    char id[128];
    snprintf(id, sizeof(id), "%s%d", e->id_prefix, i);
    json_t *o = json_pack("{s:s, s:s, s:s, s:{s:i}}", "detection_id", id, "detection_type",
                          "audio", "audio_data", b64, "metadata", "index", i);
    char *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    free(b64);
    free(wav);
    return body;
}

static void *client_main(void *arg)
{
    vc_e2e_t *e = arg;
    vc_test_api_key = e->api_key;
    char url[128];
    snprintf(url, sizeof(url), "%s/v1/detections", e->base_url);
    for (int i = atomic_fetch_add(&e->next_index, 1); i < e->n_requests;
         i = atomic_fetch_add(&e->next_index, 1)) {
        char *body = submission_body(e, i);
        char *resp = NULL;
        long st = vc_test_http("POST", url, "application/json", body, strlen(body), &resp);
        /* A well-behaved client: 503 overloaded (the adaptive admission limit) is retried
         * after a pause, as its Retry-After asks; the same detection_id makes it safe. */
        for (int retry = 0; st == 503 && resp != NULL && strstr(resp, "overloaded") != NULL &&
                            retry < 100;
             retry++) {
            free(resp);
            resp = NULL;
            struct timespec ts = {0, 100000000L};
            nanosleep(&ts, NULL);
            st = vc_test_http("POST", url, "application/json", body, strlen(body), &resp);
        }
        if (st == 202) {
            e->accepted[i] = 1;
            int n = atomic_fetch_add(&e->accepted_count, 1) + 1;
            if (e->on_accepted != NULL)
                e->on_accepted(n);
        } else {
            fprintf(stderr, "submit %d: status %ld body %s\n", i, st, resp);
        }
        free(resp);
        free(body);
    }
    return NULL;
}

int vc_e2e_submit(vc_e2e_t *e, int n, int clients)
{
    e->n_requests = n;
    e->accepted = calloc((size_t)n, 1);
    ASSERT(e->accepted != NULL);
    pthread_t t[64];
    ASSERT(clients <= 64);
    for (int i = 0; i < clients; i++)
        ASSERT_OK(pthread_create(&t[i], NULL, client_main, e));
    for (int i = 0; i < clients; i++)
        pthread_join(t[i], NULL);
    return atomic_load(&e->accepted_count);
}

/* Returns the evidence value `key` of the first audio analyzer, or NAN. */
static double evidence(json_t *res, const char *key)
{
    json_t *an = json_array_get(
        json_object_get(json_object_get(json_object_get(res, "modalities"), "audio"),
                        "analyzers"),
        0);
    json_t *v = json_object_get(json_object_get(an, "evidence"), key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* 1 when request i is completed (and its figures match its tone). */
static int poll_one(vc_e2e_t *e, int i)
{
    char url[192], *resp = NULL;
    snprintf(url, sizeof(url), "%s/v1/detections/%s%d", e->base_url, e->id_prefix, i);
    long st = vc_test_http("GET", url, NULL, NULL, 0, &resp);
    json_t *o = st == 200 ? json_loads(resp, 0, NULL) : NULL;
    const char *status = json_string_value(json_object_get(o, "status"));
    int done = status != NULL && strcmp(status, "completed") == 0;
    if (status != NULL && strcmp(status, "failed") == 0)
        VC_TEST_FAIL("detection %d failed: %s", i, resp);
    if (done) {
        double f = vc_e2e_freq(i), centroid = evidence(o, "spectral_centroid_hz");
        if (!(fabs(centroid - f) < 0.05 * f + 40))
            VC_TEST_FAIL("detection %d: centroid %g Hz for a %g Hz tone", i, centroid, f);
    }
    json_decref(o);
    free(resp);
    return done;
}

void vc_e2e_wait_completed(vc_e2e_t *e, int timeout_s)
{
    unsigned char *done = calloc((size_t)e->n_requests, 1);
    int remaining = atomic_load(&e->accepted_count);
    time_t deadline = time(NULL) + timeout_s;
    while (remaining > 0 && time(NULL) < deadline) {
        for (int i = 0; i < e->n_requests; i++) {
            if (e->accepted[i] && !done[i] && poll_one(e, i)) {
                done[i] = 1;
                remaining--;
            }
        }
        if (remaining > 0) {
            struct timespec ts = {0, 200000000L}; /* client-side polling of the public API */
            nanosleep(&ts, NULL);
        }
    }
    free(done);
    if (remaining > 0) {
        for (int i = 0; i < e->n_detectors; i++)
            vc_test_print_log(&e->detectors[i], 20);
        VC_TEST_FAIL("%d accepted detections not completed in %d s", remaining, timeout_s);
    }
}

void vc_e2e_check_postgres(vc_e2e_t *e)
{
    PGconn *c = PQconnectdb(e->pg);
    ASSERT(PQstatus(c) == CONNECTION_OK);
    char pattern[96];
    snprintf(pattern, sizeof(pattern), "%s%%", e->id_prefix);
    const char *params[] = {pattern};
    PGresult *r = PQexecParams(c,
                               "SELECT count(*), count(DISTINCT id),"
                               " count(*) FILTER (WHERE status = 'completed'),"
                               " count(DISTINCT detector)"
                               " FROM detections WHERE id LIKE $1",
                               1, NULL, params, NULL, NULL, 0);
    ASSERT(PQresultStatus(r) == PGRES_TUPLES_OK);
    int accepted = atomic_load(&e->accepted_count);
    /* Requests refused at the door must not have been processed either. */
    ASSERT_EQ(atoll(PQgetvalue(r, 0, 0)), accepted);
    ASSERT_EQ(atoll(PQgetvalue(r, 0, 1)), accepted);
    ASSERT_EQ(atoll(PQgetvalue(r, 0, 2)), accepted);
    fprintf(stderr, "postgres: %s rows for %d accepted, %s detectors took part\n",
            PQgetvalue(r, 0, 0), accepted, PQgetvalue(r, 0, 3));
    PQclear(r);
    PQfinish(c);
}

redisContext *vc_e2e_redis(const vc_e2e_t *e)
{
    char host[64] = "127.0.0.1";
    int port = 0;
    ASSERT(sscanf(e->redis, "redis://%63[^:]:%d", host, &port) == 2);
    redisContext *c = redisConnect(host, port);
    ASSERT(c != NULL && c->err == 0);
    return c;
}

void vc_e2e_check_redis(vc_e2e_t *e)
{
    redisContext *c = vc_e2e_redis(e);
    int present = 0;
    for (int i = 0; i < e->n_requests; i++) {
        if (!e->accepted[i])
            continue;
        redisReply *r = redisCommand(c, "EXISTS vc:result:%s/%s%d", e->tenant, e->id_prefix, i);
        ASSERT(r != NULL && r->type == REDIS_REPLY_INTEGER);
        present += (int)r->integer;
        freeReplyObject(r);
    }
    ASSERT_EQ(present, atomic_load(&e->accepted_count));
    redisFree(c);
}

void vc_e2e_stop(vc_e2e_t *e)
{
    for (int i = 0; i < e->n_detectors; i++)
        if (e->detectors[i].pid > 0)
            ASSERT_EQ(vc_test_stop(&e->detectors[i], 30), 0);
    ASSERT_EQ(vc_test_stop(&e->gateway, 30), 0);
    free(e->accepted);
    e->accepted = NULL;
}

const char *vc_e2e_topic(const vc_e2e_t *e, int k)
{
    return strchr(e->topics[k], '=') + 1;
}

json_t *vc_e2e_wait_final(const vc_e2e_t *e, const char *suffix, int timeout_s)
{
    char url[256];
    snprintf(url, sizeof(url), "%s/v1/detections/%s%s?wait=10", e->base_url, e->id_prefix,
             suffix);
    time_t deadline = time(NULL) + timeout_s;
    while (time(NULL) < deadline) {
        char *resp = NULL;
        long st = vc_test_http("GET", url, NULL, NULL, 0, &resp);
        json_t *o = st == 200 ? json_loads(resp, 0, NULL) : NULL;
        free(resp);
        const char *s = json_string_value(json_object_get(o, "status"));
        if (s != NULL && (strcmp(s, "completed") == 0 || strcmp(s, "failed") == 0))
            return o;
        json_decref(o);
        if (st != 200) {
            struct timespec ts = {0, 200000000L}; /* not stored yet: nothing to wait on */
            nanosleep(&ts, NULL);
        }
    }
    if (e->n_detectors > 0)
        vc_test_print_log(&e->detectors[0], 40);
    VC_TEST_FAIL("%s%s not final after %d s", e->id_prefix, suffix, timeout_s);
}
