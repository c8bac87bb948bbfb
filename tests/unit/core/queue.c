/* Unit tests for vc/queue.h: FIFO order, bounds, timeouts, close, and MPMC delivery. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "test.h"
#include "vc/clock.h"
#include "vc/error.h"
#include "vc/queue.h"

#define NPROD 4
#define NCONS 4
#define PER_PROD 100000

static void *item_of(uintptr_t v)
{
    return (void *)(v + 1); /* never NULL */
}

static uintptr_t value_of(void *p)
{
    return (uintptr_t)p - 1;
}

static void test_fifo_and_bounds(void)
{
    vc_queue_t *q = NULL;
    void *it = NULL;
    ASSERT_EQ(vc_queue_new(0, &q), VC_EINVAL);
    ASSERT_OK(vc_queue_new(3, &q));
    ASSERT_EQ(vc_queue_capacity(q), 3);
    for (uintptr_t i = 0; i < 3; i++)
        ASSERT_OK(vc_queue_push(q, item_of(i), 0));
    ASSERT_EQ(vc_queue_len(q), 3);
    ASSERT_EQ(vc_queue_push(q, item_of(9), 0), VC_EFULL);
    /* Wrap around the ring a few times. */
    for (uintptr_t i = 3; i < 20; i++) {
        ASSERT_OK(vc_queue_pop(q, &it, 0));
        ASSERT_EQ(value_of(it), i - 3);
        ASSERT_OK(vc_queue_push(q, item_of(i), 0));
    }
    for (uintptr_t i = 17; i < 20; i++) {
        ASSERT_OK(vc_queue_pop(q, &it, -1));
        ASSERT_EQ(value_of(it), i);
    }
    ASSERT_EQ(vc_queue_pop(q, &it, 0), VC_ETIMEDOUT);
    ASSERT_EQ(vc_queue_len(q), 0);
    vc_queue_free(q);
    vc_queue_free(NULL);
}

static void test_timeouts(void)
{
    vc_queue_t *q = NULL;
    void *it = NULL;
    ASSERT_OK(vc_queue_new(1, &q));
    int64_t t0 = vc_clock_mono_ns();
    ASSERT_EQ(vc_queue_pop(q, &it, 20), VC_ETIMEDOUT);
    int64_t took = vc_clock_mono_ns() - t0;
    ASSERT(took >= 20 * 1000000LL);
    ASSERT(took < 2000 * 1000000LL);
    ASSERT_OK(vc_queue_push(q, item_of(1), 20));
    t0 = vc_clock_mono_ns();
    ASSERT_EQ(vc_queue_push(q, item_of(2), 20), VC_ETIMEDOUT);
    ASSERT(vc_clock_mono_ns() - t0 >= 20 * 1000000LL);
    ASSERT_OK(vc_queue_pop(q, &it, 20));
    ASSERT_EQ(value_of(it), 1);
    vc_queue_free(q);
}

static void test_close_drains(void)
{
    vc_queue_t *q = NULL;
    void *it = NULL;
    ASSERT_OK(vc_queue_new(4, &q));
    ASSERT_OK(vc_queue_push(q, item_of(1), 0));
    ASSERT_OK(vc_queue_push(q, item_of(2), 0));
    vc_queue_close(q);
    vc_queue_close(q); /* idempotent */
    ASSERT_EQ(vc_queue_push(q, item_of(3), 0), VC_ECLOSED);
    ASSERT_EQ(vc_queue_push(q, item_of(3), -1), VC_ECLOSED);
    ASSERT_OK(vc_queue_pop(q, &it, -1));
    ASSERT_EQ(value_of(it), 1);
    ASSERT_OK(vc_queue_pop(q, &it, 0));
    ASSERT_EQ(value_of(it), 2);
    ASSERT_EQ(vc_queue_pop(q, &it, -1), VC_ECLOSED);
    ASSERT_EQ(vc_queue_pop(q, &it, 0), VC_ECLOSED);
    vc_queue_free(q);
}

typedef struct blocked {
    vc_queue_t *q;
    int rc;
} blocked_t;

static void *pop_forever(void *p)
{
    blocked_t *b = p;
    void *it = NULL;
    b->rc = vc_queue_pop(b->q, &it, -1);
    return NULL;
}

static void *push_forever(void *p)
{
    blocked_t *b = p;
    b->rc = vc_queue_push(b->q, item_of(7), -1);
    return NULL;
}

/* Whether the waiter is already blocked or not when close happens, it must end with
 * VC_ECLOSED; the join proves it woke up. */
static void test_close_wakes_waiters(void)
{
    vc_queue_t *q = NULL;
    pthread_t t;
    blocked_t b = {NULL, 1};
    void *it = NULL;
    ASSERT_OK(vc_queue_new(1, &q));
    b.q = q;
    ASSERT_OK(pthread_create(&t, NULL, pop_forever, &b));
    vc_queue_close(q);
    ASSERT_OK(pthread_join(t, NULL));
    ASSERT_EQ(b.rc, VC_ECLOSED);
    vc_queue_free(q);

    ASSERT_OK(vc_queue_new(1, &q));
    ASSERT_OK(vc_queue_push(q, item_of(1), 0));
    b.q = q;
    b.rc = 1;
    ASSERT_OK(pthread_create(&t, NULL, push_forever, &b));
    vc_queue_close(q);
    ASSERT_OK(pthread_join(t, NULL));
    ASSERT_EQ(b.rc, VC_ECLOSED);
    ASSERT_OK(vc_queue_pop(q, &it, 0));
    ASSERT_EQ(value_of(it), 1);
    vc_queue_free(q);
}

typedef struct mpmc {
    vc_queue_t *q;
    size_t id;
    _Atomic unsigned char *seen;
    size_t count;
} mpmc_t;

static void *producer(void *p)
{
    mpmc_t *a = p;
    for (uintptr_t i = 0; i < PER_PROD; i++)
        ASSERT_OK(vc_queue_push(a->q, item_of(a->id * PER_PROD + i), -1));
    return NULL;
}

/* Pops until closed-and-empty; checks each producer's items arrive in order. */
static void *consumer(void *p)
{
    mpmc_t *a = p;
    long long last[NPROD];
    void *it = NULL;
    for (size_t i = 0; i < NPROD; i++)
        last[i] = -1;
    while (vc_queue_pop(a->q, &it, -1) == 0) {
        uintptr_t v = value_of(it);
        ASSERT(v < NPROD * PER_PROD);
        size_t prod = v / PER_PROD;
        ASSERT((long long)(v % PER_PROD) > last[prod]);
        last[prod] = (long long)(v % PER_PROD);
        atomic_fetch_add(&a->seen[v], 1);
        a->count++;
    }
    return NULL;
}

static void test_mpmc_exactly_once(void)
{
    vc_queue_t *q = NULL;
    pthread_t pt[NPROD], ct[NCONS];
    mpmc_t pa[NPROD], ca[NCONS];
    _Atomic unsigned char *seen = calloc(NPROD * PER_PROD, sizeof(*seen));
    ASSERT(seen != NULL);
    ASSERT_OK(vc_queue_new(8, &q));
    for (size_t i = 0; i < NCONS; i++) {
        ca[i] = (mpmc_t){q, i, seen, 0};
        ASSERT_OK(pthread_create(&ct[i], NULL, consumer, &ca[i]));
    }
    for (size_t i = 0; i < NPROD; i++) {
        pa[i] = (mpmc_t){q, i, seen, 0};
        ASSERT_OK(pthread_create(&pt[i], NULL, producer, &pa[i]));
    }
    for (size_t i = 0; i < NPROD; i++)
        ASSERT_OK(pthread_join(pt[i], NULL));
    vc_queue_close(q);
    size_t total = 0;
    for (size_t i = 0; i < NCONS; i++) {
        ASSERT_OK(pthread_join(ct[i], NULL));
        total += ca[i].count;
    }
    ASSERT_EQ(total, NPROD * PER_PROD);
    for (size_t i = 0; i < NPROD * PER_PROD; i++) {
        if (seen[i] != 1)
            VC_TEST_FAIL("item %zu seen %d times", i, (int)seen[i]);
    }
    free((void *)seen);
    vc_queue_free(q);
}

int main(void)
{
    RUN(test_fifo_and_bounds);
    RUN(test_timeouts);
    RUN(test_close_drains);
    RUN(test_close_wakes_waiters);
    RUN(test_mpmc_exactly_once);
    return 0;
}
