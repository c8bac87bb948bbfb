/* A result PostgreSQL refuses for good (a constraint violation, forced here by a CHECK the test
 * adds for ids of its own) must not wedge its batch or its worker: the other results of the
 * same batch become durable at once, the refused one is tried DETECTOR_PERMANENT_ATTEMPTS
 * times and then dead-lettered (error.stage=persist, the constraint named in the reason), and
 * the worker goes on with later messages. Before errors were classified, the writer retried
 * the whole batch forever and nothing after it was ever stored. */
#include <libpq-fe.h>
#include <unistd.h>

#include "detector_test.h"
#include "vc/base64.h"

static vc_e2e_t e;
static char constraint[64];

static void pg_exec(const char *sql)
{
    PGconn *c = PQconnectdb(e.pg);
    ASSERT(PQstatus(c) == CONNECTION_OK);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        VC_TEST_FAIL("%s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
}

static void drop_constraint(void)
{
    if (constraint[0] == '\0')
        return;
    char sql[160];
    snprintf(sql, sizeof(sql), "ALTER TABLE detections DROP CONSTRAINT IF EXISTS %s", constraint);
    PGconn *c = PQconnectdb(e.pg);
    PQclear(PQexec(c, sql));
    PQfinish(c);
}

/* One batch of `n` items named <prefix><name><i>. */
static void submit_batch(const char *const *names, int n)
{
    size_t wav_len = 0, b64len = 0;
    unsigned char *wav = vc_test_wav_sine(700, 0.5, 0.3, 16000, &wav_len);
    char *b64 = malloc(vc_base64_encoded_len(wav_len) + 1);
    ASSERT_OK(vc_base64_encode(wav, wav_len, b64, vc_base64_encoded_len(wav_len) + 1, &b64len));
    json_t *items = json_array();
    for (int i = 0; i < n; i++) {
        char id[160];
        snprintf(id, sizeof(id), "%s%s", e.id_prefix, names[i]);
        json_array_append_new(items, json_pack("{s:s, s:s, s:s}", "detection_id", id,
                                               "detection_type", "audio", "audio_data", b64));
    }
    json_t *o = json_pack("{s:o}", "requests", items);
    char *body = json_dumps(o, JSON_COMPACT), url[128];
    snprintf(url, sizeof(url), "%s/v1/detections/batch", e.base_url);
    vc_test_api_key = e.api_key;
    ASSERT_EQ(vc_test_http("POST", url, "application/json", body, strlen(body), NULL), 202);
    free(body);
    json_decref(o);
    free(b64);
    free(wav);
}

static void expect_completed(const char *suffix)
{
    json_t *r = vc_e2e_wait_final(&e, suffix, 60);
    ASSERT_STREQ(json_string_value(json_object_get(r, "status")), "completed");
    json_decref(r);
}

int main(void)
{
    vc_e2e_init(&e, "refused");
    /* Everything in one writer batch: one worker, batches of up to 100 rows over 200 ms. */
    setenv("PROCESS_POOL_SIZE", "1", 1);
    setenv("DETECTOR_DB_BATCH_MS", "200ms", 1);
    setenv("DETECTOR_PERMANENT_ATTEMPTS", "3", 1);
    vc_e2e_start(&e, 1);
    snprintf(constraint, sizeof(constraint), "vc_test_refuse_%d", (int)getpid());
    atexit(drop_constraint);
    /* Only the detector's write (attempts > 0) is refused; the gateway's claim passes. */
    char sql[400];
    snprintf(sql, sizeof(sql),
             "ALTER TABLE detections ADD CONSTRAINT %s CHECK (attempts = 0 OR id NOT LIKE "
             "'%sbad%%') NOT VALID",
             constraint, e.id_prefix);
    pg_exec(sql);

    const char *first[] = {"good-0", "good-1", "bad-0", "good-2", "good-3"};
    submit_batch(first, 5);
    expect_completed("good-0");
    expect_completed("good-1");
    expect_completed("good-2");
    expect_completed("good-3");
    char key[200], reason[512] = "";
    snprintf(key, sizeof(key), "%s/%sbad-0", e.tenant, e.id_prefix);
    ASSERT(dt_find_dead_letter(&e, key, "persist", 60, reason, sizeof(reason)));
    fprintf(stderr, "dead-lettered: %s\n", reason);
    ASSERT(strstr(reason, constraint) != NULL);
    /* The worker is not wedged: later messages are stored as usual. */
    const char *later[] = {"good-4", "good-5"};
    submit_batch(later, 2);
    expect_completed("good-4");
    expect_completed("good-5");
    /* Dashboards see it: the worker's refusal counter, through the gateway's /metrics. */
    char url[128], name[256];
    snprintf(url, sizeof(url), "%s/metrics", e.base_url);
    snprintf(name, sizeof(name), "vc_detector_result_writes_refused_total{instance=\"%.100sdet-1-w1\"}",
             e.id_prefix);
    double refused = -1;
    for (int i = 0; i < 20 && refused < 1; i++) {
        char *text = NULL;
        ASSERT_EQ(vc_test_http("GET", url, NULL, NULL, 0, &text), 200);
        refused = dt_metric(text, name);
        free(text);
        if (refused < 1)
            usleep(500000); /* the worker publishes its snapshot once a second */
    }
    fprintf(stderr, "gateway /metrics: %s %g\n", name, refused);
    ASSERT(refused >= 1);
    vc_e2e_stop(&e);
    return 0;
}
