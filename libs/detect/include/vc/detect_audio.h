#ifndef VC_DETECT_AUDIO_H
#define VC_DETECT_AUDIO_H
/* Audio spoof detection: a trained model, three analyzers (synthetic_speech, replay,
 * splice), per-segment scores and a fused verdict. Pure computation: the only I/O is
 * reading the model file (vc_audio_model_load) and vc_detect_read_file for the tools.
 *
 * Threads: a loaded model is immutable and may be shared by any number of threads calling
 * vc_audio_detect at once; free it only after every such call has returned. */
#include <stddef.h>
#include <stdint.h>

#include "vc/detect.h"

#define VC_AUDIO_MAX_ANALYZERS 4
#define VC_AUDIO_MAX_EVIDENCE 12
#define VC_AUDIO_MAX_SEGMENTS 120
#define VC_AUDIO_MAX_SPLICES 3

/* The model file format version this code reads and writes. */
#define VC_AUDIO_MODEL_FORMAT 2 /* 2: one-input fusion curve and the splice cut-off (disc-lr-3) */

typedef struct vc_audio_model vc_audio_model_t;

typedef enum {
    VC_AUDIO_GENUINE = 0,
    VC_AUDIO_SPOOF = 1,
    VC_AUDIO_INCONCLUSIVE = 2
} vc_audio_verdict_t;

/* Labels of the evaluation list format (path<TAB>label[<TAB>splice_seconds]). */
typedef enum {
    VC_AUDIO_LABEL_BONAFIDE = 0,
    VC_AUDIO_LABEL_TTS = 1,
    VC_AUDIO_LABEL_REPLAY = 2,
    VC_AUDIO_LABEL_SPLICE = 3
} vc_audio_label_t;
#define VC_AUDIO_LABELS 4

typedef struct {
    vc_audio_opts_t decode; /* decoder limits and the pcm16 rate */
    double genuine_below;   /* score < genuine_below: genuine (default 0.35) */
    double spoof_from;      /* score >= spoof_from: spoof (default 0.65); between: inconclusive */
    double segment_s;       /* segment length for per-segment scores (default 1 s; longer clips
                               get longer segments so there are at most VC_AUDIO_MAX_SEGMENTS) */
} vc_audio_detect_opts_t;

typedef struct {
    char key[32];
    double value;
} vc_audio_evidence_t;

typedef struct {
    char name[32]; /* "synthetic_speech", "replay", "splice" */
    char version[16];
    double score; /* [0,1], probability-like spoof score */
    size_t n_evidence;
    vc_audio_evidence_t evidence[VC_AUDIO_MAX_EVIDENCE];
} vc_audio_analyzer_result_t;

typedef struct {
    double start_s, end_s;
    double score; /* [0,1]: the strongest per-frame spoof evidence in the segment */
} vc_audio_segment_t;

typedef struct {
    double score; /* [0,1] fused spoof score (the model's fusion of the analyzers) */
    vc_audio_verdict_t verdict;
    double duration_s;    /* of the decoded input */
    uint32_t sample_rate; /* of the input, before resampling to 16 kHz */
    int channels;
    char model_version[32];
    size_t n_analyzers;
    vc_audio_analyzer_result_t analyzers[VC_AUDIO_MAX_ANALYZERS];
    size_t n_segments;
    vc_audio_segment_t segments[VC_AUDIO_MAX_SEGMENTS];
    size_t n_splices; /* suspected splice times, strongest first */
    double splice_s[VC_AUDIO_MAX_SPLICES];
    double decode_ms, features_ms, scoring_ms; /* wall time of each stage of this call */
} vc_audio_detection_t;

/* Defaults: decoder defaults (600 s, 8 channels), thresholds 0.35 / 0.65, 1 s segments. */
void vc_audio_detect_opts_default(vc_audio_detect_opts_t *opts);

/* Loads a model file written by vc-train. Returns 0; VC_ENOTFOUND / VC_EIO (cannot read),
 * VC_EFORMAT (wrong magic, unsupported format version, bad checksum, inconsistent sizes),
 * VC_ETOOBIG (over 64 MB) or VC_ENOMEM. On success the caller frees *model with
 * vc_audio_model_free. */
int vc_audio_model_load(const char *path, vc_audio_model_t **model, char *err, size_t errlen);

/* The same from bytes in memory (not retained). */
int vc_audio_model_load_mem(const uint8_t *data, size_t len, vc_audio_model_t **model, char *err,
                            size_t errlen);

/* Frees a model. NULL is ignored. No vc_audio_detect may be running on it. */
void vc_audio_model_free(vc_audio_model_t *model);

/* The model's version string (e.g. "lfcc-gmm128-s1"). Valid while the model lives. */
const char *vc_audio_model_version(const vc_audio_model_t *model);

/* The model path compiled in at build time (the committed model in the source tree). The
 * detector should prefer its AUDIO_MODEL_PATH configuration when set. Never NULL. */
const char *vc_audio_model_default_path(void);

/* Decodes data (formats as for vc_audio_analyze), resamples it to 16 kHz with libsoxr and
 * runs every analyzer. Fills out completely. Returns 0, or the decoder's errors (VC_EFORMAT,
 * VC_ETOOBIG, VC_EINVAL), VC_EINVAL (NULL model/out, thresholds not 0 <= genuine_below <=
 * spoof_from <= 1, segment_s not in [0.1, 3600]) or VC_ENOMEM; err explains; on failure
 * out is zeroed. opts may be NULL (defaults). Any thread. */
int vc_audio_detect(const vc_audio_model_t *model, const uint8_t *data, size_t len,
                    const char *format, const vc_audio_detect_opts_t *opts,
                    vc_audio_detection_t *out, char *err, size_t errlen);

/* vc_audio_detect, also filling *stats as vc_audio_analyze would (the signal statistics of
 * the decoded audio at its own rate), from a single decode: a caller that wants both pays for
 * decoding once. stats NULL is vc_audio_detect. On failure both are zeroed. */
int vc_audio_detect_with_stats(const vc_audio_model_t *model, const uint8_t *data, size_t len,
                               const char *format, const vc_audio_detect_opts_t *opts,
                               vc_audio_detection_t *out, vc_audio_report_t *stats, char *err,
                               size_t errlen);

/* The same on n mono float samples at rate (8000..192000). */
int vc_audio_detect_pcm(const vc_audio_model_t *model, const float *x, size_t n, uint32_t rate,
                        const vc_audio_detect_opts_t *opts, vc_audio_detection_t *out, char *err,
                        size_t errlen);

/* "genuine", "spoof", "inconclusive". */
const char *vc_audio_verdict_name(vc_audio_verdict_t verdict);

/* Parses a list label ("bonafide", "tts", "replay", "splice"). Returns 0 or VC_EINVAL. */
int vc_audio_label_parse(const char *s, vc_audio_label_t *label);
const char *vc_audio_label_name(vc_audio_label_t label);

/* Parses one line of a labeled list in place: "path<TAB>label[<TAB>splice_seconds]" (a
 * trailing newline/CR is removed; '#' lines and blank lines give VC_ENOTFOUND). *path points
 * into line. *splice_s is the splice time for label splice (required there), else -1.
 * Returns 0, VC_ENOTFOUND (skip) or VC_EINVAL (malformed; err explains). */
int vc_audio_list_parse_line(char *line, const char **path, vc_audio_label_t *label,
                             double *splice_s, char *err, size_t errlen);

/* Reads the whole file at path (at most max bytes) into a malloc'd buffer; the caller frees
 * *data. Returns 0, VC_ENOTFOUND, VC_EIO, VC_ETOOBIG or VC_ENOMEM. */
int vc_detect_read_file(const char *path, size_t max, uint8_t **data, size_t *len, char *err,
                        size_t errlen);

/* ------------------------------------------------------------------ training */

typedef struct vc_audio_trainer vc_audio_trainer_t;

typedef struct {
    int components;    /* per GMM (default 128) */
    int em_iters;      /* default 20 */
    uint64_t seed;     /* default 1 */
    size_t max_frames; /* per class, frames subsampled evenly beyond it (default 200000) */
    char version[32];  /* model version string; "" = "lfcc-gmm<K>-s<seed>" */
    int verbose;       /* 1: progress of the fit on stderr */
} vc_audio_train_opts_t;

void vc_audio_train_opts_default(vc_audio_train_opts_t *opts);

/* A trainer accumulates material from labeled clips, then fits a model. Not thread-safe:
 * one thread owns it. Returns 0 or VC_ENOMEM; caller frees with vc_audio_trainer_free. */
int vc_audio_trainer_new(const vc_audio_train_opts_t *opts, vc_audio_trainer_t **trainer);
void vc_audio_trainer_free(vc_audio_trainer_t *trainer);

/* Decodes one clip and keeps what training needs. splice_s is the splice time (label
 * splice) or negative. Returns 0 or the decoder's errors (the clip is then skipped). */
int vc_audio_trainer_add(vc_audio_trainer_t *trainer, const uint8_t *data, size_t len,
                         vc_audio_label_t label, double splice_s, char *err, size_t errlen);

/* Fits every part of the model and serialises it (a malloc'd buffer the caller frees).
 * Deterministic: the same clips in the same order and the same options give the same bytes.
 * Returns 0, VC_EINVAL (a class needed for training is missing) or VC_ENOMEM. */
int vc_audio_trainer_fit(vc_audio_trainer_t *trainer, uint8_t **model_buf, size_t *model_len,
                         char *err, size_t errlen);

#endif
