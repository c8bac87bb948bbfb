#ifndef VC_CLOCK_INTERNAL_H
#define VC_CLOCK_INTERNAL_H
/* Helpers shared by the blocking primitives of vc_core (queue, sem); not exported. */
#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* Initialises cv to measure pthread_cond_timedwait deadlines on CLOCK_MONOTONIC, so wall-clock
 * jumps never shorten or stretch a timeout. Returns 0 or VC_ENOMEM. */
int vc_clock__cond_init(pthread_cond_t *cv);
/* Writes into ts the CLOCK_MONOTONIC instant timeout_ms (> 0) from now. */
void vc_clock__deadline(struct timespec *ts, int64_t timeout_ms);

#endif
