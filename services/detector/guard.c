/* Crash isolation across worker processes, and the `processing` status.
 *
 * A message whose analysis kills its worker (hostile media that makes a decoder abort, a
 * stuck analysis the supervisor kills) is redelivered by the group to the next worker, which
 * would die the same way forever. So before a pool thread runs a message it counts the attempt
 * in Redis, `vc:attempts:{group}:{topic}:{partition}:{offset}` (INCR, 1-day TTL), and deletes
 * the counter when the message finished, whatever the outcome. A counter that survives is an
 * attempt that never finished: the worker died while holding it. When DETECTOR_MAX_CRASHES
 * attempts never finished, the next worker fails the detection and dead-letters the message
 * with error.stage=crash instead of analysing it.
 *
 * Blame must fall on the guilty message only, while each worker runs several messages at
 * once. A gate does it: messages never interrupted before run shared; a message with an
 * unfinished earlier attempt waits until it can run alone and only then counts its attempt.
 * Innocent messages that crashed alongside a poison message get one count each, then finish
 * alone and are forgotten; the poison message reaches the limit alone. */
#include <stdio.h>
#include <string.h>

#include "detector.h"
#include "vc/error.h"
#include "vc/results.h"

#define ATTEMPTS_TTL_S "86400"

/* KEYS[1] counter; ARGV[1] TTL; ARGV[2] "1" to count even after an unfinished attempt.
 * Returns the attempt number now counted, or -n (nothing counted) when n earlier attempts
 * never finished and ARGV[2] is not "1". */
static const char BEGIN_LUA[] =
    "local n = tonumber(redis.call('GET', KEYS[1]) or '0')\n"
    "if n > 0 and ARGV[2] ~= '1' then return -n end\n"
    "n = redis.call('INCR', KEYS[1])\n"
    "redis.call('EXPIRE', KEYS[1], ARGV[1])\n"
    "return n\n";

/* KEYS[1] vc:result:{tenant}/{id}; ARGV[1] the processing DetectionResult; ARGV[2] TTL for a new key.
 * Never downgrades a final result: a redelivered message whose result is already stored
 * leaves it alone. Returns 1 when written, 0 when a final (or unreadable) value is there. */
static const char PROCESSING_LUA[] =
    "local cur = redis.call('GET', KEYS[1])\n"
    "if cur then\n"
    "  local ok, r = pcall(cmsgpack.unpack, cur)\n"
    "  if not ok or type(r) ~= 'table' then return 0 end\n"
    "  if r.status ~= 'queued' and r.status ~= 'processing' then return 0 end\n"
    "  redis.call('SET', KEYS[1], ARGV[1], 'KEEPTTL')\n"
    "  return 1\n"
    "end\n"
    "redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])\n"
    "return 1\n";

int detector_gate_init(detector_t *d)
{
    if (pthread_mutex_init(&d->gate_lock, NULL) != 0)
        return VC_ENOMEM;
    if (pthread_cond_init(&d->gate_cond, NULL) != 0) {
        pthread_mutex_destroy(&d->gate_lock);
        return VC_ENOMEM;
    }
    return 0;
}

void detector_gate_destroy(detector_t *d)
{
    pthread_cond_destroy(&d->gate_cond);
    pthread_mutex_destroy(&d->gate_lock);
}

/* @locks gate_lock. Exclusive holders wait for shared ones to leave; while one waits, no new
 * shared holder enters (writer preference, so a suspect message cannot starve). */
static void gate_acquire(detector_t *d, int exclusive)
{
    pthread_mutex_lock(&d->gate_lock);
    if (exclusive) {
        d->gate_waiting++;
        while (d->gate_shared > 0 || d->gate_exclusive)
            pthread_cond_wait(&d->gate_cond, &d->gate_lock);
        d->gate_waiting--;
        d->gate_exclusive = 1;
    } else {
        while (d->gate_waiting > 0 || d->gate_exclusive)
            pthread_cond_wait(&d->gate_cond, &d->gate_lock);
        d->gate_shared++;
    }
    pthread_mutex_unlock(&d->gate_lock);
}

static void gate_release(detector_t *d, int exclusive)
{
    pthread_mutex_lock(&d->gate_lock);
    if (exclusive)
        d->gate_exclusive = 0;
    else
        d->gate_shared--;
    pthread_cond_broadcast(&d->gate_cond);
    pthread_mutex_unlock(&d->gate_lock);
}

/* Runs BEGIN_LUA until Redis answers or the process stops. Returns 0 with *n set. */
static int count_attempt(detector_t *d, const char *key, int force, long long *n)
{
    const char *argv[] = {"EVAL", BEGIN_LUA, "1", key, ATTEMPTS_TTL_S, force ? "1" : "0"};
    char err[256];
    for (int attempt = 0; !detector_stopping; attempt++) {
        redisReply *r = NULL;
        int rc = vc_redis_command(d->redis, 6, argv, NULL, &r, err, sizeof(err));
        if (rc == 0 && r->type == REDIS_REPLY_INTEGER) {
            *n = r->integer;
            freeReplyObject(r);
            return 0;
        }
        if (rc == 0)
            freeReplyObject(r);
        vc_counter_add(d->m_store_retries, 1);
        VC_WARN("job.attempt_retry", "key=%s attempt=%d error=\"%s\"", key, attempt,
                rc == 0 ? "unexpected reply" : err);
        detector_backoff(attempt);
    }
    return VC_ECLOSED;
}

int detector_guard_enter(detector_t *d, const rd_kafka_message_t *m, detector_guard_t *g)
{
    snprintf(g->key, sizeof(g->key), "vc:attempts:%s:%s:%d:%lld", d->cfg.group_id,
             rd_kafka_topic_name(m->rkt), (int)m->partition, (long long)m->offset);
    g->exclusive = 0;
    g->prior = 0;
    long long n = 0;
    gate_acquire(d, 0);
    int rc = count_attempt(d, g->key, 0, &n);
    if (rc == 0 && n < 0) {
        /* Interrupted before: count this attempt only once it runs alone. */
        gate_release(d, 0);
        g->exclusive = 1;
        gate_acquire(d, 1);
        VC_WARN("job.suspect", "partition=%d offset=%lld unfinished_attempts=%lld",
                (int)m->partition, (long long)m->offset, -n);
        rc = count_attempt(d, g->key, 1, &n);
    }
    if (rc != 0) {
        gate_release(d, g->exclusive);
        return rc;
    }
    g->prior = n - 1;
    return 0;
}

void detector_guard_leave(detector_t *d, detector_guard_t *g, int keep)
{
    if (keep) {
        gate_release(d, g->exclusive);
        return;
    }
    const char *argv[] = {"DEL", g->key};
    char err[256];
    redisReply *r = NULL;
    /* A few tries: a counter left behind would count one phantom crash, never lose work. */
    for (int attempt = 0; attempt < 3; attempt++) {
        if (vc_redis_command(d->redis, 2, argv, NULL, &r, err, sizeof(err)) == 0) {
            freeReplyObject(r);
            break;
        }
        VC_WARN("job.attempt_forget", "key=%s error=\"%s\"", g->key, err);
        if (detector_stopping)
            break;
        detector_backoff(attempt);
    }
    gate_release(d, g->exclusive);
}

void detector_mark_processing(detector_t *d, const char *tenant, const char *id,
                              const uint8_t *blob, size_t len)
{
    char key[sizeof(VC_RESULTS_KEY_PREFIX) + VC_RESULTS_REF_MAX], ttl[24], err[256];
    size_t pl = sizeof(VC_RESULTS_KEY_PREFIX) - 1;
    memcpy(key, VC_RESULTS_KEY_PREFIX, pl);
    if (vc_results_ref(tenant, id, key + pl, sizeof(key) - pl) != 0)
        return;
    snprintf(ttl, sizeof(ttl), "%lld", d->cfg.result_ttl_s);
    const char *argv[] = {"EVAL", PROCESSING_LUA, "1", key, (const char *)blob, ttl};
    size_t lens[] = {4, sizeof(PROCESSING_LUA) - 1, 1, strlen(key), len, strlen(ttl)};
    redisReply *r = NULL;
    if (vc_redis_command(d->redis, 6, argv, lens, &r, err, sizeof(err)) != 0) {
        VC_DEBUG("job.processing_status", "id=%s error=\"%s\"", id, err);
        return;
    }
    freeReplyObject(r);
}
