/* One detection job, run on a pool thread: decode the request, analyse its media, make the
 * result durable (PostgreSQL, then Redis + notification, then the results topic) and post the
 * job back to the main thread. Poison messages go to the dead-letter topic instead. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "detector.h"
#include "vc/clock.h"
#include "vc/detections.h"
#include "vc/error.h"
#include "vc/results.h"
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

int detector_send_dlq(job_t *job, const char *stage, const char *reason)
{
    detector_t *d = job->d;
    const rd_kafka_message_t *m = job->msg;
    char part[16], off[24], errbuf[256];
    snprintf(part, sizeof(part), "%d", (int)m->partition);
    snprintf(off, sizeof(off), "%lld", (long long)m->offset);
    const char *topic = rd_kafka_topic_name(m->rkt);
    vc_mq_header_t hdrs[] = {
        {"error.stage", stage, strlen(stage)},
        {"error.reason", reason, strlen(reason)},
        {"source.topic", topic, strlen(topic)},
        {"source.partition", part, strlen(part)},
        {"source.offset", off, strlen(off)},
        {"detector.instance", d->cfg.instance_id, strlen(d->cfg.instance_id)},
    };
    for (int attempt = 0; !detector_stopping; attempt++) {
        int rc = vc_producer_send(d->producer, d->cfg.kafka.topic_dlq, m->key, m->key_len,
                                  m->payload, m->len, hdrs, sizeof(hdrs) / sizeof(hdrs[0]),
                                  errbuf, sizeof(errbuf));
        if (rc == 0) {
            vc_counter_add(d->m_dlq, 1);
            VC_WARN("job.dead_letter", "partition=%d offset=%lld stage=%s reason=\"%s\"",
                    (int)m->partition, (long long)m->offset, stage, reason);
            return 0;
        }
        VC_ERROR("job.dlq_failed", "error=\"%s\" attempt=%d", errbuf, attempt);
        detector_backoff(attempt);
    }
    return VC_ECLOSED;
}

static void add_audio_evidence(vc_analyzer_t *an, const vc_audio_report_t *r)
{
    vc_analyzer_add_evidence(an, "duration_s", r->duration_s);
    vc_analyzer_add_evidence(an, "sample_rate_hz", r->sample_rate);
    vc_analyzer_add_evidence(an, "channels", r->channels);
    vc_analyzer_add_evidence(an, "rms_dbfs", r->rms_dbfs);
    vc_analyzer_add_evidence(an, "peak_dbfs", r->peak_dbfs);
    vc_analyzer_add_evidence(an, "clipping_ratio", r->clipping_ratio);
    vc_analyzer_add_evidence(an, "silence_ratio", r->silence_ratio);
    vc_analyzer_add_evidence(an, "spectral_centroid_hz", r->spectral_centroid_hz);
    vc_analyzer_add_evidence(an, "spectral_bandwidth_hz", r->spectral_bandwidth_hz);
    vc_analyzer_add_evidence(an, "spectral_flatness", r->spectral_flatness);
}

/* This pool thread's slot in d->analysing_since (pool threads never exceed cfg.threads). */
static _Atomic int64_t *analysis_slot(detector_t *d)
{
    static _Thread_local int slot = -1;
    if (slot < 0)
        slot = atomic_fetch_add(&d->next_slot, 1);
    return slot < d->cfg.threads ? &d->analysing_since[slot] : NULL;
}

/* Marks the start of an analysis (for the supervisor's stuck-worker check) and runs the test
 * hooks, which exist only when DETECTOR_TEST_HOOKS=1 (config.c refuses them otherwise).
 * Returns the start time in monotonic ms. */
static int64_t analysis_begin(detector_t *d, const vc_request_t *req)
{
    int64_t t0 = vc_clock_mono_ms();
    _Atomic int64_t *slot = analysis_slot(d);
    if (slot != NULL)
        atomic_store(slot, t0);
    const char *prefix = d->cfg.crash_prefix;
    if (prefix != NULL && *prefix != '\0' && strncmp(req->id, prefix, strlen(prefix)) == 0) {
        VC_ERROR("test_hook.crash", "id=%s msg=\"DETECTOR_CRASH_ON_ID_PREFIX matched\"",
                 req->id);
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core); /* a test crash leaves no core file behind */
        abort();
    }
    if (d->cfg.test_delay_ms > 0) {
        long long ms = d->cfg.test_delay_ms;
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL); /* test hook: an artificially slow analysis */
    }
    return t0;
}

/* Clears the analysis mark; returns how long the analysis took in ms. */
static int64_t analysis_end(detector_t *d, int64_t t0)
{
    _Atomic int64_t *slot = analysis_slot(d);
    if (slot != NULL)
        atomic_store(slot, 0);
    return vc_clock_mono_ms() - t0;
}

/* Fills res from the analysis of req. Returns 0 when analysed; otherwise res is FAILED with
 * a reason and *media_error is set for the dead-letter record. */
/* Copies one spoof analyzer of the engine into the result (score + evidence). */
static void add_spoof_analyzer(vc_result_t *res, const vc_audio_analyzer_result_t *a)
{
    vc_analyzer_t *an = vc_result_add_analyzer(res, "audio", a->name, a->version);
    if (an == NULL)
        return;
    an->has_score = 1;
    an->score = a->score;
    for (size_t i = 0; i < a->n_evidence; i++)
        vc_analyzer_add_evidence(an, a->evidence[i].key, a->evidence[i].value);
}

static vc_verdict_t verdict_of(vc_audio_verdict_t v)
{
    return v == VC_AUDIO_SPOOF     ? VC_VERDICT_SPOOF
           : v == VC_AUDIO_GENUINE ? VC_VERDICT_GENUINE
                                   : VC_VERDICT_INCONCLUSIVE;
}

/* The spoof engine (synthetic speech, replay, splice; fused by the model): the score and
 * verdict the client gets. The signal statistics stay in the result as evidence. */
static void score_audio(detector_t *d, const vc_request_t *req, vc_result_t *res,
                        const char **media_error)
{
    vc_audio_detect_opts_t opts;
    vc_audio_detect_opts_default(&opts);
    opts.decode = d->cfg.audio;
    opts.decode.pcm_sample_rate = req->audio.sample_rate;
    opts.genuine_below = d->cfg.audio_genuine_below;
    opts.spoof_from = d->cfg.audio_spoof_from;
    vc_audio_detection_t *det = malloc(sizeof(*det)); /* ~8 KB: not on a pool thread's stack */
    char errbuf[200];
    int rc = det == NULL ? VC_ENOMEM
                         : vc_audio_detect(d->audio_model, req->audio.data, req->audio.len,
                                           req->audio.format, &opts, det, errbuf, sizeof(errbuf));
    if (rc != 0) {
        res->status = VC_STATUS_FAILED;
        snprintf(res->reason, sizeof(res->reason), "audio: %s",
                 det == NULL ? "out of memory" : errbuf);
        *media_error = res->reason;
        free(det);
        return;
    }
    for (size_t i = 0; i < det->n_analyzers; i++)
        add_spoof_analyzer(res, &det->analyzers[i]);
    res->status = VC_STATUS_COMPLETED;
    res->verdict = verdict_of(det->verdict);
    res->has_score = 1;
    res->score = det->score < 0 ? 0 : det->score > 1 ? 1 : det->score;
    snprintf(res->model_version, sizeof(res->model_version), "%s", det->model_version);
    free(det);
}

static void analyse(detector_t *d, const vc_request_t *req, vc_result_t *res,
                    const char **media_error)
{
    if (req->type != VC_TYPE_AUDIO) {
        res->status = VC_STATUS_FAILED;
        snprintf(res->reason, sizeof(res->reason),
                 "%s analysis is not available in this version", vc_type_name(req->type));
        return;
    }
    vc_audio_opts_t opts = d->cfg.audio;
    opts.pcm_sample_rate = req->audio.sample_rate;
    vc_audio_report_t rep;
    char errbuf[200];
    int64_t t0 = analysis_begin(d, req);
    int rc = vc_audio_analyze(req->audio.data, req->audio.len, req->audio.format, &opts, &rep,
                              errbuf, sizeof(errbuf));
    int64_t took_ms = analysis_end(d, t0);
    if (took_ms > d->cfg.deadline_ms) {
        /* The deadline is checked when the analysis returns; one that never returns is
         * killed with its worker by the supervisor (see supervisor.c). */
        res->status = VC_STATUS_FAILED;
        snprintf(res->reason, sizeof(res->reason),
                 "deadline exceeded: analysis took %.1f s, DETECTION_DEADLINE is %.1f s",
                 (double)took_ms / 1000.0, (double)d->cfg.deadline_ms / 1000.0);
        vc_counter_add(d->m_deadline, 1);
        return;
    }
    if (rc != 0) {
        res->status = VC_STATUS_FAILED;
        snprintf(res->reason, sizeof(res->reason), "audio: %s", errbuf);
        *media_error = res->reason;
        return;
    }
    vc_analyzer_t *an = vc_result_add_analyzer(res, "audio", "signal_stats", vc_detect_version());
    if (an != NULL)
        add_audio_evidence(an, &rep);
    score_audio(d, req, res, media_error);
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
    detector_mark_processing(d, p.id, blob, len);
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
        analyse(d, req, &res, &media_error);
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
        return detector_send_dlq(job, "decode", err);
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
        rc = detector_send_dlq(job, "decode", bad);
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
        return detector_send_dlq(job, "decode", errbuf);
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
        rc = detector_send_dlq(job, "crash", job->crash_reason);
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
        rc = g.prior >= d->cfg.max_crashes ? process_crashed(job, g.prior) : process(job);
        detector_guard_leave(d, &g);
    }
    detector_job_release(job, rc == 0);
}
