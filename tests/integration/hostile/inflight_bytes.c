/* Admission by bytes in flight: with MAX_INFLIGHT_BYTES=40M, two trickling 16 MiB uploads
 * hold 32 MiB, so a third and a fourth (which would make 48 and 64) are refused at once with
 * 503 overloaded, Retry-After and Connection: close, before their bodies are read, although
 * MAX_CONCURRENT_REQUESTS (4) has room. When the two finish, the bytes are released
 * (vc_http_inflight_bytes back to 0) and a new 16 MiB upload is read. A chunked body reserves
 * as it arrives and is cut with the same 503 when it outgrows the budget. The gateway's RSS
 * stays bounded by the budget, not by what clients declare. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostile.h"

#define UPLOAD (16LL << 20) /* = MAX_BODY_BYTES */
#define BUDGET (40LL << 20) /* MAX_INFLIGHT_BYTES */
#define PROMPT_MS 4000      /* a refusal must not wait for a body (generous for ASan) */
/* Peak RSS growth allowed: two bodies at once, each buffered and its JSON skeleton copied, are
 * ~64 MiB (four would be twice that); room for the allocator. ASan keeps freed blocks in its
 * quarantine (up to 256 MiB), so there the bound only catches a runaway. */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_BOUND (10 * BUDGET)
#else
#define RSS_BOUND (3 * BUDGET)
#endif

static hostile_t h;

/* vc_http_inflight_bytes from /metrics, or -1. */
static long long inflight_bytes(void)
{
    char url[128], *resp = NULL;
    snprintf(url, sizeof(url), "%s/metrics", h.base);
    long st = vc_test_http_ops(url, &resp);
    long long v = -1;
    const char *p = resp != NULL ? strstr(resp, "\nvc_http_inflight_bytes ") : NULL;
    if (st == 200 && p != NULL)
        v = strtoll(p + strlen("\nvc_http_inflight_bytes "), NULL, 10);
    free(resp);
    return v;
}

/* Waits up to 6 s for the gauge to read want (the gateway releases a request's bytes just
 * after writing its answer); returns the last value read. */
static long long wait_inflight_bytes(long long want)
{
    long long v = -1;
    for (int i = 0; i < 120 && (v = inflight_bytes()) != want; i++) {
        struct timespec ts = {0, 50000000L}; /* polling a gauge; no event to wait on */
        nanosleep(&ts, NULL);
    }
    return v;
}

/* VmRSS or VmHWM of the gateway in KiB. */
static long gateway_mem_kib(const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)h.gateway.pid);
    FILE *f = fopen(path, "r");
    long kib = -1;
    while (f != NULL && fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, field, strlen(field)) == 0)
            kib = strtol(line + strlen(field) + 1, NULL, 10);
    if (f != NULL)
        fclose(f);
    return kib;
}

/* Opens POST /v1/detections declaring `declared` bytes and sends the headers and `first`
 * bytes of spaces. */
static int open_upload(long long declared, size_t first)
{
    char head[512];
    int n = snprintf(head, sizeof(head),
                     "POST /v1/detections HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer "
                     "%s\r\nContent-Type: application/json\r\nContent-Length: %lld\r\n\r\n",
                     h.key, declared);
    int fd = vc_raw_connect(h.base);
    ASSERT_OK(vc_raw_send(fd, head, (size_t)n));
    static char spaces[65536];
    memset(spaces, ' ', sizeof(spaces));
    for (size_t sent = 0; sent < first;) {
        size_t k = first - sent < sizeof(spaces) ? first - sent : sizeof(spaces);
        ASSERT_OK(vc_raw_send(fd, spaces, k));
        sent += k;
    }
    return fd;
}

/* Sends the rest of an upload opened with open_upload(UPLOAD, first): spaces, then "{}", so
 * the body is read to its end and refused by validation (400, no detection_type). */
static void finish_upload(int fd, size_t first)
{
    static char spaces[65536];
    memset(spaces, ' ', sizeof(spaces));
    size_t rest = (size_t)UPLOAD - first - 2;
    for (size_t sent = 0; sent < rest;) {
        size_t k = rest - sent < sizeof(spaces) ? rest - sent : sizeof(spaces);
        ASSERT_OK(vc_raw_send(fd, spaces, k));
        sent += k;
    }
    ASSERT_OK(vc_raw_send(fd, "{}", 2));
    vc_raw_response_t r;
    ASSERT_OK(vc_raw_read_response(fd, 20000, &r));
    vc_raw_expect_json_error(&r, 400, "invalid_request", "a finished 16 MiB upload");
    vc_raw_response_free(&r);
    close(fd);
}

/* The answer on fd is 503 overloaded naming MAX_INFLIGHT_BYTES, with Retry-After and
 * Connection: close, within PROMPT_MS of t0; then the server closes. */
static void expect_shed(int fd, long t0, const char *what)
{
    vc_raw_response_t r;
    int rc = vc_raw_read_response(fd, PROMPT_MS, &r);
    long ms = vc_raw_now_ms() - t0;
    fprintf(stderr, "%s: %d after %ld ms\n", what, r.status, ms);
    if (rc != 0)
        VC_TEST_FAIL("%s: no answer (%d) within %d ms", what, rc, PROMPT_MS);
    vc_raw_expect_json_error(&r, 503, "overloaded", what);
    ASSERT(strstr(r.body, "MAX_INFLIGHT_BYTES") != NULL);
    ASSERT(strstr(r.head, "Retry-After:") != NULL);
    ASSERT(strstr(r.head, "Connection: close") != NULL);
    vc_raw_response_free(&r);
    ASSERT(vc_raw_wait_closed(fd, PROMPT_MS) >= 0);
    close(fd);
}

static void uploads_beyond_the_byte_budget_are_shed(void)
{
    enum { FIRST = 65536 };
    long rss0 = gateway_mem_kib("VmRSS:");
    ASSERT_EQ(wait_inflight_bytes(0), 0);
    int a = open_upload(UPLOAD, FIRST), b = open_upload(UPLOAD, FIRST);
    ASSERT_EQ(wait_inflight_bytes(2 * UPLOAD), 2 * UPLOAD);
    for (int i = 0; i < 2; i++) {
        long t0 = vc_raw_now_ms();
        int c = open_upload(UPLOAD, FIRST);
        expect_shed(c, t0, i == 0 ? "3rd 16 MiB upload" : "4th 16 MiB upload");
    }
    ASSERT_EQ(inflight_bytes(), 2 * UPLOAD); /* the refusals reserved nothing */
    finish_upload(a, FIRST);
    finish_upload(b, FIRST);
    ASSERT_EQ(wait_inflight_bytes(0), 0);
    ASSERT_EQ(vc_test_wait_inflight(h.base, 0, 6), 0);
    int e = open_upload(UPLOAD, FIRST);
    ASSERT_EQ(wait_inflight_bytes(UPLOAD), UPLOAD); /* admitted, not shed */
    finish_upload(e, FIRST);
    ASSERT_EQ(wait_inflight_bytes(0), 0);
    long rss = gateway_mem_kib("VmRSS:"), hwm = gateway_mem_kib("VmHWM:");
    fprintf(stderr, "gateway RSS: %ld KiB before, %ld KiB after, peak %ld KiB\n", rss0, rss,
            hwm);
    if (rss0 > 0 && hwm - rss0 > RSS_BOUND / 1024)
        VC_TEST_FAIL("gateway peak RSS grew by %ld KiB, want <= %lld", hwm - rss0,
                     RSS_BOUND / 1024);
}

static void chunked_body_outgrowing_the_budget_is_shed(void)
{
    /* Two 16 MiB uploads hold 32 MiB; a chunked body may take the other 8 MiB, no more. */
    enum { FIRST = 65536 };
    int a = open_upload(UPLOAD, FIRST), b = open_upload(UPLOAD, FIRST);
    ASSERT_EQ(wait_inflight_bytes(2 * UPLOAD), 2 * UPLOAD);
    char head[512];
    int n = snprintf(head, sizeof(head),
                     "POST /v1/detections HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer "
                     "%s\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
                     h.key);
    int c = vc_raw_connect(h.base);
    long t0 = vc_raw_now_ms();
    ASSERT_OK(vc_raw_send(c, head, (size_t)n));
    static char chunk[65536 + 16];
    int cn = snprintf(chunk, sizeof(chunk), "10000\r\n");
    memset(chunk + cn, ' ', 65536);
    memcpy(chunk + cn + 65536, "\r\n", 2);
    for (int i = 0; i < 16 * 16; i++) /* up to 16 MiB, more than the 8 MiB left */
        if (vc_raw_send(c, chunk, (size_t)cn + 65538) != 0)
            break; /* the gateway stopped reading: its answer is waiting */
    expect_shed(c, t0, "chunked body past the budget");
    finish_upload(a, FIRST);
    finish_upload(b, FIRST);
    ASSERT_EQ(wait_inflight_bytes(0), 0);
}

int main(void)
{
    hostile_init(&h, "inflight_bytes");
    const char *extra[] = {"MAX_INFLIGHT_BYTES=40M", "MAX_BODY_BYTES=16M",
                           "HTTP_REQUEST_TIMEOUT=20s", NULL};
    hostile_start(&h, extra);
    RUN(uploads_beyond_the_byte_budget_are_shed);
    RUN(chunked_body_outgrowing_the_budget_is_shed);
    hostile_expect_healthy(&h, "uploads past the byte budget");
    hostile_stop(&h);
    return 0;
}
