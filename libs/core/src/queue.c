#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "clock_internal.h"
#include "vc/error.h"
#include "vc/queue.h"

/* Ring buffer of `cap` slots; items live in slots head .. head+len-1 (mod cap).
 * Every field except cap is guarded by mu. */
struct vc_queue {
    pthread_mutex_t mu;
    pthread_cond_t not_empty; /* signalled on push and close */
    pthread_cond_t not_full;  /* signalled on pop and close */
    void **slots;
    size_t cap;
    size_t head;
    size_t len;
    int closed;
};

int vc_queue_new(size_t capacity, vc_queue_t **out)
{
    vc_queue_t *q = NULL;
    int inited = 0;
    if (out == NULL || capacity == 0 || capacity > SIZE_MAX / sizeof(void *))
        return VC_EINVAL;
    q = calloc(1, sizeof(*q));
    if (q == NULL)
        goto fail;
    q->slots = calloc(capacity, sizeof(void *));
    if (q->slots == NULL)
        goto fail;
    q->cap = capacity;
    if (pthread_mutex_init(&q->mu, NULL) != 0)
        goto fail;
    inited = 1;
    if (vc_clock__cond_init(&q->not_empty) != 0)
        goto fail;
    inited = 2;
    if (vc_clock__cond_init(&q->not_full) != 0)
        goto fail;
    *out = q;
    return 0;
fail:
    if (inited >= 2)
        pthread_cond_destroy(&q->not_empty);
    if (inited >= 1)
        pthread_mutex_destroy(&q->mu);
    if (q != NULL)
        free(q->slots);
    free(q);
    return VC_ENOMEM;
}

void vc_queue_free(vc_queue_t *q)
{
    if (q == NULL)
        return;
    pthread_cond_destroy(&q->not_full);
    pthread_cond_destroy(&q->not_empty);
    pthread_mutex_destroy(&q->mu);
    free(q->slots);
    free(q);
}

/* Waits once on cv (wake-ups may be spurious: the caller re-checks its condition).
 * @locks q->mu held on entry and on return.
 * Returns 0, or VC_ETIMEDOUT once the deadline has passed. The monotonic *deadline is computed
 * on the first wait of a call (*have_deadline tracks that), so re-waits do not extend it. */
static int queue_wait(vc_queue_t *q, pthread_cond_t *cv, int64_t timeout_ms,
                      struct timespec *deadline, int *have_deadline)
{
    if (timeout_ms < 0) {
        pthread_cond_wait(cv, &q->mu);
        return 0;
    }
    if (!*have_deadline) {
        vc_clock__deadline(deadline, timeout_ms);
        *have_deadline = 1;
    }
    if (pthread_cond_timedwait(cv, &q->mu, deadline) == ETIMEDOUT)
        return VC_ETIMEDOUT;
    return 0;
}

/* Appends item, waiting for a free slot according to timeout_ms.
 * @locality any thread. @locks takes q->mu. */
int vc_queue_push(vc_queue_t *q, void *item, int64_t timeout_ms)
{
    struct timespec deadline;
    int have_deadline = 0;
    int rc = 0;
    pthread_mutex_lock(&q->mu);
    while (!q->closed && q->len == q->cap) {
        if (timeout_ms == 0) {
            rc = VC_EFULL;
            goto out;
        }
        rc = queue_wait(q, &q->not_full, timeout_ms, &deadline, &have_deadline);
        if (rc != 0 && !q->closed && q->len == q->cap)
            goto out;
        rc = 0;
    }
    if (q->closed) {
        rc = VC_ECLOSED;
        goto out;
    }
    q->slots[(q->head + q->len) % q->cap] = item;
    q->len++;
    pthread_cond_signal(&q->not_empty);
out:
    pthread_mutex_unlock(&q->mu);
    return rc;
}

/* Removes the oldest item, waiting for one according to timeout_ms. Items pushed before
 * close are still delivered. @locality any thread. @locks takes q->mu. */
int vc_queue_pop(vc_queue_t *q, void **item, int64_t timeout_ms)
{
    struct timespec deadline;
    int have_deadline = 0;
    int rc = 0;
    pthread_mutex_lock(&q->mu);
    while (q->len == 0 && !q->closed) {
        if (timeout_ms == 0) {
            rc = VC_ETIMEDOUT;
            goto out;
        }
        rc = queue_wait(q, &q->not_empty, timeout_ms, &deadline, &have_deadline);
        if (rc != 0 && q->len == 0 && !q->closed)
            goto out;
        rc = 0;
    }
    if (q->len == 0) {
        rc = VC_ECLOSED;
        goto out;
    }
    *item = q->slots[q->head];
    q->slots[q->head] = NULL;
    q->head = (q->head + 1) % q->cap;
    q->len--;
    pthread_cond_signal(&q->not_full);
out:
    pthread_mutex_unlock(&q->mu);
    return rc;
}

void vc_queue_close(vc_queue_t *q)
{
    pthread_mutex_lock(&q->mu);
    q->closed = 1;
    pthread_cond_broadcast(&q->not_empty);
    pthread_cond_broadcast(&q->not_full);
    pthread_mutex_unlock(&q->mu);
}

size_t vc_queue_len(vc_queue_t *q)
{
    pthread_mutex_lock(&q->mu);
    size_t len = q->len;
    pthread_mutex_unlock(&q->mu);
    return len;
}

size_t vc_queue_capacity(const vc_queue_t *q)
{
    return q->cap;
}
