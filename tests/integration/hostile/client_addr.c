/* Per-address limits behind proxies (TRUSTED_PROXIES, RATE_LIMIT_IPV6_PREFIX): with the TCP
 * peer trusted, clients named by X-Forwarded-For / Forwarded get quotas of their own, IPv6
 * clients of one /64 share one, an IPv4-mapped client is its IPv4 address, a forged entry left
 * of the proxy's does not move the client, and a malformed header counts against the peer.
 * Without TRUSTED_PROXIES the same headers are ignored: a spoofed X-Forwarded-For does not
 * escape the limit.
 *
 * Every request comes from a loopback source address of this run's own (127.A.B.x, bound
 * before connect), and the clients it names are this run's own too, so no other test's (or
 * the other pass's) counts in the shared Redis are in the way. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "hostile.h"

#define LIMIT 3 /* RATE_LIMIT_PER_IP_PER_MINUTE */

static hostile_t h;
static int o1, o2; /* this run's octets */

static int port_of(const char *base)
{
    const char *c = strrchr(base, ':');
    ASSERT(c != NULL);
    return (int)strtol(c + 1, NULL, 10);
}

/* One authenticated GET of an unknown detection from source address src, with the extra
 * header line hdr (may be NULL). Returns the status: 404 when admitted, 429 when limited. */
static int get_from(const char *src, const char *hdr)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    ASSERT(inet_pton(AF_INET, src, &a.sin_addr) == 1);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
        VC_TEST_FAIL("bind %s: %s", src, strerror(errno));
    struct sockaddr_in d = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port_of(h.base))};
    inet_pton(AF_INET, "127.0.0.1", &d.sin_addr);
    if (connect(fd, (struct sockaddr *)&d, sizeof(d)) != 0)
        VC_TEST_FAIL("connect from %s: %s", src, strerror(errno));
    char req[1024];
    int n = snprintf(req, sizeof(req),
                     "GET /v1/detections/no-such-%d HTTP/1.1\r\nHost: t\r\n"
                     "Authorization: Bearer %s\r\n%s%sConnection: close\r\n\r\n",
                     (int)getpid(), h.key, hdr != NULL ? hdr : "", hdr != NULL ? "\r\n" : "");
    ASSERT(n > 0 && (size_t)n < sizeof(req));
    ASSERT_OK(vc_raw_send(fd, req, (size_t)n));
    vc_raw_response_t r;
    int rc = vc_raw_read_response(fd, 15000, &r);
    int st = rc == 0 ? r.status : 0;
    if (st == 429 && strstr(r.head, "Retry-After:") == NULL)
        VC_TEST_FAIL("429 without Retry-After: %s", r.head);
    vc_raw_response_free(&r);
    close(fd);
    return st;
}

/* Expects `times` answers of status want for requests from src with header hdr. */
static void expect(const char *src, const char *hdr, int times, int want)
{
    for (int i = 0; i < times; i++) {
        int st = get_from(src, hdr);
        if (st != want) {
            vc_test_print_log(&h.gateway, 30);
            VC_TEST_FAIL("from %s with '%s' (#%d): status %d, want %d", src, hdr ? hdr : "-",
                         i + 1, st, want);
        }
    }
}

static char proxy[32], direct[32];

static void start(const char *trusted)
{
    static char t_env[80];
    snprintf(t_env, sizeof(t_env), "TRUSTED_PROXIES=%s", trusted);
    const char *extra[] = {"RATE_LIMIT_PER_IP_PER_MINUTE=3", t_env, NULL};
    hostile_start(&h, extra);
}

static void behind_a_trusted_proxy(void)
{
    char t[48], hdr[200], hdr2[200];
    snprintf(t, sizeof(t), "%s/32", proxy);
    start(t);
    /* two clients, two quotas */
    snprintf(hdr, sizeof(hdr), "X-Forwarded-For: 10.%d.%d.1", o1, o2);
    expect(proxy, hdr, LIMIT, 404);
    expect(proxy, hdr, 1, 429);
    snprintf(hdr2, sizeof(hdr2), "X-Forwarded-For: 10.%d.%d.2", o1, o2);
    expect(proxy, hdr2, 1, 404);
    /* the client forges an entry left of the one the proxy appended: still client .1 */
    snprintf(hdr, sizeof(hdr), "X-Forwarded-For: 10.%d.%d.99, 10.%d.%d.1", o1, o2, o1, o2);
    expect(proxy, hdr, 1, 429);
    /* IPv4-mapped IPv6 is the IPv4 client (.2 has used 1 of 3) */
    snprintf(hdr, sizeof(hdr), "X-Forwarded-For: ::ffff:10.%d.%d.2", o1, o2);
    expect(proxy, hdr, LIMIT - 1, 404);
    expect(proxy, hdr2, 1, 429);
    /* two IPv6 addresses of one /64 share a quota; the next /64 has its own */
    snprintf(hdr, sizeof(hdr), "X-Forwarded-For: 2001:db8:%x:%x::a", o1, o2);
    expect(proxy, hdr, LIMIT, 404);
    snprintf(hdr, sizeof(hdr), "X-Forwarded-For: [2001:db8:%x:%x:ffff:1:2:3]:4711", o1, o2);
    expect(proxy, hdr, 1, 429);
    snprintf(hdr, sizeof(hdr), "X-Forwarded-For: 2001:db8:%x:%x::a", o1, o2 + 1);
    expect(proxy, hdr, 1, 404);
    /* RFC 7239, quoted IPv6 with a port */
    snprintf(hdr, sizeof(hdr), "Forwarded: for=\"[2001:db8:%x:%x::1]:4711\";proto=http", o1,
             o2 + 2);
    expect(proxy, hdr, LIMIT, 404);
    snprintf(hdr, sizeof(hdr), "Forwarded: for=\"[2001:db8:%x:%x:9::9]\"", o1, o2 + 2);
    expect(proxy, hdr, 1, 429);
    /* garbage from the proxy counts against the proxy itself, never a made-up client */
    expect(proxy, "X-Forwarded-For: [2001:db8::1", 1, 404);
    expect(proxy, "Forwarded: for=unknown", 1, 404);
    expect(proxy, "X-Forwarded-For: _hidden", 1, 404);
    expect(proxy, NULL, 1, 429);
    char url[128], *text = NULL;
    snprintf(url, sizeof(url), "%s/metrics", h.base);
    ASSERT_EQ(vc_test_http_ops(url, &text), 200);
    if (strstr(text, "vc_http_client_addr_fallback_total 3") == NULL)
        VC_TEST_FAIL("want 3 fallbacks counted in /metrics:\n%s", text);
    free(text);
    hostile_expect_healthy(&h, "the trusted-proxy requests");
    hostile_stop(&h);
}

static void spoofing_without_trust(void)
{
    start(""); /* the default: nobody is trusted */
    char hdr[200];
    for (int i = 0; i < LIMIT; i++) {
        snprintf(hdr, sizeof(hdr), "X-Forwarded-For: 10.%d.%d.%d", o1, o2, 100 + i);
        expect(direct, hdr, 1, 404);
    }
    snprintf(hdr, sizeof(hdr), "X-Forwarded-For: 10.%d.%d.200", o1, o2);
    expect(direct, hdr, 1, 429);
    snprintf(hdr, sizeof(hdr), "Forwarded: for=10.%d.%d.201", o1, o2);
    expect(direct, hdr, 1, 429);
    /* and a peer outside TRUSTED_PROXIES is just as ignored when a list is set */
    hostile_stop(&h);
    char t[48];
    snprintf(t, sizeof(t), "%s/32", proxy);
    start(t);
    snprintf(hdr, sizeof(hdr), "X-Forwarded-For: 10.%d.%d.202", o1, o2);
    expect(direct, hdr, 1, 429); /* direct's quota is still used up */
    hostile_stop(&h);
}

static void bad_cidr_stops_startup(void)
{
    static const char *const bad[] = {"TRUSTED_PROXIES=10.0.0.1/8", "TRUSTED_PROXIES=nonsense",
                                      "TRUSTED_PROXIES=10.0.0.0/8,", "RATE_LIMIT_IPV6_PREFIX=16",
                                      "RATE_LIMIT_IPV6_PREFIX=129"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *env[] = {bad[i], NULL};
        vc_proc_t p;
        char name[32];
        snprintf(name, sizeof(name), "gateway-badcfg-%zu", i);
        vc_test_spawn(&p, name, "vc-gateway", env);
        int rc = hostile_wait_exit(&p, 30);
        size_t len = 0;
        char *log = vc_test_read_file(p.log_path, &len);
        char var[64];
        snprintf(var, sizeof(var), "%.*s", (int)strcspn(bad[i], "="), bad[i]);
        if (rc != 2 || !vc_test_contains(log, len, var))
            VC_TEST_FAIL("%s: exit %d (want 2), log: %s", bad[i], rc, log);
        free(log);
    }
}

int main(void)
{
    hostile_init(&h, "clientaddr");
    uint32_t seed = (uint32_t)getpid() * 2654435761u ^ (uint32_t)time(NULL);
    o1 = (int)(seed % 250) + 1;
    o2 = (int)((seed >> 8) % 240) + 1;
    snprintf(proxy, sizeof(proxy), "127.%d.%d.10", o1, o2);
    snprintf(direct, sizeof(direct), "127.%d.%d.11", o1, o2);
    fprintf(stderr, "proxy %s, direct client %s\n", proxy, direct);
    RUN(behind_a_trusted_proxy);
    RUN(spoofing_without_trust);
    RUN(bad_cidr_stops_startup);
    return 0;
}
