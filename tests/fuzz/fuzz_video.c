/* libFuzzer target: the video path of the detector (libavformat demuxers and libavcodec
 * decoders from memory, then the analyzers), on any bytes.
 *
 * Limits are small (60 frames, 512x512, 2 s of wall time, 64 px analysis width) so that one
 * input stays fast. Properties: decoded frames respect the limits and have strictly increasing
 * timestamps; a report has scores in [0, 1], a valid verdict and a valid top index; failures
 * are the documented errors with a message. */
#include <math.h>
#include <string.h>

#include "fuzz.h"
#include "vc/video.h"

#define MAX_FRAMES 60
#define MAX_SIDE 512

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    vc_video_quiet_logs();
    return 0;
}

static void check_error(int rc, const char *err)
{
    FUZZ_CHECK(rc == VC_EFORMAT || rc == VC_ETOOBIG || rc == VC_ETIMEDOUT || rc == VC_EINVAL ||
                   rc == VC_ENOMEM,
               "unexpected rc %d (%s)", rc, err);
    FUZZ_CHECK(err[0] != '\0', "rc %d without a message", rc);
}

static void check_frames(const vc_video_frames_t *frames, const vc_video_opts_t *opts)
{
    FUZZ_CHECK(frames->count >= 1 && frames->count <= opts->max_frames, "%d frames", frames->count);
    FUZZ_CHECK(frames->width >= 1 && frames->width <= opts->analysis_width && frames->height >= 1,
               "analysis size %dx%d", frames->width, frames->height);
    FUZZ_CHECK(frames->stats.width <= opts->max_width && frames->stats.height <= opts->max_height,
               "coded size %dx%d", frames->stats.width, frames->stats.height);
    for (int i = 1; i < frames->count; i++)
        FUZZ_CHECK(frames->pts[i] > frames->pts[i - 1], "pts[%d] %g after %g", i, frames->pts[i],
                   frames->pts[i - 1]);
    FUZZ_CHECK(frames->audio_env == NULL || frames->audio_bins >= 0, "%d audio bins",
               frames->audio_bins);
}

static void check_report(const vc_video_report_t *rep)
{
    FUZZ_CHECK(rep->score >= 0.0 && rep->score <= 1.0, "score %g", rep->score);
    FUZZ_CHECK(rep->verdict == VC_VIDEO_GENUINE || rep->verdict == VC_VIDEO_SPOOF ||
                   rep->verdict == VC_VIDEO_INCONCLUSIVE,
               "verdict %d", (int)rep->verdict);
    FUZZ_CHECK(rep->n_analyses >= 0 && rep->n_analyses <= VC_VIDEO_MAX_ANALYZERS, "%d analyses",
               rep->n_analyses);
    FUZZ_CHECK(rep->top >= -1 && rep->top < rep->n_analyses, "top %d of %d", rep->top,
               rep->n_analyses);
    for (int i = 0; i < rep->n_analyses; i++) {
        const vc_video_analysis_t *an = &rep->analyses[i];
        FUZZ_CHECK(an->score >= 0.0 && an->score <= 1.0, "%s: score %g", an->name, an->score);
        FUZZ_CHECK(an->n_evidence >= 0 && an->n_evidence <= VC_VIDEO_MAX_EVIDENCE,
                   "%s: %d evidence", an->name, an->n_evidence);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vc_video_opts_t opts;
    vc_video_frames_t *frames = NULL;
    vc_video_report_t rep;
    char err[256] = "";

    vc_video_opts_default(&opts);
    opts.max_width = MAX_SIDE;
    opts.max_height = MAX_SIDE;
    opts.max_frames = MAX_FRAMES;
    opts.max_duration_s = 30.0;
    opts.max_decoded_bytes = (uint64_t)32 << 20;
    opts.max_wall_s = 2.0;
    opts.analysis_width = 64;
    int rc = vc_video_decode(data, size, &opts, &frames, err, sizeof(err));
    if (rc != 0) {
        check_error(rc, err);
        return 0;
    }
    check_frames(frames, &opts);
    if (frames->count >= 2) {
        err[0] = '\0';
        rc = vc_video_analyze(frames, &opts, &rep, err, sizeof(err));
        if (rc != 0)
            check_error(rc, err);
        else
            check_report(&rep);
    }
    vc_video_frames_free(frames);
    return 0;
}
