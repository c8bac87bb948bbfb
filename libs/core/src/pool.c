#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "vc/error.h"
#include "vc/pool.h"

/* An idle connection and when it was opened / last returned (monotonic ms). */
typedef struct {
    void *conn;
    long long born_ms, idle_since_ms;
} slot_t;

struct vc_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* signalled when a connection or a slot frees up */
    vc_pool_ops_t ops;
    vc_pool_limits_t limits;
    size_t size, open, nidle;
    long long timeout_ms;
    slot_t *idle; /* stack: most recently used on top, so spare connections age out */
    void **born_conn; /* birth times of connections in use, by pointer (size entries) */
    long long *born_ms;
    unsigned long long dials, dial_failures, timeouts, recycled;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* @locks: pool->mu. Remembers when an in-use connection was born. */
static void born_put(vc_pool_t *pool, void *conn, long long born)
{
    for (size_t i = 0; i < pool->size; i++)
        if (pool->born_conn[i] == NULL) {
            pool->born_conn[i] = conn;
            pool->born_ms[i] = born;
            return;
        }
}

/* @locks: pool->mu. Forgets and returns the birth time of an in-use connection. */
static long long born_take(vc_pool_t *pool, void *conn)
{
    for (size_t i = 0; i < pool->size; i++)
        if (pool->born_conn[i] == conn) {
            pool->born_conn[i] = NULL;
            return pool->born_ms[i];
        }
    return now_ms();
}

int vc_pool_new(size_t size, long long timeout_ms, const vc_pool_ops_t *ops, vc_pool_t **out)
{
    if (size == 0 || ops == NULL || ops->dial == NULL || ops->close == NULL)
        return VC_EINVAL;
    vc_pool_t *pool = calloc(1, sizeof(*pool));
    if (pool == NULL)
        return VC_ENOMEM;
    pool->idle = calloc(size, sizeof(slot_t));
    pool->born_conn = calloc(size, sizeof(void *));
    pool->born_ms = calloc(size, sizeof(long long));
    if (pool->idle == NULL || pool->born_conn == NULL || pool->born_ms == NULL) {
        free(pool->idle);
        free(pool->born_conn);
        free(pool->born_ms);
        free(pool);
        return VC_ENOMEM;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&pool->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&pool->mu, NULL);
    pool->ops = *ops;
    pool->size = size;
    pool->timeout_ms = timeout_ms;
    *out = pool;
    return 0;
}

void vc_pool_free(vc_pool_t *pool)
{
    if (pool == NULL)
        return;
    for (size_t i = 0; i < pool->nidle; i++)
        pool->ops.close(pool->ops.opaque, pool->idle[i].conn);
    pthread_cond_destroy(&pool->cv);
    pthread_mutex_destroy(&pool->mu);
    free(pool->idle);
    free(pool->born_conn);
    free(pool->born_ms);
    free(pool);
}

static struct timespec deadline_after(long long ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

void vc_pool_set_limits(vc_pool_t *pool, const vc_pool_limits_t *limits)
{
    pthread_mutex_lock(&pool->mu);
    pool->limits = *limits;
    pthread_mutex_unlock(&pool->mu);
}

/* @locks: pool->mu. True when an idle slot has outlived its idle time or lifetime. */
static int expired(const vc_pool_t *pool, const slot_t *s, long long now)
{
    const vc_pool_limits_t *l = &pool->limits;
    return (l->max_idle_time_ms > 0 && now - s->idle_since_ms > l->max_idle_time_ms) ||
           (l->max_lifetime_ms > 0 && now - s->born_ms > l->max_lifetime_ms);
}

int vc_pool_acquire(vc_pool_t *pool, void **conn, char *err, size_t errlen)
{
    struct timespec dl = deadline_after(pool->timeout_ms);
    void *stale = NULL;
    pthread_mutex_lock(&pool->mu);
    while (pool->nidle == 0 && pool->open >= pool->size) {
        if (pthread_cond_timedwait(&pool->cv, &pool->mu, &dl) == ETIMEDOUT) {
            pool->timeouts++;
            pthread_mutex_unlock(&pool->mu);
            return vc_err(err, errlen, VC_ETIMEDOUT, "pool exhausted: %zu connections busy",
                          pool->size);
        }
    }
    long long now = now_ms();
    if (pool->nidle > 0) {
        slot_t s = pool->idle[--pool->nidle];
        if (!expired(pool, &s, now)) {
            born_put(pool, s.conn, s.born_ms);
            *conn = s.conn;
            pthread_mutex_unlock(&pool->mu);
            return 0;
        }
        stale = s.conn; /* recycle it: its slot is re-dialled below */
        pool->recycled++;
    } else {
        pool->open++; /* reserve the slot, dial outside the lock */
    }
    pool->dials++;
    pthread_mutex_unlock(&pool->mu);
    if (stale != NULL)
        pool->ops.close(pool->ops.opaque, stale);
    void *c = pool->ops.dial(pool->ops.opaque, err, errlen);
    pthread_mutex_lock(&pool->mu);
    if (c != NULL) {
        born_put(pool, c, now_ms());
        *conn = c;
    } else {
        pool->open--;
        pool->dial_failures++;
        pthread_cond_signal(&pool->cv);
    }
    pthread_mutex_unlock(&pool->mu);
    return c != NULL ? 0 : VC_EUNAVAIL;
}

void vc_pool_release(vc_pool_t *pool, void *conn, int broken)
{
    pthread_mutex_lock(&pool->mu);
    long long born = born_take(pool, conn), now = now_ms();
    const vc_pool_limits_t *l = &pool->limits;
    int close_it = broken || (l->max_idle > 0 && pool->nidle >= l->max_idle) ||
                   (l->max_lifetime_ms > 0 && now - born > l->max_lifetime_ms);
    if (close_it) {
        pool->open--;
        pool->recycled += !broken;
    } else {
        pool->idle[pool->nidle++] = (slot_t){.conn = conn, .born_ms = born, .idle_since_ms = now};
    }
    pthread_cond_signal(&pool->cv);
    pthread_mutex_unlock(&pool->mu);
    if (close_it)
        pool->ops.close(pool->ops.opaque, conn);
}

void vc_pool_stats(vc_pool_t *pool, vc_pool_stats_t *out)
{
    pthread_mutex_lock(&pool->mu);
    *out = (vc_pool_stats_t){.size = pool->size, .open = pool->open, .idle = pool->nidle,
                             .in_use = pool->open - pool->nidle, .dials = pool->dials,
                             .dial_failures = pool->dial_failures, .timeouts = pool->timeouts,
                             .recycled = pool->recycled};
    pthread_mutex_unlock(&pool->mu);
}

size_t vc_pool_in_use(vc_pool_t *pool)
{
    pthread_mutex_lock(&pool->mu);
    size_t n = pool->open - pool->nidle;
    pthread_mutex_unlock(&pool->mu);
    return n;
}

size_t vc_pool_warm(vc_pool_t *pool, size_t n)
{
    void **conns = calloc(n, sizeof(void *));
    size_t got = 0;
    char err[128];
    while (conns != NULL && got < n && vc_pool_acquire(pool, &conns[got], err, sizeof(err)) == 0)
        got++;
    for (size_t i = 0; i < got; i++)
        vc_pool_release(pool, conns[i], 0);
    free(conns);
    return got;
}
