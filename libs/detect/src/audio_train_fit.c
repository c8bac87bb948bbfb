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
#define SPLICE_POS_FRAMES 1 /* frames either side of the true splice counted positive */
#define SPLICE_NEG_GAP 30   /* frames from the splice beyond which frames are negative */
#define NEG_EVERY 5         /* keep every 5th negative frame */

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

/* How far the largest splice frame logit of rows frames (edges excluded) stands above the
 * clip's level (vc_audio__splice_level), as the analyzer scores a clip; -20 when the clip
 * is too short or memory runs out. */
static double best_splice_logit(const vc_logreg__t *lr, const double *f, size_t rows)
{
    double best = -20.0;
    double *z = malloc((rows + 1) * sizeof(double));
    if (z == NULL || rows <= 2 * EDGE) {
        free(z);
        return best;
    }
    for (size_t t = 0; t < rows; t++) {
        z[t] = vc_logreg__logit(lr, f + t * VC_AUDIO__SPLICE_NF);
        if (t >= EDGE && t + EDGE < rows)
            best = z[t] > best ? z[t] : best;
    }
    best -= vc_audio__splice_level(z, rows);
    free(z);
    return best;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The fusion (see vc_audio__fusion_llr) on every held-out clip: the splice floor is the 95th
 * percentile of the splice logit over held-out bona fide clips (the splice score counts from
 * a 5 % false-alarm point up), then a one-input logistic maps the mixture LLR to a
 * probability (bona fide = 0, any attack = 1). Each analyzer's own calibration comes from
 * bona fide against its own attack only, so fusion learns no cross-attack weights: the old
 * linear fusion learnt to read the splice score as TTS evidence on the training voices,
 * which did not carry over to new ones. */
static int fit_fusion(vc_audio_model_t *model, const vc_audio_trainer_t *tr,
                      const double *pooled, char *err, size_t errlen)
{
    const rows_t *clips = &tr->heldout_clips;
    double *p = malloc((clips->n + 1) * VC_AUDIO__FUSION_NF * sizeof(double));
    double *x = malloc((clips->n + 1) * sizeof(double));
    uint8_t *y = malloc(clips->n + 1);
    size_t nb = 0;
    int rc = VC_ENOMEM;

    if (p == NULL || x == NULL || y == NULL)
        goto fail;
    for (size_t c = 0; c < clips->n; c++) {
        const double *clip = (const double *)clips->v + c * 4;
        const double *sp = pooled + (size_t)clip[2] * VC_AUDIO__SPLICE_NF;
        const double *rf = (const double *)tr->heldout_replay.v + c * VC_AUDIO__REPLAY_NF;
        const double *sf = (const double *)tr->heldout_synth.v + c * VC_AUDIO__SYNTH_NF;
        double zs = best_splice_logit(&model->splice_frame, sp, (size_t)clip[3]);
        double *pc = p + c * VC_AUDIO__FUSION_NF;
        pc[0] = vc_audio__sigmoid(vc_logreg__logit(&model->synth, sf));
        pc[1] = vc_audio__sigmoid(vc_logreg__logit(&model->replay, rf));
        pc[2] = vc_audio__sigmoid(model->splice_a * zs + model->splice_b);
        y[c] = clips->tag[c] != VC_AUDIO_LABEL_BONAFIDE;
        if (!y[c])
            x[nb++] = fmax(fmin(log((pc[2] + 1e-12) / (1.0 - pc[2] + 1e-12)),
                                VC_AUDIO__FUSION_CLIP),
                           -VC_AUDIO__FUSION_CLIP);
    }
    if (nb == 0) {
        rc = vc_err(err, errlen, VC_EINVAL, "fusion needs held-out bona fide clips");
        goto fail;
    }
    qsort(x, nb, sizeof(double), cmp_double);
    model->splice_floor = x[(size_t)(0.95 * (double)(nb - 1) + 0.5)];
    for (size_t c = 0; c < clips->n; c++)
        x[c] = vc_audio__fusion_llr(model, p + c * VC_AUDIO__FUSION_NF);
    rc = vc_logreg__fit(&model->fusion, x, y, clips->n, 1, 1e-2);
    if (rc == 0 && !(model->fusion.w[0] > 0.0))
        rc = VC_EINVAL;
    if (rc != 0)
        rc = vc_err(err, errlen, rc, "fusion needs held-out bona fide and attack clips");
    else if (tr->opts.verbose)
        fprintf(stderr, "vc-train: fusion splice floor %.3f, calibration %.3f x + %.3f on %zu "
                        "clips\n",
                model->splice_floor, model->fusion.w[0] / model->fusion.scale[0],
                model->fusion.bias -
                    model->fusion.w[0] * model->fusion.mean[0] / model->fusion.scale[0],
                clips->n);

fail:
    free(p);
    free(x);
    free(y);
    return rc;
}

/* Completes the GMM columns of rows raw rows (with their LFCC) under the model's bona fide
 * GMM and pools them clip by clip into a malloc'd rows x VC_AUDIO__SPLICE_NF table; clips
 * lists {first row, rows} every stride doubles. Returns NULL when out of memory. */
static double *splice_pooled(const vc_audio_model_t *model, rows_t *raw, const rows_t *lfcc,
                             const rows_t *clips, int stride, int first_col)
{
    double *out = malloc((raw->n + 1) * VC_AUDIO__SPLICE_NF * sizeof(double));
    if (out == NULL)
        return NULL;
    for (size_t c = 0; c < clips->n; c++) {
        const double *clip = (const double *)clips->v + c * (size_t)stride;
        size_t first = (size_t)clip[first_col], rows = (size_t)clip[first_col + 1];
        double *r = (double *)raw->v + first * VC_AUDIO__SPLICE_RAW_NF;
        if (vc_audio__splice_surprise(&model->bona, (const float *)lfcc->v + first * VC_AUDIO__DIM,
                                      lfcc->tag + first, NULL, NULL, rows, r) != 0) {
            free(out);
            return NULL;
        }
        vc_audio__splice_pool(r, rows, out + first * VC_AUDIO__SPLICE_NF);
    }
    return out;
}

/* The splice frame model on the training splice clips (frames at the cut against frames
 * far from it, in the same clips: bona fide clips would bring frames the bona fide GMM was
 * fitted on, whose dynamic surprise is biased low), then the calibration of each held-out
 * clip's best frame logit, bona fide against splice. *pooled gets the held-out clips' pooled
 * frame features (caller frees). */
static int fit_splice(vc_audio_model_t *model, vc_audio_trainer_t *tr, double **pooled,
                      char *err, size_t errlen)
{
    const rows_t *idx = &tr->splice_clip_index, *ho = &tr->heldout_clips;
    rows_t frames;
    double *x = malloc((ho->n + 1) * sizeof(double));
    uint8_t *y = malloc(ho->n + 1);
    double *train = splice_pooled(model, &tr->splice_raw, &tr->splice_lfcc, idx, 3, 0);
    vc_logreg__t lr;
    size_t m = 0;
    int rc = VC_ENOMEM;

    memset(&frames, 0, sizeof(frames));
    frames.w = VC_AUDIO__SPLICE_NF;
    frames.elem = sizeof(double);
    *pooled = splice_pooled(model, &tr->heldout_splice, &tr->heldout_splice_lfcc, ho, 4, 2);
    if (x == NULL || y == NULL || train == NULL || *pooled == NULL) {
        rc = vc_err(err, errlen, VC_ENOMEM, "no memory for splice features");
        goto fail;
    }
    for (size_t c = 0; c < idx->n; c++) {
        const double *clip = (const double *)idx->v + c * 3;
        size_t first = (size_t)clip[0], rows = (size_t)clip[1];
        long ts = (long)clip[2];
        for (size_t t = EDGE; t + EDGE < rows; t++) {
            long dist = labs((long)t - ts);
            const double *row = train + (first + t) * VC_AUDIO__SPLICE_NF;
            if (dist <= SPLICE_POS_FRAMES)
                rc = vc_audio__rows_push(&frames, row, 1);
            else if (dist > SPLICE_NEG_GAP && t % NEG_EVERY == 0)
                rc = vc_audio__rows_push(&frames, row, 0);
            else
                continue;
            if (rc != 0) {
                rc = vc_err(err, errlen, rc, "no memory for splice frames");
                goto fail;
            }
        }
    }
    rc = vc_logreg__fit(&model->splice_frame, frames.v, frames.tag, frames.n, VC_AUDIO__SPLICE_NF,
                        L2);
    if (rc != 0) {
        rc = vc_err(err, errlen, rc, "no splice clips to train on");
        goto fail;
    }
    for (size_t c = 0; c < ho->n; c++) {
        const double *clip = (const double *)ho->v + c * 4;
        if (ho->tag[c] != VC_AUDIO_LABEL_BONAFIDE && ho->tag[c] != VC_AUDIO_LABEL_SPLICE)
            continue;
        x[m] = best_splice_logit(&model->splice_frame,
                                 *pooled + (size_t)clip[2] * VC_AUDIO__SPLICE_NF, (size_t)clip[3]);
        y[m++] = ho->tag[c] == VC_AUDIO_LABEL_SPLICE;
    }
    rc = vc_logreg__fit(&lr, x, y, m, 1, 1e-3);
    if (rc != 0) {
        rc = vc_err(err, errlen, rc, "splice calibration needs held-out bona fide and splice clips");
        goto fail;
    }
    one_dim(&lr, &model->splice_a, &model->splice_b);
    if (tr->opts.verbose) {
        fprintf(stderr, "vc-train: splice model on %zu frames of %zu clips, weights", frames.n,
                idx->n);
        for (int i = 0; i < VC_AUDIO__SPLICE_NF; i++)
            fprintf(stderr, " %.2f", model->splice_frame.w[i]);
        fprintf(stderr, ", calibration a=%.4f b=%.4f on %zu held-out clips\n", model->splice_a,
                model->splice_b, m);
    }

fail:
    free(frames.v);
    free(frames.tag);
    free(train);
    free(x);
    free(y);
    return rc;
}

static int fit_all(vc_audio_trainer_t *tr, vc_audio_model_t *model, char *err, size_t errlen)
{
    const vc_audio_train_opts_t *o = &tr->opts;
    double *llr = malloc((tr->heldout_clips.n + 1) * sizeof(double));
    double *pooled = NULL;
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
        rc = fit_splice(model, tr, &pooled, err, errlen);
    if (rc == 0)
        rc = fit_fusion(model, tr, pooled, err, errlen);
    free(pooled);
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
