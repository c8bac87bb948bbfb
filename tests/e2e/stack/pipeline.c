/* End to end: 200 WAV detections submitted concurrently through the gateway travel Kafka →
 * two detectors → PostgreSQL + Redis, and each comes back completed exactly once, with
 * figures computed from its own audio. Runs against the real servers tests/run starts. */
#include <stdio.h>

#include "support/e2e.h"
#include "test.h"

#define N_REQUESTS 200

int main(void)
{
    static vc_e2e_t e;
    vc_e2e_init(&e, "e2e");
    vc_e2e_start(&e, 2);
    int accepted = vc_e2e_submit(&e, N_REQUESTS, 16);
    if (accepted != N_REQUESTS)
        vc_test_print_log(&e.gateway, 40);
    ASSERT_EQ(accepted, N_REQUESTS);
    vc_e2e_wait_completed(&e, 180);
    vc_e2e_check_postgres(&e);
    vc_e2e_check_redis(&e);
    /* A clean shutdown is part of the contract: every service exits 0 on SIGTERM. */
    vc_e2e_stop(&e);
    fprintf(stderr, "e2e: %d submitted, %d completed, exactly once in PostgreSQL and Redis\n",
            N_REQUESTS, N_REQUESTS);
    return 0;
}
