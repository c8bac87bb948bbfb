/* The audio spoof-detection entry points: decode, resample to 16 kHz, frame features, run
 * every analyzer in the table, per-segment scores, fusion into one score and verdict. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audio_engine.h"
#include "vc/error.h"

/* Every analyzer the engine runs, in result order. Adding one is adding a line. */
static const vc_audio__analyzer_t *const analyzers[] = {
    &vc_audio__an_synthetic,
    &vc_audio__an_replay,
    &vc_audio__an_splice,
};
#define N_ANALYZERS (sizeof(analyzers) / sizeof(analyzers[0]))

_Static_assert(N_ANALYZERS <= VC_AUDIO_MAX_ANALYZERS, "too many audio analyzers");
_Static_assert(N_ANALYZERS == VC_AUDIO__FUSION_NF, "fusion takes one score per analyzer");

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void vc_audio_detect_opts_default(vc_audio_detect_opts_t *opts)
{
    memset(opts, 0, sizeof(*opts));
    vc_audio_opts_default(&opts->decode);
    opts->genuine_below = 0.35;
    opts->spoof_from = 0.65;
    opts->segment_s = 1.0;
}

const char *vc_audio_verdict_name(vc_audio_verdict_t verdict)
{
    switch (verdict) {
    case VC_AUDIO_GENUINE:
        return "genuine";
    case VC_AUDIO_SPOOF:
        return "spoof";
    case VC_AUDIO_INCONCLUSIVE:
        return "inconclusive";
    }
    return "?";
}

void vc_audio__evidence(vc_audio_analyzer_result_t *res, const char *key, double value)
{
    if (res->n_evidence >= VC_AUDIO_MAX_EVIDENCE)
        return;
    vc_audio_evidence_t *ev = &res->evidence[res->n_evidence++];
    snprintf(ev->key, sizeof(ev->key), "%s", key);
    ev->value = isfinite(value) ? value : 0.0;
}

static int check_opts(const vc_audio_detect_opts_t *opts, char *err, size_t errlen)
{
    if (!(opts->genuine_below >= 0.0 && opts->genuine_below <= opts->spoof_from &&
          opts->spoof_from <= 1.0))
        return vc_err(err, errlen, VC_EINVAL,
                      "thresholds must satisfy 0 <= genuine_below <= spoof_from <= 1");
    if (!(opts->segment_s >= 0.1 && opts->segment_s <= 3600.0))
        return vc_err(err, errlen, VC_EINVAL, "segment_s must be in [0.1, 3600]");
    return vc_audio__opts_check(&opts->decode, err, errlen);
}

/* Per-segment scores: the largest per-frame score in each segment. Segments grow so that
 * there are at most VC_AUDIO_MAX_SEGMENTS. */
static void segments(const double *frame_score, size_t n, double seg_s, vc_audio_detection_t *out)
{
    double dur = (double)n / VC_AUDIO__FPS;
    if (dur / seg_s > VC_AUDIO_MAX_SEGMENTS)
        seg_s = dur / VC_AUDIO_MAX_SEGMENTS;
    size_t per = (size_t)ceil(seg_s * VC_AUDIO__FPS);
    out->n_segments = 0;
    for (size_t s = 0; s < n && out->n_segments < VC_AUDIO_MAX_SEGMENTS; s += per) {
        vc_audio_segment_t *seg = &out->segments[out->n_segments++];
        seg->start_s = (double)s / VC_AUDIO__FPS;
        seg->end_s = (double)(s + per < n ? s + per : n) / VC_AUDIO__FPS;
        seg->score = 0.0;
        for (size_t t = s; t < s + per && t < n; t++)
            if (frame_score[t] > seg->score)
                seg->score = frame_score[t];
    }
}

/* The splice analyzer's reported times, copied to the top level. */
static void splice_times(vc_audio_detection_t *out)
{
    out->n_splices = 0;
    for (size_t a = 0; a < out->n_analyzers; a++) {
        const vc_audio_analyzer_result_t *res = &out->analyzers[a];
        if (strcmp(res->name, "splice") != 0)
            continue;
        for (size_t e = 0; e < res->n_evidence && out->n_splices < VC_AUDIO_MAX_SPLICES; e++) {
            size_t len = strlen(res->evidence[e].key);
            if (len > 2 && strcmp(res->evidence[e].key + len - 2, "_s") == 0)
                out->splice_s[out->n_splices++] = res->evidence[e].value;
        }
    }
}

/* Clipped logit of an analyzer's probability. */
static double fusion_input(double p)
{
    double z = log((p + 1e-12) / (1.0 - p + 1e-12));
    return z > VC_AUDIO__FUSION_CLIP    ? VC_AUDIO__FUSION_CLIP
           : z < -VC_AUDIO__FUSION_CLIP ? -VC_AUDIO__FUSION_CLIP
                                        : z;
}

double vc_audio__fusion_llr(const vc_audio_model_t *model, const double *p)
{
    double z[VC_AUDIO__FUSION_NF], best = -INFINITY, sum = 0.0;
    for (int a = 0; a < VC_AUDIO__FUSION_NF; a++) {
        z[a] = fusion_input(p[a]);
        if (a == VC_AUDIO__FUSION_NF - 1 && z[a] < model->splice_floor)
            z[a] = model->splice_floor;
        best = z[a] > best ? z[a] : best;
    }
    for (int a = 0; a < VC_AUDIO__FUSION_NF; a++)
        sum += exp(z[a] - best);
    return best + log(sum / VC_AUDIO__FUSION_NF);
}

/* Runs the analyzers over 16 kHz samples and fuses their scores: the mixture LLR of
 * vc_audio__fusion_llr, mapped to a probability by the model's one-input fusion logistic
 * (fitted on held-out clips, bona fide against every attack; monotone). */
static int analyze_16k(const vc_audio_model_t *model, const float *x, size_t n,
                       const vc_audio_detect_opts_t *opts, vc_audio_detection_t *out, char *err,
                       size_t errlen)
{
    vc_audio__feats_t feats;
    double p[N_ANALYZERS];
    double t0 = now_ms();
    int rc = vc_audio__feats_compute(x, n, &feats, err, errlen);
    if (rc != 0)
        return rc;
    vc_audio__input_t in = {&feats, x, n, model, 0.0, 0.0, NULL};
    vc_audio__pitch_track(x, n, &feats, &in.jitter, &in.shimmer);
    in.frame_score = calloc(feats.n, sizeof(double));
    if (in.frame_score == NULL) {
        rc = vc_err(err, errlen, VC_ENOMEM, "no memory for frame scores");
        goto fail;
    }
    double t1 = now_ms();
    out->features_ms = t1 - t0;
    for (size_t a = 0; a < N_ANALYZERS; a++) {
        vc_audio_analyzer_result_t *res = &out->analyzers[out->n_analyzers++];
        snprintf(res->name, sizeof(res->name), "%s", analyzers[a]->name);
        snprintf(res->version, sizeof(res->version), "%s", analyzers[a]->version);
        rc = analyzers[a]->analyze(&in, res);
        if (rc != 0) {
            rc = vc_err(err, errlen, rc, "analyzer %s failed", analyzers[a]->name);
            goto fail;
        }
        p[a] = res->score;
    }
    double llr = vc_audio__fusion_llr(model, p);
    out->score = vc_audio__sigmoid(vc_logreg__logit(&model->fusion, &llr));
    out->verdict = out->score >= opts->spoof_from     ? VC_AUDIO_SPOOF
                   : out->score < opts->genuine_below ? VC_AUDIO_GENUINE
                                                      : VC_AUDIO_INCONCLUSIVE;
    segments(in.frame_score, feats.n, opts->segment_s, out);
    splice_times(out);
    snprintf(out->model_version, sizeof(out->model_version), "%s", model->version);
    out->scoring_ms = now_ms() - t1;
    rc = 0;

fail:
    free(in.frame_score);
    vc_audio__feats_free(&feats);
    return rc;
}

/* Validates arguments; fills defaults into *use. */
static int begin(const vc_audio_model_t *model, const vc_audio_detect_opts_t *opts,
                 vc_audio_detection_t *out, vc_audio_detect_opts_t *use, char *err, size_t errlen)
{
    if (out == NULL)
        return vc_err(err, errlen, VC_EINVAL, "NULL result");
    memset(out, 0, sizeof(*out));
    if (model == NULL)
        return vc_err(err, errlen, VC_EINVAL, "no audio model loaded");
    if (opts == NULL)
        vc_audio_detect_opts_default(use);
    else
        *use = *opts;
    return check_opts(use, err, errlen);
}

/* Resamples pcm (owned) and analyses it; frees pcm. */
static int run_pcm(const vc_audio_model_t *model, vc_audio__pcm_t *pcm,
                   const vc_audio_detect_opts_t *opts, vc_audio_detection_t *out, char *err,
                   size_t errlen)
{
    out->duration_s = (double)pcm->frames / pcm->sample_rate;
    out->sample_rate = pcm->sample_rate;
    out->channels = pcm->channels;
    int rc = vc_audio__resample(pcm, err, errlen);
    if (rc == 0)
        rc = analyze_16k(model, pcm->samples, pcm->frames, opts, out, err, errlen);
    vc_audio__pcm_free(pcm);
    if (rc != 0)
        memset(out, 0, sizeof(*out));
    return rc;
}

int vc_audio_detect_with_stats(const vc_audio_model_t *model, const uint8_t *data, size_t len,
                               const char *format, const vc_audio_detect_opts_t *opts,
                               vc_audio_detection_t *out, vc_audio_report_t *stats, char *err,
                               size_t errlen)
{
    vc_audio_detect_opts_t use;
    vc_audio__pcm_t pcm;

    if (stats != NULL)
        memset(stats, 0, sizeof(*stats));
    int rc = begin(model, opts, out, &use, err, errlen);
    if (rc != 0)
        return rc;
    if (data == NULL && len > 0)
        return vc_err(err, errlen, VC_EINVAL, "NULL data");
    double t0 = now_ms();
    rc = vc_audio__decode(data, len, format, &use.decode, &pcm, err, errlen);
    if (rc != 0)
        return rc;
    double decode_ms = now_ms() - t0;
    if (stats != NULL)
        rc = vc_audio__report_pcm(&pcm, &use.decode, stats, err, errlen);
    if (rc != 0) { /* only the statistics can have failed here */
        vc_audio__pcm_free(&pcm);
        memset(stats, 0, sizeof(*stats));
        return rc;
    }
    rc = run_pcm(model, &pcm, &use, out, err, errlen);
    out->decode_ms = decode_ms;
    if (rc != 0 && stats != NULL)
        memset(stats, 0, sizeof(*stats));
    return rc;
}

int vc_audio_detect(const vc_audio_model_t *model, const uint8_t *data, size_t len,
                    const char *format, const vc_audio_detect_opts_t *opts,
                    vc_audio_detection_t *out, char *err, size_t errlen)
{
    return vc_audio_detect_with_stats(model, data, len, format, opts, out, NULL, err, errlen);
}

int vc_audio_detect_pcm(const vc_audio_model_t *model, const float *x, size_t n, uint32_t rate,
                        const vc_audio_detect_opts_t *opts, vc_audio_detection_t *out, char *err,
                        size_t errlen)
{
    vc_audio_detect_opts_t use;
    vc_audio__pcm_t pcm;

    int rc = begin(model, opts, out, &use, err, errlen);
    if (rc != 0)
        return rc;
    if (x == NULL || n == 0)
        return vc_err(err, errlen, VC_EFORMAT, "no samples");
    if (rate < VC_AUDIO__MIN_RATE || rate > VC_AUDIO__MAX_RATE)
        return vc_err(err, errlen, VC_EINVAL, "sample rate %u outside %u..%u", rate,
                      VC_AUDIO__MIN_RATE, VC_AUDIO__MAX_RATE);
    if (n > vc_audio__max_frames(&use.decode, rate, 1))
        return vc_err(err, errlen, VC_ETOOBIG, "%.1f s over the limit of %.1f s", (double)n / rate,
                      use.decode.max_duration_s);
    pcm.samples = malloc(n * sizeof(float));
    if (pcm.samples == NULL)
        return vc_err(err, errlen, VC_ENOMEM, "no memory for %zu samples", n);
    memcpy(pcm.samples, x, n * sizeof(float));
    pcm.frames = n;
    pcm.sample_rate = rate;
    pcm.channels = 1;
    return run_pcm(model, &pcm, &use, out, err, errlen);
}
