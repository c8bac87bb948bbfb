/* screen_replay: a video shown on a screen and filmed again. Cues: moiré (an isolated peak in
 * the 2-D spectrum that persists across frames), refresh flicker (a periodic oscillation of
 * the luminance of the picture or of horizontal bands), the screen's bezel (straight edges
 * along the frame with a uniform, static border beyond), and a compressed tonal range. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "video_internal.h"
#include "vc/error.h"

#define MOIRE_FRAMES 5
#define FLICKER_MAX 512
#define BEZEL_FRAMES 16
#define STRIPS 4

/* Spectral peak ratio of a centred window, magnitudes summed over MOIRE_FRAMES frames (a
 * moiré is fixed while the content changes, so averaging sharpens it against the content). */
static int moire(const vc_video__ctx_t *ctx, double *ratio, double *freq)
{
    const vc_video_frames_t *fr = ctx->frames;
    int side = fr->width < fr->height ? fr->width : fr->height;
    int size = 32, idx[MOIRE_FRAMES];
    *ratio = 0;
    *freq = 0;
    if (side < size)
        return 0; /* too small for a spectrum: no moiré measurement */
    while (size * 2 <= side && size < 256)
        size *= 2;
    int k = ctx->n < MOIRE_FRAMES ? ctx->n : MOIRE_FRAMES;
    for (int i = 0; i < k; i++)
        idx[i] = (int)((long)i * ctx->n / k);
    double fx, fy;
    *ratio = vc_video__spectral_peak(fr, idx, k, size, 0.06, &fx, &fy);
    if (*ratio < 0)
        return VC_ENOMEM;
    *freq = hypot(fx, fy);
    return 0;
}

/* Peak-to-median power of x's spectrum above 1.5 Hz after removing a 0.5 s moving average;
 * depth is the peak's amplitude relative to level. */
static double flicker_series(const double *x, int n, double fps, double level, double *hz,
                             double *depth, double *y)
{
    int w = (int)lround(fps * 0.25);
    w = w < 1 ? 1 : w;
    for (int t = 0; t < n; t++) {
        double s = 0;
        int m = 0;
        for (int k = t - w; k <= t + w; k++)
            if (k >= 0 && k < n) {
                s += x[k];
                m++;
            }
        y[t] = x[t] - s / m;
    }
    int kmin = (int)ceil(1.5 * n / fps), kmax = n / 2;
    double *pw = y + n;
    int m = 0;
    double best = 0;
    int kb = 0;
    for (int k = kmin; k < kmax; k++) {
        double re = 0, im = 0;
        for (int t = 0; t < n; t++) {
            re += y[t] * cos(2 * M_PI * k * t / n);
            im -= y[t] * sin(2 * M_PI * k * t / n);
        }
        pw[m++] = re * re + im * im;
        if (re * re + im * im > best) {
            best = re * re + im * im;
            kb = k;
        }
    }
    if (m < 8)
        return 0;
    double med = vc_video__quantile(pw, m, 0.5);
    *hz = kb * fps / n;
    *depth = 2 * sqrt(best) / n / (level + 1);
    return best / (med + 1e-9);
}

/* Strongest flicker over the whole-frame mean and STRIPS horizontal bands. */
static int flicker(const vc_video__ctx_t *ctx, double *ratio, double *hz, double *depth)
{
    int n = ctx->n < FLICKER_MAX ? ctx->n : FLICKER_MAX;
    double *x = malloc((size_t)n * 4 * sizeof(double));
    if (x == NULL)
        return VC_ENOMEM;
    *ratio = 0;
    for (int s = -1; s < STRIPS; s++) {
        double level = 0, h = 0, d = 0;
        for (int t = 0; t < n; t++) {
            const float *th = ctx->thumb + (size_t)t * VC_VIDEO__TW * VC_VIDEO__TH;
            int r0 = s < 0 ? 0 : s * VC_VIDEO__TH / STRIPS;
            int r1 = s < 0 ? VC_VIDEO__TH : (s + 1) * VC_VIDEO__TH / STRIPS;
            double v = 0;
            for (int i = r0 * VC_VIDEO__TW; i < r1 * VC_VIDEO__TW; i++)
                v += th[i];
            x[t] = v / ((r1 - r0) * VC_VIDEO__TW);
            level += x[t] / n;
        }
        double r = flicker_series(x, n, ctx->fps, level, &h, &d, x + n);
        if (r > *ratio) {
            *ratio = r;
            *hz = h;
            *depth = d;
        }
    }
    free(x);
    return 0;
}

/* Strength of a bezel on one side: the share of the line where the averaged frame m steps by
 * more than 10 levels, at the depth whose outer strip is uniform (std < 5). m is w x h,
 * stride sx along the line and sy into the frame, from origin o. */
static double bezel_side(const float *m, int len, int depth_max, long o, long sx, long sy)
{
    double best = 0;
    double s = 0, s2 = 0;
    long cnt = 0;
    for (int d = 2; d < depth_max - 2; d++) {
        for (int i = 0; i < len; i++) {
            double v = m[o + (d - 2) * sy + i * sx];
            s += v;
            s2 += v * v;
        }
        cnt += len;
        double var = s2 / cnt - (s / cnt) * (s / cnt);
        if (var > 25.0)
            break;
        int edge = 0;
        for (int i = len / 20; i < len - len / 20; i++)
            edge += fabs(m[o + (d + 1) * sy + i * sx] - m[o + (d - 2) * sy + i * sx]) > 10.0;
        double frac = (double)edge / (len - 2 * (len / 20));
        best = frac > best ? frac : best;
    }
    return best;
}

/* The second-strongest of the four sides (a screen shows at least two). */
static int bezel(const vc_video__ctx_t *ctx, double *strength)
{
    const vc_video_frames_t *fr = ctx->frames;
    int w = fr->width, h = fr->height, k = ctx->n < BEZEL_FRAMES ? ctx->n : BEZEL_FRAMES;
    float *m = calloc((size_t)w * h, sizeof(float));
    if (m == NULL)
        return VC_ENOMEM;
    for (int i = 0; i < k; i++) {
        const uint8_t *y = vc_video__luma(fr, (int)((long)i * ctx->n / k));
        for (size_t p = 0; p < (size_t)w * h; p++)
            m[p] += (float)y[p] / (float)k;
    }
    double sides[4] = {
        bezel_side(m, w, h * 3 / 10, 0, 1, w),
        bezel_side(m, w, h * 3 / 10, (long)(h - 1) * w, 1, -w),
        bezel_side(m, h, w * 3 / 10, 0, w, 1),
        bezel_side(m, h, w * 3 / 10, w - 1, w, -1),
    };
    free(m);
    double first = 0, second = 0;
    for (int i = 0; i < 4; i++) {
        if (sides[i] > first) {
            second = first;
            first = sides[i];
        } else if (sides[i] > second) {
            second = sides[i];
        }
    }
    *strength = second;
    return 0;
}

/* Median over sampled frames of the 2nd..98th percentile luma range. */
static double tonal_range(const vc_video__ctx_t *ctx)
{
    const vc_video_frames_t *fr = ctx->frames;
    double r[8];
    int k = ctx->n < 8 ? ctx->n : 8;
    for (int i = 0; i < k; i++) {
        const uint8_t *y = vc_video__luma(fr, (int)((long)i * ctx->n / k));
        size_t hist[256] = {0}, px = (size_t)fr->width * fr->height, acc = 0;
        for (size_t p = 0; p < px; p++)
            hist[y[p]]++;
        int lo = -1, hi = 255;
        for (int v = 0; v < 256; v++) {
            acc += hist[v];
            if (lo < 0 && acc >= px / 50)
                lo = v;
            if (acc >= px - px / 50) {
                hi = v;
                break;
            }
        }
        r[i] = hi - lo;
    }
    return vc_video__quantile(r, k, 0.5);
}

static int run(const vc_video__ctx_t *ctx, vc_video_analysis_t *an)
{
    double mr = 0, mf = 0, fr = 0, fhz = 0, fdepth = 0, bz = 0;
    int rc = moire(ctx, &mr, &mf);
    if (rc == 0)
        rc = flicker(ctx, &fr, &fhz, &fdepth);
    if (rc == 0)
        rc = bezel(ctx, &bz);
    if (rc != 0)
        return rc;
    /* Train split: live clips reach 5.6, moiré replays start at 10.5. */
    double s_moire = vc_video__logistic(log(mr + 1e-9), log(8.0), 0.15);
    /* A periodic motion in the scene also moves the mean a little; a screen's flicker is a
     * deeper, cleaner oscillation. */
    double s_flicker = vc_video__logistic(log(fr + 1e-9), log(40.0), 0.2) *
                       vc_video__logistic(fdepth, 0.012, 0.002);
    double s_bezel = vc_video__logistic(bz, 0.8, 0.04);
    double s = s_moire > s_flicker ? s_moire : s_flicker;
    an->score = s > s_bezel ? s : s_bezel;
    vc_video__evidence(an, "moire_peak_ratio", mr);
    vc_video__evidence(an, "moire_cycles_per_px", mf);
    vc_video__evidence(an, "flicker_peak_ratio", fr);
    vc_video__evidence(an, "flicker_hz", fhz);
    vc_video__evidence(an, "flicker_depth", fdepth);
    vc_video__evidence(an, "bezel_edge_share", bz);
    vc_video__evidence(an, "tonal_range", tonal_range(ctx));
    double sat = 0;
    for (int t = 0; t < ctx->n; t++)
        sat += ctx->sat[t] / ctx->n;
    vc_video__evidence(an, "saturation", sat);
    return 0;
}

const vc_video__analyzer_t vc_video__screen_replay = {
    .api = VC_VIDEO__API, .name = "screen_replay", .version = 1, .fused = 1, .run = run};
