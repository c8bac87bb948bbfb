/* Forwarded / X-Forwarded-For: a forward pass validates every entry and keeps the last
 * VC_FORWARDED_MAX_HOPS in a ring (memory stays bounded however many hops a client invents),
 * then the walk goes right to left over the ring. */
#include "vc/forwarded.h"

#include <string.h>
#include <strings.h>

#include "vc/error.h"

#define NODE_MAX 256 /* a for= value after unquoting: longer is malformed */

typedef enum { NODE_ADDR, NODE_HIDDEN } node_kind_t; /* HIDDEN: unknown, _obf, no for= */

typedef struct {
    node_kind_t kind;
    vc_netaddr_t addr;
} node_t;

typedef struct {
    node_t ring[VC_FORWARDED_MAX_HOPS];
    size_t count; /* entries seen; the last min(count, MAX_HOPS) are in the ring */
} chain_t;

static void chain_push(chain_t *c, const node_t *n)
{
    c->ring[c->count % VC_FORWARDED_MAX_HOPS] = *n;
    c->count++;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_alnum(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* RFC 7230 tchar. */
static int is_tchar(char c)
{
    return is_alnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* RFC 7239 node-port: 1..5 digits up to 65535, or (Forwarded only) an obfuscated port. */
static int valid_port(const char *s, size_t len, int allow_obf)
{
    if (allow_obf && len >= 2 && s[0] == '_') {
        for (size_t i = 1; i < len; i++)
            if (!is_alnum(s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
                return 0;
        return 1;
    }
    if (len == 0 || len > 5)
        return 0;
    long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!is_digit(s[i]))
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    return v <= 65535;
}

/* "[v6]" or "[v6]:port". */
static int parse_bracketed(const char *s, size_t len, int fwd, node_t *n)
{
    const char *close = memchr(s, ']', len);
    if (close == NULL)
        return VC_EPROTO;
    size_t alen = (size_t)(close - s) - 1, rest = len - alen - 2;
    if (memchr(s + 1, ':', alen) == NULL || vc_netaddr_parse(s + 1, alen, &n->addr) != 0)
        return VC_EPROTO; /* brackets hold IPv6 text only */
    if (rest > 0 && (close[1] != ':' || !valid_port(close + 2, rest - 1, fwd)))
        return VC_EPROTO;
    n->kind = NODE_ADDR;
    return 0;
}

/* One node (RFC 7239 section 6; X-Forwarded-For's de-facto forms when !fwd). */
static int parse_node(const char *s, size_t len, int fwd, node_t *n)
{
    if (len == 0)
        return VC_EPROTO;
    if (len == 7 && strncasecmp(s, "unknown", 7) == 0) {
        n->kind = NODE_HIDDEN;
        return 0;
    }
    if (s[0] == '[')
        return parse_bracketed(s, len, fwd, n);
    if (fwd && s[0] == '_') { /* obfnode [":" node-port] */
        size_t i = 1;
        while (i < len && (is_alnum(s[i]) || s[i] == '.' || s[i] == '_' || s[i] == '-'))
            i++;
        if (i == 1 || (i < len && (s[i] != ':' || !valid_port(s + i + 1, len - i - 1, 1))))
            return VC_EPROTO;
        n->kind = NODE_HIDDEN;
        return 0;
    }
    const char *colon = memchr(s, ':', len);
    if (colon != NULL && memchr(colon + 1, ':', len - (size_t)(colon - s) - 1) != NULL) {
        /* a bare IPv6 address: RFC 7239 wants brackets, X-Forwarded-For writes it bare */
        if (fwd || vc_netaddr_parse(s, len, &n->addr) != 0)
            return VC_EPROTO;
        n->kind = NODE_ADDR;
        return 0;
    }
    size_t alen = colon != NULL ? (size_t)(colon - s) : len;
    if (memchr(s, '.', alen) == NULL || vc_netaddr_parse(s, alen, &n->addr) != 0)
        return VC_EPROTO;
    if (colon != NULL && !valid_port(colon + 1, len - alen - 1, fwd))
        return VC_EPROTO;
    n->kind = NODE_ADDR;
    return 0;
}

/* Reads a quoted-string at *p (after its opening quote) into buf, unescaping; leaves *p past
 * the closing quote. */
static int unquote(const char **p, const char *end, char *buf, size_t *blen)
{
    size_t k = 0;
    const char *q = *p;
    while (q < end && *q != '"') {
        unsigned char c = (unsigned char)*q;
        if (c == '\\') {
            if (++q == end)
                return VC_EPROTO;
            c = (unsigned char)*q;
        }
        if ((c < 0x20 && c != '\t') || c == 0x7f || k == NODE_MAX)
            return VC_EPROTO;
        buf[k++] = (char)c;
        q++;
    }
    if (q == end)
        return VC_EPROTO; /* no closing quote */
    *p = q + 1;
    *blen = k;
    return 0;
}

static const char *skip_ows(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

/* One forwarded-pair at *p: token "=" (token / quoted-string). A for= value is parsed into
 * *n and counted in *fors. */
static int parse_pair(const char **p, const char *end, node_t *n, int *fors)
{
    const char *name = *p;
    while (*p < end && is_tchar(**p))
        (*p)++;
    size_t nlen = (size_t)(*p - name);
    if (nlen == 0 || *p == end || **p != '=')
        return VC_EPROTO;
    (*p)++;
    char buf[NODE_MAX];
    size_t vlen = 0;
    const char *v = *p;
    if (*p < end && **p == '"') {
        (*p)++;
        if (unquote(p, end, buf, &vlen) != 0)
            return VC_EPROTO;
        v = buf;
    } else {
        while (*p < end && is_tchar(**p))
            (*p)++;
        vlen = (size_t)(*p - v);
        if (vlen == 0)
            return VC_EPROTO;
    }
    if (nlen != 3 || strncasecmp(name, "for", 3) != 0)
        return 0; /* by=, proto=, host=, extensions: not ours to judge */
    if (++*fors > 1)
        return VC_EPROTO; /* RFC 7239: each parameter at most once per element */
    return parse_node(v, vlen, 1, n);
}

/* One forwarded-element ending at ',' or end; *p is left on that ','. */
static int parse_fwd_element(const char **p, const char *end, node_t *n)
{
    int fors = 0, pairs = 0;
    n->kind = NODE_HIDDEN; /* no for=: the hop did not disclose its client */
    for (;;) {
        *p = skip_ows(*p, end);
        if (*p < end && **p != ';' && **p != ',') {
            if (parse_pair(p, end, n, &fors) != 0)
                return VC_EPROTO;
            pairs++;
            *p = skip_ows(*p, end);
        }
        if (*p == end || **p == ',')
            return pairs > 0 ? 0 : VC_EPROTO;
        if (**p != ';')
            return VC_EPROTO;
        (*p)++;
    }
}

/* One X-Forwarded-For entry ending at ',' or end; *p is left on that ','. */
static int parse_xff_element(const char **p, const char *end, node_t *n)
{
    const char *s = skip_ows(*p, end);
    const char *e = s;
    while (e < end && *e != ',')
        e++;
    *p = e;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    for (const char *c = s; c < e; c++)
        if (*c == ' ' || *c == '\t' || *c == '"' || (unsigned char)*c < 0x20)
            return VC_EPROTO;
    return parse_node(s, (size_t)(e - s), 0, n);
}

/* Validates the whole value and fills the chain with its entries. */
static int parse_chain(const char *value, int is_xff, chain_t *c)
{
    size_t len = strlen(value);
    if (len > VC_FORWARDED_MAX_LEN)
        return VC_ETOOBIG;
    const char *p = value, *end = value + len;
    c->count = 0;
    for (;;) {
        node_t n;
        int rc = is_xff ? parse_xff_element(&p, end, &n) : parse_fwd_element(&p, end, &n);
        if (rc != 0)
            return rc;
        chain_push(c, &n);
        if (p == end)
            return 0;
        p++; /* the ',' */
    }
}

int vc_forwarded_pick(const char *value, int is_xff, const vc_netaddr_list_t *trusted,
                      vc_netaddr_t *out)
{
    chain_t c; /* 1.1 KiB: fits a civetweb worker's 100 KiB stack */
    if (value == NULL)
        return VC_EPROTO;
    int rc = parse_chain(value, is_xff, &c);
    if (rc != 0)
        return rc;
    size_t kept = c.count < VC_FORWARDED_MAX_HOPS ? c.count : VC_FORWARDED_MAX_HOPS;
    for (size_t i = 0; i < kept; i++) {
        const node_t *n = &c.ring[(c.count - 1 - i) % VC_FORWARDED_MAX_HOPS];
        if (n->kind == NODE_HIDDEN)
            return VC_ENOTFOUND;
        if (!vc_netaddr_list_contains(trusted, &n->addr)) {
            *out = n->addr;
            return 0;
        }
    }
    if (c.count > kept)
        return VC_ETOOBIG; /* all walked entries trusted and more beyond: cannot tell */
    *out = c.ring[0].addr; /* every entry trusted: the farthest one is the client */
    return 0;
}

vc_forwarded_source_t vc_forwarded_client(const vc_netaddr_t *peer,
                                          const vc_netaddr_list_t *trusted,
                                          const char *forwarded, const char *xff,
                                          vc_netaddr_t *out)
{
    *out = *peer;
    if (trusted == NULL || !vc_netaddr_list_contains(trusted, peer) ||
        (forwarded == NULL && xff == NULL))
        return VC_FORWARDED_PEER;
    vc_netaddr_t a = {{0}}, b = {{0}};
    if (forwarded != NULL && vc_forwarded_pick(forwarded, 0, trusted, &a) != 0)
        return VC_FORWARDED_FALLBACK;
    if (xff != NULL && vc_forwarded_pick(xff, 1, trusted, &b) != 0)
        return VC_FORWARDED_FALLBACK;
    /* Both sent: a proxy that writes one passes the client's forgery of the other through,
     * so they must agree. */
    if (forwarded != NULL && xff != NULL && memcmp(a.b, b.b, 16) != 0)
        return VC_FORWARDED_FALLBACK;
    *out = forwarded != NULL ? a : b;
    return VC_FORWARDED_HEADER;
}
