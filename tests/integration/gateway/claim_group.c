/* Group commit of idempotency claims (services/gateway/claimer.c). While the test holds a
 * lock on `detections`, the first claim transaction waits and every other submission queues
 * behind it; once the lock goes, the queued claims must be written together, in a handful of
 * transactions rather than one per submission (the gateway's own
 * vc_idempotency_transactions_total{op="take"} says how many). The acknowledgements, written
 * off the request path, must all reach PostgreSQL, so a retry is a duplicate. And a row
 * PostgreSQL refuses (a CHECK the test adds for one id) fails only its own submission, not
 * the others claimed in the same transaction. */
#include <libpq-fe.h>
#include <pthread.h>
#include <unistd.h>

#include "support/e2e.h"
#include "test.h"
#include "vc/base64.h"

#define N_GROUP 24

static vc_e2e_t e;
static char *wav_b64;
static PGconn *locker;
static char constraint[64];

typedef struct {
    char id[160];
    long status;
    char code[64];
    int duplicate;
} sub_t;

static PGconn *pg_connect(void)
{
    PGconn *c = PQconnectdb(e.pg);
    if (PQstatus(c) != CONNECTION_OK)
        VC_TEST_FAIL("postgres: %s", PQerrorMessage(c));
    return c;
}

static void pg_exec(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        VC_TEST_FAIL("%s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
}

static long pg_count(const char *sql)
{
    PGconn *c = pg_connect();
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        VC_TEST_FAIL("%s: %s", sql, PQresultErrorMessage(r));
    long n = atol(PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
    return n;
}

static void cleanup(void)
{
    if (locker != NULL) {
        PQfinish(locker); /* ends its transaction, and the lock */
        locker = NULL;
    }
    if (constraint[0] != '\0') {
        char sql[160];
        snprintf(sql, sizeof(sql), "ALTER TABLE detections DROP CONSTRAINT IF EXISTS %s",
                 constraint);
        PGconn *c = PQconnectdb(e.pg);
        PQclear(PQexec(c, sql));
        PQfinish(c);
        constraint[0] = '\0';
    }
}

/* Blocks every claim (INSERT) on detections until unlock(). */
static void lock_claims(void)
{
    locker = pg_connect();
    pg_exec(locker, "BEGIN");
    pg_exec(locker, "LOCK TABLE detections IN SHARE MODE");
}

static void unlock_claims(void)
{
    pg_exec(locker, "COMMIT");
    PQfinish(locker);
    locker = NULL;
}

/* Waits until some session waits for the lock on detections (the gateway's first claim). */
static void wait_lock_waiter(void)
{
    for (int i = 0; i < 500; i++) {
        if (pg_count("SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = "
                     "'detections'::regclass") > 0)
            return;
        usleep(20000); /* polling another process's state */
    }
    VC_TEST_FAIL("no claim ever waited for the test's lock");
}

static void *submit_main(void *arg)
{
    sub_t *s = arg;
    vc_test_api_key = e.api_key;
    json_t *o = json_pack("{s:s, s:s, s:s}", "detection_id", s->id, "detection_type", "audio",
                          "audio_data", wav_b64);
    char *body = json_dumps(o, JSON_COMPACT), url[128], *resp = NULL;
    json_decref(o);
    snprintf(url, sizeof(url), "%s/v1/detections", e.base_url);
    s->status = vc_test_http("POST", url, "application/json", body, strlen(body), &resp);
    json_t *r = resp != NULL ? json_loads(resp, 0, NULL) : NULL;
    const char *code = json_string_value(json_object_get(json_object_get(r, "error"), "code"));
    snprintf(s->code, sizeof(s->code), "%s", code != NULL ? code : "");
    s->duplicate = json_is_true(json_object_get(r, "duplicate"));
    json_decref(r);
    free(resp);
    free(body);
    return NULL;
}

static double take_transactions(void)
{
    char url[128], *text = NULL;
    snprintf(url, sizeof(url), "%s/metrics", e.base_url);
    ASSERT_EQ(vc_test_http_ops(url, &text), 200);
    const char *name = "vc_idempotency_transactions_total{op=\"take\"} ";
    const char *at = strstr(text, name);
    double v = at != NULL ? atof(at + strlen(name)) : -1;
    free(text);
    ASSERT(v >= 0);
    return v;
}

/* Submits subs[0] alone, waits until its claim waits for the lock, then the rest, waits until
 * all are in flight, and lets the lock go. */
static void submit_held(sub_t *subs, int n)
{
    pthread_t t[N_GROUP + 1];
    lock_claims();
    ASSERT_OK(pthread_create(&t[0], NULL, submit_main, &subs[0]));
    wait_lock_waiter();
    for (int i = 1; i < n; i++)
        ASSERT_OK(pthread_create(&t[i], NULL, submit_main, &subs[i]));
    long inflight = vc_test_wait_inflight(e.base_url, n, 30);
    fprintf(stderr, "in flight while claims are held: %ld of %d\n", inflight, n);
    ASSERT_EQ(inflight, n);
    unlock_claims();
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
}

static void grouped(void)
{
    static sub_t subs[N_GROUP];
    for (int i = 0; i < N_GROUP; i++)
        snprintf(subs[i].id, sizeof(subs[i].id), "%sg-%d", e.id_prefix, i);
    double before = take_transactions();
    submit_held(subs, N_GROUP);
    double txns = take_transactions() - before;
    for (int i = 0; i < N_GROUP; i++)
        if (subs[i].status != 202)
            VC_TEST_FAIL("%s: status %ld %s", subs[i].id, subs[i].status, subs[i].code);
    fprintf(stderr, "%d held submissions claimed in %.0f transactions\n", N_GROUP, txns);
    /* One per submission without the group commit; the held one, the queued ones together,
     * and at most a couple that reached the claimer late. */
    ASSERT(txns <= 4);
    /* The acknowledgements were written after the 202s, off the request path. */
    char sql[300];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM detections WHERE tenant = '%s' AND id LIKE '%sg-%%' AND "
             "acknowledged_at IS NOT NULL",
             e.tenant, e.id_prefix);
    long acked = 0;
    for (int i = 0; i < 250 && acked < N_GROUP; i++) {
        acked = pg_count(sql);
        if (acked < N_GROUP)
            usleep(20000); /* polling another process's state */
    }
    ASSERT_EQ(acked, N_GROUP);
    sub_t again = subs[3];
    submit_main(&again);
    ASSERT_EQ(again.status, 202);
    ASSERT(again.duplicate);
}

static void refused_row(void)
{
    static sub_t subs[13];
    snprintf(constraint, sizeof(constraint), "vc_test_claim_%d", (int)getpid());
    char sql[400];
    snprintf(sql, sizeof(sql),
             "ALTER TABLE detections ADD CONSTRAINT %s CHECK (attempts > 0 OR id NOT LIKE "
             "'%sbad%%') NOT VALID",
             constraint, e.id_prefix);
    PGconn *c = pg_connect();
    pg_exec(c, sql);
    PQfinish(c);
    for (int i = 0; i < 13; i++)
        snprintf(subs[i].id, sizeof(subs[i].id), "%s%s-%d", e.id_prefix,
                 i == 6 ? "bad" : "r", i);
    submit_held(subs, 13);
    for (int i = 0; i < 13; i++) {
        fprintf(stderr, "%s: %ld %s\n", subs[i].id, subs[i].status, subs[i].code);
        if (i == 6) {
            ASSERT_EQ(subs[i].status, 503);
            ASSERT_STREQ(subs[i].code, "store_unavailable");
        } else {
            ASSERT_EQ(subs[i].status, 202);
        }
    }
    cleanup();
}

int main(void)
{
    vc_e2e_init(&e, "claimgrp");
    setenv("ADMISSION", "fixed", 1); /* all of them in flight at once, none shed */
    setenv("METRICS_TOKEN", VC_TEST_METRICS_TOKEN, 1); /* /health's in-flight count */
    atexit(cleanup);
    vc_e2e_start(&e, 0);
    size_t wav_len = 0, b64len = 0;
    unsigned char *wav = vc_test_wav_sine(500, 0.5, 0.2, 16000, &wav_len);
    wav_b64 = malloc(vc_base64_encoded_len(wav_len) + 1);
    ASSERT_OK(vc_base64_encode(wav, wav_len, wav_b64, vc_base64_encoded_len(wav_len) + 1,
                               &b64len));
    free(wav);
    grouped();
    refused_row();
    free(wav_b64);
    vc_e2e_stop(&e);
    return 0;
}
