/* libFuzzer target: vc/forwarded.h and vc/netaddr.h (libs/core), the parsers of the
 * Forwarded / X-Forwarded-For headers a trusted proxy passes on from any client.
 *
 * The first input byte picks the grammar (even: Forwarded, odd: X-Forwarded-For); the rest is
 * the header value, in a buffer of exactly its size + NUL so a read past it is caught. The
 * properties: the pick returns only its documented codes, and a picked address is outside
 * the trusted list unless every entry was trusted; the same value picks the same address
 * twice; an untrusted peer is never moved by any header; a parsed address formats and parses
 * back to itself; a CIDR or list parse of the value never crashes. */
#include <string.h>

#include "fuzz.h"
#include "vc/forwarded.h"
#include "vc/netaddr.h"

static vc_netaddr_list_t trusted;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char err[128];
    return vc_netaddr_list_parse("10.0.0.0/8, 2001:db8:ffff::/48, 127.0.0.1", &trusted, err,
                                 sizeof(err));
}

static void check_pick(const char *value, int is_xff)
{
    vc_netaddr_t a = {{0}}, b = {{0}};
    int rc = vc_forwarded_pick(value, is_xff, &trusted, &a);
    FUZZ_CHECK(rc == 0 || rc == VC_EPROTO || rc == VC_ETOOBIG || rc == VC_ENOTFOUND, "rc %d",
               rc);
    int rc2 = vc_forwarded_pick(value, is_xff, &trusted, &b);
    FUZZ_CHECK(rc2 == rc && (rc != 0 || memcmp(a.b, b.b, 16) == 0), "not deterministic");
    vc_netaddr_t stranger, out;
    vc_netaddr_parse("198.51.100.1", 12, &stranger);
    int src = vc_forwarded_client(&stranger, &trusted, is_xff ? NULL : value,
                                  is_xff ? value : NULL, &out);
    FUZZ_CHECK(src == VC_FORWARDED_PEER && memcmp(out.b, stranger.b, 16) == 0,
               "an untrusted peer was moved (source %d)", src);
}

static void check_addr(const char *text, size_t n)
{
    vc_netaddr_t a, b;
    if (vc_netaddr_parse(text, n, &a) == 0) {
        char buf[VC_NETADDR_STRLEN], key[VC_NETADDR_KEYLEN];
        FUZZ_CHECK(vc_netaddr_format(&a, buf, sizeof(buf)) == 0, "format");
        FUZZ_CHECK(vc_netaddr_parse(buf, strlen(buf), &b) == 0 && memcmp(a.b, b.b, 16) == 0,
                   "'%s' does not parse back", buf);
        FUZZ_CHECK(vc_netaddr_key(&a, 64, key, sizeof(key)) == 0, "key");
    }
    vc_netaddr_cidr_t c;
    if (vc_netaddr_cidr_parse(text, n, &c) == 0)
        FUZZ_CHECK(vc_netaddr_cidr_contains(&c, &c.net), "a CIDR without its own network");
    vc_netaddr_list_t l;
    char err[128];
    (void)vc_netaddr_list_parse(text, &l, err, sizeof(err));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t n = size - 1;
    char *text = malloc(n + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data + 1, n);
    text[n] = '\0';
    if (strlen(text) == n) { /* header values hold no NUL */
        check_pick(text, data[0] & 1);
        check_addr(text, n);
    }
    free(text);
    return 0;
}
