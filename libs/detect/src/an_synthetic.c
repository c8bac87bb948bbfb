/* Analyzer synthetic_speech: the log-likelihood ratio of the clip's LFCC frames under the
 * bona fide and the spoof GMMs (ASVspoof baseline), calibrated to a probability by a
 * logistic model fitted in vc-train on held-out clips together with prosody and voice
 * quality figures (jitter, shimmer, F0 spread and roughness, voicing, flatness, energy
 * dynamics), which carry across voices better than the spectral GMMs alone. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audio_engine.h"
#include "vc/error.h"

#define SEGMENT_HALF 50 /* frames either side for the smoothed per-frame score (1 s) */

/* Frames worth scoring: the active ones, or every frame when too few are active. */
static int use_frame(const vc_audio__feats_t *feats, size_t t)
{
    return feats->n_active >= 10 ? feats->active[t] : 1;
}

int vc_audio__synth_llr(const vc_audio_model_t *model, const vc_audio__feats_t *feats, float *llr,
                        double *mean, size_t *count)
{
    return vc_audio__synth_llr_ll(model, feats, llr, NULL, NULL, mean, count);
}

/* log sum_j exp(score[j]) of k scores. */
static double log_sum_exp(const float *score, int k)
{
    float best = score[0];
    for (int j = 1; j < k; j++)
        best = score[j] > best ? score[j] : best;
    double sum = 0.0;
    for (int j = 0; j < k; j++) {
        float z = score[j] - best;
        if (z > -30.0f)
            sum += expf(z);
    }
    return best + log(sum);
}

/* Bona fide log-likelihood of one frame x and, through the model's split views, that of its
 * static part in the same pass over the tables. */
static double bona_split(const vc_audio_model_t *model, const float *x, float *work,
                         double *static_ll)
{
    int k = model->bona.k;
    float *s1 = work, *s2 = work + k;
    vc_gmm__scores(&model->bona_static, x, s1);
    vc_gmm__scores(&model->bona_dynamic, x + VC_AUDIO__NCEP, s2);
    *static_ll = log_sum_exp(s1, k);
    for (int j = 0; j < k; j++)
        s2[j] += s1[j];
    return log_sum_exp(s2, k);
}

int vc_audio__synth_llr_ll(const vc_audio_model_t *model, const vc_audio__feats_t *feats,
                           float *llr, float *bona_ll, float *static_ll, double *mean,
                           size_t *count)
{
    int k = model->bona.k > model->spoof.k ? model->bona.k : model->spoof.k;
    int split = bona_ll != NULL && static_ll != NULL && model->derived != NULL;
    float *work = malloc(2 * (size_t)k * sizeof(float));
    double sum = 0.0;
    size_t used = 0;

    if (work == NULL)
        return VC_ENOMEM;
    for (size_t t = 0; t < feats->n; t++) {
        if (!use_frame(feats, t)) {
            if (llr != NULL)
                llr[t] = NAN;
            if (bona_ll != NULL)
                bona_ll[t] = NAN;
            continue;
        }
        const float *x = feats->lfcc + t * VC_AUDIO__DIM;
        double ls = NAN;
        double lb = split ? bona_split(model, x, work, &ls) : vc_gmm__loglik(&model->bona, x, work);
        double v = lb - vc_gmm__loglik(&model->spoof, x, work);
        if (bona_ll != NULL)
            bona_ll[t] = (float)lb;
        if (split)
            static_ll[t] = (float)ls;
        if (llr != NULL)
            llr[t] = (float)v;
        sum += v;
        used++;
    }
    free(work);
    *mean = used > 0 ? sum / (double)used : 0.0;
    *count = used;
    return 0;
}

/* Per-frame score: the clip's logit shifted by how far the mean LLR within +-1 s of the frame
 * lies from the clip's mean LLR (through the LLR weight of the model). */
static void frame_scores(const vc_audio_model_t *model, const float *llr, size_t n,
                         double clip_logit, double clip_llr, double *frame_score)
{
    const vc_logreg__t *lr = &model->synth;
    double slope = lr->w[0] / lr->scale[0];
    double sum = 0.0;
    size_t cnt = 0, lo = 0, hi = 0; /* window [lo, hi) */
    for (size_t t = 0; t < n; t++) {
        size_t want_hi = t + SEGMENT_HALF + 1 < n ? t + SEGMENT_HALF + 1 : n;
        size_t want_lo = t > SEGMENT_HALF ? t - SEGMENT_HALF : 0;
        for (; hi < want_hi; hi++)
            if (!isnan(llr[hi])) {
                sum += llr[hi];
                cnt++;
            }
        for (; lo < want_lo; lo++)
            if (!isnan(llr[lo])) {
                sum -= llr[lo];
                cnt--;
            }
        if (cnt == 0)
            continue;
        double p = vc_audio__sigmoid(clip_logit + slope * (sum / (double)cnt - clip_llr));
        if (p > frame_score[t])
            frame_score[t] = p;
    }
}

const char *const vc_audio__synth_names[VC_AUDIO__SYNTH_NF] = {
    "llr_mean",    "jitter",       "shimmer",       "f0_spread_st",
    "f0_rough_st", "voiced_share", "flatness_mean", "energy_delta_sd_db",
};

/* Spread of the voiced F0 (semitones) and of its frame-to-frame change. */
static void f0_stats(const vc_audio__feats_t *feats, double *spread, double *rough)
{
    double s = 0.0, s2 = 0.0, d = 0.0, d2 = 0.0;
    size_t v = 0, nd = 0;
    for (size_t t = 0; t < feats->n; t++) {
        if (feats->f0[t] <= 0.0f)
            continue;
        double st = 12.0 * log2(feats->f0[t] / 100.0);
        s += st;
        s2 += st * st;
        v++;
        if (t > 0 && feats->f0[t - 1] > 0.0f) {
            double dd = st - 12.0 * log2(feats->f0[t - 1] / 100.0);
            d += dd;
            d2 += dd * dd;
            nd++;
        }
    }
    *spread = v > 1 ? sqrt(fmax(s2 / v - (s / v) * (s / v), 0.0)) : 0.0;
    *rough = nd > 1 ? sqrt(fmax(d2 / nd - (d / nd) * (d / nd), 0.0)) : 0.0;
}

void vc_audio__synth_features(const vc_audio__feats_t *feats, double mean_llr, double jitter,
                              double shimmer, double *f)
{
    double flat = 0.0, de = 0.0, de2 = 0.0;
    size_t v = 0, nde = 0;
    for (size_t t = 0; t < feats->n; t++) {
        v += feats->f0[t] > 0.0f;
        if (!feats->active[t])
            continue;
        flat += feats->flatness[t];
        if (t > 0 && feats->active[t - 1]) {
            double d = (double)feats->energy_db[t] - feats->energy_db[t - 1];
            de += d;
            de2 += d * d;
            nde++;
        }
    }
    f[0] = mean_llr;
    f[1] = jitter;
    f[2] = shimmer;
    f0_stats(feats, &f[3], &f[4]);
    f[5] = feats->n_active > 0 ? (double)v / (double)feats->n_active : 0.0;
    f[6] = feats->n_active > 0 ? flat / (double)feats->n_active : 0.0;
    f[7] = nde > 1 ? sqrt(fmax(de2 / nde - (de / nde) * (de / nde), 0.0)) : 0.0;
}

static int synth_analyze(const vc_audio__input_t *in, vc_audio_analyzer_result_t *res)
{
    const vc_audio__feats_t *feats = in->feats;
    float *llr = malloc(feats->n * sizeof(float));
    double mean, f[VC_AUDIO__SYNTH_NF];
    size_t used;

    if (llr == NULL)
        return VC_ENOMEM;
    int rc = vc_audio__synth_llr_ll(in->model, feats, llr, feats->bona_ll, feats->bona_static_ll,
                                    &mean, &used);
    if (rc != 0) {
        free(llr);
        return rc;
    }
    vc_audio__synth_features(feats, mean, in->jitter, in->shimmer, f);
    double logit = vc_logreg__logit(&in->model->synth, f);
    size_t spoofish = 0;
    for (size_t t = 0; t < feats->n; t++)
        spoofish += !isnan(llr[t]) && llr[t] < 0.0f;
    if (in->frame_score != NULL)
        frame_scores(in->model, llr, feats->n, logit, mean, in->frame_score);
    free(llr);
    res->score = vc_audio__sigmoid(logit);
    for (int i = 0; i < VC_AUDIO__SYNTH_NF; i++)
        vc_audio__evidence(res, vc_audio__synth_names[i], f[i]);
    vc_audio__evidence(res, "spoof_frame_share", used > 0 ? (double)spoofish / used : 0.0);
    vc_audio__evidence(res, "frames_scored", (double)used);
    return 0;
}

const vc_audio__analyzer_t vc_audio__an_synthetic = {
    VC_AUDIO__ANALYZER_API,
    "synthetic_speech",
    "lfcc-gmm-2",
    synth_analyze,
};
