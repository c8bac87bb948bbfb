/* Header floods: many header lines, huge header lines, header blocks past civetweb's 16 KiB
 * request buffer, control bytes, a long request line, and many of these at once. Each must be
 * refused with a JSON error (431 for too many lines, 400/413 for what civetweb cannot parse)
 * and the connection closed, and the gateway must stay healthy. A request that merely comes
 * close to the limits is still served. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostile.h"

static hostile_t h;

/* A GET /health request with n extra header lines of the given value length. Caller frees. */
static char *request_with_headers(int n, size_t value_len, const char *tail)
{
    size_t cap = 256 + (size_t)n * (value_len + 16) + strlen(tail);
    char *req = malloc(cap);
    ASSERT(req != NULL);
    size_t len = (size_t)snprintf(req, cap, "GET /health HTTP/1.1\r\nHost: gateway\r\n");
    for (int i = 0; i < n; i++) {
        len += (size_t)snprintf(req + len, cap - len, "X-Flood-%d: ", i);
        memset(req + len, 'v', value_len);
        len += value_len;
        memcpy(req + len, "\r\n", 2);
        len += 2;
    }
    len += (size_t)snprintf(req + len, cap - len, "%s\r\n", tail);
    return req;
}

/* Sends req on a fresh connection; the answer must be a JSON error with one of the statuses
 * (0-terminated list) and the connection must close. */
static void expect_refused(const char *req, size_t len, const int *statuses, const char *code,
                           const char *what)
{
    int fd = vc_raw_connect(h.base);
    long t0 = vc_raw_now_ms();
    (void)vc_raw_send(fd, req, len); /* the gateway may refuse before reading it all */
    vc_raw_response_t r;
    int rc = vc_raw_read_response(fd, 5000, &r);
    if (rc != 0)
        VC_TEST_FAIL("%s: no answer (%d):\n%s", what, rc, r.head);
    int ok = 0;
    for (int i = 0; statuses[i] != 0; i++)
        ok |= r.status == statuses[i];
    if (!ok)
        VC_TEST_FAIL("%s: status %d:\n%s%s", what, r.status, r.head, r.body);
    vc_raw_expect_json_error(&r, r.status, code, what);
    vc_raw_response_free(&r);
    ASSERT(vc_raw_wait_closed(fd, 5000) >= 0);
    fprintf(stderr, "%s: refused and closed in %ld ms\n", what, vc_raw_now_ms() - t0);
    close(fd);
}

static void expect_served(const char *req, size_t len, const char *what)
{
    vc_raw_response_t r;
    int rc = vc_raw_exchange(h.base, req, len, 5000, &r);
    if (rc != 0 || r.status != 200)
        VC_TEST_FAIL("%s: %d / status %d:\n%s%s", what, rc, r.status, r.head,
                     r.body != NULL ? r.body : "");
    vc_raw_response_free(&r);
}

static const int s431[] = {431, 0};
static const int s_unparsable[] = {400, 413, 431, 0};

static void many_header_lines_are_refused_with_431(void)
{
    /* civetweb keeps 64 header lines: 63 (Host + 62) are served, 64 or more refused. */
    char *ok = request_with_headers(62, 8, "");
    expect_served(ok, strlen(ok), "63 header lines");
    free(ok);
    int counts[] = {63, 100, 500}; /* 500 short lines still fit civetweb's 16 KiB buffer */
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
        char *req = request_with_headers(counts[i], 4, "");
        char what[64];
        snprintf(what, sizeof(what), "%d header lines", counts[i] + 1);
        expect_refused(req, strlen(req), s431, "headers_too_large", what);
        free(req);
    }
}

static void a_content_length_past_the_kept_headers_is_not_lost(void)
{
    /* Were the 70th line (Content-Length) dropped, the body would be parsed as a second
     * request and answered: request smuggling. The whole request is refused instead. */
    char *req = request_with_headers(
        69, 4, "Content-Length: 40\r\n\r\nGET /metrics HTTP/1.1\r\nHost: smuggled\r\n");
    size_t len = strlen(req) - 2; /* the body is exactly the 40 bytes after the blank line */
    expect_refused(req, len, s431, "headers_too_large", "Content-Length as 71st line");
    free(req);
}

static void huge_header_blocks_are_refused(void)
{
    char *one_line = request_with_headers(1, 100 * 1024, ""); /* one 100 KiB line */
    expect_refused(one_line, strlen(one_line), s_unparsable, NULL, "one 100 KiB header line");
    free(one_line);
    char *block = request_with_headers(20, 1024, ""); /* 20 KiB in lines of 1 KiB */
    expect_refused(block, strlen(block), s_unparsable, NULL, "20 KiB header block");
    free(block);
    char *tiny = request_with_headers(3000, 1, ""); /* 3000 short lines, ~50 KiB */
    expect_refused(tiny, strlen(tiny), s_unparsable, NULL, "3000 header lines");
    free(tiny);
    /* The other side of the limit: 12 KiB of headers in 12 lines is an ordinary request. */
    char *big_ok = request_with_headers(12, 1000, "");
    expect_served(big_ok, strlen(big_ok), "12 KiB of headers");
    free(big_ok);
}

static void long_request_line_and_control_bytes_are_refused(void)
{
    size_t n = 20 * 1024;
    char *req = malloc(n + 64);
    ASSERT(req != NULL);
    memcpy(req, "GET /", 5);
    memset(req + 5, 'a', n);
    size_t len = 5 + n;
    len += (size_t)snprintf(req + len, 64, " HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_refused(req, len, s_unparsable, NULL, "20 KiB request line");
    free(req);
    static const char ctl[] = "GET /health HTTP/1.1\r\nHost: x\r\nX-Ctl: a\001b\r\n\r\n";
    expect_refused(ctl, sizeof(ctl) - 1, s_unparsable, NULL, "control byte in a header");
    static const char nul[] = "GET /health HTTP/1.1\r\nHost: x\r\nX-Nul: a\0b\r\n\r\n";
    expect_refused(nul, sizeof(nul) - 1, s_unparsable, NULL, "NUL in a header");
}

/* Sixteen clients flooding at once. */
static void *flooder(void *arg)
{
    (void)arg;
    char *req = request_with_headers(200, 60, ""); /* ~14 KiB, 200 lines: 431 */
    for (int i = 0; i < 30; i++) {
        vc_raw_response_t r;
        int rc = vc_raw_exchange(h.base, req, strlen(req), 5000, &r);
        if (rc != 0 || r.status != 431)
            VC_TEST_FAIL("flood %d: %d / %d", i, rc, r.status);
        vc_raw_response_free(&r);
    }
    free(req);
    return NULL;
}

static void concurrent_floods_leave_the_gateway_healthy(void)
{
    pthread_t t[16];
    for (int i = 0; i < 16; i++)
        ASSERT_OK(pthread_create(&t[i], NULL, flooder, NULL));
    for (int i = 0; i < 16; i++)
        pthread_join(t[i], NULL);
    hostile_expect_healthy(&h, "480 flooded requests");
}

int main(void)
{
    hostile_init(&h, "headers");
    hostile_start(&h, NULL);
    RUN(many_header_lines_are_refused_with_431);
    RUN(a_content_length_past_the_kept_headers_is_not_lost);
    RUN(huge_header_blocks_are_refused);
    RUN(long_request_line_and_control_bytes_are_refused);
    RUN(concurrent_floods_leave_the_gateway_healthy);
    hostile_stop(&h);
    return 0;
}
