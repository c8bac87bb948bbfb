/* Sliding-window rate limiter: one Lua script in Redis (EVALSHA, EVAL on NOSCRIPT), a
 * circuit breaker around it, and the in-process fallback of ratelimit_local.c. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/sha.h>

#include "ratelimit_local.h"
#include "vc/breaker.h"
#include "vc/clock.h"
#include "vc/config.h"
#include "vc/error.h"
#include "vc/log.h"
#include "vc/ratelimit.h"
#include "vc/redis.h"

/* KEYS: the sorted sets, one per scope; ARGV[1] the window in ms, ARGV[2] a unique member,
 * ARGV[2 + i] the limit of KEYS[i]. A request is allowed iff every scope is under its limit,
 * and then counted in every scope; a refused one is counted nowhere. Returns, per key,
 * {allowed by this scope, remaining, reset_ms, retry_after_ms}, times rounded up to the ms.
 * Scores are Redis TIME in µs (exact in a double until year 2255); they are formatted with
 * %.0f because Lua's default number formatting (%.14g) would round them. */
static const char RL_SCRIPT[] =
    "if redis.replicate_commands then redis.replicate_commands() end\n"
    "local win = tonumber(ARGV[1]) * 1000\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
    "local cut = string.format('%.0f', now - win)\n"
    "local n, lim, all = {}, {}, 1\n"
    "for i, key in ipairs(KEYS) do\n"
    "  redis.call('ZREMRANGEBYSCORE', key, '-inf', cut)\n"
    "  n[i] = redis.call('ZCARD', key)\n"
    "  lim[i] = tonumber(ARGV[2 + i])\n"
    "  if n[i] >= lim[i] then all = 0 end\n"
    "end\n"
    "local out = {}\n"
    "for i, key in ipairs(KEYS) do\n"
    "  local own = 1\n"
    "  if n[i] >= lim[i] then own = 0 end\n"
    "  if all == 1 then\n"
    "    redis.call('ZADD', key, string.format('%.0f', now), ARGV[2])\n"
    "    redis.call('PEXPIRE', key, ARGV[1])\n"
    "    n[i] = n[i] + 1\n"
    "  end\n"
    "  local reset = 0\n"
    "  local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')\n"
    "  if first[2] then reset = tonumber(first[2]) + win - now end\n"
    "  local retry = 0\n"
    "  if own == 0 then\n"
    "    local e = redis.call('ZRANGE', key, n[i] - lim[i], n[i] - lim[i], 'WITHSCORES')\n"
    "    retry = tonumber(e[2]) + win - now\n"
    "    if retry < 1000 then retry = 1000 end\n"
    "  end\n"
    "  local rem = lim[i] - n[i]\n"
    "  if rem < 0 then rem = 0 end\n"
    "  if reset < 0 then reset = 0 end\n"
    "  out[#out + 1] = own\n"
    "  out[#out + 1] = rem\n"
    "  out[#out + 1] = math.ceil(reset / 1000)\n"
    "  out[#out + 1] = math.ceil(retry / 1000)\n"
    "end\n"
    "return out\n";

#define KEY_MAX (64 + 2 * VC_RATELIMIT_MAX_ID + 2)

struct vc_ratelimit {
    vc_ratelimit_opts_t opts;
    char prefix[65];
    char sha[41];        /* SHA-1 hex of RL_SCRIPT, the EVALSHA handle */
    char nonce_base[17]; /* random per process: members are unique across gateways */
    atomic_uint_fast64_t seq;
    vc_redis_pool_t *redis;
    vc_breaker_t *breaker;
    vc_rl_local_t *local;
    atomic_uint_fast64_t n_allowed, n_denied, n_redis_errors, n_fallback, n_reloads;
};

void vc_ratelimit_opts_default(vc_ratelimit_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->redis_url = "redis://127.0.0.1:6379/0";
    o->redis_timeout_ms = 250;
    o->redis_pool_size = 16;
    o->limit = 100;
    o->window_ms = 60000;
    o->policy = VC_RL_FAIL_OPEN;
    o->breaker_failures = 3;
    o->breaker_open_ms = 5000;
    o->local_max_keys = 100000;
    o->key_prefix = NULL;
}

int vc_ratelimit_opts_from_env(vc_ratelimit_opts_t *o, char *err, size_t errlen)
{
    static const char *const policies[] = {"open", "closed", NULL};
    long long limit = 0, pool = 0, fails = 0, keys = 0;
    const char *policy = NULL;
    vc_ratelimit_opts_default(o);
    int rc = vc_config_str("REDIS_URL", o->redis_url, &o->redis_url, err, errlen);
    if (rc == 0)
        rc = vc_config_duration_ms("RATE_LIMIT_REDIS_TIMEOUT", 250, 1, 60000, &o->redis_timeout_ms,
                                   err, errlen);
    if (rc == 0)
        rc = vc_config_int("RATE_LIMIT_REDIS_POOL_SIZE", 16, 1, 1000, &pool, err, errlen);
    if (rc == 0)
        rc = vc_config_int("RATE_LIMIT_PER_MINUTE", 100, 1, VC_RATELIMIT_MAX_LIMIT, &limit, err,
                           errlen);
    if (rc == 0)
        rc = vc_config_duration_ms("RATE_LIMIT_WINDOW", 60000, 1000, 86400000, &o->window_ms, err,
                                   errlen);
    if (rc == 0)
        rc = vc_config_enum("RATE_LIMIT_FAILURE_POLICY", "open", policies, &policy, err, errlen);
    if (rc == 0)
        rc = vc_config_int("RATE_LIMIT_BREAKER_FAILURES", 3, 1, 1000, &fails, err, errlen);
    if (rc == 0)
        rc = vc_config_duration_ms("RATE_LIMIT_BREAKER_COOLDOWN", 5000, 10, 3600000,
                                   &o->breaker_open_ms, err, errlen);
    if (rc == 0)
        rc = vc_config_int("RATE_LIMIT_LOCAL_MAX_KEYS", 100000, 1, 100000000, &keys, err, errlen);
    if (rc != 0)
        return rc;
    o->redis_pool_size = (size_t)pool;
    o->limit = (long)limit;
    o->policy = strcmp(policy, "closed") == 0 ? VC_RL_FAIL_CLOSED : VC_RL_FAIL_OPEN;
    o->breaker_failures = (int)fails;
    o->local_max_keys = (size_t)keys;
    return 0;
}

static void hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

int vc_ratelimit_new(const vc_ratelimit_opts_t *o, vc_ratelimit_t **out, char *err, size_t errlen)
{
    if (o->limit < 1 || o->limit > VC_RATELIMIT_MAX_LIMIT || o->window_ms < 1 ||
        o->redis_timeout_ms < 1 || o->redis_pool_size < 1)
        return vc_err(err, errlen, VC_EINVAL,
                      "rate limit: limit, window, timeout or pool size "
                      "out of range");
    const char *prefix = o->key_prefix != NULL ? o->key_prefix : "vc:rl:";
    if (strlen(prefix) >= 65)
        return vc_err(err, errlen, VC_EINVAL, "rate limit: key prefix longer than 64 bytes");
    vc_ratelimit_t *rl = calloc(1, sizeof(*rl));
    if (rl == NULL)
        return vc_err(err, errlen, VC_ENOMEM, "rate limit: out of memory");
    rl->opts = *o;
    memcpy(rl->prefix, prefix, strlen(prefix) + 1);
    rl->opts.key_prefix = rl->prefix;
    rl->opts.redis_url = NULL; /* not kept: it may point into the environment */

    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)RL_SCRIPT, strlen(RL_SCRIPT), digest);
    hex(digest, sizeof(digest), rl->sha);
    unsigned char rnd[8];
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
        vc_err(err, errlen, VC_EIO, "rate limit: getrandom failed");
        goto fail;
    }
    hex(rnd, sizeof(rnd), rl->nonce_base);

    vc_redis_opts_t ro = {
        .url = o->redis_url,
        .size = o->redis_pool_size,
        .dial_timeout_ms = o->redis_timeout_ms,
        .io_timeout_ms = o->redis_timeout_ms,
        .pool_timeout_ms = o->redis_timeout_ms,
    };
    int rc = vc_redis_pool_new(&ro, &rl->redis, err, errlen);
    if (rc != 0)
        goto fail_rc;
    vc_breaker_opts_t bo;
    vc_breaker_opts_default(&bo);
    bo.name = "ratelimit_redis";
    bo.failure_threshold = o->breaker_failures;
    bo.open_ms = o->breaker_open_ms;
    rc = vc_breaker_new(&bo, &rl->breaker);
    if (rc == 0)
        rc = vc_ratelimit__local_new(o->local_max_keys, &rl->local);
    if (rc != 0) {
        vc_err(err, errlen, rc, "rate limit: %s", vc_strerror(rc));
        goto fail_rc;
    }
    *out = rl;
    return 0;
fail:
    rc = VC_EIO;
fail_rc:
    vc_ratelimit__local_free(rl->local);
    vc_breaker_free(rl->breaker);
    vc_redis_pool_free(rl->redis);
    free(rl);
    return rc;
}

void vc_ratelimit_free(vc_ratelimit_t *rl)
{
    if (rl == NULL)
        return;
    vc_ratelimit__local_free(rl->local);
    vc_breaker_free(rl->breaker);
    vc_redis_pool_free(rl->redis);
    free(rl);
}

/* Reads the script's reply, {allowed, remaining, reset_ms, retry_ms} per scope, into res. */
static int parse_reply(const redisReply *r, size_t n, vc_ratelimit_result_t *res)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 4 * n)
        return VC_EPROTO;
    for (size_t i = 0; i < 4 * n; i++) {
        if (r->element[i]->type != REDIS_REPLY_INTEGER || r->element[i]->integer < 0)
            return VC_EPROTO;
    }
    for (size_t i = 0; i < n; i++) {
        redisReply **e = r->element + 4 * i;
        res[i].allowed = e[0]->integer == 1;
        res[i].remaining = (long)e[1]->integer;
        res[i].reset_ms = e[2]->integer;
        res[i].retry_after_ms = res[i].allowed ? 0 : e[3]->integer;
    }
    return 0;
}

/* A scope's key and limit, ready for the script. */
typedef struct {
    char key[KEY_MAX];
    size_t keylen;
    long limit;
    char limit_s[24];
} scope_key_t;

/* Runs the script for n scopes on one pooled connection: EVALSHA, and EVAL of the body when
 * the server answers NOSCRIPT (script cache flushed or server restarted). Returns 0 with
 * res[0..n) filled, or a negative VC_E* (Redis unavailable or misbehaving) with err set.
 * @locality any thread */
static int redis_check(vc_ratelimit_t *rl, const scope_key_t *sk, size_t n,
                       vc_ratelimit_result_t *res, char *err, size_t errlen)
{
    char nkeys[8], win_s[24], member[48];
    snprintf(nkeys, sizeof(nkeys), "%zu", n);
    snprintf(win_s, sizeof(win_s), "%lld", rl->opts.window_ms);
    snprintf(member, sizeof(member), "%s-%llu", rl->nonce_base,
             (unsigned long long)atomic_fetch_add(&rl->seq, 1));
    const char *argv[5 + 2 * VC_RATELIMIT_MAX_SCOPES] = {"EVALSHA", rl->sha, nkeys};
    size_t argvlen[5 + 2 * VC_RATELIMIT_MAX_SCOPES] = {7, strlen(rl->sha), strlen(nkeys)};
    int argc = 3;
    for (size_t i = 0; i < n; i++, argc++) {
        argv[argc] = sk[i].key;
        argvlen[argc] = sk[i].keylen;
    }
    argv[argc] = win_s;
    argvlen[argc++] = strlen(win_s);
    argv[argc] = member;
    argvlen[argc++] = strlen(member);
    for (size_t i = 0; i < n; i++, argc++) {
        argv[argc] = sk[i].limit_s;
        argvlen[argc] = strlen(sk[i].limit_s);
    }

    redisContext *c = NULL;
    int rc = vc_redis_acquire(rl->redis, &c, err, errlen);
    if (rc != 0)
        return rc;
    redisReply *r = redisCommandArgv(c, argc, argv, argvlen);
    if (r != NULL && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0) {
        freeReplyObject(r);
        argv[0] = "EVAL";
        argvlen[0] = 4;
        argv[1] = RL_SCRIPT;
        argvlen[1] = strlen(RL_SCRIPT);
        atomic_fetch_add(&rl->n_reloads, 1);
        r = redisCommandArgv(c, argc, argv, argvlen);
    }
    if (r == NULL) {
        rc = vc_err(err, errlen, VC_EIO, "redis rate limit: %s", c->errstr);
        vc_redis_release(rl->redis, c, 1);
        return rc;
    }
    vc_redis_release(rl->redis, c, 0);
    if (r->type == REDIS_REPLY_ERROR)
        rc = vc_err(err, errlen, VC_EIO, "redis rate limit: %s", r->str);
    else if (parse_reply(r, n, res) != 0)
        rc = vc_err(err, errlen, VC_EPROTO, "redis rate limit: unexpected reply");
    freeReplyObject(r);
    return rc;
}

/* Decides one scope without Redis, by the failure policy. */
static void fallback(vc_ratelimit_t *rl, const scope_key_t *sk, vc_ratelimit_result_t *res)
{
    if (rl->opts.policy == VC_RL_FAIL_CLOSED) {
        vc_breaker_stats_t bs;
        vc_breaker_stats(rl->breaker, &bs);
        memset(res, 0, sizeof(*res));
        res->limit = sk->limit;
        res->window_ms = rl->opts.window_ms;
        res->retry_after_ms = bs.retry_in_ms > 1000 ? bs.retry_in_ms : 1000;
        res->source = VC_RL_SOURCE_FAIL_CLOSED;
        return;
    }
    vc_ratelimit__local_check(rl->local, sk->key, sk->keylen, sk->limit,
                              rl->opts.window_ms * 1000, vc_clock_mono_ns() / 1000, res);
    res->source = VC_RL_SOURCE_LOCAL;
}

static int valid_scope(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > VC_RATELIMIT_MAX_ID)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
        if (!ok)
            return 0;
    }
    return 1;
}

/* "{prefix}{scope}:{id}" and the effective limit. Returns 0 or VC_EINVAL. */
static int scope_key(const vc_ratelimit_t *rl, const vc_ratelimit_req_t *q, scope_key_t *sk)
{
    if (q->scope == NULL || q->id == NULL || !valid_scope(q->scope) || q->idlen == 0 ||
        q->idlen > VC_RATELIMIT_MAX_ID)
        return VC_EINVAL;
    long limit = q->limit <= 0 ? rl->opts.limit : q->limit;
    sk->limit = limit > VC_RATELIMIT_MAX_LIMIT ? VC_RATELIMIT_MAX_LIMIT : limit;
    snprintf(sk->limit_s, sizeof(sk->limit_s), "%ld", sk->limit);
    size_t plen = strlen(rl->prefix), slen = strlen(q->scope);
    memcpy(sk->key, rl->prefix, plen);
    memcpy(sk->key + plen, q->scope, slen);
    sk->key[plen + slen] = ':';
    memcpy(sk->key + plen + slen + 1, q->id, q->idlen);
    sk->keylen = plen + slen + 1 + q->idlen;
    return 0;
}

/* The shared limiter behind its breaker. Returns 1 when Redis decided (res filled). */
static int try_redis(vc_ratelimit_t *rl, const scope_key_t *sk, size_t n,
                     vc_ratelimit_result_t *res)
{
    if (vc_breaker_allow(rl->breaker) != 0)
        return 0;
    char err[256];
    int rc = redis_check(rl, sk, n, res, err, sizeof(err));
    if (rc != 0) {
        VC_WARN("ratelimit.redis_error", "error=\"%s\" policy=%s", err,
                rl->opts.policy == VC_RL_FAIL_OPEN ? "open" : "closed");
        atomic_fetch_add(&rl->n_redis_errors, 1);
    }
    vc_breaker_record(rl->breaker, rc == 0);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        res[i].limit = sk[i].limit;
        res[i].window_ms = rl->opts.window_ms;
        res[i].source = VC_RL_SOURCE_REDIS;
    }
    return rc == 0;
}

int vc_ratelimit_check_all(vc_ratelimit_t *rl, const vc_ratelimit_req_t *reqs, size_t n,
                           vc_ratelimit_result_t *res, int *allowed)
{
    if (reqs == NULL || res == NULL || allowed == NULL || n == 0 ||
        n > VC_RATELIMIT_MAX_SCOPES)
        return VC_EINVAL;
    scope_key_t sk[VC_RATELIMIT_MAX_SCOPES];
    for (size_t i = 0; i < n; i++) {
        if (scope_key(rl, &reqs[i], &sk[i]) != 0)
            return VC_EINVAL;
    }
    memset(res, 0, n * sizeof(*res));
    if (!try_redis(rl, sk, n, res)) {
        /* Degraded: each scope decides on its own (a scope may count a request another
         * refused). */
        atomic_fetch_add(&rl->n_fallback, 1);
        for (size_t i = 0; i < n; i++)
            fallback(rl, &sk[i], &res[i]);
    }
    *allowed = 1;
    for (size_t i = 0; i < n; i++)
        *allowed &= res[i].allowed;
    atomic_fetch_add(*allowed ? &rl->n_allowed : &rl->n_denied, 1);
    return 0;
}

int vc_ratelimit_check(vc_ratelimit_t *rl, const char *scope, const char *id, size_t idlen,
                       long limit, vc_ratelimit_result_t *res)
{
    vc_ratelimit_req_t q = {.scope = scope, .id = id, .idlen = idlen, .limit = limit};
    int allowed = 0;
    return vc_ratelimit_check_all(rl, &q, 1, res, &allowed);
}

void vc_ratelimit_stats(vc_ratelimit_t *rl, vc_ratelimit_stats_t *out)
{
    out->allowed = atomic_load(&rl->n_allowed);
    out->denied = atomic_load(&rl->n_denied);
    out->redis_errors = atomic_load(&rl->n_redis_errors);
    out->fallback = atomic_load(&rl->n_fallback);
    out->script_reloads = atomic_load(&rl->n_reloads);
    out->breaker_state = (int)vc_breaker_state(rl->breaker);
}

static long long ceil_s(long long ms)
{
    return ms <= 0 ? 0 : (ms + 999) / 1000;
}

long long vc_ratelimit_retry_after_s(const vc_ratelimit_result_t *res)
{
    long long s = ceil_s(res->retry_after_ms);
    return s < 1 ? 1 : s;
}

static int valid_policy(const char *p)
{
    return p != NULL && strlen(p) <= 32 && valid_scope(p);
}

static int put(size_t cap, int n)
{
    return n < 0 || (size_t)n >= cap ? VC_ETOOBIG : 0;
}

int vc_ratelimit_policy_header(const vc_ratelimit_result_t *res, const char *policy, char *buf,
                               size_t cap)
{
    if (!valid_policy(policy))
        return VC_EINVAL;
    return put(
        cap, snprintf(buf, cap, "\"%s\";q=%ld;w=%lld", policy, res->limit, ceil_s(res->window_ms)));
}

int vc_ratelimit_state_header(const vc_ratelimit_result_t *res, const char *policy, char *buf,
                              size_t cap)
{
    if (!valid_policy(policy))
        return VC_EINVAL;
    long long t = res->allowed ? ceil_s(res->reset_ms) : vc_ratelimit_retry_after_s(res);
    return put(cap, snprintf(buf, cap, "\"%s\";r=%ld;t=%lld", policy, res->remaining, t));
}
