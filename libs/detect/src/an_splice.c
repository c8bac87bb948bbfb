/* Analyzer splice: per-frame discontinuity features — a one-block waveform burst (the click
 * of a hard cut, i.e. broken phase continuity), a jump of the short-term spectrum (mean
 * LFCC before vs after), a jump of energy and of pitch, a break in the periodicity of voiced
 * speech — combined per frame by a logistic
 * model, and the clip score from the strongest frame. Evidence gives the suspected times. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio_engine.h"
#include "vc/error.h"

#define CEPS 12           /* static coefficients c1..c12 compared across the boundary */
#define WIN 15            /* frames either side for the spectral jump */
#define EWIN 3            /* frames either side for the energy jump */
#define FWIN 5            /* frames either side for the pitch jump */
#define POOL 2            /* frames either side a cue is pooled over */
#define RAW_NF 6          /* raw cues per frame, before pooling and coincidence terms */
#define PARTIAL_FLOOR 0.3 /* periodicity below this is a dropout, not a break */
#define EDGE 10           /* frames at either end never reported (0.1 s) */
#define PEAK_GAP 50       /* frames between reported splices (0.5 s) */

/* Spectral jump at every boundary t: the standardised distance between the mean static
 * LFCC of [t-WIN, t) and [t, t+WIN), via prefix sums. jump[t] = 0 near the edges. */
static int spectral_jump(const vc_audio__feats_t *feats, double *jump)
{
    size_t n = feats->n;
    double *ps = calloc((n + 1) * CEPS * 2, sizeof(double));
    if (ps == NULL)
        return VC_ENOMEM;
    for (size_t t = 0; t < n; t++)
        for (int c = 0; c < CEPS; c++) {
            double v = feats->lfcc[t * VC_AUDIO__DIM + (size_t)c + 1];
            ps[(t + 1) * CEPS * 2 + (size_t)c] = ps[t * CEPS * 2 + (size_t)c] + v;
            ps[(t + 1) * CEPS * 2 + CEPS + (size_t)c] = ps[t * CEPS * 2 + CEPS + (size_t)c] + v * v;
        }
    for (size_t t = 0; t < n; t++) {
        jump[t] = 0.0;
        if (t < WIN || t + WIN > n)
            continue;
        double d2 = 0.0;
        for (int c = 0; c < CEPS; c++) {
            const double *a0 = ps + (t - WIN) * CEPS * 2, *a1 = ps + t * CEPS * 2,
                         *a2 = ps + (t + WIN) * CEPS * 2;
            double m1 = (a1[c] - a0[c]) / WIN, m2 = (a2[c] - a1[c]) / WIN;
            double v1 = (a1[CEPS + c] - a0[CEPS + c]) / WIN - m1 * m1;
            double v2 = (a2[CEPS + c] - a1[CEPS + c]) / WIN - m2 * m2;
            d2 += (m1 - m2) * (m1 - m2) / (0.5 * (v1 + v2) + 0.1);
        }
        jump[t] = sqrt(d2 / CEPS);
    }
    free(ps);
    return 0;
}

static double mean_energy(const vc_audio__feats_t *feats, size_t from, size_t to)
{
    double s = 0.0;
    for (size_t t = from; t < to; t++)
        s += feats->energy_db[t];
    return to > from ? s / (double)(to - from) : 0.0;
}

/* Mean F0 of the voiced frames in [from, to), 0 with fewer than two. */
static double mean_f0(const vc_audio__feats_t *feats, size_t from, size_t to)
{
    double s = 0.0;
    int v = 0;
    for (size_t t = from; t < to; t++)
        if (feats->f0[t] > 0.0f) {
            s += feats->f0[t];
            v++;
        }
    return v >= 2 ? s / v : 0.0;
}

/* Pitch jump in semitones between the FWIN frames before t and the FWIN from t, folded so
 * that an octave error of the tracker counts as no jump. 0 when either side is unvoiced. */
static double f0_jump(const vc_audio__feats_t *feats, size_t t)
{
    if (t < FWIN || t + FWIN > feats->n)
        return 0.0;
    double fa = mean_f0(feats, t - FWIN, t), fb = mean_f0(feats, t, t + FWIN);
    if (fa <= 0.0 || fb <= 0.0)
        return 0.0;
    double d = 12.0 * fabs(log2(fa / fb));
    return d > 6.0 ? fabs(d - 12.0) : d;
}

/* How much less periodic the frames whose 32 ms pitch window straddles boundary t are than
 * the clean frames on either side, split in two: a partial drop (the pulse train breaks but
 * stays voiced: a cut inside voiced speech) into *partial, a dropout to aperiodic (a natural
 * stop or fricative between vowels) into *full. */
static void periodicity_drop(const vc_audio__feats_t *feats, size_t t, double *partial,
                             double *full)
{
    *partial = *full = 0.0;
    if (t < 7 || t + 3 > feats->n)
        return;
    double sides = fmin(feats->voicing[t - 6], feats->voicing[t + 2]);
    double mid = fmin(fmin(feats->voicing[t - 2], feats->voicing[t - 1]), feats->voicing[t]);
    if (sides - mid <= 0.0)
        return;
    if (mid >= PARTIAL_FLOOR)
        *partial = sides - mid;
    else
        *full = sides - mid;
}

void vc_audio__splice_features(const vc_audio__feats_t *feats, double *f)
{
    size_t n = feats->n;
    for (size_t t = 0; t < n; t++) {
        double *row = f + t * RAW_NF;
        row[0] = feats->click_db[t];
        /* row[1] (spectral jump) is filled by the caller */
        row[2] = t >= EWIN && t + EWIN <= n
                     ? fabs(mean_energy(feats, t - EWIN, t) - mean_energy(feats, t, t + EWIN))
                     : 0.0;
        row[3] = f0_jump(feats, t);
        periodicity_drop(feats, t, &row[4], &row[5]);
    }
}

/* Frame logits into logit (n). Returns 0 or VC_ENOMEM. */
/* Pools every raw cue over +-POOL frames (a cut shifts each cue by a frame or two) and adds
 * the coincidence terms: a splice is several cues at one place, natural events mostly one. */
static void pool(const double *raw, size_t n, double *fbuf)
{
    for (size_t t = 0; t < n; t++) {
        double *row = fbuf + t * VC_AUDIO__SPLICE_NF;
        for (int i = 0; i < RAW_NF; i++) {
            double m = raw[t * RAW_NF + (size_t)i];
            for (size_t k = t >= POOL ? t - POOL : 0; k <= t + POOL && k < n; k++)
                m = fmax(m, raw[k * RAW_NF + (size_t)i]);
            row[i] = m;
        }
        row[RAW_NF] = row[4] * row[3];                /* periodicity break x pitch jump */
        row[RAW_NF + 1] = row[4] * fmax(row[0], 0.0); /* periodicity break x click */
    }
}

static int frame_logits(const vc_audio_model_t *model, const vc_audio__feats_t *feats,
                        double *logit, double *fbuf)
{
    double *jump = malloc(feats->n * sizeof(double));
    double *raw = malloc(feats->n * RAW_NF * sizeof(double));
    int rc = VC_ENOMEM;
    if (jump == NULL || raw == NULL)
        goto fail;
    rc = spectral_jump(feats, jump);
    if (rc != 0)
        goto fail;
    vc_audio__splice_features(feats, raw);
    for (size_t t = 0; t < feats->n; t++)
        raw[t * RAW_NF + 1] = jump[t];
    pool(raw, feats->n, fbuf);
    for (size_t t = 0; t < feats->n; t++)
        logit[t] = vc_logreg__logit(&model->splice_frame, fbuf + t * VC_AUDIO__SPLICE_NF);

fail:
    free(jump);
    free(raw);
    return rc;
}

int vc_audio__splice_frames(const vc_audio_model_t *model, const vc_audio__feats_t *feats,
                            double *logit, double *fbuf)
{
    return frame_logits(model, feats, logit, fbuf);
}

/* Up to max peaks of logit, strongest first, PEAK_GAP apart, away from the edges. */
static size_t peaks(const double *logit, size_t n, size_t *at, size_t max)
{
    size_t found = 0;
    while (found < max) {
        size_t best = SIZE_MAX;
        for (size_t t = EDGE; t + EDGE < n; t++) {
            int near = 0;
            for (size_t i = 0; i < found; i++)
                near |= (t > at[i] ? t - at[i] : at[i] - t) < PEAK_GAP;
            if (!near && (best == SIZE_MAX || logit[t] > logit[best]))
                best = t;
        }
        if (best == SIZE_MAX)
            break;
        at[found++] = best;
    }
    return found;
}

static int splice_analyze(const vc_audio__input_t *in, vc_audio_analyzer_result_t *res)
{
    const vc_audio__feats_t *feats = in->feats;
    const vc_audio_model_t *model = in->model;
    double *logit = malloc(feats->n * sizeof(double));
    double *fbuf = malloc(feats->n * VC_AUDIO__SPLICE_NF * sizeof(double));
    size_t at[VC_AUDIO_MAX_SPLICES];
    int rc = VC_ENOMEM;

    if (logit == NULL || fbuf == NULL)
        goto fail;
    rc = frame_logits(model, feats, logit, fbuf);
    if (rc != 0)
        goto fail;
    size_t np = peaks(logit, feats->n, at, VC_AUDIO_MAX_SPLICES);
    res->score = np > 0 ? vc_audio__sigmoid(model->splice_a * logit[at[0]] + model->splice_b) : 0.0;
    for (size_t i = 0; i < np; i++) {
        char key[32];
        double p = vc_audio__sigmoid(model->splice_a * logit[at[i]] + model->splice_b);
        snprintf(key, sizeof(key), "splice_%zu_s", i + 1);
        vc_audio__evidence(res, key, (double)at[i] / VC_AUDIO__FPS);
        snprintf(key, sizeof(key), "splice_%zu_score", i + 1);
        vc_audio__evidence(res, key, p);
    }
    if (np > 0) {
        const double *row = fbuf + at[0] * VC_AUDIO__SPLICE_NF;
        vc_audio__evidence(res, "click_db", row[0]);
        vc_audio__evidence(res, "spectral_jump", row[1]);
        vc_audio__evidence(res, "energy_jump_db", row[2]);
        vc_audio__evidence(res, "f0_jump_semitones", row[3]);
        vc_audio__evidence(res, "periodicity_drop", row[4]);
    }
    for (size_t t = 0; in->frame_score != NULL && t < feats->n; t++) {
        double p = vc_audio__sigmoid(model->splice_a * logit[t] + model->splice_b);
        if (t >= EDGE && t + EDGE < feats->n && p > in->frame_score[t])
            in->frame_score[t] = p;
    }
    rc = 0;

fail:
    free(logit);
    free(fbuf);
    return rc;
}

const vc_audio__analyzer_t vc_audio__an_splice = {
    VC_AUDIO__ANALYZER_API,
    "splice",
    "disc-lr-1",
    splice_analyze,
};
