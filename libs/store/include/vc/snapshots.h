#ifndef VC_SNAPSHOTS_H
#define VC_SNAPSHOTS_H
/* Live-instance snapshots in Redis, for metrics aggregation. Each instance writes its JSON to
 * "vc:metrics:{kind}:{instance}" with a TTL, so one that dies drops out, and registers itself in
 * the set "vc:metrics:index:{kind}". Readers list that set and MGET the snapshots: the cost is
 * O(instances), never a scan of the keyspace (which holds every stored result). */
#include <stddef.h>

#include "vc/redis.h"

#define VC_SNAPSHOT_MAX_NAME 128 /* longest kind or instance, bytes */

/* Writes one instance's snapshot with a TTL of ttl_s seconds and registers the instance, in one
 * round trip. Returns 0, VC_EINVAL (bad name or TTL) or the vc_redis_command error. */
int vc_snapshot_publish(vc_redis_pool_t *pool, const char *kind, const char *instance,
                        const char *json, size_t len, int ttl_s, char *err, size_t errlen);

/* Called once per live snapshot with its bytes (not NUL-terminated). */
typedef void (*vc_snapshot_fn)(const char *json, size_t len, void *arg);

/* Calls fn for each live snapshot of kind, at most max of them, and removes instances whose
 * snapshot expired from the index. Returns the number passed to fn, or a negative VC_E* code
 * with err set (nothing passed then). */
int vc_snapshot_list(vc_redis_pool_t *pool, const char *kind, size_t max, vc_snapshot_fn fn,
                     void *arg, char *err, size_t errlen);

#endif
