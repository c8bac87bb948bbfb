/* GET /metrics (Prometheus text) and GET /metrics.json: the gateway's own figures, process
 * and machine resources, and the snapshot of every live detector read from Redis. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "vc/admit.h"
#include "vc/breaker.h"
#include "vc/clock.h"
#include "vc/error.h"
#include "vc/ratelimit.h"
#include "vc/resources.h"
#include "vc/snapshots.h"
#include "waiters.h"

#define MAX_DETECTORS 256

/* A growable text buffer with a hard cap (curl's dynbuf idea). */
typedef struct {
    char *buf;
    size_t len, cap;
    int failed;
} text_t;

__attribute__((format(printf, 2, 3))) static void put(text_t *t, const char *fmt, ...)
{
    for (int attempt = 0; attempt < 2 && !t->failed; attempt++) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = 1;
        } else if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        } else {
            size_t ncap = (t->cap + (size_t)n + 1) * 2;
            char *nb = ncap <= (8u << 20) ? realloc(t->buf, ncap) : NULL;
            if (nb == NULL)
                t->failed = 1;
            t->buf = nb != NULL ? nb : t->buf;
            t->cap = nb != NULL ? ncap : t->cap;
        }
    }
}

static void add_snapshot(const char *json, size_t len, void *arr)
{
    json_t *o = json_loadb(json, len, 0, NULL);
    if (json_is_object(o))
        json_array_append_new(arr, o);
    else
        json_decref(o);
}

/* Every live snapshot of kind (vc/snapshots.h) as a JSON array; empty when Redis fails. */
static json_t *snapshots(gateway_t *gw, const char *kind)
{
    json_t *arr = json_array();
    char err[200];
    if (vc_snapshot_list(gw->redis, kind, MAX_DETECTORS, add_snapshot, arr, err, sizeof(err)) < 0)
        VC_DEBUG("metrics.snapshots_failed", "kind=%s error=\"%s\"", kind, err);
    return arr;
}

/* Detector worker snapshots (one per worker process). */
static json_t *detector_snapshots(gateway_t *gw)
{
    return snapshots(gw, "detector");
}

/* Detector supervisor snapshots: worker crashes, restarts, autoscaling. */
static json_t *supervisor_snapshots(gateway_t *gw)
{
    return snapshots(gw, "detector-supervisor");
}

/* Prometheus label values escape \, " and newlines. */
static const char *label(const char *s, char *out, size_t cap)
{
    size_t k = 0;
    for (; s != NULL && *s != '\0' && k + 2 < cap; s++) {
        if (*s == '\\' || *s == '"' || *s == '\n')
            out[k++] = '\\';
        out[k++] = *s == '\n' ? 'n' : *s;
    }
    out[k] = '\0';
    return out;
}

typedef struct {
    const char *key, *name, *type, *help;
} det_field_t;

static const det_field_t det_fields[] = {
    {"consumed", "vc_detector_messages_consumed_total", "counter", "Messages consumed."},
    {"completed", "vc_detector_completed_total", "counter", "Detections completed."},
    {"failed", "vc_detector_failed_total", "counter", "Detections failed."},
    {"dead_letters", "vc_detector_dead_letters_total", "counter", "Messages dead-lettered."},
    {"store_retries", "vc_detector_store_retries_total", "counter", "Retried store writes."},
    {"result_writes_refused", "vc_detector_result_writes_refused_total", "counter",
     "Result writes refused for good (constraint, permission, size)."},
    {"result_replays", "vc_detector_result_replays_total", "counter",
     "Results that lost to an earlier final result (redeliveries)."},
    {"inflight", "vc_detector_inflight_messages", "gauge", "Messages in flight."},
    {"queued", "vc_detector_queued_jobs", "gauge", "Jobs waiting for a worker."},
    {"cpu_percent", "vc_detector_cpu_percent", "gauge", "Process CPU, 100 = one core."},
    {"rss_bytes", "vc_detector_resident_memory_bytes", "gauge", "Resident memory."},
};

static const det_field_t sup_fields[] = {
    {"crashes", "vc_detector_supervisor_worker_crashes_total", "counter",
     "Worker processes that died by a signal or a non-zero exit."},
    {"restarts", "vc_detector_supervisor_worker_restarts_total", "counter",
     "Worker processes started again after dying."},
    {"stuck_kills", "vc_detector_supervisor_stuck_kills_total", "counter",
     "Worker processes killed for a stuck analysis or a silent main loop."},
    {"workers_alive", "vc_detector_supervisor_workers_alive", "gauge", "Worker processes running."},
    {"workers_target", "vc_detector_supervisor_workers_target", "gauge",
     "Worker processes the autoscaler wants running."},
    {"workers_configured", "vc_detector_supervisor_workers_max", "gauge",
     "PROCESS_POOL_SIZE: the autoscaler's ceiling."},
    {"scale_ups", "vc_detector_supervisor_scale_ups_total", "counter",
     "Workers started by the autoscaler."},
    {"scale_downs", "vc_detector_supervisor_scale_downs_total", "counter",
     "Workers parked by the autoscaler."},
    {"lag_total", "vc_detector_supervisor_consumer_lag_messages", "gauge",
     "Consumer lag of the supervisor's workers at its last evaluation (-1: unknown)."},
};

/* One sample line per snapshot for each field: name{instance="..."} value. */
static void render_fields(text_t *t, json_t *snaps, const det_field_t *fields, size_t n)
{
    char lb[160];
    for (size_t f = 0; f < n; f++) {
        const det_field_t *df = &fields[f];
        put(t, "# HELP %s %s\n# TYPE %s %s\n", df->name, df->help, df->name, df->type);
        size_t i;
        json_t *d;
        json_array_foreach(snaps, i, d)
        {
            json_t *v = json_object_get(d, df->key);
            if (json_is_number(v))
                put(t, "%s{instance=\"%s\"} %.17g\n", df->name,
                    label(json_string_value(json_object_get(d, "instance")), lb, sizeof(lb)),
                    json_number_value(v));
        }
    }
}

static void render_detectors(text_t *t, json_t *dets)
{
    char lb[160];
    render_fields(t, dets, det_fields, sizeof(det_fields) / sizeof(det_fields[0]));
    put(t, "# HELP vc_detector_detection_seconds Processing time of one detection.\n"
           "# TYPE vc_detector_detection_seconds summary\n");
    size_t i;
    json_t *d;
    json_array_foreach(dets, i, d)
    {
        json_t *lat = json_object_get(d, "latency_seconds");
        label(json_string_value(json_object_get(d, "instance")), lb, sizeof(lb));
        static const char *const qs[][2] = {{"0.5", "p50"}, {"0.95", "p95"}, {"0.99", "p99"}};
        for (int q = 0; q < 3; q++)
            put(t, "vc_detector_detection_seconds{instance=\"%s\",quantile=\"%s\"} %.17g\n", lb,
                qs[q][0], json_number_value(json_object_get(lat, qs[q][1])));
        put(t, "vc_detector_detection_seconds_sum{instance=\"%s\"} %.17g\n", lb,
            json_number_value(json_object_get(lat, "sum")));
        put(t, "vc_detector_detection_seconds_count{instance=\"%s\"} %lld\n", lb,
            (long long)json_integer_value(json_object_get(lat, "count")));
    }
}

static void render_pool(text_t *t, const char *pool, const vc_pool_stats_t *p)
{
    put(t, "vc_pool_connections{pool=\"%s\",state=\"in_use\"} %zu\n", pool, p->in_use);
    put(t, "vc_pool_connections{pool=\"%s\",state=\"idle\"} %zu\n", pool, p->idle);
    put(t, "vc_pool_max_connections{pool=\"%s\"} %zu\n", pool, p->size);
    put(t, "vc_pool_dials_total{pool=\"%s\"} %llu\n", pool, p->dials);
    put(t, "vc_pool_dial_failures_total{pool=\"%s\"} %llu\n", pool, p->dial_failures);
    put(t, "vc_pool_wait_timeouts_total{pool=\"%s\"} %llu\n", pool, p->timeouts);
}

static void render_pools(text_t *t, gateway_t *gw)
{
    vc_pool_stats_t r, p;
    vc_redis_pool_stats(gw->redis, &r);
    vc_pg_pool_stats(gw->pg, &p);
    static const char *const fams[][3] = {
        {"vc_pool_connections", "gauge", "Connections by pool and state."},
        {"vc_pool_max_connections", "gauge", "Pool capacity."},
        {"vc_pool_dials_total", "counter", "Connections opened."},
        {"vc_pool_dial_failures_total", "counter", "Failed connection attempts."},
        {"vc_pool_wait_timeouts_total", "counter", "Acquisitions that timed out waiting."},
    };
    text_t lines = {0};
    render_pool(&lines, "redis", &r);
    render_pool(&lines, "postgres", &p);
    /* Group samples under their family's HELP/TYPE (exposition format rule). */
    for (size_t f = 0; f < sizeof(fams) / sizeof(fams[0]) && !lines.failed; f++) {
        put(t, "# HELP %s %s\n# TYPE %s %s\n", fams[f][0], fams[f][2], fams[f][0], fams[f][1]);
        size_t flen = strlen(fams[f][0]);
        for (const char *l = lines.buf; l != NULL && *l != '\0';) {
            const char *nl = strchr(l, '\n');
            if (strncmp(l, fams[f][0], flen) == 0 && l[flen] == '{')
                put(t, "%.*s\n", (int)(nl - l), l);
            l = nl + 1;
        }
    }
    free(lines.buf);
}

static json_t *pool_json(const vc_pool_stats_t *p)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "size", (json_int_t)p->size, "in_use",
                     (json_int_t)p->in_use, "idle", (json_int_t)p->idle, "dials",
                     (json_int_t)p->dials, "dial_failures", (json_int_t)p->dial_failures,
                     "wait_timeouts", (json_int_t)p->timeouts);
}

/* The limiter's own counters: a fallback decision (Redis failed or its breaker is open) is
 * taken per gateway process, so under RATE_LIMIT_FAILURE_POLICY=open a tenant can exceed its
 * quota while these grow. */
static void render_ratelimit(text_t *t, gateway_t *gw)
{
    vc_ratelimit_stats_t rl;
    vc_ratelimit_stats(gw->ratelimit, &rl);
    put(t, "# HELP vc_ratelimit_decisions_total Rate-limit decisions by outcome, any source.\n"
           "# TYPE vc_ratelimit_decisions_total counter\n"
           "vc_ratelimit_decisions_total{decision=\"allowed\"} %llu\n"
           "vc_ratelimit_decisions_total{decision=\"denied\"} %llu\n"
           "# HELP vc_ratelimit_fallback_total Decisions taken without Redis, by "
           "RATE_LIMIT_FAILURE_POLICY.\n"
           "# TYPE vc_ratelimit_fallback_total counter\nvc_ratelimit_fallback_total %llu\n"
           "# HELP vc_ratelimit_redis_errors_total Rate-limit calls to Redis that failed or "
           "timed out.\n"
           "# TYPE vc_ratelimit_redis_errors_total counter\nvc_ratelimit_redis_errors_total %llu\n"
           "# HELP vc_ratelimit_breaker_open 1 while the limiter's Redis breaker is not closed.\n"
           "# TYPE vc_ratelimit_breaker_open gauge\nvc_ratelimit_breaker_open %d\n",
        (unsigned long long)rl.allowed, (unsigned long long)rl.denied,
        (unsigned long long)rl.fallback, (unsigned long long)rl.redis_errors,
        rl.breaker_state != VC_BREAKER_CLOSED);
}

static json_t *ratelimit_json(gateway_t *gw)
{
    vc_ratelimit_stats_t rl;
    vc_ratelimit_stats(gw->ratelimit, &rl);
    return json_pack("{s:I, s:I, s:I, s:I, s:s}", "allowed", (json_int_t)rl.allowed, "denied",
                     (json_int_t)rl.denied, "fallback", (json_int_t)rl.fallback, "redis_errors",
                     (json_int_t)rl.redis_errors, "breaker",
                     vc_breaker_state_name((vc_breaker_state_t)rl.breaker_state));
}

static void render_gateway_gauges(text_t *t, gateway_t *gw, const vc_resources_t *r)
{
    render_pools(t, gw);
    render_ratelimit(t, gw);
    if (gw->admit != NULL) {
        vc_admit_stats_t as;
        vc_admit_stats(gw->admit, &as);
        put(t, "# HELP vc_admission_limit Submissions the adaptive limit admits at once now.\n"
               "# TYPE vc_admission_limit gauge\nvc_admission_limit %ld\n"
               "# HELP vc_admission_baseline_seconds Unqueued submission latency it compares with.\n"
               "# TYPE vc_admission_baseline_seconds gauge\nvc_admission_baseline_seconds %.6f\n"
               "# HELP vc_admission_adjustments_total Limit changes by direction.\n"
               "# TYPE vc_admission_adjustments_total counter\n"
               "vc_admission_adjustments_total{direction=\"down\"} %llu\n"
               "vc_admission_adjustments_total{direction=\"up\"} %llu\n",
            as.limit, as.baseline_ms / 1000.0, (unsigned long long)as.decreases,
            (unsigned long long)as.increases);
    }
    put(t, "# HELP vc_http_inflight_requests Submissions being handled.\n"
           "# TYPE vc_http_inflight_requests gauge\nvc_http_inflight_requests %ld\n",
        vc_sem_in_use(gw->inflight));
    put(t, "# HELP vc_http_inflight_bytes Body bytes reserved by submissions in flight "
           "(MAX_INFLIGHT_BYTES).\n"
           "# TYPE vc_http_inflight_bytes gauge\nvc_http_inflight_bytes %lld\n",
        (long long)atomic_load(&gw->inflight_bytes));
    put(t, "# HELP vc_longpoll_waiters Requests waiting for a result.\n"
           "# TYPE vc_longpoll_waiters gauge\nvc_longpoll_waiters %ld\n",
        waiters_count(gw->waiters));
    put(t, "# HELP vc_longpoll_requests Long-polls and feedback uploads holding a worker "
           "(MAX_LONGPOLL).\n"
           "# TYPE vc_longpoll_requests gauge\nvc_longpoll_requests %ld\n",
        vc_sem_in_use(gw->longpolls));
    put(t, "# HELP vc_kafka_producer_queue_messages Messages not yet acknowledged by Kafka.\n"
           "# TYPE vc_kafka_producer_queue_messages gauge\nvc_kafka_producer_queue_messages %d\n",
        vc_producer_queue_len(gw->producer));
    put(t, "# HELP process_resident_memory_bytes Resident memory of the gateway.\n"
           "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes %lld\n",
        (long long)r->rss_bytes);
    put(t, "# HELP vc_process_cpu_percent Gateway CPU since the previous scrape, 100 = one core.\n"
           "# TYPE vc_process_cpu_percent gauge\nvc_process_cpu_percent %.3f\n",
        r->process_cpu_percent);
    put(t, "# HELP vc_detectors_live Detectors whose snapshot is fresh in Redis.\n"
           "# TYPE vc_detectors_live gauge\n");
}

int gateway_handle_metrics(struct mg_connection *conn, void *arg)
{
    gateway_t *gw = arg;
    int refused = gateway_only_get(conn);
    if (refused == 0)
        refused = gateway_ops_guard(gw, conn); /* METRICS_TOKEN, when configured */
    if (refused != 0)
        return refused;
    char *own = NULL;
    size_t own_len = 0;
    if (vc_metrics_render_prometheus(gw->metrics, &own, &own_len) != 0)
        return gateway_send_error(conn, 500, "internal_error", "", "cannot render metrics");
    vc_resources_t r;
    vc_resource_sample(gw->sampler, &r);
    json_t *dets = detector_snapshots(gw);
    text_t t = {0};
    put(&t, "%s", own);
    render_gateway_gauges(&t, gw, &r);
    put(&t, "vc_detectors_live %zu\n", json_array_size(dets));
    render_detectors(&t, dets);
    json_decref(dets);
    json_t *sups = supervisor_snapshots(gw);
    render_fields(&t, sups, sup_fields, sizeof(sup_fields) / sizeof(sup_fields[0]));
    json_decref(sups);
    free(own);
    int rc = t.failed ? gateway_send_error(conn, 500, "internal_error", "", "metrics too large")
                      : gateway_send(conn, 200, "text/plain; version=0.0.4", "", t.buf, t.len);
    free(t.buf);
    return rc;
}

static json_t *resources_json(const vc_resources_t *r, double warn)
{
    return json_pack("{s:{s:f, s:f, s:i}, s:{s:I, s:I, s:I, s:f}, s:{s:I, s:I, s:f}, s:b}",
                     "cpu", "process_percent", r->process_cpu_percent, "system_percent",
                     r->system_cpu_percent, "cores", r->cores, "memory", "rss_bytes",
                     (json_int_t)r->rss_bytes, "total_bytes", (json_int_t)r->mem_total_bytes,
                     "available_bytes", (json_int_t)r->mem_available_bytes, "used_percent",
                     r->mem_used_percent, "disk", "total_bytes", (json_int_t)r->disk_total_bytes,
                     "free_bytes", (json_int_t)r->disk_free_bytes, "used_percent",
                     r->disk_used_percent, "warning", vc_resources_warn(r, warn));
}

json_t *gateway_resources_json(gateway_t *gw)
{
    vc_resources_t r;
    vc_resource_sample(gw->sampler, &r);
    return resources_json(&r, (double)gw->cfg.resource_warn_percent);
}

static json_t *requests_json(gateway_t *gw)
{
    json_t *by_code = json_object();
    unsigned long long total = 0;
    for (int code = 100; code < 600; code++) {
        unsigned long long n = atomic_load(&gw->responses[code - 100]);
        if (n == 0)
            continue;
        char k[8];
        snprintf(k, sizeof(k), "%d", code);
        json_object_set_new(by_code, k, json_integer((json_int_t)n));
        total += n;
    }
    return json_pack("{s:I, s:o, s:I, s:I}", "total", (json_int_t)total, "by_status", by_code,
                     "inflight", (json_int_t)vc_sem_in_use(gw->inflight), "inflight_bytes",
                     (json_int_t)atomic_load(&gw->inflight_bytes));
}

int gateway_handle_metrics_json(struct mg_connection *conn, void *arg)
{
    gateway_t *gw = arg;
    int refused = gateway_only_get(conn);
    if (refused == 0)
        refused = gateway_ops_guard(gw, conn); /* METRICS_TOKEN, when configured */
    if (refused != 0)
        return refused;
    char ts[32];
    vc_clock_format_rfc3339(vc_clock_wall_ms(), ts, sizeof(ts));
    const vc_histogram_t *h = gw->m_submit_latency;
    json_t *o = json_pack(
        "{s:s, s:s, s:o, s:o, s:{s:{s:f, s:f, s:f, s:I}}, s:{s:i, s:I, s:I}, s:o}", "timestamp",
        ts, "service", "gateway", "resources", gateway_resources_json(gw), "requests",
        requests_json(gw), "latency_seconds", "submit", "p50", vc_histogram_quantile(h, 0.5),
        "p95", vc_histogram_quantile(h, 0.95), "p99", vc_histogram_quantile(h, 0.99), "count",
        (json_int_t)vc_histogram_count(h), "pools", "kafka_queue",
        vc_producer_queue_len(gw->producer), "longpoll_waiters",
        (json_int_t)waiters_count(gw->waiters), "max_concurrent",
        (json_int_t)gw->cfg.max_concurrent, "detectors", detector_snapshots(gw));
    if (o == NULL)
        return gateway_send_error(conn, 500, "internal_error", "", "out of memory");
    vc_pool_stats_t rs, ps;
    vc_redis_pool_stats(gw->redis, &rs);
    vc_pg_pool_stats(gw->pg, &ps);
    json_object_set_new(o, "detector_supervisors", supervisor_snapshots(gw));
    json_object_set_new(o, "rate_limiter", ratelimit_json(gw));
    json_t *pools = json_object_get(o, "pools");
    json_object_set_new(pools, "redis", pool_json(&rs));
    json_object_set_new(pools, "postgres", pool_json(&ps));
    int rc = gateway_send_json(conn, 200, "", o);
    json_decref(o);
    return rc;
}
