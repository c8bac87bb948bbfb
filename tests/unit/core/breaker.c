/* Unit tests for vc/breaker.h: the state machine driven by an injected clock (no sleeping),
 * the failure-rate trigger, the forgotten probe, and counters under thread contention. */
#include <pthread.h>

#include "test.h"
#include "vc/breaker.h"
#include "vc/error.h"

static int64_t fake_now(void *opaque)
{
    return *(const int64_t *)opaque;
}

static vc_breaker_t *make(int64_t *clock, int threshold, int64_t open_ms)
{
    vc_breaker_opts_t o;
    vc_breaker_opts_default(&o);
    o.name = "test";
    o.failure_threshold = threshold;
    o.open_ms = open_ms;
    o.now_ms = fake_now;
    o.clock_opaque = clock;
    vc_breaker_t *br = NULL;
    ASSERT_OK(vc_breaker_new(&o, &br));
    return br;
}

static void test_invalid_opts(void)
{
    vc_breaker_opts_t o;
    vc_breaker_t *br = NULL;
    vc_breaker_opts_default(&o);
    o.failure_threshold = 0;
    ASSERT_EQ(vc_breaker_new(&o, &br), VC_EINVAL);
    vc_breaker_opts_default(&o);
    o.open_ms = 0;
    ASSERT_EQ(vc_breaker_new(&o, &br), VC_EINVAL);
    vc_breaker_opts_default(&o);
    o.failure_rate = 0.5;
    o.rate_window = 65;
    ASSERT_EQ(vc_breaker_new(&o, &br), VC_EINVAL);
    o.rate_window = 10;
    o.rate_min_calls = 11;
    ASSERT_EQ(vc_breaker_new(&o, &br), VC_EINVAL);
    vc_breaker_opts_default(&o);
    o.name = NULL;
    ASSERT_OK(vc_breaker_new(&o, &br));
    vc_breaker_free(br);
    vc_breaker_free(NULL);
    ASSERT_STREQ(vc_breaker_state_name(VC_BREAKER_HALF_OPEN), "half_open");
}

static void test_opens_after_consecutive_failures(void)
{
    int64_t now = 1000;
    vc_breaker_t *br = make(&now, 3, 500);
    ASSERT_EQ(vc_breaker_state(br), VC_BREAKER_CLOSED);
    /* A success in between resets the run. */
    for (int i = 0; i < 2; i++) {
        ASSERT_OK(vc_breaker_allow(br));
        vc_breaker_record(br, 0);
    }
    ASSERT_OK(vc_breaker_allow(br));
    vc_breaker_record(br, 1);
    for (int i = 0; i < 2; i++) {
        ASSERT_OK(vc_breaker_allow(br));
        vc_breaker_record(br, 0);
    }
    ASSERT_EQ(vc_breaker_state(br), VC_BREAKER_CLOSED);
    ASSERT_OK(vc_breaker_allow(br));
    vc_breaker_record(br, 0);
    ASSERT_EQ(vc_breaker_state(br), VC_BREAKER_OPEN);
    ASSERT_EQ(vc_breaker_allow(br), VC_EUNAVAIL);
    ASSERT_EQ(vc_breaker_allow(br), VC_EUNAVAIL);

    vc_breaker_stats_t st;
    vc_breaker_stats(br, &st);
    ASSERT_EQ(st.state, VC_BREAKER_OPEN);
    ASSERT_EQ(st.opened, 1);
    ASSERT_EQ(st.rejected, 2);
    ASSERT_EQ(st.failures, 5);
    ASSERT_EQ(st.successes, 1);
    ASSERT_EQ(st.retry_in_ms, 500);
    now += 499;
    vc_breaker_stats(br, &st);
    ASSERT_EQ(st.retry_in_ms, 1);
    ASSERT_EQ(vc_breaker_allow(br), VC_EUNAVAIL);
    vc_breaker_free(br);
}

static void test_half_open_probe(void)
{
    int64_t now = 0;
    vc_breaker_t *br = make(&now, 1, 100);
    ASSERT_OK(vc_breaker_allow(br));
    vc_breaker_record(br, 0);
    ASSERT_EQ(vc_breaker_state(br), VC_BREAKER_OPEN);

    /* Cool-down over: exactly one probe goes through. */
    now = 100;
    ASSERT_EQ(vc_breaker_state(br), VC_BREAKER_HALF_OPEN);
    ASSERT_OK(vc_breaker_allow(br));
    ASSERT_EQ(vc_breaker_allow(br), VC_EUNAVAIL);
    ASSERT_EQ(vc_breaker_allow(br), VC_EUNAVAIL);
    /* The probe fails: open again with a fresh cool-down. */
    vc_breaker_record(br, 0);
    ASSERT_EQ(vc_breaker_state(br), VC_BREAKER_OPEN);
    now = 199;
    ASSERT_EQ(vc_breaker_allow(br), VC_EUNAVAIL);
    now = 200;
    ASSERT_OK(vc_breaker_allow(br));
    ASSERT_EQ(vc_breaker_allow(br), VC_EUNAVAIL);
    /* The probe succeeds: closed, everything flows. */
    vc_breaker_record(br, 1);
    ASSERT_EQ(vc_breaker_state(br), VC_BREAKER_CLOSED);
    for (int i = 0; i < 10; i++)
        ASSERT_OK(vc_breaker_allow(br));
    vc_breaker_stats_t st;
    vc_breaker_stats(br, &st);
    ASSERT_EQ(st.opened, 2);
    ASSERT_EQ(st.consecutive_failures, 0);
    vc_breaker_free(br);
}

static void test_forgotten_probe_and_late_outcomes(void)
{
    int64_t now = 0;
    vc_breaker_t *br = make(&now, 2, 100);
    /* Two calls allowed while closed; both fail late, after the breaker opened. */
    ASSERT_OK(vc_breaker_allow(br));
    ASSERT_OK(vc_breaker_allow(br));
    ASSERT_OK(vc_breaker_allow(br));
    vc_breaker_record(br, 0);
    vc_breaker_record(br, 0);
    ASSERT_EQ(vc_breaker_state(br), VC_BREAKER_OPEN);
    vc_breaker_record(br, 1); /* late success while open: ignored */
    ASSERT_EQ(vc_breaker_state(br), VC_BREAKER_OPEN);

    /* Half-open: an outcome with no probe out is not the probe's. */
    now = 100;
    vc_breaker_record(br, 1);
    ASSERT_EQ(vc_breaker_state(br), VC_BREAKER_HALF_OPEN);
    /* A probe that is never reported is forgotten after one cool-down. */
    ASSERT_OK(vc_breaker_allow(br));
    now = 150;
    ASSERT_EQ(vc_breaker_allow(br), VC_EUNAVAIL);
    now = 200;
    ASSERT_OK(vc_breaker_allow(br));
    vc_breaker_record(br, 1);
    ASSERT_EQ(vc_breaker_state(br), VC_BREAKER_CLOSED);
    vc_breaker_free(br);
}

static void test_failure_rate(void)
{
    int64_t now = 0;
    vc_breaker_opts_t o;
    vc_breaker_opts_default(&o);
    o.failure_threshold = 1000; /* only the rate can trip it */
    o.failure_rate = 0.5;
    o.rate_window = 10;
    o.rate_min_calls = 10;
    o.open_ms = 100;
    o.now_ms = fake_now;
    o.clock_opaque = &now;
    vc_breaker_t *br = NULL;
    ASSERT_OK(vc_breaker_new(&o, &br));
    /* Alternate success/failure: 4 failures in the first 9 calls, below min_calls anyway. */
    for (int i = 0; i < 9; i++) {
        ASSERT_OK(vc_breaker_allow(br));
        vc_breaker_record(br, i % 2 == 0);
    }
    ASSERT_EQ(vc_breaker_state(br), VC_BREAKER_CLOSED);
    /* 10th call fails: 5 of 10 = 0.5 ≥ 0.5 → open. */
    ASSERT_OK(vc_breaker_allow(br));
    vc_breaker_record(br, 0);
    ASSERT_EQ(vc_breaker_state(br), VC_BREAKER_OPEN);

    /* After closing, the window starts empty: 3 failures of 4 is below min_calls. */
    now = 100;
    ASSERT_OK(vc_breaker_allow(br));
    vc_breaker_record(br, 1);
    ASSERT_EQ(vc_breaker_state(br), VC_BREAKER_CLOSED);
    for (int i = 0; i < 3; i++)
        vc_breaker_record(br, 0);
    ASSERT_EQ(vc_breaker_state(br), VC_BREAKER_CLOSED);
    /* The ring keeps only the last 10: old failures age out. */
    for (int i = 0; i < 20; i++)
        vc_breaker_record(br, 1);
    for (int i = 0; i < 4; i++)
        vc_breaker_record(br, 0);
    ASSERT_EQ(vc_breaker_state(br), VC_BREAKER_CLOSED);
    vc_breaker_record(br, 0);
    ASSERT_EQ(vc_breaker_state(br), VC_BREAKER_OPEN);
    vc_breaker_free(br);
}

#define NTHREADS 4
#define ITERS 20000

static void *hammer(void *p)
{
    vc_breaker_t *br = p;
    for (int i = 0; i < ITERS; i++) {
        if (vc_breaker_allow(br) == 0)
            vc_breaker_record(br, i % 3 != 0);
    }
    return NULL;
}

static void test_threads(void)
{
    int64_t now = 0; /* frozen: once open it stays open */
    vc_breaker_t *br = make(&now, 1000000, 1000);
    pthread_t th[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        ASSERT_OK(pthread_create(&th[i], NULL, hammer, br));
    for (int i = 0; i < NTHREADS; i++)
        ASSERT_OK(pthread_join(th[i], NULL));
    vc_breaker_stats_t st;
    vc_breaker_stats(br, &st);
    ASSERT_EQ(st.successes + st.failures, NTHREADS * ITERS);
    ASSERT_EQ(st.rejected, 0);
    ASSERT_EQ(st.state, VC_BREAKER_CLOSED);
    vc_breaker_free(br);
}

int main(void)
{
    RUN(test_invalid_opts);
    RUN(test_opens_after_consecutive_failures);
    RUN(test_half_open_probe);
    RUN(test_forgotten_probe_and_late_outcomes);
    RUN(test_failure_rate);
    RUN(test_threads);
    return 0;
}
