/* The detector's metric snapshot: every second the main thread writes a JSON object to Redis
 * `vc:metrics:detector:{instance}` with a short TTL, so the gateway's /metrics can show every
 * live detector and a dead one drops out by itself. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "detector.h"
#include "vc/clock.h"
#include "vc/error.h"
#include "vc/resources.h"
#include "vc/snapshots.h"
#include <unistd.h>

#define SNAPSHOT_TTL_S 10

static json_t *latency_json(const vc_histogram_t *h)
{
    return json_pack("{s:f, s:f, s:f, s:I, s:f}", "p50", vc_histogram_quantile(h, 0.5), "p95",
                     vc_histogram_quantile(h, 0.95), "p99", vc_histogram_quantile(h, 0.99), "count",
                     (json_int_t)vc_histogram_count(h), "sum", vc_histogram_sum(h));
}

#define LAG_MAX_PARTITIONS 256

/* Adds "lag" ({partition: messages not yet consumed}, known partitions only) and "lag_total"
 * for autoscalers; -1 means not known yet (no fetch answered). */
static void add_lag(detector_t *d, json_t *o)
{
    int32_t parts[LAG_MAX_PARTITIONS];
    int64_t lags[LAG_MAX_PARTITIONS];
    int n = vc_consumer_lag(d->consumer, parts, lags, LAG_MAX_PARTITIONS);
    json_t *per = json_object();
    int64_t total = 0;
    for (int i = 0; i < n && i < LAG_MAX_PARTITIONS; i++) {
        char k[16];
        snprintf(k, sizeof(k), "%d", (int)parts[i]);
        json_object_set_new(per, k, json_integer((json_int_t)lags[i]));
        total += lags[i] > 0 ? lags[i] : 0;
    }
    json_object_set_new(o, "lag", per);
    json_object_set_new(o, "lag_total", json_integer((json_int_t)total));
}

/* Adds "kafka_ok" and, when not ok, "kafka_error": why this worker cannot do its work
 * (the consumer is not authorised or authenticated, its topic does not exist, or the producer
 * is fatal or not authenticated). A worker with an error does not count as joined. */
static void add_kafka(detector_t *d, json_t *o)
{
    char why[300];
    int bad = vc_consumer_health(d->consumer, why, sizeof(why)) != 0 ||
              vc_producer_health(d->producer, why, sizeof(why)) != 0;
    json_object_set_new(o, "kafka_ok", json_boolean(!bad));
    if (bad)
        json_object_set_new(o, "kafka_error", json_string(why));
}

static json_t *snapshot(detector_t *d)
{
    vc_resources_t r;
    vc_resource_sample(d->sampler, &r);
    json_t *o = json_pack(
        "{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:I, s:I, s:f, s:I}", "service",
        "detector", "instance", d->cfg.instance_id, "ts", (json_int_t)vc_clock_wall_ms(),
        "consumed", (json_int_t)vc_counter_value(d->m_consumed), "completed",
        (json_int_t)vc_counter_value(d->m_completed), "failed",
        (json_int_t)vc_counter_value(d->m_failed), "dead_letters",
        (json_int_t)vc_counter_value(d->m_dlq), "store_retries",
        (json_int_t)vc_counter_value(d->m_store_retries), "inflight",
        (json_int_t)vc_offtrack_inflight(d->track), "inflight_bytes", (json_int_t)d->inflight_bytes,
        "paused", d->paused, "threads", (json_int_t)d->cfg.threads, "queued",
        (json_int_t)vc_threadpool_queued(d->pool), "cpu_percent", r.process_cpu_percent,
        "rss_bytes", (json_int_t)r.rss_bytes);
    if (o != NULL) {
        json_object_set_new(o, "latency_seconds", latency_json(d->m_latency));
        json_object_set_new(o, "writer_pending",
                            json_integer((json_int_t)detector_sink_pending(d->sink)));
        json_object_set_new(o, "result_batches",
                            json_integer((json_int_t)vc_counter_value(d->m_batches)));
        json_object_set_new(o, "result_writes_refused",
                            json_integer((json_int_t)vc_counter_value(d->m_refused)));
        json_object_set_new(o, "result_replays",
                            json_integer((json_int_t)vc_counter_value(d->m_replays)));
        add_lag(d, o);
        add_kafka(d, o);
    }
    return o;
}

/* Age in ms of the oldest analysis running on a pool thread (0 when none). */
static int64_t oldest_analysis_ms(detector_t *d)
{
    int64_t now = vc_clock_mono_ms(), oldest = 0;
    for (long long i = 0; i < d->cfg.threads; i++) {
        int64_t t = atomic_load(&d->analysing_since[i]);
        if (t > 0 && now - t > oldest)
            oldest = now - t;
    }
    return oldest;
}

/* Sends the snapshot, plus what only the supervisor needs, over the status socket. A full
 * socket drops the beat (the supervisor only wants the latest); a closed one means the
 * supervisor is gone, so the worker stops. */
static void send_status(detector_t *d, json_t *o)
{
    if (d->cfg.status_fd < 0)
        return;
    json_t *s = json_deep_copy(o);
    if (s == NULL)
        return;
    json_object_set_new(s, "worker", json_integer(d->cfg.worker_index));
    json_object_set_new(s, "pid", json_integer((json_int_t)getpid()));
    /* Assigned by the group but unable to consume (e.g. its topic is missing or forbidden):
     * not joined as far as health is concerned. */
    json_object_set_new(s, "joined",
                        json_boolean(d->joined && json_is_true(json_object_get(o, "kafka_ok"))));
    json_object_set_new(s, "partitions", json_integer(d->partitions));
    json_object_set_new(s, "oldest_analysis_ms", json_integer(oldest_analysis_ms(d)));
    json_object_set_new(s, "crash_dead_letters",
                        json_integer((json_int_t)vc_counter_value(d->m_crash_dlq)));
    json_object_set_new(s, "deadline_exceeded",
                        json_integer((json_int_t)vc_counter_value(d->m_deadline)));
    char *text = json_dumps(s, JSON_COMPACT | JSON_REAL_PRECISION(6));
    json_decref(s);
    if (text == NULL)
        return;
    ssize_t n = send(d->cfg.status_fd, text, strlen(text), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN)) {
        VC_WARN("detector.supervisor_gone", "instance=%s", d->cfg.instance_id);
        detector_stopping = 1;
    }
    free(text);
}

void detector_publish_metrics(detector_t *d)
{
    int64_t now = vc_clock_mono_ms();
    if (now - d->metrics_published_ms < 1000)
        return;
    d->metrics_published_ms = now;
    json_t *o = snapshot(d);
    if (o != NULL)
        send_status(d, o);
    char *text = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
    json_decref(o);
    if (text == NULL)
        return;
    char err[200];
    /* Best effort: a missed snapshot only makes a dashboard a second staler. Behind the Redis
     * breaker, so an outage does not stall this (the consuming) thread for a dial timeout
     * every second. */
    if (vc_breaker_allow(d->redis_breaker) == 0) {
        int rc = vc_snapshot_publish(d->redis, "detector", d->cfg.instance_id, text,
                                     strlen(text), SNAPSHOT_TTL_S, err, sizeof(err));
        vc_breaker_record(d->redis_breaker, rc == 0);
    }
    free(text);
}
