#ifndef VC_RATELIMIT_LOCAL_H
#define VC_RATELIMIT_LOCAL_H
/* The in-process fallback of vc_ratelimit: the same sliding log as the Redis script, per
 * process, in a hash table of at most max_keys keys (least recently used evicted first).
 * Not exported. Any thread (one mutex inside). */
#include <stddef.h>
#include <stdint.h>

#include "vc/ratelimit.h"

typedef struct vc_rl_local vc_rl_local_t;

/* Returns 0 or VC_ENOMEM / VC_EINVAL (max_keys 0); caller frees with
 * vc_ratelimit__local_free. */
int vc_ratelimit__local_new(size_t max_keys, vc_rl_local_t **out);
void vc_ratelimit__local_free(vc_rl_local_t *loc);

/* Counts one request of key (binary, keylen bytes) at now_us (monotonic) against limit per
 * window_us and fills res (all fields but source). Returns 0 or VC_ENOMEM (then res is a
 * refusal with retry_after 1 s: without memory the fallback cannot protect, so it refuses). */
int vc_ratelimit__local_check(vc_rl_local_t *loc, const char *key, size_t keylen, long limit,
                              int64_t window_us, int64_t now_us, vc_ratelimit_result_t *res);

/* Number of keys held (for tests). */
size_t vc_ratelimit__local_size(vc_rl_local_t *loc);

#endif
