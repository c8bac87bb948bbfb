/* Request bodies: bounded reads against the body deadline (request.h), the drain of a body
 * the handler did not need, and the JSON depth pre-scan. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "accesslog.h"
#include "request.h"
#include "vc/clock.h"
#include "vc/error.h"

/* JSON bodies nest at most this deep, like msgpack bodies (libs/wire VC_WIRE__MAX_DEPTH):
 * jansson parses recursively and civetweb's worker threads have 100 KiB stacks (Debian's
 * build), which a body of ~800 nested arrays overflows. */
#define JSON_MAX_DEPTH 16
#define BODY_FIRST_CAP 65536 /* first buffer of a body of unknown length (chunked) */
#define READ_PIECE 65536     /* per mg_read, so the deadline can grow as the body arrives */
#define DRAIN_CHUNK 4096     /* small: the worker's stack is 100 KiB */

/* Reads and discards the body of a request answered with success without it (a GET with a
 * body), so the connection can serve its next request (closing it with unread bytes would
 * reset it, and the client could lose the answer), within the request's body deadline. Gives
 * the connection up instead when the body does not arrive in time or is malformed. Refusals
 * never drain: respond.c closes their connections. */
void gateway__drain(struct mg_connection *conn)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    long long want = ri->content_length, got = 0; /* want < 0: chunked */
    char buf[DRAIN_CHUNK];
    body_read_t reg;
    int ok = 0;
    gateway_t *gw = gateway__of(conn);
    gateway__watch_add(gw->body_watch, &reg, ri);
    while (vc_clock_mono_ms() < gateway__req.deadline_ms) {
        if (want >= 0 && got >= want) {
            ok = 1;
            break;
        }
        size_t ask = sizeof(buf);
        if (want >= 0 && (unsigned long long)(want - got) < ask)
            ask = (size_t)(want - got);
        int n = mg_read(conn, buf, ask);
        if (n > 0) { /* no extension by HTTP_BODY_MIN_RATE: nobody needs these bytes */
            got += n;
            gateway_accesslog_body(n);
            continue;
        }
        ok = n == 0 && want < 0; /* the last chunk */
        break;
    }
    gateway__watch_remove(gw->body_watch, &reg);
    if (ok)
        gateway__req.done = 1;
    else
        gateway__give_up_connection(conn);
}

/* True when the JSON text nests arrays and objects deeper than max levels. A linear scan that
 * skips strings (escapes honoured); anything malformed is left to the parser. */
static int json_too_deep(const char *s, size_t n, int max)
{
    const char *p = s, *end = s + n;
    int depth = 0;
    while (p < end) {
        char c = *p++;
        if (c == '"') {
            for (;;) {
                const char *q = memchr(p, '"', (size_t)(end - p));
                if (q == NULL)
                    return 0;
                size_t backslashes = 0; /* p - 1 is a quote, so the walk stops by p */
                for (const char *b = q; b > p && b[-1] == '\\'; b--)
                    backslashes++;
                p = q + 1;
                if (backslashes % 2 == 0)
                    break;
            }
        } else if (c == '[' || c == '{') {
            if (++depth > max)
                return 1;
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return 0;
}

static int is_msgpack(const struct mg_connection *conn)
{
    const char *ct = mg_get_header(conn, "Content-Type");
    if (ct == NULL)
        return 0;
    size_t n = strcspn(ct, "; ");
    return (n == 19 && strncasecmp(ct, "application/msgpack", n) == 0) ||
           (n == 21 && strncasecmp(ct, "application/x-msgpack", n) == 0);
}

/* Reserves n more bytes of gw's in-flight budget for the current request. Returns 0, or
 * VC_EBUSY (nothing reserved) when the budget would be exceeded. */
static int reserve_bytes(gateway_t *gw, long long n)
{
    if (n <= 0)
        return 0;
    long long before = atomic_fetch_add(&gw->inflight_bytes, n);
    if (before + n > gw->cfg.max_inflight_bytes) {
        atomic_fetch_sub(&gw->inflight_bytes, n);
        return VC_EBUSY;
    }
    gateway__req.reserved += n;
    return 0;
}

int gateway_admit_bytes(struct mg_connection *conn)
{
    gateway_t *gw = gateway__of(conn);
    long long declared = mg_get_request_info(conn)->content_length;
    if (gateway__is_chunked(conn) || declared <= 0 || declared > gw->cfg.max_body)
        return 0; /* chunked: as it arrives (read_loop); too large: refused unread (413) */
    return reserve_bytes(gw, declared);
}

void gateway_release_bytes(gateway_t *gw)
{
    if (gw == NULL || gateway__req.reserved == 0)
        return;
    atomic_fetch_sub(&gw->inflight_bytes, gateway__req.reserved);
    gateway__req.reserved = 0;
}

/* Reads the body into *buf until limit bytes arrived (Content-Length) or its last chunk
 * (chunked, where limit is one past the cap, so a body over the cap shows as got == limit),
 * growing *buf (capacity *cap + 1) as needed. Returns 0, VC_ETIMEDOUT (the deadline passed,
 * or the client went quiet for civetweb's whole wait: half of HTTP_REQUEST_TIMEOUT), VC_EIO
 * (the client went away, or broken chunked framing), VC_EBUSY (a chunked body would exceed
 * MAX_INFLIGHT_BYTES) or VC_ENOMEM. */
static int read_loop(struct mg_connection *conn, body_read_t *reg, char **buf, size_t *cap,
                     size_t *got, size_t limit, int chunked)
{
    gateway_t *gw = gateway__of(conn);
    while (*got < limit) {
        if (vc_clock_mono_ms() >= gateway__req.deadline_ms)
            return VC_ETIMEDOUT;
        if (*got == *cap) {
            size_t ncap = *cap * 2 < limit ? *cap * 2 : limit;
            char *nb = realloc(*buf, ncap + 1);
            if (nb == NULL)
                return VC_ENOMEM;
            *buf = nb;
            *cap = ncap;
        }
        int64_t t0 = vc_clock_mono_ms();
        size_t ask = *cap - *got < READ_PIECE ? *cap - *got : READ_PIECE;
        /* A chunked body has no declared size: it reserves its bytes before reading them. */
        long long short_by = (long long)(*got + ask) - gateway__req.reserved;
        if (chunked && short_by > 0 && reserve_bytes(gw, short_by) != 0)
            return VC_EBUSY;
        int n = mg_read(conn, *buf + *got, ask);
        if (n > 0) {
            *got += (size_t)n;
            gateway__body_progress(gw, reg, n);
            continue;
        }
        if (n == 0 && chunked)
            return 0;
        /* civetweb stops waiting for the next piece after its request_timeout_ms (half of
         * ours): a Content-Length read then returns 0, a chunked one -1 like a framing error. */
        int64_t half = gw->cfg.request_timeout_ms / 2;
        return n == 0 || vc_clock_mono_ms() - t0 >= half - half / 10 ? VC_ETIMEDOUT : VC_EIO;
    }
    return 0;
}

int gateway_read_body(struct mg_connection *conn, size_t max, char **body, size_t *len)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    long long declared = ri->content_length;
    int chunked = gateway__is_chunked(conn);
    *body = NULL;
    *len = 0;
    if (!chunked && declared > (long long)max)
        return VC_ETOOBIG; /* refused before reading a byte (the answer closes) */
    gateway__req.touched = 1;
    /* The client holds the body back until told to send it (curl does for bodies over 1 MiB,
     * waiting a second otherwise); civetweb leaves this to the handler. */
    const char *expect = mg_get_header(conn, "Expect");
    if (expect != NULL && strcasecmp(expect, "100-continue") == 0 &&
        strcmp(ri->http_version, "1.1") == 0 && (chunked || declared > 0))
        mg_printf(conn, "HTTP/1.1 100 Continue\r\n\r\n");
    size_t limit = chunked ? max + 1 : declared > 0 ? (size_t)declared : 0;
    size_t cap = chunked && limit > BODY_FIRST_CAP ? BODY_FIRST_CAP : limit, got = 0;
    char *buf = malloc(cap + 1);
    if (buf == NULL)
        return VC_ENOMEM;
    body_read_t reg;
    gateway__watch_add(gateway__of(conn)->body_watch, &reg, ri);
    int rc = read_loop(conn, &reg, &buf, &cap, &got, limit, chunked);
    int cut = gateway__watch_remove(gateway__of(conn)->body_watch, &reg);
    if (rc != 0 && rc != VC_ENOMEM && rc != VC_EBUSY &&
        (cut || vc_clock_mono_ms() >= gateway__req.deadline_ms))
        rc = VC_ETIMEDOUT;
    if (rc == 0 && chunked && got > max)
        rc = VC_ETOOBIG;
    if (rc != 0) {
        free(buf);
        gateway__give_up_connection(conn);
        return rc;
    }
    gateway__req.done = 1;
    buf[got] = '\0';
    if (!is_msgpack(conn) && json_too_deep(buf, got, JSON_MAX_DEPTH)) {
        free(buf);
        return VC_EFORMAT;
    }
    *body = buf;
    *len = got;
    return 0;
}
