/* Malformed request framing against the real gateway, over raw sockets: bodies longer or
 * shorter than their Content-Length, bodies trickled a byte at a time, chunked bodies that
 * never end (or never stop), ambiguous lengths, and a body nobody asked for after an early
 * refusal. Every case must end in a JSON error within HTTP_REQUEST_TIMEOUT (2 s) with the
 * worker freed, never in a hang, a crash or a body read past what was declared. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostile.h"

static hostile_t h;
static char auth[128]; /* "Authorization: Bearer …\r\n" */

static const int bound_ms = HOSTILE_TIMEOUT_MS + HOSTILE_SLACK_MS;

/* Sends headers for a POST /v1/detections with the given framing line ("" for none). */
static int open_post(const char *framing, int with_key)
{
    char head[512];
    int n = snprintf(head, sizeof(head),
                     "POST /v1/detections HTTP/1.1\r\nHost: gateway\r\n%sContent-Type: "
                     "application/json\r\n%s\r\n",
                     with_key ? auth : "", framing);
    int fd = vc_raw_connect(h.base);
    ASSERT_OK(vc_raw_send(fd, head, (size_t)n));
    return fd;
}

/* Reads the answer, checks it is the given JSON error, that it came within the bound, and
 * that the server then closes the connection (the worker is free again). */
static void expect_error_then_close(int fd, long t0, int status, const char *code, const char *what,
                                    const char *msg_part)
{
    vc_raw_response_t r;
    int rc = vc_raw_read_response(fd, 3 * HOSTILE_TIMEOUT_MS, &r);
    long ms = vc_raw_now_ms() - t0;
    fprintf(stderr, "%s: %d after %ld ms\n", what, r.status, ms);
    if (rc != 0)
        VC_TEST_FAIL("%s: no complete answer (%d) after %ld ms:\n%s", what, rc, ms, r.head);
    vc_raw_expect_json_error(&r, status, code, what);
    if (msg_part != NULL && strstr(r.body, msg_part) == NULL)
        VC_TEST_FAIL("%s: message %s does not mention %s", what, r.body, msg_part);
    vc_raw_response_free(&r);
    if (ms > bound_ms)
        VC_TEST_FAIL("%s: answered after %ld ms, want <= %d", what, ms, bound_ms);
    long closed = vc_raw_wait_closed(fd, 3 * HOSTILE_TIMEOUT_MS);
    if (closed < 0 || vc_raw_now_ms() - t0 > bound_ms)
        VC_TEST_FAIL("%s: connection still open %ld ms after the request", what,
                     vc_raw_now_ms() - t0);
    close(fd);
}

static void body_longer_than_declared_is_read_only_as_far_as_declared(void)
{
    /* Content-Length 2: the gateway parses "{}" (refused: no detection_type). The rest is not
     * body: it is the next request on the connection, and here it is not HTTP. */
    char req[1024];
    int n = snprintf(req, sizeof(req),
                     "POST /v1/detections HTTP/1.1\r\nHost: gateway\r\n%sContent-Type: "
                     "application/json\r\nContent-Length: 2\r\n\r\n{}"
                     "{\"detection_type\":\"audio\",\"audio_data\":\"UklGRg==\"}\r\n\r\n",
                     auth);
    int fd = vc_raw_connect(h.base);
    long t0 = vc_raw_now_ms();
    ASSERT_OK(vc_raw_send(fd, req, (size_t)n));
    vc_raw_response_t r;
    ASSERT_OK(vc_raw_read_response(fd, 5000, &r));
    vc_raw_expect_json_error(&r, 400, "invalid_request", "declared part");
    ASSERT(strstr(r.body, "detection_type") != NULL);
    vc_raw_response_free(&r);
    expect_error_then_close(fd, t0, 400, "invalid_request", "bytes past Content-Length", NULL);
}

static void body_shorter_than_declared_times_out(void)
{
    int fd = open_post("Content-Length: 1000\r\n", 1);
    long t0 = vc_raw_now_ms();
    ASSERT_OK(vc_raw_send(fd, "{\"detection_type\":", 18));
    expect_error_then_close(fd, t0, 400, "invalid_body", "body shorter than declared",
                            "HTTP_REQUEST_TIMEOUT");
}

static void trickled_body_is_cut_at_the_timeout(void)
{
    /* A byte every 100 ms never lets civetweb's per-read wait expire: only the whole-body
     * deadline ends it. */
    int fd = open_post("Content-Length: 1000\r\n", 1);
    long t0 = vc_raw_now_ms();
    static char spaces[1000];
    memset(spaces, ' ', sizeof(spaces));
    long cut = -1;
    vc_raw_trickle(fd, spaces, sizeof(spaces), 100, 4 * HOSTILE_TIMEOUT_MS, &cut);
    ASSERT(cut >= 0);
    expect_error_then_close(fd, t0, 400, "invalid_body", "trickled body", "HTTP_REQUEST_TIMEOUT");
}

static void a_slow_but_steady_upload_is_not_cut(void)
{
    /* 200 KiB at ~75 KiB/s takes ~2.7 s, past HTTP_REQUEST_TIMEOUT (2 s), but every 16 KiB
     * that arrives (HTTP_BODY_MIN_RATE here) buys a second: the body is read to its end and
     * parsed ("{}": no detection_type), not cut. */
    enum { SIZE = 200 * 1024, PIECE = 1500 };
    char framing[64];
    snprintf(framing, sizeof(framing), "Content-Length: %d\r\n", SIZE + 2);
    int fd = open_post(framing, 1);
    long t0 = vc_raw_now_ms();
    static char spaces[PIECE];
    memset(spaces, ' ', sizeof(spaces));
    for (int sent = 0; sent < SIZE;) {
        int k = SIZE - sent < PIECE ? SIZE - sent : PIECE;
        ASSERT_OK(vc_raw_send(fd, spaces, (size_t)k));
        sent += k;
        /* the pace is the input; a close by the server would end it early */
        ASSERT(vc_raw_wait_closed(fd, 20) < 0);
    }
    ASSERT_OK(vc_raw_send(fd, "{}", 2));
    vc_raw_response_t r;
    ASSERT_OK(vc_raw_read_response(fd, 5000, &r));
    long ms = vc_raw_now_ms() - t0;
    fprintf(stderr, "steady upload: %d after %ld ms\n", r.status, ms);
    vc_raw_expect_json_error(&r, 400, "invalid_request", "steady upload");
    ASSERT(strstr(r.body, "detection_type") != NULL);
    ASSERT(ms > HOSTILE_TIMEOUT_MS);
    vc_raw_response_free(&r);
    close(fd);
}

static void chunked_body_without_end_times_out(void)
{
    int fd = open_post("Transfer-Encoding: chunked\r\n", 1);
    long t0 = vc_raw_now_ms();
    ASSERT_OK(vc_raw_send(fd, "2\r\n{}\r\n", 7)); /* and never the last chunk */
    expect_error_then_close(fd, t0, 400, "invalid_body", "chunked body without end",
                            "HTTP_REQUEST_TIMEOUT");
}

static void endless_trickle_of_chunks_is_cut_at_the_timeout(void)
{
    int fd = open_post("Transfer-Encoding: chunked\r\n", 1);
    long t0 = vc_raw_now_ms();
    long cut = -1;
    for (int i = 0; i < 200 && cut < 0; i++) /* a one-byte chunk every 50 ms, for ever */
        vc_raw_trickle(fd, "1\r\n \r\n", 6, 8, 1000, &cut);
    ASSERT(cut >= 0);
    expect_error_then_close(fd, t0, 400, "invalid_body", "endless chunks", "HTTP_REQUEST_TIMEOUT");
}

static void chunked_body_over_the_cap_is_refused(void)
{
    /* MAX_BODY_BYTES is 1M: chunks of 64 KiB, fast, without end. */
    int fd = open_post("Transfer-Encoding: chunked\r\n", 1);
    long t0 = vc_raw_now_ms();
    static char chunk[65536 + 16];
    int n = snprintf(chunk, sizeof(chunk), "10000\r\n");
    memset(chunk + n, ' ', 65536);
    memcpy(chunk + n + 65536, "\r\n", 2);
    for (int i = 0; i < 40; i++)
        if (vc_raw_send(fd, chunk, (size_t)n + 65538) != 0)
            break; /* the gateway stopped reading: its answer is waiting */
    expect_error_then_close(fd, t0, 413, "payload_too_large", "chunked body over the cap",
                            "MAX_BODY_BYTES");
}

static void broken_chunk_size_is_refused(void)
{
    int fd = open_post("Transfer-Encoding: chunked\r\n", 1);
    long t0 = vc_raw_now_ms();
    ASSERT_OK(vc_raw_send(fd, "zz\r\n{}\r\n0\r\n\r\n", 14));
    expect_error_then_close(fd, t0, 400, "invalid_body", "broken chunk size", "chunked");
}

static void ambiguous_lengths_are_refused(void)
{
    static const char *const framings[] = {
        "Content-Length: 2\r\nTransfer-Encoding: chunked\r\n",
        "Transfer-Encoding: chunked\r\nContent-Length: 2\r\n",
        "Content-Length: 2\r\nContent-Length: 40\r\n",
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
    };
    for (size_t i = 0; i < sizeof(framings) / sizeof(framings[0]); i++) {
        int fd = open_post(framings[i], 1);
        long t0 = vc_raw_now_ms();
        vc_raw_send(fd, "{}", 2);
        expect_error_then_close(fd, t0, 400, "invalid_request", framings[i], NULL);
    }
    /* Lengths civetweb cannot read at all: refused by it, still as JSON. */
    static const char *const bad[] = {"Content-Length: -1\r\n", "Content-Length: abc\r\n",
                                      "Transfer-Encoding: gzip\r\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int fd = open_post(bad[i], 1);
        long t0 = vc_raw_now_ms();
        vc_raw_response_t r;
        ASSERT_OK(vc_raw_read_response(fd, 5000, &r));
        if (r.status != 400 && r.status != 411)
            VC_TEST_FAIL("%s: status %d, want 400 or 411", bad[i], r.status);
        vc_raw_expect_json_error(&r, r.status, "invalid_request", bad[i]);
        vc_raw_response_free(&r);
        ASSERT(vc_raw_wait_closed(fd, bound_ms) >= 0 && vc_raw_now_ms() - t0 <= bound_ms);
        close(fd);
    }
}

static void unread_body_after_an_early_refusal_does_not_hold_the_worker(void)
{
    /* No key: 401 at once, before the body. A client that then trickles its declared body
     * must not keep the worker discarding it. */
    int fd = open_post("Content-Length: 100000\r\n", 0);
    long t0 = vc_raw_now_ms();
    vc_raw_response_t r;
    ASSERT_OK(vc_raw_read_response(fd, 5000, &r));
    vc_raw_expect_json_error(&r, 401, "unauthorized", "early refusal");
    vc_raw_response_free(&r);
    static char spaces[1000];
    memset(spaces, ' ', sizeof(spaces));
    long cut = -1;
    vc_raw_trickle(fd, spaces, sizeof(spaces), 100, 4 * HOSTILE_TIMEOUT_MS, &cut);
    long ms = vc_raw_now_ms() - t0;
    fprintf(stderr, "trickled unread body: connection closed after %ld ms\n", ms);
    ASSERT(cut >= 0 && ms <= bound_ms);
    close(fd);
}

static void a_refused_body_that_does_arrive_closes_after_the_answer(void)
{
    /* A refusal never reads the body (it could be 100 MB, trickled): even a complete small
     * body after a 401 closes the connection once the whole answer is written, and the request
     * pipelined behind it is not served. The answer itself must arrive intact. */
    char req[512];
    int n = snprintf(req, sizeof(req),
                     "POST /v1/detections HTTP/1.1\r\nHost: gateway\r\nContent-Type: "
                     "application/json\r\nContent-Length: 20\r\n\r\n{\"detection_type\":1}"
                     "GET /health HTTP/1.1\r\nHost: gateway\r\n\r\n");
    int fd = vc_raw_connect(h.base);
    long t0 = vc_raw_now_ms();
    ASSERT_OK(vc_raw_send(fd, req, (size_t)n));
    vc_raw_response_t r;
    ASSERT_OK(vc_raw_read_response(fd, 5000, &r));
    vc_raw_expect_json_error(&r, 401, "unauthorized", "refused with a body");
    ASSERT(strstr(r.head, "Connection: close") != NULL);
    vc_raw_response_free(&r);
    ASSERT(vc_raw_read_response(fd, 5000, &r) == -1); /* closed: no answer to the GET */
    vc_raw_response_free(&r);
    ASSERT(vc_raw_now_ms() - t0 <= bound_ms);
    close(fd);
}

static void expect_100_continue_is_answered(void)
{
    /* A client that waits for "100 Continue" before its body is told to go on at once. */
    int fd = open_post("Content-Length: 2\r\nExpect: 100-continue\r\n", 1);
    char head[256];
    int st = vc_raw_read_head(fd, 1000, head, sizeof(head));
    if (st != 100)
        VC_TEST_FAIL("no 100 Continue within 1 s (%d): \"%s\"", st, head);
    ASSERT_OK(vc_raw_send(fd, "{}", 2));
    vc_raw_response_t r;
    ASSERT_OK(vc_raw_read_response(fd, 5000, &r));
    vc_raw_expect_json_error(&r, 400, "invalid_request", "after 100 Continue");
    vc_raw_response_free(&r);
    close(fd);
}

int main(void)
{
    hostile_init(&h, "framing");
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", h.key);
    const char *extra[] = {"HTTP_BODY_MIN_RATE=16K", NULL};
    hostile_start(&h, extra);
    RUN(body_longer_than_declared_is_read_only_as_far_as_declared);
    RUN(body_shorter_than_declared_times_out);
    RUN(trickled_body_is_cut_at_the_timeout);
    RUN(a_slow_but_steady_upload_is_not_cut);
    RUN(chunked_body_without_end_times_out);
    RUN(endless_trickle_of_chunks_is_cut_at_the_timeout);
    RUN(chunked_body_over_the_cap_is_refused);
    RUN(broken_chunk_size_is_refused);
    RUN(ambiguous_lengths_are_refused);
    RUN(unread_body_after_an_early_refusal_does_not_hold_the_worker);
    RUN(a_refused_body_that_does_arrive_closes_after_the_answer);
    RUN(expect_100_continue_is_answered);
    hostile_expect_healthy(&h, "malformed framing");
    hostile_stop(&h);
    return 0;
}
