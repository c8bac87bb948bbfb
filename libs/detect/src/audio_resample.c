/* Resampling to the analysis rate with libsoxr (high quality, one shot per clip). */
#include <stdlib.h>

#include <soxr.h>

#include "audio_engine.h"
#include "vc/error.h"

int vc_audio__resample(vc_audio__pcm_t *pcm, char *err, size_t errlen)
{
    if (pcm->sample_rate == VC_AUDIO__RATE || pcm->frames == 0)
        return 0;
    double ratio = (double)VC_AUDIO__RATE / pcm->sample_rate;
    /* frames <= 86400 s * 192 kHz, so the output count fits easily; +16 for rounding. */
    size_t cap = (size_t)((double)pcm->frames * ratio) + 16;
    float *out = malloc(cap * sizeof(float));
    if (out == NULL)
        return vc_err(err, errlen, VC_ENOMEM, "no memory to resample %zu frames", pcm->frames);
    soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
    size_t done = 0;
    soxr_error_t e = soxr_oneshot(pcm->sample_rate, VC_AUDIO__RATE, 1, pcm->samples, pcm->frames,
                                  NULL, out, cap, &done, &io, &q, NULL);
    if (e != NULL) {
        free(out);
        return vc_err(err, errlen, VC_EFORMAT, "resampling failed: %s", e);
    }
    free(pcm->samples);
    pcm->samples = out;
    pcm->frames = done;
    pcm->sample_rate = VC_AUDIO__RATE;
    return 0;
}
