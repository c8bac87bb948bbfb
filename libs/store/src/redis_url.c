/* REDIS_URL: redis://[[user]:password@]host[:port][/db], with percent-encoded user and
 * password (RFC 3986 userinfo), so an ACL user's password may hold '@', ':' or '/'. Error
 * messages never quote the URL or any part of the userinfo: they would carry the password. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vc/error.h"
#include "vc/redis.h"

#define URL_FORM "redis://[[user]:password@]host[:port][/db]"

static int hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes [s, s+n) into dst (cap bytes, NUL-terminated). Returns 0, VC_EFORMAT for a
 * malformed escape ("%G1", a '%' without two hex digits after it) or an encoded NUL (a C
 * string cannot carry it to Redis), VC_ETOOBIG when the result does not fit. */
static int decode(char *dst, size_t cap, const char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n)
                return VC_EFORMAT;
            int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
            if (hi < 0 || lo < 0)
                return VC_EFORMAT;
            c = hi * 16 + lo;
            if (c == 0)
                return VC_EFORMAT;
            i += 2;
        }
        if (o + 1 >= cap)
            return VC_ETOOBIG;
        dst[o++] = (char)c;
    }
    dst[o] = '\0';
    return 0;
}

/* Decodes one userinfo part; the message names the part, never its content. */
static int decode_part(char *dst, size_t cap, const char *s, size_t n, const char *what,
                       char *err, size_t errlen)
{
    int rc = decode(dst, cap, s, n);
    if (rc == VC_EFORMAT)
        return vc_err(err, errlen, VC_EINVAL, "REDIS_URL: the %s has a malformed percent-escape "
                      "or an encoded NUL (write '%%' as %%25, '@' as %%40, ':' as %%3A)", what);
    if (rc != 0)
        return vc_err(err, errlen, VC_EINVAL, "REDIS_URL: the %s is longer than %zu bytes",
                      what, cap - 1);
    return 0;
}

/* Parses a decimal in [lo, hi] from [s, s+n). */
static int parse_num(const char *s, size_t n, long lo, long hi, int *out)
{
    char buf[16];
    if (n == 0 || n >= sizeof(buf))
        return VC_EINVAL;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end = NULL;
    errno = 0;
    long v = strtol(buf, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi || buf[0] == '-' || buf[0] == '+')
        return VC_EINVAL;
    *out = (int)v;
    return 0;
}

/* user:password before the last '@' (an unencoded '@' in a password still parses); a
 * userinfo without ':' is a password for the default user (the requirepass form). */
static int parse_userinfo(const char *p, size_t n, vc_redis_url_t *u, char *err, size_t errlen)
{
    const char *colon = memchr(p, ':', n);
    if (colon == NULL)
        return decode_part(u->password, sizeof(u->password), p, n, "password", err, errlen);
    int rc = decode_part(u->user, sizeof(u->user), p, (size_t)(colon - p), "user name", err,
                         errlen);
    if (rc == 0)
        rc = decode_part(u->password, sizeof(u->password), colon + 1,
                         n - (size_t)(colon - p) - 1, "password", err, errlen);
    return rc;
}

/* host (or [IPv6]), then :port and /db. */
static int parse_hostpart(const char *p, vc_redis_url_t *u, char *err, size_t errlen)
{
    size_t hostlen;
    const char *host = p;
    if (*p == '[') {
        const char *close = strchr(p, ']');
        if (close == NULL)
            return vc_err(err, errlen, VC_EINVAL, "REDIS_URL: '[' without ']' in the host");
        host = p + 1;
        hostlen = (size_t)(close - host);
        p = close + 1;
    } else {
        hostlen = strcspn(p, ":/");
        p += hostlen;
    }
    if (hostlen == 0 || hostlen >= sizeof(u->host))
        return vc_err(err, errlen, VC_EINVAL, "REDIS_URL: no host, or a host longer than %zu "
                      "bytes; expected " URL_FORM, sizeof(u->host) - 1);
    memcpy(u->host, host, hostlen);
    u->host[hostlen] = '\0';
    if (*p == ':') {
        size_t n = strcspn(++p, "/");
        if (parse_num(p, n, 1, 65535, &u->port) != 0)
            return vc_err(err, errlen, VC_EINVAL, "REDIS_URL: the port must be 1-65535");
        p += n;
    }
    if (*p != '\0' && *p != '/')
        return vc_err(err, errlen, VC_EINVAL, "REDIS_URL: expected " URL_FORM);
    if (*p == '/' && p[1] != '\0' && parse_num(p + 1, strlen(p + 1), 0, 10000, &u->db) != 0)
        return vc_err(err, errlen, VC_EINVAL, "REDIS_URL: the database must be a number 0-10000");
    return 0;
}

int vc_redis_url_parse(const char *url, vc_redis_url_t *u, char *err, size_t errlen)
{
    memset(u, 0, sizeof(*u));
    u->port = 6379;
    if (strncasecmp(url, "rediss://", 9) == 0)
        return vc_err(err, errlen, VC_EINVAL, "REDIS_URL: rediss:// (TLS) is not supported: "
                      "Debian 12's hiredis 0.14 has no TLS (docs/operations.md)");
    if (strncasecmp(url, "redis://", 8) != 0)
        return vc_err(err, errlen, VC_EINVAL, "REDIS_URL: expected " URL_FORM);
    const char *p = url + 8;
    const char *at = strrchr(p, '@');
    if (at != NULL) {
        int rc = parse_userinfo(p, (size_t)(at - p), u, err, errlen);
        if (rc != 0)
            return rc;
        p = at + 1;
    }
    return parse_hostpart(p, u, err, errlen);
}
