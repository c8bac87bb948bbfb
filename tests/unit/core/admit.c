/* vc_admit: option checks, the limit as a hard cap, and the control loop against a simulated
 * server whose latency grows once more than `capacity` requests share it: the limit settles
 * near the capacity (latency within the tolerance), grows while latency stays flat, and
 * recovers after an overload passes. Windows are 1 ms of real time. */
#include <time.h>

#include "test.h"
#include "vc/admit.h"
#include "vc/error.h"

static vc_admit_t *make(long initial)
{
    vc_admit_opts_t o;
    vc_admit_opts_default(&o);
    o.initial_limit = initial;
    o.max_limit = 500;
    o.window_ms = 1;
    o.window_min_samples = 4;
    o.baseline_ms = 10000;
    vc_admit_t *a = NULL;
    ASSERT_OK(vc_admit_new(&o, &a));
    return a;
}

/* rounds of: admit up to `demand` at once, each taking 5 ms × max(1, admitted / capacity)
 * (capacity 0: never slower), then a 1 ms pause so every round closes a window. */
static void drive(vc_admit_t *a, int rounds, long demand, long capacity)
{
    for (int r = 0; r < rounds; r++) {
        long got = 0;
        while (got < demand && vc_admit_try(a) == 0)
            got++;
        double slow = capacity > 0 && got > capacity ? (double)got / (double)capacity : 1.0;
        for (long i = 0; i < got; i++)
            vc_admit_done(a, (int64_t)(5e6 * slow), 1);
        struct timespec ts = {0, 1100000L}; /* let the 1 ms window close */
        nanosleep(&ts, NULL);
    }
}

static long limit_of(vc_admit_t *a)
{
    vc_admit_stats_t s;
    vc_admit_stats(a, &s);
    return s.limit;
}

static void test_opts(void)
{
    vc_admit_opts_t o;
    vc_admit_opts_default(&o);
    vc_admit_t *a = NULL;
    o.tolerance = 1.0;
    ASSERT_EQ(vc_admit_new(&o, &a), VC_EINVAL);
    vc_admit_opts_default(&o);
    o.backoff = 1.0;
    ASSERT_EQ(vc_admit_new(&o, &a), VC_EINVAL);
    vc_admit_opts_default(&o);
    o.max_limit = o.min_limit - 1;
    ASSERT_EQ(vc_admit_new(&o, &a), VC_EINVAL);
    ASSERT_EQ(vc_admit_new(NULL, &a), VC_EINVAL);
}

static void test_cap(void)
{
    vc_admit_t *a = make(8);
    for (int i = 0; i < 8; i++)
        ASSERT_OK(vc_admit_try(a));
    ASSERT_EQ(vc_admit_try(a), VC_EBUSY);
    vc_admit_done(a, 0, 0);
    ASSERT_OK(vc_admit_try(a));
    vc_admit_stats_t s;
    vc_admit_stats(a, &s);
    ASSERT_EQ(s.inflight, 8);
    ASSERT_EQ(s.admitted, 9);
    ASSERT_EQ(s.refused, 1);
    for (int i = 0; i < 8; i++)
        vc_admit_done(a, 0, 0);
    vc_admit_free(a);
}

static void test_control_loop(void)
{
    vc_admit_t *a = make(200);
    drive(a, 20, 10, 0); /* calm: baseline 5 ms */
    drive(a, 300, 400, 10); /* overload: 400 want in, 10 fit without queueing */
    long settled = limit_of(a);
    vc_admit_stats_t s;
    vc_admit_stats(a, &s);
    fprintf(stderr, "   overload: limit %ld baseline %.2f ms last median %.2f ms decreases %llu\n",
            settled, s.baseline_ms, s.last_median_ms, (unsigned long long)s.decreases);
    /* Within tolerance 2 of the baseline: about 20 in flight; AIMD oscillates around it. */
    ASSERT(settled >= 8 && settled <= 30);
    drive(a, 300, 400, 0); /* the overload passed: capacity unlimited again */
    long recovered = limit_of(a);
    fprintf(stderr, "   recovered: limit %ld\n", recovered);
    ASSERT(recovered >= 300);
    vc_admit_free(a);
}

/* A limit nobody reaches does not grow: it stays where demand left it. */
static void test_no_raise_unused(void)
{
    vc_admit_t *a = make(50);
    drive(a, 100, 5, 0);
    ASSERT_EQ(limit_of(a), 50);
    vc_admit_free(a);
}

int main(void)
{
    RUN(test_opts);
    RUN(test_cap);
    RUN(test_control_loop);
    RUN(test_no_raise_unused);
    return 0;
}
