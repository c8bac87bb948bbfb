#ifndef VC_RESULTS_H
#define VC_RESULTS_H
/* The Redis fast path for detection state. A detection is (tenant, id): its reference
 * "tenant/id" ('/' is in neither alphabet, so the pair is unambiguous) names the key
 * `vc:result:{tenant}/{id}`, which holds the msgpack DetectionResult (queued placeholder first,
 * then the final result) with a TTL, and every final result is announced on channel
 * `vc:results` with the reference as the message. */
#include <stddef.h>
#include <stdint.h>

#include "vc/id.h"
#include "vc/redis.h"

#define VC_RESULTS_CHANNEL "vc:results"
#define VC_RESULTS_KEY_PREFIX "vc:result:"
/* Longest reference "tenant/id", without its NUL. */
#define VC_RESULTS_REF_MAX (2 * VC_ID_MAX + 1)

/* Writes "tenant/id" into out. Returns 0, or VC_EINVAL when either part is empty, too long or
 * outside the id alphabet (vc_id_valid). */
int vc_results_ref(const char *tenant, const char *id, char *out, size_t cap);

/* Stores buf under the detection's key with a TTL. only_if_absent: SET NX, returning
 * VC_EEXIST when the key exists. publish: also PUBLISH the reference on VC_RESULTS_CHANNEL
 * (same round trip). Returns 0, VC_EEXIST, VC_EINVAL (bad tenant or id) or a transport error
 * (VC_EIO, VC_ETIMEDOUT, VC_EUNAVAIL). */
int vc_results_put(vc_redis_pool_t *pool, const char *tenant, const char *id, const uint8_t *buf,
                   size_t len, long long ttl_s, int only_if_absent, int publish, char *err,
                   size_t errlen);

/* One final result for vc_results_put_many (borrowed pointers). */
typedef struct {
    const char *tenant;
    const char *id;
    const uint8_t *buf;
    size_t len;
} vc_results_item_t;

/* Stores n final results (SET with TTL, then PUBLISH of the reference, for each) in one
 * pipelined round trip. Idempotent, so a retry after a partial failure is harmless. Returns 0
 * when every command succeeded, else the first error (VC_EINVAL for a bad tenant or id, before
 * anything is sent). */
int vc_results_put_many(vc_redis_pool_t *pool, const vc_results_item_t *items, size_t n,
                        long long ttl_s, char *err, size_t errlen);

/* Fetches the stored bytes. *buf is malloc'd (caller frees with free()). Returns 0,
 * VC_ENOTFOUND (also for a tenant or id that cannot exist) or a transport error. */
int vc_results_get(vc_redis_pool_t *pool, const char *tenant, const char *id, uint8_t **buf,
                   size_t *len, char *err, size_t errlen);

/* Deletes the key (used to undo a queued placeholder whose publish failed). */
int vc_results_del(vc_redis_pool_t *pool, const char *tenant, const char *id, char *err,
                   size_t errlen);

#endif
