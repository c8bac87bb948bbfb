#include "test.h"
#include "vc/error.h"
#include "vc/offtrack.h"

static void in_order_completion_advances_each_time(void)
{
    vc_offtrack_t *t = NULL;
    ASSERT_OK(vc_offtrack_new(&t));
    for (int64_t o = 10; o < 20; o++)
        ASSERT_OK(vc_offtrack_begin(t, 0, o));
    ASSERT_EQ(vc_offtrack_inflight(t), 10);
    for (int64_t o = 10; o < 20; o++)
        ASSERT_EQ(vc_offtrack_done(t, 0, o), o + 1);
    ASSERT_EQ(vc_offtrack_inflight(t), 0);
    vc_offtrack_free(t);
}

static void slow_head_holds_back_only_its_partition(void)
{
    vc_offtrack_t *t = NULL;
    ASSERT_OK(vc_offtrack_new(&t));
    for (int64_t o = 0; o < 5; o++) {
        ASSERT_OK(vc_offtrack_begin(t, 1, o));
        ASSERT_OK(vc_offtrack_begin(t, 2, o + 100));
    }
    /* Partition 1: offset 0 is slow; 1..4 finish first and must not be committable. */
    for (int64_t o = 1; o < 5; o++)
        ASSERT_EQ(vc_offtrack_done(t, 1, o), -1);
    /* Partition 2 is unaffected. */
    ASSERT_EQ(vc_offtrack_done(t, 2, 100), 101);
    ASSERT_EQ(vc_offtrack_done(t, 2, 101), 102);
    /* The slow head finishes: the whole run retires at once. */
    ASSERT_EQ(vc_offtrack_done(t, 1, 0), 5);
    ASSERT_EQ(vc_offtrack_inflight(t), 3);
    vc_offtrack_free(t);
}

static void gaps_in_offsets_are_fine(void)
{
    /* Compacted topics and transactions leave gaps: offsets need not be consecutive. */
    vc_offtrack_t *t = NULL;
    ASSERT_OK(vc_offtrack_new(&t));
    ASSERT_OK(vc_offtrack_begin(t, 0, 3));
    ASSERT_OK(vc_offtrack_begin(t, 0, 7));
    ASSERT_OK(vc_offtrack_begin(t, 0, 8));
    ASSERT_EQ(vc_offtrack_done(t, 0, 7), -1);
    ASSERT_EQ(vc_offtrack_done(t, 0, 3), 8);
    ASSERT_EQ(vc_offtrack_done(t, 0, 8), 9);
    vc_offtrack_free(t);
}

static void errors_are_reported(void)
{
    vc_offtrack_t *t = NULL;
    ASSERT_OK(vc_offtrack_new(&t));
    ASSERT_OK(vc_offtrack_begin(t, 0, 5));
    ASSERT_EQ(vc_offtrack_begin(t, 0, 5), VC_EINVAL);  /* not increasing */
    ASSERT_EQ(vc_offtrack_begin(t, 0, 4), VC_EINVAL);
    ASSERT_EQ(vc_offtrack_begin(t, -1, 4), VC_EINVAL);
    ASSERT_EQ(vc_offtrack_done(t, 0, 6), VC_ENOTFOUND); /* never begun */
    ASSERT_EQ(vc_offtrack_done(t, 9, 5), VC_ENOTFOUND); /* unknown partition */
    ASSERT_EQ(vc_offtrack_done(t, 0, 5), 6);
    ASSERT_EQ(vc_offtrack_done(t, 0, 5), VC_ENOTFOUND); /* twice */
    vc_offtrack_free(t);
}

static void forget_drops_revoked_partition(void)
{
    vc_offtrack_t *t = NULL;
    ASSERT_OK(vc_offtrack_new(&t));
    ASSERT_OK(vc_offtrack_begin(t, 0, 1));
    ASSERT_OK(vc_offtrack_begin(t, 0, 2));
    ASSERT_OK(vc_offtrack_begin(t, 1, 1));
    ASSERT_EQ(vc_offtrack_partition_inflight(t, 0), 2);
    ASSERT_EQ(vc_offtrack_partition_inflight(t, 7), 0);
    vc_offtrack_forget(t, 0);
    ASSERT_EQ(vc_offtrack_inflight(t), 1);
    ASSERT_EQ(vc_offtrack_partition_inflight(t, 0), 0);
    /* A worker finishing a message of the revoked partition must not produce a commit. */
    ASSERT_EQ(vc_offtrack_done(t, 0, 2), VC_ENOTFOUND);
    /* After re-assignment the partition may restart from an older committed offset. */
    ASSERT_OK(vc_offtrack_begin(t, 0, 1));
    ASSERT_EQ(vc_offtrack_done(t, 0, 1), 2);
    vc_offtrack_free(t);
}

static void many_out_of_order_completions(void)
{
    /* 10k offsets completed in a scrambled order: the commit point is always the contiguous
     * finished prefix, checked against a brute-force model. */
    enum { N = 10000 };
    static int done[N];
    vc_offtrack_t *t = NULL;
    ASSERT_OK(vc_offtrack_new(&t));
    for (int64_t o = 0; o < N; o++)
        ASSERT_OK(vc_offtrack_begin(t, 3, o));
    int64_t committed = 0;
    for (int i = 0; i < N; i++) {
        int64_t o = ((int64_t)i * 7919) % N; /* 7919 is prime: a permutation of 0..N-1 */
        done[o] = 1;
        int64_t expect = committed;
        while (expect < N && done[expect])
            expect++;
        int64_t r = vc_offtrack_done(t, 3, o);
        if (expect > committed) {
            ASSERT_EQ(r, expect);
            committed = expect;
        } else {
            ASSERT_EQ(r, -1);
        }
    }
    ASSERT_EQ(committed, N);
    ASSERT_EQ(vc_offtrack_inflight(t), 0);
    vc_offtrack_free(t);
}

int main(void)
{
    RUN(in_order_completion_advances_each_time);
    RUN(slow_head_holds_back_only_its_partition);
    RUN(gaps_in_offsets_are_fine);
    RUN(errors_are_reported);
    RUN(forget_drops_revoked_partition);
    RUN(many_out_of_order_completions);
    return 0;
}
