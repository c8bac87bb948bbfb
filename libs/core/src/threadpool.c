/* pthread_setname_np is a GNU extension. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vc/error.h"
#include "vc/queue.h"
#include "vc/threadpool.h"

#define POOL_NAME_MAX 16 /* Linux thread names: 15 bytes + NUL */

/* One queued call; allocated by submit, freed by the worker that runs it. */
typedef struct pool_task {
    vc_task_fn fn;
    void *arg;
} pool_task_t;

typedef struct pool_worker {
    struct vc_threadpool *pool;
    pthread_t thread;
    char name[POOL_NAME_MAX];
} pool_worker_t;

struct vc_threadpool {
    vc_queue_t *queue;
    pool_worker_t *workers;
    size_t nthreads;
    size_t started;              /* threads actually created (joined on shutdown) */
    atomic_int shut;             /* 1 once shutdown has begun */
    pthread_mutex_t shutdown_mu; /* serialises concurrent shutdown calls */
};

/* Worker loop: runs tasks until the queue is closed and empty.
 * @locality pool thread. */
static void *pool_worker_main(void *p)
{
    pool_worker_t *w = p;
    void *item = NULL;
    pthread_setname_np(pthread_self(), w->name);
    while (vc_queue_pop(w->pool->queue, &item, -1) == 0) {
        pool_task_t *task = item;
        task->fn(task->arg);
        free(task);
    }
    return NULL;
}

/* Writes "<name>-<i>" into out, cutting name so the whole fits the 15-byte thread-name limit. */
static void pool_thread_name(char out[POOL_NAME_MAX], const char *name, size_t i)
{
    char suffix[24];
    int slen = snprintf(suffix, sizeof(suffix), "-%zu", i);
    size_t sl = slen > 0 ? (size_t)slen : 0;
    if (sl > POOL_NAME_MAX - 1)
        sl = POOL_NAME_MAX - 1;
    const char *n = name != NULL ? name : "pool";
    size_t keep = strnlen(n, POOL_NAME_MAX - 1 - sl);
    memcpy(out, n, keep);
    memcpy(out + keep, suffix, sl);
    out[keep + sl] = '\0';
}

/* Joins the started threads after closing the queue; every queued task runs first.
 * @locality owner thread, never a pool thread. @locks takes pool->shutdown_mu. */
void vc_threadpool_shutdown(vc_threadpool_t *pool)
{
    if (pool == NULL)
        return;
    pthread_mutex_lock(&pool->shutdown_mu);
    if (!atomic_exchange(&pool->shut, 1)) {
        vc_queue_close(pool->queue);
        for (size_t i = 0; i < pool->started; i++)
            pthread_join(pool->workers[i].thread, NULL);
    }
    pthread_mutex_unlock(&pool->shutdown_mu);
}

void vc_threadpool_free(vc_threadpool_t *pool)
{
    if (pool == NULL)
        return;
    vc_threadpool_shutdown(pool);
    pthread_mutex_destroy(&pool->shutdown_mu);
    vc_queue_free(pool->queue);
    free(pool->workers);
    free(pool);
}

int vc_threadpool_new(size_t nthreads, size_t queue_capacity, const char *name,
                      vc_threadpool_t **out)
{
    vc_threadpool_t *pool = NULL;
    int rc = VC_ENOMEM;
    if (out == NULL || nthreads == 0 || queue_capacity == 0)
        return VC_EINVAL;
    pool = calloc(1, sizeof(*pool));
    if (pool == NULL)
        return VC_ENOMEM;
    atomic_init(&pool->shut, 0);
    if (pthread_mutex_init(&pool->shutdown_mu, NULL) != 0) {
        free(pool);
        return VC_ENOMEM;
    }
    pool->nthreads = nthreads;
    pool->workers = calloc(nthreads, sizeof(*pool->workers));
    if (pool->workers == NULL)
        goto fail;
    rc = vc_queue_new(queue_capacity, &pool->queue);
    if (rc != 0)
        goto fail;
    for (size_t i = 0; i < nthreads; i++) {
        pool_worker_t *w = &pool->workers[i];
        w->pool = pool;
        pool_thread_name(w->name, name, i);
        if (pthread_create(&w->thread, NULL, pool_worker_main, w) != 0) {
            rc = VC_ENOMEM;
            goto fail;
        }
        pool->started++;
    }
    *out = pool;
    return 0;
fail:
    /* Threads already started exit once the (empty) queue closes. */
    if (pool->queue != NULL) {
        vc_threadpool_free(pool);
    } else {
        pthread_mutex_destroy(&pool->shutdown_mu);
        free(pool->workers);
        free(pool);
    }
    return rc;
}

/* Queues fn(arg); the task struct is freed by the worker that runs it.
 * @locality any thread. */
int vc_threadpool_submit(vc_threadpool_t *pool, vc_task_fn fn, void *arg, int64_t timeout_ms)
{
    if (fn == NULL)
        return VC_EINVAL;
    pool_task_t *task = malloc(sizeof(*task));
    if (task == NULL)
        return VC_ENOMEM;
    task->fn = fn;
    task->arg = arg;
    int rc = vc_queue_push(pool->queue, task, timeout_ms);
    if (rc != 0)
        free(task);
    return rc;
}

size_t vc_threadpool_queued(vc_threadpool_t *pool)
{
    return vc_queue_len(pool->queue);
}

size_t vc_threadpool_threads(const vc_threadpool_t *pool)
{
    return pool->nthreads;
}
