/* The audio analysis entry point: argument checks, decode, measure. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "audio_internal.h"
#include "vc/error.h"

#define DEFAULT_MAX_DURATION_S 600.0
#define DEFAULT_MAX_CHANNELS 8

void vc_audio_opts_default(vc_audio_opts_t *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->max_duration_s = DEFAULT_MAX_DURATION_S;
    opts->max_channels = DEFAULT_MAX_CHANNELS;
    opts->pcm_sample_rate = 0;
}

int vc_audio__opts_check(const vc_audio_opts_t *opts, char *err, size_t errlen)
{
    if (!(opts->max_duration_s > 0.0 && opts->max_duration_s <= VC_AUDIO__MAX_DURATION_S))
        return vc_err(err, errlen, VC_EINVAL, "max_duration_s must be in (0, %.0f]",
                      VC_AUDIO__MAX_DURATION_S);
    if (opts->max_channels < 1 || opts->max_channels > VC_AUDIO__MAX_CHANNELS)
        return vc_err(err, errlen, VC_EINVAL, "max_channels must be in 1..%d",
                      VC_AUDIO__MAX_CHANNELS);
    return 0;
}

size_t vc_audio__max_frames(const vc_audio_opts_t *opts, uint32_t rate, int channels)
{
    /* max_duration_s <= 86400 and rate <= 192000: the product is exact in a double. */
    uint64_t by_time = (uint64_t)floor(opts->max_duration_s * (double)rate);
    uint64_t by_memory = (uint64_t)(SIZE_MAX / ((size_t)channels * sizeof(float)));
    return (size_t)(by_time < by_memory ? by_time : by_memory);
}

int vc_audio_analyze(const uint8_t *data, size_t len, const char *format,
                     const vc_audio_opts_t *opts, vc_audio_report_t *out, char *err, size_t errlen)
{
    vc_audio_opts_t defaults;
    vc_audio__pcm_t pcm;
    int rc;

    if (out == NULL || (data == NULL && len > 0))
        return vc_err(err, errlen, VC_EINVAL, "NULL report or data");
    memset(out, 0, sizeof(*out));
    if (opts == NULL) {
        vc_audio_opts_default(&defaults);
        opts = &defaults;
    }
    rc = vc_audio__opts_check(opts, err, errlen);
    if (rc != 0)
        return rc;
    rc = vc_audio__decode(data, len, format, opts, &pcm, err, errlen);
    if (rc != 0)
        return rc;
    rc = vc_audio__report_pcm(&pcm, opts, out, err, errlen);
    vc_audio__pcm_free(&pcm);
    if (rc != 0)
        memset(out, 0, sizeof(*out));
    return rc;
}

int vc_audio__report_pcm(const vc_audio__pcm_t *pcm, const vc_audio_opts_t *opts,
                         vc_audio_report_t *out, char *err, size_t errlen)
{
    /* The decoder already refuses longer input; the cap also bounds the work here. */
    size_t n = vc_audio__max_frames(opts, pcm->sample_rate, 1);
    if (n > pcm->frames)
        n = pcm->frames;
    int rc = vc_audio__features(pcm->samples, n, pcm->sample_rate, out, err, errlen);
    if (rc != 0)
        return rc;
    out->sample_rate = pcm->sample_rate;
    out->channels = pcm->channels;
    return 0;
}

const char *vc_detect_version(void)
{
    return "signal-0.1";
}
