/* The stack on a Redis that only an ACL user may use, with a password holding '@', ':', '/'
 * and '%' given percent-encoded in REDIS_URL (redis://user:p%40ss%3Aword...@host:port/0):
 *
 * 1. A private redis-server of the suite's binary gets the user (ACL SETUSER ... ~* &* +@all)
 *    and then its default user is switched off, so every connection that does not send
 *    "AUTH user password" fails (NOAUTH): the gateway's pool, its results subscriber, its
 *    rate limiter and the detector's pool all have to.
 * 2. A gateway and a detector with that URL carry 5 submissions end to end (each result read
 *    back through a long-poll, which the subscriber wakes), /health says redis ok, and
 *    CLIENT LIST shows their connections as the ACL user.
 * 3. A gateway with a wrong password starts (Kafka is fine), /health says degraded with
 *    redis down, and neither password (raw or encoded) is in its log at LOG_LEVEL=debug.
 * 4. The user is deleted and the private Redis stopped. */
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "support/e2e.h"
#include "test.h"

#define N_REQUESTS 5

static vc_proc_t redis;
static int redis_port;
static char user[64], password[128], encoded[400], url[600], bad_url[600];

/* Percent-encodes every byte outside RFC 3986's unreserved set. */
static void percent_encode(const char *s, char *out, size_t cap)
{
    static const char digits[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *s != '\0' && o + 4 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = digits[c >> 4];
            out[o++] = digits[c & 15];
        }
    }
    out[o] = '\0';
}

static redisContext *admin_connect(void)
{
    for (int i = 0; i < 100; i++) {
        redisContext *c = redisConnect("127.0.0.1", redis_port);
        if (c != NULL && c->err == 0)
            return c;
        redisFree(c);
        struct timespec ts = {0, 100000000L}; /* waiting for redis-server to listen */
        nanosleep(&ts, NULL);
    }
    VC_TEST_FAIL("private redis on port %d never accepted a connection", redis_port);
}

static void expect_ok(redisContext *c, redisReply *r, const char *what)
{
    if (r == NULL || r->type == REDIS_REPLY_ERROR)
        VC_TEST_FAIL("%s: %s", what, r != NULL ? r->str : c->errstr);
    freeReplyObject(r);
}

/* The ACL user with every permission, then the default user off; the admin connection
 * authenticates as the new user first so it stays usable. */
static redisContext *make_acl_redis(void)
{
    char port[16];
    snprintf(port, sizeof(port), "%d", redis_port);
    char *argv[] = {"redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
                    "--appendonly", "no", NULL};
    vc_test_spawn_argv(&redis, "redis-acl", "redis-server", argv, NULL);
    redisContext *c = admin_connect();
    expect_ok(c, redisCommand(c, "ACL SETUSER %s on >%s ~* &* +@all", user, password),
              "ACL SETUSER");
    expect_ok(c, redisCommand(c, "AUTH %s %s", user, password), "AUTH as the new user");
    expect_ok(c, redisCommand(c, "ACL SETUSER default off"), "ACL SETUSER default off");
    /* Proof that the default user is off: a fresh unauthenticated PING is refused. */
    redisContext *anon = redisConnect("127.0.0.1", redis_port);
    redisReply *r = redisCommand(anon, "PING");
    ASSERT(r != NULL && r->type == REDIS_REPLY_ERROR);
    fprintf(stderr, "unauthenticated PING: %s\n", r->str);
    freeReplyObject(r);
    redisFree(anon);
    return c;
}

/* Connections of the ACL user according to CLIENT LIST (the admin's own included). */
static int acl_clients(redisContext *c)
{
    redisReply *r = redisCommand(c, "CLIENT LIST");
    ASSERT(r != NULL && r->type == REDIS_REPLY_STRING);
    char needle[100];
    snprintf(needle, sizeof(needle), " user=%s ", user);
    int n = 0;
    for (const char *p = strstr(r->str, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    freeReplyObject(r);
    return n;
}

static json_t *health(const char *base, long *status)
{
    char h[128], *resp = NULL;
    snprintf(h, sizeof(h), "%s/health", base);
    *status = vc_test_http("GET", h, NULL, NULL, 0, &resp);
    json_t *o = json_loads(resp, 0, NULL);
    free(resp);
    ASSERT(o != NULL);
    return o;
}

static int redis_check_ok(json_t *o)
{
    return json_is_true(
        json_object_get(json_object_get(json_object_get(o, "checks"), "redis"), "ok"));
}

static void serves_end_to_end(vc_e2e_t *e, redisContext *admin)
{
    e->redis = url;
    vc_e2e_start(e, 1);
    ASSERT_EQ(vc_e2e_submit(e, N_REQUESTS, 2), N_REQUESTS);
    for (int i = 0; i < N_REQUESTS; i++) {
        char suffix[16];
        snprintf(suffix, sizeof(suffix), "%d", i);
        json_t *r = vc_e2e_wait_final(e, suffix, 60);
        ASSERT_STREQ(json_string_value(json_object_get(r, "status")), "completed");
        json_decref(r);
    }
    long st = 0;
    json_t *o = health(e->base_url, &st);
    if (st != 200 || !redis_check_ok(o))
        VC_TEST_FAIL("/health %ld: %s", st, json_dumps(o, 0));
    ASSERT_STREQ(json_string_value(json_object_get(o, "status")), "ok");
    json_decref(o);
    int n = acl_clients(admin);
    fprintf(stderr, "connections as %s: %d\n", user, n);
    ASSERT(n >= 4); /* admin + gateway pool + subscriber + detector at least */
}

/* A wrong password: started, degraded, and no password in the log. */
static void wrong_password(vc_e2e_t *e)
{
    vc_proc_t gw;
    char base[64];
    const char *extra[] = {"LOG_LEVEL=debug", e->topics[0], e->topics[1], e->topics[2], NULL};
    vc_test_start_gateway(&gw, base, sizeof(base), bad_url, e->pg, e->kafka, extra);
    long st = 0;
    json_t *o = health(base, &st);
    ASSERT_EQ(st, 200); /* Kafka answers: submissions could still be accepted */
    ASSERT_STREQ(json_string_value(json_object_get(o, "status")), "degraded");
    ASSERT(!redis_check_ok(o));
    json_decref(o);
    ASSERT_EQ(vc_test_stop(&gw, 30), 0);
    size_t n = 0;
    char *log = vc_test_read_file(gw.log_path, &n);
    const char *secrets[] = {password, encoded, "wrong-p@ss", "wrong-p%40ss"};
    for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
        if (vc_test_contains(log, n, secrets[i]))
            VC_TEST_FAIL("the gateway's log holds a password (%s)", secrets[i]);
    if (!vc_test_contains(log, n, "WRONGPASS"))
        fprintf(stderr, "note: the log does not name WRONGPASS\n");
    free(log);
}

int main(void)
{
    vc_e2e_t e;
    vc_e2e_init(&e, "redisacl");
    redis_port = vc_test_free_port();
    snprintf(user, sizeof(user), "vcuser-%d", (int)getpid());
    snprintf(password, sizeof(password), "p@ss:word/%d%%x", (int)getpid());
    percent_encode(password, encoded, sizeof(encoded));
    snprintf(url, sizeof(url), "redis://%s:%s@127.0.0.1:%d/0", user, encoded, redis_port);
    snprintf(bad_url, sizeof(bad_url), "redis://%s:wrong-p%%40ss@127.0.0.1:%d/0", user,
             redis_port);
    fprintf(stderr, "REDIS_URL form: redis://%s:<%zu encoded bytes>@127.0.0.1:%d/0\n", user,
            strlen(encoded), redis_port);
    redisContext *admin = make_acl_redis();
    serves_end_to_end(&e, admin);
    vc_e2e_stop(&e);
    wrong_password(&e);
    /* Deleting the user disconnects its clients: delete it from a default-user connection. */
    expect_ok(admin, redisCommand(admin, "ACL SETUSER default on"), "default user back on");
    redisFree(admin);
    admin = admin_connect();
    redisReply *r = redisCommand(admin, "ACL DELUSER %s", user);
    ASSERT(r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer == 1);
    freeReplyObject(r);
    redisFree(admin);
    ASSERT_EQ(vc_test_stop(&redis, 10), 0);
    return 0;
}
