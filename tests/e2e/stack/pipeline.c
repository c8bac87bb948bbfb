/* End to end: 200 WAV detections submitted concurrently through the gateway travel Kafka →
 * two detectors → PostgreSQL + Redis, and each comes back completed exactly once, with
 * figures computed from its own audio. Runs against the real servers tests/run starts. */
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "support/stack.h"
#include "test.h"
#include "vc/base64.h"

#define N_REQUESTS 200
#define N_CLIENTS 16

static char base_url[64];
static char id_prefix[64];
static atomic_int next_index;
static atomic_int accepted;
static vc_proc_t gateway, detectors[2];

static double freq_of(int i)
{
    return 200.0 + 15.0 * i; /* every request carries a different tone */
}

static char *submission_body(int i)
{
    size_t wav_len = 0;
    unsigned char *wav = vc_test_wav_sine(freq_of(i), 0.5, 0.5, 16000, &wav_len);
    size_t b64cap = vc_base64_encoded_len(wav_len) + 1;
    char *b64 = malloc(b64cap);
    size_t b64len = 0;
    ASSERT(b64 != NULL);
    ASSERT_OK(vc_base64_encode(wav, wav_len, b64, b64cap, &b64len));
    char id[96];
    snprintf(id, sizeof(id), "%s%d", id_prefix, i);
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
    (void)arg;
    char url[128];
    snprintf(url, sizeof(url), "%s/v1/detections", base_url);
    for (int i = atomic_fetch_add(&next_index, 1); i < N_REQUESTS;
         i = atomic_fetch_add(&next_index, 1)) {
        char *body = submission_body(i);
        char *resp = NULL;
        long st = vc_test_http("POST", url, "application/json", body, strlen(body), &resp);
        if (st != 202)
            fprintf(stderr, "submit %d: status %ld body %s\n", i, st, resp);
        else
            atomic_fetch_add(&accepted, 1);
        free(resp);
        free(body);
    }
    return NULL;
}

/* Returns the evidence value `key` of the first analyzer, or NAN. */
static double evidence(json_t *res, const char *key)
{
    json_t *an = json_array_get(
        json_object_get(json_object_get(json_object_get(res, "modalities"), "audio"),
                        "analyzers"),
        0);
    json_t *v = json_object_get(json_object_get(an, "evidence"), key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* Polls every detection until completed (bounded); checks its figures against its tone. */
static void wait_all_completed(void)
{
    static int done[N_REQUESTS];
    int remaining = N_REQUESTS;
    time_t deadline = time(NULL) + 180;
    while (remaining > 0 && time(NULL) < deadline) {
        for (int i = 0; i < N_REQUESTS; i++) {
            if (done[i])
                continue;
            char url[192], *resp = NULL;
            snprintf(url, sizeof(url), "%s/v1/detections/%s%d", base_url, id_prefix, i);
            long st = vc_test_http("GET", url, NULL, NULL, 0, &resp);
            json_t *o = st == 200 ? json_loads(resp, 0, NULL) : NULL;
            const char *status = json_string_value(json_object_get(o, "status"));
            if (status != NULL && strcmp(status, "completed") == 0) {
                double centroid = evidence(o, "spectral_centroid_hz");
                if (!(fabs(centroid - freq_of(i)) < 0.05 * freq_of(i) + 40))
                    VC_TEST_FAIL("detection %d: centroid %g Hz for a %g Hz tone (%s)", i,
                                 centroid, freq_of(i), resp);
                ASSERT_NEAR(evidence(o, "duration_s"), 0.5, 0.01);
                done[i] = 1;
                remaining--;
            } else if (status != NULL && strcmp(status, "failed") == 0) {
                VC_TEST_FAIL("detection %d failed: %s", i, resp);
            }
            json_decref(o);
            free(resp);
        }
        if (remaining > 0) {
            struct timespec ts = {0, 200000000L}; /* client-side polling of the public API */
            nanosleep(&ts, NULL);
        }
    }
    if (remaining > 0) {
        vc_test_print_log(&detectors[0], 40);
        vc_test_print_log(&detectors[1], 40);
        VC_TEST_FAIL("%d of %d detections not completed in time", remaining, N_REQUESTS);
    }
}

static void check_postgres(const char *url)
{
    PGconn *c = PQconnectdb(url);
    ASSERT(PQstatus(c) == CONNECTION_OK);
    char pattern[96];
    snprintf(pattern, sizeof(pattern), "%s%%", id_prefix);
    const char *params[] = {pattern};
    PGresult *r = PQexecParams(c,
                               "SELECT count(*), count(DISTINCT id),"
                               " count(*) FILTER (WHERE status = 'completed'),"
                               " count(DISTINCT detector)"
                               " FROM detections WHERE id LIKE $1",
                               1, NULL, params, NULL, NULL, 0);
    ASSERT(PQresultStatus(r) == PGRES_TUPLES_OK);
    ASSERT_EQ(atoll(PQgetvalue(r, 0, 0)), N_REQUESTS);
    ASSERT_EQ(atoll(PQgetvalue(r, 0, 1)), N_REQUESTS);
    ASSERT_EQ(atoll(PQgetvalue(r, 0, 2)), N_REQUESTS);
    fprintf(stderr, "postgres: %s rows, %s detectors took part\n", PQgetvalue(r, 0, 0),
            PQgetvalue(r, 0, 3));
    PQclear(r);
    PQfinish(c);
}

static void check_redis(const char *url)
{
    /* redis://host:port/db as written by tests/run */
    char host[64] = "127.0.0.1";
    int port = 0;
    ASSERT(sscanf(url, "redis://%63[^:]:%d", host, &port) == 2);
    redisContext *c = redisConnect(host, port);
    ASSERT(c != NULL && c->err == 0);
    int present = 0;
    for (int i = 0; i < N_REQUESTS; i++) {
        redisReply *r = redisCommand(c, "EXISTS vc:result:%s%d", id_prefix, i);
        ASSERT(r != NULL && r->type == REDIS_REPLY_INTEGER);
        present += (int)r->integer;
        freeReplyObject(r);
    }
    ASSERT_EQ(present, N_REQUESTS);
    redisFree(c);
}

static void start_stack(const char *redis, const char *pg, const char *kafka)
{
    int port = vc_test_free_port();
    snprintf(base_url, sizeof(base_url), "http://127.0.0.1:%d", port);
    char e_port[32], e_redis[256], e_pg[256], e_kafka[512], e_group[64];
    snprintf(e_port, sizeof(e_port), "HTTP_PORT=%d", port);
    snprintf(e_redis, sizeof(e_redis), "REDIS_URL=%s", redis);
    snprintf(e_pg, sizeof(e_pg), "DATABASE_URL=%s", pg);
    snprintf(e_kafka, sizeof(e_kafka), "KAFKA_BROKERS=%s", kafka);
    snprintf(e_group, sizeof(e_group), "KAFKA_GROUP_ID=e2e-%d", (int)getpid());
    const char *common[] = {e_port, e_redis, e_pg, e_kafka, e_group,
                            "KAFKA_SESSION_TIMEOUT_MS=6000", "KAFKA_MAX_POLL_INTERVAL_MS=30000",
                            "THREAD_POOL_SIZE=2", "LOG_LEVEL=info", NULL, NULL};
    vc_test_spawn(&gateway, "gateway", "vc-gateway", common);
    common[9] = "INSTANCE_ID=e2e-detector-1";
    vc_test_spawn(&detectors[0], "detector-1", "vc-detector", common);
    common[9] = "INSTANCE_ID=e2e-detector-2";
    vc_test_spawn(&detectors[1], "detector-2", "vc-detector", common);
    char health[128];
    snprintf(health, sizeof(health), "%s/health", base_url);
    if (!vc_test_wait_http_ok(health, 60)) {
        vc_test_print_log(&gateway, 40);
        VC_TEST_FAIL("gateway never became healthy");
    }
}

int main(void)
{
    const char *redis = vc_test_env_or_skip("VC_TEST_REDIS_URL");
    const char *pg = vc_test_env_or_skip("VC_TEST_DATABASE_URL");
    const char *kafka = vc_test_env_or_skip("VC_TEST_KAFKA_BROKERS");
    snprintf(id_prefix, sizeof(id_prefix), "e2e-%d-%ld-", (int)getpid(), (long)time(NULL));
    start_stack(redis, pg, kafka);

    pthread_t clients[N_CLIENTS];
    for (int i = 0; i < N_CLIENTS; i++)
        ASSERT_OK(pthread_create(&clients[i], NULL, client_main, NULL));
    for (int i = 0; i < N_CLIENTS; i++)
        pthread_join(clients[i], NULL);
    if (atomic_load(&accepted) != N_REQUESTS)
        vc_test_print_log(&gateway, 40);
    ASSERT_EQ(atomic_load(&accepted), N_REQUESTS);

    wait_all_completed();
    check_postgres(pg);
    check_redis(redis);

    /* A clean shutdown is part of the contract: every service exits 0 on SIGTERM. */
    ASSERT_EQ(vc_test_stop(&detectors[0], 30), 0);
    ASSERT_EQ(vc_test_stop(&detectors[1], 30), 0);
    ASSERT_EQ(vc_test_stop(&gateway, 30), 0);
    fprintf(stderr, "e2e: %d submitted, %d completed, exactly once in PostgreSQL and Redis\n",
            N_REQUESTS, N_REQUESTS);
    return 0;
}
