/* The result sink: one writer thread per worker process makes finished results durable in
 * batches. Pool threads hand over each result and go on analysing; the writer takes up to
 * DETECTOR_DB_BATCH_ROWS results (waiting at most DETECTOR_DB_BATCH_MS for more after the
 * first), writes them to PostgreSQL in one transaction, to Redis (SET + PUBLISH) in one
 * pipelined round trip and to the results topic with one delivery wait (sink_write.c), then
 * releases their jobs. Only then may the main thread store the offsets: a result is durable
 * (or its message dead-lettered) before its message counts as done. PostgreSQL decides which
 * result is final (the first); Redis and the topic get that one, so a replay repeats the
 * original record instead of contradicting it. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink_internal.h"
#include "vc/clock.h"
#include "vc/error.h"

void detector_job_release(job_t *job, int ok)
{
    if (!ok)
        atomic_store(&job->failed, 1);
    if (atomic_fetch_sub(&job->refs, 1) != 1)
        return;
    job->committable = !atomic_load(&job->failed);
    /* The done queue is sized for every job that can be in flight: this never blocks long. */
    vc_queue_push(job->d->done, job, -1);
}

static void finish(detector_t *d, sink_item_t *it, int ok)
{
    if (ok && it->dead_stage != NULL)
        ok = detector_send_dlq(it->job, it->dead_stage, it->dead_reason, it->dead_attempts) == 0;
    else if (ok && it->dlq_reason[0] != '\0')
        ok = detector_send_dlq(it->job, "analyse", it->dlq_reason, 1) == 0;
    if (ok && it->dead_stage == NULL && !it->row.won)
        vc_counter_add(d->m_replays, 1);
    if (ok) {
        vc_counter_add(it->res.status == VC_STATUS_COMPLETED ? d->m_completed : d->m_failed, 1);
        vc_histogram_observe(d->m_latency, (double)(vc_clock_mono_ns() - it->t0_ns) / 1e9);
        VC_DEBUG("job.done", "id=%s trace=%s status=%s", it->res.id, it->res.trace_id,
                 vc_status_name(it->res.status));
    }
    detector_job_release(it->job, ok);
    free(it->row.stored);
    free(it->blob);
    free(it);
}

static void write_batch(detector_sink_t *s, sink_item_t **items, size_t n)
{
    int rc = sink_write_pg(s, items, n);
    if (rc == 0)
        rc = sink_write_redis(s, items, n);
    if (rc == 0)
        rc = sink_publish(s, items, n);
    if (rc == 0)
        vc_counter_add(s->d->m_batches, 1);
    for (size_t i = 0; i < n; i++)
        finish(s->d, items[i], rc == 0);
}

static void *sink_main(void *arg)
{
    detector_sink_t *s = arg;
    sink_item_t **batch = s->batch;
    for (;;) {
        void *item = NULL;
        if (vc_queue_pop(s->q, &item, -1) != 0)
            return NULL; /* closed and empty */
        size_t n = 0;
        batch[n++] = item;
        int64_t until = vc_clock_mono_ms() + s->max_wait_ms;
        while (n < s->max_rows) {
            int64_t left = until - vc_clock_mono_ms();
            if (vc_queue_pop(s->q, &item, left > 0 ? left : 0) != 0)
                break;
            batch[n++] = item;
        }
        write_batch(s, batch, n);
    }
}

int detector_sink_new(detector_t *d, detector_sink_t **out)
{
    detector_sink_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return VC_ENOMEM;
    s->d = d;
    s->max_rows = (size_t)d->cfg.db_batch_rows;
    s->max_wait_ms = d->cfg.db_batch_ms;
    s->batch = calloc(s->max_rows, sizeof(*s->batch));
    s->active = calloc(s->max_rows, sizeof(*s->active));
    s->suspects = calloc(s->max_rows, sizeof(*s->suspects));
    s->msg_owner = calloc(s->max_rows, sizeof(*s->msg_owner));
    s->rows = calloc(s->max_rows, sizeof(*s->rows));
    s->puts = calloc(s->max_rows, sizeof(*s->puts));
    s->msgs = calloc(s->max_rows, sizeof(*s->msgs));
    /* Room for every result of a full in-flight window; a larger batch envelope just makes its
     * pool thread wait for the writer, which never waits for pool threads. */
    int rc = !s->batch || !s->active || !s->suspects || !s->msg_owner || !s->rows || !s->puts ||
                     !s->msgs
                 ? VC_ENOMEM
                 : vc_queue_new((size_t)d->cfg.max_inflight * 2, &s->q);
    if (rc == 0 && pthread_create(&s->thread, NULL, sink_main, s) != 0)
        rc = VC_ENOMEM;
    s->started = rc == 0;
    if (rc != 0) {
        detector_sink_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int detector_sink_put(detector_sink_t *s, job_t *job, const vc_result_t *res, uint8_t *blob,
                      size_t len, const char *dlq_reason, int64_t t0_ns)
{
    sink_item_t *it = calloc(1, sizeof(*it));
    if (it == NULL) {
        free(blob);
        return VC_ENOMEM;
    }
    it->job = job;
    it->res = *res;
    it->blob = blob;
    it->len = len;
    snprintf(it->dlq_reason, sizeof(it->dlq_reason), "%s", dlq_reason ? dlq_reason : "");
    it->t0_ns = t0_ns;
    atomic_fetch_add(&job->refs, 1);
    int rc = vc_queue_push(s->q, it, -1);
    if (rc != 0) {
        atomic_fetch_sub(&job->refs, 1); /* the caller still holds its own reference */
        free(it->blob);
        free(it);
    }
    return rc;
}

size_t detector_sink_pending(detector_sink_t *s)
{
    return s == NULL ? 0 : vc_queue_len(s->q);
}

void detector_sink_free(detector_sink_t *s)
{
    if (s == NULL)
        return;
    if (s->q != NULL)
        vc_queue_close(s->q); /* the writer finishes what is queued, then returns */
    if (s->started)
        pthread_join(s->thread, NULL);
    vc_queue_free(s->q);
    free(s->batch);
    free(s->active);
    free(s->suspects);
    free(s->msg_owner);
    free(s->rows);
    free(s->puts);
    free(s->msgs);
    free(s);
}
