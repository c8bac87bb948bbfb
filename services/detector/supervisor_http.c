/* The supervisor's optional HTTP port (DETECTOR_HTTP_PORT, DETECTOR_HTTP_HOST=127.0.0.1):
 *   GET /health       readiness: every worker alive and in the group, Redis and PostgreSQL
 *                     answering, resource use with the RESOURCE_WARN_PERCENT warning;
 *                     200 ok/degraded, 503 down (no worker in the group).
 *   GET /health/live  liveness: 200 while the supervisor serves.
 *   GET /metrics      Prometheus text: the supervisor's counters and every worker's figures
 *                     from its last status beat (label worker="N").
 * @locality: civetweb threads; they read the supervisor's state under s->lock only. */
#include <civetweb.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "supervisor.h"
#include "vc/clock.h"
#include "vc/error.h"

#define JOINED_FRESH_MS 15000 /* a beat older than this does not prove group membership */

static int send_text(struct mg_connection *conn, int status, const char *ctype,
                     const char *body, size_t len)
{
    mg_printf(conn,
              "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
              "Cache-Control: no-store\r\n\r\n",
              status, mg_get_response_code_text(conn, status), ctype, len);
    mg_write(conn, body, len);
    return status;
}

static int send_json(struct mg_connection *conn, int status, json_t *o)
{
    char *text = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(9)) : NULL;
    int rc = text != NULL ? send_text(conn, status, "application/json", text, strlen(text))
                          : send_text(conn, 500, "application/json", "{}", 2);
    free(text);
    return rc;
}

/* Adds {ok, latency_ms, error?} under name; returns whether the check passed. */
static int add_check(json_t *checks, const char *name, int rc, int64_t t0, const char *err)
{
    json_t *o = json_pack("{s:b, s:f}", "ok", rc == 0, "latency_ms",
                          (double)(vc_clock_mono_ns() - t0) / 1e6);
    if (rc != 0)
        json_object_set_new(o, "error", json_string(err[0] ? err : vc_strerror(rc)));
    json_object_set_new(checks, name, o);
    return rc == 0;
}

/* The workers' state as JSON; sets *alive, *joined and *rss (sum of the workers' RSS), and
 * copies the first Kafka error a live worker reports into reason (left as is when none). */
static json_t *workers_json(supervisor_t *s, int *alive, int *joined, long long *rss,
                            char *reason, size_t reason_len)
{
    json_t *arr = json_array();
    int64_t now = vc_clock_mono_ms();
    *alive = *joined = 0;
    *rss = 0;
    pthread_mutex_lock(&s->lock);
    for (long long i = 0; i < s->cfg.processes; i++) {
        const sup_worker_t *w = &s->workers[i];
        int fresh = w->last_status_ms > 0 && now - w->last_status_ms < JOINED_FRESH_MS;
        int in_group = w->pid > 0 && fresh && w->joined;
        *alive += w->pid > 0;
        *joined += in_group;
        json_t *st = w->status != NULL ? json_loads(w->status, 0, NULL) : NULL;
        json_int_t w_rss = json_integer_value(json_object_get(st, "rss_bytes"));
        *rss += w->pid > 0 ? (long long)w_rss : 0;
        json_array_append_new(
            arr, json_pack("{s:i, s:I, s:b, s:b, s:i, s:I, s:I, s:i}", "index", w->index,
                           "pid", (json_int_t)w->pid, "alive", w->pid > 0, "joined", in_group,
                           "partitions", w->partitions, "last_beat_ms_ago",
                           (json_int_t)(w->last_status_ms > 0 ? now - w->last_status_ms : -1),
                           "rss_bytes", w_rss, "consecutive_crashes",
                           w->consecutive_crashes));
        const char *kerr = json_string_value(json_object_get(st, "kafka_error"));
        if (kerr != NULL && w->pid > 0) {
            json_object_set_new(json_array_get(arr, json_array_size(arr) - 1), "kafka_error",
                                json_string(kerr));
            if (reason[0] == '\0')
                snprintf(reason, reason_len, "worker %d: %s", w->index, kerr);
        }
        json_decref(st);
    }
    pthread_mutex_unlock(&s->lock);
    return arr;
}

static json_t *resources_json(supervisor_t *s, long long workers_rss)
{
    vc_resources_t r;
    vc_resource_sample(s->sampler, &r);
    return json_pack("{s:f, s:f, s:i, s:I, s:I, s:f, s:f, s:b}", "process_cpu_percent",
                     r.process_cpu_percent, "system_cpu_percent", r.system_cpu_percent, "cores",
                     r.cores, "supervisor_rss_bytes", (json_int_t)r.rss_bytes,
                     "workers_rss_bytes", (json_int_t)workers_rss, "memory_used_percent",
                     r.mem_used_percent, "disk_used_percent", r.disk_used_percent, "warning",
                     vc_resources_warn(&r, (double)s->cfg.warn_percent));
}

static int handle_health(struct mg_connection *conn, void *arg)
{
    supervisor_t *s = arg;
    int alive = 0, joined = 0;
    long long rss = 0;
    char reason[400] = "";
    json_t *workers = workers_json(s, &alive, &joined, &rss, reason, sizeof(reason));
    json_t *checks = json_object();
    char err[512] = "";
    int64_t t0 = vc_clock_mono_ns();
    int redis_ok = add_check(checks, "redis", vc_redis_ping(s->redis, err, sizeof(err)), t0, err);
    err[0] = '\0';
    t0 = vc_clock_mono_ns();
    int pg_ok = add_check(checks, "postgres", vc_pg_ping(s->pg, err, sizeof(err)), t0, err);
    pthread_mutex_lock(&s->lock);
    int target = s->target;
    pthread_mutex_unlock(&s->lock);
    int all = joined >= target;
    /* Stores down: the workers hold their messages and resume by themselves; not a reason
     * for an orchestrator to restart us (degraded, 200). No worker in the group: down. */
    const char *status = joined == 0 ? "down" : (all && redis_ok && pg_ok) ? "ok" : "degraded";
    pthread_mutex_lock(&s->lock);
    json_t *o = json_pack("{s:s, s:b, s:s, s:{s:I, s:I, s:i, s:i, s:i, s:I, s:I, s:I, s:o}, "
                          "s:o, s:o}",
                          "status", status, "ready", all && redis_ok && pg_ok, "instance",
                          s->cfg.instance_id, "workers", "configured",
                          (json_int_t)s->cfg.processes, "min", (json_int_t)s->cfg.min_processes,
                          "target", s->target, "alive", alive, "joined", joined,
                          "crashes", (json_int_t)s->crashes, "restarts",
                          (json_int_t)s->restarts, "stuck_kills", (json_int_t)s->stuck_kills,
                          "list", workers, "checks", checks, "resources",
                          resources_json(s, rss));
    pthread_mutex_unlock(&s->lock);
    /* Why workers are not in the group, when one of them knows (a Kafka error). */
    if (reason[0] != '\0')
        json_object_set_new(o, "reason", json_string(reason));
    int rc = send_json(conn, joined == 0 ? 503 : 200, o);
    json_decref(o);
    return rc;
}

static int handle_live(struct mg_connection *conn, void *arg)
{
    (void)arg;
    return send_text(conn, 200, "application/json", "{\"status\":\"alive\"}", 18);
}

/* One metric family of the workers' beats: snapshot field, Prometheus name, type, help. */
static const struct {
    const char *field, *name, *type, *help;
} FAMILIES[] = {
    {"consumed", "vc_detector_messages_consumed_total", "counter", "Messages taken from the request topic."},
    {"completed", "vc_detector_completed_total", "counter", "Detections completed."},
    {"failed", "vc_detector_failed_total", "counter", "Detections failed."},
    {"dead_letters", "vc_detector_dead_letters_total", "counter", "Messages sent to the dead-letter topic."},
    {"crash_dead_letters", "vc_detector_crash_dead_letters_total", "counter", "Messages dead-lettered after crashing workers."},
    {"deadline_exceeded", "vc_detector_deadline_exceeded_total", "counter", "Detections failed past DETECTION_DEADLINE."},
    {"store_retries", "vc_detector_store_retries_total", "counter", "Retried Redis/PostgreSQL writes."},
    {"inflight", "vc_detector_inflight", "gauge", "Messages in flight (consumed, not retired)."},
    {"inflight_bytes", "vc_detector_inflight_bytes", "gauge", "Payload bytes in flight."},
    {"queued", "vc_detector_queued", "gauge", "Jobs waiting for a pool thread."},
    {"paused", "vc_detector_paused", "gauge", "1 while back-pressure pauses the partitions."},
    {"partitions", "vc_detector_partitions", "gauge", "Partitions assigned."},
    {"lag_total", "vc_detector_lag", "gauge", "Messages of the worker's partitions not yet consumed."},
    {"rss_bytes", "vc_detector_rss_bytes", "gauge", "Resident memory of the worker."},
    {"cpu_percent", "vc_detector_cpu_percent", "gauge", "CPU use of the worker (100 = one core)."},
    {"kafka_ok", "vc_detector_kafka_ok", "gauge", "1 while the worker's Kafka clients report no error (authorisation, unknown topic, authentication, fatal)."},
};

static void render_workers(FILE *f, json_t **beats, size_t n)
{
    for (size_t k = 0; k < sizeof(FAMILIES) / sizeof(FAMILIES[0]); k++) {
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", FAMILIES[k].name, FAMILIES[k].help,
                FAMILIES[k].name, FAMILIES[k].type);
        for (size_t i = 0; i < n; i++) {
            json_t *v = json_object_get(beats[i], FAMILIES[k].field);
            if (json_is_number(v) || json_is_boolean(v))
                fprintf(f, "%s{worker=\"%zu\"} %.17g\n", FAMILIES[k].name, i + 1,
                        json_is_boolean(v) ? (double)json_is_true(v) : json_number_value(v));
        }
    }
    fprintf(f, "# HELP vc_detector_partition_lag Messages of a partition not yet consumed.\n"
               "# TYPE vc_detector_partition_lag gauge\n");
    for (size_t i = 0; i < n; i++) {
        const char *part = NULL;
        json_t *v = NULL;
        json_object_foreach(json_object_get(beats[i], "lag"), part, v)
        {
            if (json_integer_value(v) >= 0)
                fprintf(f, "vc_detector_partition_lag{worker=\"%zu\",partition=\"%s\"} %lld\n",
                        i + 1, part, (long long)json_integer_value(v));
        }
    }
    static const char *const qs[] = {"p50", "0.5", "p95", "0.95", "p99", "0.99"};
    fprintf(f, "# HELP vc_detector_detection_seconds Processing time of one detection.\n"
               "# TYPE vc_detector_detection_seconds summary\n");
    for (size_t i = 0; i < n; i++) {
        json_t *lat = json_object_get(beats[i], "latency_seconds");
        if (lat == NULL)
            continue;
        for (int q = 0; q < 3; q++)
            fprintf(f, "vc_detector_detection_seconds{worker=\"%zu\",quantile=\"%s\"} %.9g\n",
                    i + 1, qs[2 * q + 1], json_number_value(json_object_get(lat, qs[2 * q])));
        fprintf(f, "vc_detector_detection_seconds_sum{worker=\"%zu\"} %.9g\n", i + 1,
                json_number_value(json_object_get(lat, "sum")));
        fprintf(f, "vc_detector_detection_seconds_count{worker=\"%zu\"} %lld\n", i + 1,
                (long long)json_integer_value(json_object_get(lat, "count")));
    }
}

static int handle_metrics(struct mg_connection *conn, void *arg)
{
    supervisor_t *s = arg;
    size_t n = (size_t)s->cfg.processes;
    json_t **beats = calloc(n, sizeof(*beats));
    char *text = NULL;
    size_t len = 0;
    FILE *f = beats != NULL ? open_memstream(&text, &len) : NULL;
    if (f == NULL) {
        free(beats);
        return send_text(conn, 500, "text/plain", "out of memory\n", 14);
    }
    int alive = 0;
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < n; i++) {
        alive += s->workers[i].pid > 0;
        if (s->workers[i].pid > 0 && s->workers[i].status != NULL)
            beats[i] = json_loads(s->workers[i].status, 0, NULL);
    }
    fprintf(f,
            "# HELP vc_detector_workers Worker processes configured and alive.\n"
            "# TYPE vc_detector_workers gauge\n"
            "vc_detector_workers{state=\"configured\"} %lld\n"
            "vc_detector_workers{state=\"min\"} %lld\n"
            "vc_detector_workers{state=\"target\"} %d\n"
            "vc_detector_workers{state=\"alive\"} %d\n"
            "# HELP vc_detector_scale_events_total Workers started or parked by the autoscaler.\n"
            "# TYPE vc_detector_scale_events_total counter\n"
            "vc_detector_scale_events_total{direction=\"up\"} %llu\n"
            "vc_detector_scale_events_total{direction=\"down\"} %llu\n"
            "# HELP vc_detector_worker_crashes_total Workers that died by a signal or a non-zero exit.\n"
            "# TYPE vc_detector_worker_crashes_total counter\n"
            "vc_detector_worker_crashes_total %llu\n"
            "# HELP vc_detector_worker_restarts_total Workers started again after dying.\n"
            "# TYPE vc_detector_worker_restarts_total counter\n"
            "vc_detector_worker_restarts_total %llu\n"
            "# HELP vc_detector_worker_stuck_kills_total Workers killed for a stuck analysis.\n"
            "# TYPE vc_detector_worker_stuck_kills_total counter\n"
            "vc_detector_worker_stuck_kills_total %llu\n",
            s->cfg.processes, s->cfg.min_processes, s->target, alive,
            (unsigned long long)s->scale_ups, (unsigned long long)s->scale_downs,
            (unsigned long long)s->crashes,
            (unsigned long long)s->restarts, (unsigned long long)s->stuck_kills);
    pthread_mutex_unlock(&s->lock);
    render_workers(f, beats, n);
    for (size_t i = 0; i < n; i++)
        json_decref(beats[i]);
    free(beats);
    int ok = fclose(f) == 0;
    int rc = ok ? send_text(conn, 200, "text/plain; version=0.0.4", text, len)
                : send_text(conn, 500, "text/plain", "render failed\n", 14);
    free(text);
    return rc;
}

int supervisor_http_start(supervisor_t *s, char *err, size_t errlen)
{
    vc_redis_opts_t ro = s->cfg.redis;
    vc_pg_opts_t po = s->cfg.pg;
    ro.size = 2;
    po.size = 2;
    int rc = vc_redis_pool_new(&ro, &s->redis, err, errlen);
    if (rc == 0)
        rc = vc_pg_pool_new(&po, &s->pg, err, errlen);
    if (rc != 0)
        return rc;
    char ports[300];
    snprintf(ports, sizeof(ports), "%s:%lld", s->cfg.http_host, s->cfg.http_port);
    const char *options[] = {"listening_ports", ports, "num_threads", "4", "request_timeout_ms",
                             "10000", NULL};
    struct mg_callbacks cb;
    memset(&cb, 0, sizeof(cb));
    s->http = mg_start(&cb, s, options);
    if (s->http == NULL)
        return vc_err(err, errlen, VC_EUNAVAIL, "DETECTOR_HTTP_PORT: cannot listen on %s", ports);
    mg_set_request_handler(s->http, "/health$", handle_health, s);
    mg_set_request_handler(s->http, "/health/live$", handle_live, s);
    mg_set_request_handler(s->http, "/metrics$", handle_metrics, s);
    return 0;
}

void supervisor_http_stop(supervisor_t *s)
{
    if (s->http != NULL)
        mg_stop(s->http);
    s->http = NULL;
    vc_pg_pool_free(s->pg);
    vc_redis_pool_free(s->redis);
    s->pg = NULL;
    s->redis = NULL;
}
