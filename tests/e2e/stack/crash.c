/* kill -9 under load: three detectors share the request topic's partitions; one is killed
 * while 1,000 submissions stream in and restarted later. Every acknowledged detection must
 * end completed exactly once in PostgreSQL, none missing, and Redis must hold every result. */
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>

#include "support/e2e.h"
#include "test.h"

#define N_REQUESTS 1000
#define KILL_AFTER 300

static vc_e2e_t e;
static atomic_int killed;

/* Client threads call this after each 202; the 300th kills detector 2 with SIGKILL. */
static void maybe_kill(int accepted)
{
    int expected = 0;
    if (accepted >= KILL_AFTER && atomic_compare_exchange_strong(&killed, &expected, 1)) {
        fprintf(stderr, "killing detector-2 (pid %d) with SIGKILL after %d accepted\n",
                (int)e.detectors[1].pid, accepted);
        kill(e.detectors[1].pid, SIGKILL);
    }
}

int main(void)
{
    vc_e2e_init(&e, "crash");
    vc_e2e_start(&e, 3);
    e.on_accepted = maybe_kill;
    int accepted = vc_e2e_submit(&e, N_REQUESTS, 16);
    ASSERT(atomic_load(&killed));
    int status = 0;
    ASSERT_EQ(waitpid(e.detectors[1].pid, &status, 0), e.detectors[1].pid);
    ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    e.detectors[1].pid = 0;
    ASSERT_EQ(accepted, N_REQUESTS); /* the gateway never depended on the dead detector */
    /* The survivors take over its partitions after the session timeout; then it comes back. */
    vc_e2e_start_detector(&e, 1);
    vc_e2e_wait_completed(&e, 240);
    vc_e2e_check_postgres(&e);
    vc_e2e_check_redis(&e);
    vc_e2e_stop(&e);
    fprintf(stderr, "crash: %d acknowledged, all completed exactly once after kill -9\n",
            accepted);
    return 0;
}
