/* interpolation: frame-rate up-conversion leaves synthesized frames at a fixed period that are
 * blurrier and less noisy than the real ones (averages of two frames), and closer to the
 * average of their neighbours. Both show as a periodic pattern in per-frame series. The
 * series are not normalised per picture type: encoders put B frames exactly on the
 * synthesized frames (they are the predictable ones), so that would erase the signal. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "video_internal.h"
#include "vc/error.h"

#define PMAX 6

/* Clamps x to +-3 robust deviations so single outliers (cuts, I frames) cannot make a period. */
static void clamp_outliers(double *x, int n, double *tmp)
{
    memcpy(tmp, x, (size_t)n * sizeof(double));
    double med = vc_video__quantile(tmp, n, 0.5);
    for (int t = 0; t < n; t++)
        tmp[t] = fabs(x[t] - med);
    double mad = vc_video__quantile(tmp, n, 0.5) * 1.4826 + 1e-9;
    for (int t = 0; t < n; t++) {
        double lim = 3 * mad;
        double d = x[t] - med;
        x[t] = med + (d > lim ? lim : d < -lim ? -lim : d);
    }
}

typedef struct {
    double share, range;
    int period, phase;
} periodic_t;

static periodic_t analyse_series(double *x, const vc_video__ctx_t *ctx, double *tmp)
{
    periodic_t p = {0};
    clamp_outliers(x, ctx->n, tmp);
    p.share = vc_video__periodicity(x, ctx->n, PMAX, &p.period, &p.phase, &p.range);
    return p;
}

/* Share of frames whose difference to the previous one is near zero (duplicates): those make
 * the neighbour-average series periodic without any interpolation. */
static double dup_share(const vc_video__ctx_t *ctx)
{
    int d = 0;
    for (int t = 1; t < ctx->n; t++)
        d += ctx->diff[t] < 0.05;
    return (double)d / (ctx->n - 1);
}

/* Series of quadrant q (-1: whole frame) into x: relative sharpness, or (mid) the distance to
 * the neighbours' average relative to the motion. */
static void fill_series(const vc_video__ctx_t *ctx, int q, int mid, double *x)
{
    int n = ctx->n;
    for (int t = 0; t < n; t++) {
        if (!mid) {
            double hf = q < 0 ? ctx->hf[t] : ctx->hfq[4 * (size_t)t + q];
            x[t] = log((hf + 0.1) / (ctx->mean[t] + 1)); /* flicker-free */
            continue;
        }
        if (t == 0 || t == n - 1) {
            x[t] = 0.0;
            continue;
        }
        const double *d = q < 0 ? ctx->diff : ctx->diffq;
        double m = q < 0 ? ctx->mid[t] : ctx->midq[4 * (size_t)t + q];
        double motion = q < 0 ? 0.5 * (d[t] + d[t + 1])
                              : 0.5 * (d[4 * (size_t)t + q] + d[4 * (size_t)(t + 1) + q]);
        x[t] = log((m + 0.05) / (motion + 0.05));
    }
}

/* The whole-frame pattern, with its share replaced by the second-weakest quadrant's: frame-
 * rate conversion synthesizes whole frames, so three quadrants out of four must show it (a
 * blinking light or a looping object in one corner does not). */
static periodic_t global_pattern(const vc_video__ctx_t *ctx, int mid, double *x, double *tmp)
{
    double sh[4];
    fill_series(ctx, -1, mid, x);
    periodic_t whole = analyse_series(x, ctx, tmp);
    for (int q = 0; q < 4; q++) {
        fill_series(ctx, q, mid, x);
        sh[q] = analyse_series(x, ctx, tmp).share;
    }
    whole.share = vc_video__quantile(sh, 4, 1.0 / 3.0);
    return whole;
}

static int run(const vc_video__ctx_t *ctx, vc_video_analysis_t *an)
{
    int n = ctx->n;
    double *x = malloc((size_t)n * sizeof(double));
    double *tmp = malloc((size_t)n * sizeof(double));
    if (x == NULL || tmp == NULL) {
        free(x);
        free(tmp);
        return VC_ENOMEM;
    }
    periodic_t mid = {0}, blur = global_pattern(ctx, 0, x, tmp);
    if (dup_share(ctx) < 0.05)
        mid = global_pattern(ctx, 1, x, tmp);
    free(x);
    free(tmp);
    periodic_t best = blur.share >= mid.share ? blur : mid;
    /* Sharpness alone also cycles in live scenes with periodic content (scrolling or
     * blinking patterns), so it counts only together with the neighbour-average cue: the
     * evidence is the larger of the midpoint share and the geometric mean of both. Train
     * split: live clips reach 0.38, most interpolated clips lie above 0.42. */
    double ev = sqrt(blur.share * mid.share);
    ev = mid.share > ev ? mid.share : ev;
    an->score = vc_video__logistic(ev, 0.42, 0.03);
    vc_video__evidence(an, "blur_periodicity", blur.share);
    vc_video__evidence(an, "blur_period", blur.period);
    vc_video__evidence(an, "midpoint_periodicity", mid.share);
    vc_video__evidence(an, "midpoint_period", mid.period);
    vc_video__evidence(an, "blur_range", blur.range);
    vc_video__evidence(an, "midpoint_range", mid.range);
    if (best.period > 0 && best.phase < n) {
        vc_video__evidence(an, "period_s", best.period / ctx->fps);
        vc_video__evidence(an, "first_synthetic_s", ctx->frames->pts[best.phase]);
    }
    return 0;
}

const vc_video__analyzer_t vc_video__interpolation = {
    .api = VC_VIDEO__API, .name = "interpolation", .version = 1, .fused = 1, .run = run};
