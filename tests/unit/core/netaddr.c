/* Unit tests for vc/netaddr.h: strict parsing, IPv4-mapped equivalence, CIDR membership,
 * lists as TRUSTED_PROXIES gives them, and the per-/64 rate-limit identity. */
#include "test.h"
#include "vc/error.h"
#include "vc/netaddr.h"

static vc_netaddr_t addr(const char *s)
{
    vc_netaddr_t a;
    if (vc_netaddr_parse(s, strlen(s), &a) != 0)
        VC_TEST_FAIL("cannot parse '%s'", s);
    return a;
}

static int parses(const char *s)
{
    vc_netaddr_t a;
    return vc_netaddr_parse(s, strlen(s), &a) == 0;
}

static void test_parse_strict(void)
{
    ASSERT(parses("127.0.0.1"));
    ASSERT(parses("2001:db8::1"));
    ASSERT(parses("::ffff:10.1.2.3"));
    static const char *const bad[] = {"",          "1.2.3",      "1.2.3.4.5",  "01.2.3.4",
                                      "256.1.1.1", "1.2.3.4 ",   " 1.2.3.4",   "[::1]",
                                      "::1%lo",    "1.2.3.4:80", "2001:db8::g", "unknown",
                                      "_hidden",   "::1/128",    "1.2.3.4/32"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (parses(bad[i]))
            VC_TEST_FAIL("'%s' parsed as an address", bad[i]);
    char longer[200];
    memset(longer, '1', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    ASSERT(!parses(longer));
    vc_netaddr_t a;
    ASSERT_EQ(vc_netaddr_parse("1.2.3.4\0", 8, &a), VC_EINVAL); /* embedded NUL */
    ASSERT_EQ(vc_netaddr_parse("1.2.3.45", 7, &a), 0);          /* len, not NUL, ends it */
}

static void test_mapped_is_v4(void)
{
    vc_netaddr_t a = addr("10.1.2.3"), b = addr("::ffff:10.1.2.3");
    ASSERT(memcmp(a.b, b.b, 16) == 0);
    ASSERT(vc_netaddr_is_v4(&b));
    ASSERT(!vc_netaddr_is_v4(&(vc_netaddr_t){{0}}));
    char buf[VC_NETADDR_STRLEN];
    ASSERT_OK(vc_netaddr_format(&b, buf, sizeof(buf)));
    ASSERT_STREQ(buf, "10.1.2.3");
    vc_netaddr_t c = addr("2001:DB8:0:0::1");
    ASSERT_OK(vc_netaddr_format(&c, buf, sizeof(buf)));
    ASSERT_STREQ(buf, "2001:db8::1");
    ASSERT_EQ(vc_netaddr_format(&c, buf, 5), VC_ERANGE);
}

static int cidr_ok(const char *s)
{
    vc_netaddr_cidr_t c;
    return vc_netaddr_cidr_parse(s, strlen(s), &c) == 0;
}

static int in(const char *cidr, const char *a)
{
    vc_netaddr_cidr_t c;
    if (vc_netaddr_cidr_parse(cidr, strlen(cidr), &c) != 0)
        VC_TEST_FAIL("cannot parse CIDR '%s'", cidr);
    vc_netaddr_t x = addr(a);
    return vc_netaddr_cidr_contains(&c, &x);
}

static void test_cidr(void)
{
    ASSERT(in("10.0.0.0/8", "10.255.1.2"));
    ASSERT(!in("10.0.0.0/8", "11.0.0.1"));
    ASSERT(in("10.0.0.0/8", "::ffff:10.9.9.9")); /* a dual-stack socket's mapped peer */
    ASSERT(in("127.0.0.1", "127.0.0.1"));
    ASSERT(!in("127.0.0.1", "127.0.0.2"));
    ASSERT(in("0.0.0.0/0", "8.8.8.8"));
    ASSERT(!in("0.0.0.0/0", "2001:db8::1")); /* IPv4 "everything" is not IPv6 */
    ASSERT(in("2001:db8::/32", "2001:db8:ffff::1"));
    ASSERT(!in("2001:db8::/32", "2001:db9::1"));
    ASSERT(in("::/0", "1.2.3.4"));
    ASSERT(in("192.168.1.128/25", "192.168.1.200"));
    ASSERT(!in("192.168.1.128/25", "192.168.1.127"));
    ASSERT(in("2001:db8::1/128", "2001:db8::1"));
    static const char *const bad[] = {"10.0.0.1/8", "10.0.0.0/33", "2001:db8::/129",
                                      "10.0.0.0/",  "10.0.0.0/-1", "10.0.0.0/8/8",
                                      "/8",         "10.0.0.0/ 8", "10.0.0.0/0008",
                                      "2001:db8::1/64", "host.example/32", "10.0.0.0/8x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (cidr_ok(bad[i]))
            VC_TEST_FAIL("'%s' parsed as a CIDR", bad[i]);
}

static void test_list(void)
{
    vc_netaddr_list_t l;
    char err[200] = "";
    ASSERT_OK(vc_netaddr_list_parse(NULL, &l, err, sizeof(err)));
    ASSERT_EQ(l.n, 0);
    ASSERT_OK(vc_netaddr_list_parse("  ", &l, err, sizeof(err)));
    ASSERT_EQ(l.n, 0);
    ASSERT_OK(vc_netaddr_list_parse("10.0.0.0/8, 2001:db8::/32 ,127.0.0.1", &l, err,
                                    sizeof(err)));
    ASSERT_EQ(l.n, 3);
    vc_netaddr_t a = addr("2001:db8::5"), b = addr("192.0.2.1");
    ASSERT(vc_netaddr_list_contains(&l, &a));
    ASSERT(!vc_netaddr_list_contains(&l, &b));
    static const char *const bad[] = {"10.0.0.0/8,", ",10.0.0.0/8", "10.0.0.0/8,,::1",
                                      "10.0.0.0/8;::1", "localhost", "10.0.0.0/8 ::1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        ASSERT_EQ(vc_netaddr_list_parse(bad[i], &l, err, sizeof(err)), VC_EINVAL);
        ASSERT(err[0] != '\0');
    }
    /* More entries than the list holds: refused, not cut. */
    char many[VC_NETADDR_LIST_MAX * 12 + 32];
    size_t used = 0;
    for (int i = 0; i <= VC_NETADDR_LIST_MAX; i++)
        used += (size_t)snprintf(many + used, sizeof(many) - used, "%s10.0.%d.1", i ? "," : "", i);
    ASSERT(used < sizeof(many));
    ASSERT_EQ(vc_netaddr_list_parse(many, &l, err, sizeof(err)), VC_EINVAL);
}

static void test_key(void)
{
    char k1[VC_NETADDR_KEYLEN], k2[VC_NETADDR_KEYLEN];
    vc_netaddr_t a = addr("2001:db8:1:2:aaaa::1"), b = addr("2001:db8:1:2:ffff:1:2:3");
    ASSERT_OK(vc_netaddr_key(&a, 64, k1, sizeof(k1)));
    ASSERT_OK(vc_netaddr_key(&b, 64, k2, sizeof(k2)));
    ASSERT_STREQ(k1, "2001:db8:1:2::/64");
    ASSERT_STREQ(k1, k2);
    vc_netaddr_t c = addr("2001:db8:1:3::1");
    ASSERT_OK(vc_netaddr_key(&c, 64, k2, sizeof(k2)));
    ASSERT(strcmp(k1, k2) != 0);
    ASSERT_OK(vc_netaddr_key(&a, 128, k1, sizeof(k1)));
    ASSERT_STREQ(k1, "2001:db8:1:2:aaaa::1");
    ASSERT_OK(vc_netaddr_key(&a, 48, k1, sizeof(k1)));
    ASSERT_STREQ(k1, "2001:db8:1::/48");
    vc_netaddr_t m = addr("::ffff:192.0.2.7"); /* IPv4 never masked */
    ASSERT_OK(vc_netaddr_key(&m, 64, k1, sizeof(k1)));
    ASSERT_STREQ(k1, "192.0.2.7");
    ASSERT_EQ(vc_netaddr_key(&a, 0, k1, sizeof(k1)), VC_EINVAL);
    ASSERT_EQ(vc_netaddr_key(&a, 129, k1, sizeof(k1)), VC_EINVAL);
    ASSERT_EQ(vc_netaddr_key(&a, 64, k1, 10), VC_ERANGE);
    vc_netaddr_t big = addr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe");
    ASSERT_OK(vc_netaddr_key(&big, 127, k1, sizeof(k1)));
    ASSERT_STREQ(k1, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127");
}

int main(void)
{
    RUN(test_parse_strict);
    RUN(test_mapped_is_v4);
    RUN(test_cidr);
    RUN(test_list);
    RUN(test_key);
    return 0;
}
