/* Fitting the audio model from a trainer's material: the two GMMs, the calibration of their
 * LLR on held-out clips, the replay and splice logistic models. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio_train.h"
#include "vc/error.h"

#define VAR_FLOOR 0.01
#define L2 1.0
#define EDGE 10

/* Rows of r, evenly subsampled to at most max; *owned tells whether the caller frees. */
static const float *subsample(const rows_t *r, size_t max, size_t *n, int *owned)
{
    *owned = 0;
    *n = r->n;
    if (r->n <= max || max == 0)
        return r->v;
    float *out = malloc(max * (size_t)r->w * sizeof(float));
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < max; i++) {
        size_t src = (size_t)((double)i * (double)r->n / (double)max);
        memcpy(out + i * (size_t)r->w, (const float *)r->v + src * (size_t)r->w,
               (size_t)r->w * sizeof(float));
    }
    *owned = 1;
    *n = max;
    return out;
}

static int fit_gmm(vc_gmm__t *gmm, const rows_t *r, const vc_audio_train_opts_t *opts,
                   uint64_t seed, const char *what, char *err, size_t errlen)
{
    size_t n;
    int owned;
    const float *x = subsample(r, opts->max_frames, &n, &owned);
    if (x == NULL && r->n > 0)
        return vc_err(err, errlen, VC_ENOMEM, "no memory to subsample %s frames", what);
    vc_gmm__train_opts_t go = {opts->components, opts->em_iters, seed, VAR_FLOOR};
    if (opts->verbose)
        fprintf(stderr, "vc-train: %s GMM: %d components on %zu frames\n", what, go.k, n);
    int rc = vc_gmm__train(gmm, x, n, VC_AUDIO__DIM, &go, err, errlen);
    if (owned)
        free((void *)x);
    return rc;
}

/* Turns a one-feature logistic model into p = sigmoid(a * x + b). */
static void one_dim(const vc_logreg__t *lr, double *a, double *b)
{
    *a = lr->w[0] / lr->scale[0];
    *b = lr->bias - lr->w[0] * lr->mean[0] / lr->scale[0];
}

/* Mean LLR of every held-out clip into llr (one per clip). */
static int heldout_llr(const vc_audio_model_t *model, const rows_t *ho, const rows_t *clips,
                       double *llr)
{
    int k = model->bona.k > model->spoof.k ? model->bona.k : model->spoof.k;
    float *work = malloc((size_t)k * sizeof(float));
    if (work == NULL)
        return VC_ENOMEM;
    for (size_t c = 0; c < clips->n; c++) {
        const double *clip = (const double *)clips->v + c * 4;
        size_t first = (size_t)clip[0], rows = (size_t)clip[1];
        double sum = 0.0;
        for (size_t r = first; r < first + rows; r++) {
            const float *f = (const float *)ho->v + r * VC_AUDIO__DIM;
            sum += vc_gmm__loglik(&model->bona, f, work) - vc_gmm__loglik(&model->spoof, f, work);
        }
        llr[c] = rows > 0 ? sum / (double)rows : 0.0;
    }
    free(work);
    return 0;
}

/* The synthetic-speech logistic model on the held-out bona fide and TTS clips: their mean
 * LLR (from GMMs that never saw them) and prosody features. Fills column 0 of
 * tr->heldout_synth with llr. */
static int fit_synth(vc_audio_model_t *model, vc_audio_trainer_t *tr, const double *llr, char *err,
                     size_t errlen)
{
    const rows_t *clips = &tr->heldout_clips;
    double *x = malloc((clips->n + 1) * VC_AUDIO__SYNTH_NF * sizeof(double));
    uint8_t *y = malloc(clips->n + 1);
    size_t m = 0;
    int rc = VC_ENOMEM;

    if (x == NULL || y == NULL)
        goto fail;
    for (size_t c = 0; c < clips->n; c++) {
        double *sf = (double *)tr->heldout_synth.v + c * VC_AUDIO__SYNTH_NF;
        sf[0] = llr[c];
        if (clips->tag[c] != VC_AUDIO_LABEL_BONAFIDE && clips->tag[c] != VC_AUDIO_LABEL_TTS)
            continue;
        memcpy(x + m * VC_AUDIO__SYNTH_NF, sf, VC_AUDIO__SYNTH_NF * sizeof(double));
        y[m++] = clips->tag[c] == VC_AUDIO_LABEL_TTS;
    }
    rc = vc_logreg__fit(&model->synth, x, y, m, VC_AUDIO__SYNTH_NF, L2);
    if (rc != 0) {
        rc = vc_err(err, errlen, rc, "held-out clips lack bona fide or TTS examples");
        goto fail;
    }
    if (tr->opts.verbose) {
        fprintf(stderr, "vc-train: synthetic model on %zu held-out clips, weights", m);
        for (int i = 0; i < VC_AUDIO__SYNTH_NF; i++)
            fprintf(stderr, " %s=%.3f", vc_audio__synth_names[i], model->synth.w[i]);
        fprintf(stderr, "\n");
    }

fail:
    free(x);
    free(y);
    return rc;
}

/* The largest splice frame logit of rows frames (edges excluded). */
static double best_splice_logit(const vc_logreg__t *lr, const double *f, size_t rows)
{
    double best = -20.0;
    for (size_t t = EDGE; t + EDGE < rows; t++) {
        double z = vc_logreg__logit(lr, f + t * VC_AUDIO__SPLICE_NF);
        best = z > best ? z : best;
    }
    return best;
}

/* Clipped logit of a probability: what fusion sees of each analyzer. */
static double fusion_input(double p)
{
    double z = log((p + 1e-12) / (1.0 - p + 1e-12));
    return z > VC_AUDIO__FUSION_CLIP    ? VC_AUDIO__FUSION_CLIP
           : z < -VC_AUDIO__FUSION_CLIP ? -VC_AUDIO__FUSION_CLIP
                                        : z;
}

/* The fusion logistic model over the analyzers' clipped logits, on every held-out clip
 * (bona fide = 0, any attack = 1). */
static int fit_fusion(vc_audio_model_t *model, const vc_audio_trainer_t *tr, char *err,
                      size_t errlen)
{
    const rows_t *clips = &tr->heldout_clips;
    double *x = malloc((clips->n + 1) * 3 * sizeof(double));
    uint8_t *y = malloc(clips->n + 1);
    int rc = VC_ENOMEM;

    if (x == NULL || y == NULL)
        goto fail;
    for (size_t c = 0; c < clips->n; c++) {
        const double *clip = (const double *)clips->v + c * 4;
        const double *sp =
            (const double *)tr->heldout_splice.v + (size_t)clip[2] * VC_AUDIO__SPLICE_NF;
        const double *rf = (const double *)tr->heldout_replay.v + c * VC_AUDIO__REPLAY_NF;
        double zs = best_splice_logit(&model->splice_frame, sp, (size_t)clip[3]);
        const double *sf = (const double *)tr->heldout_synth.v + c * VC_AUDIO__SYNTH_NF;
        x[c * 3] = fusion_input(vc_audio__sigmoid(vc_logreg__logit(&model->synth, sf)));
        x[c * 3 + 1] = fusion_input(vc_audio__sigmoid(vc_logreg__logit(&model->replay, rf)));
        x[c * 3 + 2] = fusion_input(vc_audio__sigmoid(model->splice_a * zs + model->splice_b));
        y[c] = clips->tag[c] != VC_AUDIO_LABEL_BONAFIDE;
    }
    rc = vc_logreg__fit(&model->fusion, x, y, clips->n, 3, 1e-2);
    if (rc != 0)
        rc = vc_err(err, errlen, rc, "fusion needs held-out bona fide and attack clips");
    else if (tr->opts.verbose)
        fprintf(stderr, "vc-train: fusion weights %.3f %.3f %.3f bias %.3f on %zu clips\n",
                model->fusion.w[0] / model->fusion.scale[0],
                model->fusion.w[1] / model->fusion.scale[1],
                model->fusion.w[2] / model->fusion.scale[2], model->fusion.bias, clips->n);

fail:
    free(x);
    free(y);
    return rc;
}

/* The splice frame model, then the calibration of each clip's best frame logit. */
static int fit_splice(vc_audio_model_t *model, const vc_audio_trainer_t *tr, char *err,
                      size_t errlen)
{
    const rows_t *idx = &tr->splice_clip_index;
    double *x = malloc((idx->n + 1) * sizeof(double));
    uint8_t *y = malloc(idx->n + 1);
    vc_logreg__t lr;
    int rc = VC_ENOMEM;

    if (x == NULL || y == NULL)
        goto fail;
    rc = vc_logreg__fit(&model->splice_frame, tr->splice_frames.v, tr->splice_frames.tag,
                        tr->splice_frames.n, VC_AUDIO__SPLICE_NF, L2);
    if (rc != 0) {
        rc = vc_err(err, errlen, rc, "no splice clips (or no bona fide clips) to train on");
        goto fail;
    }
    for (size_t c = 0; c < idx->n; c++) {
        const double *clip = (const double *)idx->v + c * 2;
        size_t first = (size_t)clip[0], rows = (size_t)clip[1];
        x[c] = best_splice_logit(&model->splice_frame,
                                 (const double *)tr->splice_clips.v + first * VC_AUDIO__SPLICE_NF,
                                 rows);
        y[c] = idx->tag[c];
    }
    rc = vc_logreg__fit(&lr, x, y, idx->n, 1, 1e-3);
    if (rc != 0) {
        rc = vc_err(err, errlen, rc, "splice calibration needs bona fide and splice clips");
        goto fail;
    }
    one_dim(&lr, &model->splice_a, &model->splice_b);
    if (tr->opts.verbose)
        fprintf(stderr, "vc-train: splice model on %zu frames, calibration a=%.4f b=%.4f\n",
                tr->splice_frames.n, model->splice_a, model->splice_b);

fail:
    free(x);
    free(y);
    return rc;
}

static int fit_all(vc_audio_trainer_t *tr, vc_audio_model_t *model, char *err, size_t errlen)
{
    const vc_audio_train_opts_t *o = &tr->opts;
    double *llr = malloc((tr->heldout_clips.n + 1) * sizeof(double));
    int rc = llr != NULL ? 0 : vc_err(err, errlen, VC_ENOMEM, "no memory");
    if (rc == 0)
        rc = fit_gmm(&model->bona, &tr->bona, o, o->seed, "bona fide", err, errlen);
    if (rc == 0)
        rc = fit_gmm(&model->spoof, &tr->spoof, o, o->seed + 1, "spoof", err, errlen);
    if (rc == 0 && heldout_llr(model, &tr->heldout, &tr->heldout_clips, llr) != 0)
        rc = vc_err(err, errlen, VC_ENOMEM, "no memory");
    if (rc == 0)
        rc = fit_synth(model, tr, llr, err, errlen);
    if (rc == 0) {
        rc = vc_logreg__fit(&model->replay, tr->replay.v, tr->replay.tag, tr->replay.n,
                            VC_AUDIO__REPLAY_NF, L2);
        if (rc != 0)
            rc = vc_err(err, errlen, rc, "replay model needs bona fide and replay clips");
    }
    if (rc == 0)
        rc = fit_splice(model, tr, err, errlen);
    if (rc == 0)
        rc = fit_fusion(model, tr, err, errlen);
    free(llr);
    return rc;
}

int vc_audio_trainer_fit(vc_audio_trainer_t *tr, uint8_t **model_buf, size_t *model_len, char *err,
                         size_t errlen)
{
    vc_audio_model_t *model = calloc(1, sizeof(*model));
    if (model == NULL)
        return vc_err(err, errlen, VC_ENOMEM, "no memory for the model");
    if (tr->opts.version[0] != '\0')
        snprintf(model->version, sizeof(model->version), "%s", tr->opts.version);
    else
        snprintf(model->version, sizeof(model->version), "lfcc-gmm%d-s%llu", tr->opts.components,
                 (unsigned long long)tr->opts.seed);
    model->seed = tr->opts.seed;
    int rc = fit_all(tr, model, err, errlen);
    if (rc == 0 && vc_audio__model_encode(model, model_buf, model_len) != 0)
        rc = vc_err(err, errlen, VC_ENOMEM, "no memory to encode the model");
    vc_audio_model_free(model);
    return rc;
}
