/* hiredis connections behind vc_pool: dialling with timeouts, AUTH/SELECT (URL: redis_url.c), and
 * a command helper that retires a connection after any transport error. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "vc/config.h"
#include "vc/error.h"
#include "vc/pool.h"
#include "vc/redis.h"

typedef struct {
    vc_redis_url_t url;
    long long dial_timeout_ms, io_timeout_ms;
} endpoint_t;

struct vc_redis_pool {
    endpoint_t ep;
    vc_pool_t *pool;
    int max_retries;
    size_t pool_size;
};

int vc_redis_opts_from_env(vc_redis_opts_t *o, char *err, size_t errlen)
{
    long long size = 0, rd = 0, wr = 0;
    int rc = vc_config_str("REDIS_URL", "redis://127.0.0.1:6379/0", &o->url, err, errlen);
    if (rc == 0)
        rc = vc_config_int("REDIS_POOL_SIZE", 50, 1, 10000, &size, err, errlen);
    if (rc == 0)
        rc = vc_config_duration_ms("REDIS_DIAL_TIMEOUT", 5000, 1, 600000, &o->dial_timeout_ms,
                                   err, errlen);
    if (rc == 0)
        rc = vc_config_duration_ms("REDIS_READ_TIMEOUT", 3000, 1, 600000, &rd, err, errlen);
    if (rc == 0)
        rc = vc_config_duration_ms("REDIS_WRITE_TIMEOUT", 3000, 1, 600000, &wr, err, errlen);
    if (rc == 0)
        rc = vc_config_duration_ms("REDIS_POOL_TIMEOUT", 4000, 1, 600000, &o->pool_timeout_ms,
                                   err, errlen);
    long long min_idle = 0, retries = 0;
    if (rc == 0)
        rc = vc_config_int("REDIS_MIN_IDLE_CONNS", 10, 0, 10000, &min_idle, err, errlen);
    if (rc == 0)
        rc = vc_config_int("REDIS_MAX_RETRIES", 3, 0, 100, &retries, err, errlen);
    o->min_idle = (size_t)min_idle;
    o->max_retries = (int)retries;
    o->size = (size_t)size;
    /* hiredis has one socket timeout for both directions. */
    o->io_timeout_ms = rd > wr ? rd : wr;
    return rc;
}

static struct timeval tv_ms(long long ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    return tv;
}

static void *redis_dial(void *opaque, char *err, size_t errlen);

/* Checks a setup command's reply (AUTH/SELECT) and frees it; what names the command in the
 * message, which holds Redis's error text (never the password: Redis does not echo it). */
static int setup_reply(redisContext *c, redisReply *r, const char *what, char *err,
                       size_t errlen)
{
    int ok = r != NULL && r->type != REDIS_REPLY_ERROR;
    if (!ok)
        vc_err(err, errlen, VC_EUNAVAIL, "redis %s: %s", what,
               r ? r->str : (c->errstr[0] ? c->errstr : "no reply"));
    if (r != NULL)
        freeReplyObject(r);
    return ok ? 0 : VC_EUNAVAIL;
}

/* AUTH on a new connection: "AUTH user password" for an ACL user (Redis 6+), "AUTH password"
 * for the default user; nothing without credentials. Each %s is one argument, whatever it
 * holds. */
static int authenticate(redisContext *c, const vc_redis_url_t *u, char *err, size_t errlen)
{
    char what[300];
    if (u->user[0] != '\0') {
        snprintf(what, sizeof(what), "AUTH as user %s", u->user);
        return setup_reply(c, redisCommand(c, "AUTH %s %s", u->user, u->password), what, err,
                           errlen);
    }
    if (u->password[0] == '\0')
        return 0;
    return setup_reply(c, redisCommand(c, "AUTH %s", u->password), "AUTH", err, errlen);
}

static void *redis_dial(void *opaque, char *err, size_t errlen)
{
    const endpoint_t *ep = opaque;
    const vc_redis_url_t *u = &ep->url;
    redisContext *c = redisConnectWithTimeout(u->host, u->port, tv_ms(ep->dial_timeout_ms));
    if (c == NULL || c->err) {
        vc_err(err, errlen, VC_EUNAVAIL, "redis connect %s:%d: %s", u->host, u->port,
               c ? c->errstr : "out of memory");
        goto fail;
    }
    if (ep->io_timeout_ms > 0 && redisSetTimeout(c, tv_ms(ep->io_timeout_ms)) != REDIS_OK) {
        vc_err(err, errlen, VC_EUNAVAIL, "redis set timeout: %s", c->errstr);
        goto fail;
    }
    if (authenticate(c, u, err, errlen) != 0)
        goto fail;
    if (u->db != 0 && setup_reply(c, redisCommand(c, "SELECT %d", u->db), "SELECT", err,
                                  errlen) != 0)
        goto fail;
    return c;
fail:
    if (c != NULL)
        redisFree(c);
    return NULL;
}

static void redis_close(void *opaque, void *conn)
{
    (void)opaque;
    redisFree(conn);
}

int vc_redis_pool_new(const vc_redis_opts_t *o, vc_redis_pool_t **out, char *err, size_t errlen)
{
    vc_redis_pool_t *rp = calloc(1, sizeof(*rp));
    if (rp == NULL)
        return VC_ENOMEM;
    int rc = vc_redis_url_parse(o->url, &rp->ep.url, err, errlen);
    if (rc != 0) {
        free(rp);
        return rc;
    }
    rp->ep.dial_timeout_ms = o->dial_timeout_ms;
    rp->ep.io_timeout_ms = o->io_timeout_ms;
    rp->max_retries = o->max_retries;
    rp->pool_size = o->size;
    vc_pool_ops_t ops = {.dial = redis_dial, .close = redis_close, .opaque = &rp->ep};
    rc = vc_pool_new(o->size, o->pool_timeout_ms, &ops, &rp->pool);
    if (rc != 0) {
        free(rp);
        return rc;
    }
    /* Best effort: a Redis that is not up yet only makes the first requests dial. */
    vc_pool_warm(rp->pool, o->min_idle < o->size ? o->min_idle : o->size);
    *out = rp;
    return 0;
}

void vc_redis_pool_free(vc_redis_pool_t *rp)
{
    if (rp == NULL)
        return;
    vc_pool_free(rp->pool);
    free(rp);
}

/* An idle connection has nothing to read: readable means the server closed it (Redis restarted
 * or timed it out) or sent something out of turn. Either way it is useless. */
static int idle_conn_dead(const redisContext *c)
{
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    return poll(&p, 1, 0) != 0;
}

int vc_redis_acquire(vc_redis_pool_t *rp, redisContext **out, char *err, size_t errlen)
{
    /* Connections pooled before a Redis restart are all dead: drop them here, without a
     * round trip, rather than fail one request (and one breaker count) on each. */
    for (size_t tries = 0;; tries++) {
        void *c = NULL;
        int rc = vc_pool_acquire(rp->pool, &c, err, errlen);
        if (rc != 0)
            return rc;
        if (tries > rp->pool_size || !idle_conn_dead(c)) {
            *out = c;
            return 0;
        }
        vc_pool_release(rp->pool, c, 1);
    }
}

void vc_redis_release(vc_redis_pool_t *rp, redisContext *ctx, int broken)
{
    vc_pool_release(rp->pool, ctx, broken || ctx->err != 0);
}

/* One attempt; a NULL reply (transport error) closes the connection. */
static int command_once(vc_redis_pool_t *rp, int argc, const char **argv, const size_t *argvlen,
                        redisReply **reply, char *err, size_t errlen)
{
    redisContext *c = NULL;
    int rc = vc_redis_acquire(rp, &c, err, errlen);
    if (rc != 0)
        return rc;
    redisReply *r = redisCommandArgv(c, argc, argv, argvlen);
    if (r == NULL) {
        rc = vc_err(err, errlen, VC_EIO, "redis %s: %s", argv[0], c->errstr);
        vc_redis_release(rp, c, 1);
        return rc;
    }
    vc_redis_release(rp, c, 0);
    *reply = r;
    return 0;
}

int vc_redis_command(vc_redis_pool_t *rp, int argc, const char **argv, const size_t *argvlen,
                     redisReply **reply, char *err, size_t errlen)
{
    /* A pooled connection may have died since its last use (Redis restarted): retry on a
     * fresh one. Only transport errors are retried, never a Redis error reply. */
    int rc = VC_EIO;
    redisReply *r = NULL;
    for (int attempt = 0; attempt <= rp->max_retries; attempt++) {
        rc = command_once(rp, argc, argv, argvlen, &r, err, errlen);
        if (rc != VC_EIO)
            break;
    }
    if (rc != 0)
        return rc;
    if (r->type == REDIS_REPLY_ERROR) {
        rc = vc_err(err, errlen, VC_EIO, "redis %s: %s", argv[0], r->str);
        freeReplyObject(r);
        return rc;
    }
    *reply = r;
    return 0;
}

int vc_redis_ping(vc_redis_pool_t *rp, char *err, size_t errlen)
{
    const char *argv[] = {"PING"};
    redisReply *r = NULL;
    int rc = vc_redis_command(rp, 1, argv, NULL, &r, err, errlen);
    if (rc == 0)
        freeReplyObject(r);
    return rc;
}

int vc_redis_connect(const vc_redis_opts_t *o, long long io_timeout_ms, redisContext **out,
                     char *err, size_t errlen)
{
    endpoint_t ep;
    memset(&ep, 0, sizeof(ep));
    int rc = vc_redis_url_parse(o->url, &ep.url, err, errlen);
    if (rc != 0)
        return rc;
    ep.dial_timeout_ms = o->dial_timeout_ms;
    ep.io_timeout_ms = io_timeout_ms;
    redisContext *c = redis_dial(&ep, err, errlen);
    if (c == NULL)
        return VC_EUNAVAIL;
    *out = c;
    return 0;
}

void vc_redis_pool_stats(vc_redis_pool_t *rp, vc_pool_stats_t *out)
{
    vc_pool_stats(rp->pool, out);
}
