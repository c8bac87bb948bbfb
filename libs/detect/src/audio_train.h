#ifndef VC_DETECT_AUDIO_TRAIN_H
#define VC_DETECT_AUDIO_TRAIN_H
/* The trainer's material, shared by audio_train.c (collection) and audio_train_fit.c
 * (fitting). Not exported. */
#include "audio_engine.h"

/* A growable table of rows of w numbers (float or double) with a byte per row. */
typedef struct {
    void *v;
    uint8_t *tag;
    size_t n, cap;
    int w;
    size_t elem;
} rows_t;

struct vc_audio_trainer {
    vc_audio_train_opts_t opts;
    rows_t bona, spoof;       /* float LFCC rows of training clips */
    rows_t heldout;           /* float LFCC rows of held-out clips */
    rows_t heldout_clips;     /* double {lfcc first, lfcc rows, splice first, splice rows};
                                 tag = label. Held out: every HOLDOUT_EVERY-th bona fide and
                                 TTS clip, every other replay and splice clip; held-out clips
                                 train only the synthetic calibration and the fusion */
    rows_t heldout_replay;    /* double replay features per held-out clip */
    rows_t heldout_synth;     /* double synthetic-speech clip features per held-out clip
                                 (column 0, the LLR, filled at fit time) */
    rows_t heldout_splice;    /* double raw splice cues (VC_AUDIO__SPLICE_RAW_NF) of every frame
                                 of held-out clips; the GMM columns are filled at fit time */
    rows_t heldout_splice_lfcc; /* float LFCC of the same frames (for those columns); tag =
                                   voice activity */
    rows_t replay;            /* double replay features; tag = is_replay */
    rows_t splice_raw;        /* double raw splice cues of every frame of training splice clips */
    rows_t splice_lfcc;       /* float LFCC of the same frames; tag = voice activity */
    rows_t splice_clip_index; /* double {first row, rows, splice frame} per training splice clip */
    size_t count[VC_AUDIO_LABELS];
};

/* Appends one row (w numbers of the table's element size) with a tag. Returns 0 or
 * VC_ENOMEM. */
int vc_audio__rows_push(rows_t *r, const void *row, uint8_t tag);

#endif
