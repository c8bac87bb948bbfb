/* One detection job, run on a pool thread: decode the request, analyse its media, make the
 * result durable (PostgreSQL, then Redis + notification, then the results topic) and post the
 * job back to the main thread. Poison messages go to the dead-letter topic instead. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "detector.h"
#include "vc/clock.h"
#include "vc/error.h"
#include "vc/wire.h"
#include "vc/wire_batch.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

/* Sleeps for an exponentially growing, jittered interval (full jitter). This is a retry
 * pause, not synchronisation. */
void detector_backoff(int attempt)
{
    long long cap = BACKOFF_MIN_MS << (attempt < 6 ? attempt : 6);
    if (cap > BACKOFF_MAX_MS)
        cap = BACKOFF_MAX_MS;
    static _Thread_local unsigned seed;
    if (seed == 0)
        seed = (unsigned)vc_clock_mono_ns() | 1u;
    long long ms = BACKOFF_MIN_MS / 2 + (long long)(rand_r(&seed) % (unsigned)cap);
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void result_init(detector_t *d, const vc_request_t *req, vc_result_t *res)
{
    memset(res, 0, sizeof(*res));
    res->v = VC_WIRE_VERSION;
    memcpy(res->id, req->id, sizeof(res->id));
    memcpy(res->tenant, req->tenant, sizeof(res->tenant));
    snprintf(res->detector, sizeof(res->detector), "%s", d->cfg.instance_id);
    res->type = req->type;
    res->submitted_at_ms = req->submitted_at_ms;
    res->started_at_ms = vc_clock_wall_ms();
    memcpy(res->trace_id, req->trace_id, sizeof(res->trace_id));
}

/* Records `processing` for res (a copy of the fresh result) in Redis, best effort. */
static void mark_processing(detector_t *d, const vc_result_t *res)
{
    vc_result_t p = *res;
    p.status = VC_STATUS_PROCESSING;
    uint8_t *blob = NULL;
    size_t len = 0;
    if (vc_wire_result_encode(&p, &blob, &len) != 0)
        return;
    detector_mark_processing(d, p.tenant, p.id, blob, len);
    free(blob);
}

/* Analyses one decoded request and makes its result durable. `what` names it in dead-letter
 * reasons ("" for a single message, "items[3] " inside a batch). */
static int process_request(job_t *job, const vc_request_t *req, const char *what)
{
    detector_t *d = job->d;
    int64_t t0 = vc_clock_mono_ns();
    vc_result_t res;
    result_init(d, req, &res);
    const char *media_error = NULL;
    if (job->crash_reason[0] != '\0') {
        res.status = VC_STATUS_FAILED;
        snprintf(res.reason, sizeof(res.reason), "%s", job->crash_reason);
    } else {
        mark_processing(d, &res);
        detector_analyse(d, req, &res, &media_error);
    }
    res.completed_at_ms = vc_clock_wall_ms();
    uint8_t *blob = NULL;
    size_t len = 0;
    int rc = vc_wire_result_encode(&res, &blob, &len);
    if (rc != 0)
        return rc;
    char reason[400] = "";
    if (media_error != NULL)
        snprintf(reason, sizeof(reason), "%sid=%s: %s", what, res.id, media_error);
    /* The writer thread makes it durable (sink.c); this thread goes on analysing. */
    return detector_sink_put(d->sink, job, &res, blob, len, reason, t0);
}

/* A BatchEnvelope: every decodable item gets its own result; undecodable items are reported
 * together in one dead-letter record (the message is kept whole there). */
static int process_batch(job_t *job)
{
    char err[256], bad[512] = "";
    vc_wire_batch_t *b = NULL;
    int rc = vc_wire_batch_open(job->msg->payload, job->msg->len, &b, err, sizeof(err));
    if (rc != 0)
        return detector_send_dlq(job, "decode", err, 1);
    size_t n = vc_wire_batch_count(b), nbad = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        vc_request_t req;
        if (vc_wire_batch_item(b, i, &req, err, sizeof(err)) != 0) {
            size_t used = strlen(bad);
            snprintf(bad + used, sizeof(bad) - used, "%sitems[%zu]: %s", nbad ? "; " : "", i,
                     err);
            nbad++;
            continue;
        }
        char what[32];
        snprintf(what, sizeof(what), "items[%zu] ", i);
        rc = process_request(job, &req, what);
    }
    vc_wire_batch_close(b);
    if (rc == 0 && nbad > 0)
        rc = detector_send_dlq(job, "decode", bad, 1);
    return rc;
}

static int process(job_t *job)
{
    if (vc_wire_is_batch(job->msg->payload, job->msg->len))
        return process_batch(job);
    vc_request_t req;
    char errbuf[256];
    int rc = vc_wire_request_decode(job->msg->payload, job->msg->len, &req, errbuf,
                                    sizeof(errbuf));
    if (rc != 0)
        return detector_send_dlq(job, "decode", errbuf, 1);
    return process_request(job, &req, "");
}

/* The message interrupted workers max_crashes times: every request in it gets a failed
 * result without analysis, then the message goes to the dead-letter topic (stage crash). */
static int process_crashed(job_t *job, long long prior)
{
    snprintf(job->crash_reason, sizeof(job->crash_reason),
             "interrupted %lld detector workers (crash, or killed when stuck); not analysed "
             "again", prior);
    vc_counter_add(job->d->m_crash_dlq, 1);
    int rc = process(job);
    if (rc == 0)
        rc = detector_send_dlq(job, "crash", job->crash_reason, (int)prior);
    return rc;
}

void detector_job_run(void *arg)
{
    job_t *job = arg;
    detector_t *d = job->d;
    atomic_store(&job->refs, 1); /* this thread's; each result in the sink adds one */
    detector_guard_t g;
    int rc = detector_guard_enter(d, job->msg, &g);
    if (rc == 0) {
        job->delivery_attempt = (int)g.prior + 1;
        int crashed = g.prior >= d->cfg.max_crashes;
        rc = crashed ? process_crashed(job, g.prior) : process(job);
        detector_guard_leave(d, &g, crashed); /* a failed dead-lettering is retried the same way */
    }
    detector_job_release(job, rc == 0);
}
