#include "vc/netaddr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "vc/error.h"

static const uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int vc_netaddr_parse(const char *s, size_t len, vc_netaddr_t *out)
{
    char buf[VC_NETADDR_STRLEN];
    if (s == NULL || len == 0 || len >= sizeof(buf) || memchr(s, '\0', len) != NULL)
        return VC_EINVAL;
    memcpy(buf, s, len);
    buf[len] = '\0';
    struct in_addr a4;
    if (inet_pton(AF_INET, buf, &a4) == 1) {
        memcpy(out->b, v4_mapped_prefix, 12);
        memcpy(out->b + 12, &a4, 4);
        return 0;
    }
    struct in6_addr a6;
    if (inet_pton(AF_INET6, buf, &a6) == 1) {
        memcpy(out->b, &a6, 16);
        return 0;
    }
    return VC_EINVAL;
}

int vc_netaddr_is_v4(const vc_netaddr_t *a)
{
    return memcmp(a->b, v4_mapped_prefix, 12) == 0;
}

int vc_netaddr_format(const vc_netaddr_t *a, char *buf, size_t cap)
{
    char tmp[VC_NETADDR_STRLEN];
    const char *ok = vc_netaddr_is_v4(a) ? inet_ntop(AF_INET, a->b + 12, tmp, sizeof(tmp))
                                         : inet_ntop(AF_INET6, a->b, tmp, sizeof(tmp));
    if (ok == NULL)
        return VC_ERANGE;
    size_t n = strlen(tmp);
    if (n + 1 > cap)
        return VC_ERANGE;
    memcpy(buf, tmp, n + 1);
    return 0;
}

/* Clears every bit of a after its first bits bits. */
static void mask(vc_netaddr_t *a, int bits)
{
    for (int i = 0; i < 16; i++) {
        int keep = bits - i * 8;
        if (keep >= 8)
            continue;
        a->b[i] &= keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
    }
}

int vc_netaddr_key(const vc_netaddr_t *a, int v6_bits, char *buf, size_t cap)
{
    if (v6_bits < 1 || v6_bits > 128)
        return VC_EINVAL;
    if (vc_netaddr_is_v4(a) || v6_bits == 128)
        return vc_netaddr_format(a, buf, cap);
    vc_netaddr_t net = *a;
    mask(&net, v6_bits);
    char tmp[VC_NETADDR_STRLEN];
    int rc = vc_netaddr_format(&net, tmp, sizeof(tmp));
    if (rc != 0)
        return rc;
    int n = snprintf(buf, cap, "%s/%d", tmp, v6_bits);
    return n < 0 || (size_t)n >= cap ? VC_ERANGE : 0;
}

/* Parses 1..3 decimal digits into *out. */
static int parse_bits(const char *s, size_t len, int *out)
{
    if (len == 0 || len > 3)
        return VC_EINVAL;
    int v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return VC_EINVAL;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int vc_netaddr_cidr_parse(const char *s, size_t len, vc_netaddr_cidr_t *out)
{
    if (s == NULL)
        return VC_EINVAL;
    const char *slash = memchr(s, '/', len);
    size_t alen = slash != NULL ? (size_t)(slash - s) : len;
    vc_netaddr_t a;
    if (vc_netaddr_parse(s, alen, &a) != 0)
        return VC_EINVAL;
    /* Written as IPv4 text (no ':'): its bits count from the IPv4 part. */
    int v4_text = memchr(s, ':', alen) == NULL;
    int bits = v4_text ? 32 : 128;
    if (slash != NULL && parse_bits(slash + 1, len - alen - 1, &bits) != 0)
        return VC_EINVAL;
    if (bits > (v4_text ? 32 : 128))
        return VC_EINVAL;
    if (v4_text)
        bits += 96;
    vc_netaddr_t net = a;
    mask(&net, bits);
    if (memcmp(net.b, a.b, 16) != 0)
        return VC_EINVAL; /* host bits set */
    out->net = net;
    out->bits = bits;
    return 0;
}

int vc_netaddr_cidr_contains(const vc_netaddr_cidr_t *c, const vc_netaddr_t *a)
{
    vc_netaddr_t x = *a;
    mask(&x, c->bits);
    return memcmp(x.b, c->net.b, 16) == 0;
}

int vc_netaddr_list_parse(const char *s, vc_netaddr_list_t *out, char *err, size_t errlen)
{
    out->n = 0;
    if (s == NULL || s[strspn(s, " \t")] == '\0')
        return 0;
    for (;;) {
        s += strspn(s, " \t");
        size_t len = strcspn(s, ",");
        size_t t = len;
        while (t > 0 && (s[t - 1] == ' ' || s[t - 1] == '\t'))
            t--;
        if (t == 0)
            return vc_err(err, errlen, VC_EINVAL, "empty entry in the list");
        if (out->n == VC_NETADDR_LIST_MAX)
            return vc_err(err, errlen, VC_EINVAL, "more than %d entries", VC_NETADDR_LIST_MAX);
        if (vc_netaddr_cidr_parse(s, t, &out->v[out->n]) != 0)
            return vc_err(err, errlen, VC_EINVAL,
                          "'%.*s' is not an address or CIDR with zero host bits",
                          (int)(t > 60 ? 60 : t), s);
        out->n++;
        if (s[len] == '\0')
            return 0;
        s += len + 1;
    }
}

int vc_netaddr_list_contains(const vc_netaddr_list_t *l, const vc_netaddr_t *a)
{
    for (size_t i = 0; i < l->n; i++)
        if (vc_netaddr_cidr_contains(&l->v[i], a))
            return 1;
    return 0;
}
