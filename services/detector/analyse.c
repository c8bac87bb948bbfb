/* The analysis of one request on a pool thread: the audio engine for audio parts, the video
 * engine for video parts, and for multimodal requests both, fused. Everything the engines
 * report goes into the result: each analyzer's score and evidence, per-second audio scores,
 * the fused score and verdict, the model versions. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "detector.h"
#include "vc/clock.h"
#include "vc/error.h"

/* What one modality's engine concluded. */
typedef struct {
    int ok;
    double score;
    vc_verdict_t verdict;
    char version[32];
} outcome_t;

static void add_signal_stats(vc_analyzer_t *an, const vc_audio_report_t *r)
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

static double clamp01(double v)
{
    return v < 0 ? 0 : v > 1 ? 1 : v;
}

/* Copies one analyzer of an engine into the result. */
static void add_analyzer(vc_result_t *res, const char *modality, const char *name,
                         const char *version, double score, const char *const *keys,
                         const double *values, size_t n)
{
    vc_analyzer_t *an = vc_result_add_analyzer(res, modality, name, version);
    if (an == NULL)
        return;
    an->has_score = 1;
    an->score = clamp01(score);
    for (size_t i = 0; i < n; i++)
        vc_analyzer_add_evidence(an, keys[i], values[i]);
}

static void fail_media(vc_result_t *res, const char *modality, const char *why,
                       const char **media_error)
{
    res->status = VC_STATUS_FAILED;
    snprintf(res->reason, sizeof(res->reason), "%s: %s", modality, why);
    *media_error = res->reason;
}

static vc_verdict_t audio_verdict(vc_audio_verdict_t v)
{
    return v == VC_AUDIO_SPOOF     ? VC_VERDICT_SPOOF
           : v == VC_AUDIO_GENUINE ? VC_VERDICT_GENUINE
                                   : VC_VERDICT_INCONCLUSIVE;
}

static vc_verdict_t video_verdict(vc_video_verdict_t v)
{
    return v == VC_VIDEO_SPOOF     ? VC_VERDICT_SPOOF
           : v == VC_VIDEO_GENUINE ? VC_VERDICT_GENUINE
                                   : VC_VERDICT_INCONCLUSIVE;
}

/* The audio engine's analyzers and per-segment scores. */
static void add_audio_detection(vc_result_t *res, const vc_audio_detection_t *det)
{
    for (size_t i = 0; i < det->n_analyzers; i++) {
        const vc_audio_analyzer_result_t *a = &det->analyzers[i];
        const char *keys[VC_AUDIO_MAX_EVIDENCE];
        double values[VC_AUDIO_MAX_EVIDENCE];
        for (size_t k = 0; k < a->n_evidence; k++) {
            keys[k] = a->evidence[k].key;
            values[k] = a->evidence[k].value;
        }
        add_analyzer(res, "audio", a->name, a->version, a->score, keys, values, a->n_evidence);
    }
    for (size_t i = 0; i < det->n_segments; i++) {
        const vc_audio_segment_t *sg = &det->segments[i];
        if (sg->end_s > sg->start_s)
            vc_result_add_segment(res, VC_TYPE_AUDIO, sg->start_s, sg->end_s,
                                  clamp01(sg->score));
    }
}

/* Signal statistics (evidence only) and the spoof engine (synthetic speech, replay and
 * splice fused by the model), from one decode of the media. */
static outcome_t analyse_audio(detector_t *d, const vc_media_t *m, vc_result_t *res,
                               const char **media_error)
{
    outcome_t out = {0};
    vc_audio_opts_t opts = d->cfg.audio;
    opts.pcm_sample_rate = m->sample_rate;
    vc_audio_report_t rep;
    char err[200];
    vc_audio_detect_opts_t dopts;
    vc_audio_detect_opts_default(&dopts);
    dopts.decode = opts;
    dopts.genuine_below = d->cfg.audio_genuine_below;
    dopts.spoof_from = d->cfg.audio_spoof_from;
    vc_audio_detection_t *det = malloc(sizeof(*det)); /* ~8 KB: not on a pool thread's stack */
    int rc = det == NULL ? VC_ENOMEM
                         : vc_audio_detect_with_stats(d->audio_model, m->data, m->len, m->format,
                                                      &dopts, det, &rep, err, sizeof(err));
    if (rc != 0) {
        fail_media(res, "audio", det == NULL ? "out of memory" : err, media_error);
    } else {
        vc_analyzer_t *an =
            vc_result_add_analyzer(res, "audio", "signal_stats", vc_detect_version());
        if (an != NULL)
            add_signal_stats(an, &rep);
        add_audio_detection(res, det);
        out = (outcome_t){1, clamp01(det->score), audio_verdict(det->verdict), ""};
        snprintf(out.version, sizeof(out.version), "%s", det->model_version);
    }
    free(det);
    return out;
}

/* The video engine's analyzers (static image, screen replay, duplication, interpolation,
 * splice, and the audio/video offset when the container has sound). */
static void add_video_report(vc_result_t *res, const vc_video_report_t *rep)
{
    for (int i = 0; i < rep->n_analyses; i++) {
        const vc_video_analysis_t *a = &rep->analyses[i];
        const char *keys[VC_VIDEO_MAX_EVIDENCE + 1];
        double values[VC_VIDEO_MAX_EVIDENCE + 1];
        size_t n = 0;
        for (int k = 0; k < a->n_evidence && k < VC_VIDEO_MAX_EVIDENCE; k++, n++) {
            keys[n] = a->evidence[k].key;
            values[n] = a->evidence[k].value;
        }
        keys[n] = "fused"; /* 0: reported for information, not counted in the score */
        values[n++] = a->fused;
        char version[16];
        snprintf(version, sizeof(version), "%d", a->version);
        add_analyzer(res, "video", a->name, version, a->score, keys, values, n);
    }
    const vc_video_stats_t *st = &rep->stats;
    vc_analyzer_t *an = vc_result_add_analyzer(res, "video", "stream_stats", vc_video_version());
    if (an == NULL)
        return;
    vc_analyzer_add_evidence(an, "frames", st->frames);
    vc_analyzer_add_evidence(an, "fps", st->fps);
    vc_analyzer_add_evidence(an, "width", st->width);
    vc_analyzer_add_evidence(an, "height", st->height);
    vc_analyzer_add_evidence(an, "duration_s", st->duration_s);
}

static outcome_t analyse_video(detector_t *d, const vc_media_t *m, vc_result_t *res,
                               const char **media_error)
{
    outcome_t out = {0};
    vc_video_report_t *rep = malloc(sizeof(*rep)); /* ~10 KB: not on a pool thread's stack */
    char err[200];
    int rc = rep == NULL ? VC_ENOMEM
                         : vc_video_detect(m->data, m->len, &d->cfg.video, rep, err, sizeof(err));
    if (rc != 0) {
        fail_media(res, "video", rep == NULL ? "out of memory" : err, media_error);
    } else {
        add_video_report(res, rep);
        out = (outcome_t){1, clamp01(rep->score), video_verdict(rep->verdict), ""};
        snprintf(out.version, sizeof(out.version), "%s", vc_video_version());
    }
    free(rep);
    return out;
}

/* Multimodal fusion: either modality caught spoofing is a spoof (the score is the larger of
 * the two, as within each engine); genuine needs both genuine; anything else is
 * inconclusive. */
static outcome_t fuse(vc_result_t *res, const outcome_t *a, const outcome_t *v)
{
    outcome_t out = {1, a->score > v->score ? a->score : v->score, VC_VERDICT_INCONCLUSIVE, ""};
    if (a->verdict == VC_VERDICT_SPOOF || v->verdict == VC_VERDICT_SPOOF)
        out.verdict = VC_VERDICT_SPOOF;
    else if (a->verdict == VC_VERDICT_GENUINE && v->verdict == VC_VERDICT_GENUINE)
        out.verdict = VC_VERDICT_GENUINE;
    snprintf(out.version, sizeof(out.version), "%.15s+%.15s", a->version, v->version);
    static const char *const keys[] = {"audio_score", "video_score"};
    const double values[] = {a->score, v->score};
    add_analyzer(res, "multimodal", "fusion_max", "1", out.score, keys, values, 2);
    return out;
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

static outcome_t analyse_parts(detector_t *d, const vc_request_t *req, vc_result_t *res,
                               const char **media_error)
{
    outcome_t a = {0}, v = {0};
    if (req->has_audio)
        a = analyse_audio(d, &req->audio, res, media_error);
    if (*media_error == NULL && req->has_video)
        v = analyse_video(d, &req->video, res, media_error);
    if (*media_error != NULL)
        return (outcome_t){0};
    if (req->has_audio && req->has_video)
        return fuse(res, &a, &v);
    return req->has_audio ? a : v;
}

void detector_analyse(detector_t *d, const vc_request_t *req, vc_result_t *res,
                      const char **media_error)
{
    int64_t t0 = analysis_begin(d, req);
    outcome_t out = analyse_parts(d, req, res, media_error);
    int64_t took_ms = analysis_end(d, t0);
    if (took_ms > d->cfg.deadline_ms) {
        /* The deadline is checked when the analysis returns; one that never returns is
         * killed with its worker by the supervisor (see supervisor.c). */
        *media_error = NULL;
        res->n_analyzers = 0;
        res->n_segments = 0;
        res->status = VC_STATUS_FAILED;
        snprintf(res->reason, sizeof(res->reason),
                 "deadline exceeded: analysis took %.1f s, DETECTION_DEADLINE is %.1f s",
                 (double)took_ms / 1000.0, (double)d->cfg.deadline_ms / 1000.0);
        vc_counter_add(d->m_deadline, 1);
        return;
    }
    if (!out.ok)
        return;
    res->status = VC_STATUS_COMPLETED;
    res->verdict = out.verdict;
    res->has_score = 1;
    res->score = out.score;
    snprintf(res->model_version, sizeof(res->model_version), "%s", out.version);
}
