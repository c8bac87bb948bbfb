/* Structural pre-scan of untrusted msgpack bytes, then the unpack itself.
 *
 * msgpack-c sizes a container's slot array from the count in its header before it has seen a
 * single element, so five bytes (0xdd ff ff ff ff) would ask the zone for ~100 GB. The scan
 * walks the headers first, without allocating, and refuses any count that the remaining bytes
 * cannot possibly hold (every element takes at least one byte), more elements in all than
 * VC_WIRE__MAX_ELEMENTS, and nesting deeper than VC_WIRE__MAX_DEPTH. */
#include <string.h>

#include "codec.h"
#include "vc/error.h"

enum { K_SCALAR, K_BLOB, K_ARRAY, K_MAP, K_INVALID };

/* Shape of the type bytes 0xc0..0xdf: width of the length/count field, fixed payload bytes,
 * and kind. (The fix* ranges are decoded in item().) */
static const struct {
    uint8_t lenw, fixed, kind;
} shapes[32] = {
    {0, 0, K_SCALAR},                                    /* c0 nil */
    {0, 0, K_INVALID},                                   /* c1 never used */
    {0, 0, K_SCALAR},  {0, 0, K_SCALAR},                 /* c2 false, c3 true */
    {1, 0, K_BLOB},    {2, 0, K_BLOB},   {4, 0, K_BLOB}, /* c4-c6 bin 8/16/32 */
    {1, 1, K_BLOB},    {2, 1, K_BLOB},   {4, 1, K_BLOB}, /* c7-c9 ext 8/16/32 (+ type byte) */
    {0, 4, K_SCALAR},  {0, 8, K_SCALAR},                 /* ca float32, cb float64 */
    {0, 1, K_SCALAR},  {0, 2, K_SCALAR}, {0, 4, K_SCALAR}, {0, 8, K_SCALAR}, /* cc-cf uint */
    {0, 1, K_SCALAR},  {0, 2, K_SCALAR}, {0, 4, K_SCALAR}, {0, 8, K_SCALAR}, /* d0-d3 int */
    {0, 2, K_SCALAR},  {0, 3, K_SCALAR}, {0, 5, K_SCALAR}, {0, 9, K_SCALAR}, /* d4-d7 fixext */
    {0, 17, K_SCALAR},                                                       /* d8 fixext 16 */
    {1, 0, K_BLOB},    {2, 0, K_BLOB},   {4, 0, K_BLOB},                     /* d9-db str 8/16/32 */
    {2, 0, K_ARRAY},   {4, 0, K_ARRAY},                                      /* dc-dd array 16/32 */
    {2, 0, K_MAP},     {4, 0, K_MAP},                                        /* de-df map 16/32 */
};

/* Reads a big-endian unsigned integer of w (0, 1, 2 or 4) bytes. */
static uint64_t be(const uint8_t *p, size_t w)
{
    uint64_t v = 0;
    for (size_t i = 0; i < w; i++)
        v = (v << 8) | p[i];
    return v;
}

/* Describes the item at p (avail >= 1 bytes): header bytes, payload bytes after the header, and
 * number of child elements. Returns 0, 1 when the header is cut short, -1 for byte 0xc1. */
static int item(const uint8_t *p, size_t avail, size_t *hdr, uint64_t *skip, uint64_t *kids)
{
    uint8_t b = p[0];
    *hdr = 1;
    *skip = 0;
    *kids = 0;
    if (b <= 0x7f || b >= 0xe0)
        return 0; /* positive / negative fixint */
    if (b <= 0x8f) {
        *kids = 2u * (b & 0x0fu);
        return 0;
    }
    if (b <= 0x9f) {
        *kids = b & 0x0fu;
        return 0;
    }
    if (b <= 0xbf) {
        *skip = b & 0x1fu;
        return 0;
    }
    int kind = shapes[b - 0xc0].kind;
    size_t lenw = shapes[b - 0xc0].lenw;
    if (kind == K_INVALID)
        return -1;
    if (avail < 1 + lenw)
        return 1;
    *hdr = 1 + lenw;
    uint64_t n = be(p + 1, lenw);
    if (kind == K_SCALAR)
        *skip = shapes[b - 0xc0].fixed;
    else if (kind == K_BLOB)
        *skip = n + shapes[b - 0xc0].fixed;
    else if (kind == K_ARRAY)
        *kids = n;
    else
        *kids = 2 * n;
    return 0;
}

int vc_wire__scan(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
    uint64_t left[VC_WIRE__MAX_DEPTH + 1]; /* items still due at each open nesting level */
    uint64_t pending = 1, total = 0;       /* pending: the sum of left[] */
    size_t pos = 0, depth = 0;
    left[0] = 1;
    if (len == 0)
        return vc_err(err, errlen, VC_EPROTO, "empty message");
    while (pending > 0) {
        size_t hdr;
        uint64_t skip, kids;
        if (left[depth] == 0) {
            depth--;
            continue;
        }
        int rc = item(buf + pos, len - pos, &hdr, &skip, &kids);
        if (rc < 0)
            return vc_err(err, errlen, VC_EPROTO, "not msgpack: byte 0xc1 at offset %zu", pos);
        if (rc > 0 || skip > len - pos - hdr)
            return vc_err(err, errlen, VC_EPROTO, "truncated message (%zu bytes)", len);
        pos += hdr + (size_t)skip;
        left[depth]--;
        total += kids;
        pending = pending - 1 + kids;
        if (total > VC_WIRE__MAX_ELEMENTS)
            return vc_err(err, errlen, VC_EPROTO, "more than %d elements in the message",
                          VC_WIRE__MAX_ELEMENTS);
        if (pending > len - pos)
            return vc_err(err, errlen, VC_EPROTO, "truncated message (%zu bytes)", len);
        if (kids == 0)
            continue;
        if (depth == VC_WIRE__MAX_DEPTH)
            return vc_err(err, errlen, VC_EPROTO, "nested deeper than %d levels",
                          VC_WIRE__MAX_DEPTH);
        left[++depth] = kids;
    }
    if (pos != len)
        return vc_err(err, errlen, VC_EPROTO, "%zu trailing bytes after the message", len - pos);
    return 0;
}

int vc_wire__unpack(const uint8_t *buf, size_t len, msgpack_unpacked *up, char *err, size_t errlen)
{
    msgpack_unpacked_init(up);
    int rc = vc_wire__scan(buf, len, err, errlen);
    if (rc != 0)
        return rc;
    size_t off = 0;
    msgpack_unpack_return ret = msgpack_unpack_next(up, (const char *)buf, len, &off);
    /* The scan already proved one complete object within msgpack-c's nesting limit, so the
     * only failure left is memory (msgpack-c 4.0 reports its parse-stack overflow as
     * MSGPACK_UNPACK_NOMEM_ERROR too: the depth check keeps that from being mistaken). */
    if (ret == MSGPACK_UNPACK_NOMEM_ERROR)
        return vc_err(err, errlen, VC_ENOMEM, "out of memory unpacking the message");
    if (ret != MSGPACK_UNPACK_SUCCESS)
        return vc_err(err, errlen, VC_EPROTO, "not msgpack");
    if (off != len)
        return vc_err(err, errlen, VC_EPROTO, "%zu trailing bytes after the message", len - off);
    return 0;
}
