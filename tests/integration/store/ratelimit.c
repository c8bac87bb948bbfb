/* Integration tests for vc/ratelimit.h against a real Redis (VC_TEST_REDIS_URL): exact
 * sliding-window counts, Retry-After that is never early, recovery after SCRIPT FLUSH,
 * atomicity across connections, and the failure policy with its circuit breaker (a closed
 * port, and a Redis that hangs under CLIENT PAUSE). Keys carry a per-run prefix. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "vc/breaker.h"
#include "vc/clock.h"
#include "vc/error.h"
#include "vc/ratelimit.h"
#include "vc/redis.h"

static const char *redis_url;
static char prefix[64];

static void sleep_ms(int64_t ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static vc_ratelimit_t *make(const char *url, long limit, long long window_ms,
                            vc_ratelimit_policy_t policy)
{
    vc_ratelimit_opts_t o;
    vc_ratelimit_opts_default(&o);
    o.redis_url = url;
    o.limit = limit;
    o.window_ms = window_ms;
    o.policy = policy;
    o.key_prefix = prefix;
    o.redis_timeout_ms = 200;
    o.breaker_failures = 3;
    o.breaker_open_ms = 60000;
    vc_ratelimit_t *rl = NULL;
    char err[256] = "";
    int rc = vc_ratelimit_new(&o, &rl, err, sizeof(err));
    if (rc != 0)
        VC_TEST_FAIL("vc_ratelimit_new: %d %s", rc, err);
    return rl;
}

static void check(vc_ratelimit_t *rl, const char *scope, const char *id, long limit,
                  vc_ratelimit_result_t *res)
{
    ASSERT_OK(vc_ratelimit_check(rl, scope, id, strlen(id), limit, res));
}

/* Sends one command to the test Redis (SCRIPT FLUSH, CLIENT PAUSE...). */
static void admin_cmd(int argc, const char **argv)
{
    vc_redis_opts_t o = {.url = redis_url,
                         .size = 1,
                         .dial_timeout_ms = 2000,
                         .io_timeout_ms = 2000,
                         .pool_timeout_ms = 2000};
    vc_redis_pool_t *pool = NULL;
    char err[256] = "";
    ASSERT_OK(vc_redis_pool_new(&o, &pool, err, sizeof(err)));
    redisReply *r = NULL;
    int rc = vc_redis_command(pool, argc, argv, NULL, &r, err, sizeof(err));
    if (rc != 0)
        VC_TEST_FAIL("redis %s: %s", argv[0], err);
    freeReplyObject(r);
    vc_redis_pool_free(pool);
}

/* Exactly `limit` allowed in the window, the next refused with an exact Retry-After, and
 * allowed again once the oldest request slid out. */
static void test_exact_window(void)
{
    vc_ratelimit_t *rl = make(redis_url, 5, 2000, VC_RL_FAIL_OPEN);
    vc_ratelimit_result_t res;
    int64_t first_start = vc_clock_mono_ms(), first_end = 0;
    for (long i = 0; i < 5; i++) {
        check(rl, "key", "exact", 0, &res);
        if (i == 0)
            first_end = vc_clock_mono_ms();
        ASSERT_EQ(res.allowed, 1);
        ASSERT_EQ(res.source, VC_RL_SOURCE_REDIS);
        ASSERT_EQ(res.limit, 5);
        ASSERT_EQ(res.remaining, 4 - i);
        ASSERT_EQ(res.window_ms, 2000);
        ASSERT_EQ(res.retry_after_ms, 0);
        ASSERT(res.reset_ms > 0 && res.reset_ms <= 2000);
    }
    int64_t sixth_start = vc_clock_mono_ms();
    check(rl, "key", "exact", 0, &res);
    int64_t sixth_end = vc_clock_mono_ms();
    ASSERT_EQ(res.allowed, 0);
    ASSERT_EQ(res.remaining, 0);
    ASSERT_EQ(res.source, VC_RL_SOURCE_REDIS);
    /* The first request happened in [first_start, sixth_start]; it leaves 2 s later. */
    ASSERT(res.retry_after_ms >= 2000 - (sixth_end - first_start) - 1);
    ASSERT(res.retry_after_ms <= 2000 - (sixth_start - first_end) + 1);
    fprintf(stderr, "   retry_after_ms=%lld\n", res.retry_after_ms);
    /* Refused requests are not counted: hammering does not extend the block. */
    for (int i = 0; i < 20; i++) {
        check(rl, "key", "exact", 0, &res);
        ASSERT_EQ(res.allowed, 0);
    }
    /* Shortly before the retry time: still refused, with a consistent, shrinking wait. */
    check(rl, "key", "exact", 0, &res);
    int64_t retry_at = vc_clock_mono_ms() + res.retry_after_ms;
    if (res.retry_after_ms > 150) {
        sleep_ms(res.retry_after_ms - 100);
        int64_t t0 = vc_clock_mono_ms();
        check(rl, "key", "exact", 0, &res);
        if (t0 < retry_at - 20) { /* skipped when this machine overslept */
            ASSERT_EQ(res.allowed, 0);
            ASSERT(res.retry_after_ms <= retry_at - t0 + 1);
            retry_at = vc_clock_mono_ms() + res.retry_after_ms;
        }
    }
    /* At the Retry-After instant: allowed (never told to come back too early). */
    sleep_ms(retry_at - vc_clock_mono_ms());
    check(rl, "key", "exact", 0, &res);
    ASSERT_EQ(res.allowed, 1);
    ASSERT(res.remaining <= 4);
    vc_ratelimit_free(rl);
}

/* Spread requests: after the oldest slides out exactly one more is allowed (a fixed window
 * would allow a whole new batch). */
static void test_sliding(void)
{
    vc_ratelimit_t *rl = make(redis_url, 3, 2000, VC_RL_FAIL_OPEN);
    vc_ratelimit_result_t res;
    int64_t before[3], after[3]; /* each request happened in [before, after] */
    for (int i = 0; i < 3; i++) {
        before[i] = vc_clock_mono_ms();
        check(rl, "ip", "192.0.2.7", 0, &res);
        after[i] = vc_clock_mono_ms();
        ASSERT_EQ(res.allowed, 1);
        if (i < 2)
            sleep_ms(500);
    }
    check(rl, "ip", "192.0.2.7", 0, &res);
    ASSERT_EQ(res.allowed, 0);
    /* Wait until the first request has surely left the window. */
    sleep_ms(after[0] + 2000 + 5 - vc_clock_mono_ms());
    check(rl, "ip", "192.0.2.7", 0, &res);
    ASSERT_EQ(res.allowed, 1);
    ASSERT_EQ(res.remaining, 0);
    /* The second request still counts: refused until exactly when it leaves too. */
    int64_t t0 = vc_clock_mono_ms();
    check(rl, "ip", "192.0.2.7", 0, &res);
    int64_t t1 = vc_clock_mono_ms();
    ASSERT_EQ(res.allowed, 0);
    ASSERT(res.retry_after_ms >= before[1] + 2000 - t1 - 1);
    ASSERT(res.retry_after_ms <= after[1] + 2000 - t0 + 1);
    vc_ratelimit_free(rl);
}

/* Several scopes in one call: allowed only when every scope allows, counted in all or none;
 * the refusing scope carries the exact Retry-After, the others their own state. */
static void test_all_scopes(void)
{
    vc_ratelimit_t *rl = make(redis_url, 100, 5000, VC_RL_FAIL_OPEN);
    vc_ratelimit_req_t q[2] = {{.scope = "ip", .id = "198.51.100.4", .idlen = 12, .limit = 5},
                               {.scope = "key", .id = "77", .idlen = 2, .limit = 2}};
    vc_ratelimit_result_t res[2];
    int allowed = 0;
    for (int i = 0; i < 2; i++) {
        ASSERT_OK(vc_ratelimit_check_all(rl, q, 2, res, &allowed));
        ASSERT_EQ(allowed, 1);
        ASSERT_EQ(res[0].allowed, 1);
        ASSERT_EQ(res[0].remaining, 4 - i);
        ASSERT_EQ(res[1].remaining, 1 - i);
        ASSERT_EQ(res[1].source, VC_RL_SOURCE_REDIS);
        ASSERT_EQ(res[1].limit, 2);
    }
    ASSERT_OK(vc_ratelimit_check_all(rl, q, 2, res, &allowed));
    ASSERT_EQ(allowed, 0);
    ASSERT_EQ(res[0].allowed, 1); /* the address is under its quota... */
    ASSERT_EQ(res[0].remaining, 3);
    ASSERT_EQ(res[0].retry_after_ms, 0);
    ASSERT_EQ(res[1].allowed, 0); /* ...the key is not */
    ASSERT(res[1].retry_after_ms > 0 && res[1].retry_after_ms <= 5000);
    /* The refused request was not counted against the address. */
    vc_ratelimit_result_t one;
    check(rl, "ip", "198.51.100.4", 5, &one);
    ASSERT_EQ(one.allowed, 1);
    ASSERT_EQ(one.remaining, 2);
    /* Argument checks. */
    ASSERT_EQ(vc_ratelimit_check_all(rl, q, 0, res, &allowed), VC_EINVAL);
    vc_ratelimit_req_t many[VC_RATELIMIT_MAX_SCOPES + 1];
    for (size_t i = 0; i <= VC_RATELIMIT_MAX_SCOPES; i++)
        many[i] = q[0];
    vc_ratelimit_result_t mres[VC_RATELIMIT_MAX_SCOPES + 1];
    ASSERT_EQ(vc_ratelimit_check_all(rl, many, VC_RATELIMIT_MAX_SCOPES + 1, mres, &allowed),
              VC_EINVAL);
    vc_ratelimit_req_t bad[2] = {q[0], {.scope = "Key", .id = "1", .idlen = 1}};
    ASSERT_EQ(vc_ratelimit_check_all(rl, bad, 2, res, &allowed), VC_EINVAL);
    vc_ratelimit_free(rl);
}

/* Per-key limits, independent keys and scopes, argument checks. */
static void test_keys_and_overrides(void)
{
    vc_ratelimit_t *rl = make(redis_url, 100, 60000, VC_RL_FAIL_OPEN);
    vc_ratelimit_result_t res;
    for (int i = 0; i < 2; i++) {
        check(rl, "key", "override", 2, &res);
        ASSERT_EQ(res.allowed, 1);
        ASSERT_EQ(res.limit, 2);
    }
    check(rl, "key", "override", 2, &res);
    ASSERT_EQ(res.allowed, 0);
    /* The same id under another scope, and another id: untouched. */
    check(rl, "ip", "override", 2, &res);
    ASSERT_EQ(res.allowed, 1);
    check(rl, "key", "override2", 2, &res);
    ASSERT_EQ(res.allowed, 1);
    /* A raised limit applies at once; a lowered one refuses until enough left. */
    check(rl, "key", "override", 3, &res);
    ASSERT_EQ(res.allowed, 1);
    ASSERT_EQ(res.remaining, 0);
    check(rl, "key", "override", 1, &res);
    ASSERT_EQ(res.allowed, 0);
    ASSERT(res.retry_after_ms > 59000 && res.retry_after_ms <= 60000);
    /* Binary-safe ids. */
    ASSERT_OK(vc_ratelimit_check(rl, "key", "a\0b", 3, 1, &res));
    ASSERT_EQ(res.allowed, 1);
    ASSERT_OK(vc_ratelimit_check(rl, "key", "a\0c", 3, 1, &res));
    ASSERT_EQ(res.allowed, 1);
    ASSERT_EQ(vc_ratelimit_check(rl, "KEY", "x", 1, 0, &res), VC_EINVAL);
    ASSERT_EQ(vc_ratelimit_check(rl, "key:x", "x", 1, 0, &res), VC_EINVAL);
    ASSERT_EQ(vc_ratelimit_check(rl, "key", "", 0, 0, &res), VC_EINVAL);
    char big[VC_RATELIMIT_MAX_ID + 1];
    memset(big, 'x', sizeof(big));
    ASSERT_EQ(vc_ratelimit_check(rl, "key", big, sizeof(big), 0, &res), VC_EINVAL);
    ASSERT_OK(vc_ratelimit_check(rl, "key", big, sizeof(big) - 1, 0, &res));
    vc_ratelimit_free(rl);
}

static void test_noscript_recovery(void)
{
    vc_ratelimit_t *rl = make(redis_url, 10, 60000, VC_RL_FAIL_OPEN);
    vc_ratelimit_result_t res;
    vc_ratelimit_stats_t st;
    const char *flush[] = {"SCRIPT", "FLUSH"};
    admin_cmd(2, flush);
    check(rl, "key", "noscript", 0, &res); /* not cached yet: NOSCRIPT → EVAL */
    ASSERT_EQ(res.source, VC_RL_SOURCE_REDIS);
    vc_ratelimit_stats(rl, &st);
    ASSERT_EQ(st.script_reloads, 1);
    check(rl, "key", "noscript", 0, &res); /* EVALSHA hits */
    vc_ratelimit_stats(rl, &st);
    ASSERT_EQ(st.script_reloads, 1);
    admin_cmd(2, flush);
    check(rl, "key", "noscript", 0, &res);
    ASSERT_EQ(res.allowed, 1);
    ASSERT_EQ(res.source, VC_RL_SOURCE_REDIS);
    ASSERT_EQ(res.remaining, 7);
    vc_ratelimit_stats(rl, &st);
    ASSERT_EQ(st.script_reloads, 2);
    ASSERT_EQ(st.redis_errors, 0);
    ASSERT_EQ(st.fallback, 0);
    vc_ratelimit_free(rl);
}

#define NTHREADS 4
#define PER_THREAD 60

typedef struct {
    vc_ratelimit_t *rl;
    int allowed;
} worker_t;

static void *worker(void *p)
{
    worker_t *w = p;
    vc_ratelimit_result_t res;
    for (int i = 0; i < PER_THREAD; i++) {
        check(w->rl, "key", "contended", 0, &res);
        ASSERT_EQ(res.source, VC_RL_SOURCE_REDIS);
        w->allowed += res.allowed;
    }
    return NULL;
}

/* Many connections at once: the script is atomic, so exactly `limit` get through. */
static void test_atomic_under_contention(void)
{
    vc_ratelimit_t *rl = make(redis_url, 50, 60000, VC_RL_FAIL_OPEN);
    pthread_t th[NTHREADS];
    worker_t w[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        w[i].rl = rl;
        w[i].allowed = 0;
        ASSERT_OK(pthread_create(&th[i], NULL, worker, &w[i]));
    }
    int total = 0;
    for (int i = 0; i < NTHREADS; i++) {
        ASSERT_OK(pthread_join(th[i], NULL));
        total += w[i].allowed;
    }
    ASSERT_EQ(total, 50);
    vc_ratelimit_stats_t st;
    vc_ratelimit_stats(rl, &st);
    ASSERT_EQ(st.allowed, 50);
    ASSERT_EQ(st.denied, NTHREADS * PER_THREAD - 50);
    vc_ratelimit_free(rl);
}

static void test_headers(void)
{
    vc_ratelimit_result_t res = {
        .allowed = 1, .limit = 100, .remaining = 42, .window_ms = 60000, .reset_ms = 16001};
    char buf[64];
    ASSERT_OK(vc_ratelimit_policy_header(&res, "key", buf, sizeof(buf)));
    ASSERT_STREQ(buf, "\"key\";q=100;w=60");
    ASSERT_OK(vc_ratelimit_state_header(&res, "key", buf, sizeof(buf)));
    ASSERT_STREQ(buf, "\"key\";r=42;t=17");
    res.allowed = 0;
    res.remaining = 0;
    res.retry_after_ms = 2001;
    ASSERT_EQ(vc_ratelimit_retry_after_s(&res), 3);
    ASSERT_OK(vc_ratelimit_state_header(&res, "ip", buf, sizeof(buf)));
    ASSERT_STREQ(buf, "\"ip\";r=0;t=3");
    res.retry_after_ms = 1;
    ASSERT_EQ(vc_ratelimit_retry_after_s(&res), 1);
    res.retry_after_ms = 1000;
    ASSERT_EQ(vc_ratelimit_retry_after_s(&res), 1);
    ASSERT_EQ(vc_ratelimit_policy_header(&res, "Bad\"", buf, sizeof(buf)), VC_EINVAL);
    ASSERT_EQ(vc_ratelimit_policy_header(&res, "key", buf, 8), VC_ETOOBIG);
}

/* A port on 127.0.0.1 with nothing listening (bound once, then closed). */
static int dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_OK(bind(fd, (struct sockaddr *)&a, sizeof(a)));
    socklen_t len = sizeof(a);
    ASSERT_OK(getsockname(fd, (struct sockaddr *)&a, &len));
    close(fd);
    return ntohs(a.sin_port);
}

/* Redis unreachable, policy open: the local limiter keeps the same semantics, the breaker
 * opens after 3 failures and later checks never touch Redis. */
static void test_fail_open(void)
{
    char url[64];
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", dead_port());
    vc_ratelimit_t *rl = make(url, 3, 2000, VC_RL_FAIL_OPEN);
    vc_ratelimit_result_t res;
    vc_ratelimit_stats_t st;
    int64_t t0 = vc_clock_mono_ms();
    for (int i = 0; i < 3; i++) {
        check(rl, "key", "down", 0, &res);
        ASSERT_EQ(res.allowed, 1);
        ASSERT_EQ(res.source, VC_RL_SOURCE_LOCAL);
        ASSERT_EQ(res.remaining, 2 - i);
    }
    check(rl, "key", "down", 0, &res);
    ASSERT_EQ(res.allowed, 0);
    ASSERT_EQ(res.source, VC_RL_SOURCE_LOCAL);
    ASSERT(res.retry_after_ms > 0 && res.retry_after_ms <= 2000);
    vc_ratelimit_stats(rl, &st);
    ASSERT_EQ(st.redis_errors, 3);
    ASSERT_EQ(st.breaker_state, VC_BREAKER_OPEN);
    /* Breaker open: no more Redis attempts, answers at memory speed. */
    int64_t t1 = vc_clock_mono_ms();
    for (int i = 0; i < 1000; i++)
        check(rl, "key", "other", 0, &res);
    int64_t took = vc_clock_mono_ms() - t1;
    vc_ratelimit_stats(rl, &st);
    ASSERT_EQ(st.redis_errors, 3);
    ASSERT_EQ(st.fallback, 1004);
    ASSERT_EQ(st.allowed, 3 + 3);
    ASSERT(took < 500);
    ASSERT(t1 - t0 < 2000); /* refused connections fail fast */
    /* The window slides locally too. */
    sleep_ms(res.retry_after_ms);
    check(rl, "key", "down", 0, &res);
    ASSERT_EQ(res.allowed, 1);
    vc_ratelimit_free(rl);
}

/* The fallback's memory is bounded: beyond local_max_keys the least recently used key is
 * forgotten (and starts afresh). */
static void test_fallback_key_cap(void)
{
    char url[64];
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", dead_port());
    vc_ratelimit_opts_t o;
    vc_ratelimit_opts_default(&o);
    o.redis_url = url;
    o.limit = 1;
    o.window_ms = 60000;
    o.local_max_keys = 2;
    o.breaker_failures = 1;
    o.breaker_open_ms = 60000;
    vc_ratelimit_t *rl = NULL;
    char err[256];
    ASSERT_OK(vc_ratelimit_new(&o, &rl, err, sizeof(err)));
    vc_ratelimit_result_t res;
    check(rl, "ip", "a", 0, &res);
    ASSERT_EQ(res.allowed, 1);
    check(rl, "ip", "b", 0, &res);
    ASSERT_EQ(res.allowed, 1);
    check(rl, "ip", "a", 0, &res); /* a is now the most recent */
    ASSERT_EQ(res.allowed, 0);
    check(rl, "ip", "c", 0, &res); /* evicts b */
    ASSERT_EQ(res.allowed, 1);
    check(rl, "ip", "a", 0, &res);
    ASSERT_EQ(res.allowed, 0);
    check(rl, "ip", "b", 0, &res); /* forgotten: allowed afresh, evicts c */
    ASSERT_EQ(res.allowed, 1);
    vc_ratelimit_free(rl);
}

static void test_opts_from_env(void)
{
    vc_ratelimit_opts_t o;
    char err[256] = "";
    setenv("RATE_LIMIT_PER_MINUTE", "250", 1);
    setenv("RATE_LIMIT_FAILURE_POLICY", "closed", 1);
    setenv("RATE_LIMIT_REDIS_TIMEOUT", "100ms", 1);
    setenv("RATE_LIMIT_WINDOW", "2s", 1);
    ASSERT_OK(vc_ratelimit_opts_from_env(&o, err, sizeof(err)));
    ASSERT_EQ(o.limit, 250);
    ASSERT_EQ(o.policy, VC_RL_FAIL_CLOSED);
    ASSERT_EQ(o.redis_timeout_ms, 100);
    ASSERT_EQ(o.window_ms, 2000);
    ASSERT_EQ(o.breaker_failures, 3);
    setenv("RATE_LIMIT_FAILURE_POLICY", "sometimes", 1);
    ASSERT_EQ(vc_ratelimit_opts_from_env(&o, err, sizeof(err)), VC_EINVAL);
    ASSERT(strstr(err, "RATE_LIMIT_FAILURE_POLICY") != NULL);
    setenv("RATE_LIMIT_FAILURE_POLICY", "open", 1);
    setenv("RATE_LIMIT_PER_MINUTE", "0", 1);
    ASSERT_EQ(vc_ratelimit_opts_from_env(&o, err, sizeof(err)), VC_EINVAL);
    ASSERT(strstr(err, "RATE_LIMIT_PER_MINUTE") != NULL);
    unsetenv("RATE_LIMIT_PER_MINUTE");
    unsetenv("RATE_LIMIT_FAILURE_POLICY");
    unsetenv("RATE_LIMIT_REDIS_TIMEOUT");
    unsetenv("RATE_LIMIT_WINDOW");
    ASSERT_OK(vc_ratelimit_opts_from_env(&o, err, sizeof(err)));
    ASSERT_EQ(o.limit, 100);
    ASSERT_EQ(o.window_ms, 60000);
    ASSERT_EQ(o.policy, VC_RL_FAIL_OPEN);
    o.redis_url = "http://nope";
    vc_ratelimit_t *rl = NULL;
    ASSERT_EQ(vc_ratelimit_new(&o, &rl, err, sizeof(err)), VC_EINVAL);
    ASSERT(strstr(err, "REDIS_URL") != NULL);
}

static void test_fail_closed(void)
{
    char url[64];
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", dead_port());
    vc_ratelimit_t *rl = make(url, 3, 2000, VC_RL_FAIL_CLOSED);
    vc_ratelimit_result_t res;
    for (int i = 0; i < 5; i++) {
        check(rl, "key", "closed", 0, &res);
        ASSERT_EQ(res.allowed, 0);
        ASSERT_EQ(res.source, VC_RL_SOURCE_FAIL_CLOSED);
        ASSERT(res.retry_after_ms >= 1000);
        ASSERT_EQ(res.limit, 3);
    }
    vc_ratelimit_stats_t st;
    vc_ratelimit_stats(rl, &st);
    ASSERT_EQ(st.redis_errors, 3);
    ASSERT_EQ(st.denied, 5);
    vc_ratelimit_free(rl);
}

/* A Redis that hangs (CLIENT PAUSE): each check waits at most the short timeout, the breaker
 * opens, and after the pause and the cool-down the shared limiter is back. */
static void test_hang_and_recovery(void)
{
    vc_ratelimit_opts_t o;
    vc_ratelimit_opts_default(&o);
    o.redis_url = redis_url;
    o.limit = 10;
    o.window_ms = 60000;
    o.key_prefix = prefix;
    o.redis_timeout_ms = 100;
    o.breaker_failures = 2;
    o.breaker_open_ms = 300;
    vc_ratelimit_t *rl = NULL;
    char err[256];
    ASSERT_OK(vc_ratelimit_new(&o, &rl, err, sizeof(err)));
    vc_ratelimit_result_t res;
    check(rl, "key", "hang", 0, &res); /* connection made and script cached */
    ASSERT_EQ(res.source, VC_RL_SOURCE_REDIS);

    const char *pause[] = {"CLIENT", "PAUSE", "3000", "WRITE"};
    const char *unpause[] = {"CLIENT", "UNPAUSE"};
    admin_cmd(4, pause);
    int64_t t0 = vc_clock_mono_ms();
    for (int i = 0; i < 2; i++) {
        check(rl, "key", "hang", 0, &res);
        ASSERT_EQ(res.source, VC_RL_SOURCE_LOCAL);
        ASSERT_EQ(res.allowed, 1);
    }
    int64_t took = vc_clock_mono_ms() - t0;
    fprintf(stderr, "   two checks against a paused redis took %lld ms\n", (long long)took);
    ASSERT(took < 2 * (2 * 100 + 150));
    vc_ratelimit_stats_t st;
    vc_ratelimit_stats(rl, &st);
    ASSERT_EQ(st.breaker_state, VC_BREAKER_OPEN);
    t0 = vc_clock_mono_ms();
    check(rl, "key", "hang", 0, &res);
    ASSERT_EQ(res.source, VC_RL_SOURCE_LOCAL);
    ASSERT(vc_clock_mono_ms() - t0 < 50);
    admin_cmd(2, unpause);

    /* Wait for the cool-down (bounded), then the probe goes to Redis and closes it. */
    int64_t deadline = vc_clock_mono_ms() + 5000;
    do {
        vc_ratelimit_stats(rl, &st);
        if (st.breaker_state == VC_BREAKER_HALF_OPEN)
            break;
        sleep_ms(20);
    } while (vc_clock_mono_ms() < deadline);
    ASSERT_EQ(st.breaker_state, VC_BREAKER_HALF_OPEN);
    check(rl, "key", "hang", 0, &res);
    ASSERT_EQ(res.source, VC_RL_SOURCE_REDIS);
    vc_ratelimit_stats(rl, &st);
    ASSERT_EQ(st.breaker_state, VC_BREAKER_CLOSED);
    vc_ratelimit_free(rl);
}

int main(void)
{
    redis_url = vc_test_env_or_skip("VC_TEST_REDIS_URL");
    unsigned int rnd = 0;
    ASSERT(getrandom(&rnd, sizeof(rnd), 0) == (ssize_t)sizeof(rnd));
    snprintf(prefix, sizeof(prefix), "vctest:%d-%08x:rl:", (int)getpid(), rnd);
    RUN(test_headers);
    RUN(test_opts_from_env);
    RUN(test_exact_window);
    RUN(test_sliding);
    RUN(test_all_scopes);
    RUN(test_keys_and_overrides);
    RUN(test_noscript_recovery);
    RUN(test_atomic_under_contention);
    RUN(test_fail_open);
    RUN(test_fallback_key_cap);
    RUN(test_fail_closed);
    RUN(test_hang_and_recovery);
    return 0;
}
