/* Training of the audio model from labeled clips (vc-train): LFCC frames for the bona fide
 * and spoof GMMs, held-out clips for the calibration of their LLR, clip features for the
 * replay logistic model, raw frame cues and LFCC of splice clips for the splice logistic
 * model (its GMM cues need the bona fide GMM, so they are completed at fit time).
 * Deterministic: no clock, no unseeded randomness, fixed iteration orders. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio_train.h"
#include "vc/error.h"

#define HOLDOUT_EVERY 5     /* every 5th bona fide / TTS clip calibrates, not trains */

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
    rows_init(&tr->heldout_splice, VC_AUDIO__SPLICE_RAW_NF, sizeof(double));
    rows_init(&tr->heldout_splice_lfcc, VC_AUDIO__DIM, sizeof(float));
    rows_init(&tr->replay, VC_AUDIO__REPLAY_NF, sizeof(double));
    rows_init(&tr->splice_raw, VC_AUDIO__SPLICE_RAW_NF, sizeof(double));
    rows_init(&tr->splice_lfcc, VC_AUDIO__DIM, sizeof(float));
    rows_init(&tr->splice_clip_index, 3, sizeof(double));
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
    rows_free(&tr->heldout_splice_lfcc);
    rows_free(&tr->replay);
    rows_free(&tr->splice_raw);
    rows_free(&tr->splice_lfcc);
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

/* The raw splice cues and the LFCC of every frame of a clip into raw and lfcc (tagged with
 * the frame's voice activity). Returns 0 or VC_ENOMEM. */
static int splice_material(rows_t *raw, rows_t *lfcc, const vc_audio__feats_t *feats,
                           const float *x, size_t n)
{
    double *r = malloc((feats->n + 1) * VC_AUDIO__SPLICE_RAW_NF * sizeof(double));
    int rc = r != NULL ? vc_audio__splice_raw(feats, x, n, r) : VC_ENOMEM;
    for (size_t t = 0; rc == 0 && t < feats->n; t++) {
        rc = vc_audio__rows_push(raw, r + t * VC_AUDIO__SPLICE_RAW_NF, 0);
        if (rc == 0)
            rc = vc_audio__rows_push(lfcc, feats->lfcc + t * VC_AUDIO__DIM, feats->active[t]);
    }
    free(r);
    return rc;
}

/* A held-out clip: its LFCC, replay features and raw splice cues, for calibration and
 * fusion. */
static int add_heldout(vc_audio_trainer_t *tr, const vc_audio__feats_t *feats, const float *x,
                       size_t n, vc_audio_label_t label, const double *rf, const double *sf)
{
    double clip[4] = {(double)tr->heldout.n, 0.0, (double)tr->heldout_splice.n, (double)feats->n};
    int rc = add_lfcc(&tr->heldout, feats);
    clip[1] = (double)tr->heldout.n - clip[0];
    if (rc == 0)
        rc = splice_material(&tr->heldout_splice, &tr->heldout_splice_lfcc, feats, x, n);
    if (rc == 0)
        rc = vc_audio__rows_push(&tr->heldout_replay, rf, 0);
    if (rc == 0)
        rc = vc_audio__rows_push(&tr->heldout_synth, sf, 0);
    if (rc == 0)
        rc = vc_audio__rows_push(&tr->heldout_clips, clip, (uint8_t)label);
    return rc;
}

/* A training splice clip: raw cues and LFCC of every frame, and where the cut is. */
static int add_splice(vc_audio_trainer_t *tr, const vc_audio__feats_t *feats, const float *x,
                      size_t n, double splice_s)
{
    double clip[3] = {(double)tr->splice_raw.n, (double)feats->n,
                      (double)lround(splice_s * VC_AUDIO__FPS)};
    int rc = splice_material(&tr->splice_raw, &tr->splice_lfcc, feats, x, n);
    return rc == 0 ? vc_audio__rows_push(&tr->splice_clip_index, clip, 1) : rc;
}

/* Distributes one clip's features by label. */
static int add_features(vc_audio_trainer_t *tr, const vc_audio__feats_t *feats, const float *x,
                        size_t n, vc_audio_label_t label, double splice_s, double jitter,
                        double shimmer)
{
    double rf[VC_AUDIO__REPLAY_NF], sf[VC_AUDIO__SYNTH_NF];
    int rc = 0;

    vc_audio__replay_features(feats, rf);
    vc_audio__synth_features(feats, 0.0, jitter, shimmer, sf);
    if (is_heldout(tr, label))
        return add_heldout(tr, feats, x, n, label, rf, sf);
    if (label == VC_AUDIO_LABEL_BONAFIDE || label == VC_AUDIO_LABEL_TTS)
        rc = add_lfcc(label == VC_AUDIO_LABEL_TTS ? &tr->spoof : &tr->bona, feats);
    if (rc == 0 && label != VC_AUDIO_LABEL_TTS)
        rc = vc_audio__rows_push(&tr->replay, rf, label == VC_AUDIO_LABEL_REPLAY);
    if (rc == 0 && label == VC_AUDIO_LABEL_SPLICE && splice_s >= 0.0)
        rc = add_splice(tr, feats, x, n, splice_s);
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
    rc = add_features(tr, &feats, pcm.samples, pcm.frames, label, splice_s, jitter, shimmer);
    vc_audio__feats_free(&feats);
    vc_audio__pcm_free(&pcm);
    if (rc != 0)
        return vc_err(err, errlen, rc, "no memory for training material");
    tr->count[label]++;
    return 0;
}
