#include "rawhttp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "test.h"

/* Case-insensitive strstr (strcasestr is a GNU extension). */
static const char *find_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay != '\0'; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return hay;
    return NULL;
}

long vc_raw_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int vc_raw_connect(const char *base)
{
    const char *hp = strstr(base, "://");
    hp = hp != NULL ? hp + 3 : base;
    char host[64];
    int port = 0;
    if (sscanf(hp, "%63[^:]:%d", host, &port) != 2)
        VC_TEST_FAIL("cannot parse host:port of %s", base);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    ASSERT(inet_pton(AF_INET, host, &a.sin_addr) == 1);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT(fd >= 0);
    int one = 1; /* trickled bytes leave at once, one segment each */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct timeval tv = {.tv_sec = 10}; /* a server that stops reading cannot block a send */
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
        VC_TEST_FAIL("connect %s: %s", base, strerror(errno));
    return fd;
}

int vc_raw_send(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Waits up to ms for fd to become readable (data, EOF or error). 1 readable, 0 not. */
static int readable(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r = poll(&p, 1, ms < 0 ? 0 : ms);
    return r > 0;
}

size_t vc_raw_trickle(int fd, const void *buf, size_t len, int interval_ms, int max_ms,
                      long *closed_ms)
{
    const unsigned char *p = buf;
    long t0 = vc_raw_now_ms();
    size_t sent = 0;
    if (closed_ms != NULL)
        *closed_ms = -1;
    while (sent < len && vc_raw_now_ms() - t0 < max_ms) {
        if (vc_raw_send(fd, p + sent, 1) != 0)
            break;
        sent++;
        /* The pause between bytes is the attack itself; the server's answer or close ends it
         * early. */
        if (readable(fd, interval_ms))
            break;
    }
    if (closed_ms != NULL && (sent < len || readable(fd, 0)))
        *closed_ms = vc_raw_now_ms() - t0;
    return sent;
}

int vc_raw_read_response(int fd, int timeout_ms, vc_raw_response_t *r)
{
    memset(r, 0, sizeof(*r));
    long deadline = vc_raw_now_ms() + timeout_ms;
    int st;
    do /* interim responses (100 Continue) are skipped */
        st = vc_raw_read_head(fd, (int)(deadline - vc_raw_now_ms()), r->head, sizeof(r->head));
    while (st >= 100 && st < 200);
    if (st < 0)
        return st;
    r->status = st;
    size_t want = 0;
    const char *cl = find_ci(r->head, "\r\nContent-Length:");
    if (cl != NULL)
        want = strtoul(cl + 17, NULL, 10);
    r->body = malloc(want + 1);
    ASSERT(r->body != NULL);
    /* Exactly the body: a pipelined answer behind it stays in the socket for the next call. */
    while (r->body_len < want) {
        long left = deadline - vc_raw_now_ms();
        if (left <= 0 || !readable(fd, (int)left))
            break;
        ssize_t n = recv(fd, r->body + r->body_len, want - r->body_len, 0);
        if (n <= 0)
            break;
        r->body_len += (size_t)n;
    }
    r->body[r->body_len] = '\0';
    if (r->body_len < want)
        return deadline - vc_raw_now_ms() <= 0 ? -2 : -1;
    return 0;
}

int vc_raw_read_head(int fd, int timeout_ms, char *buf, size_t cap)
{
    long deadline = vc_raw_now_ms() + timeout_ms;
    size_t len = 0;
    while (len + 1 < cap) {
        long left = deadline - vc_raw_now_ms();
        if (left <= 0 || !readable(fd, (int)left))
            return -2;
        if (recv(fd, buf + len, 1, 0) != 1) /* one byte at a time: never past the head */
            return -1;
        buf[++len] = '\0';
        if (len >= 4 && memcmp(buf + len - 4, "\r\n\r\n", 4) == 0) {
            int status = 0;
            sscanf(buf, "HTTP/1.%*d %d", &status);
            return status;
        }
    }
    return -1;
}

void vc_raw_response_free(vc_raw_response_t *r)
{
    free(r->body);
    r->body = NULL;
}

long vc_raw_wait_closed(int fd, int timeout_ms)
{
    long t0 = vc_raw_now_ms();
    char junk[4096];
    for (;;) {
        long left = timeout_ms - (vc_raw_now_ms() - t0);
        if (left <= 0 || !readable(fd, (int)left))
            return -1;
        ssize_t n = recv(fd, junk, sizeof(junk), 0);
        if (n <= 0)
            return vc_raw_now_ms() - t0;
    }
}

int vc_raw_exchange(const char *base, const void *req, size_t len, int timeout_ms,
                    vc_raw_response_t *r)
{
    int fd = vc_raw_connect(base);
    (void)vc_raw_send(fd, req, len); /* on failure the server may have answered already */
    int rc = vc_raw_read_response(fd, timeout_ms, r);
    close(fd);
    return rc;
}

void vc_raw_expect_json_error(const vc_raw_response_t *r, int status, const char *code,
                              const char *what)
{
    if (r->status != status)
        VC_TEST_FAIL("%s: status %d, want %d; response:\n%s%s", what, r->status, status, r->head,
                     r->body != NULL ? r->body : "");
    if (find_ci(r->head, "\r\nContent-Type: application/json") == NULL)
        VC_TEST_FAIL("%s: not JSON:\n%s", what, r->head);
    json_error_t jerr;
    json_t *o = json_loads(r->body != NULL ? r->body : "", 0, &jerr);
    json_t *err = json_object_get(o, "error");
    const char *c = json_string_value(json_object_get(err, "code"));
    const char *m = json_string_value(json_object_get(err, "message"));
    if (c == NULL || m == NULL || (code != NULL && strcmp(c, code) != 0))
        VC_TEST_FAIL("%s: body %s, want {\"error\":{\"code\":\"%s\",\"message\":…}}", what,
                     r->body != NULL ? r->body : "(none)", code != NULL ? code : "…");
    json_decref(o);
}
