#include <errno.h>
#include <sys/random.h>
#include <string.h>
#include <sys/types.h>

#include "vc/error.h"
#include "vc/id.h"

/* Fills buf from getrandom(2), retrying on EINTR and short reads. Returns 0 or VC_EIO. */
static int id_random(unsigned char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(buf + got, n - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return VC_EIO;
        got += (size_t)r;
    }
    return 0;
}

/* Writes a lowercase RFC 4122 version-4 UUID. Returns 0, VC_EINVAL (out shorter than 37
 * bytes) or VC_EIO (no randomness available). */
int vc_id_new(char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16];
    if (out == NULL || outlen < 37)
        return VC_EINVAL;
    if (id_random(b, sizeof(b)) != 0)
        return VC_EIO;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* variant 10xx */
    size_t o = 0;
    for (size_t i = 0; i < sizeof(b); i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 0x0f];
    }
    out[o] = '\0';
    return 0;
}

/* True when c may appear in a client-supplied id: [A-Za-z0-9._:-]. */
static int id_char_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == ':' || c == '-';
}

int vc_id_valid(const char *s, size_t len)
{
    if (s == NULL || len == 0 || len > VC_ID_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (!id_char_ok((unsigned char)s[i]))
            return 0;
    }
    return 1;
}

static int is_lower_hex(const char *s, size_t n)
{
    int nonzero = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0;
        nonzero |= c != '0';
    }
    return nonzero;
}

int vc_trace_id_new(char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16];
    if (outlen < VC_TRACE_ID_LEN + 1)
        return VC_EINVAL;
    do {
        if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
            return VC_EIO;
    } while (!memcmp(b, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16));
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[VC_TRACE_ID_LEN] = '\0';
    return 0;
}

int vc_trace_id_from_traceparent(const char *tp, char *out, size_t outlen)
{
    /* version(2) - trace-id(32) - parent-id(16) - flags(2) = 55 chars; version ff is invalid */
    if (tp == NULL || outlen < VC_TRACE_ID_LEN + 1 || strlen(tp) < 55 || tp[2] != '-' ||
        tp[35] != '-' || tp[52] != '-' || (tp[55] != '\0' && tp[55] != '-'))
        return 0;
    if (!((tp[0] >= '0' && tp[0] <= '9') || (tp[0] >= 'a' && tp[0] <= 'f')) ||
        strncmp(tp, "ff", 2) == 0 || !is_lower_hex(tp + 3, 32) || !is_lower_hex(tp + 36, 16))
        return 0;
    memcpy(out, tp + 3, VC_TRACE_ID_LEN);
    out[VC_TRACE_ID_LEN] = '\0';
    return 1;
}
