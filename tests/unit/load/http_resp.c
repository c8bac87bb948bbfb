/* Unit tests for tests/load/http_resp.h: framing by length, chunks and close, byte-by-byte
 * feeding, keep-alive rules and refusal of malformed or oversized responses. */
#include <string.h>

#include "http_resp.h"
#include "test.h"
#include "vc/error.h"

static int feed_all(vc_httpresp_t *r, const char *s, size_t step, size_t *used_total)
{
    size_t len = strlen(s), i = 0;
    int rc = 0;
    *used_total = 0;
    while (i < len && rc == 0) {
        size_t n = len - i < step ? len - i : step, used = 0;
        rc = vc_httpresp_feed(r, s + i, n, &used);
        i += used;
        *used_total += used;
        if (rc == 0 && used != n)
            VC_TEST_FAIL("parser took %zu of %zu bytes without finishing", used, n);
    }
    return rc;
}

static void test_content_length_any_split(void)
{
    const char *resp = "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\n"
                       "Content-Length: 17\r\n\r\n{\"status\":\"ok\"}\r\n";
    for (size_t step = 1; step <= strlen(resp); step++) {
        vc_httpresp_t r;
        size_t used = 0;
        ASSERT_OK(vc_httpresp_init(&r));
        ASSERT_EQ(feed_all(&r, resp, step, &used), 1);
        ASSERT_EQ(used, strlen(resp));
        ASSERT_EQ(r.status, 202);
        ASSERT_EQ(r.keep_alive, 1);
        ASSERT_STREQ(r.body, "{\"status\":\"ok\"}\r\n");
        vc_httpresp_free(&r);
    }
}

/* Retry-After in delta-seconds is read; an HTTP-date or no header leaves -1; reset clears it. */
static void test_retry_after(void)
{
    vc_httpresp_t r;
    size_t used = 0;
    ASSERT_OK(vc_httpresp_init(&r));
    ASSERT_EQ(r.retry_after_s, -1);
    const char *a = "HTTP/1.1 503 Service Unavailable\r\nretry-after:  7\r\nContent-Length: 0\r\n\r\n";
    ASSERT_EQ(vc_httpresp_feed(&r, a, strlen(a), &used), 1);
    ASSERT_EQ(r.retry_after_s, 7);
    vc_httpresp_reset(&r);
    ASSERT_EQ(r.retry_after_s, -1);
    const char *b = "HTTP/1.1 429 Too Many\r\nRetry-After: Wed, 21 Oct 2026 07:28:00 GMT\r\n"
                    "Content-Length: 0\r\n\r\n";
    ASSERT_EQ(vc_httpresp_feed(&r, b, strlen(b), &used), 1);
    ASSERT_EQ(r.status, 429);
    ASSERT_EQ(r.retry_after_s, -1);
    vc_httpresp_free(&r);
}

static void test_chunked_and_next_response(void)
{
    const char *resp = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\nHTTP/1.1";
    vc_httpresp_t r;
    size_t used = 0;
    ASSERT_OK(vc_httpresp_init(&r));
    ASSERT_EQ(vc_httpresp_feed(&r, resp, strlen(resp), &used), 1);
    ASSERT_EQ(used, strlen(resp) - strlen("HTTP/1.1"));
    ASSERT_STREQ(r.body, "hello world");
    vc_httpresp_reset(&r);
    ASSERT_EQ(r.status, 0);
    vc_httpresp_free(&r);
}

static void test_close_delimited_and_http10(void)
{
    vc_httpresp_t r;
    size_t used = 0;
    ASSERT_OK(vc_httpresp_init(&r));
    const char *resp = "HTTP/1.0 503 Service Unavailable\r\n\r\nbusy";
    ASSERT_EQ(vc_httpresp_feed(&r, resp, strlen(resp), &used), 0);
    ASSERT_EQ(r.keep_alive, 0);
    ASSERT_EQ(vc_httpresp_eof(&r), 1);
    ASSERT_EQ(r.status, 503);
    ASSERT_STREQ(r.body, "busy");
    vc_httpresp_reset(&r);
    resp = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 10\r\n\r\nabc";
    ASSERT_EQ(vc_httpresp_feed(&r, resp, strlen(resp), &used), 0);
    ASSERT_EQ(r.keep_alive, 0);
    ASSERT_EQ(vc_httpresp_eof(&r), VC_EPROTO); /* truncated */
    vc_httpresp_free(&r);
}

static void test_malformed(void)
{
    static const char *const bad[] = {
        "HTTP/2 200 OK\r\n\r\n",
        "HTTP/1.1 2x0 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 12abc\r\n\r\n",
        "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        vc_httpresp_t r;
        size_t used = 0;
        ASSERT_OK(vc_httpresp_init(&r));
        int rc = vc_httpresp_feed(&r, bad[i], strlen(bad[i]), &used);
        if (rc != VC_EPROTO)
            VC_TEST_FAIL("case %zu: rc %d, expected VC_EPROTO", i, rc);
        vc_httpresp_free(&r);
    }
}

static void test_caps(void)
{
    vc_httpresp_t r;
    size_t used = 0;
    ASSERT_OK(vc_httpresp_init(&r));
    static char big[VC_HTTPRESP_LINE_CAP + 64];
    memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
    memset(big + 20, 'a', sizeof(big) - 21);
    big[sizeof(big) - 1] = '\0';
    ASSERT_EQ(vc_httpresp_feed(&r, big, strlen(big), &used), VC_EPROTO);
    vc_httpresp_reset(&r);
    /* A body larger than the kept part is consumed whole and truncated in r.body. */
    const char *head = "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n";
    ASSERT_EQ(vc_httpresp_feed(&r, head, strlen(head), &used), 0);
    static char chunk[100000];
    memset(chunk, 'x', sizeof(chunk));
    ASSERT_EQ(vc_httpresp_feed(&r, chunk, sizeof(chunk), &used), 1);
    ASSERT_EQ(used, sizeof(chunk));
    ASSERT_EQ(r.body_len, VC_HTTPRESP_BODY_CAP);
    ASSERT_EQ(r.body_total, 100000);
    vc_httpresp_free(&r);
}

int main(void)
{
    RUN(test_content_length_any_split);
    RUN(test_retry_after);
    RUN(test_chunked_and_next_response);
    RUN(test_close_delimited_and_http10);
    RUN(test_malformed);
    RUN(test_caps);
    return 0;
}
