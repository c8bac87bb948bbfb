#ifndef VC_DETECT_VIDEO_INTERNAL_H
#define VC_DETECT_VIDEO_INTERNAL_H
/* Shared between the video files of libs/detect; not exported. decode → frames at analysis
 * size; features → one pass of per-frame measurements (vc_video__ctx_t) that every analyzer
 * reads; analyzers → one vc_video_analysis_t each. Every function here is reentrant: all
 * state is in its arguments. */
#include <stddef.h>
#include <stdint.h>

#include "vc/video.h"

#define VC_VIDEO__API 1
#define VC_VIDEO__MIN_SIDE 16
#define VC_VIDEO__MAX_SIDE 8192
#define VC_VIDEO__TW 16 /* thumbnail size: block means of the luma */
#define VC_VIDEO__TH 12

/* Per-frame measurements, arrays of n entries (index t is frame t). */
typedef struct {
    const vc_video_frames_t *frames;
    int n;
    double fps;     /* nominal rate from the timestamps (median frame interval) */
    double *mean;   /* mean luma */
    double *hf;     /* high-frequency energy: mean |Laplacian| (noise and sharpness) */
    double *diff;   /* mean |F_t - F_t-1| per pixel, diff[0] = 0 */
    double *mid;    /* mean |F_t - (F_t-1 + F_t+1) / 2|, 0 at both ends */
    double *sat;    /* mean RGB saturation (max - min) of the small copy */
    float *thumb;   /* n * TW * TH block means */
    double *hfq;    /* n * 4: hf per quadrant (index 4 t + 2 * bottom + right) */
    double *diffq;  /* n * 4: diff per quadrant */
    double *midq;   /* n * 4: mid per quadrant */
} vc_video__ctx_t;

/* An analyzer: reads ctx, fills an (name, version, score, evidence); returns 0 or VC_ENOMEM.
 * Pure function of ctx; runs on the caller's thread. */
typedef struct {
    int api; /* VC_VIDEO__API */
    const char *name;
    int version;
    int fused; /* 1: counts in the overall score */
    int (*run)(const vc_video__ctx_t *ctx, vc_video_analysis_t *an);
} vc_video__analyzer_t;

extern const vc_video__analyzer_t vc_video__static_image;
extern const vc_video__analyzer_t vc_video__screen_replay;
extern const vc_video__analyzer_t vc_video__frame_duplication;
extern const vc_video__analyzer_t vc_video__interpolation;
extern const vc_video__analyzer_t vc_video__splice;
extern const vc_video__analyzer_t vc_video__av_offset;

/* Audio decoding alongside the video (video_audio.c). Opaque; one per decode. */
typedef struct vc_video__audio vc_video__audio_t;
struct AVFormatContext;
struct AVPacket;

/* Opens the best audio stream of fmt, if any and decodable; *out stays NULL otherwise.
 * Returns 0, or -1 on no memory. Caller frees with vc_video__audio_free. */
int vc_video__audio_open(struct AVFormatContext *fmt, double max_duration_s,
                         vc_video__audio_t **out);

/* The stream index of a (-1 when a is NULL). */
int vc_video__audio_stream(const vc_video__audio_t *a);

/* Decodes one packet of the audio stream into the envelope (NULL flushes). Never fails: a
 * broken audio stream stops contributing. a may be NULL. */
void vc_video__audio_packet(vc_video__audio_t *a, const struct AVPacket *pkt);

/* Flushes and moves the envelope into fr (audio_env, audio_bins). Returns 0, or -1 on no
 * memory. a may be NULL (nothing to do). */
int vc_video__audio_finish(vc_video__audio_t *a, vc_video_frames_t *fr);

void vc_video__audio_free(vc_video__audio_t *a);

/* Returns 0 when opts holds usable limits, else VC_EINVAL with err explaining. */
int vc_video__opts_check(const vc_video_opts_t *opts, char *err, size_t errlen);

/* Computes every per-frame measurement of frames (count >= 2) into ctx. Returns 0 or
 * VC_ENOMEM; on success the caller frees with vc_video__ctx_free. */
int vc_video__ctx_init(vc_video__ctx_t *ctx, const vc_video_frames_t *frames);
void vc_video__ctx_free(vc_video__ctx_t *ctx);

/* Luma of frame t. */
const uint8_t *vc_video__luma(const vc_video_frames_t *frames, int t);

/* Grows frames to hold at least want frames (want <= limit). Returns 0 or VC_ENOMEM. */
int vc_video__frames_reserve(vc_video_frames_t *frames, int want);

/* Mean absolute difference of n bytes. */
double vc_video__mad(const uint8_t *a, const uint8_t *b, size_t n);

/* Appends (key, value) to an's evidence when there is room; non-finite values become 0. */
void vc_video__evidence(vc_video_analysis_t *an, const char *key, double value);

/* 1 / (1 + exp(-(x - center) / scale)), the map from a measurement to a score. */
double vc_video__logistic(double x, double center, double scale);

/* The q-quantile (0..1) of x[0..n-1], n >= 1; x is reordered. */
double vc_video__quantile(double *x, int n, double q);

/* Median of x[lo..hi) without changing x; tmp has room for hi - lo. */
double vc_video__median_range(const double *x, int lo, int hi, double *tmp);

/* Strength of a periodic pattern in x[0..n-1] with period 2..pmax: the share of x's variance
 * (after removing a moving average of two periods) explained by the phase means of the best
 * period (0..1, corrected for chance). Writes the period, the phase whose mean is lowest and
 * the range of the phase means (in x's units). Returns 0 for n < 4 * period. */
double vc_video__periodicity(const double *x, int n, int pmax, int *period, int *low_phase,
                             double *range);

/* Largest isolated peak of the 2-D magnitude spectrum, summed over frames idx[0..k-1], of the
 * centred size x size window (size a power of two, 32..256, within the frame): peak over the
 * median of its ring, for frequencies between fmin and 0.5 cycles/pixel, away from the axes.
 * Writes the peak's frequency (cycles/pixel, fx >= 0). Returns -1 on no memory, else the
 * ratio (>= 0). */
double vc_video__spectral_peak(const vc_video_frames_t *fr, const int *idx, int k, int size,
                               double fmin, double *fx, double *fy);

#endif
