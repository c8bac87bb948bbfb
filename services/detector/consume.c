/* The detector's main-thread loop: the only place that touches the consumer and the offset
 * tracker. Pool threads hand finished jobs back through d->done. */
#include <stdlib.h>
#include <string.h>

#include "detector.h"
#include "vc/clock.h"
#include "vc/error.h"

volatile sig_atomic_t detector_stopping = 0;

static void retire(detector_t *d, job_t *job);

/* In-flight messages of the partitions in parts. */
static size_t revoked_inflight(detector_t *d, const rd_kafka_topic_partition_list_t *parts)
{
    size_t n = 0;
    for (int i = 0; i < parts->cnt; i++)
        n += vc_offtrack_partition_inflight(d->track, parts->elems[i].partition);
    return n;
}

/* Partition p's generation slot, grown on demand (partition numbers are small and dense).
 * NULL only when memory runs out. */
static uint64_t *gen_slot(detector_t *d, int32_t p)
{
    if (p < 0)
        return NULL;
    if (p >= d->part_gen_cap) {
        int cap = d->part_gen_cap ? d->part_gen_cap : 64;
        while (cap <= p)
            cap *= 2;
        uint64_t *g = realloc(d->part_gen, (size_t)cap * sizeof(*g));
        if (g == NULL)
            return NULL;
        memset(g + d->part_gen_cap, 0, (size_t)(cap - d->part_gen_cap) * sizeof(*g));
        d->part_gen = g;
        d->part_gen_cap = cap;
    }
    return &d->part_gen[p];
}

uint64_t detector_partition_generation(detector_t *d, int32_t p)
{
    uint64_t *g = gen_slot(d, p);
    return g != NULL ? *g : 0;
}

/* What runs from before this change no longer moves these partitions' offsets. */
static void new_generation(detector_t *d, const rd_kafka_topic_partition_list_t *parts)
{
    for (int i = 0; i < parts->cnt; i++) {
        vc_offtrack_forget(d->track, parts->elems[i].partition);
        uint64_t *g = gen_slot(d, parts->elems[i].partition);
        if (g != NULL)
            ++*g;
    }
}

/* Before giving partitions up, let their running work finish (bounded well below the session
 * timeout) and commit it, so the next owner does not redo finished work. The partitions that
 * stay (cooperative protocol) keep being served meanwhile: their jobs retire too. */
static void finish_revoked(detector_t *d, const rd_kafka_topic_partition_list_t *parts)
{
    int64_t deadline = vc_clock_mono_ms() + d->cfg.revoke_grace_ms;
    size_t left = revoked_inflight(d, parts);
    while (left > 0 && vc_clock_mono_ms() < deadline) {
        void *item = NULL;
        if (vc_queue_pop(d->done, &item, 100) == 0)
            retire(d, item);
        left = revoked_inflight(d, parts);
    }
    vc_consumer_commit(d->consumer);
    if (left > 0)
        VC_WARN("kafka.revoke_unfinished", "inflight=%zu", left);
}

/* @locality: main thread (called from inside vc_consumer_poll). */
void detector_on_rebalance(void *opaque, vc_rebalance_t event,
                           const rd_kafka_topic_partition_list_t *parts)
{
    detector_t *d = opaque;
    d->joined = 1;
    if (event == VC_REBALANCE_ASSIGNED) {
        new_generation(d, parts);
        /* Only pausing: resume() on a fresh assignment may start fetching from the last
         * position handed to this process rather than the committed offset
         * (confluentinc/librdkafka#2557), past messages nobody finished. The pause flag a
         * partition keeps across a revoke (#1849) is cleared when it is revoked, below. */
        if (d->paused)
            vc_consumer_pause_all(d->consumer, 1);
    } else {
        /* A lost assignment is someone else's already: its offsets are not ours to commit. */
        if (event == VC_REBALANCE_REVOKED)
            finish_revoked(d, parts);
        /* Work still running past the grace may finish, but its offsets are no longer ours
         * to store (retire checks the generation); its effect is idempotent, so the new owner
         * may safely redo it. */
        new_generation(d, parts);
        /* Still our assignment here: resume it so no pause flag survives into the next one
         * (with the cooperative protocol, back-pressure pauses the partitions we keep again
         * at the next turn of the loop if the work in flight still calls for it). */
        if (d->paused && vc_consumer_pause_all(d->consumer, 0) == 0)
            d->paused = 0;
    }
    int n = vc_consumer_assigned(d->consumer);
    d->partitions = event == VC_REBALANCE_ASSIGNED ? (n >= 0 ? n : parts->cnt)
                                                  : (n >= parts->cnt ? n - parts->cnt : 0);
}

static void retire(detector_t *d, job_t *job)
{
    rd_kafka_message_t *m = job->msg;
    d->inflight_bytes -= m->len;
    if (job->generation != detector_partition_generation(d, m->partition)) {
        /* Dispatched before a rebalance: its partition's run was forgotten, and the offset
         * may be tracked again for a redelivery that has not finished. */
        VC_DEBUG("job.stale_generation", "partition=%d offset=%lld", (int)m->partition,
                 (long long)m->offset);
    } else if (job->committable) {
        int64_t next = vc_offtrack_done(d->track, m->partition, m->offset);
        if (next >= 0)
            vc_consumer_store(d->consumer, m->partition, next);
    } else {
        /* Not durable (stopping mid-retry): leave the offset unstored so the group redelivers
         * it. Forget the partition's run, or every later message would wait behind it. */
        VC_WARN("job.abandoned", "partition=%d offset=%lld", (int)m->partition,
                (long long)m->offset);
        vc_offtrack_forget(d->track, m->partition);
    }
    rd_kafka_message_destroy(m);
    free(job);
}

static void drain_done(detector_t *d, int64_t timeout_ms)
{
    void *item = NULL;
    while (vc_queue_pop(d->done, &item, timeout_ms) == 0) {
        retire(d, item);
        timeout_ms = 0;
    }
}

/* Pauses every partition when in-flight messages or bytes reach their limit and resumes at
 * half of both, so memory stays bounded however fast producers are. Resuming costs a fetch
 * round trip, hence the hysteresis. */
static void apply_backpressure(detector_t *d)
{
    size_t inflight = vc_offtrack_inflight(d->track);
    size_t bytes = d->inflight_bytes;
    size_t max = (size_t)d->cfg.max_inflight, max_bytes = (size_t)d->cfg.max_inflight_bytes;
    if (!d->paused && (inflight >= max || bytes >= max_bytes)) {
        if (vc_consumer_pause_all(d->consumer, 1) == 0)
            d->paused = 1;
        VC_DEBUG("consumer.paused", "inflight=%zu", inflight);
    } else if (d->paused && inflight <= max / 2 && bytes <= max_bytes / 2) {
        if (vc_consumer_pause_all(d->consumer, 0) == 0)
            d->paused = 0;
        VC_DEBUG("consumer.resumed", "inflight=%zu", inflight);
    }
}

static void dispatch(detector_t *d, rd_kafka_message_t *m)
{
    if (vc_offtrack_begin(d->track, m->partition, m->offset) != 0) {
        /* Redelivery from an older position after a rebalance: restart tracking there. */
        vc_offtrack_forget(d->track, m->partition);
        if (vc_offtrack_begin(d->track, m->partition, m->offset) != 0) {
            VC_ERROR("consumer.track", "partition=%d offset=%lld", (int)m->partition,
                     (long long)m->offset);
            rd_kafka_message_destroy(m);
            return;
        }
    }
    job_t *job = calloc(1, sizeof(*job));
    if (job == NULL) {
        vc_offtrack_forget(d->track, m->partition);
        rd_kafka_message_destroy(m);
        return;
    }
    vc_counter_add(d->m_consumed, 1);
    job->d = d;
    job->msg = m;
    job->generation = detector_partition_generation(d, job->msg->partition);
    d->inflight_bytes += m->len;
    /* Pausing keeps the pool queue below capacity; blocking here is only a safety net. */
    if (vc_threadpool_submit(d->pool, detector_job_run, job, -1) != 0) {
        d->inflight_bytes -= m->len;
        vc_offtrack_forget(d->track, m->partition);
        rd_kafka_message_destroy(m);
        free(job);
    }
}

/* A fatal producer never delivers again (results, dead letters), and a fatal consumer (e.g. a
 * static member fenced by another process with its group.instance.id) never fetches again:
 * stop consuming and drain like SIGTERM, so only offsets of work made durable before it are
 * committed, then exit 1 for the supervisor to start a fresh worker. Returns 1 when fatal. */
static int producer_fatal(detector_t *d)
{
    char why[256];
    const char *who = "producer";
    if (!vc_producer_fatal(d->producer, why, sizeof(why))) {
        if (vc_consumer_health(d->consumer, why, sizeof(why)) != VC_ECLOSED)
            return 0;
        who = "consumer";
    }
    VC_ERROR("detector.kafka_fatal", "instance=%s msg=\"kafka %s fatal error: %s; "
             "exiting so the supervisor restarts the worker\"", d->cfg.instance_id, who, why);
    d->kafka_fatal = 1;
    detector_stopping = 1;
    return 1;
}

void detector_consume_loop(detector_t *d)
{
    while (!detector_stopping && !producer_fatal(d)) {
        drain_done(d, 0);
        apply_backpressure(d);
        detector_publish_metrics(d);
        rd_kafka_message_t *m = vc_consumer_poll(d->consumer, 100);
        if (m != NULL)
            dispatch(d, m);
    }
    VC_INFO("detector.draining", "inflight=%zu", vc_offtrack_inflight(d->track));
    /* Runs every queued job, then lets the writer make their results durable (one attempt
     * each once stopping is set: what fails is redelivered to the group). */
    vc_threadpool_shutdown(d->pool);
    detector_sink_free(d->sink);
    d->sink = NULL;
    drain_done(d, 0);
}
