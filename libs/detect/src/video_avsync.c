/* av_offset: where the container has audio, the lag between audio onsets (rises of the power
 * envelope) and picture changes (frame differences) that correlates best, within +-0.5 s. A
 * recording made from a replayed or injected stream often carries the sound shifted against
 * the picture. Reported, not fused: no corpus with audio evaluates it yet. */
#include <math.h>
#include <stdlib.h>

#include "video_internal.h"
#include "vc/error.h"

#define MAX_LAG_S 0.5

/* Mean audio power over the container time span [t, t + dt). */
static double audio_power(const vc_video_frames_t *fr, double t, double dt)
{
    int b0 = (int)floor(t * VC_VIDEO_AUDIO_RATE), b1 = (int)floor((t + dt) * VC_VIDEO_AUDIO_RATE);
    b1 = b1 > b0 ? b1 : b0 + 1;
    double s = 0;
    int m = 0;
    for (int b = b0 < 0 ? 0 : b0; b < b1 && b < fr->audio_bins; b++, m++)
        s += fr->audio_env[b];
    return m > 0 ? s / m : 0.0;
}

/* Standardises x in place; returns its standard deviation before. */
static double standardise(double *x, int n)
{
    double mean = 0, var = 0;
    for (int t = 0; t < n; t++)
        mean += x[t] / n;
    for (int t = 0; t < n; t++)
        var += (x[t] - mean) * (x[t] - mean) / n;
    double sd = sqrt(var);
    for (int t = 0; t < n; t++)
        x[t] = sd > 1e-12 ? (x[t] - mean) / sd : 0.0;
    return sd;
}

static int run(const vc_video__ctx_t *ctx, vc_video_analysis_t *an)
{
    const vc_video_frames_t *fr = ctx->frames;
    int n = ctx->n;
    vc_video__evidence(an, "audio", fr->audio_env != NULL);
    if (fr->audio_env == NULL || n < 16)
        return 0;
    double *ao = malloc((size_t)n * sizeof(double)), *vo = malloc((size_t)n * sizeof(double));
    if (ao == NULL || vo == NULL) {
        free(ao);
        free(vo);
        return VC_ENOMEM;
    }
    double prev = 0, level = 0;
    for (int t = 0; t < n; t++) {
        double p = audio_power(fr, fr->video_t0 + fr->pts[t], 1.0 / ctx->fps);
        double l = log(p + 1e-8);
        ao[t] = t > 0 && l > prev ? l - prev : 0.0;
        vo[t] = ctx->diff[t];
        prev = l;
        level += p / n;
    }
    double asd = standardise(ao, n), vsd = standardise(vo, n);
    int maxlag = (int)lround(MAX_LAG_S * ctx->fps), best = 0;
    double cbest = -INFINITY, c0 = 0;
    for (int lag = -maxlag; lag <= maxlag; lag++) {
        double c = 0;
        int m = 0;
        for (int t = 0; t < n; t++)
            if (t + lag >= 0 && t + lag < n) {
                c += ao[t] * vo[t + lag];
                m++;
            }
        c = m > n / 2 ? c / m : 0.0;
        if (lag == 0)
            c0 = c;
        if (c > cbest) {
            cbest = c;
            best = lag;
        }
    }
    free(ao);
    free(vo);
    double offset = best / ctx->fps;
    int events = asd > 1e-6 && vsd > 1e-6;
    an->score = events ? vc_video__logistic(fabs(offset), 0.15, 0.03) *
                             vc_video__logistic(cbest, 0.35, 0.05)
                       : 0.0;
    vc_video__evidence(an, "offset_s", offset);
    vc_video__evidence(an, "corr_peak", cbest);
    vc_video__evidence(an, "corr_at_zero", c0);
    vc_video__evidence(an, "audio_level_db", 10 * log10(level + 1e-12));
    return 0;
}

const vc_video__analyzer_t vc_video__av_offset = {
    .api = VC_VIDEO__API, .name = "av_offset", .version = 1, .fused = 0, .run = run};
