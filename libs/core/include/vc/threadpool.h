#ifndef VC_THREADPOOL_H
#define VC_THREADPOOL_H
#include <stddef.h>
#include <stdint.h>

/* Fixed-size thread pool fed by a bounded queue. Tasks run on pool threads; a task that must
 * report back to its owner posts a message to the owner's queue (actor rule). */
typedef struct vc_threadpool vc_threadpool_t;
typedef void (*vc_task_fn)(void *arg);

/* Starts `nthreads` (>= 1) threads named "<name>-<i>" (name truncated to fit the 15-char
 * thread-name limit) and a task queue of `queue_capacity` (>= 1). Returns 0, VC_EINVAL or
 * VC_ENOMEM; caller frees with vc_threadpool_free. */
int vc_threadpool_new(size_t nthreads, size_t queue_capacity, const char *name,
                      vc_threadpool_t **out);
/* Queues fn(arg). timeout_ms as in vc_queue_push. Returns 0, VC_EFULL, VC_ETIMEDOUT,
 * VC_ECLOSED (after shutdown), VC_EINVAL (fn NULL) or VC_ENOMEM. On failure the task was not
 * queued and the caller still owns arg. */
int vc_threadpool_submit(vc_threadpool_t *pool, vc_task_fn fn, void *arg, int64_t timeout_ms);
/* Stops accepting tasks, runs every task already queued, then joins the threads. Implemented
 * by closing the queue (the queue's close is the sentinel: workers drain it and exit when it
 * reports closed-and-empty), so a submit racing with shutdown either runs or fails with
 * VC_ECLOSED, never is lost. Idempotent. Must not be called from a pool thread. */
void vc_threadpool_shutdown(vc_threadpool_t *pool);
/* Shuts down (if not done) and frees. NULL is a no-op. */
void vc_threadpool_free(vc_threadpool_t *pool);
/* Tasks queued but not yet started. */
size_t vc_threadpool_queued(vc_threadpool_t *pool);
size_t vc_threadpool_threads(const vc_threadpool_t *pool);

#endif
