/* Slowloris: clients that send their headers a byte at a time, or stop half-way, hold a
 * civetweb worker thread each. The gateway must cut every such connection within
 * HTTP_REQUEST_TIMEOUT (2 s here), keep serving other clients while some workers are held,
 * and get all of its workers back once the slow clients are cut. Raw sockets: no HTTP
 * library sends a request this slowly. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostile.h"

static hostile_t h;

static const char slow_request[] =
    "GET /health HTTP/1.1\r\nHost: gateway\r\nUser-Agent: slowloris\r\nX-Padding: "
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "\r\n\r\n";

/* One slow client on its own thread: sends the first bytes at once (so a worker has taken the
 * connection), reports ready, then trickles the rest a byte every 100 ms. */
typedef struct {
    int fd;
    long closed_ms; /* from the first byte until the server cut the connection; -1: never */
    long started_ms;
} slow_t;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int ready;

static void *slow_client(void *arg)
{
    slow_t *s = arg;
    s->started_ms = vc_raw_now_ms();
    ASSERT_OK(vc_raw_send(s->fd, slow_request, 8));
    pthread_mutex_lock(&mu);
    ready++;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    long cut = -1;
    vc_raw_trickle(s->fd, slow_request + 8, sizeof(slow_request) - 9, 100, 4 * HOSTILE_TIMEOUT_MS,
                   &cut);
    s->closed_ms = cut < 0 ? -1 : vc_raw_now_ms() - s->started_ms;
    if (s->closed_ms >= 0) {
        /* Whatever the server said before closing is a JSON error, never a 200. */
        vc_raw_response_t r;
        if (vc_raw_read_response(s->fd, 1000, &r) == 0)
            vc_raw_expect_json_error(&r, 400, "invalid_request", "cut slow client");
        vc_raw_response_free(&r);
    }
    close(s->fd);
    return NULL;
}

/* Starts n slow clients and waits until each has a worker reading its headers. */
static void start_slow(slow_t *s, pthread_t *t, int n)
{
    pthread_mutex_lock(&mu);
    ready = 0;
    pthread_mutex_unlock(&mu);
    for (int i = 0; i < n; i++) {
        s[i].fd = vc_raw_connect(h.base);
        ASSERT_OK(pthread_create(&t[i], NULL, slow_client, &s[i]));
    }
    pthread_mutex_lock(&mu);
    while (ready < n)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
}

/* Joins n slow clients; each must have been cut within the request timeout. */
static void join_slow(slow_t *s, pthread_t *t, int n)
{
    for (int i = 0; i < n; i++) {
        pthread_join(t[i], NULL);
        fprintf(stderr, "slow client %d cut after %ld ms\n", i, s[i].closed_ms);
        if (s[i].closed_ms < 0 || s[i].closed_ms > HOSTILE_TIMEOUT_MS + HOSTILE_SLACK_MS)
            VC_TEST_FAIL("slow client %d: cut after %ld ms, want <= %d ms", i, s[i].closed_ms,
                         HOSTILE_TIMEOUT_MS + HOSTILE_SLACK_MS);
    }
}

static long timed_health(void)
{
    char url[128];
    snprintf(url, sizeof(url), "%s/health", h.base);
    long t0 = vc_raw_now_ms();
    long st = vc_test_http("GET", url, NULL, NULL, 0, NULL);
    if (st != 200)
        VC_TEST_FAIL("/health answered %ld", st);
    return vc_raw_now_ms() - t0;
}

static void trickled_headers_are_cut_at_the_timeout(void)
{
    slow_t s;
    pthread_t t;
    start_slow(&s, &t, 1);
    join_slow(&s, &t, 1);
    /* Not cut before the headers' share of the timeout either: slow is not yet hostile. */
    ASSERT(s.closed_ms >= HOSTILE_TIMEOUT_MS / 2 - 200);
}

static void headers_that_stop_half_way_are_cut_at_the_timeout(void)
{
    /* A request line, then silence just before civetweb's check, then one more line, then
     * silence: the worst case for a timeout checked only when bytes arrive. */
    int fd = vc_raw_connect(h.base);
    long t0 = vc_raw_now_ms();
    ASSERT_OK(vc_raw_send(fd, "GET /health HTTP/1.1\r\n", 22));
    long quiet = vc_raw_wait_closed(fd, HOSTILE_TIMEOUT_MS / 2 - 100); /* the pause is the input */
    if (quiet < 0)
        vc_raw_send(fd, "Host: x\r\n", 9);
    long closed = vc_raw_wait_closed(fd, 3 * HOSTILE_TIMEOUT_MS);
    long total = vc_raw_now_ms() - t0;
    fprintf(stderr, "stalled headers: connection closed after %ld ms\n", total);
    ASSERT(closed >= 0);
    ASSERT(total <= HOSTILE_TIMEOUT_MS + HOSTILE_SLACK_MS);
    close(fd);
}

static void others_are_served_while_workers_are_held(void)
{
    enum { N = HOSTILE_THREADS - 2 };
    slow_t s[N];
    pthread_t t[N];
    start_slow(s, t, N);
    /* All but two workers are reading slow headers: /health still answers at once. */
    for (int i = 0; i < 5; i++) {
        long ms = timed_health();
        if (ms > 500)
            VC_TEST_FAIL("/health took %ld ms while %d slow clients were held", ms, N);
    }
    join_slow(s, t, N);
}

static void held_workers_come_back_after_the_timeout(void)
{
    enum { N = HOSTILE_THREADS };
    slow_t s[N];
    pthread_t t[N];
    start_slow(s, t, N);
    /* Every worker is held: this request waits in the accept queue until the timeout frees
     * one, then it is served. */
    long ms = timed_health();
    fprintf(stderr, "/health with every worker held: %ld ms\n", ms);
    ASSERT(ms >= 300); /* the workers really were all held */
    ASSERT(ms <= HOSTILE_TIMEOUT_MS + HOSTILE_SLACK_MS);
    join_slow(s, t, N);
    /* And the pool is whole again: requests are answered at once. */
    for (int i = 0; i < 3; i++)
        ASSERT(timed_health() <= 500);
}

static void a_slow_second_request_on_a_kept_alive_connection_is_cut(void)
{
    int fd = vc_raw_connect(h.base);
    static const char first[] = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_OK(vc_raw_send(fd, first, sizeof(first) - 1));
    vc_raw_response_t r;
    ASSERT_OK(vc_raw_read_response(fd, 5000, &r));
    ASSERT_EQ(r.status, 200);
    vc_raw_response_free(&r);
    long cut = -1;
    long t0 = vc_raw_now_ms();
    vc_raw_trickle(fd, slow_request, sizeof(slow_request) - 1, 100, 4 * HOSTILE_TIMEOUT_MS, &cut);
    fprintf(stderr, "slow second request cut after %ld ms\n", cut);
    ASSERT(cut >= 0 && vc_raw_now_ms() - t0 <= HOSTILE_TIMEOUT_MS + HOSTILE_SLACK_MS);
    close(fd);
}

int main(void)
{
    hostile_init(&h, "slowloris");
    hostile_start(&h, NULL);
    RUN(trickled_headers_are_cut_at_the_timeout);
    RUN(headers_that_stop_half_way_are_cut_at_the_timeout);
    RUN(others_are_served_while_workers_are_held);
    RUN(held_workers_come_back_after_the_timeout);
    RUN(a_slow_second_request_on_a_kept_alive_connection_is_cut);
    hostile_expect_healthy(&h, "slowloris");
    hostile_stop(&h);
    return 0;
}
