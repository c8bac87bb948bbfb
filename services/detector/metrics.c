/* The detector's metric snapshot: every second the main thread writes a JSON object to Redis
 * `vc:metrics:detector:{instance}` with a short TTL, so the gateway's /metrics can show every
 * live detector and a dead one drops out by itself. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "detector.h"
#include "vc/clock.h"
#include "vc/error.h"
#include "vc/resources.h"

#define SNAPSHOT_TTL_S "10"

static json_t *latency_json(const vc_histogram_t *h)
{
    return json_pack("{s:f, s:f, s:f, s:I, s:f}", "p50", vc_histogram_quantile(h, 0.5), "p95",
                     vc_histogram_quantile(h, 0.95), "p99", vc_histogram_quantile(h, 0.99),
                     "count", (json_int_t)vc_histogram_count(h), "sum",
                     vc_histogram_sum(h));
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
        (json_int_t)vc_offtrack_inflight(d->track), "inflight_bytes",
        (json_int_t)d->inflight_bytes, "paused", d->paused, "threads",
        (json_int_t)d->cfg.threads, "queued", (json_int_t)vc_threadpool_queued(d->pool),
        "cpu_percent", r.process_cpu_percent, "rss_bytes", (json_int_t)r.rss_bytes);
    if (o != NULL)
        json_object_set_new(o, "latency_seconds", latency_json(d->m_latency));
    return o;
}

void detector_publish_metrics(detector_t *d)
{
    int64_t now = vc_clock_mono_ms();
    if (now - d->metrics_published_ms < 1000)
        return;
    d->metrics_published_ms = now;
    json_t *o = snapshot(d);
    char *text = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
    json_decref(o);
    if (text == NULL)
        return;
    char key[128];
    snprintf(key, sizeof(key), "vc:metrics:detector:%s", d->cfg.instance_id);
    const char *argv[] = {"SET", key, text, "EX", SNAPSHOT_TTL_S};
    redisReply *r = NULL;
    char err[200];
    /* Best effort: a missed snapshot only makes a dashboard a second staler. */
    if (vc_redis_command(d->redis, 5, argv, NULL, &r, err, sizeof(err)) == 0)
        freeReplyObject(r);
    free(text);
}
