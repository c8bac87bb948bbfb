#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vc/error.h"
#include "vc/id.h"
#include "vc/results.h"

#define KEY_MAX (sizeof(VC_RESULTS_KEY_PREFIX) + VC_RESULTS_REF_MAX)

int vc_results_ref(const char *tenant, const char *id, char *out, size_t cap)
{
    size_t tl = strlen(tenant), il = strlen(id);
    if (!vc_id_valid(tenant, tl) || !vc_id_valid(id, il) || tl + 1 + il + 1 > cap)
        return VC_EINVAL;
    memcpy(out, tenant, tl);
    out[tl] = '/';
    memcpy(out + tl + 1, id, il + 1);
    return 0;
}

/* Writes "vc:result:{tenant}/{id}" into key. */
static int make_key(const char *tenant, const char *id, char *key, size_t cap)
{
    const size_t pl = sizeof(VC_RESULTS_KEY_PREFIX) - 1;
    if (cap <= pl)
        return VC_EINVAL;
    memcpy(key, VC_RESULTS_KEY_PREFIX, pl);
    return vc_results_ref(tenant, id, key + pl, cap - pl);
}

static const char *key_ref(const char *key)
{
    return key + sizeof(VC_RESULTS_KEY_PREFIX) - 1;
}

/* A command Redis refused: VC_EPERM when the same command can never pass (permissions,
 * authentication, an oversized value), VC_EIO otherwise (out of memory, loading, busy,
 * read-only replica, too many clients: all worth a retry). */
static int reply_error(const redisReply *r, const char *what, char *err, size_t errlen)
{
    static const char *const permanent[] = {"NOPERM", "NOAUTH", "WRONGPASS",
                                            "ERR Protocol error",
                                            "ERR string exceeds maximum allowed size"};
    int kind = VC_EIO;
    for (size_t i = 0; i < sizeof(permanent) / sizeof(permanent[0]); i++)
        if (strncmp(r->str, permanent[i], strlen(permanent[i])) == 0)
            kind = VC_EPERM;
    return vc_err(err, errlen, kind, "redis %s: %s", what, r->str);
}

/* Reads one pipelined reply; a NULL reply means the connection is broken. */
static int take_reply(redisContext *c, redisReply **r, char *err, size_t errlen)
{
    void *p = NULL;
    if (redisGetReply(c, &p) != REDIS_OK || p == NULL)
        return vc_err(err, errlen, VC_EIO, "redis: %s", c->errstr[0] ? c->errstr : "no reply");
    *r = p;
    return 0;
}

int vc_results_put(vc_redis_pool_t *pool, const char *tenant, const char *id, const uint8_t *buf,
                   size_t len, long long ttl_s, int only_if_absent, int publish, char *err,
                   size_t errlen)
{
    char key[KEY_MAX], ttl[24];
    if (make_key(tenant, id, key, sizeof(key)) != 0)
        return vc_err(err, errlen, VC_EINVAL, "invalid tenant or detection id");
    snprintf(ttl, sizeof(ttl), "%lld", ttl_s);
    const char *argv[] = {"SET", key, (const char *)buf, "EX", ttl, "NX"};
    size_t argvlen[] = {3, strlen(key), len, 2, strlen(ttl), 2};
    redisContext *c = NULL;
    int rc = vc_redis_acquire(pool, &c, err, errlen);
    if (rc != 0)
        return rc;
    /* SET and PUBLISH share one round trip (pipelined). */
    redisAppendCommandArgv(c, only_if_absent ? 6 : 5, argv, argvlen);
    if (publish)
        redisAppendCommand(c, "PUBLISH %s %s", VC_RESULTS_CHANNEL, key_ref(key));
    redisReply *set = NULL, *pub = NULL;
    rc = take_reply(c, &set, err, errlen);
    if (rc == 0 && publish)
        rc = take_reply(c, &pub, err, errlen);
    vc_redis_release(pool, c, rc != 0);
    if (rc == 0 && set->type == REDIS_REPLY_ERROR)
        rc = reply_error(set, "SET", err, errlen);
    else if (rc == 0 && set->type == REDIS_REPLY_NIL)
        rc = VC_EEXIST; /* NX refused: the key exists */
    else if (rc == 0 && pub != NULL && pub->type == REDIS_REPLY_ERROR)
        rc = reply_error(pub, "PUBLISH", err, errlen);
    if (set != NULL)
        freeReplyObject(set);
    if (pub != NULL)
        freeReplyObject(pub);
    return rc;
}

/* Checks one SET + PUBLISH reply pair of vc_results_put_many. */
static int check_pair(redisReply *set, redisReply *pub, char *err, size_t errlen)
{
    if (set->type == REDIS_REPLY_ERROR)
        return reply_error(set, "SET", err, errlen);
    if (pub->type == REDIS_REPLY_ERROR)
        return reply_error(pub, "PUBLISH", err, errlen);
    return 0;
}

int vc_results_put_many(vc_redis_pool_t *pool, const vc_results_item_t *items, size_t n,
                        long long ttl_s, char *err, size_t errlen)
{
    char key[KEY_MAX], ttl[24];
    snprintf(ttl, sizeof(ttl), "%lld", ttl_s);
    for (size_t i = 0; i < n; i++)
        if (make_key(items[i].tenant, items[i].id, key, sizeof(key)) != 0)
            return vc_err(err, errlen, VC_EINVAL, "invalid tenant or detection id");
    redisContext *c = NULL;
    int rc = vc_redis_acquire(pool, &c, err, errlen);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        make_key(items[i].tenant, items[i].id, key, sizeof(key));
        const char *argv[] = {"SET", key, (const char *)items[i].buf, "EX", ttl};
        size_t argvlen[] = {3, strlen(key), items[i].len, 2, strlen(ttl)};
        redisAppendCommandArgv(c, 5, argv, argvlen);
        redisAppendCommand(c, "PUBLISH %s %s", VC_RESULTS_CHANNEL, key_ref(key));
    }
    /* Every reply is read, even after an error, so the connection stays in step. */
    int broken = 0;
    for (size_t i = 0; i < n && !broken; i++) {
        redisReply *set = NULL, *pub = NULL;
        int trc = take_reply(c, &set, err, errlen);
        if (trc == 0)
            trc = take_reply(c, &pub, err, errlen);
        if (trc != 0) {
            broken = 1;
            rc = trc;
        } else if (rc == 0) {
            rc = check_pair(set, pub, err, errlen);
        }
        if (set != NULL)
            freeReplyObject(set);
        if (pub != NULL)
            freeReplyObject(pub);
    }
    vc_redis_release(pool, c, broken);
    return rc;
}

int vc_results_get(vc_redis_pool_t *pool, const char *tenant, const char *id, uint8_t **buf,
                   size_t *len, char *err, size_t errlen)
{
    char key[KEY_MAX];
    if (make_key(tenant, id, key, sizeof(key)) != 0)
        return VC_ENOTFOUND;
    const char *argv[] = {"GET", key};
    redisReply *r = NULL;
    int rc = vc_redis_command(pool, 2, argv, NULL, &r, err, errlen);
    if (rc != 0)
        return rc;
    if (r->type != REDIS_REPLY_STRING) {
        freeReplyObject(r);
        return VC_ENOTFOUND;
    }
    uint8_t *copy = malloc(r->len > 0 ? r->len : 1);
    if (copy == NULL) {
        freeReplyObject(r);
        return VC_ENOMEM;
    }
    memcpy(copy, r->str, r->len);
    *buf = copy;
    *len = r->len;
    freeReplyObject(r);
    return 0;
}

int vc_results_del(vc_redis_pool_t *pool, const char *tenant, const char *id, char *err,
                   size_t errlen)
{
    char key[KEY_MAX];
    if (make_key(tenant, id, key, sizeof(key)) != 0)
        return VC_EINVAL;
    const char *argv[] = {"DEL", key};
    redisReply *r = NULL;
    int rc = vc_redis_command(pool, 2, argv, NULL, &r, err, errlen);
    if (rc == 0)
        freeReplyObject(r);
    return rc;
}
