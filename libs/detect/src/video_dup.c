/* frame_duplication: repeated or near-identical consecutive frames (frame-rate padding,
 * frozen stretches) and loops (a stretch of frames that repeats an earlier stretch, found as
 * distant frames that are closer than neighbouring ones, which live sensor noise forbids). */
#include <math.h>
#include <stdlib.h>

#include "video_internal.h"
#include "vc/error.h"

#define EXACT_DIFF 0.02    /* mean |difference| below this is an exact copy, whatever moves */
#define REL_DIFF 0.12      /* ... or below this share of the clip's 90th-percentile motion */
#define ABS_DIFF 0.35      /* ... as long as it is also below this */
#define MAX_PAIRS 2000000L /* bounds the loop search to O(n) thumbnails per frame */
#define LOOP_MIN_RUN 5

typedef struct {
    int count, run, run_start;
    int loop_run, loop_start, loop_lag;
    double p90;
} dup_stats_t;

/* Counts near-identical consecutive frames and the longest run of them. */
static void count_dups(const vc_video__ctx_t *ctx, dup_stats_t *st, double *tmp)
{
    int n = ctx->n, cur = 0;
    for (int t = 1; t < n; t++)
        tmp[t - 1] = ctx->diff[t];
    st->p90 = vc_video__quantile(tmp, n - 1, 0.9);
    double thr = REL_DIFF * st->p90;
    thr = thr < ABS_DIFF ? thr : ABS_DIFF;
    thr = thr > EXACT_DIFF ? thr : EXACT_DIFF;
    for (int t = 1; t < n; t++) {
        if (ctx->diff[t] < thr) {
            st->count++;
            cur++;
            if (cur > st->run) {
                st->run = cur;
                st->run_start = t - cur;
            }
        } else {
            cur = 0;
        }
    }
}

static double thumb_dist(const float *a, const float *b)
{
    double s = 0;
    for (int i = 0; i < VC_VIDEO__TW * VC_VIDEO__TH; i++)
        s += fabs((double)a[i] - (double)b[i]);
    return s / (VC_VIDEO__TW * VC_VIDEO__TH);
}

/* For frame j, the earlier frame (at least minlag back) with the nearest thumbnail, when its
 * full-size difference is under half of j's difference to its neighbour; else -1. */
static int repeat_of(const vc_video__ctx_t *ctx, int j, int minlag, int maxlag)
{
    const int tn = VC_VIDEO__TW * VC_VIDEO__TH;
    const vc_video_frames_t *fr = ctx->frames;
    int best = -1;
    double bd = INFINITY;
    int lo = j - maxlag < 0 ? 0 : j - maxlag;
    for (int i = lo; i <= j - minlag; i++) {
        double dd = thumb_dist(ctx->thumb + (size_t)i * tn, ctx->thumb + (size_t)j * tn);
        if (dd < bd) {
            bd = dd;
            best = i;
        }
    }
    if (best < 0 || ctx->diff[j] < ABS_DIFF)
        return -1;
    double far = vc_video__mad(vc_video__luma(fr, best), vc_video__luma(fr, j),
                               (size_t)fr->width * fr->height);
    return far < 0.5 * ctx->diff[j] ? best : -1;
}

/* Finds the longest stretch of frames that repeat earlier frames at one lag (within 1). */
static int find_loop(const vc_video__ctx_t *ctx, dup_stats_t *st)
{
    int n = ctx->n;
    int minlag = (int)lround(ctx->fps * 0.3);
    minlag = minlag < 3 ? 3 : minlag;
    int maxlag = (int)(MAX_PAIRS / n);
    int *rep = malloc((size_t)n * sizeof(int));
    if (rep == NULL)
        return VC_ENOMEM;
    for (int j = 0; j < n; j++)
        rep[j] = j >= minlag ? repeat_of(ctx, j, minlag, maxlag) : -1;
    int run = 0;
    for (int j = 1; j < n; j++) {
        int lag = rep[j] >= 0 ? j - rep[j] : -1;
        int prev = rep[j - 1] >= 0 ? j - 1 - rep[j - 1] : -2;
        run = lag >= 0 && abs(lag - prev) <= 1 ? run + 1 : (lag >= 0 ? 1 : 0);
        if (run > st->loop_run) {
            st->loop_run = run;
            st->loop_start = j - run + 1;
            st->loop_lag = lag;
        }
    }
    free(rep);
    return 0;
}

static int run(const vc_video__ctx_t *ctx, vc_video_analysis_t *an)
{
    dup_stats_t st = {0};
    const double *pts = ctx->frames->pts;
    double *tmp = malloc((size_t)ctx->n * sizeof(double));
    if (tmp == NULL)
        return VC_ENOMEM;
    count_dups(ctx, &st, tmp);
    free(tmp);
    int rc = find_loop(ctx, &st);
    if (rc != 0)
        return rc;
    double frac = (double)st.count / (ctx->n - 1);
    double run_s = st.run / ctx->fps;
    double loop_s = st.loop_run >= LOOP_MIN_RUN ? st.loop_run / ctx->fps : 0.0;
    /* Each cue is scaled so that 1 is clearly abnormal: 20% duplicates, a 0.6 s freeze, a
     * 0.3 s loop (real footage in the train split drops frames: up to 14% and 0.4 s). */
    double x = frac / 0.20;
    x = run_s / 0.6 > x ? run_s / 0.6 : x;
    x = loop_s / 0.3 > x ? loop_s / 0.3 : x;
    an->score = vc_video__logistic(x, 0.7, 0.1);
    vc_video__evidence(an, "duplicate_fraction", frac);
    vc_video__evidence(an, "duplicates", st.count);
    vc_video__evidence(an, "motion_p90", st.p90);
    vc_video__evidence(an, "freeze_s", run_s);
    if (st.run > 0) {
        vc_video__evidence(an, "freeze_start_s", pts[st.run_start]);
        vc_video__evidence(an, "freeze_end_s", pts[st.run_start + st.run]);
    }
    vc_video__evidence(an, "loop_s", loop_s);
    if (loop_s > 0) {
        int s = st.loop_start;
        vc_video__evidence(an, "loop_start_s", pts[s]);
        vc_video__evidence(an, "loop_source_s", pts[s - st.loop_lag]);
        vc_video__evidence(an, "loop_end_s", pts[s + st.loop_run - 1]);
    }
    return 0;
}

const vc_video__analyzer_t vc_video__frame_duplication = {
    .api = VC_VIDEO__API, .name = "frame_duplication", .version = 1, .fused = 1, .run = run};
