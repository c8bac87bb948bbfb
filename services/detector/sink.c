/* The result sink: one writer thread per worker process makes finished results durable in
 * batches. Pool threads hand over each result and go on analysing; the writer takes up to
 * DETECTOR_DB_BATCH_ROWS results (waiting at most DETECTOR_DB_BATCH_MS for more after the
 * first), writes them to PostgreSQL in one transaction, to Redis (SET + PUBLISH) in one
 * pipelined round trip and to the results topic with one delivery wait, then releases their
 * jobs. Only then may the main thread store the offsets: a result is durable before its
 * message counts as done. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detector.h"
#include "vc/clock.h"
#include "vc/detections.h"
#include "vc/error.h"
#include "vc/results.h"

typedef struct {
    job_t *job;
    vc_result_t res;
    uint8_t *blob;
    size_t len;
    char dlq_reason[400]; /* "" unless the media failed to decode (dead-lettered too) */
    int64_t t0_ns;        /* when the job began, for the latency histogram */
} sink_item_t;

struct detector_sink {
    detector_t *d;
    vc_queue_t *q; /* sink_item_t*, owned by whoever popped them */
    pthread_t thread;
    int started;
    size_t max_rows;
    int64_t max_wait_ms;
    /* The writer's scratch, max_rows each (writer thread only). */
    sink_item_t **batch;
    vc_detection_row_t *rows;
    vc_results_item_t *puts;
    vc_mq_msg_t *msgs;
};

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

/* Asks a store's circuit breaker for one call. While it is open an attempt costs nothing (no
 * connect timeout): it fails at once and the writer backs off. */
static int breaker_gate(vc_breaker_t *br, const char *store, char *err, size_t errlen)
{
    if (vc_breaker_allow(br) == 0)
        return 0;
    return vc_err(err, errlen, VC_EUNAVAIL, "%s circuit breaker open", store);
}

static int write_pg(detector_sink_t *s, sink_item_t **items, size_t n, char *err, size_t errlen)
{
    detector_t *d = s->d;
    vc_detection_row_t *rows = s->rows;
    for (size_t i = 0; i < n; i++)
        rows[i] = (vc_detection_row_t){&items[i]->res, items[i]->blob, items[i]->len};
    int rc = breaker_gate(d->pg_breaker, "postgres", err, errlen);
    if (rc != 0)
        return rc;
    PGconn *conn = NULL;
    rc = vc_pg_acquire(d->pg, &conn, err, errlen);
    if (rc == 0) {
        rc = vc_detections_upsert_many(conn, rows, n, err, errlen);
        vc_pg_release(d->pg, conn, rc != 0);
    }
    vc_breaker_record(d->pg_breaker, rc == 0);
    return rc;
}

static int write_redis(detector_sink_t *s, sink_item_t **items, size_t n, char *err, size_t errlen)
{
    detector_t *d = s->d;
    vc_results_item_t *puts = s->puts;
    for (size_t i = 0; i < n; i++)
        puts[i] = (vc_results_item_t){items[i]->res.id, items[i]->blob, items[i]->len};
    int rc = breaker_gate(d->redis_breaker, "redis", err, errlen);
    if (rc != 0)
        return rc;
    rc = vc_results_put_many(d->redis, puts, n, d->cfg.result_ttl_s, err, errlen);
    vc_breaker_record(d->redis_breaker, rc == 0);
    return rc;
}

/* PostgreSQL first (the durable record), then Redis (+ notification). Transient failures are
 * retried with backoff; once stopping, one attempt is made and a failure leaves the batch
 * undone (its messages are redelivered to the group). */
static int persist(detector_sink_t *s, sink_item_t **items, size_t n)
{
    detector_t *d = s->d;
    char err[512];
    int pg_done = 0;
    for (int attempt = 0;; attempt++) {
        int rc = pg_done ? 0 : write_pg(s, items, n, err, sizeof(err));
        pg_done = rc == 0;
        if (rc == 0)
            rc = write_redis(s, items, n, err, sizeof(err));
        if (rc == 0)
            return 0;
        vc_counter_add(d->m_store_retries, 1);
        VC_WARN("sink.store_retry", "rows=%zu first=%s attempt=%d error=\"%s\"", n,
                items[0]->res.id, attempt, err);
        if (detector_stopping)
            return VC_ECLOSED;
        detector_backoff(attempt);
    }
}

/* The results topic is part of the contract: every result is published, retried like the
 * stores. Returns 0 when all were acknowledged. */
static int publish(detector_sink_t *s, sink_item_t **items, size_t n)
{
    detector_t *d = s->d;
    static const char ctype[] = "application/msgpack", schema[] = "DetectionResult/1";
    const vc_mq_header_t hdrs[] = {{"content-type", ctype, sizeof(ctype) - 1},
                                   {"schema", schema, sizeof(schema) - 1}};
    vc_mq_msg_t *msgs = s->msgs;
    for (size_t i = 0; i < n; i++) {
        const vc_result_t *r = &items[i]->res;
        msgs[i] = (vc_mq_msg_t){.topic = d->cfg.kafka.topic_results,
                                .key = r->id,
                                .keylen = strlen(r->id),
                                .value = items[i]->blob,
                                .len = items[i]->len,
                                .hdrs = hdrs,
                                .nhdrs = 2};
    }
    size_t todo = n;
    for (int attempt = 0; todo > 0; attempt++) {
        /* Retry only what failed: compact the failures to the front. */
        size_t failed = vc_producer_send_all(d->producer, msgs, todo), k = 0;
        for (size_t i = 0; i < todo; i++)
            if (msgs[i].rc != 0)
                msgs[k++] = msgs[i];
        if (failed == 0)
            return 0;
        VC_WARN("sink.publish_retry", "failed=%zu attempt=%d error=\"%s\"", failed, attempt,
                msgs[0].err);
        todo = k;
        if (detector_stopping)
            return VC_ECLOSED;
        detector_backoff(attempt);
    }
    return 0;
}

static void finish(detector_t *d, sink_item_t *it, int ok)
{
    if (ok && it->dlq_reason[0] != '\0')
        ok = detector_send_dlq(it->job, "analyse", it->dlq_reason) == 0;
    if (ok) {
        vc_counter_add(it->res.status == VC_STATUS_COMPLETED ? d->m_completed : d->m_failed, 1);
        vc_histogram_observe(d->m_latency, (double)(vc_clock_mono_ns() - it->t0_ns) / 1e9);
        VC_DEBUG("job.done", "id=%s trace=%s status=%s", it->res.id, it->res.trace_id,
                 vc_status_name(it->res.status));
    }
    detector_job_release(it->job, ok);
    free(it->blob);
    free(it);
}

static void write_batch(detector_sink_t *s, sink_item_t **items, size_t n)
{
    int rc = persist(s, items, n);
    if (rc == 0)
        rc = publish(s, items, n);
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
    s->rows = calloc(s->max_rows, sizeof(*s->rows));
    s->puts = calloc(s->max_rows, sizeof(*s->puts));
    s->msgs = calloc(s->max_rows, sizeof(*s->msgs));
    /* Room for every result of a full in-flight window; a larger batch envelope just makes its
     * pool thread wait for the writer, which never waits for pool threads. */
    int rc = !s->batch || !s->rows || !s->puts || !s->msgs
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
    sink_item_t *it = malloc(sizeof(*it));
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
    free(s->rows);
    free(s->puts);
    free(s->msgs);
    free(s);
}
