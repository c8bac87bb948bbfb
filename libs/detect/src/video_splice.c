/* splice: an abrupt change inside a clip. A cut shows as one frame-to-frame change far larger
 * than the changes around it in the coarse picture (thumbnail); the full-size difference is
 * reported as evidence. Frame duplicates (zero changes) are left out of the local reference. */
#include <math.h>
#include <stdlib.h>

#include "video_internal.h"
#include "vc/error.h"

#define DUP_DIFF 0.05
#define TN (VC_VIDEO__TW * VC_VIDEO__TH)

/* Median of the non-duplicate values of x around t (window half-width w, t excluded). */
static double local_ref(const double *x, const double *diff, int n, int t, int w, double *tmp)
{
    int m = 0;
    for (int k = t - w; k <= t + w; k++)
        if (k >= 1 && k < n && k != t && diff[k] >= DUP_DIFF)
            tmp[m++] = x[k];
    return m >= 3 ? vc_video__quantile(tmp, m, 0.5) : -1.0;
}

typedef struct {
    double ratio;
    int at;
} peak_t;

/* The largest ratio of x[t] to its local reference. */
static peak_t outlier(const double *x, const vc_video__ctx_t *ctx, double floor, double *tmp)
{
    peak_t pk = {0, 0};
    int w = (int)lround(ctx->fps * 0.5);
    w = w < 5 ? 5 : w;
    for (int t = 1; t < ctx->n; t++) {
        if (ctx->diff[t] < DUP_DIFF)
            continue;
        double ref = local_ref(x, ctx->diff, ctx->n, t, w, tmp);
        if (ref < 0)
            continue;
        double r = x[t] / (ref + floor);
        if (r > pk.ratio) {
            pk.ratio = r;
            pk.at = t;
        }
    }
    return pk;
}

static int run(const vc_video__ctx_t *ctx, vc_video_analysis_t *an)
{
    int n = ctx->n;
    double *coarse = calloc((size_t)n, sizeof(double));
    double *tmp = malloc((size_t)(2 * n + 2) * sizeof(double));
    if (coarse == NULL || tmp == NULL) {
        free(coarse);
        free(tmp);
        return VC_ENOMEM;
    }
    for (int t = 1; t < n; t++) {
        double s = 0;
        const float *a = ctx->thumb + (size_t)(t - 1) * TN, *b = ctx->thumb + (size_t)t * TN;
        for (int i = 0; i < TN; i++)
            s += fabs((double)a[i] - (double)b[i]);
        coarse[t] = s / TN;
    }
    peak_t pc = outlier(coarse, ctx, 0.5, tmp);
    peak_t pf = outlier(ctx->diff, ctx, 0.5, tmp);
    free(coarse);
    free(tmp);
    /* The decision uses the coarse picture only: a cut changes the whole frame, while a
     * small object can change the fine difference abruptly (train split: live clips reach
     * 2.4 coarse but 7.5 fine; cuts start at 3.4 coarse). */
    peak_t best = pc;
    an->score = vc_video__logistic(log(best.ratio + 1e-9), log(2.9), 0.1);
    vc_video__evidence(an, "coarse_jump_ratio", pc.ratio);
    vc_video__evidence(an, "fine_jump_ratio", pf.ratio);
    if (best.at > 0) {
        vc_video__evidence(an, "splice_s", ctx->frames->pts[best.at]);
        vc_video__evidence(an, "luma_step", ctx->mean[best.at] - ctx->mean[best.at - 1]);
    }
    return 0;
}

const vc_video__analyzer_t vc_video__splice = {
    .api = VC_VIDEO__API, .name = "splice", .version = 1, .fused = 1, .run = run};
