/* Instance snapshots behind an index set (vc/snapshots.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vc/error.h"
#include "vc/snapshots.h"

#define KEY_MAX (sizeof("vc:metrics:index:") + 2 * VC_SNAPSHOT_MAX_NAME + 2)
#define INDEX_TTL_S "86400" /* the index outlives its last publisher by a day, then goes */
#define MGET_CHUNK 64

/* The snapshot and its index entry together: a reader never sees an instance it cannot find
 * in the index while its snapshot lives. Both writes are idempotent, so a retry is harmless. */
static const char PUBLISH_LUA[] = "redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])\n"
                                  "redis.call('SADD', KEYS[2], ARGV[3])\n"
                                  "redis.call('EXPIRE', KEYS[2], ARGV[4])\n"
                                  "return 1\n";

static int valid_name(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;
    return n > 0 && n <= VC_SNAPSHOT_MAX_NAME;
}

/* A kind is a fixed word: no ':' so that no snapshot key can be another kind's index. */
static int valid_kind(const char *s)
{
    return valid_name(s) && strchr(s, ':') == NULL && strcmp(s, "index") != 0;
}

static void snapshot_key(char *out, const char *kind, const char *instance, size_t ilen)
{
    snprintf(out, KEY_MAX, "vc:metrics:%s:%.*s", kind, (int)ilen, instance);
}

static void index_key(char *out, const char *kind)
{
    snprintf(out, KEY_MAX, "vc:metrics:index:%s", kind);
}

int vc_snapshot_publish(vc_redis_pool_t *pool, const char *kind, const char *instance,
                        const char *json, size_t len, int ttl_s, char *err, size_t errlen)
{
    if (!valid_kind(kind) || !valid_name(instance) || json == NULL || ttl_s < 1)
        return vc_err(err, errlen, VC_EINVAL, "snapshot: bad kind, instance or ttl");
    char key[KEY_MAX], index[KEY_MAX], ttl[16];
    snapshot_key(key, kind, instance, strlen(instance));
    index_key(index, kind);
    snprintf(ttl, sizeof(ttl), "%d", ttl_s);
    const char *argv[] = {"EVAL", PUBLISH_LUA, "2", key, index, json, ttl, instance, INDEX_TTL_S};
    size_t lens[9];
    for (int i = 0; i < 9; i++)
        lens[i] = argv[i] == json ? len : strlen(argv[i]);
    redisReply *r = NULL;
    int rc = vc_redis_command(pool, 9, argv, lens, &r, err, errlen);
    if (rc == 0)
        freeReplyObject(r);
    return rc;
}

/* Removes from the index the members whose snapshot MGET found missing. Best effort: an
 * instance that publishes again re-registers. */
static void forget(vc_redis_pool_t *pool, const char *index, redisReply **members, size_t n)
{
    const char *argv[2 + MGET_CHUNK];
    size_t lens[2 + MGET_CHUNK];
    argv[0] = "SREM";
    argv[1] = index;
    lens[0] = 4;
    lens[1] = strlen(index);
    for (size_t i = 0; i < n; i++) {
        argv[2 + i] = members[i]->str;
        lens[2 + i] = members[i]->len;
    }
    redisReply *r = NULL;
    char err[128];
    if (vc_redis_command(pool, (int)(2 + n), argv, lens, &r, err, sizeof(err)) == 0)
        freeReplyObject(r);
}

/* MGETs the snapshots of members[0..n) (n <= MGET_CHUNK); passes live ones to fn until *left
 * runs out. Returns how many were passed, or a negative error. */
static int fetch_chunk(vc_redis_pool_t *pool, const char *kind, const char *index,
                       redisReply **members, size_t n, size_t *left, vc_snapshot_fn fn,
                       void *arg, char *err, size_t errlen)
{
    char keys[MGET_CHUNK][KEY_MAX];
    const char *argv[1 + MGET_CHUNK];
    argv[0] = "MGET";
    for (size_t i = 0; i < n; i++) {
        snapshot_key(keys[i], kind, members[i]->str, members[i]->len);
        argv[1 + i] = keys[i];
    }
    redisReply *r = NULL;
    int rc = vc_redis_command(pool, (int)(1 + n), argv, NULL, &r, err, errlen);
    if (rc != 0)
        return rc;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != n) {
        freeReplyObject(r);
        return vc_err(err, errlen, VC_EPROTO, "snapshot: unexpected MGET reply");
    }
    redisReply *gone[MGET_CHUNK];
    size_t ngone = 0;
    int passed = 0;
    for (size_t i = 0; i < n; i++) {
        redisReply *v = r->element[i];
        if (v->type != REDIS_REPLY_STRING) {
            gone[ngone++] = members[i];
        } else if (*left > 0) {
            fn(v->str, v->len, arg);
            (*left)--;
            passed++;
        }
    }
    if (ngone > 0)
        forget(pool, index, gone, ngone);
    freeReplyObject(r);
    return passed;
}

int vc_snapshot_list(vc_redis_pool_t *pool, const char *kind, size_t max, vc_snapshot_fn fn,
                     void *arg, char *err, size_t errlen)
{
    if (!valid_kind(kind) || fn == NULL)
        return vc_err(err, errlen, VC_EINVAL, "snapshot: bad kind");
    char index[KEY_MAX];
    index_key(index, kind);
    const char *argv[] = {"SMEMBERS", index};
    redisReply *set = NULL;
    int rc = vc_redis_command(pool, 2, argv, NULL, &set, err, errlen);
    if (rc != 0)
        return rc;
    if (set->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(set);
        return vc_err(err, errlen, VC_EPROTO, "snapshot: unexpected SMEMBERS reply");
    }
    /* Members that are not valid names cannot have been written by vc_snapshot_publish. */
    redisReply *members[MGET_CHUNK];
    size_t left = max, n = 0;
    int total = 0;
    for (size_t i = 0; i < set->elements && rc >= 0 && left > 0; i++) {
        redisReply *m = set->element[i];
        if (m->type == REDIS_REPLY_STRING && m->len > 0 && m->len <= VC_SNAPSHOT_MAX_NAME)
            members[n++] = m;
        if (n == MGET_CHUNK || (i + 1 == set->elements && n > 0)) {
            rc = fetch_chunk(pool, kind, index, members, n, &left, fn, arg, err, errlen);
            total += rc > 0 ? rc : 0;
            n = 0;
        }
    }
    freeReplyObject(set);
    return rc < 0 ? rc : total;
}
