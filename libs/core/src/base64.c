#include <string.h>

#include "vc/base64.h"
#include "vc/error.h"

static const char b64_alphabet[64] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Decode table: 0..63 for alphabet characters; every other value has bit 0x80 set so a single
 * OR over four lookups tells whether a quad needs the slow path. */
enum { B64_BAD = 0x80, B64_SKIP = 0x81, B64_PAD = 0x82 };

/* clang-format off */
#define X B64_BAD
#define W B64_SKIP
#define R16 X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X
static const unsigned char b64_table[256] = {
    X,  X,  X,  X,  X,  X,  X,  X,  X,  W,  W,  X,  X,  W,  X,  X,  /* 0x00: \t \n \r */
    R16,                                                            /* 0x10 */
    W,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  62, X,  X,  X,  63, /* 0x20: ' ' + / */
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, X,  X,  X,  B64_PAD, X, X, /* 0x30: 0-9 = */
    X,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, /* 0x40: A-O */
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, X,  X,  X,  X,  X,  /* 0x50: P-Z */
    X,  26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, /* 0x60: a-o */
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, X,  X,  X,  X,  X,  /* 0x70: p-z */
    R16, R16, R16, R16, R16, R16, R16, R16,                         /* 0x80 .. 0xff */
};
#undef R16
#undef W
#undef X
/* clang-format on */

size_t vc_base64_encoded_len(size_t n)
{
    return (n / 3 + (n % 3 != 0)) * 4;
}

size_t vc_base64_decoded_maxlen(size_t n)
{
    return (n / 4 + (n % 4 != 0)) * 3;
}

int vc_base64_encode(const uint8_t *in, size_t n, char *out, size_t outcap, size_t *outlen)
{
    size_t need = vc_base64_encoded_len(n);
    if (n > (SIZE_MAX - 1) / 4 * 3 || outcap < need + 1)
        return VC_ETOOBIG;
    size_t i = 0, o = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64_alphabet[v >> 18];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = b64_alphabet[(v >> 6) & 63];
        out[o++] = b64_alphabet[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        out[o++] = b64_alphabet[v >> 18];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = i + 1 < n ? b64_alphabet[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
    if (outlen != NULL)
        *outlen = o;
    return 0;
}

/* Decoder state between characters when the fast path cannot be used. */
typedef struct b64_dec {
    uint32_t acc; /* sextets of the current quad */
    int nq;       /* sextets in acc (0..3) */
    int npad;     /* '=' seen (0..2); once > 0 only '=' and whitespace may follow */
} b64_dec_t;

/* Handles the final quad that carries padding; returns bytes written or VC_E*. */
static int b64_finish(const b64_dec_t *d, uint8_t *out, size_t room)
{
    if (d->npad == 0)
        return d->nq == 0 ? 0 : VC_EFORMAT;
    /* Valid: 2 sextets + "==" (one byte) or 3 sextets + "=" (two bytes). */
    if (d->nq + d->npad != 4 || d->nq < 2)
        return VC_EFORMAT;
    int nbytes = d->nq - 1;
    uint32_t v = d->acc << (6 * (4 - d->nq));
    /* Canonical encoding only: the bits under the padding must be zero (RFC 4648 §3.5). */
    if ((nbytes == 1 && (v & 0xffff) != 0) || (nbytes == 2 && (v & 0xff) != 0))
        return VC_EFORMAT;
    if (room < (size_t)nbytes)
        return VC_ETOOBIG;
    out[0] = (uint8_t)(v >> 16);
    if (nbytes == 2)
        out[1] = (uint8_t)(v >> 8);
    return nbytes;
}

/* Feeds one non-fast-path character. Returns 1 when a full quad is in d->acc, 0 otherwise,
 * or VC_EFORMAT. */
static int b64_step(b64_dec_t *d, unsigned char c)
{
    unsigned t = b64_table[c];
    if (t == B64_SKIP)
        return 0;
    if (t == B64_PAD) {
        if (d->nq < 2 || d->nq + d->npad >= 4)
            return VC_EFORMAT;
        d->npad++;
        return 0;
    }
    if (t == B64_BAD || d->npad > 0)
        return VC_EFORMAT;
    d->acc = d->acc << 6 | t;
    return ++d->nq == 4;
}

/* Strict decoder. The fast path takes four alphabet characters at a time with one branch;
 * whitespace, padding and errors drop to b64_step one character at a time. */
int vc_base64_decode(const char *in, size_t n, uint8_t *out, size_t outcap, size_t *outlen)
{
    const unsigned char *s = (const unsigned char *)in;
    b64_dec_t d = {0, 0, 0};
    size_t i = 0, o = 0;
    while (i < n) {
        if (d.nq == 0 && d.npad == 0) {
            for (; i + 4 <= n; i += 4) {
                unsigned a = b64_table[s[i]], b = b64_table[s[i + 1]];
                unsigned c = b64_table[s[i + 2]], e = b64_table[s[i + 3]];
                if (((a | b | c | e) & 0x80) != 0)
                    break;
                if (outcap - o < 3)
                    return VC_ETOOBIG;
                uint32_t v = a << 18 | b << 12 | c << 6 | e;
                out[o] = (uint8_t)(v >> 16);
                out[o + 1] = (uint8_t)(v >> 8);
                out[o + 2] = (uint8_t)v;
                o += 3;
            }
            if (i >= n)
                break;
        }
        int r = b64_step(&d, s[i++]);
        if (r < 0)
            return r;
        if (r == 1) {
            if (outcap - o < 3)
                return VC_ETOOBIG;
            out[o] = (uint8_t)(d.acc >> 16);
            out[o + 1] = (uint8_t)(d.acc >> 8);
            out[o + 2] = (uint8_t)d.acc;
            o += 3;
            d.acc = 0;
            d.nq = 0;
        }
    }
    int r = b64_finish(&d, out + o, outcap - o);
    if (r < 0)
        return r;
    if (outlen != NULL)
        *outlen = o + (size_t)r;
    return 0;
}
