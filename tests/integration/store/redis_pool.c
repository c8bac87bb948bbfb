/* The Redis pool after its server dropped every connection (as a Redis restart does): the
 * next calls get live connections at once. Single-attempt callers (vc_results_put has no
 * retry, by design: a retried SET NX could not tell its own first write from a duplicate) must
 * not fail once per stale pooled connection. The server side is simulated with CLIENT KILL,
 * which closes the pool's connections exactly as a restart does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "vc/error.h"
#include "vc/redis.h"
#include "vc/results.h"

#define POOL 4

int main(void)
{
    const char *url = vc_test_env_or_skip("VC_TEST_REDIS_URL");
    vc_redis_opts_t o = {.url = url,
                         .size = POOL,
                         .min_idle = POOL,
                         .dial_timeout_ms = 2000,
                         .io_timeout_ms = 2000,
                         .pool_timeout_ms = 2000};
    vc_redis_pool_t *pool = NULL, *admin = NULL;
    char err[256] = "";
    ASSERT_OK(vc_redis_pool_new(&o, &pool, err, sizeof(err)));
    o.size = 1;
    o.min_idle = 0;
    ASSERT_OK(vc_redis_pool_new(&o, &admin, err, sizeof(err)));
    /* Every pooled connection dialled (warm) and idle; then the server drops them all. */
    const char *argv[] = {"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"};
    redisReply *r = NULL;
    ASSERT_OK(vc_redis_command(admin, 6, argv, NULL, &r, err, sizeof(err)));
    fprintf(stderr, "killed %lld connections\n", r->integer);
    ASSERT(r->type == REDIS_REPLY_INTEGER && r->integer >= POOL);
    freeReplyObject(r);
    usleep(100000); /* the FINs arrive */
    char id[64];
    snprintf(id, sizeof(id), "pool-%d", (int)getpid());
    for (int i = 0; i < POOL * 2; i++) {
        int rc = vc_results_put(pool, "t", id, (const uint8_t *)"v", 1, 30, 0, 0, err, sizeof(err));
        if (rc != 0)
            VC_TEST_FAIL("put %d after the connections were dropped: %s", i, err);
    }
    vc_redis_pool_free(admin);
    vc_redis_pool_free(pool);
    return 0;
}
