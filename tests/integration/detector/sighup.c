/* SIGHUP never stops detection: the supervisor and each of its workers get SIGHUP five
 * times (an operator's `kill -HUP` for log rotation, or a closed terminal's hangup), and
 * afterwards the same processes are running (no worker was restarted), /health still
 * reports both workers in the group, submissions complete, and everything exits 0 on SIGTERM.
 * Before the fix the default action of SIGHUP killed the supervisor. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "detector_test.h"

static vc_e2e_t e;
static char health_url[96];

static long long workers_field(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(json_object_get(o, "workers"), k));
}

/* Polls /health until both workers are in the group; returns the JSON (caller decrefs). */
static json_t *wait_joined(int timeout_s)
{
    time_t deadline = time(NULL) + timeout_s;
    json_t *o = NULL;
    while (time(NULL) < deadline) {
        json_decref(o);
        o = dt_get_json(health_url, NULL);
        if (o != NULL && workers_field(o, "joined") == 2 &&
            json_is_true(json_object_get(o, "ready")))
            return o;
        struct timespec ts = {0, 250000000L}; /* probing like an orchestrator */
        nanosleep(&ts, NULL);
    }
    vc_test_print_log(&e.detectors[0], 40);
    VC_TEST_FAIL("/health never showed two joined workers");
}

int main(void)
{
    vc_e2e_init(&e, "sighup");
    int port = vc_test_free_port();
    char port_s[16];
    snprintf(port_s, sizeof(port_s), "%d", port);
    snprintf(health_url, sizeof(health_url), "http://127.0.0.1:%d/health", port);
    setenv("PROCESS_POOL_SIZE", "2", 1);
    setenv("DETECTOR_HTTP_PORT", port_s, 1);
    vc_e2e_start(&e, 1);
    json_decref(wait_joined(60));

    pid_t sup = e.detectors[0].pid, before[8], after[8];
    int n = vc_test_children(sup, before, 8);
    ASSERT_EQ(n, 2);
    for (int round = 0; round < 5; round++) {
        ASSERT_OK(kill(sup, SIGHUP));
        for (int i = 0; i < n; i++)
            ASSERT_OK(kill(before[i], SIGHUP));
    }
    /* Still there (before the fix SIGHUP's default action ended the supervisor at once, and
     * its workers with it), still in the group, and still serving. */
    json_decref(wait_joined(30));
    int ws = 0;
    if (waitpid(sup, &ws, WNOHANG) == sup)
        VC_TEST_FAIL("the supervisor ended after SIGHUP (signal %d)",
                     WIFSIGNALED(ws) ? WTERMSIG(ws) : 0);
    ASSERT_EQ(vc_e2e_submit(&e, 6, 2), 6);
    vc_e2e_wait_completed(&e, 120);
    json_t *h = wait_joined(30);
    ASSERT_EQ(workers_field(h, "restarts"), 0);
    json_decref(h);
    ASSERT_OK(kill(sup, 0)); /* the supervisor is alive */
    ASSERT_EQ(vc_test_children(sup, after, 8), 2);
    for (int i = 0; i < n; i++) {
        int same = 0;
        for (int j = 0; j < 2; j++)
            same |= after[j] == before[i];
        if (!same)
            VC_TEST_FAIL("worker %d was replaced after SIGHUP", (int)before[i]);
    }
    fprintf(stderr, "supervisor %d and workers %d, %d took 5 SIGHUPs each and kept serving\n",
            (int)sup, (int)before[0], (int)before[1]);
    vc_e2e_stop(&e);
    return 0;
}
