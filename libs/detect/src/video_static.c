/* static_image: a photo held to the camera moves as one rigid plane. For sampled frame pairs
 * the global translation is estimated from row/column projections (sub-pixel), the previous
 * frame is shifted by it, and the residual is measured per block: live scenes leave blocks
 * that moved on their own (non-rigid motion) far above the median block, a photo does not. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "video_internal.h"
#include "vc/error.h"

#define MAX_PAIRS 24
#define MAX_SHIFT 12
#define BLOCK 16
#define MARGIN 16 /* > MAX_SHIFT + 1 */

/* Best shift s (|s| <= MAX_SHIFT) of profile b against a, sub-pixel by a parabola. */
static double profile_shift(const double *a, const double *b, int len)
{
    double cost[2 * MAX_SHIFT + 1];
    int best = 0;
    for (int s = -MAX_SHIFT; s <= MAX_SHIFT; s++) {
        double c = 0;
        int m = 0;
        for (int i = MAX_SHIFT; i < len - MAX_SHIFT; i++, m++)
            c += fabs(b[i] - a[i - s]);
        cost[s + MAX_SHIFT] = m > 0 ? c / m : 0;
        if (cost[s + MAX_SHIFT] < cost[best + MAX_SHIFT])
            best = s;
    }
    if (best == -MAX_SHIFT || best == MAX_SHIFT)
        return best;
    double l = cost[best + MAX_SHIFT - 1], c = cost[best + MAX_SHIFT],
           r = cost[best + MAX_SHIFT + 1];
    double den = l - 2 * c + r;
    return den > 1e-12 ? best + 0.5 * (l - r) / den : best;
}

static void profiles(const uint8_t *y, int w, int h, double *rows, double *cols)
{
    memset(rows, 0, (size_t)h * sizeof(double));
    memset(cols, 0, (size_t)w * sizeof(double));
    for (int r = 0; r < h; r++)
        for (int c = 0; c < w; c++) {
            rows[r] += y[(size_t)r * w + c];
            cols[c] += y[(size_t)r * w + c];
        }
    for (int r = 0; r < h; r++)
        rows[r] /= w;
    for (int c = 0; c < w; c++)
        cols[c] /= h;
}

/* Per-block mean |cur - prev shifted by (dx, dy)| (bilinear, 8-bit fixed-point weights);
 * returns the number of blocks. Blocks stay MARGIN >= MAX_SHIFT + 1 pixels inside the frame,
 * so the shifted reads never leave it. */
static int block_residuals(const uint8_t *prev, const uint8_t *cur, int w, int h, double dx,
                           double dy, double *res, double *grad)
{
    int ix = (int)floor(dx), iy = (int)floor(dy);
    int ax = (int)lround((dx - ix) * 256), ay = (int)lround((dy - iy) * 256);
    /* sample at (c - dx, r - dy): integer part -ix-1 plus fraction 1 - ax */
    int ox = -ix - 1, oy = -iy - 1, wx = 256 - ax, wy = 256 - ay;
    if (wx == 256) {
        ox++;
        wx = 0;
    }
    if (wy == 256) {
        oy++;
        wy = 0;
    }
    int w00 = (256 - wx) * (256 - wy), w01 = wx * (256 - wy), w10 = (256 - wx) * wy, w11 = wx * wy;
    int nb = 0;
    for (int by = MARGIN; by + BLOCK <= h - MARGIN; by += BLOCK)
        for (int bx = MARGIN; bx + BLOCK <= w - MARGIN; bx += BLOCK) {
            int64_t s = 0, g = 0;
            for (int r = by; r < by + BLOCK; r++) {
                const uint8_t *q = prev + (size_t)(r + oy) * w + bx + ox, *c = cur + (size_t)r * w + bx;
                for (int k = 0; k < BLOCK; k++) {
                    int v = (q[k] * w00 + q[k + 1] * w01 + q[k + w] * w10 + q[k + w + 1] * w11 +
                             32768) >> 16;
                    int d = c[k] - v, gx = c[k + 1] - c[k], gy = c[k + w] - c[k];
                    s += d < 0 ? -d : d;
                    g += (gx < 0 ? -gx : gx) + (gy < 0 ? -gy : gy);
                }
            }
            grad[nb] = (double)g / (BLOCK * BLOCK);
            res[nb++] = (double)s / (BLOCK * BLOCK);
        }
    return nb;
}

typedef struct {
    double ratio, moving, noise, motion, excess;
} pair_t;

/* The 95th percentile of each block's residual over what rigid motion explains: a noise
 * floor a plus resampling error proportional to the block's gradient (b g). Both are fitted
 * robustly from the blocks themselves; blocks that moved on their own stand far above. */
static double excess_residual(const double *res, const double *grad, int nb, double *tmp)
{
    for (int i = 0; i < nb; i++)
        tmp[i] = res[i];
    double a = vc_video__quantile(tmp, nb, 0.25) + 0.25;
    int m = 0;
    for (int i = 0; i < nb; i++)
        if (grad[i] > 1.0)
            tmp[m++] = (res[i] > a ? res[i] - a : 0) / grad[i];
    double b = m > 0 ? vc_video__quantile(tmp, m, 0.5) : 0.0;
    for (int i = 0; i < nb; i++)
        tmp[i] = res[i] / (a + b * grad[i]);
    return vc_video__quantile(tmp, nb, 0.95);
}

static int analyse_pair(const vc_video_frames_t *fr, int t, double *buf, pair_t *out)
{
    int w = fr->width, h = fr->height;
    size_t blocks = (size_t)(w / BLOCK + 1) * (h / BLOCK + 1);
    double *ra = buf, *ca = ra + h, *rb = ca + w, *cb = rb + h, *res = cb + w;
    double *grad = res + blocks, *tmp = grad + blocks;
    const uint8_t *prev = vc_video__luma(fr, t - 1), *cur = vc_video__luma(fr, t);
    profiles(prev, w, h, ra, ca);
    profiles(cur, w, h, rb, cb);
    double dy = profile_shift(ra, rb, h), dx = profile_shift(ca, cb, w);
    int nb = block_residuals(prev, cur, w, h, dx, dy, res, grad);
    if (nb < 4)
        return -1;
    out->excess = excess_residual(res, grad, nb, tmp);
    double q50 = vc_video__quantile(res, nb, 0.5), q95 = vc_video__quantile(res, nb, 0.95);
    int moving = 0;
    for (int i = 0; i < nb; i++)
        moving += res[i] > 2.5 * q50 + 2.0;
    out->ratio = (q95 + 0.5) / (q50 + 0.5);
    out->moving = (double)moving / nb;
    out->noise = q50;
    out->motion = sqrt(dx * dx + dy * dy);
    return 0;
}

static int run(const vc_video__ctx_t *ctx, vc_video_analysis_t *an)
{
    const vc_video_frames_t *fr = ctx->frames;
    int w = fr->width, h = fr->height, n = ctx->n;
    int pairs = n - 1 < MAX_PAIRS ? n - 1 : MAX_PAIRS;
    size_t blocks = (size_t)(w / BLOCK + 1) * (h / BLOCK + 1);
    double *buf = malloc((2 * (size_t)(w + h) + 3 * blocks + 5 * MAX_PAIRS) * sizeof(double));
    if (buf == NULL)
        return VC_ENOMEM;
    double *ratio = buf + 2 * (size_t)(w + h) + 3 * blocks, *moving = ratio + MAX_PAIRS;
    double *noise = moving + MAX_PAIRS, *motion = noise + MAX_PAIRS, *excess = motion + MAX_PAIRS;
    int m = 0;
    for (int k = 0; k < pairs; k++) {
        int t = 1 + (int)((long)k * (n - 1) / pairs);
        pair_t p;
        if (analyse_pair(fr, t, buf, &p) != 0)
            continue;
        ratio[m] = log(p.ratio);
        moving[m] = p.moving;
        noise[m] = p.noise;
        motion[m] = p.motion;
        excess[m] = p.excess;
        m++;
    }
    double lr = m > 0 ? vc_video__quantile(ratio, m, 0.5) : 0.0;
    double mv = m > 0 ? vc_video__quantile(moving, m, 0.75) : 0.0;
    double nz = m > 0 ? vc_video__quantile(noise, m, 0.5) : 0.0;
    double gm = m > 0 ? vc_video__quantile(motion, m, 0.5) : 0.0;
    double ex = m > 0 ? vc_video__quantile(excess, m, 0.5) : 0.0;
    free(buf);
    /* Rigid: the busiest blocks are within a small factor of the median one. A frame too
     * small for any block measures nothing and scores 0. */
    an->score = m == 0 ? 0.0
                       : vc_video__logistic(-lr, -log(2.2), 0.12) *
                             vc_video__logistic(-mv, -0.04, 0.01);
    vc_video__evidence(an, "residual_ratio", exp(lr));
    vc_video__evidence(an, "moving_blocks", mv);
    vc_video__evidence(an, "residual_noise", nz);
    vc_video__evidence(an, "global_motion_px", gm);
    vc_video__evidence(an, "pairs", m);
    vc_video__evidence(an, "excess_residual", ex);
    return 0;
}

const vc_video__analyzer_t vc_video__static_image = {
    .api = VC_VIDEO__API, .name = "static_image", .version = 1, .fused = 1, .run = run};
