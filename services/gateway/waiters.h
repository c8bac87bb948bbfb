#ifndef VC_GATEWAY_WAITERS_H
#define VC_GATEWAY_WAITERS_H
/* Long-poll support: requests waiting for a detection to finish register here; ONE Redis
 * subscriber thread per gateway process listens on `vc:results` and wakes the waiters of
 * each announced detection ("tenant/id") (never one subscription per request). When the subscription breaks,
 * every waiter is woken to re-check the store, so a lost notice costs a read, not a hang. */
#include <stdint.h>

#include "vc/redis.h"

typedef struct waiters waiters_t;
typedef struct waiter waiter_t;

/* Starts the subscriber thread. Returns 0, VC_ENOMEM or VC_EINVAL (bad URL). */
int waiters_start(const vc_redis_opts_t *redis, waiters_t **out, char *err, size_t errlen);
/* Shutdown, step 1: wakes every waiter and makes further waits return at once, so held
 * long-poll requests answer promptly. */
void waiters_close(waiters_t *w);
/* Stops the thread, wakes every waiter, frees. Waiters must all have been removed. */
void waiters_stop(waiters_t *w);

/* Registers interest in the detection (tenant, id) (call before the work that will announce
 * it). NULL on ENOMEM or an invalid tenant or id. */
waiter_t *waiters_add(waiters_t *w, const char *tenant, const char *id);
/* Blocks until the id is announced, a resubscribe wakes everyone, or deadline_ms (monotonic
 * ms) passes. Returns 1 when woken by a notice or resubscription, 0 on timeout. */
int waiters_wait(waiters_t *w, waiter_t *wt, int64_t deadline_ms);
/* Unregisters and frees wt. */
void waiters_remove(waiters_t *w, waiter_t *wt);

/* Current registrations (for /metrics). */
long waiters_count(waiters_t *w);

#endif
