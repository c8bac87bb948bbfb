#ifndef VC_QUEUE_H
#define VC_QUEUE_H
#include <stddef.h>
#include <stdint.h>

/* Bounded multi-producer multi-consumer FIFO of pointers (mutex + two condition variables).
 * The queue never owns its items: whoever pops an item owns it. */
typedef struct vc_queue vc_queue_t;

/* Creates a queue holding at most `capacity` (>= 1) items. Returns 0, VC_EINVAL or VC_ENOMEM. */
int vc_queue_new(size_t capacity, vc_queue_t **out);
/* Frees the queue. Items still inside are not freed: drain first. NULL is a no-op. */
void vc_queue_free(vc_queue_t *q);

/* Appends item. timeout_ms: 0 = do not wait, < 0 = wait forever, > 0 = wait that long.
 * Returns 0, VC_EFULL (timeout 0 and full), VC_ETIMEDOUT, or VC_ECLOSED. */
int vc_queue_push(vc_queue_t *q, void *item, int64_t timeout_ms);
/* Removes the oldest item into *item. Same timeout rules. Returns 0, VC_EFULL is never
 * returned; VC_ETIMEDOUT when empty past the timeout (also for timeout 0), VC_ECLOSED when
 * closed and empty (items pushed before close are still delivered). */
int vc_queue_pop(vc_queue_t *q, void **item, int64_t timeout_ms);
/* Closes the queue: further pushes fail with VC_ECLOSED, waiters wake up. Idempotent. */
void vc_queue_close(vc_queue_t *q);
size_t vc_queue_len(vc_queue_t *q);
size_t vc_queue_capacity(const vc_queue_t *q);

#endif
