#ifndef VC_REDIS_H
#define VC_REDIS_H
/* A bounded pool of hiredis connections. Connections are made lazily, checked out by one
 * thread at a time, and dropped (then re-dialled on demand) after any I/O or protocol error,
 * so a Redis restart heals by itself. */
#include <stddef.h>

#include <hiredis/hiredis.h>

#include "vc/pool.h"

typedef struct vc_redis_pool vc_redis_pool_t;

typedef struct {
    const char *url;               /* redis://[[user]:password@]host[:port][/db] */
    size_t size;                   /* REDIS_POOL_SIZE: most connections open at once */
    long long dial_timeout_ms;     /* REDIS_DIAL_TIMEOUT */
    long long io_timeout_ms;       /* max(REDIS_READ_TIMEOUT, REDIS_WRITE_TIMEOUT) */
    long long pool_timeout_ms;     /* REDIS_POOL_TIMEOUT: wait for a free connection */
    size_t min_idle;               /* REDIS_MIN_IDLE_CONNS: dialled at start (warm pool) */
    int max_retries;               /* REDIS_MAX_RETRIES: transport errors retried per command */
} vc_redis_opts_t;

/* Reads REDIS_URL, REDIS_POOL_SIZE, REDIS_DIAL_TIMEOUT, REDIS_READ_TIMEOUT,
 * REDIS_WRITE_TIMEOUT, REDIS_POOL_TIMEOUT, REDIS_MIN_IDLE_CONNS and REDIS_MAX_RETRIES into opts (url points into the environment).
 * Returns 0 or VC_EINVAL naming the variable. */
int vc_redis_opts_from_env(vc_redis_opts_t *opts, char *err, size_t errlen);

/* REDIS_URL, parsed. */
typedef struct {
    char host[256];     /* name, IPv4, or IPv6 (given in brackets) */
    int port;           /* 6379 */
    int db;             /* 0 */
    char user[128];     /* "" = the default user */
    char password[512]; /* "" = none */
} vc_redis_url_t;

/* Parses redis://[[user]:password@]host[:port][/db] into *u. User and password are
 * percent-decoded ("p%40ss%3Aword" is "p@ss:word"); the userinfo ends at the last '@' and
 * splits at its first ':'; without ':' it is the default user's password. Returns 0 or
 * VC_EINVAL with err saying what is wrong, never quoting the URL: a malformed escape ("%G1",
 * a trailing '%'), an encoded NUL, a part too long, a bad port or db, or rediss:// (hiredis
 * 0.14 has no TLS). */
int vc_redis_url_parse(const char *url, vc_redis_url_t *u, char *err, size_t errlen);

/* Creates the pool (no connection is made yet). Returns 0, VC_EINVAL (bad URL) or VC_ENOMEM. */
int vc_redis_pool_new(const vc_redis_opts_t *opts, vc_redis_pool_t **out, char *err,
                      size_t errlen);
/* Frees the pool. Every connection must have been released. */
void vc_redis_pool_free(vc_redis_pool_t *pool);

/* Checks out a connected context. Returns 0, VC_ETIMEDOUT (pool exhausted for
 * pool_timeout_ms) or VC_EUNAVAIL (cannot connect/authenticate; err says why). */
int vc_redis_acquire(vc_redis_pool_t *pool, redisContext **out, char *err, size_t errlen);
/* Returns a context; broken != 0 closes it (after an error its stream state is unknown). */
void vc_redis_release(vc_redis_pool_t *pool, redisContext *ctx, int broken);

/* Runs one command given as argv (binary-safe) on a pooled connection, retrying transport
 * errors up to REDIS_MAX_RETRIES times on fresh connections — so only idempotent commands
 * belong here (GET, SET, DEL, SCAN, PING…). On success *reply is
 * the reply (caller frees with freeReplyObject); a Redis error reply is returned as VC_EIO with
 * its text in err. Returns 0, VC_EIO, VC_ETIMEDOUT or VC_EUNAVAIL. */
int vc_redis_command(vc_redis_pool_t *pool, int argc, const char **argv, const size_t *argvlen,
                     redisReply **reply, char *err, size_t errlen);

/* Dials one connection outside any pool (for a long-lived subscriber), with the pool
 * options' URL and timeouts; io_timeout_ms = 0 means blocking reads without timeout.
 * Returns 0 or VC_EINVAL/VC_EUNAVAIL with err set. Caller frees with redisFree. */
int vc_redis_connect(const vc_redis_opts_t *opts, long long io_timeout_ms, redisContext **out,
                     char *err, size_t errlen);

/* Pool state and counters, for metrics. */
void vc_redis_pool_stats(vc_redis_pool_t *pool, vc_pool_stats_t *out);

/* PING round trip. Returns 0 or a negative VC_E* code with err set. */
int vc_redis_ping(vc_redis_pool_t *pool, char *err, size_t errlen);

#endif
