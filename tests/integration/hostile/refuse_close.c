/* Requests refused before their body is needed (401, 413, 429, 503 shed) close the connection
 * instead of reading the body: a client that declares 100 MB and sends a little must get its
 * JSON error at once and then see the connection closed (read returns 0), not have a worker
 * (and an admission slot) discard its body for as long as it trickles. HTTP_REQUEST_TIMEOUT is
 * 20 s here, so the old drain would hold the connection 10 s (civetweb's per-read wait) after
 * the answer; the bound below is a few seconds. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostile.h"

#define BIG_BODY "Content-Length: 104857600\r\n" /* 100 MB declared */
#define SENT_PART 65536                           /* what the client sends of it */
#define CLOSE_BOUND_MS 4000 /* well below the 10 s a drain would take, generous for ASan */

static hostile_t h;

/* Reads until EOF within timeout_ms, discarding bytes. Returns 0 at EOF (read returned 0),
 * -1 when the connection was reset, -2 on timeout. */
static int read_to_eof(int fd, int timeout_ms)
{
    long end = vc_raw_now_ms() + timeout_ms;
    char buf[4096];
    for (;;) {
        long left = end - vc_raw_now_ms();
        if (left <= 0)
            return -2;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n == 0)
            return 0;
        if (n < 0 && errno != EINTR && errno != EAGAIN)
            return -1;
    }
}

/* Opens a POST /v1/detections declaring 100 MB, sends its headers and SENT_PART bytes of the
 * body, and returns the socket. key may be NULL (no Authorization). */
static int send_partial(const char *key)
{
    char head[512], auth[128] = "";
    if (key != NULL)
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", key);
    int n = snprintf(head, sizeof(head),
                     "POST /v1/detections HTTP/1.1\r\nHost: gateway\r\n%s"
                     "Content-Type: application/json\r\n" BIG_BODY "\r\n",
                     auth);
    int fd = vc_raw_connect(h.base);
    ASSERT_OK(vc_raw_send(fd, head, (size_t)n));
    static char part[SENT_PART];
    memset(part, ' ', sizeof(part));
    ASSERT_OK(vc_raw_send(fd, part, sizeof(part)));
    return fd;
}

/* The answer is the given JSON error with Connection: close, and then the server closes the
 * socket without waiting for the other 99.9 MB. */
static void expect_refused_and_closed(int fd, long t0, int status, const char *code,
                                      const char *what)
{
    vc_raw_response_t r;
    int rc = vc_raw_read_response(fd, CLOSE_BOUND_MS, &r);
    long ms = vc_raw_now_ms() - t0;
    if (rc != 0)
        VC_TEST_FAIL("%s: no complete answer (%d) after %ld ms:\n%s", what, rc, ms, r.head);
    vc_raw_expect_json_error(&r, status, code, what);
    if (strstr(r.head, "Connection: close") == NULL)
        VC_TEST_FAIL("%s: no Connection: close in\n%s", what, r.head);
    vc_raw_response_free(&r);
    int eof = read_to_eof(fd, CLOSE_BOUND_MS);
    long closed = vc_raw_now_ms() - t0;
    fprintf(stderr, "%s: %d after %ld ms, closed (%d) after %ld ms\n", what, status, ms, eof,
            closed);
    if (eof != 0)
        VC_TEST_FAIL("%s: want EOF within %d ms, got %s", what, CLOSE_BOUND_MS,
                     eof == -1 ? "a reset" : "an open connection");
    if (closed > CLOSE_BOUND_MS)
        VC_TEST_FAIL("%s: closed after %ld ms, want <= %d", what, closed, CLOSE_BOUND_MS);
    close(fd);
}

static void unauthenticated_big_body_is_closed(void)
{
    long t0 = vc_raw_now_ms();
    int fd = send_partial(NULL);
    expect_refused_and_closed(fd, t0, 401, "unauthorized", "401 with 100 MB declared");
}

static void too_large_declared_body_is_closed(void)
{
    long t0 = vc_raw_now_ms();
    int fd = send_partial(h.key);
    expect_refused_and_closed(fd, t0, 413, "payload_too_large", "413 with 100 MB declared");
}

static void rate_limited_big_body_is_closed(void)
{
    char key[64], tenant[96];
    snprintf(tenant, sizeof(tenant), "%s-rl", h.tenant);
    vc_test_create_key(h.pg, tenant, 1, key, NULL); /* a quota of one request a minute */
    char req[512];
    int n = snprintf(req, sizeof(req),
                     "POST /v1/detections HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer "
                     "%s\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
                     key);
    vc_raw_response_t r;
    ASSERT_OK(vc_raw_exchange(h.base, req, (size_t)n, 5000, &r));
    ASSERT(r.status != 429);
    vc_raw_response_free(&r);
    long t0 = vc_raw_now_ms();
    int fd = send_partial(key);
    expect_refused_and_closed(fd, t0, 429, "rate_limited", "429 with 100 MB declared");
}

static void shed_big_body_is_closed(void)
{
    /* MAX_CONCURRENT_REQUESTS=4: four uploads that stall after one byte hold every slot. */
    enum { SLOTS = 4 };
    ASSERT_EQ(vc_test_wait_inflight(h.base, 0, 6), 0);
    int held[SLOTS];
    for (int i = 0; i < SLOTS; i++) {
        char req[512];
        int n = snprintf(req, sizeof(req),
                         "POST /v1/detections HTTP/1.1\r\nHost: gateway\r\nAuthorization: "
                         "Bearer %s\r\nContent-Type: application/json\r\nContent-Length: "
                         "1000\r\n\r\n{",
                         h.key);
        held[i] = vc_raw_connect(h.base);
        ASSERT_OK(vc_raw_send(held[i], req, (size_t)n));
    }
    ASSERT_EQ(vc_test_wait_inflight(h.base, SLOTS, 6), SLOTS);
    long t0 = vc_raw_now_ms();
    int fd = send_partial(h.key);
    expect_refused_and_closed(fd, t0, 503, "overloaded", "503 shed with 100 MB declared");
    for (int i = 0; i < SLOTS; i++)
        close(held[i]); /* their reads end at once: 400 invalid_body, slots released */
    ASSERT_EQ(vc_test_wait_inflight(h.base, 0, 6), 0);
}

int main(void)
{
    hostile_init(&h, "refuse_close");
    const char *extra[] = {"HTTP_REQUEST_TIMEOUT=20s", NULL};
    hostile_start(&h, extra);
    RUN(unauthenticated_big_body_is_closed);
    RUN(too_large_declared_body_is_closed);
    RUN(rate_limited_big_body_is_closed);
    RUN(shed_big_body_is_closed);
    ASSERT_EQ(vc_test_wait_inflight(h.base, 0, 6), 0);
    hostile_expect_healthy(&h, "refused big bodies");
    hostile_stop(&h);
    return 0;
}
