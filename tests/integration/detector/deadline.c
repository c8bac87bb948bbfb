/* DETECTION_DEADLINE and the `processing` status: with every analysis slowed to 1.5 s (the
 * documented test hook DETECTOR_TEST_ANALYSIS_DELAY) and DETECTION_DEADLINE=1s, a detection
 * submitted through the gateway is seen `processing` while it runs, then ends `failed` with a
 * reason naming the deadline. The same request produced again (a redelivery) must never turn
 * the final result back into `processing`, nor replace it: the first final result wins, the
 * replay only counts itself (detections.attempts). */
#include <libpq-fe.h>
#include <unistd.h>

#include "detector_test.h"
#include "vc/base64.h"

static vc_e2e_t e;

static void submit(const char *suffix)
{
    size_t wav_len = 0, b64len = 0;
    unsigned char *wav = vc_test_wav_sine(600, 0.5, 0.3, 16000, &wav_len);
    char *b64 = malloc(vc_base64_encoded_len(wav_len) + 1);
    ASSERT(b64 != NULL);
    ASSERT_OK(vc_base64_encode(wav, wav_len, b64, vc_base64_encoded_len(wav_len) + 1, &b64len));
    char id[160], url[128];
    snprintf(id, sizeof(id), "%s%s", e.id_prefix, suffix);
    json_t *o = json_pack("{s:s, s:s, s:s}", "detection_id", id, "detection_type", "audio",
                          "audio_data", b64);
    char *body = json_dumps(o, JSON_COMPACT);
    snprintf(url, sizeof(url), "%s/v1/detections", e.base_url);
    ASSERT_EQ(vc_test_http("POST", url, "application/json", body, strlen(body), NULL), 202);
    free(body);
    json_decref(o);
    free(b64);
    free(wav);
}

/* Polls the detection's status until it is `want` or timeout_s passes; returns 1 if seen. */
static int see_status(const char *suffix, const char *want, int timeout_s)
{
    time_t deadline = time(NULL) + timeout_s;
    while (time(NULL) < deadline) {
        const char *s = NULL;
        json_t *o = dt_detection(&e, suffix, &s);
        int hit = s != NULL && strcmp(s, want) == 0;
        json_decref(o);
        if (hit)
            return 1;
        usleep(50000); /* client-side polling */
    }
    return 0;
}

int main(void)
{
    vc_e2e_init(&e, "deadline");
    setenv("PROCESS_POOL_SIZE", "1", 1);
    setenv("DETECTION_DEADLINE", "1s", 1);
    setenv("DETECTOR_TEST_HOOKS", "1", 1);
    setenv("DETECTOR_TEST_ANALYSIS_DELAY", "1500ms", 1);
    vc_e2e_start(&e, 1);
    submit("slow");
    ASSERT(see_status("slow", "processing", 60));
    json_t *o = dt_wait_final(&e, "slow", 30);
    const char *st = json_string_value(json_object_get(o, "status"));
    const char *reason = json_string_value(json_object_get(o, "reason"));
    fprintf(stderr, "deadline: %s: %s\n", st, reason ? reason : "");
    ASSERT_STREQ(st, "failed");
    ASSERT(reason != NULL && strstr(reason, "deadline exceeded") != NULL);
    json_t *first_started = json_incref(json_object_get(o, "started_at"));
    json_decref(o);

    /* A redelivery of a finished request: its result must stay final throughout. */
    size_t wav_len = 0;
    unsigned char *wav = vc_test_wav_sine(600, 0.5, 0.3, 16000, &wav_len);
    vc_producer_t *p = dt_producer(&e);
    dt_produce(p, &e, "slow", wav, wav_len);
    vc_producer_free(p);
    free(wav);
    /* Until PostgreSQL has counted the redelivered copy's write, every read must show the
     * first final result, unchanged. */
    PGconn *c = PQconnectdb(e.pg);
    ASSERT(PQstatus(c) == CONNECTION_OK);
    char id[160];
    snprintf(id, sizeof(id), "%sslow", e.id_prefix);
    const char *params[] = {e.tenant, id};
    int replayed = 0, reads = 0;
    time_t deadline = time(NULL) + 30;
    while (!replayed && time(NULL) < deadline) {
        const char *s = NULL;
        o = dt_detection(&e, "slow", &s);
        ASSERT_STREQ(s, "failed");
        ASSERT(json_equal(json_object_get(o, "started_at"), first_started));
        json_decref(o);
        reads++;
        PGresult *r = PQexecParams(c, "SELECT attempts FROM detections WHERE tenant = $1"
                                      " AND id = $2", 2, NULL, params, NULL, NULL, 0);
        ASSERT(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1);
        replayed = atoi(PQgetvalue(r, 0, 0)) >= 2;
        PQclear(r);
        usleep(50000); /* client-side polling */
    }
    PQfinish(c);
    fprintf(stderr, "deadline: redelivery processed, %d reads saw the first result only\n",
            reads);
    ASSERT(replayed);
    /* Once more after the replay's write: still the first result. */
    const char *s = NULL;
    o = dt_detection(&e, "slow", &s);
    ASSERT(json_equal(json_object_get(o, "started_at"), first_started));
    json_decref(o);
    json_decref(first_started);
    vc_e2e_stop(&e);
    return 0;
}
