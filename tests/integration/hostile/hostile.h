#ifndef VC_TEST_HOSTILE_H
#define VC_TEST_HOSTILE_H
/* Shared set-up of the hostile-client tests: one gateway on the servers of tests/run with a
 * short request timeout and few worker threads, so that holding workers and timing them out
 * is quick to show. Each test file is its own process with its own gateway. */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/rawhttp.h"
#include "support/stack.h"
#include "test.h"

#define HOSTILE_TIMEOUT_MS 2000 /* HTTP_REQUEST_TIMEOUT of the gateway under test */
#define HOSTILE_THREADS 6       /* HTTP_THREADS */
#define HOSTILE_SLACK_MS 1500   /* scheduling slack on a shared 2-core machine (and ASan) */

typedef struct {
    const char *redis, *pg, *kafka;
    char base[64];
    char key[64]; /* an API key of this run's own tenant */
    long long key_id;
    char tenant[64];
    vc_proc_t gateway;
} hostile_t;

/* Reads the servers (skips outside tests/run) and creates this run's tenant and key. */
static inline void hostile_init(hostile_t *h, const char *name)
{
    memset(h, 0, sizeof(*h));
    h->redis = vc_test_env_or_skip("VC_TEST_REDIS_URL");
    h->pg = vc_test_env_or_skip("VC_TEST_DATABASE_URL");
    h->kafka = vc_test_env_or_skip("VC_TEST_KAFKA_BROKERS");
    snprintf(h->tenant, sizeof(h->tenant), "hostile-%s-%d", name, (int)getpid());
    vc_test_create_key(h->pg, h->tenant, 0, h->key, &h->key_id);
}

/* Starts the gateway with the hostile defaults plus `extra` ("K=V", NULL-terminated, may be
 * NULL; later entries win) and waits for /health. */
static inline void hostile_start(hostile_t *h, const char *const *extra)
{
    const char *env[40] = {
        "HTTP_REQUEST_TIMEOUT=2s",      "MAX_CONCURRENT_REQUESTS=4",           "HTTP_THREADS=6",
        "RATE_LIMIT_PER_MINUTE=100000", "RATE_LIMIT_PER_IP_PER_MINUTE=100000", "MAX_BODY_BYTES=1M"};
    size_t k = 6;
    for (size_t i = 0; extra != NULL && extra[i] != NULL && k + 1 < 40; i++) {
        size_t klen = strcspn(extra[i], "=") + 1;
        size_t j = 0;
        while (j < k && strncmp(env[j], extra[i], klen) != 0)
            j++;
        env[j] = extra[i];
        if (j == k)
            k++;
    }
    env[k] = NULL;
    vc_test_start_gateway(&h->gateway, h->base, sizeof(h->base), h->redis, h->pg, h->kafka, env);
}

/* The gateway still answers /health with 200 (it did not crash or wedge). */
static inline void hostile_expect_healthy(hostile_t *h, const char *after)
{
    char url[128];
    snprintf(url, sizeof(url), "%s/health", h->base);
    const char *saved = vc_test_api_key;
    vc_test_api_key = NULL;
    long st = vc_test_http("GET", url, NULL, NULL, 0, NULL);
    vc_test_api_key = saved;
    if (st != 200) {
        vc_test_print_log(&h->gateway, 40);
        VC_TEST_FAIL("after %s: /health answered %ld, want 200", after, st);
    }
}

/* Waits up to timeout_s for p to exit by itself; returns its exit status (128 + signal when a
 * signal ended it), or -1 (after killing it) when it was still running. */
static inline int hostile_wait_exit(vc_proc_t *p, int timeout_s)
{
    for (int i = 0; i < timeout_s * 20; i++) {
        int ws = 0;
        if (waitpid(p->pid, &ws, WNOHANG) == p->pid) {
            p->pid = 0;
            return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
        }
        struct timespec ts = {0, 50000000L}; /* polling a child's exit; no event to wait on */
        nanosleep(&ts, NULL);
    }
    vc_test_stop(p, 10);
    return -1;
}

/* SIGTERMs the gateway and checks it exits 0 (under ASan: without a leak report). */
static inline void hostile_stop(hostile_t *h)
{
    int rc = vc_test_stop(&h->gateway, 30);
    if (rc != 0) {
        vc_test_print_log(&h->gateway, 40);
        VC_TEST_FAIL("gateway exited with %d, want 0", rc);
    }
}

#endif
