/* Incremental HTTP/1.1 response parser (see http_resp.h). Lines (status, headers, chunk
 * sizes, trailers) are accumulated in r->line; body bytes are copied straight out of the
 * caller's buffer. */
#include "http_resp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vc/error.h"

enum {
    ST_STATUS,      /* status line */
    ST_HEADERS,     /* header lines until the empty one */
    ST_BODY_LEN,    /* Content-Length body */
    ST_CHUNK_SIZE,  /* chunk-size line */
    ST_CHUNK_DATA,  /* chunk bytes */
    ST_CHUNK_CRLF,  /* CRLF after a chunk */
    ST_TRAILERS,    /* trailer lines after the last chunk */
    ST_BODY_EOF,    /* body until the connection closes */
    ST_DONE
};

int vc_httpresp_init(vc_httpresp_t *r)
{
    memset(r, 0, sizeof(*r));
    r->body = malloc(VC_HTTPRESP_BODY_CAP + 1);
    if (r->body == NULL)
        return VC_ENOMEM;
    vc_httpresp_reset(r);
    return 0;
}

void vc_httpresp_free(vc_httpresp_t *r)
{
    free(r->body);
    r->body = NULL;
}

void vc_httpresp_reset(vc_httpresp_t *r)
{
    r->state = ST_STATUS;
    r->status = 0;
    r->keep_alive = 1;
    r->chunked = 0;
    r->content_length = -1;
    r->retry_after_s = -1;
    r->remaining = 0;
    r->line_len = 0;
    r->body_len = 0;
    r->body_total = 0;
    if (r->body != NULL)
        r->body[0] = '\0';
}

/* Parses a decimal or hex (base 16) number filling the whole of s (leading/trailing blanks
 * and chunk extensions after ';' allowed). Returns 0 or VC_EPROTO. */
static int parse_num(const char *s, int base, long long *out)
{
    char *end = NULL;
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s == '\0' || *s == '-' || *s == '+')
        return VC_EPROTO;
    errno = 0;
    long long v = strtoll(s, &end, base);
    if (errno != 0 || end == s || v < 0)
        return VC_EPROTO;
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end != '\0' && *end != ';')
        return VC_EPROTO;
    *out = v;
    return 0;
}

static int on_status_line(vc_httpresp_t *r, char *line)
{
    /* HTTP/1.x NNN reason */
    if (strncmp(line, "HTTP/1.", 7) != 0 || strlen(line) < 12 || line[8] != ' ')
        return VC_EPROTO;
    int st = 0;
    for (int i = 9; i < 12; i++) {
        if (line[i] < '0' || line[i] > '9')
            return VC_EPROTO;
        st = st * 10 + (line[i] - '0');
    }
    if (st < 100 || st > 599)
        return VC_EPROTO;
    r->status = st;
    r->keep_alive = line[7] == '1'; /* HTTP/1.0 closes unless told otherwise */
    r->state = ST_HEADERS;
    return 0;
}

/* 1 when needle (lower case) occurs in s, ignoring case. */
static int contains_ci(const char *s, const char *needle)
{
    size_t n = strlen(needle);
    for (; *s != '\0'; s++) {
        if (strncasecmp(s, needle, n) == 0)
            return 1;
    }
    return 0;
}

static int on_header_line(vc_httpresp_t *r, char *line)
{
    char *colon = strchr(line, ':');
    if (colon == NULL)
        return VC_EPROTO;
    *colon = '\0';
    char *v = colon + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    if (strcasecmp(line, "content-length") == 0)
        return parse_num(v, 10, &r->content_length);
    if (strcasecmp(line, "retry-after") == 0) {
        if (parse_num(v, 10, &r->retry_after_s) != 0)
            r->retry_after_s = -1; /* an HTTP-date: not used by the API, ignored */
        return 0;
    }
    if (strcasecmp(line, "transfer-encoding") == 0)
        r->chunked = contains_ci(v, "chunked");
    else if (strcasecmp(line, "connection") == 0) {
        if (contains_ci(v, "close"))
            r->keep_alive = 0;
        else if (contains_ci(v, "keep-alive"))
            r->keep_alive = 1;
    }
    return 0;
}

/* The empty line after the headers: decides how the body is framed. */
static void on_headers_end(vc_httpresp_t *r)
{
    if (r->status == 204 || r->status == 304 || r->status < 200) {
        r->state = ST_DONE; /* 1xx are not expected: no Expect header is ever sent */
    } else if (r->chunked) {
        r->state = ST_CHUNK_SIZE;
    } else if (r->content_length >= 0) {
        r->remaining = r->content_length;
        r->state = r->remaining > 0 ? ST_BODY_LEN : ST_DONE;
    } else {
        r->keep_alive = 0;
        r->state = ST_BODY_EOF;
    }
}

/* Handles one complete line (CRLF stripped) in the current state. */
static int on_line(vc_httpresp_t *r, char *line)
{
    switch (r->state) {
    case ST_STATUS:
        return on_status_line(r, line);
    case ST_HEADERS:
        if (line[0] == '\0') {
            on_headers_end(r);
            return 0;
        }
        return on_header_line(r, line);
    case ST_CHUNK_SIZE: {
        long long n = 0;
        if (parse_num(line, 16, &n) != 0)
            return VC_EPROTO;
        r->remaining = n;
        r->state = n > 0 ? ST_CHUNK_DATA : ST_TRAILERS;
        return 0;
    }
    case ST_CHUNK_CRLF:
        if (line[0] != '\0')
            return VC_EPROTO;
        r->state = ST_CHUNK_SIZE;
        return 0;
    case ST_TRAILERS:
        if (line[0] == '\0')
            r->state = ST_DONE;
        return 0;
    default:
        return VC_EPROTO;
    }
}

static void keep_body(vc_httpresp_t *r, const char *p, size_t n)
{
    size_t room = VC_HTTPRESP_BODY_CAP - r->body_len;
    size_t k = n < room ? n : room;
    memcpy(r->body + r->body_len, p, k);
    r->body_len += k;
    r->body[r->body_len] = '\0';
    r->body_total += (long long)n;
}

static int is_line_state(int st)
{
    return st == ST_STATUS || st == ST_HEADERS || st == ST_CHUNK_SIZE || st == ST_CHUNK_CRLF ||
           st == ST_TRAILERS;
}

int vc_httpresp_feed(vc_httpresp_t *r, const char *buf, size_t len, size_t *used)
{
    size_t i = 0;
    while (i < len && r->state != ST_DONE) {
        if (is_line_state(r->state)) {
            const char *nl = memchr(buf + i, '\n', len - i);
            size_t n = nl != NULL ? (size_t)(nl - (buf + i)) : len - i;
            if (r->line_len + n >= VC_HTTPRESP_LINE_CAP)
                return VC_EPROTO;
            memcpy(r->line + r->line_len, buf + i, n);
            r->line_len += n;
            i += n;
            if (nl == NULL)
                break;
            i++; /* the '\n' */
            if (r->line_len > 0 && r->line[r->line_len - 1] == '\r')
                r->line_len--;
            r->line[r->line_len] = '\0';
            r->line_len = 0;
            int rc = on_line(r, r->line);
            if (rc != 0)
                return rc;
        } else if (r->state == ST_BODY_EOF) {
            keep_body(r, buf + i, len - i);
            i = len;
        } else { /* ST_BODY_LEN or ST_CHUNK_DATA */
            size_t n = len - i;
            if ((long long)n > r->remaining)
                n = (size_t)r->remaining;
            keep_body(r, buf + i, n);
            i += n;
            r->remaining -= (long long)n;
            if (r->remaining == 0)
                r->state = r->state == ST_BODY_LEN ? ST_DONE : ST_CHUNK_CRLF;
        }
    }
    *used = i;
    return r->state == ST_DONE ? 1 : 0;
}

int vc_httpresp_eof(vc_httpresp_t *r)
{
    if (r->state == ST_BODY_EOF || r->state == ST_DONE) {
        r->state = ST_DONE;
        return 1;
    }
    return VC_EPROTO;
}
