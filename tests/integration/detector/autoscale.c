/* The supervisor's autoscaler against the real servers: PROCESS_POOL_SIZE=3 with
 * DETECTOR_MIN_PROCESSES=1 starts one worker; a backlog of slow requests (the documented test
 * hook DETECTOR_TEST_ANALYSIS_DELAY) raises the consumer lag above DETECTOR_SCALE_UP_LAG, so
 * the supervisor adds workers up to 3; once the backlog is drained it parks them again (SIGTERM,
 * clean exits, no crash counted) down to 1. Every request completes exactly once, and the
 * scale events show on the supervisor's /metrics and in the gateway's. CPU limits are set to
 * 100 % (off) so the decisions depend on lag alone on this shared test machine. Two threads
 * per worker at 200 ms a detection: 10/s per worker, so the backlog outlives the rebalances. */
#include <unistd.h>

#include "detector_test.h"
#include "vc/pg.h"

#define N_MESSAGES 400

static vc_e2e_t e;
static char health_url[96], metrics_url[96];

static long long workers_field(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(json_object_get(o, "workers"), k));
}

/* Polls /health until workers.<k> == want; fails after timeout_s. */
static void wait_workers(const char *k, long long want, int timeout_s)
{
    time_t deadline = time(NULL) + timeout_s;
    long long got = -1;
    while (time(NULL) < deadline) {
        json_t *o = dt_get_json(health_url, NULL);
        got = o != NULL ? workers_field(o, k) : -1;
        json_decref(o);
        if (got == want)
            return;
        struct timespec ts = {0, 250000000L}; /* probing like an orchestrator */
        nanosleep(&ts, NULL);
    }
    vc_test_print_log(&e.detectors[0], 40);
    VC_TEST_FAIL("workers.%s stayed %lld, wanted %lld", k, got, want);
}


static long long count_completed(void)
{
    vc_pg_opts_t o = {.url = e.pg, .size = 1, .connect_timeout_ms = 2000, .pool_timeout_ms = 5000};
    vc_pg_pool_t *pool = NULL;
    PGconn *c = NULL;
    char err[256] = "", like[96];
    ASSERT_OK(vc_pg_pool_new(&o, &pool, err, sizeof(err)));
    ASSERT_OK(vc_pg_acquire(pool, &c, err, sizeof(err)));
    snprintf(like, sizeof(like), "%sa%%", e.id_prefix);
    const char *vals[] = {like};
    PGresult *r = PQexecParams(c,
                               "SELECT count(*), count(DISTINCT id) FROM detections WHERE id LIKE $1"
                               " AND status = 'completed'",
                               1, NULL, vals, NULL, NULL, 0);
    ASSERT(PQresultStatus(r) == PGRES_TUPLES_OK);
    long long n = atoll(PQgetvalue(r, 0, 0)), distinct = atoll(PQgetvalue(r, 0, 1));
    PQclear(r);
    vc_pg_release(pool, c, 0);
    vc_pg_pool_free(pool);
    ASSERT_EQ(n, distinct); /* the primary key makes this hold; checked all the same */
    return n;
}

int main(void)
{
    vc_e2e_init(&e, "autoscale");
    int port = vc_test_free_port();
    char port_s[16];
    snprintf(port_s, sizeof(port_s), "%d", port);
    snprintf(health_url, sizeof(health_url), "http://127.0.0.1:%d/health", port);
    snprintf(metrics_url, sizeof(metrics_url), "http://127.0.0.1:%d/metrics", port);
    setenv("PROCESS_POOL_SIZE", "3", 1);
    setenv("DETECTOR_MIN_PROCESSES", "1", 1);
    setenv("DETECTOR_SCALE_INTERVAL", "1s", 1);
    setenv("DETECTOR_SCALE_COOLDOWN", "4s", 1);
    setenv("DETECTOR_SCALE_UP_LAG", "20", 1);
    setenv("DETECTOR_SCALE_DOWN_LAG", "0", 1);
    setenv("DETECTOR_SCALE_MAX_CPU", "100", 1);
    setenv("DETECTOR_SCALE_DOWN_CPU", "100", 1);
    setenv("DETECTOR_HTTP_PORT", port_s, 1);
    setenv("DETECTOR_TEST_HOOKS", "1", 1);
    setenv("DETECTOR_TEST_ANALYSIS_DELAY", "200ms", 1);
    setenv("DETECTOR_MAX_INFLIGHT", "8", 1);
    vc_e2e_start(&e, 1);
    wait_workers("joined", 1, 60);
    wait_workers("target", 1, 1);

    size_t wav_len = 0;
    unsigned char *wav = vc_test_wav_sine(440, 0.5, 0.05, 8000, &wav_len);
    vc_producer_t *p = dt_producer(&e);
    int64_t t0 = vc_clock_mono_ms();
    for (int i = 0; i < N_MESSAGES; i++) {
        char suffix[16];
        snprintf(suffix, sizeof(suffix), "a%d", i);
        dt_produce(p, &e, suffix, wav, wav_len);
    }
    vc_producer_free(p);
    free(wav);
    wait_workers("target", 3, 60);
    fprintf(stderr, "autoscale: 3 workers %.1f s after the backlog began\n",
            (double)(vc_clock_mono_ms() - t0) / 1000.0);
    wait_workers("joined", 3, 60);

    time_t deadline = time(NULL) + 120;
    long long done = 0;
    while ((done = count_completed()) < N_MESSAGES && time(NULL) < deadline)
        sleep(1);
    fprintf(stderr, "autoscale: %lld/%d completed after %.1f s\n", done, N_MESSAGES,
            (double)(vc_clock_mono_ms() - t0) / 1000.0);
    ASSERT_EQ(done, N_MESSAGES);
    wait_workers("target", 1, 60);
    wait_workers("alive", 1, 30);

    char *text = NULL;
    ASSERT_EQ(vc_test_http("GET", metrics_url, NULL, NULL, 0, &text), 200);
    ASSERT(dt_metric(text, "vc_detector_scale_events_total{direction=\"up\"}") >= 2);
    ASSERT(dt_metric(text, "vc_detector_scale_events_total{direction=\"down\"}") >= 2);
    ASSERT(dt_metric(text, "vc_detector_worker_crashes_total") == 0);
    free(text);
    double downs =
        dt_gateway_supervisor_metric(&e, "vc_detector_supervisor_scale_downs_total", 2, 10);
    ASSERT(downs >= 2);
    vc_e2e_stop(&e);
    return 0;
}
