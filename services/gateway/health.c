/* GET /health: deep readiness (Kafka, Redis, PostgreSQL) plus resource use. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gateway.h"
#include "vc/apikeys.h"
#include "vc/breaker.h"
#include "vc/clock.h"
#include "vc/ratelimit.h"
#include "vc/error.h"

#define HEALTH_KAFKA_TIMEOUT_MS 2000

/* Adds {ok, latency_ms, error?} under name and returns whether the check passed. */
static int add_check(json_t *checks, const char *name, int rc, int64_t t0, const char *err)
{
    double ms = (double)(vc_clock_mono_ns() - t0) / 1e6;
    json_t *o = json_pack("{s:b, s:f}", "ok", rc == 0, "latency_ms", ms);
    if (rc != 0)
        json_object_set_new(o, "error", json_string(err[0] ? err : vc_strerror(rc)));
    json_object_set_new(checks, name, o);
    return rc == 0;
}

/* Reports the circuit breakers (rate limiter's Redis, API keys' PostgreSQL, result store's
 * Redis): an open breaker means requests are being served by a fallback. */
static int add_breakers(json_t *checks, gateway_t *gw)
{
    vc_ratelimit_stats_t rl;
    vc_apikeys_stats_t ak;
    vc_breaker_stats_t rs;
    vc_ratelimit_stats(gw->ratelimit, &rl);
    vc_apikeys_stats(gw->apikeys, &ak);
    vc_breaker_stats(gw->redis_breaker, &rs);
    json_t *o = json_pack("{s:s, s:s, s:s}", "rate_limiter_redis",
                          vc_breaker_state_name((vc_breaker_state_t)rl.breaker_state),
                          "api_keys_postgres",
                          vc_breaker_state_name((vc_breaker_state_t)ak.breaker_state),
                          "result_store_redis", vc_breaker_state_name(rs.state));
    json_object_set_new(checks, "breakers", o);
    return rl.breaker_state == VC_BREAKER_CLOSED && ak.breaker_state == VC_BREAKER_CLOSED &&
           rs.state == VC_BREAKER_CLOSED;
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

/* ok: everything answers. degraded: Kafka answers (submissions are accepted) but Redis or
 * PostgreSQL does not (idempotency checks, results or key lookups are impaired). down: Kafka
 * does not answer, so nothing can be accepted. */
int gateway_handle_health(struct mg_connection *conn, void *arg)
{
    gateway_t *gw = arg;
    int refused = gateway_only_get(conn);
    if (refused != 0)
        return refused;
    json_t *checks = json_object();
    char err[512] = "";
    int64_t t0 = vc_clock_mono_ns();
    int redis_ok = add_check(checks, "redis", vc_redis_ping(gw->redis, err, sizeof(err)), t0, err);
    err[0] = '\0';
    t0 = vc_clock_mono_ns();
    int pg_ok = add_check(checks, "postgres", vc_pg_ping(gw->pg, err, sizeof(err)), t0, err);
    err[0] = '\0';
    t0 = vc_clock_mono_ns();
    int krc = kafka_check(gw, err, sizeof(err));
    int kafka_ok = add_check(checks, "kafka", krc, t0, err);
    int breakers_ok = add_breakers(checks, gw);
    const char *status = !kafka_ok                             ? "down"
                         : (redis_ok && pg_ok && breakers_ok) ? "ok"
                                                               : "degraded";
    json_t *o = json_pack("{s:s, s:o, s:o, s:I, s:I}", "status", status, "checks", checks,
                          "resources", gateway_resources_json(gw), "inflight_requests",
                          (json_int_t)vc_sem_in_use(gw->inflight), "max_concurrent_requests",
                          (json_int_t)gw->cfg.max_concurrent);
    int rc = gateway_send_json(conn, kafka_ok ? 200 : 503, kafka_ok ? "" : "Retry-After: 5\r\n",
                               o);
    json_decref(o);
    return rc;
}
