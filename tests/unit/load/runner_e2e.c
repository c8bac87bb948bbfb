/* Unit tests for the load runner's e2e accounting (tests/load/runner.c) against an in-process
 * fake gateway: an operation succeeds only when a poll returns status "completed"; "failed"
 * results, results that never arrive and refused submissions are never counted as successes.
 * Also checks that the submit->result latency includes the polls it took, and that
 * --honor-retry-after makes a closed-loop client wait as a 503's Retry-After asks. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loadtest.h"
#include "vc/clock.h"
#include "test.h"

enum { MODE_RESULTS, MODE_NEVER, MODE_REFUSE, MODE_REFUSE_RETRY_AFTER };

typedef struct {
    int lfd;
    int port;
    int mode;
    atomic_int next_id;
    atomic_int polls[1000];
} fake_t;

static fake_t fake;

/* Parses the decimal number at s (the fake reads its own client's requests). */
static long num_at(const char *s)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    ASSERT(end != s && v >= 0);
    return v;
}

/* Reads one request (headers + Content-Length body) from fd into buf. Returns its length or
 * -1 when the client closed. */
static int read_request(int fd, char *buf, size_t cap)
{
    size_t got = 0;
    char *end = NULL;
    while (end == NULL) {
        if (got + 1 >= cap)
            return -1;
        ssize_t n = recv(fd, buf + got, cap - 1 - got, 0);
        if (n <= 0)
            return -1;
        got += (size_t)n;
        buf[got] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    const char *cl = strstr(buf, "Content-Length: ");
    size_t body = cl != NULL ? (size_t)num_at(cl + 16) : 0;
    size_t want = (size_t)(end + 4 - buf) + body;
    while (got < want) {
        char scratch[65536];
        size_t left = want - got;
        ssize_t n = recv(fd, scratch, left < sizeof(scratch) ? left : sizeof(scratch), 0);
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return (int)got;
}

static void reply_with(int fd, int status, const char *hdrs, const char *body)
{
    char out[512];
    int n = snprintf(out, sizeof(out),
                     "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n%sContent-Length: %zu\r\n"
                     "\r\n%s",
                     status, hdrs, strlen(body), body);
    ASSERT(send(fd, out, (size_t)n, MSG_NOSIGNAL) == n);
}

static void reply(int fd, int status, const char *body)
{
    reply_with(fd, status, "", body);
}

/* Serves one keep-alive connection. Odd ids fail, even ids complete, each after 2 polls. */
static void *serve(void *arg)
{
    int fd = (int)(intptr_t)arg;
    static _Thread_local char buf[1 << 20];
    while (read_request(fd, buf, sizeof(buf)) > 0) {
        char body[256];
        if (strncmp(buf, "POST /v1/detections ", 20) == 0) {
            if (fake.mode == MODE_REFUSE) {
                reply(fd, 503, "{\"error\":{\"code\":\"overloaded\"}}");
                continue;
            }
            if (fake.mode == MODE_REFUSE_RETRY_AFTER) {
                reply_with(fd, 503, "Retry-After: 1\r\n", "{\"error\":{\"code\":\"overloaded\"}}");
                continue;
            }
            int id = atomic_fetch_add(&fake.next_id, 1);
            snprintf(body, sizeof(body), "{\"detection_id\":\"id-%d\",\"status\":\"queued\"}", id);
            reply(fd, 202, body);
        } else if (strncmp(buf, "GET /v1/detections/id-", 22) == 0) {
            int id = (int)(num_at(buf + 22) % 1000);
            int n = atomic_fetch_add(&fake.polls[id], 1);
            const char *st = fake.mode == MODE_NEVER || n < 2 ? "processing"
                             : id % 2 == 0                   ? "completed"
                                                             : "failed";
            snprintf(body, sizeof(body), "{\"detection_id\":\"id-%d\",\"status\":\"%s\"}", id, st);
            reply(fd, 200, body);
        } else {
            reply(fd, 404, "{}");
        }
    }
    close(fd);
    return NULL;
}

static void *accept_loop(void *arg)
{
    (void)arg;
    for (;;) {
        int fd = accept(fake.lfd, NULL, NULL);
        if (fd < 0)
            return NULL;
        pthread_t t;
        ASSERT_OK(pthread_create(&t, NULL, serve, (void *)(intptr_t)fd));
        pthread_detach(t);
    }
}

static void fake_start(void)
{
    fake.lfd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT(fake.lfd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_OK(bind(fake.lfd, (struct sockaddr *)&a, sizeof(a)));
    socklen_t len = sizeof(a);
    ASSERT_OK(getsockname(fake.lfd, (struct sockaddr *)&a, &len));
    ASSERT_OK(listen(fake.lfd, 64));
    fake.port = ntohs(a.sin_port);
    pthread_t t;
    ASSERT_OK(pthread_create(&t, NULL, accept_loop, NULL));
    pthread_detach(t);
}

/* Runs n e2e operations (or, n == 0, for duration_s) against the fake in the given mode. */
static void run_opts(int mode, int n, double duration_s, double e2e_timeout, int honor,
                     vc_load_stats_t *st)
{
    fake.mode = mode;
    vc_load_opts_t o;
    memset(&o, 0, sizeof(o));
    o.type = VC_LOAD_E2E;
    snprintf(o.host, sizeof(o.host), "127.0.0.1");
    o.port = fake.port;
    struct sockaddr_in *a = (struct sockaddr_in *)&o.addr;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)fake.port);
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    o.addrlen = sizeof(*a);
    o.requests = (uint64_t)n;
    o.duration_s = duration_s;
    o.honor_retry_after = honor;
    o.concurrency = 4;
    o.timeout_s = 5;
    o.e2e_timeout_s = e2e_timeout;
    o.poll_ms = 10;
    o.batch_size = 1;
    vc_workload_t wl;
    char err[256];
    ASSERT_OK(vc_workload_build(&o, NULL, 0, 0.05, &wl, err, sizeof(err)));
    ASSERT_OK(vc_load_stats_init(st));
    ASSERT_OK(vc_load_run(&o, &wl, st, err, sizeof(err)));
    vc_workload_free(&wl);
}

static void run(int mode, int n, double e2e_timeout, vc_load_stats_t *st)
{
    run_opts(mode, n, 0, e2e_timeout, 0, st);
}

static void test_completed_and_failed(void)
{
    vc_load_stats_t st;
    atomic_store(&fake.next_id, 0);
    run(MODE_RESULTS, 20, 10, &st);
    ASSERT_EQ(st.finished, 20);
    ASSERT_EQ(st.ok, 10); /* even ids */
    ASSERT_EQ(st.errors[VC_LOAD_ERR_RESULT_FAILED], 10);
    ASSERT_EQ(st.status[202], 20);
    ASSERT_EQ(vc_hist_count(st.latency), 10);
    ASSERT_EQ(vc_hist_count(st.submit), 20);
    ASSERT(st.polls >= 60); /* 3 polls per operation */
    /* Two polls at 10 ms intervals came back "processing" first. */
    ASSERT(vc_hist_min(st.latency) >= 25000);
    vc_load_stats_free(&st);
}

static void test_result_never_arrives(void)
{
    vc_load_stats_t st;
    atomic_store(&fake.next_id, 500);
    run(MODE_NEVER, 8, 0.2, &st);
    ASSERT_EQ(st.finished, 8);
    ASSERT_EQ(st.ok, 0);
    ASSERT_EQ(st.errors[VC_LOAD_ERR_RESULT_TIMEOUT], 8);
    ASSERT_EQ(vc_hist_count(st.latency), 0);
    vc_load_stats_free(&st);
}

static void test_refused_submissions(void)
{
    vc_load_stats_t st;
    run(MODE_REFUSE, 6, 1, &st);
    ASSERT_EQ(st.finished, 6);
    ASSERT_EQ(st.ok, 0);
    ASSERT_EQ(st.status[503], 6);
    ASSERT_EQ(st.errors[VC_LOAD_ERR_HTTP], 6);
    vc_load_stats_free(&st);
}

/* 1.5 s of closed loop against 503 + Retry-After: 1. Honouring it, each of the 4 clients
 * submits at 0 s and again at 1 s, and the run still ends at its duration; ignoring it, the
 * clients hammer the refusal. */
static void test_retry_after(void)
{
    vc_load_stats_t st;
    int64_t t0 = vc_clock_mono_ms();
    run_opts(MODE_REFUSE_RETRY_AFTER, 0, 1.5, 1, 1, &st);
    int64_t took = vc_clock_mono_ms() - t0;
    fprintf(stderr, "   honoured: %llu submissions in %lld ms\n",
            (unsigned long long)st.status[503], (long long)took);
    ASSERT(st.status[503] >= 5 && st.status[503] <= 8);
    ASSERT_EQ(st.ok, 0);
    ASSERT(took >= 1400 && took < 3000);
    vc_load_stats_free(&st);
    run_opts(MODE_REFUSE_RETRY_AFTER, 0, 1.5, 1, 0, &st);
    fprintf(stderr, "   ignored: %llu submissions\n", (unsigned long long)st.status[503]);
    ASSERT(st.status[503] > 40);
    vc_load_stats_free(&st);
}

int main(void)
{
    fake_start();
    RUN(test_completed_and_failed);
    RUN(test_result_never_arrives);
    RUN(test_refused_submissions);
    RUN(test_retry_after);
    return 0;
}
