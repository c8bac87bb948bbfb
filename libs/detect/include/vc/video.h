#ifndef VC_VIDEO_H
#define VC_VIDEO_H
/* Video spoof detection: bounded decoding of any container libavformat reads (from memory),
 * then artifact analyzers (static image, screen replay, frame duplication, interpolation,
 * splice) fused into one score and verdict. Pure computation: no I/O besides its inputs, no
 * global state; every function is safe to call from many threads at once. */
#include <stddef.h>
#include <stdint.h>

#define VC_VIDEO_MAX_ANALYZERS 8 /* room for the 6 analyzers and more */
#define VC_VIDEO_MAX_EVIDENCE 12

/* Limits and thresholds. Start from vc_video_opts_default and change fields. */
typedef struct {
    double max_duration_s;    /* refuse longer streams (header, then decoded timestamps) */
    int max_width;            /* refuse larger coded frames (checked before the decoder opens) */
    int max_height;
    int max_frames;           /* refuse more decoded frames */
    uint64_t max_decoded_bytes; /* refuse when decoded source pictures add up to more */
    double max_wall_s;        /* give up after this much wall-clock time (0: no limit) */
    int analysis_width;       /* luma is scaled to at most this width (64..640, even) */
    double spoof_threshold;   /* overall score >= this: spoof */
    double genuine_threshold; /* overall score < this: genuine; in between: inconclusive */
} vc_video_opts_t;

/* Defaults: 120 s, 3840x2160, 3600 frames, 16 GiB decoded, 120 s wall, 320 px,
 * spoof >= 0.5, genuine < 0.35. */
void vc_video_opts_default(vc_video_opts_t *opts);

typedef enum {
    VC_VIDEO_GENUINE = 0,
    VC_VIDEO_SPOOF = 1,
    VC_VIDEO_INCONCLUSIVE = 2
} vc_video_verdict_t;

/* "genuine", "spoof" or "inconclusive". Never NULL. */
const char *vc_video_verdict_name(vc_video_verdict_t verdict);

/* One measured figure. key is a static string; times are in seconds from the clip start. */
typedef struct {
    const char *key;
    double value;
} vc_video_evidence_t;

/* What one analyzer found. name is a static string. score is in [0, 1]; 0.5 is the
 * analyzer's own decision point. fused is 1 when the score counts in the overall score (0
 * for analyzers reported for information only: av_offset, not yet evaluated on a corpus). */
typedef struct {
    const char *name;
    int version;
    int fused;
    double score;
    int n_evidence;
    vc_video_evidence_t evidence[VC_VIDEO_MAX_EVIDENCE];
} vc_video_analysis_t;

/* Decode statistics of the analysed stream. */
typedef struct {
    int frames;           /* decoded frames analysed */
    double fps;           /* frames / (last - first timestamp + one frame) */
    int width, height;    /* coded size of the first frame */
    int analysis_width, analysis_height;
    double duration_s;    /* from the frame timestamps */
    char codec[32];       /* libavcodec decoder name */
    char container[32];   /* libavformat demuxer name */
} vc_video_stats_t;

typedef struct {
    double score;               /* fused: the largest score of the fused analyzers */
    vc_video_verdict_t verdict; /* from score and the thresholds in opts */
    int top;                    /* index in analyses of the largest fused score, -1 if none */
    int n_analyses;
    vc_video_analysis_t analyses[VC_VIDEO_MAX_ANALYZERS];
    vc_video_stats_t stats;
} vc_video_report_t;

#define VC_VIDEO_AUDIO_RATE 100 /* audio envelope bins per second */

/* Decoded frames at analysis size: frame i of luma is luma + i * width * height (row-major,
 * 0..255), of rgb is rgb + i * rgb_width * rgb_height * 3; pts[i] in seconds from the first
 * frame and strictly increasing; pict_type[i] is 'I', 'P', 'B' or '?' (as the decoder
 * reported it). When the container has an audio stream, audio_env holds its mean power per
 * 1/VC_VIDEO_AUDIO_RATE s (audio_bins entries, bin 0 at container time 0) and video_t0 is the
 * container time of frame 0; otherwise audio_env is NULL. Made by vc_video_decode or
 * vc_video_frames_new; caller frees with vc_video_frames_free. */
typedef struct {
    int width, height;
    int rgb_width, rgb_height;
    int count, cap;
    uint8_t *luma;
    uint8_t *rgb;
    double *pts;
    char *pict_type;
    float *audio_env;
    int audio_bins;
    double video_t0;
    vc_video_stats_t stats;
} vc_video_frames_t;

/* Allocates room for cap frames of width x height luma and a quarter-size RGB copy (for
 * tests and benchmarks that build frames themselves); count starts at 0, stats zero.
 * Returns NULL on bad sizes (width, height 16..4096, cap 1..100000) or no memory. */
vc_video_frames_t *vc_video_frames_new(int width, int height, int cap);

/* Fills frame i's RGB copy from its luma (grey), for frames built by hand. */
void vc_video_frames_grey_rgb(vc_video_frames_t *frames, int i);

/* Frees frames and everything it holds. frames may be NULL. */
void vc_video_frames_free(vc_video_frames_t *frames);

/* Decodes the first video stream of data (any container libavformat reads, read through a
 * memory AVIOContext; demuxers cannot open other files or URLs) into frames at analysis size.
 * Returns 0 and sets *out (caller frees with vc_video_frames_free); VC_EFORMAT (no video
 * stream, undecodable, corrupt, no frame), VC_ETOOBIG (over a limit in opts: size is checked
 * before the decoder opens and on every frame, duration from the header and from timestamps,
 * frames and decoded bytes as they come), VC_ETIMEDOUT (max_wall_s), VC_EINVAL (bad
 * arguments or opts) or VC_ENOMEM. err explains. opts may be NULL (defaults). The decoders
 * run single-threaded (thread_count 1) on the calling thread. The first audio stream, if any,
 * is decoded into frames->audio_env; audio that fails to decode leaves it NULL and is not an
 * error. */
int vc_video_decode(const uint8_t *data, size_t len, const vc_video_opts_t *opts,
                    vc_video_frames_t **out, char *err, size_t errlen);

/* Runs every analyzer over frames (at least 2) and fuses the result into *out, with
 * out->stats copied from frames->stats. Returns 0, VC_EINVAL (NULL, fewer than 2 frames, bad
 * opts) or VC_ENOMEM; on failure *out is zeroed. */
int vc_video_analyze(const vc_video_frames_t *frames, const vc_video_opts_t *opts,
                     vc_video_report_t *out, char *err, size_t errlen);

/* vc_video_decode then vc_video_analyze. Returns what they return; a stream with a single
 * decodable frame is VC_EFORMAT. On failure *out is zeroed. */
int vc_video_detect(const uint8_t *data, size_t len, const vc_video_opts_t *opts,
                    vc_video_report_t *out, char *err, size_t errlen);

/* Looks up evidence key in an analysis; returns its value or def. */
double vc_video_evidence(const vc_video_analysis_t *an, const char *key, double def);

/* Version string of the video analysis, recorded in results ("video-0.1"). */
const char *vc_video_version(void);

/* Lowers libav's process-wide log level to fatal-only so corrupt input does not flood
 * stderr. Touches global state: call once from main(), never from library code. */
void vc_video_quiet_logs(void);

#endif
