/* No 2xx without a Kafka acknowledgement: with every broker of the embedded cluster down, a
 * submission is answered 503 queue_unavailable (within KAFKA_DELIVERY_TIMEOUT_MS) and /health
 * reports Kafka down; once the brokers are back, submissions are accepted again. */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "support/stack.h"
#include "test.h"
#include "vc/base64.h"

static char base[64];
static vc_proc_t gateway;

/* Whatever happens, leave the shared cluster up for the tests that follow. */
static void restore_brokers(void)
{
    vc_test_devbroker("broker up all");
}

static void on_abort(int sig)
{
    restore_brokers();
    signal(sig, SIG_DFL);
    raise(sig);
}

int main(void)
{
    const char *redis = vc_test_env_or_skip("VC_TEST_REDIS_URL");
    const char *pg = vc_test_env_or_skip("VC_TEST_DATABASE_URL");
    /* vc-devbroker: the whole cluster is taken down through its control socket. */
    const char *kafka = vc_test_devbroker_brokers();
    atexit(restore_brokers);
    signal(SIGABRT, on_abort);

    /* Auth is not the subject here: AUTH_MODE=off (allowed on loopback). */
    const char *extra[] = {"KAFKA_DELIVERY_TIMEOUT_MS=3000", "AUTH_MODE=off",
                           "RATE_LIMIT_PER_MINUTE=100000", NULL};
    vc_test_start_gateway(&gateway, base, sizeof(base), redis, pg, kafka, extra);
    char health[128];
    snprintf(health, sizeof(health), "%s/health", base);
    char *resp = NULL;
    ASSERT_EQ(vc_test_submit_tone(base, &resp), 202);
    free(resp);

    ASSERT_OK(vc_test_devbroker("broker down all"));
    time_t t0 = time(NULL);
    long st = vc_test_submit_tone(base, &resp);
    if (st != 503 || strstr(resp, "queue_unavailable") == NULL)
        VC_TEST_FAIL("with Kafka down: %ld %s", st, resp);
    free(resp);
    /* Bounded by the delivery timeout (3 s) plus scheduling slack on a busy machine. */
    fprintf(stderr, "503 after %ld s with Kafka down\n", (long)(time(NULL) - t0));
    ASSERT(time(NULL) - t0 <= 20);
    char *h = NULL;
    ASSERT_EQ(vc_test_http("GET", health, NULL, NULL, 0, &h), 503);
    ASSERT(strstr(h, "\"kafka\":{\"ok\":false") != NULL);
    free(h);

    ASSERT_OK(vc_test_devbroker("broker up all"));
    /* The producer reconnects with backoff: accepted again within a bounded time. */
    int accepted = 0;
    for (int i = 0; i < 30 && !accepted; i++) {
        st = vc_test_submit_tone(base, &resp);
        accepted = st == 202;
        if (!accepted && st != 503)
            VC_TEST_FAIL("after recovery: %ld %s", st, resp);
        free(resp);
    }
    ASSERT(accepted);
    ASSERT_EQ(vc_test_stop(&gateway, 30), 0);
    return 0;
}
