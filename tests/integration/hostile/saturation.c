/* Saturation: every submission slot (MAX_CONCURRENT_REQUESTS) is held by an upload that
 * trickles and stalls, every long-poll slot (MAX_LONGPOLL) by a `GET ?wait=30`, and clients
 * keep sending more of both. /health and /metrics must still answer within 100 ms: the two
 * budgets together stay below HTTP_THREADS, so workers are always left for them. Long-polls
 * beyond the budget are answered at once with the current state and Retry-After, feedback
 * beyond it with 503, submissions beyond theirs with 503. Raw sockets: the held requests must
 * stay half-sent. */
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostile.h"
#include "vc/clock.h"

#define CONCURRENT 4 /* MAX_CONCURRENT_REQUESTS */
#define LONGPOLL 4   /* MAX_LONGPOLL */
#define THREADS 12   /* HTTP_THREADS: 4 workers beyond both budgets */
#define PROBES 20
/* The bound of the issue (14, item 5), in both passes: under ASan + UBSan the probes measured
 * median 0.6 / 2.2 ms, max 4.2 / 5.7 ms (/health / /metrics) on the shared 2-core machine, far
 * inside it. The figures are printed in both passes. */
#define PROBE_MAX_MS 100.0

static hostile_t h;
static char id[96]; /* a detection that stays queued: no detector runs in this test */

/* POSTs one tone and keeps its id. */
static void create_detection(void)
{
    char *resp = NULL;
    vc_test_api_key = h.key;
    ASSERT_EQ(vc_test_submit_tone(h.base, &resp), 202);
    vc_test_api_key = NULL;
    json_t *o = json_loads(resp, 0, NULL);
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(o, "detection_id")));
    json_decref(o);
    free(resp);
    ASSERT(id[0] != '\0');
}

/* Request text for a long-poll of the detection; close_after adds Connection: close. */
static int longpoll_request(char *buf, size_t cap, int close_after)
{
    return snprintf(buf, cap,
                    "GET /v1/detections/%s?wait=30 HTTP/1.1\r\nHost: gateway\r\n"
                    "Authorization: Bearer %s\r\n%s\r\n",
                    id, h.key, close_after ? "Connection: close\r\n" : "");
}

/* CONCURRENT uploads: headers, then the start of a body trickled a byte every 10 ms, then
 * nothing (the body deadline allows a 15 s pause at HTTP_REQUEST_TIMEOUT=30s). */
static void hold_submissions(int fds[CONCURRENT])
{
    static const char part[] = "{\"detection_type\":\"audio\",";
    for (int i = 0; i < CONCURRENT; i++) {
        char req[512];
        int n = snprintf(req, sizeof(req),
                         "POST /v1/detections HTTP/1.1\r\nHost: gateway\r\n"
                         "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                         "Content-Length: 100000\r\n\r\n",
                         h.key);
        fds[i] = vc_raw_connect(h.base);
        ASSERT_OK(vc_raw_send(fds[i], req, (size_t)n));
        long closed = 0;
        vc_raw_trickle(fds[i], part, sizeof(part) - 1, 10, 5000, &closed);
        ASSERT_EQ(closed, -1); /* still reading: neither answered nor cut */
    }
}

static void hold_longpolls(int fds[LONGPOLL])
{
    for (int i = 0; i < LONGPOLL; i++) {
        char req[512];
        int n = longpoll_request(req, sizeof(req), 0);
        fds[i] = vc_raw_connect(h.base);
        ASSERT_OK(vc_raw_send(fds[i], req, (size_t)n));
    }
}

/* The operator's view of both budgets in use; -1 each when unreadable. */
static void budgets_in_use(long *subs, long *polls)
{
    char url[128], *resp = NULL;
    snprintf(url, sizeof(url), "%s/health", h.base);
    *subs = *polls = -1;
    if (vc_test_http_ops(url, &resp) == 200) {
        json_t *o = json_loads(resp, 0, NULL);
        *subs = (long)json_integer_value(json_object_get(o, "inflight_requests"));
        *polls = (long)json_integer_value(json_object_get(o, "longpoll_requests"));
        json_decref(o);
    }
    free(resp);
}

static void wait_saturated(const char *when)
{
    long subs = -1, polls = -1;
    for (int i = 0; i < 200; i++) {
        budgets_in_use(&subs, &polls);
        if (subs == CONCURRENT && polls == LONGPOLL)
            return;
        struct timespec ts = {0, 50000000L}; /* polling another process's state */
        nanosleep(&ts, NULL);
    }
    VC_TEST_FAIL("%s: %ld submissions and %ld long-polls held, want %d and %d", when, subs,
                 polls, CONCURRENT, LONGPOLL);
}

/* ---- more of the same, while the probes run ------------------------------------------- */

static atomic_int stop_flood;
static atomic_long flood_polls, flood_subs;

/* The load's shape, not synchronisation: a flooder sends a request every 5 ms, enough to keep
 * both kinds coming without making the test a CPU-burning loop on the shared machine (the
 * workers are what is saturated, not the cores); the probes are 25 ms apart, so the flood
 * runs through all of them. */
static void pause_ms(long ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

/* Long-polls beyond the budget: each is answered at once with the current state. */
static void *longpoll_flooder(void *arg)
{
    (void)arg;
    char req[512];
    int n = longpoll_request(req, sizeof(req), 1);
    while (!atomic_load(&stop_flood)) {
        vc_raw_response_t r;
        if (vc_raw_exchange(h.base, req, (size_t)n, 10000, &r) == 0 && r.status == 200 &&
            strstr(r.head, "Retry-After: 1") != NULL)
            atomic_fetch_add(&flood_polls, 1);
        vc_raw_response_free(&r);
        pause_ms(5);
    }
    return NULL;
}

/* Whole submissions beyond the ceiling: 503 overloaded at once. */
static void *submit_flooder(void *arg)
{
    (void)arg;
    char req[512];
    int n = snprintf(req, sizeof(req),
                     "POST /v1/detections HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer %s\r\n"
                     "Content-Type: application/json\r\nContent-Length: 2\r\n"
                     "Connection: close\r\n\r\n{}",
                     h.key);
    while (!atomic_load(&stop_flood)) {
        vc_raw_response_t r;
        if (vc_raw_exchange(h.base, req, (size_t)n, 10000, &r) == 0 && r.status == 503)
            atomic_fetch_add(&flood_subs, 1);
        vc_raw_response_free(&r);
        pause_ms(5);
    }
    return NULL;
}

/* ---- the probes ------------------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One GET on a fresh connection; returns its milliseconds (connect to last byte). */
static double probe(const char *path, const char *auth)
{
    char req[512];
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: gateway\r\n%s"
                     "Connection: close\r\n\r\n", path, auth);
    vc_raw_response_t r;
    int64_t t0 = vc_clock_mono_ns();
    ASSERT_OK(vc_raw_exchange(h.base, req, (size_t)n, 10000, &r));
    double ms = (double)(vc_clock_mono_ns() - t0) / 1e6;
    if (r.status != 200)
        VC_TEST_FAIL("%s while saturated: %d\n%s%s", path, r.status, r.head, r.body);
    vc_raw_response_free(&r);
    if (ms >= PROBE_MAX_MS / 2)
        fprintf(stderr, "slow probe: %s %.2f ms\n", path, ms);
    return ms;
}

static void report(const char *path, double *ms)
{
    qsort(ms, PROBES, sizeof(ms[0]), cmp_double);
    fprintf(stderr, "%-8s under saturation: median %.2f ms, max %.2f ms over %d probes "
            "(bound %.0f ms)\n", path, ms[PROBES / 2], ms[PROBES - 1], PROBES, PROBE_MAX_MS);
    if (ms[PROBES - 1] >= PROBE_MAX_MS)
        VC_TEST_FAIL("%s: max %.2f ms while saturated, want < %.0f ms", path, ms[PROBES - 1],
                     PROBE_MAX_MS);
}

static void health_and_metrics_answer_while_saturated(void)
{
    int subs[CONCURRENT], polls[LONGPOLL];
    hold_submissions(subs);
    hold_longpolls(polls);
    wait_saturated("before the probes");
    pthread_t fl[2];
    ASSERT_OK(pthread_create(&fl[0], NULL, longpoll_flooder, NULL));
    ASSERT_OK(pthread_create(&fl[1], NULL, submit_flooder, NULL));
    double health_ms[PROBES], metrics_ms[PROBES];
    char auth[128];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", VC_TEST_METRICS_TOKEN);
    for (int i = 0; i < PROBES; i++) {
        health_ms[i] = probe("/health", "");
        metrics_ms[i] = probe("/metrics", auth);
        pause_ms(25);
    }
    atomic_store(&stop_flood, 1);
    pthread_join(fl[0], NULL);
    pthread_join(fl[1], NULL);
    wait_saturated("after the probes"); /* the held requests held throughout */
    fprintf(stderr, "meanwhile: %ld long-polls answered at once (200 + Retry-After), %ld "
            "submissions refused (503)\n", atomic_load(&flood_polls), atomic_load(&flood_subs));
    ASSERT(atomic_load(&flood_polls) >= 10 && atomic_load(&flood_subs) >= 10);
    report("/health", health_ms);
    report("/metrics", metrics_ms);
    for (int i = 0; i < CONCURRENT; i++)
        close(subs[i]); /* the uploads end with 400 invalid_body */
    for (int i = 0; i < LONGPOLL; i++)
        close(polls[i]); /* their workers answer at the wait's end, or at SIGTERM */
}

/* Beyond the budget a long-poll is not held: 200 with the current state and Retry-After, and
 * feedback (whose upload could be as slow as a submission's) is 503 overloaded. */
static void beyond_the_budget_nothing_is_held(void)
{
    int polls[LONGPOLL];
    hold_longpolls(polls);
    long subs = -1, held = -1;
    for (int i = 0; i < 200 && held != LONGPOLL; i++) {
        budgets_in_use(&subs, &held);
        struct timespec ts = {0, 50000000L}; /* polling another process's state */
        nanosleep(&ts, NULL);
    }
    ASSERT_EQ(held, LONGPOLL);
    char req[512];
    int n = longpoll_request(req, sizeof(req), 1);
    vc_raw_response_t r;
    long t0 = vc_raw_now_ms();
    ASSERT_OK(vc_raw_exchange(h.base, req, (size_t)n, 10000, &r));
    long ms = vc_raw_now_ms() - t0;
    fprintf(stderr, "long-poll beyond the budget: %d after %ld ms: %s\n", r.status, ms, r.body);
    ASSERT_EQ(r.status, 200);
    ASSERT(ms < 5000); /* not held for its 30 s */
    ASSERT(strstr(r.body, "\"queued\"") != NULL);
    ASSERT(strstr(r.head, "Retry-After: 1") != NULL);
    vc_raw_response_free(&r);
    n = snprintf(req, sizeof(req),
                 "POST /v1/detections/%s/feedback HTTP/1.1\r\nHost: gateway\r\n"
                 "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                 "Content-Length: 19\r\nConnection: close\r\n\r\n{\"verdict\":\"spoof\"}",
                 id, h.key);
    ASSERT_OK(vc_raw_exchange(h.base, req, (size_t)n, 10000, &r));
    vc_raw_expect_json_error(&r, 503, "overloaded", "feedback beyond MAX_LONGPOLL");
    ASSERT(strstr(r.head, "Retry-After:") != NULL);
    vc_raw_response_free(&r);
    for (int i = 0; i < LONGPOLL; i++)
        close(polls[i]);
}

int main(void)
{
    hostile_init(&h, "saturation");
    const char *extra[] = {"MAX_CONCURRENT_REQUESTS=4", "MAX_LONGPOLL=4", "HTTP_THREADS=12",
                           "HTTP_REQUEST_TIMEOUT=30s", "ADMISSION=fixed", NULL};
    hostile_start(&h, extra);
    RUN(create_detection);
    RUN(health_and_metrics_answer_while_saturated);
    hostile_stop(&h);
    /* A fresh gateway: the first test's long-polls hold their slots for up to 30 s. */
    hostile_start(&h, extra);
    RUN(beyond_the_budget_nothing_is_held);
    hostile_stop(&h);
    return 0;
}
