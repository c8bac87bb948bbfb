#include "waiters.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "vc/clock.h"
#include "vc/error.h"
#include "vc/id.h"
#include "vc/log.h"
#include "vc/results.h"

#define BUCKETS 1024

struct waiter {
    char id[VC_RESULTS_REF_MAX + 1]; /* the detection's reference "tenant/id" */
    int woken;
    pthread_cond_t cv;
    waiter_t *next;
};

struct waiters {
    pthread_mutex_t mu; /* guards buckets, count, ctx */
    waiter_t *buckets[BUCKETS];
    long count;
    vc_redis_opts_t redis;
    redisContext *ctx; /* the subscriber's connection, shut down to stop the thread */
    atomic_int stop;
    pthread_t thread;
};

static size_t bucket_of(const char *id)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h % BUCKETS;
}

/* @locks: w->mu held. */
static void wake_id(waiters_t *w, const char *id)
{
    for (waiter_t *wt = w->buckets[bucket_of(id)]; wt != NULL; wt = wt->next)
        if (strcmp(wt->id, id) == 0) {
            wt->woken = 1;
            pthread_cond_signal(&wt->cv);
        }
}

static void wake_all(waiters_t *w)
{
    pthread_mutex_lock(&w->mu);
    for (size_t b = 0; b < BUCKETS; b++)
        for (waiter_t *wt = w->buckets[b]; wt != NULL; wt = wt->next) {
            wt->woken = 1;
            pthread_cond_signal(&wt->cv);
        }
    pthread_mutex_unlock(&w->mu);
}

/* Handles one pushed reply: ["message", channel, "tenant/id"]. */
static void on_reply(waiters_t *w, redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
        r->element[2]->type != REDIS_REPLY_STRING || strcmp(r->element[0]->str, "message") != 0)
        return;
    char id[VC_RESULTS_REF_MAX + 1];
    size_t n = r->element[2]->len;
    if (n == 0 || n > VC_RESULTS_REF_MAX)
        return;
    memcpy(id, r->element[2]->str, n);
    id[n] = '\0';
    pthread_mutex_lock(&w->mu);
    wake_id(w, id);
    pthread_mutex_unlock(&w->mu);
}

/* Subscribes on c and serves replies until the connection fails or stop is requested. */
static void serve(waiters_t *w, redisContext *c)
{
    redisReply *r = redisCommand(c, "SUBSCRIBE %s", VC_RESULTS_CHANNEL);
    if (r == NULL)
        return;
    freeReplyObject(r);
    VC_INFO("waiters.subscribed", "channel=%s", VC_RESULTS_CHANNEL);
    /* Notices published while we were not subscribed are lost: make every waiter re-check. */
    wake_all(w);
    void *reply = NULL;
    while (!atomic_load(&w->stop) && redisGetReply(c, &reply) == REDIS_OK) {
        on_reply(w, reply);
        freeReplyObject(reply);
    }
}

static void pause_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL); /* reconnect backoff, not synchronisation */
}

static void *subscriber_main(void *arg)
{
    waiters_t *w = arg;
    long backoff = 100;
    while (!atomic_load(&w->stop)) {
        char err[256];
        redisContext *c = NULL;
        if (vc_redis_connect(&w->redis, 0, &c, err, sizeof(err)) == 0) {
            pthread_mutex_lock(&w->mu);
            w->ctx = c;
            pthread_mutex_unlock(&w->mu);
            serve(w, c);
            pthread_mutex_lock(&w->mu);
            w->ctx = NULL;
            pthread_mutex_unlock(&w->mu);
            if (!atomic_load(&w->stop))
                VC_WARN("waiters.disconnected", "error=\"%s\"", c->errstr);
            redisFree(c);
            backoff = 100;
        } else {
            VC_WARN("waiters.connect_failed", "error=\"%s\"", err);
        }
        wake_all(w);
        if (!atomic_load(&w->stop))
            pause_ms(backoff);
        backoff = backoff < 2000 ? backoff * 2 : 2000;
    }
    return NULL;
}

int waiters_start(const vc_redis_opts_t *redis, waiters_t **out, char *err, size_t errlen)
{
    waiters_t *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return VC_ENOMEM;
    pthread_mutex_init(&w->mu, NULL);
    w->redis = *redis;
    if (pthread_create(&w->thread, NULL, subscriber_main, w) != 0) {
        pthread_mutex_destroy(&w->mu);
        free(w);
        return vc_err(err, errlen, VC_ENOMEM, "cannot start the subscriber thread");
    }
    *out = w;
    return 0;
}

void waiters_close(waiters_t *w)
{
    if (w == NULL)
        return;
    atomic_store(&w->stop, 1);
    wake_all(w);
}

void waiters_stop(waiters_t *w)
{
    if (w == NULL)
        return;
    waiters_close(w);
    pthread_mutex_lock(&w->mu);
    if (w->ctx != NULL)
        shutdown(w->ctx->fd, SHUT_RDWR); /* unblocks redisGetReply */
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

waiter_t *waiters_add(waiters_t *w, const char *tenant, const char *id)
{
    waiter_t *wt = calloc(1, sizeof(*wt));
    if (wt == NULL || vc_results_ref(tenant, id, wt->id, sizeof(wt->id)) != 0) {
        free(wt);
        return NULL;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&wt->cv, &ca);
    pthread_condattr_destroy(&ca);
    size_t b = bucket_of(wt->id);
    pthread_mutex_lock(&w->mu);
    wt->next = w->buckets[b];
    w->buckets[b] = wt;
    w->count++;
    pthread_mutex_unlock(&w->mu);
    return wt;
}

int waiters_wait(waiters_t *w, waiter_t *wt, int64_t deadline_ms)
{
    struct timespec ts = {.tv_sec = deadline_ms / 1000, .tv_nsec = (deadline_ms % 1000) * 1000000L};
    pthread_mutex_lock(&w->mu);
    int rc = 0;
    while (!wt->woken && rc != ETIMEDOUT && !atomic_load(&w->stop))
        rc = pthread_cond_timedwait(&wt->cv, &w->mu, &ts);
    int woken = wt->woken;
    wt->woken = 0; /* the caller re-checks the store and may wait again */
    pthread_mutex_unlock(&w->mu);
    return woken;
}

void waiters_remove(waiters_t *w, waiter_t *wt)
{
    size_t b = bucket_of(wt->id);
    pthread_mutex_lock(&w->mu);
    for (waiter_t **pp = &w->buckets[b]; *pp != NULL; pp = &(*pp)->next)
        if (*pp == wt) {
            *pp = wt->next;
            w->count--;
            break;
        }
    pthread_mutex_unlock(&w->mu);
    pthread_cond_destroy(&wt->cv);
    free(wt);
}

long waiters_count(waiters_t *w)
{
    pthread_mutex_lock(&w->mu);
    long n = w->count;
    pthread_mutex_unlock(&w->mu);
    return n;
}
