/* PostgreSQL down for 20 s mid-load: 600 requests produced straight to Kafka at a steady
 * pace while two detectors (two worker processes each) consume; after the 150th, PostgreSQL
 * is stopped for 20 s ($VC_TEST_PG_CTL, from tests/run) and started again. Nothing may be
 * lost or skipped: every request must end completed exactly once in PostgreSQL and in Redis,
 * with figures from its own audio, and consumption must resume by itself. */
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "detector_test.h"

#define N_REQUESTS 600
#define STOP_AFTER 150
#define OUTAGE_S 20
#define PACE_MS 40 /* 25 requests/s: a continuous load, kept small for a shared machine */

static vc_e2e_t e;
static atomic_int produced;

static void *producer_main(void *arg)
{
    (void)arg;
    vc_producer_t *p = dt_producer(&e);
    for (int i = 0; i < N_REQUESTS; i++) {
        size_t wav_len = 0;
        unsigned char *wav = vc_test_wav_sine(vc_e2e_freq(i), 0.5, 0.5, 16000, &wav_len);
        char suffix[32];
        snprintf(suffix, sizeof(suffix), "%d", i);
        dt_produce(p, &e, suffix, wav, wav_len);
        free(wav);
        e.accepted[i] = 1;
        atomic_fetch_add(&e.accepted_count, 1);
        atomic_store(&produced, i + 1);
        struct timespec ts = {0, PACE_MS * 1000000L}; /* the load's pace, not synchronisation */
        nanosleep(&ts, NULL);
    }
    vc_producer_free(p);
    return NULL;
}

static void pg_ctl(const char *action)
{
    const char *ctl = vc_test_env_or_skip("VC_TEST_PG_CTL");
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s %s", ctl, action);
    ASSERT_EQ(system(cmd), 0);
}

/* Rows of this run in PostgreSQL, read with a fresh connection (-1 while it is down). */
static long long rows(void)
{
    PGconn *c = PQconnectdb(e.pg);
    long long n = -1;
    if (PQstatus(c) == CONNECTION_OK) {
        char pattern[96];
        snprintf(pattern, sizeof(pattern), "%s%%", e.id_prefix);
        const char *params[] = {pattern};
        PGresult *r = PQexecParams(c, "SELECT count(*) FROM detections WHERE id LIKE $1", 1,
                                   NULL, params, NULL, NULL, 0);
        if (PQresultStatus(r) == PGRES_TUPLES_OK)
            n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
    }
    PQfinish(c);
    return n;
}

int main(void)
{
    vc_test_env_or_skip("VC_TEST_PG_CTL");
    vc_e2e_init(&e, "pgdown");
    vc_e2e_start(&e, 2);
    e.n_requests = N_REQUESTS;
    e.accepted = calloc(N_REQUESTS, 1);
    ASSERT(e.accepted != NULL);
    pthread_t t;
    ASSERT_OK(pthread_create(&t, NULL, producer_main, NULL));
    while (atomic_load(&produced) < STOP_AFTER) {
        struct timespec ts = {0, 50000000L}; /* waiting for the producer's progress */
        nanosleep(&ts, NULL);
    }
    long long before = rows();
    pg_ctl("stop");
    int64_t t_stop = vc_clock_mono_ms();
    fprintf(stderr, "pg_outage: PostgreSQL stopped after %d produced, %lld stored\n",
            atomic_load(&produced), before);
    sleep(OUTAGE_S); /* the outage itself: its length is the point of the test */
    pg_ctl("start");
    int64_t t_start = vc_clock_mono_ms();
    long long at_restart = rows();
    fprintf(stderr, "pg_outage: PostgreSQL back after %.1f s with %lld stored, %d produced\n",
            (double)(t_start - t_stop) / 1000.0, at_restart, atomic_load(&produced));
    pthread_join(t, NULL);
    vc_e2e_wait_completed(&e, 240);
    fprintf(stderr, "pg_outage: all %d completed %.1f s after PostgreSQL returned\n", N_REQUESTS,
            (double)(vc_clock_mono_ms() - t_start) / 1000.0);
    vc_e2e_check_postgres(&e);
    vc_e2e_check_redis(&e);
    vc_e2e_stop(&e);
    return 0;
}
