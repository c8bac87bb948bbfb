#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "vc/error.h"
#include "vc/pool.h"

struct vc_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* signalled when a connection or a slot frees up */
    vc_pool_ops_t ops;
    size_t size, open, nidle;
    long long timeout_ms;
    void **idle; /* stack: most recently used first, so spare connections age out */
};

int vc_pool_new(size_t size, long long timeout_ms, const vc_pool_ops_t *ops, vc_pool_t **out)
{
    if (size == 0 || ops == NULL || ops->dial == NULL || ops->close == NULL)
        return VC_EINVAL;
    vc_pool_t *pool = calloc(1, sizeof(*pool));
    if (pool == NULL)
        return VC_ENOMEM;
    pool->idle = calloc(size, sizeof(void *));
    if (pool->idle == NULL) {
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
        pool->ops.close(pool->ops.opaque, pool->idle[i]);
    pthread_cond_destroy(&pool->cv);
    pthread_mutex_destroy(&pool->mu);
    free(pool->idle);
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

int vc_pool_acquire(vc_pool_t *pool, void **conn, char *err, size_t errlen)
{
    struct timespec dl = deadline_after(pool->timeout_ms);
    pthread_mutex_lock(&pool->mu);
    while (pool->nidle == 0 && pool->open >= pool->size) {
        if (pthread_cond_timedwait(&pool->cv, &pool->mu, &dl) == ETIMEDOUT) {
            pthread_mutex_unlock(&pool->mu);
            return vc_err(err, errlen, VC_ETIMEDOUT, "pool exhausted: %zu connections busy",
                          pool->size);
        }
    }
    if (pool->nidle > 0) {
        *conn = pool->idle[--pool->nidle];
        pthread_mutex_unlock(&pool->mu);
        return 0;
    }
    pool->open++; /* reserve the slot, dial outside the lock */
    pthread_mutex_unlock(&pool->mu);
    void *c = pool->ops.dial(pool->ops.opaque, err, errlen);
    if (c != NULL) {
        *conn = c;
        return 0;
    }
    pthread_mutex_lock(&pool->mu);
    pool->open--;
    pthread_cond_signal(&pool->cv);
    pthread_mutex_unlock(&pool->mu);
    return VC_EUNAVAIL;
}

void vc_pool_release(vc_pool_t *pool, void *conn, int broken)
{
    if (broken)
        pool->ops.close(pool->ops.opaque, conn);
    pthread_mutex_lock(&pool->mu);
    if (broken)
        pool->open--;
    else
        pool->idle[pool->nidle++] = conn;
    pthread_cond_signal(&pool->cv);
    pthread_mutex_unlock(&pool->mu);
}

size_t vc_pool_in_use(vc_pool_t *pool)
{
    pthread_mutex_lock(&pool->mu);
    size_t n = pool->open - pool->nidle;
    pthread_mutex_unlock(&pool->mu);
    return n;
}
