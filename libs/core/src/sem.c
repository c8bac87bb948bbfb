#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "clock_internal.h"
#include "vc/error.h"
#include "vc/sem.h"

/* in_use counts permits taken; guarded by mu. permits never changes. */
struct vc_sem {
    pthread_mutex_t mu;
    pthread_cond_t freed; /* signalled when a permit is returned */
    long permits;
    long in_use;
};

int vc_sem_new(long permits, vc_sem_t **out)
{
    vc_sem_t *sem = NULL;
    if (out == NULL || permits < 1)
        return VC_EINVAL;
    sem = calloc(1, sizeof(*sem));
    if (sem == NULL)
        goto fail;
    sem->permits = permits;
    if (pthread_mutex_init(&sem->mu, NULL) != 0)
        goto fail;
    if (vc_clock__cond_init(&sem->freed) != 0) {
        pthread_mutex_destroy(&sem->mu);
        goto fail;
    }
    *out = sem;
    return 0;
fail:
    free(sem);
    return VC_ENOMEM;
}

void vc_sem_free(vc_sem_t *sem)
{
    if (sem == NULL)
        return;
    pthread_cond_destroy(&sem->freed);
    pthread_mutex_destroy(&sem->mu);
    free(sem);
}

/* @locality any thread. @locks takes sem->mu. */
int vc_sem_try_acquire(vc_sem_t *sem)
{
    int rc = VC_EBUSY;
    pthread_mutex_lock(&sem->mu);
    if (sem->in_use < sem->permits) {
        sem->in_use++;
        rc = 0;
    }
    pthread_mutex_unlock(&sem->mu);
    return rc;
}

/* Waits for a permit until the monotonic deadline timeout_ms from now (< 0: forever; 0: same
 * as try-acquire but returns VC_ETIMEDOUT). @locality any thread. @locks takes sem->mu. */
int vc_sem_acquire(vc_sem_t *sem, int64_t timeout_ms)
{
    struct timespec deadline;
    int rc = 0;
    if (timeout_ms > 0)
        vc_clock__deadline(&deadline, timeout_ms);
    pthread_mutex_lock(&sem->mu);
    while (sem->in_use >= sem->permits) {
        if (timeout_ms == 0) {
            rc = VC_ETIMEDOUT;
            break;
        }
        if (timeout_ms < 0) {
            pthread_cond_wait(&sem->freed, &sem->mu);
            continue;
        }
        if (pthread_cond_timedwait(&sem->freed, &sem->mu, &deadline) == ETIMEDOUT &&
            sem->in_use >= sem->permits) {
            rc = VC_ETIMEDOUT;
            break;
        }
    }
    if (rc == 0)
        sem->in_use++;
    pthread_mutex_unlock(&sem->mu);
    return rc;
}

/* A release without a matching acquire is ignored rather than creating a permit.
 * @locality any thread. @locks takes sem->mu. */
void vc_sem_release(vc_sem_t *sem)
{
    pthread_mutex_lock(&sem->mu);
    if (sem->in_use > 0) {
        sem->in_use--;
        pthread_cond_signal(&sem->freed);
    }
    pthread_mutex_unlock(&sem->mu);
}

long vc_sem_in_use(vc_sem_t *sem)
{
    pthread_mutex_lock(&sem->mu);
    long n = sem->in_use;
    pthread_mutex_unlock(&sem->mu);
    return n;
}

long vc_sem_permits(const vc_sem_t *sem)
{
    return sem->permits;
}
