#ifndef VC_SEM_H
#define VC_SEM_H
#include <stdint.h>

/* Counting semaphore with non-blocking try-acquire (used to shed load with 503). */
typedef struct vc_sem vc_sem_t;

/* Creates a semaphore with `permits` (>= 1) permits. Returns 0, VC_EINVAL or VC_ENOMEM;
 * caller frees with vc_sem_free. */
int vc_sem_new(long permits, vc_sem_t **out);
void vc_sem_free(vc_sem_t *sem);
/* Takes a permit without waiting. Returns 0 or VC_EBUSY when none is free. */
int vc_sem_try_acquire(vc_sem_t *sem);
/* Takes a permit, waiting up to timeout_ms (< 0 forever, 0 = do not wait). Returns 0 or
 * VC_ETIMEDOUT. */
int vc_sem_acquire(vc_sem_t *sem, int64_t timeout_ms);
/* Returns a permit taken with an acquire call (a release with no permit taken is ignored). */
void vc_sem_release(vc_sem_t *sem);
long vc_sem_in_use(vc_sem_t *sem);
long vc_sem_permits(const vc_sem_t *sem);

#endif
