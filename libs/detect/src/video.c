/* The video detection entry points: options, the analyzer table, fusion and verdict. */
#include <math.h>
#include <string.h>

#include <libavutil/log.h>

#include "video_internal.h"
#include "vc/error.h"

/* Every analyzer, in report order. */
static const vc_video__analyzer_t *const ANALYZERS[] = {
    &vc_video__static_image, &vc_video__screen_replay, &vc_video__frame_duplication,
    &vc_video__interpolation, &vc_video__splice, &vc_video__av_offset,
};
#define N_ANALYZERS ((int)(sizeof(ANALYZERS) / sizeof(ANALYZERS[0])))

void vc_video_opts_default(vc_video_opts_t *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->max_duration_s = 120.0;
    opts->max_width = 3840;
    opts->max_height = 2160;
    opts->max_frames = 3600;
    opts->max_decoded_bytes = (uint64_t)16 << 30;
    opts->max_wall_s = 120.0;
    opts->analysis_width = 320;
    opts->spoof_threshold = 0.5;
    opts->genuine_threshold = 0.35;
}

int vc_video__opts_check(const vc_video_opts_t *opts, char *err, size_t errlen)
{
    if (!(opts->max_duration_s > 0.0 && opts->max_duration_s <= 86400.0))
        return vc_err(err, errlen, VC_EINVAL, "max_duration_s must be in (0, 86400]");
    if (opts->max_width < VC_VIDEO__MIN_SIDE || opts->max_width > VC_VIDEO__MAX_SIDE ||
        opts->max_height < VC_VIDEO__MIN_SIDE || opts->max_height > VC_VIDEO__MAX_SIDE)
        return vc_err(err, errlen, VC_EINVAL, "max_width/max_height must be in %d..%d",
                      VC_VIDEO__MIN_SIDE, VC_VIDEO__MAX_SIDE);
    if (opts->max_frames < 2 || opts->max_frames > 100000)
        return vc_err(err, errlen, VC_EINVAL, "max_frames must be in 2..100000");
    if (opts->max_decoded_bytes == 0)
        return vc_err(err, errlen, VC_EINVAL, "max_decoded_bytes must be positive");
    if (!(opts->max_wall_s >= 0.0 && opts->max_wall_s <= 86400.0))
        return vc_err(err, errlen, VC_EINVAL, "max_wall_s must be in [0, 86400]");
    if (opts->analysis_width < 64 || opts->analysis_width > 640)
        return vc_err(err, errlen, VC_EINVAL, "analysis_width must be in 64..640");
    if (!(opts->genuine_threshold >= 0.0 && opts->genuine_threshold <= opts->spoof_threshold &&
          opts->spoof_threshold <= 1.0))
        return vc_err(err, errlen, VC_EINVAL,
                      "thresholds must satisfy 0 <= genuine <= spoof <= 1");
    return 0;
}

const char *vc_video_verdict_name(vc_video_verdict_t verdict)
{
    switch (verdict) {
    case VC_VIDEO_GENUINE:
        return "genuine";
    case VC_VIDEO_SPOOF:
        return "spoof";
    default:
        return "inconclusive";
    }
}

/* The fused score is the largest analyzer score: each analyzer is calibrated so that 0.5 is
 * its own decision point, and the attacks are distinct artifacts, so one clear artifact is
 * enough. */
static void fuse(vc_video_report_t *out, const vc_video_opts_t *opts)
{
    out->top = -1;
    out->score = 0.0;
    for (int i = 0; i < out->n_analyses; i++) {
        double s = out->analyses[i].score;
        if (!isfinite(s))
            s = 0.0;
        s = s < 0 ? 0 : s > 1 ? 1 : s;
        out->analyses[i].score = s;
        if (!out->analyses[i].fused)
            continue;
        if (out->top < 0 || s > out->score) {
            out->score = s;
            out->top = i;
        }
    }
    if (out->score >= opts->spoof_threshold)
        out->verdict = VC_VIDEO_SPOOF;
    else if (out->score < opts->genuine_threshold)
        out->verdict = VC_VIDEO_GENUINE;
    else
        out->verdict = VC_VIDEO_INCONCLUSIVE;
}

int vc_video_analyze(const vc_video_frames_t *frames, const vc_video_opts_t *opts,
                     vc_video_report_t *out, char *err, size_t errlen)
{
    vc_video_opts_t defaults;
    vc_video__ctx_t ctx;
    int rc;

    if (out == NULL || frames == NULL)
        return vc_err(err, errlen, VC_EINVAL, "NULL frames or report");
    memset(out, 0, sizeof(*out));
    if (opts == NULL) {
        vc_video_opts_default(&defaults);
        opts = &defaults;
    }
    rc = vc_video__opts_check(opts, err, errlen);
    if (rc != 0)
        return rc;
    if (frames->count < 2)
        return vc_err(err, errlen, VC_EINVAL, "%d frame(s): at least 2 are needed",
                      frames->count);
    rc = vc_video__ctx_init(&ctx, frames);
    if (rc != 0)
        return vc_err(err, errlen, rc, "no memory for frame measurements");
    for (int i = 0; i < N_ANALYZERS; i++) {
        const vc_video__analyzer_t *a = ANALYZERS[i];
        vc_video_analysis_t *an = &out->analyses[out->n_analyses++];
        an->name = a->name;
        an->version = a->version;
        an->fused = a->fused;
        rc = a->run(&ctx, an);
        if (rc != 0) {
            rc = vc_err(err, errlen, rc, "analyzer %s failed", a->name);
            goto fail;
        }
    }
    vc_video__ctx_free(&ctx);
    out->stats = frames->stats;
    fuse(out, opts);
    return 0;

fail:
    vc_video__ctx_free(&ctx);
    memset(out, 0, sizeof(*out));
    return rc;
}

int vc_video_detect(const uint8_t *data, size_t len, const vc_video_opts_t *opts,
                    vc_video_report_t *out, char *err, size_t errlen)
{
    vc_video_frames_t *frames = NULL;

    if (out == NULL)
        return vc_err(err, errlen, VC_EINVAL, "NULL report");
    memset(out, 0, sizeof(*out));
    int rc = vc_video_decode(data, len, opts, &frames, err, errlen);
    if (rc != 0)
        return rc;
    if (frames->count < 2) {
        vc_video_frames_free(frames);
        return vc_err(err, errlen, VC_EFORMAT, "only one decodable frame");
    }
    rc = vc_video_analyze(frames, opts, out, err, errlen);
    vc_video_frames_free(frames);
    return rc;
}

double vc_video_evidence(const vc_video_analysis_t *an, const char *key, double def)
{
    for (int i = 0; i < an->n_evidence; i++)
        if (an->evidence[i].key != NULL && strcmp(an->evidence[i].key, key) == 0)
            return an->evidence[i].value;
    return def;
}

const char *vc_video_version(void)
{
    return "video-0.1";
}

void vc_video_quiet_logs(void)
{
    av_log_set_level(AV_LOG_FATAL);
}
