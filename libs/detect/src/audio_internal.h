#ifndef VC_DETECT_AUDIO_INTERNAL_H
#define VC_DETECT_AUDIO_INTERNAL_H
/* Shared between the audio files of libs/detect; not exported. decode → mono float samples,
 * features → report fields. Every function here is reentrant: all state is in its arguments. */
#include <stddef.h>
#include <stdint.h>

#include "vc/detect.h"

#define VC_AUDIO__MIN_RATE 8000u
#define VC_AUDIO__MAX_RATE 192000u
#define VC_AUDIO__MAX_CHANNELS 1024      /* libsndfile's own ceiling */
#define VC_AUDIO__MAX_DURATION_S 86400.0 /* the largest max_duration_s accepted in opts */

/* Decoded audio, downmixed to mono. samples has frames entries; caller frees with
 * vc_audio__pcm_free. channels is the channel count of the source before the downmix. */
typedef struct {
    float *samples;
    size_t frames;
    uint32_t sample_rate;
    int channels;
} vc_audio__pcm_t;

/* Returns 0 when opts holds usable limits, else VC_EINVAL with err explaining. */
int vc_audio__opts_check(const vc_audio_opts_t *opts, char *err, size_t errlen);

/* The most frames max_duration_s allows at rate, capped so that frames * channels floats
 * still fits in size_t. opts must have passed vc_audio__opts_check. */
size_t vc_audio__max_frames(const vc_audio_opts_t *opts, uint32_t rate, int channels);

/* Decodes data (see vc_audio_analyze for formats and errors) into pcm. Limits in opts are
 * checked from the header before any sample buffer is allocated, and again while decoding
 * for formats whose header does not bind the length. On success the caller frees pcm with
 * vc_audio__pcm_free; on failure pcm holds nothing. opts must have passed
 * vc_audio__opts_check. */
int vc_audio__decode(const uint8_t *data, size_t len, const char *format,
                     const vc_audio_opts_t *opts, vc_audio__pcm_t *pcm, char *err, size_t errlen);

/* Frees the samples of pcm and zeroes it. pcm may be NULL. */
void vc_audio__pcm_free(vc_audio__pcm_t *pcm);

/* vc_audio_analyze's report of decoded pcm: the features of at most opts' duration of it,
 * its rate and channel count. Returns 0 or vc_audio__features' error. */
int vc_audio__report_pcm(const vc_audio__pcm_t *pcm, const vc_audio_opts_t *opts,
                         vc_audio_report_t *out, char *err, size_t errlen);

/* Measures the n mono samples x at rate and fills every field of rep except sample_rate and
 * channels. Returns 0 or VC_ENOMEM (FFT buffers). n may be 0 (everything silent). */
int vc_audio__features(const float *x, size_t n, uint32_t rate, vc_audio_report_t *rep, char *err,
                       size_t errlen);

#endif
