#ifndef VC_SEM_H
#define VC_SEM_H
#include <stdint.h>

/* Counting semaphore with non-blocking try-acquire (used to shed load with 503). */
typedef struct vc_sem vc_sem_t;

/* Creates a semaphore with `permits` (>= 1) permits. */
int vc_sem_new(long permits, vc_sem_t **out);
void vc_sem_free(vc_sem_t *sem);
/* Takes a permit without waiting. Returns 0 or VC_EBUSY when none is free. */
int vc_sem_try_acquire(vc_sem_t *sem);
/* Takes a permit, waiting up to timeout_ms (< 0 forever). Returns 0 or VC_ETIMEDOUT. */
int vc_sem_acquire(vc_sem_t *sem, int64_t timeout_ms);
/* Returns a permit taken with an acquire call. */
void vc_sem_release(vc_sem_t *sem);
long vc_sem_in_use(vc_sem_t *sem);
long vc_sem_permits(const vc_sem_t *sem);

#endif
