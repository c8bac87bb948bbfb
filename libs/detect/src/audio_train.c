/* Training of the audio model from labeled clips (vc-train): LFCC frames for the bona fide
 * and spoof GMMs, held-out clips for the calibration of their LLR, clip features for the
 * replay logistic model, frame features for the splice logistic model and its calibration.
 * Deterministic: no clock, no unseeded randomness, fixed iteration orders. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio_train.h"
#include "vc/error.h"

#define HOLDOUT_EVERY 5     /* every 5th bona fide / TTS clip calibrates, not trains */
#define SPLICE_POS_FRAMES 1 /* frames either side of the true splice counted positive */
#define SPLICE_NEG_GAP 30   /* frames from the splice beyond which frames are negative */
#define NEG_EVERY 5         /* keep every 5th negative frame */
#define EDGE 10

static void rows_init(rows_t *r, int w, size_t elem)
{
    memset(r, 0, sizeof(*r));
    r->w = w;
    r->elem = elem;
}

static void rows_free(rows_t *r)
{
    free(r->v);
    free(r->tag);
    memset(r, 0, sizeof(*r));
}

int vc_audio__rows_push(rows_t *r, const void *row, uint8_t tag)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 1024;
        void *v = realloc(r->v, cap * (size_t)r->w * r->elem);
        if (v == NULL)
            return VC_ENOMEM;
        r->v = v;
        uint8_t *t = realloc(r->tag, cap);
        if (t == NULL)
            return VC_ENOMEM;
        r->tag = t;
        r->cap = cap;
    }
    memcpy((char *)r->v + r->n * (size_t)r->w * r->elem, row, (size_t)r->w * r->elem);
    r->tag[r->n++] = tag;
    return 0;
}

void vc_audio_train_opts_default(vc_audio_train_opts_t *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->components = 128;
    opts->em_iters = 20;
    opts->seed = 1;
    opts->max_frames = 200000;
}

int vc_audio_trainer_new(const vc_audio_train_opts_t *opts, vc_audio_trainer_t **trainer)
{
    vc_audio_trainer_t *tr = calloc(1, sizeof(*tr));
    if (tr == NULL)
        return VC_ENOMEM;
    if (opts != NULL)
        tr->opts = *opts;
    else
        vc_audio_train_opts_default(&tr->opts);
    rows_init(&tr->bona, VC_AUDIO__DIM, sizeof(float));
    rows_init(&tr->spoof, VC_AUDIO__DIM, sizeof(float));
    rows_init(&tr->heldout, VC_AUDIO__DIM, sizeof(float));
    rows_init(&tr->heldout_clips, 4, sizeof(double));
    rows_init(&tr->heldout_replay, VC_AUDIO__REPLAY_NF, sizeof(double));
    rows_init(&tr->heldout_synth, VC_AUDIO__SYNTH_NF, sizeof(double));
    rows_init(&tr->heldout_splice, VC_AUDIO__SPLICE_NF, sizeof(double));
    rows_init(&tr->replay, VC_AUDIO__REPLAY_NF, sizeof(double));
    rows_init(&tr->splice_frames, VC_AUDIO__SPLICE_NF, sizeof(double));
    rows_init(&tr->splice_clips, VC_AUDIO__SPLICE_NF, sizeof(double));
    rows_init(&tr->splice_clip_index, 2, sizeof(double));
    *trainer = tr;
    return 0;
}

void vc_audio_trainer_free(vc_audio_trainer_t *tr)
{
    if (tr == NULL)
        return;
    rows_free(&tr->bona);
    rows_free(&tr->spoof);
    rows_free(&tr->heldout);
    rows_free(&tr->heldout_clips);
    rows_free(&tr->heldout_replay);
    rows_free(&tr->heldout_synth);
    rows_free(&tr->heldout_splice);
    rows_free(&tr->replay);
    rows_free(&tr->splice_frames);
    rows_free(&tr->splice_clips);
    rows_free(&tr->splice_clip_index);
    free(tr);
}

/* Whether the clip being added is held out (see audio_train.h): every HOLDOUT_EVERY-th bona
 * fide and TTS clip, every other replay and splice clip. Held-out clips train nothing but the
 * calibration of the synthetic-speech model and the fusion, so the fusion sees every analyzer
 * as it behaves on clips it never learnt from. */
static int is_heldout(const vc_audio_trainer_t *tr, vc_audio_label_t label)
{
    if (label != VC_AUDIO_LABEL_BONAFIDE && label != VC_AUDIO_LABEL_TTS)
        return tr->count[label] % 2 == 1;
    return tr->count[label] % HOLDOUT_EVERY == HOLDOUT_EVERY - 1;
}

/* LFCC of the scored frames (as the synthetic analyzer picks them) into dst. */
static int add_lfcc(rows_t *dst, const vc_audio__feats_t *feats)
{
    for (size_t t = 0; t < feats->n; t++) {
        if (feats->n_active >= 10 && !feats->active[t])
            continue;
        if (vc_audio__rows_push(dst, feats->lfcc + t * VC_AUDIO__DIM, 0) != 0)
            return VC_ENOMEM;
    }
    return 0;
}

/* The splice frame features of a clip (spectral jump included) into a malloc'd n x
 * VC_AUDIO__SPLICE_NF table, or NULL. */
static double *splice_rows(const vc_audio__feats_t *feats)
{
    vc_audio_model_t zero;
    double *fbuf = malloc(feats->n * VC_AUDIO__SPLICE_NF * sizeof(double));
    double *logit = malloc(feats->n * sizeof(double));
    memset(&zero, 0, sizeof(zero));
    zero.splice_frame.n = VC_AUDIO__SPLICE_NF;
    for (int i = 0; i < VC_AUDIO__SPLICE_NF; i++)
        zero.splice_frame.scale[i] = 1.0;
    if (fbuf != NULL && logit != NULL && vc_audio__splice_frames(&zero, feats, logit, fbuf) == 0) {
        free(logit);
        return fbuf;
    }
    free(fbuf);
    free(logit);
    return NULL;
}

/* A held-out clip: its LFCC, replay features and splice frame features, for calibration
 * and fusion. */
static int add_heldout(vc_audio_trainer_t *tr, const vc_audio__feats_t *feats,
                       vc_audio_label_t label, const double *rf, const double *sf)
{
    double clip[4] = {(double)tr->heldout.n, 0.0, (double)tr->heldout_splice.n, (double)feats->n};
    double *sp = splice_rows(feats);
    int rc = sp != NULL ? add_lfcc(&tr->heldout, feats) : VC_ENOMEM;
    clip[1] = (double)tr->heldout.n - clip[0];
    for (size_t t = 0; rc == 0 && t < feats->n; t++)
        rc = vc_audio__rows_push(&tr->heldout_splice, sp + t * VC_AUDIO__SPLICE_NF, 0);
    free(sp);
    if (rc == 0)
        rc = vc_audio__rows_push(&tr->heldout_replay, rf, 0);
    if (rc == 0)
        rc = vc_audio__rows_push(&tr->heldout_synth, sf, 0);
    if (rc == 0)
        rc = vc_audio__rows_push(&tr->heldout_clips, clip, (uint8_t)label);
    return rc;
}

/* Splice frame features: training frames (positives near the splice, sampled negatives)
 * and the whole clip for the calibration of the clip score. */
static int add_splice(vc_audio_trainer_t *tr, const vc_audio__feats_t *feats, double splice_s)
{
    double *fbuf = splice_rows(feats);
    int rc = VC_ENOMEM;

    if (fbuf == NULL)
        goto fail;
    long ts = splice_s >= 0.0 ? lround(splice_s * VC_AUDIO__FPS) : -1000000;
    double clip[2] = {(double)tr->splice_clips.n, (double)feats->n};
    for (size_t t = 0; t < feats->n; t++) {
        const double *row = fbuf + t * VC_AUDIO__SPLICE_NF;
        long dist = labs((long)t - ts);
        if (vc_audio__rows_push(&tr->splice_clips, row, 0) != 0)
            goto fail;
        if (t < EDGE || t + EDGE >= feats->n)
            continue;
        if (dist <= SPLICE_POS_FRAMES) {
            if (vc_audio__rows_push(&tr->splice_frames, row, 1) != 0)
                goto fail;
        } else if (dist > SPLICE_NEG_GAP && t % NEG_EVERY == 0) {
            if (vc_audio__rows_push(&tr->splice_frames, row, 0) != 0)
                goto fail;
        }
    }
    rc = vc_audio__rows_push(&tr->splice_clip_index, clip, splice_s >= 0.0);

fail:
    free(fbuf);
    return rc;
}

/* Distributes one clip's features by label. */
static int add_features(vc_audio_trainer_t *tr, const vc_audio__feats_t *feats,
                        vc_audio_label_t label, double splice_s, double jitter, double shimmer)
{
    double rf[VC_AUDIO__REPLAY_NF], sf[VC_AUDIO__SYNTH_NF];
    int rc = 0;

    vc_audio__replay_features(feats, rf);
    vc_audio__synth_features(feats, 0.0, jitter, shimmer, sf);
    if (is_heldout(tr, label))
        return add_heldout(tr, feats, label, rf, sf);
    if (label == VC_AUDIO_LABEL_BONAFIDE || label == VC_AUDIO_LABEL_TTS)
        rc = add_lfcc(label == VC_AUDIO_LABEL_TTS ? &tr->spoof : &tr->bona, feats);
    if (rc == 0 && label != VC_AUDIO_LABEL_TTS)
        rc = vc_audio__rows_push(&tr->replay, rf, label == VC_AUDIO_LABEL_REPLAY);
    if (rc == 0 && (label == VC_AUDIO_LABEL_BONAFIDE || label == VC_AUDIO_LABEL_SPLICE))
        rc = add_splice(tr, feats, label == VC_AUDIO_LABEL_SPLICE ? splice_s : -1.0);
    return rc;
}

int vc_audio_trainer_add(vc_audio_trainer_t *tr, const uint8_t *data, size_t len,
                         vc_audio_label_t label, double splice_s, char *err, size_t errlen)
{
    vc_audio_opts_t opts;
    vc_audio__pcm_t pcm;
    vc_audio__feats_t feats;
    double jitter, shimmer;

    if ((int)label < 0 || (int)label >= VC_AUDIO_LABELS)
        return vc_err(err, errlen, VC_EINVAL, "bad label %d", (int)label);
    vc_audio_opts_default(&opts);
    int rc = vc_audio__decode(data, len, NULL, &opts, &pcm, err, errlen);
    if (rc != 0)
        return rc;
    rc = vc_audio__resample(&pcm, err, errlen);
    if (rc == 0)
        rc = vc_audio__feats_compute(pcm.samples, pcm.frames, &feats, err, errlen);
    if (rc != 0) {
        vc_audio__pcm_free(&pcm);
        return rc;
    }
    vc_audio__pitch_track(pcm.samples, pcm.frames, &feats, &jitter, &shimmer);
    rc = add_features(tr, &feats, label, splice_s, jitter, shimmer);
    vc_audio__feats_free(&feats);
    vc_audio__pcm_free(&pcm);
    if (rc != 0)
        return vc_err(err, errlen, rc, "no memory for training material");
    tr->count[label]++;
    return 0;
}
