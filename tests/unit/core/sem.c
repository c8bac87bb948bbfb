/* Unit tests for vc/sem.h: permits, timeouts, wake-up and the bound under contention. */
#include <pthread.h>
#include <stdatomic.h>

#include "test.h"
#include "vc/clock.h"
#include "vc/error.h"
#include "vc/sem.h"

#define NTHREADS 8
#define ITERS 20000
#define PERMITS 3

static void test_try_acquire(void)
{
    vc_sem_t *sem = NULL;
    ASSERT_EQ(vc_sem_new(0, &sem), VC_EINVAL);
    ASSERT_OK(vc_sem_new(2, &sem));
    ASSERT_EQ(vc_sem_permits(sem), 2);
    ASSERT_OK(vc_sem_try_acquire(sem));
    ASSERT_OK(vc_sem_try_acquire(sem));
    ASSERT_EQ(vc_sem_in_use(sem), 2);
    ASSERT_EQ(vc_sem_try_acquire(sem), VC_EBUSY);
    ASSERT_EQ(vc_sem_acquire(sem, 0), VC_ETIMEDOUT);
    vc_sem_release(sem);
    ASSERT_EQ(vc_sem_in_use(sem), 1);
    ASSERT_OK(vc_sem_acquire(sem, 0));
    vc_sem_release(sem);
    vc_sem_release(sem);
    vc_sem_release(sem); /* unmatched: ignored */
    ASSERT_EQ(vc_sem_in_use(sem), 0);
    ASSERT_OK(vc_sem_try_acquire(sem));
    ASSERT_OK(vc_sem_try_acquire(sem));
    ASSERT_EQ(vc_sem_try_acquire(sem), VC_EBUSY);
    vc_sem_free(sem);
    vc_sem_free(NULL);
}

static void test_acquire_timeout(void)
{
    vc_sem_t *sem = NULL;
    ASSERT_OK(vc_sem_new(1, &sem));
    ASSERT_OK(vc_sem_acquire(sem, 20));
    int64_t t0 = vc_clock_mono_ns();
    ASSERT_EQ(vc_sem_acquire(sem, 20), VC_ETIMEDOUT);
    int64_t took = vc_clock_mono_ns() - t0;
    ASSERT(took >= 20 * 1000000LL);
    ASSERT(took < 2000 * 1000000LL);
    vc_sem_free(sem);
}

typedef struct waiter {
    vc_sem_t *sem;
    int rc;
} waiter_t;

static void *acquire_forever(void *p)
{
    waiter_t *w = p;
    w->rc = vc_sem_acquire(w->sem, -1);
    return NULL;
}

static void test_release_wakes_waiter(void)
{
    vc_sem_t *sem = NULL;
    pthread_t t;
    ASSERT_OK(vc_sem_new(1, &sem));
    ASSERT_OK(vc_sem_try_acquire(sem));
    waiter_t w = {sem, 1};
    ASSERT_OK(pthread_create(&t, NULL, acquire_forever, &w));
    vc_sem_release(sem);
    ASSERT_OK(pthread_join(t, NULL));
    ASSERT_OK(w.rc);
    ASSERT_EQ(vc_sem_in_use(sem), 1);
    vc_sem_release(sem);
    vc_sem_free(sem);
}

typedef struct contender {
    vc_sem_t *sem;
    atomic_int *inside;
    atomic_int *max_inside;
    atomic_long *entries;
    int use_try;
} contender_t;

/* Enters the critical section ITERS times, recording how many threads are inside. */
static void *contend(void *p)
{
    contender_t *c = p;
    for (int i = 0; i < ITERS; i++) {
        if (c->use_try) {
            if (vc_sem_try_acquire(c->sem) != 0)
                continue;
        } else {
            ASSERT_OK(vc_sem_acquire(c->sem, i % 2 ? -1 : 10000));
        }
        int now = atomic_fetch_add(c->inside, 1) + 1;
        int seen = atomic_load(c->max_inside);
        while (now > seen && !atomic_compare_exchange_weak(c->max_inside, &seen, now))
            ;
        atomic_fetch_add(c->entries, 1);
        atomic_fetch_sub(c->inside, 1);
        vc_sem_release(c->sem);
    }
    return NULL;
}

static void test_contention_bound(void)
{
    vc_sem_t *sem = NULL;
    atomic_int inside = 0, max_inside = 0;
    atomic_long entries = 0;
    pthread_t t[NTHREADS];
    contender_t c[NTHREADS];
    ASSERT_OK(vc_sem_new(PERMITS, &sem));
    for (int i = 0; i < NTHREADS; i++) {
        c[i] = (contender_t){sem, &inside, &max_inside, &entries, i % 4 == 3};
        ASSERT_OK(pthread_create(&t[i], NULL, contend, &c[i]));
    }
    for (int i = 0; i < NTHREADS; i++)
        ASSERT_OK(pthread_join(t[i], NULL));
    ASSERT(atomic_load(&max_inside) <= PERMITS);
    ASSERT(atomic_load(&max_inside) >= 1);
    ASSERT(atomic_load(&entries) >= (long)(NTHREADS - NTHREADS / 4) * ITERS);
    ASSERT_EQ(vc_sem_in_use(sem), 0);
    vc_sem_free(sem);
}

int main(void)
{
    RUN(test_try_acquire);
    RUN(test_acquire_timeout);
    RUN(test_release_wakes_waiter);
    RUN(test_contention_bound);
    return 0;
}
