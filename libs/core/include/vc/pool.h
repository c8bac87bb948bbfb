#ifndef VC_POOL_H
#define VC_POOL_H
/* A bounded pool of connections of any kind (Redis, PostgreSQL). Connections are dialled
 * lazily up to `size`; a caller waits up to the pool timeout for one to come back; a
 * connection released as broken is closed and its slot dialled afresh on demand. */
#include <stddef.h>

typedef struct vc_pool vc_pool_t;

typedef struct {
    /* Opens a connection, or returns NULL with err set. Called without the pool lock. */
    void *(*dial)(void *opaque, char *err, size_t errlen);
    /* Closes a connection. */
    void (*close)(void *opaque, void *conn);
    void *opaque;
} vc_pool_ops_t;

/* Optional limits (0 = unlimited / none). */
typedef struct {
    size_t max_idle;             /* keep at most this many idle connections */
    long long max_lifetime_ms;   /* close connections older than this when they come back */
    long long max_idle_time_ms;  /* close idle connections unused for longer than this */
} vc_pool_limits_t;

/* Counters and state for metrics. */
typedef struct {
    size_t size, open, idle, in_use;
    unsigned long long dials, dial_failures, timeouts, recycled;
} vc_pool_stats_t;

/* Creates a pool of at most size (>= 1) connections. ops is copied. */
int vc_pool_new(size_t size, long long timeout_ms, const vc_pool_ops_t *ops, vc_pool_t **out);
/* Sets the optional limits (call before use). */
void vc_pool_set_limits(vc_pool_t *pool, const vc_pool_limits_t *limits);
void vc_pool_stats(vc_pool_t *pool, vc_pool_stats_t *out);
/* Dials up to n idle connections now (a warm pool); stops at the first failure. Returns the
 * number dialled. */
size_t vc_pool_warm(vc_pool_t *pool, size_t n);
/* Closes idle connections and frees the pool. Every connection must have been released. */
void vc_pool_free(vc_pool_t *pool);
/* Checks out a connection. Returns 0, VC_ETIMEDOUT (all in use past the timeout) or
 * VC_EUNAVAIL (dial failed; err says why). */
int vc_pool_acquire(vc_pool_t *pool, void **conn, char *err, size_t errlen);
/* Gives a connection back; broken != 0 closes it instead of keeping it idle. */
void vc_pool_release(vc_pool_t *pool, void *conn, int broken);
size_t vc_pool_in_use(vc_pool_t *pool);

#endif
