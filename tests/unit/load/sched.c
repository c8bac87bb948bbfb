/* Unit tests for tests/load/sched.h: open-loop arrival times are fixed by the rate whatever
 * the caller does (no coordinated omission), closed loop hands out on demand, both bounds. */
#include <stdint.h>

#include "sched.h"
#include "test.h"

static void test_open_loop_arrivals(void)
{
    vc_sched_t s;
    int64_t t0 = 1000000000LL, t = 0;
    vc_sched_init(&s, 100.0, 0, 1.0, t0); /* 100/s for 1 s: 100 operations at 10 ms steps */
    ASSERT_EQ(vc_sched_take(&s, t0, &t), 1);
    ASSERT_EQ(t, t0);
    ASSERT_EQ(vc_sched_take(&s, t0 + 5000000, &t), 0); /* next is due at +10 ms */
    ASSERT_EQ(vc_sched_next_ns(&s), t0 + 10000000);
    /* A caller that stalls 100 ms finds 10 overdue operations, each keeping its own time. */
    ASSERT_EQ(vc_sched_backlog(&s, t0 + 100000000), 10);
    for (int i = 1; i <= 10; i++) {
        ASSERT_EQ(vc_sched_take(&s, t0 + 100000000, &t), 1);
        ASSERT_EQ(t, t0 + i * 10000000LL);
    }
    ASSERT_EQ(vc_sched_take(&s, t0 + 100000000, &t), 0);
    uint64_t n = s.issued;
    while (vc_sched_take(&s, t0 + 5000000000LL, &t))
        n++;
    ASSERT_EQ(n, 100);
    ASSERT_EQ(vc_sched_done(&s, t0 + 5000000000LL), 1);
}

static void test_open_loop_count_bound(void)
{
    vc_sched_t s;
    int64_t t = 0;
    vc_sched_init(&s, 1000.0, 5, 0, 0);
    int n = 0;
    while (vc_sched_take(&s, 1000000000LL, &t))
        n++;
    ASSERT_EQ(n, 5);
    ASSERT_EQ(vc_sched_done(&s, 0), 1);
    ASSERT_EQ(vc_sched_next_ns(&s), INT64_MAX);
}

static void test_closed_loop(void)
{
    vc_sched_t s;
    int64_t t = 0;
    vc_sched_init(&s, 0, 0, 2.0, 0);
    ASSERT_EQ(vc_sched_take(&s, 123, &t), 1);
    ASSERT_EQ(t, 123);
    ASSERT_EQ(vc_sched_done(&s, 1999999999LL), 0);
    ASSERT_EQ(vc_sched_take(&s, 2000000000LL, &t), 0);
    ASSERT_EQ(vc_sched_done(&s, 2000000000LL), 1);
    ASSERT_EQ(vc_sched_next_ns(&s), INT64_MAX);
    vc_sched_init(&s, 0, 3, 0, 0);
    int n = 0;
    while (vc_sched_take(&s, 0, &t))
        n++;
    ASSERT_EQ(n, 3);
}

int main(void)
{
    RUN(test_open_loop_arrivals);
    RUN(test_open_loop_count_bound);
    RUN(test_closed_loop);
    return 0;
}
