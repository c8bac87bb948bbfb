/* One pass of per-frame measurements shared by the analyzers, and the small numeric helpers
 * they use (quantiles, logistic map, periodicity). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "video_internal.h"
#include "vc/error.h"

double vc_video__mad(const uint8_t *a, const uint8_t *b, size_t n)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += (uint64_t)abs((int)a[i] - (int)b[i]);
    return n > 0 ? (double)sum / (double)n : 0.0;
}

/* The frame is also measured per quadrant (q = 2 * bottom + right) so that analyzers can
 * tell a global artifact from a local one. Each helper returns the whole-frame value and
 * writes the four quadrant values. */

/* Mean luma and mean |4-neighbour Laplacian| of one frame. */
static void frame_levels(const uint8_t *y, int w, int h, double *mean, double *hf, double *hfq)
{
    uint64_t sum = 0, lap[4] = {0}, cnt[4] = {0};
    int half = w / 2;
    for (size_t i = 0; i < (size_t)w * h; i++)
        sum += y[i];
    for (int r = 1; r < h - 1; r++) {
        const uint8_t *p = y + (size_t)r * w;
        int q = r >= h / 2 ? 2 : 0;
        for (int c = 1; c < w - 1; c++) {
            int v = 4 * p[c] - p[c - 1] - p[c + 1] - p[c - w] - p[c + w];
            lap[q + (c >= half)] += (uint64_t)(v < 0 ? -v : v);
        }
        cnt[q] += (uint64_t)(half - 1);
        cnt[q + 1] += (uint64_t)(w - 1 - half);
    }
    *mean = (double)sum / ((double)w * h);
    *hf = (double)(lap[0] + lap[1] + lap[2] + lap[3]) / ((double)(w - 2) * (h - 2));
    for (int q = 0; q < 4; q++)
        hfq[q] = cnt[q] > 0 ? (double)lap[q] / (double)cnt[q] : 0.0;
}

/* Mean |a - b| over the frame and per quadrant. */
static double quad_mad(const uint8_t *a, const uint8_t *b, int w, int h, double *out)
{
    uint64_t s[4] = {0};
    int half = w / 2;
    for (int r = 0; r < h; r++) {
        const uint8_t *pa = a + (size_t)r * w, *pb = b + (size_t)r * w;
        int q = r >= h / 2 ? 2 : 0;
        for (int c = 0; c < w; c++)
            s[q + (c >= half)] += (uint64_t)abs((int)pa[c] - (int)pb[c]);
    }
    double top = (double)(h / 2), bottom = (double)(h - h / 2);
    out[0] = s[0] / (top * half);
    out[1] = s[1] / (top * (w - half));
    out[2] = s[2] / (bottom * half);
    out[3] = s[3] / (bottom * (w - half));
    return (double)(s[0] + s[1] + s[2] + s[3]) / ((double)w * h);
}

/* Mean |2 c - gp p - gn n| / 2: how far frame c is from the average of its neighbours, with
 * the neighbours' brightness matched to c (gains gp, gn) so that flicker does not count. */
static double midpoint(const uint8_t *p, const uint8_t *c, const uint8_t *n, int w, int h,
                       double gp, double gn, double *out)
{
    int64_t s[4] = {0}, a = (int64_t)lround(gp * 65536), b = (int64_t)lround(gn * 65536);
    int half = w / 2;
    for (int r = 0; r < h; r++) {
        size_t o = (size_t)r * w;
        int q = r >= h / 2 ? 2 : 0;
        for (int x = 0; x < w; x++) {
            int64_t v = ((int64_t)c[o + x] << 17) - a * p[o + x] - b * n[o + x];
            s[q + (x >= half)] += v < 0 ? -v : v;
        }
    }
    double top = (double)(h / 2), bottom = (double)(h - h / 2), k = 131072.0;
    out[0] = s[0] / (k * top * half);
    out[1] = s[1] / (k * top * (w - half));
    out[2] = s[2] / (k * bottom * half);
    out[3] = s[3] / (k * bottom * (w - half));
    return (double)(s[0] + s[1] + s[2] + s[3]) / (k * (double)w * h);
}

static double gain(double to, double from)
{
    double g = (to + 1) / (from + 1);
    return g < 0.5 ? 0.5 : g > 2 ? 2 : g;
}

static void thumbnail(const uint8_t *y, int w, int h, float *out)
{
    int bw = w / VC_VIDEO__TW, bh = h / VC_VIDEO__TH;
    for (int by = 0; by < VC_VIDEO__TH; by++)
        for (int bx = 0; bx < VC_VIDEO__TW; bx++) {
            uint32_t s = 0;
            for (int r = 0; r < bh; r++) {
                const uint8_t *p = y + (size_t)(by * bh + r) * w + (size_t)bx * bw;
                for (int c = 0; c < bw; c++)
                    s += p[c];
            }
            out[by * VC_VIDEO__TW + bx] = (float)s / (float)(bw * bh);
        }
}

static double saturation(const uint8_t *rgb, size_t pixels)
{
    uint64_t s = 0;
    for (size_t i = 0; i < pixels; i++) {
        const uint8_t *p = rgb + 3 * i;
        uint8_t mx = p[0], mn = p[0];
        for (int k = 1; k < 3; k++) {
            mx = p[k] > mx ? p[k] : mx;
            mn = p[k] < mn ? p[k] : mn;
        }
        s += (uint64_t)(mx - mn);
    }
    return pixels > 0 ? (double)s / (double)pixels : 0.0;
}

/* Nominal frame rate: one over the median interval between timestamps. */
static double nominal_fps(const vc_video_frames_t *fr, double *tmp)
{
    int n = fr->count - 1;
    for (int i = 0; i < n; i++)
        tmp[i] = fr->pts[i + 1] - fr->pts[i];
    double step = vc_video__quantile(tmp, n, 0.5);
    return step > 1e-4 ? 1.0 / step : 30.0;
}

int vc_video__ctx_init(vc_video__ctx_t *ctx, const vc_video_frames_t *fr)
{
    int n = fr->count, w = fr->width, h = fr->height;

    memset(ctx, 0, sizeof(*ctx));
    ctx->frames = fr;
    ctx->n = n;
    ctx->mean = calloc((size_t)n, sizeof(double));
    ctx->hf = calloc((size_t)n, sizeof(double));
    ctx->diff = calloc((size_t)n, sizeof(double));
    ctx->mid = calloc((size_t)n, sizeof(double));
    ctx->sat = calloc((size_t)n, sizeof(double));
    ctx->thumb = calloc((size_t)n * VC_VIDEO__TW * VC_VIDEO__TH, sizeof(float));
    ctx->hfq = calloc((size_t)n * 4, sizeof(double));
    ctx->diffq = calloc((size_t)n * 4, sizeof(double));
    ctx->midq = calloc((size_t)n * 4, sizeof(double));
    if (ctx->mean == NULL || ctx->hf == NULL || ctx->diff == NULL || ctx->mid == NULL ||
        ctx->sat == NULL || ctx->thumb == NULL || ctx->hfq == NULL || ctx->diffq == NULL ||
        ctx->midq == NULL)
        goto fail;
    for (int t = 0; t < n; t++) {
        const uint8_t *y = vc_video__luma(fr, t);
        frame_levels(y, w, h, &ctx->mean[t], &ctx->hf[t], ctx->hfq + 4 * (size_t)t);
        thumbnail(y, w, h, ctx->thumb + (size_t)t * VC_VIDEO__TW * VC_VIDEO__TH);
        ctx->sat[t] = saturation(fr->rgb + (size_t)t * fr->rgb_width * fr->rgb_height * 3,
                                 (size_t)fr->rgb_width * fr->rgb_height);
        if (t > 0)
            ctx->diff[t] = quad_mad(vc_video__luma(fr, t - 1), y, w, h, ctx->diffq + 4 * (size_t)t);
    }
    for (int t = 1; t < n - 1; t++)
        ctx->mid[t] = midpoint(vc_video__luma(fr, t - 1), vc_video__luma(fr, t),
                               vc_video__luma(fr, t + 1), w, h,
                               gain(ctx->mean[t], ctx->mean[t - 1]),
                               gain(ctx->mean[t], ctx->mean[t + 1]), ctx->midq + 4 * (size_t)t);
    double *tmp = malloc((size_t)n * sizeof(double));
    if (tmp == NULL)
        goto fail;
    ctx->fps = nominal_fps(fr, tmp);
    free(tmp);
    return 0;

fail:
    vc_video__ctx_free(ctx);
    return VC_ENOMEM;
}

void vc_video__ctx_free(vc_video__ctx_t *ctx)
{
    free(ctx->mean);
    free(ctx->hf);
    free(ctx->diff);
    free(ctx->mid);
    free(ctx->sat);
    free(ctx->thumb);
    free(ctx->hfq);
    free(ctx->diffq);
    free(ctx->midq);
    memset(ctx, 0, sizeof(*ctx));
}

void vc_video__evidence(vc_video_analysis_t *an, const char *key, double value)
{
    if (an->n_evidence >= VC_VIDEO_MAX_EVIDENCE)
        return;
    an->evidence[an->n_evidence].key = key;
    an->evidence[an->n_evidence].value = isfinite(value) ? value : 0.0;
    an->n_evidence++;
}

double vc_video__logistic(double x, double center, double scale)
{
    double z = (x - center) / scale;
    if (z > 40)
        return 1.0;
    if (z < -40)
        return 0.0;
    return 1.0 / (1.0 + exp(-z));
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double vc_video__quantile(double *x, int n, double q)
{
    if (n < 1)
        return 0.0;
    qsort(x, (size_t)n, sizeof(*x), cmp_double);
    double pos = q * (n - 1);
    int i = (int)floor(pos);
    if (i >= n - 1)
        return x[n - 1];
    double f = pos - i;
    return x[i] * (1 - f) + x[i + 1] * f;
}

double vc_video__median_range(const double *x, int lo, int hi, double *tmp)
{
    int n = hi - lo;
    if (n < 1)
        return 0.0;
    memcpy(tmp, x + lo, (size_t)n * sizeof(*tmp));
    return vc_video__quantile(tmp, n, 0.5);
}

/* Chance-corrected share of variance explained by the phase means for period p. */
static double period_share(const double *x, int n, int p, int *low_phase, double *range)
{
    double sum[16] = {0}, tot = 0, between = 0;
    int cnt[16] = {0}, m = 0;
    for (int t = p; t < n - p; t++) {
        double local = 0;
        for (int k = -p; k < p; k++)
            local += x[t + k];
        double y = x[t] - local / (2 * p);
        sum[t % p] += y;
        cnt[t % p]++;
        tot += y * y;
        m++;
    }
    if (m < 4 * p || tot <= 0)
        return 0.0;
    double low = INFINITY, high = -INFINITY;
    for (int k = 0; k < p; k++) {
        double mean = cnt[k] > 0 ? sum[k] / cnt[k] : 0.0;
        between += mean * mean * cnt[k];
        high = mean > high ? mean : high;
        if (mean < low) {
            low = mean;
            *low_phase = k;
        }
    }
    *range = high - low;
    double chance = (double)(p - 1) / m;
    double share = (between / tot - chance) / (1.0 - chance);
    return share < 0 ? 0.0 : share > 1 ? 1.0 : share;
}

double vc_video__periodicity(const double *x, int n, int pmax, int *period, int *low_phase,
                             double *range)
{
    double best = 0;
    *period = 0;
    *low_phase = 0;
    *range = 0;
    if (pmax > 15)
        pmax = 15;
    for (int p = 2; p <= pmax; p++) {
        int ph = 0;
        double rg = 0;
        double s = period_share(x, n, p, &ph, &rg);
        if (s > best * 1.15 + 0.02) { /* a multiple of the true period must clearly win */
            best = s;
            *period = p;
            *low_phase = ph;
            *range = rg;
        }
    }
    return best;
}
