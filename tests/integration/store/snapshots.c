/* Instance snapshots (vc/snapshots.h) against the real Redis: published ones are listed,
 * expired ones drop out of the list and the index, more than one MGET chunk is read, and the
 * listing does not depend on the size of the keyspace (the gateway once found detectors by
 * SCAN, capped at 100 rounds: with tens of thousands of stored results it missed them). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "vc/error.h"
#include "vc/redis.h"
#include "vc/snapshots.h"

#define FILLER 30000
#define MANY 150

static vc_redis_pool_t *pool;
static char kind[64];

typedef struct {
    int n;
    char seen[MANY + 8][64];
} listed_t;

static void collect(const char *json, size_t len, void *arg)
{
    listed_t *l = arg;
    ASSERT(len < sizeof(l->seen[0]));
    memcpy(l->seen[l->n], json, len);
    l->seen[l->n][len] = '\0';
    l->n++;
}

static int listed_has(const listed_t *l, const char *json)
{
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->seen[i], json) == 0)
            return 1;
    return 0;
}

static listed_t list(size_t max)
{
    listed_t l = {0};
    char err[256] = "";
    int n = vc_snapshot_list(pool, kind, max, collect, &l, err, sizeof(err));
    if (n < 0)
        VC_TEST_FAIL("list: %s", err);
    ASSERT_EQ(n, l.n);
    return l;
}

static void publish(const char *instance, int ttl_s)
{
    char json[64], err[256] = "";
    snprintf(json, sizeof(json), "{\"instance\":\"%s\"}", instance);
    ASSERT_OK(vc_snapshot_publish(pool, kind, instance, json, strlen(json), ttl_s, err,
                                  sizeof(err)));
}

static long long command_int(int argc, const char **argv)
{
    redisReply *r = NULL;
    char err[256];
    ASSERT_OK(vc_redis_command(pool, argc, argv, NULL, &r, err, sizeof(err)));
    long long v = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    freeReplyObject(r);
    return v;
}

/* FILLER unrelated keys (a keyspace full of stored results), written with MSET in batches. */
static void fill(int del)
{
    enum { BATCH = 500 };
    static char keys[BATCH][96];
    const char *argv[1 + 2 * BATCH];
    for (int done = 0; done < FILLER; done += BATCH) {
        int argc = 1;
        argv[0] = del ? "UNLINK" : "MSET";
        for (int i = 0; i < BATCH; i++) {
            snprintf(keys[i], sizeof(keys[i]), "%s-filler:%d", kind, done + i);
            argv[argc++] = keys[i];
            if (!del)
                argv[argc++] = "x";
        }
        redisReply *r = NULL;
        char err[256];
        ASSERT_OK(vc_redis_command(pool, argc, argv, NULL, &r, err, sizeof(err)));
        freeReplyObject(r);
    }
}

static void test_publish_list_expire(void)
{
    publish("a", 30);
    publish("b", 30);
    publish("c", 1);
    publish("a", 30); /* again: still one entry */
    listed_t l = list(100);
    ASSERT_EQ(l.n, 3);
    ASSERT(listed_has(&l, "{\"instance\":\"a\"}"));
    ASSERT(listed_has(&l, "{\"instance\":\"c\"}"));
    struct timespec ts = {1, 600000000L}; /* c's TTL runs out */
    nanosleep(&ts, NULL);
    l = list(100);
    ASSERT_EQ(l.n, 2);
    ASSERT(!listed_has(&l, "{\"instance\":\"c\"}"));
    char index[96];
    snprintf(index, sizeof(index), "vc:metrics:index:%s", kind);
    const char *ismember[] = {"SISMEMBER", index, "c"};
    ASSERT_EQ(command_int(3, ismember), 0); /* the reader forgot it */
    ASSERT_EQ(list(1).n, 1);
}

static void test_many(void)
{
    for (int i = 0; i < MANY; i++) {
        char name[32];
        snprintf(name, sizeof(name), "w%d", i);
        publish(name, 30);
    }
    ASSERT_EQ(list(1000).n, MANY + 2);
    ASSERT_EQ(list(MANY).n, MANY);
}

static void test_bad_names(void)
{
    char err[256];
    ASSERT_EQ(vc_snapshot_publish(pool, "a:b", "x", "{}", 2, 10, err, sizeof(err)), VC_EINVAL);
    ASSERT_EQ(vc_snapshot_publish(pool, "index", "x", "{}", 2, 10, err, sizeof(err)), VC_EINVAL);
    ASSERT_EQ(vc_snapshot_publish(pool, kind, "", "{}", 2, 10, err, sizeof(err)), VC_EINVAL);
    ASSERT_EQ(vc_snapshot_publish(pool, kind, "x", "{}", 2, 0, err, sizeof(err)), VC_EINVAL);
}

int main(void)
{
    const char *url = vc_test_env_or_skip("VC_TEST_REDIS_URL");
    vc_redis_opts_t o = {.url = url,
                         .size = 2,
                         .dial_timeout_ms = 2000,
                         .io_timeout_ms = 5000,
                         .pool_timeout_ms = 2000};
    char err[256] = "";
    ASSERT_OK(vc_redis_pool_new(&o, &pool, err, sizeof(err)));
    snprintf(kind, sizeof(kind), "test-%d", (int)getpid());
    fill(0);
    test_publish_list_expire();
    test_many();
    test_bad_names();
    fill(1);
    char index[96];
    snprintf(index, sizeof(index), "vc:metrics:index:%s", kind);
    const char *del[] = {"DEL", index};
    ASSERT_EQ(command_int(2, del), 1);
    vc_redis_pool_free(pool);
    return 0;
}
