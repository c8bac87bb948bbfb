/* Unit tests for vc/forwarded.h: the rightmost-untrusted walk, RFC 7239 syntax (quoted IPv6
 * with ports, obfuscated and unknown nodes), X-Forwarded-For forms, and hostile values that
 * must fall back to the TCP peer: overlong, 1000 hops, unclosed brackets and quotes, bare
 * IPv6 in Forwarded, duplicated for=, disagreeing headers, spoofing from untrusted peers. */
#include "test.h"
#include "vc/error.h"
#include "vc/forwarded.h"

static vc_netaddr_list_t trusted; /* 10.0.0.0/8, 2001:db8:ffff::/48, 127.0.0.1 */

static vc_netaddr_t addr(const char *s)
{
    vc_netaddr_t a;
    if (vc_netaddr_parse(s, strlen(s), &a) != 0)
        VC_TEST_FAIL("cannot parse '%s'", s);
    return a;
}

static const char *fmt(const vc_netaddr_t *a)
{
    static char buf[VC_NETADDR_STRLEN];
    if (vc_netaddr_format(a, buf, sizeof(buf)) != 0)
        return "?";
    return buf;
}

/* Expects value to pick want (an address) or to fail with rc. */
static void pick(const char *value, int is_xff, const char *want, int rc)
{
    vc_netaddr_t out = {{0}};
    int got = vc_forwarded_pick(value, is_xff, &trusted, &out);
    if (want == NULL) {
        if (got != rc)
            VC_TEST_FAIL("%s '%.80s': returned %d (%s), want %d", is_xff ? "XFF" : "Forwarded",
                         value, got, got == 0 ? fmt(&out) : "-", rc);
        return;
    }
    if (got != 0)
        VC_TEST_FAIL("%s '%.80s': returned %d, want %s", is_xff ? "XFF" : "Forwarded", value,
                     got, want);
    char got_s[VC_NETADDR_STRLEN], want_s[VC_NETADDR_STRLEN];
    vc_netaddr_t w = addr(want);
    ASSERT_OK(vc_netaddr_format(&out, got_s, sizeof(got_s)));
    ASSERT_OK(vc_netaddr_format(&w, want_s, sizeof(want_s)));
    ASSERT_STREQ(got_s, want_s);
}

static void test_xff_walk(void)
{
    pick("203.0.113.7", 1, "203.0.113.7", 0);
    pick("203.0.113.7, 10.0.0.2", 1, "203.0.113.7", 0);
    pick("6.6.6.6, 203.0.113.7, 10.0.0.2, 10.0.0.3", 1, "203.0.113.7", 0); /* forged left */
    pick("10.1.1.1, 10.0.0.2", 1, "10.1.1.1", 0); /* all trusted: the farthest */
    pick(" 203.0.113.7 ,\t10.0.0.2 ", 1, "203.0.113.7", 0);
    pick("203.0.113.7:4711", 1, "203.0.113.7", 0);
    pick("2001:db8::1", 1, "2001:db8::1", 0);
    pick("[2001:db8::1]:4711, 10.0.0.2", 1, "2001:db8::1", 0);
    pick("[2001:db8::1]", 1, "2001:db8::1", 0);
    pick("::ffff:203.0.113.9", 1, "203.0.113.9", 0);
    pick("::ffff:10.0.0.9, 203.0.113.9", 1, "203.0.113.9", 0);
    pick("2001:db8::1, 2001:db8:ffff:1::5", 1, "2001:db8::1", 0); /* trusted v6 hop */
}

static void test_xff_hostile(void)
{
    static const char *const bad[] = {
        "",
        " ",
        ",",
        "203.0.113.7,",
        "203.0.113.7,,10.0.0.2",
        "203.0.113.7 10.0.0.2",
        "[2001:db8::1",
        "2001:db8::1]",
        "[2001:db8::1]x",
        "[2001:db8::1]:",
        "[2001:db8::1]:99999",
        "[203.0.113.7]",
        "203.0.113.7:",
        "203.0.113.7:http",
        "203.0.113.7:80:81",
        "203.0.113.256",
        "203.0.113",
        "host.example",
        "_hidden", /* obfuscation is Forwarded's, not X-Forwarded-For's */
        "\"203.0.113.7\"",
        "203.0.113.7\r\n",
        "fe80::1%eth0",
        "203.0.113.7/32",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        pick(bad[i], 1, NULL, VC_EPROTO);
    /* garbage anywhere, even left of the client, is garbage */
    pick("not-an-ip, 203.0.113.7, 10.0.0.2", 1, NULL, VC_EPROTO);
    pick("unknown, 10.0.0.2", 1, NULL, VC_ENOTFOUND);
    pick("203.0.113.7, unknown, 10.0.0.2", 1, NULL, VC_ENOTFOUND);
    pick("unknown, 203.0.113.7, 10.0.0.2", 1, "203.0.113.7", 0);
}

/* "for=..." repeated n times (the last m of them trusted), written into a malloc'd string. */
static char *hops(int n, int trusted_tail, int is_xff)
{
    char *s = malloc((size_t)n * 24 + 1);
    ASSERT(s != NULL);
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        int tr = i >= n - trusted_tail;
        k += (size_t)snprintf(s + k, 25, "%s%s%s.%d.%d", i ? "," : "", is_xff ? "" : "for=",
                              tr ? "10.0" : "9.9", (i / 250) % 250, i % 250 + 1);
    }
    s[k] = '\0';
    return s;
}

static void test_many_hops(void)
{
    for (int x = 0; x <= 1; x++) {
        /* 1000 hops, the last 3 trusted: bounded memory, the right client */
        char *s = hops(1000, 3, x);
        pick(s, x, "9.9.3.247", 0); /* entry 996 */
        free(s);
        /* 1000 trusted hops: more than can be walked, so no guess */
        s = hops(1000, 1000, x);
        pick(s, x, NULL, VC_ETOOBIG);
        free(s);
        /* exactly the walkable number of trusted hops: the farthest */
        s = hops(VC_FORWARDED_MAX_HOPS, VC_FORWARDED_MAX_HOPS, x);
        pick(s, x, "10.0.0.1", 0);
        free(s);
    }
    /* over the length cap */
    char *big = malloc(VC_FORWARDED_MAX_LEN + 64);
    ASSERT(big != NULL);
    size_t k = 0;
    while (k < VC_FORWARDED_MAX_LEN + 1)
        k += (size_t)snprintf(big + k, 24, "%s203.0.113.7", k ? "," : "");
    pick(big, 1, NULL, VC_ETOOBIG);
    free(big);
}

static void test_forwarded_syntax(void)
{
    pick("for=192.0.2.60;proto=http;by=203.0.113.43", 0, "192.0.2.60", 0);
    pick("for=\"[2001:db8::1]:4711\"", 0, "2001:db8::1", 0);
    pick("for=\"[2001:db8::1]\", for=10.0.0.2", 0, "2001:db8::1", 0);
    pick("For=\"192.0.2.60:4711\"", 0, "192.0.2.60", 0);
    pick("for=192.0.2.43, for=198.51.100.17", 0, "198.51.100.17", 0);
    pick("for=6.6.6.6, for=198.51.100.17;by=10.0.0.1, for=10.0.0.3", 0, "198.51.100.17", 0);
    pick("proto=https;for=\"198.51.100.17\" ; host=example.com", 0, "198.51.100.17", 0);
    pick("for=\"[2001:db8::1]:_port\"", 0, "2001:db8::1", 0);
    pick("for=\"\\[2001:db8::1\\]\"", 0, "2001:db8::1", 0); /* quoted-pairs unescape */
    pick("for=\"a,b\";x=1, for=198.51.100.17", 0, NULL, VC_EPROTO); /* comma in quotes */
    pick("for=\"x;y\", for=198.51.100.17", 0, NULL, VC_EPROTO);
    pick("ext=\"a,b;c\";for=198.51.100.17", 0, "198.51.100.17", 0);
    pick("for=198.51.100.17;;proto=http", 0, "198.51.100.17", 0);
    pick("for=_hidden, for=10.0.0.2", 0, NULL, VC_ENOTFOUND);
    pick("for=\"_hidden:_p\", for=10.0.0.2", 0, NULL, VC_ENOTFOUND);
    pick("for=unknown", 0, NULL, VC_ENOTFOUND);
    pick("for=UNKNOWN, for=10.0.0.2", 0, NULL, VC_ENOTFOUND);
    pick("by=10.0.0.9;proto=https", 0, NULL, VC_ENOTFOUND); /* hop without for= */
    pick("for=_hidden, for=198.51.100.17, for=10.0.0.2", 0, "198.51.100.17", 0);
}

static void test_forwarded_hostile(void)
{
    static const char *const bad[] = {
        "",
        "for",
        "for=",
        "=1.2.3.4",
        "for=\"\"",
        "for=\"[2001:db8::1\"",           /* bracket without closing */
        "for=\"[2001:db8::1]:\"",         /* colon without port */
        "for=\"[2001:db8::1]:65536\"",
        "for=\"[2001:db8::1]4711\"",
        "for=\"2001:db8::1\"",            /* RFC 7239 wants brackets */
        "for=2001:db8::1",
        "for=[2001:db8::1]",              /* brackets are not token characters */
        "for=\"192.0.2.60",               /* quote without closing */
        "for=\"192.0.2.60\\",
        "for=192.0.2.60;for=198.51.100.17", /* for= twice in one element */
        "for=192.0.2.60 proto=http",
        "for=192.0.2.60,",
        ",for=192.0.2.60",
        "for=192.0.2.60,,for=10.0.0.2",
        "for=192.0.2.60, ;",
        "for=_",
        "for=_hid$den",
        "for=\"_hidden:\"",
        "for=\"192.0.2.60:_x:1\"",
        "for=\"host.example\"",
        "for=\"192.0.2.60\x01\"",
        "for=\"[::ffff:1.2.3.4%eth0]\"",
        "for=192.0.2.60\r\nX-Evil: 1",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        pick(bad[i], 0, NULL, VC_EPROTO);
    /* a for= value longer than any node */
    char q[600];
    int n = snprintf(q, sizeof(q), "for=\"");
    memset(q + n, '1', 400);
    snprintf(q + n + 400, sizeof(q) - (size_t)n - 400, "\"");
    pick(q, 0, NULL, VC_EPROTO);
}

static void test_client(void)
{
    vc_netaddr_t peer = addr("127.0.0.1"), stranger = addr("198.51.100.1"), out;
    /* untrusted peer: headers ignored completely, however plausible */
    ASSERT_EQ(vc_forwarded_client(&stranger, &trusted, "for=203.0.113.7", "203.0.113.7", &out),
              VC_FORWARDED_PEER);
    ASSERT_STREQ(fmt(&out), "198.51.100.1");
    /* no list at all: the same */
    vc_netaddr_list_t none = {0};
    ASSERT_EQ(vc_forwarded_client(&peer, &none, NULL, "203.0.113.7", &out), VC_FORWARDED_PEER);
    ASSERT_STREQ(fmt(&out), "127.0.0.1");
    ASSERT_EQ(vc_forwarded_client(&peer, &trusted, NULL, NULL, &out), VC_FORWARDED_PEER);
    ASSERT_EQ(vc_forwarded_client(&peer, &trusted, NULL, "203.0.113.7", &out),
              VC_FORWARDED_HEADER);
    ASSERT_STREQ(fmt(&out), "203.0.113.7");
    ASSERT_EQ(vc_forwarded_client(&peer, &trusted, "for=\"[2001:db8::7]:1\"", NULL, &out),
              VC_FORWARDED_HEADER);
    ASSERT_STREQ(fmt(&out), "2001:db8::7");
    ASSERT_EQ(vc_forwarded_client(&peer, &trusted, "for=203.0.113.7", "203.0.113.7", &out),
              VC_FORWARDED_HEADER);
    /* the proxy wrote one, the client forged the other: they disagree, so neither */
    ASSERT_EQ(vc_forwarded_client(&peer, &trusted, "for=6.6.6.6", "203.0.113.7", &out),
              VC_FORWARDED_FALLBACK);
    ASSERT_STREQ(fmt(&out), "127.0.0.1");
    ASSERT_EQ(vc_forwarded_client(&peer, &trusted, NULL, "[2001:db8::1", &out),
              VC_FORWARDED_FALLBACK);
    ASSERT_STREQ(fmt(&out), "127.0.0.1");
    ASSERT_EQ(vc_forwarded_client(&peer, &trusted, "for=unknown", NULL, &out),
              VC_FORWARDED_FALLBACK);
    vc_netaddr_t mapped = addr("::ffff:127.0.0.1"); /* a dual-stack listener's view */
    ASSERT_EQ(vc_forwarded_client(&mapped, &trusted, NULL, "203.0.113.7", &out),
              VC_FORWARDED_HEADER);
}

int main(void)
{
    char err[128];
    ASSERT_OK(vc_netaddr_list_parse("10.0.0.0/8,2001:db8:ffff::/48,127.0.0.1", &trusted, err,
                                    sizeof(err)));
    RUN(test_xff_walk);
    RUN(test_xff_hostile);
    RUN(test_many_hops);
    RUN(test_forwarded_syntax);
    RUN(test_forwarded_hostile);
    RUN(test_client);
    return 0;
}
