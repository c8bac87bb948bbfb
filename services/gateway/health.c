/* GET /health: readiness (Kafka, Redis, PostgreSQL), cheap for anyone to ask and telling
 * each asker only what it may know.
 *
 * The deep check asks three backends (Kafka's metadata can take 2 s), so it is shared: one
 * result serves every request for HEALTH_CACHE_MS, and at most one thread refreshes it while
 * the others answer with the previous result; only the very first requests wait for it. A
 * flood of /health therefore costs the backends one check per HEALTH_CACHE_MS, whatever its
 * size. The answer has three views:
 *   anonymous        status and one ok flag per check;
 *   an API key       + check latencies, circuit breakers, concurrency in use (a client can
 *                    pace itself; nothing names a host or says why a backend failed);
 *   METRICS_TOKEN    + the backends' error text and the host's resources (operators).
 * A credential never makes /health fail: one that is not valid, or cannot be checked now,
 * gets the anonymous view, so a probe or client that always sends its key keeps its 200. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "access.h"
#include "client_addr.h"
#include "gateway.h"
#include "vc/apikeys.h"
#include "vc/breaker.h"
#include "vc/clock.h"
#include "vc/error.h"
#include "vc/ratelimit.h"

#define HEALTH_KAFKA_TIMEOUT_MS 2000

typedef enum { VIEW_ANONYMOUS, VIEW_TENANT, VIEW_OPERATOR } view_t;

typedef struct {
    int ok;
    double latency_ms;
    char error[256]; /* backend detail: operators only */
} check_t;

typedef struct {
    check_t redis, postgres, kafka;
    int64_t at_ms; /* monotonic: when the check started */
} snapshot_t;

/* @locks mu guards every field; the deep check itself runs without it. */
struct health_cache {
    pthread_mutex_t mu;
    pthread_cond_t done;   /* signalled when a refresh ends */
    int refreshing;        /* a thread is running the deep check */
    int have;              /* snap holds a result */
    snapshot_t snap;
    vc_counter_t *m_runs;  /* deep checks run */
};

int gateway_health_new(gateway_t *gw)
{
    struct health_cache *hc = calloc(1, sizeof(*hc));
    if (hc == NULL)
        return VC_ENOMEM;
    hc->m_runs = vc_metrics_counter(gw->metrics, "vc_health_checks_total",
                                    "Deep health checks run (each asks Redis, PostgreSQL and "
                                    "Kafka once).");
    if (hc->m_runs == NULL || pthread_mutex_init(&hc->mu, NULL) != 0) {
        free(hc);
        return VC_ENOMEM;
    }
    if (pthread_cond_init(&hc->done, NULL) != 0) {
        pthread_mutex_destroy(&hc->mu);
        free(hc);
        return VC_ENOMEM;
    }
    gw->health = hc;
    return 0;
}

void gateway_health_free(gateway_t *gw)
{
    struct health_cache *hc = gw->health;
    if (hc == NULL)
        return;
    pthread_cond_destroy(&hc->done);
    pthread_mutex_destroy(&hc->mu);
    free(hc);
    gw->health = NULL;
}

/* Records one check's outcome; err is the backend's text (kept for operators only). */
static void record(check_t *c, int rc, int64_t t0, const char *err)
{
    c->ok = rc == 0;
    c->latency_ms = (double)(vc_clock_mono_ns() - t0) / 1e6;
    snprintf(c->error, sizeof(c->error), "%s", rc == 0 ? "" : err[0] ? err : vc_strerror(rc));
}

/* Kafka's check: a fatal producer is down without asking the cluster (the process is about to
 * exit, main.c); otherwise the request topic's metadata, and when that fails the producer's
 * own reason if it has one (an authentication failure says more than "timed out"). */
static int kafka_check(gateway_t *gw, char *err, size_t errlen)
{
    char why[300];
    if (vc_producer_health(gw->producer, why, sizeof(why)) == VC_ECLOSED)
        return vc_err(err, errlen, VC_ECLOSED, "%s", why);
    int rc = vc_producer_check(gw->producer, gw->cfg.kafka.topic_requests,
                               HEALTH_KAFKA_TIMEOUT_MS, err, errlen);
    if (rc != 0 && vc_producer_health(gw->producer, why, sizeof(why)) != 0)
        return vc_err(err, errlen, rc, "%s", why);
    return rc;
}

/* The deep check: one round trip to each backend. Worker thread, no lock held. */
static void deep_check(gateway_t *gw, snapshot_t *s)
{
    char err[512] = "";
    s->at_ms = vc_clock_mono_ms();
    int64_t t0 = vc_clock_mono_ns();
    record(&s->redis, vc_redis_ping(gw->redis, err, sizeof(err)), t0, err);
    err[0] = '\0';
    t0 = vc_clock_mono_ns();
    record(&s->postgres, vc_pg_ping(gw->pg, err, sizeof(err)), t0, err);
    err[0] = '\0';
    t0 = vc_clock_mono_ns();
    record(&s->kafka, kafka_check(gw, err, sizeof(err)), t0, err);
}

/* Copies the current result into *out: the cached one while it is younger than
 * HEALTH_CACHE_MS, or while another thread refreshes it; otherwise this thread refreshes it.
 * Only when there has never been a result do callers wait, for the one refresh running.
 * @locality any worker thread. @locks takes hc->mu, never across the deep check. */
static void current(gateway_t *gw, snapshot_t *out)
{
    struct health_cache *hc = gw->health;
    pthread_mutex_lock(&hc->mu);
    for (;;) {
        int fresh = hc->have && vc_clock_mono_ms() - hc->snap.at_ms < gw->cfg.health_cache_ms;
        if (fresh || (hc->have && hc->refreshing)) {
            *out = hc->snap;
            break;
        }
        if (!hc->refreshing) {
            hc->refreshing = 1;
            pthread_mutex_unlock(&hc->mu);
            vc_counter_add(hc->m_runs, 1);
            deep_check(gw, out);
            pthread_mutex_lock(&hc->mu);
            hc->snap = *out;
            hc->have = 1;
            hc->refreshing = 0;
            pthread_cond_broadcast(&hc->done);
            break;
        }
        pthread_cond_wait(&hc->done, &hc->mu); /* the first result is being made */
        if (hc->have) { /* the result waited for, however young HEALTH_CACHE_MS allows */
            *out = hc->snap;
            break;
        }
    }
    pthread_mutex_unlock(&hc->mu);
}

/* The circuit breakers (rate limiter's Redis, API keys' PostgreSQL, result store's Redis),
 * read live (in-process, no I/O): an open breaker means requests are being served by a
 * fallback. Adds them to checks when checks is not NULL; returns whether all are closed. */
static int breakers(gateway_t *gw, json_t *checks)
{
    vc_ratelimit_stats_t rl;
    vc_apikeys_stats_t ak;
    vc_breaker_stats_t rs;
    vc_ratelimit_stats(gw->ratelimit, &rl);
    vc_apikeys_stats(gw->apikeys, &ak);
    vc_breaker_stats(gw->redis_breaker, &rs);
    if (checks != NULL)
        json_object_set_new(
            checks, "breakers",
            json_pack("{s:s, s:s, s:s}", "rate_limiter_redis",
                      vc_breaker_state_name((vc_breaker_state_t)rl.breaker_state),
                      "api_keys_postgres",
                      vc_breaker_state_name((vc_breaker_state_t)ak.breaker_state),
                      "result_store_redis", vc_breaker_state_name(rs.state)));
    return rl.breaker_state == VC_BREAKER_CLOSED && ak.breaker_state == VC_BREAKER_CLOSED &&
           rs.state == VC_BREAKER_CLOSED;
}

static json_t *check_json(const check_t *c, view_t view)
{
    json_t *o = json_pack("{s:b}", "ok", c->ok);
    if (view >= VIEW_TENANT)
        json_object_set_new(o, "latency_ms", json_real(c->latency_ms));
    if (view == VIEW_OPERATOR && !c->ok)
        json_object_set_new(o, "error", json_string(c->error));
    return o;
}

/* ok: everything answers. degraded: Kafka answers (submissions are accepted) but Redis or
 * PostgreSQL does not, or a breaker is open (idempotency checks, results or key lookups are
 * impaired). down: Kafka does not answer, so nothing can be accepted. New reference. */
static json_t *body(gateway_t *gw, const snapshot_t *s, view_t view)
{
    json_t *checks = json_pack("{s:o, s:o, s:o}", "redis", check_json(&s->redis, view),
                               "postgres", check_json(&s->postgres, view), "kafka",
                               check_json(&s->kafka, view));
    int breakers_ok = breakers(gw, view >= VIEW_TENANT ? checks : NULL);
    const char *status = !s->kafka.ok                                          ? "down"
                         : (s->redis.ok && s->postgres.ok && breakers_ok) ? "ok"
                                                                          : "degraded";
    json_t *o = json_pack("{s:s, s:o}", "status", status, "checks", checks);
    if (view == VIEW_ANONYMOUS)
        return o;
    json_object_set_new(o, "checked_ms_ago", json_integer(vc_clock_mono_ms() - s->at_ms));
    json_object_set_new(o, "inflight_requests", json_integer(vc_sem_in_use(gw->inflight)));
    json_object_set_new(o, "max_concurrent_requests", json_integer(gw->cfg.max_concurrent));
    json_object_set_new(o, "longpoll_requests", json_integer(vc_sem_in_use(gw->longpolls)));
    json_object_set_new(o, "max_longpoll", json_integer(gw->cfg.max_longpoll));
    if (view == VIEW_OPERATOR)
        json_object_set_new(o, "resources", gateway_resources_json(gw));
    return o;
}

/* True when the key is valid. A key the cache knows costs nothing (no I/O, no quota: /health
 * never takes from a tenant's rate limit); any other key must first pass the per-address
 * limit, as on every route, so made-up keys cannot flood PostgreSQL through /health. */
static int valid_key(struct mg_connection *conn, gateway_t *gw, const char *k, size_t len)
{
    vc_apikey_t key;
    if (vc_apikeys_lookup_cached(gw->apikeys, k, len, &key) == 0)
        return 1;
    client_addr_t client; /* the same identity as access.c counts (trusted proxies, /64) */
    gateway_client_addr(conn, &gw->cfg, &client);
    vc_ratelimit_result_t res;
    int rc = vc_ratelimit_check(gw->ratelimit, "ip", client.key, strlen(client.key),
                                (long)gw->cfg.ip_limit, &res);
    if (rc == 0 && !res.allowed)
        return 0;
    return vc_apikeys_lookup(gw->apikeys, k, len, &key) == 0;
}

/* Who is asking: the metrics token (no I/O) makes an operator, a valid key of any tenant a
 * tenant; anything else, and everyone under AUTH_MODE=off (keys are not checked), is
 * anonymous. */
static view_t viewer(struct mg_connection *conn, gateway_t *gw)
{
    if (gateway_ops_token_presented(gw, conn))
        return VIEW_OPERATOR;
    size_t len = 0;
    const char *k = gw->cfg.auth ? gateway_presented_key(conn, &len) : NULL;
    return k != NULL && valid_key(conn, gw, k, len) ? VIEW_TENANT : VIEW_ANONYMOUS;
}

int gateway_handle_health(struct mg_connection *conn, void *arg)
{
    gateway_t *gw = arg;
    int refused = gateway_only_get(conn);
    if (refused != 0)
        return refused;
    view_t view = viewer(conn, gw);
    snapshot_t s;
    current(gw, &s);
    json_t *o = body(gw, &s, view);
    int rc = o == NULL ? gateway_send_error(conn, 500, "internal_error", "", "out of memory")
                       : gateway_send_json(conn, s.kafka.ok ? 200 : 503,
                                           s.kafka.ok ? "" : "Retry-After: 5\r\n", o);
    json_decref(o);
    return rc;
}
