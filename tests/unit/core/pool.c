/* The generic connection pool with fake connections: bounded size, timeouts, broken
 * connections re-dialled, idle and lifetime limits, stats. */
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "test.h"
#include "vc/error.h"
#include "vc/pool.h"

static atomic_int dialled, closed_count, fail_dials;

static void *fake_dial(void *opaque, char *err, size_t errlen)
{
    (void)opaque;
    if (atomic_load(&fail_dials)) {
        vc_err(err, errlen, VC_EUNAVAIL, "refused");
        return NULL;
    }
    atomic_fetch_add(&dialled, 1);
    return malloc(1);
}

static void fake_close(void *opaque, void *conn)
{
    (void)opaque;
    atomic_fetch_add(&closed_count, 1);
    free(conn);
}

static vc_pool_t *new_pool(size_t size, long long timeout_ms)
{
    vc_pool_ops_t ops = {.dial = fake_dial, .close = fake_close};
    vc_pool_t *p = NULL;
    ASSERT_OK(vc_pool_new(size, timeout_ms, &ops, &p));
    return p;
}

static void bounded_and_reused(void)
{
    atomic_store(&dialled, 0);
    vc_pool_t *p = new_pool(2, 20);
    void *a = NULL, *b = NULL, *c = NULL;
    char err[64];
    ASSERT_OK(vc_pool_acquire(p, &a, err, sizeof(err)));
    ASSERT_OK(vc_pool_acquire(p, &b, err, sizeof(err)));
    ASSERT_EQ(vc_pool_acquire(p, &c, err, sizeof(err)), VC_ETIMEDOUT);
    vc_pool_release(p, a, 0);
    ASSERT_OK(vc_pool_acquire(p, &c, err, sizeof(err)));
    ASSERT(c == a); /* reused, not re-dialled */
    ASSERT_EQ(atomic_load(&dialled), 2);
    vc_pool_stats_t st;
    vc_pool_stats(p, &st);
    ASSERT_EQ(st.in_use, 2);
    ASSERT_EQ(st.timeouts, 1);
    vc_pool_release(p, b, 1); /* broken: closed, its slot re-dialled on demand */
    ASSERT_OK(vc_pool_acquire(p, &b, err, sizeof(err)));
    ASSERT_EQ(atomic_load(&dialled), 3);
    vc_pool_release(p, b, 0);
    vc_pool_release(p, c, 0);
    vc_pool_free(p);
}

static void dial_failure_frees_the_slot(void)
{
    vc_pool_t *p = new_pool(1, 20);
    void *a = NULL;
    char err[64];
    atomic_store(&fail_dials, 1);
    ASSERT_EQ(vc_pool_acquire(p, &a, err, sizeof(err)), VC_EUNAVAIL);
    atomic_store(&fail_dials, 0);
    ASSERT_OK(vc_pool_acquire(p, &a, err, sizeof(err)));
    vc_pool_stats_t st;
    vc_pool_stats(p, &st);
    ASSERT_EQ(st.dial_failures, 1);
    vc_pool_release(p, a, 0);
    vc_pool_free(p);
}

static void idle_and_lifetime_limits(void)
{
    vc_pool_t *p = new_pool(4, 20);
    vc_pool_limits_t lim = {.max_idle = 1, .max_lifetime_ms = 30};
    vc_pool_set_limits(p, &lim);
    void *a = NULL, *b = NULL;
    char err[64];
    ASSERT_OK(vc_pool_acquire(p, &a, err, sizeof(err)));
    ASSERT_OK(vc_pool_acquire(p, &b, err, sizeof(err)));
    int before = atomic_load(&closed_count);
    vc_pool_release(p, a, 0);
    vc_pool_release(p, b, 0); /* over max_idle: closed */
    ASSERT_EQ(atomic_load(&closed_count), before + 1);
    struct timespec ts = {0, 40000000L}; /* outlive max_lifetime (the limit is time itself) */
    nanosleep(&ts, NULL);
    int dials = atomic_load(&dialled);
    ASSERT_OK(vc_pool_acquire(p, &a, err, sizeof(err))); /* expired idle: recycled */
    ASSERT_EQ(atomic_load(&dialled), dials + 1);
    vc_pool_release(p, a, 0);
    ASSERT_EQ(vc_pool_warm(p, 2), 2);
    vc_pool_free(p);
}

int main(void)
{
    RUN(bounded_and_reused);
    RUN(dial_failure_frees_the_slot);
    RUN(idle_and_lifetime_limits);
    return 0;
}
