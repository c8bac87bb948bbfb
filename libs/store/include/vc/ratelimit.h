#ifndef VC_RATELIMIT_H
#define VC_RATELIMIT_H
/* Sliding-window rate limiter shared by every gateway through Redis.
 *
 * Semantics (a sliding log, exact): a request for key K at time t is allowed iff fewer than
 * `limit` requests of K were *allowed* in the window (t − window, t]. So in ANY interval of
 * `window` length at most `limit` requests are allowed, and a refused request does not count
 * (a client hammering while limited does not extend its own block). When refused,
 * retry_after_ms is the exact time until the oldest counted request leaves the window,
 * rounded up to the millisecond, so a retry after it is allowed (absent other traffic) and
 * never too early.
 *
 * Storage: one sorted set per key, `{prefix}{scope}:{id}` (default prefix "vc:rl:", so
 * `vc:rl:key:42` / `vc:rl:ip:203.0.113.9`), members are per-request unique nonces scored by
 * Redis time in µs. One Lua script does trim + count + add + expire atomically, for every
 * scope of a request at once, in ONE round trip (EVALSHA; after SCRIPT FLUSH or a Redis restart, NOSCRIPT is answered by EVAL of the
 * body on the same connection, which also re-caches it). Time comes from Redis `TIME` inside
 * the script, so gateways with skewed clocks agree. Memory: at most `limit` members per key,
 * expiring one window after the last allowed request.
 *
 * Redis failures: the limiter has its own small Redis pool with short timeouts
 * (RATE_LIMIT_REDIS_TIMEOUT) behind a circuit breaker. When Redis fails or the breaker is
 * open the RATE_LIMIT_FAILURE_POLICY applies: `open` (default) decides with an in-process
 * limiter of the same semantics (per process, so N gateways allow up to N × limit during an
 * outage), `closed` refuses (source VC_RL_SOURCE_FAIL_CLOSED; answer 503, not 429).
 *
 * All functions are safe from any thread. */
#include <stddef.h>
#include <stdint.h>

typedef struct vc_ratelimit vc_ratelimit_t;

typedef enum {
    VC_RL_FAIL_OPEN = 0,  /* Redis down: local in-process limiter decides */
    VC_RL_FAIL_CLOSED = 1 /* Redis down: refuse */
} vc_ratelimit_policy_t;

typedef enum {
    VC_RL_SOURCE_REDIS = 0,      /* the shared limiter decided */
    VC_RL_SOURCE_LOCAL = 1,      /* Redis unavailable; the local fallback decided */
    VC_RL_SOURCE_FAIL_CLOSED = 2 /* Redis unavailable; refused by policy */
} vc_ratelimit_source_t;

typedef struct {
    const char *redis_url;        /* REDIS_URL */
    long long redis_timeout_ms;   /* RATE_LIMIT_REDIS_TIMEOUT=250ms: dial, read/write, pool */
    size_t redis_pool_size;       /* RATE_LIMIT_REDIS_POOL_SIZE=16 */
    long limit;                   /* RATE_LIMIT_PER_MINUTE=100: default requests per window */
    long long window_ms;          /* RATE_LIMIT_WINDOW=60s (tests use a short one) */
    vc_ratelimit_policy_t policy; /* RATE_LIMIT_FAILURE_POLICY=open|closed */
    int breaker_failures;         /* RATE_LIMIT_BREAKER_FAILURES=3 consecutive → open */
    long long breaker_open_ms;    /* RATE_LIMIT_BREAKER_COOLDOWN=5s */
    size_t local_max_keys;        /* RATE_LIMIT_LOCAL_MAX_KEYS=100000 (fallback memory cap) */
    const char *key_prefix;       /* NULL = "vc:rl:"; tests use a unique one */
} vc_ratelimit_opts_t;

/* The decision, with everything the RateLimit headers need. */
typedef struct {
    int allowed;              /* 1 allowed, 0 refused */
    long limit;               /* the quota applied (requests per window) */
    long remaining;           /* requests left in the window after this one */
    long long window_ms;      /* the window */
    long long reset_ms;       /* ms until the oldest counted request leaves the window
                                 (quota grows again); 0 when nothing is counted */
    long long retry_after_ms; /* refused: ms until a request would be allowed; else 0 */
    vc_ratelimit_source_t source;
} vc_ratelimit_result_t;

typedef struct {
    uint64_t allowed, denied; /* decisions, any source */
    uint64_t redis_errors;    /* Redis calls that failed */
    uint64_t fallback;        /* decisions taken without Redis (local or fail-closed) */
    uint64_t script_reloads;  /* NOSCRIPT answered by EVAL */
    int breaker_state;        /* vc_breaker_state_t of the Redis breaker */
} vc_ratelimit_stats_t;

#define VC_RATELIMIT_MAX_LIMIT 100000L
#define VC_RATELIMIT_MAX_SCOPES 4 /* scopes one vc_ratelimit_check_all may decide */
#define VC_RATELIMIT_MAX_ID 256 /* longest scope or id, bytes */

/* Fills opts with the defaults listed above. */
void vc_ratelimit_opts_default(vc_ratelimit_opts_t *opts);
/* Reads the variables listed above (REDIS_URL included) into opts. Returns 0 or VC_EINVAL
 * with err naming the variable. Strings point into the environment. */
int vc_ratelimit_opts_from_env(vc_ratelimit_opts_t *opts, char *err, size_t errlen);

/* Creates the limiter and its Redis pool (no connection is made yet). opts is copied.
 * Returns 0, VC_EINVAL (bad URL or value; err says which) or VC_ENOMEM; caller frees with
 * vc_ratelimit_free. */
int vc_ratelimit_new(const vc_ratelimit_opts_t *opts, vc_ratelimit_t **out, char *err,
                     size_t errlen);
void vc_ratelimit_free(vc_ratelimit_t *rl);

/* Counts one request of (scope, id) against `limit` requests per window (limit <= 0: the
 * configured default; capped at VC_RATELIMIT_MAX_LIMIT; a key's rate_limit_per_minute is
 * meant for the default 60 s window and is applied per window as given) and fills *res. scope is
 * "key" or "ip" by convention; scope and id are 1..VC_RATELIMIT_MAX_ID bytes (id is binary-safe,
 * give the key's database id, never the secret). Returns 0 with a decision whatever Redis does (see
 * the failure policy), or VC_EINVAL for a bad argument. Waits on Redis for at most
 * a few RATE_LIMIT_REDIS_TIMEOUTs (pool wait, dial, call; typically one round trip), and not at
 * all while the breaker is open. */
int vc_ratelimit_check(vc_ratelimit_t *rl, const char *scope, const char *id, size_t idlen,
                       long limit, vc_ratelimit_result_t *res);

/* One scope of a request (as the arguments of vc_ratelimit_check). */
typedef struct {
    const char *scope;
    const char *id;
    size_t idlen;
    long limit;
} vc_ratelimit_req_t;

/* Counts one request against several scopes at once (say its address and its API key) in
 * one script call, so one round trip: the request is allowed iff every scope allows it, and
 * is then counted in every scope; a refused request is counted in none. res[i] is scope i's
 * own decision (allowed 0 only for the scopes that are over their limit, with their exact
 * retry_after_ms; the others' remaining is before this request); *allowed is the request's.
 * Without Redis the failure policy applies to each scope on its own (the local fallback may
 * count a request in a scope when another refused it). n is 1..VC_RATELIMIT_MAX_SCOPES.
 * Returns 0, or VC_EINVAL for a bad argument. Waits as vc_ratelimit_check. */
int vc_ratelimit_check_all(vc_ratelimit_t *rl, const vc_ratelimit_req_t *reqs, size_t n,
                           vc_ratelimit_result_t *res, int *allowed);

void vc_ratelimit_stats(vc_ratelimit_t *rl, vc_ratelimit_stats_t *out);

/* Header values for a decision (draft-ietf-httpapi-ratelimit-headers-08..10 syntax, HTTP
 * structured-field lists; `policy` names the quota, e.g. "key" or "ip"):
 *   RateLimit-Policy: "key";q=100;w=60
 *   RateLimit: "key";r=42;t=17
 *   Retry-After: 17              (refused only; whole seconds, rounded up, >= 1)
 * policy must be 1..32 of [a-z0-9_-]. Each writes a NUL-terminated value into buf and
 * returns 0, VC_EINVAL (bad policy) or VC_ETOOBIG (cap too small; 64 bytes always suffice). */
int vc_ratelimit_policy_header(const vc_ratelimit_result_t *res, const char *policy, char *buf,
                               size_t cap);
int vc_ratelimit_state_header(const vc_ratelimit_result_t *res, const char *policy, char *buf,
                              size_t cap);
/* Retry-After seconds: ceil(retry_after_ms / 1000), at least 1. */
long long vc_ratelimit_retry_after_s(const vc_ratelimit_result_t *res);

#endif
