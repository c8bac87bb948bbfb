#ifndef VC_DETECT_AUDIO_ENGINE_H
#define VC_DETECT_AUDIO_ENGINE_H
/* Shared between the spoof-detection files of libs/detect; not exported. The pipeline:
 * decode (audio_decode.c) → resample to 16 kHz (audio_resample.c) → frame features
 * (audio_frames.c, audio_pitch.c) → analyzers (an_*.c, each a const vtable) → fusion
 * (audio_detect.c). The model (audio_model.c) holds the GMMs (gmm.c) and the logistic
 * weights every analyzer needs; it is immutable once loaded. Every function here is
 * reentrant: all state is in its arguments. */
#include <stddef.h>
#include <stdint.h>

#include "audio_internal.h"
#include "vc/detect_audio.h"

#define VC_AUDIO__RATE 16000u /* analysis sample rate */
#define VC_AUDIO__WIN 320     /* 20 ms Hamming window */
#define VC_AUDIO__HOP 160     /* 10 ms shift */
#define VC_AUDIO__NFFT 512
#define VC_AUDIO__BINS (VC_AUDIO__NFFT / 2 + 1)
#define VC_AUDIO__NFILT 20                 /* linear triangular filters */
#define VC_AUDIO__NCEP 20                  /* cepstral coefficients, c0 included */
#define VC_AUDIO__DIM (3 * VC_AUDIO__NCEP) /* static + delta + delta-delta */
#define VC_AUDIO__FPS 100.0                /* frames per second */
#define VC_AUDIO__REPLAY_NF 10             /* replay feature vector length */
#define VC_AUDIO__SYNTH_NF 8               /* synthetic-speech clip features (LLR first) */
#define VC_AUDIO__SPLICE_RAW_NF 11         /* raw per-frame splice cues (an_splice.c) */
#define VC_AUDIO__SPLICE_NF (VC_AUDIO__SPLICE_RAW_NF + 2) /* pooled cues + 2 coincidence terms */

/* ------------------------------------------------------------------ FFT (audio_fft.c) */

/* FFTW's planner is global: every plan creation/destruction in libs/detect goes through
 * this lock. */
void vc_audio__fft_lock(void);
void vc_audio__fft_unlock(void);

/* The shared 512-point r2c plan, created once (thread-safe). Execute it only with
 * fftw_execute_dft_r2c on fftw_malloc'd buffers. NULL when FFTW failed to plan. */
const void *vc_audio__fft_plan512(void);

/* ------------------------------------------------------------- resampling */

/* Resamples pcm in place to VC_AUDIO__RATE with libsoxr (high quality). A pcm already at
 * that rate is left alone. Returns 0 or VC_ENOMEM / VC_EFORMAT (soxr error); on failure pcm
 * is unchanged. */
int vc_audio__resample(vc_audio__pcm_t *pcm, char *err, size_t errlen);

/* ------------------------------------------------------------- frame features */

typedef struct {
    size_t n;         /* frames (10 ms hop); at least 1 for any non-empty input */
    float *lfcc;      /* n x VC_AUDIO__DIM, row-major: 20 LFCC, 20 delta, 20 delta-delta */
    float *energy_db; /* n: frame power, dB re full scale */
    float *flatness;  /* n: spectral flatness of the frame, 0..1 */
    float *click_db;  /* n: spikiness of the first difference, dB over +-10 ms (audio_frames.c) */
    float *f0;        /* n: pitch in Hz, 0 when unvoiced (audio_pitch.c) */
    float *voicing;   /* n: periodicity (normalised autocorrelation peak) of the 32 ms from
                         the frame start, 0 for inactive frames (audio_pitch.c) */
    uint8_t *active;  /* n: 1 when the frame holds speech */
    float *bona_ll;   /* n: log-likelihood under the bona fide GMM, written by the
                         synthetic-speech analyzer (first in the table) for the frames it
                         scores and reused by the splice analyzer; NAN until then */
    float *bona_static_ll; /* n: the same for the static LFCC alone (the marginal over the
                              first VC_AUDIO__NCEP dimensions); in bona_ll's allocation */
    size_t n_active;
    double ltas[VC_AUDIO__BINS]; /* mean power spectrum of the active frames */
    double noise_floor_db;       /* 10th percentile of frame energy */
    double speech_level_db;      /* 95th percentile of frame energy */
} vc_audio__feats_t;

/* Computes every frame feature of the n samples x (at VC_AUDIO__RATE). Returns 0 or
 * VC_ENOMEM; on success the caller frees feats with vc_audio__feats_free. */
int vc_audio__feats_compute(const float *x, size_t n, vc_audio__feats_t *feats, char *err,
                            size_t errlen);

void vc_audio__feats_free(vc_audio__feats_t *feats);

/* Fills feats->f0 and feats->voicing (already allocated, n entries) with an autocorrelation pitch
 * track of x (60..400 Hz, voicing threshold on the normalised peak); unvoiced frames get 0. Sets
 * *jitter (mean relative period change between voiced neighbours) and *shimmer (mean
 * relative amplitude change), both 0 with fewer than two voiced frames. */
void vc_audio__pitch_track(const float *x, size_t n, vc_audio__feats_t *feats, double *jitter,
                           double *shimmer);

/* ------------------------------------------------------------- GMM (gmm.c) */

/* A diagonal-covariance Gaussian mixture. Scoring uses the expanded form
 * log N_k(x) = c_k + sum_d (b_kd x_d - 0.5 a_kd x_d^2), stored transposed (d-major) so the
 * inner loop runs over components and vectorises. */
typedef struct {
    int k, d;
    float *weight; /* k */
    float *mean;   /* k x d */
    float *var;    /* k x d */
    /* derived by vc_gmm__prepare: */
    float *a_t; /* d x k: precisions */
    float *b_t; /* d x k: mean * precision */
    float *c;   /* k: log weight - 0.5 (d log 2pi + sum log var + sum mean^2 prec) */
} vc_gmm__t;

/* Allocates an empty k x d mixture. Returns 0 or VC_ENOMEM. */
int vc_gmm__alloc(vc_gmm__t *gmm, int k, int d);
void vc_gmm__free(vc_gmm__t *gmm);

/* Derives the scoring tables from weight/mean/var. Returns VC_EINVAL when a weight or a
 * variance is not positive and finite. */
int vc_gmm__prepare(vc_gmm__t *gmm);

/* Per-component joint log-likelihoods log(w_j N_j(x)) of one x into score (k floats). */
void vc_gmm__scores(const vc_gmm__t *gmm, const float *x, float *score);

/* Log-likelihood of one d-dimensional x. work holds k floats. */
double vc_gmm__loglik(const vc_gmm__t *gmm, const float *x, float *work);

typedef struct {
    int k;
    int iters;        /* EM iterations */
    uint64_t seed;    /* k-means++ initialisation */
    double var_floor; /* relative to the global variance of each dimension */
} vc_gmm__train_opts_t;

/* Fits gmm (allocated here, k x d) to the n x d rows of x by k-means++ initialisation,
 * a few Lloyd iterations and EM. Deterministic given opts->seed. Returns 0, VC_EINVAL
 * (n < k) or VC_ENOMEM. */
int vc_gmm__train(vc_gmm__t *gmm, const float *x, size_t n, int d, const vc_gmm__train_opts_t *opts,
                  char *err, size_t errlen);

/* ------------------------------------------------------------- logistic model */

/* p = sigmoid(bias + sum w_i (x_i - mean_i) / scale_i). */
typedef struct {
    int n;
    double w[16], mean[16], scale[16], bias;
} vc_logreg__t;

double vc_logreg__logit(const vc_logreg__t *lr, const double *x);
double vc_audio__sigmoid(double z);

/* Fits lr to m rows of n features (x, row-major) with labels y (0/1) by Newton steps with
 * L2 penalty l2 on standardised features; sample weights balance the two classes. Returns
 * 0, VC_EINVAL (a class is empty, n > 16) or VC_ENOMEM. */
int vc_logreg__fit(vc_logreg__t *lr, const double *x, const uint8_t *y, size_t m, int n, double l2);

/* ------------------------------------------------------------- model */

struct vc_audio_model {
    char version[32];
    uint64_t seed;
    vc_gmm__t bona, spoof;     /* synthetic_speech */
    /* Derived by vc_audio__model_derive: bona split into views sharing its tables, the static
     * dimensions (with their own constants: the static marginal) and the dynamic ones (with
     * the rest of the constants), so one pass yields both log p(static) and log p(all). */
    vc_gmm__t bona_static, bona_dynamic;
    float *derived; /* the two views' constants, 2 x bona.k */
    vc_logreg__t synth;        /* on VC_AUDIO__SYNTH_NF clip features: the mean LLR and prosody */
    vc_logreg__t replay;       /* on VC_AUDIO__REPLAY_NF clip features */
    vc_logreg__t splice_frame; /* on VC_AUDIO__SPLICE_NF frame features */
    double splice_a, splice_b; /* calibration of the best frame logit over the clip level */
    double splice_floor;       /* the splice logit below which it is no evidence (fusion) */
    vc_logreg__t fusion;       /* 1 input: the mixture LLR of vc_audio__fusion_llr */
};

/* Analyzer logits are clipped to +-this before fusion, so no single analyzer's certainty
 * that a clip is clean can cancel another's evidence of an attack. */
#define VC_AUDIO__FUSION_CLIP 6.0
#define VC_AUDIO__FUSION_NF 3 /* analyzers fused, in table order: synthetic, replay, splice */

/* The fused evidence of a clip from its analyzers' probabilities p (VC_AUDIO__FUSION_NF, in
 * table order). Each analyzer's score is already calibrated on bona fide against its own
 * attack only (class-balanced), so its clipped logit is a log-likelihood ratio for that
 * attack; the attacks are alternatives, so the clip's ratio is their mixture with equal
 * priors: log(mean_a exp(llr_a)). An analyzer can only raise it, and only through its own
 * attack's ratio. The splice logit counts from model->splice_floor up (its bona fide 95th
 * percentile on held-out clips): its clip score, the strongest of hundreds of frames, is
 * noise below that. */
double vc_audio__fusion_llr(const vc_audio_model_t *model, const double *p);

/* Fills model->bona_static and bona_dynamic from model->bona (prepared). Returns 0 or
 * VC_ENOMEM; vc_audio_model_free frees what it made. */
int vc_audio__model_derive(vc_audio_model_t *model);

/* Serialises model (format in docs/detection.md) into a malloc'd buffer. Returns 0 or
 * VC_ENOMEM; the caller frees *buf. */
int vc_audio__model_encode(const vc_audio_model_t *model, uint8_t **buf, size_t *len);

/* ------------------------------------------------------------- analyzers */

/* What an analyzer sees: the clip's features, the model, and where to write. */
typedef struct {
    const vc_audio__feats_t *feats;
    const float *x; /* 16 kHz samples */
    size_t n;
    const vc_audio_model_t *model;
    double jitter, shimmer;
    double *frame_score; /* n frames: per-frame spoof evidence in [0,1] for segments, or NULL */
} vc_audio__input_t;

/* A pluggable audio analyzer (a const vtable). analyze fills res (name/version are filled
 * by the caller from the vtable) and, when in->frame_score is given, raises entries of it
 * to its own per-frame scores. Returns 0 or VC_ENOMEM. */
typedef struct {
    int api_version; /* VC_AUDIO__ANALYZER_API */
    const char *name;
    const char *version;
    int (*analyze)(const vc_audio__input_t *in, vc_audio_analyzer_result_t *res);
} vc_audio__analyzer_t;

#define VC_AUDIO__ANALYZER_API 1

extern const vc_audio__analyzer_t vc_audio__an_synthetic;
extern const vc_audio__analyzer_t vc_audio__an_replay;
extern const vc_audio__analyzer_t vc_audio__an_splice;

/* Adds key = value to res (ignored when full). */
void vc_audio__evidence(vc_audio_analyzer_result_t *res, const char *key, double value);

/* Mean LLR (bona fide minus spoof, per active frame) of the synthetic-speech GMMs, and the
 * per-frame LLRs into llr (n frames; inactive frames get NAN) when llr is not NULL. Returns 0
 * or VC_ENOMEM. *count gets the number of frames scored. */
int vc_audio__synth_llr(const vc_audio_model_t *model, const vc_audio__feats_t *feats, float *llr,
                        double *mean, size_t *count);

/* vc_audio__synth_llr that also writes each scored frame's bona fide log-likelihood into
 * bona_ll and that of its static part into static_ll (n frames each, NAN elsewhere) when
 * bona_ll is not NULL; static_ll needs the model's derived views. */
int vc_audio__synth_llr_ll(const vc_audio_model_t *model, const vc_audio__feats_t *feats,
                           float *llr, float *bona_ll, float *static_ll, double *mean,
                           size_t *count);

/* The synthetic-speech clip features: f[0] = mean_llr, then jitter, shimmer, F0 spread and
 * roughness (semitones), voiced share, mean flatness and energy-delta spread of the active
 * frames (names in vc_audio__synth_names). */
void vc_audio__synth_features(const vc_audio__feats_t *feats, double mean_llr, double jitter,
                              double shimmer, double *f);
extern const char *const vc_audio__synth_names[VC_AUDIO__SYNTH_NF];

/* The replay feature vector (VC_AUDIO__REPLAY_NF values; names in vc_audio__replay_names). */
void vc_audio__replay_features(const vc_audio__feats_t *feats, double *f);
extern const char *const vc_audio__replay_names[VC_AUDIO__REPLAY_NF];

/* The raw per-frame splice cues of the n samples x (16 kHz) into raw (feats->n x
 * VC_AUDIO__SPLICE_RAW_NF, row-major): click, spectral jump, energy jump, folded pitch jump,
 * partial and full periodicity drop, unfolded pitch jump, period break, short spectral jump,
 * abrupt level change. Column 10 (the GMM cue) is left 0 for vc_audio__splice_surprise.
 * Returns 0 or VC_ENOMEM. */
int vc_audio__splice_raw(const vc_audio__feats_t *feats, const float *x, size_t n, double *raw);

/* Fills column 10 of raw (n rows) from the n LFCC rows: the dynamic surprise
 * log p(static) - log p(static, delta, delta-delta) under the bona fide GMM, for the frames
 * flagged in active (the others keep 0), relative to the clip's median. full_ll and
 * static_ll, when not NULL, hold log p(static, delta, delta-delta) and log p(static) already
 * computed (NAN where not; the synthetic analyzer's pass). Returns 0 or VC_ENOMEM. */
int vc_audio__splice_surprise(const vc_gmm__t *bona, const float *lfcc, const uint8_t *active,
                              const float *full_ll, const float *static_ll, size_t n,
                              double *raw);

/* Pools the n raw rows over +-2 frames and adds the coincidence terms: n x
 * VC_AUDIO__SPLICE_NF into fbuf. */
void vc_audio__splice_pool(const double *raw, size_t n, double *fbuf);

/* Splice frame logits of the model's frame logistic into logit (feats->n) and the pooled
 * frame features into fbuf (feats->n x VC_AUDIO__SPLICE_NF); x holds the n samples the
 * features came from; the bona fide log-likelihoods already in feats are reused. Returns 0
 * or VC_ENOMEM. */
int vc_audio__splice_frames(const vc_audio_model_t *model, const vc_audio__feats_t *feats,
                            const float *x, size_t n, double *logit, double *fbuf);

/* The typical splice frame logit of a clip: the median of the n frame logits away from the
 * edges (0 for a clip too short to have any). The clip's splice evidence is how far its
 * strongest frame stands out from this level, not the strongest logit itself: a voice or a
 * synthesis that raises every frame's cues (a shift the bona fide GMM sees everywhere) is
 * not a cut. Returns 0 when out of memory. */
double vc_audio__splice_level(const double *logit, size_t n);

#endif
