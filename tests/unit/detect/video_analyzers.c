/* Video analyzers on constructed frame sequences: exact duplicates, freezes, a known flicker
 * frequency, a synthetic moiré grating, a rigidly moving photo, interpolated frames and a
 * splice; and a live-like scene that none of them flags. */
#include <stdint.h>
#include <string.h>

#include "test.h"
#include "video_gen.h"
#include "vc/error.h"
#include "vc/video.h"

#define W 320
#define H 240
#define N 90
#define FPS 30.0

static const vc_video_analysis_t *find(const vc_video_report_t *rep, const char *name)
{
    for (int i = 0; i < rep->n_analyses; i++)
        if (strcmp(rep->analyses[i].name, name) == 0)
            return &rep->analyses[i];
    VC_TEST_FAIL("no analyzer %s", name);
}

static void analyze(const vc_video_frames_t *fr, vc_video_report_t *rep)
{
    char err[256] = "";
    int rc = vc_video_analyze(fr, NULL, rep, err, sizeof(err));
    if (rc != 0)
        VC_TEST_FAIL("vc_video_analyze: %s: %s", vc_strerror(rc), err);
    ASSERT_EQ(rep->n_analyses, 6);
    for (int i = 0; i < rep->n_analyses; i++) {
        ASSERT(rep->analyses[i].score >= 0 && rep->analyses[i].score <= 1);
        const vc_video_analysis_t *an = &rep->analyses[i];
        fprintf(stderr, "   %-18s %.3f", an->name, an->score);
        for (int k = 0; k < an->n_evidence; k++)
            fprintf(stderr, " %s=%.3g", an->evidence[k].key, an->evidence[k].value);
        fputc('\n', stderr);
    }
}

/* Renders a whole live-like clip; modify(t, &scene) may change each frame's scene. */
static vc_video_frames_t *render(void (*modify)(int t, vgen_scene_t *sc))
{
    vgen_rng_t rng = {42};
    vc_video_frames_t *fr = vgen_frames(W, H, N, FPS);
    for (int t = 0; t < N; t++) {
        vgen_scene_t sc = vgen_live(1);
        sc.dx = 2 * sin(0.1 * t);
        if (modify != NULL)
            modify(t, &sc);
        vgen_render(fr, t, t, &sc, &rng);
    }
    return fr;
}

static void test_live_is_genuine(void)
{
    vc_video_report_t rep;
    vc_video_frames_t *fr = render(NULL);
    analyze(fr, &rep);
    ASSERT(rep.score < 0.5);
    ASSERT_EQ(rep.verdict == VC_VIDEO_SPOOF, 0);
    vc_video_frames_free(fr);
}

static void test_exact_duplicates(void)
{
    vc_video_report_t rep;
    vc_video_frames_t *fr = render(NULL);
    size_t px = (size_t)W * H;
    for (int t = 0; t < N; t++) /* 30 fps from 10 fps: every frame shown three times */
        if (t % 3 != 0)
            memcpy(fr->luma + t * px, fr->luma + (t - t % 3) * px, px);
    analyze(fr, &rep);
    const vc_video_analysis_t *an = find(&rep, "frame_duplication");
    ASSERT(an->score > 0.9);
    ASSERT_NEAR(vc_video_evidence(an, "duplicate_fraction", -1), 60.0 / 89, 0.02);
    ASSERT_EQ(rep.verdict, VC_VIDEO_SPOOF);
    ASSERT_STREQ(rep.analyses[rep.top].name, "frame_duplication");
    vc_video_frames_free(fr);
}

static void test_freeze_times(void)
{
    vc_video_report_t rep;
    vc_video_frames_t *fr = render(NULL);
    size_t px = (size_t)W * H;
    for (int t = 31; t < 61; t++) /* frozen from 1.0 s to 2.0 s */
        memcpy(fr->luma + t * px, fr->luma + 30 * px, px);
    analyze(fr, &rep);
    const vc_video_analysis_t *an = find(&rep, "frame_duplication");
    ASSERT(an->score > 0.9);
    ASSERT_NEAR(vc_video_evidence(an, "freeze_start_s", -1), 1.0, 0.04);
    ASSERT_NEAR(vc_video_evidence(an, "freeze_end_s", -1), 2.0, 0.04);
    vc_video_frames_free(fr);
}

static void flicker_6hz(int t, vgen_scene_t *sc)
{
    sc->gain = 1 + 0.05 * sin(2 * M_PI * 6.0 * t / FPS);
}

static void test_flicker_frequency(void)
{
    vc_video_report_t rep;
    vc_video_frames_t *fr = render(flicker_6hz);
    analyze(fr, &rep);
    const vc_video_analysis_t *an = find(&rep, "screen_replay");
    ASSERT(an->score > 0.9);
    ASSERT_NEAR(vc_video_evidence(an, "flicker_hz", -1), 6.0, 0.35);
    vc_video_frames_free(fr);
}

static void moire(int t, vgen_scene_t *sc)
{
    (void)t;
    sc->grating = 0.08;
}

static void test_moire(void)
{
    vc_video_report_t rep, live;
    vc_video_frames_t *fr = render(moire);
    analyze(fr, &rep);
    const vc_video_analysis_t *an = find(&rep, "screen_replay");
    ASSERT_NEAR(vc_video_evidence(an, "moire_cycles_per_px", -1), 1 / 5.3, 0.02);
    vc_video_frames_free(fr);
    fr = render(NULL);
    analyze(fr, &live);
    ASSERT(vc_video_evidence(find(&live, "screen_replay"), "moire_peak_ratio", 99) * 1.4 <
           vc_video_evidence(an, "moire_peak_ratio", 0));
    vc_video_frames_free(fr);
}

static void photo(int t, vgen_scene_t *sc)
{
    sc->blobs = 0; /* nothing moves on its own: the whole picture shakes */
    sc->dx = 3 * sin(0.3 * t) + 1.5 * sin(0.71 * t);
    sc->dy = 2 * cos(0.25 * t);
}

static void test_static_image(void)
{
    vc_video_report_t rep;
    vc_video_frames_t *fr = render(photo);
    analyze(fr, &rep);
    ASSERT(find(&rep, "static_image")->score > 0.7);
    ASSERT_STREQ(rep.analyses[rep.top].name, "static_image");
    vc_video_frames_free(fr);
}

static void test_interpolation(void)
{
    vc_video_report_t rep;
    vc_video_frames_t *fr = render(NULL);
    size_t px = (size_t)W * H;
    for (int t = 1; t + 1 < N; t += 2) /* every other frame: the average of its neighbours */
        for (size_t p = 0; p < px; p++)
            fr->luma[t * px + p] =
                (uint8_t)((fr->luma[(t - 1) * px + p] + fr->luma[(t + 1) * px + p] + 1) / 2);
    analyze(fr, &rep);
    const vc_video_analysis_t *an = find(&rep, "interpolation");
    ASSERT(an->score > 0.9);
    ASSERT_NEAR(vc_video_evidence(an, "period_s", -1), 2 / FPS, 1e-6);
    vc_video_frames_free(fr);
}

static void cut(int t, vgen_scene_t *sc)
{
    if (t >= 45)
        sc->seed = 7;
}

static void test_splice(void)
{
    vc_video_report_t rep;
    vc_video_frames_t *fr = render(cut);
    analyze(fr, &rep);
    const vc_video_analysis_t *an = find(&rep, "splice");
    ASSERT(an->score > 0.9);
    ASSERT_NEAR(vc_video_evidence(an, "splice_s", -1), 45 / FPS, 1e-6);
    vc_video_frames_free(fr);
}

/* Regression (found by fuzz_video): frames smaller than the moiré window were read out of
 * bounds, and a frame too small for any block scored as a static image. */
static void test_tiny_frames(void)
{
    static const int sizes[][2] = {{32, 24}, {16, 16}, {48, 16}};
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        vc_video_report_t rep;
        vgen_rng_t rng = {7};
        vc_video_frames_t *fr = vgen_frames(sizes[k][0], sizes[k][1], 30, FPS);
        for (int t = 0; t < 30; t++) {
            vgen_scene_t sc = vgen_live(1);
            sc.blobs = 0;
            vgen_render(fr, t, t, &sc, &rng);
        }
        analyze(fr, &rep);
        ASSERT_EQ(find(&rep, "static_image")->score, 0);
        ASSERT_EQ(vc_video_evidence(find(&rep, "screen_replay"), "moire_peak_ratio", -1), 0);
        vc_video_frames_free(fr);
    }
}

static void test_refusals(void)
{
    vc_video_report_t rep;
    char err[128];
    vc_video_frames_t *fr = vgen_frames(W, H, 1, FPS);
    ASSERT_EQ(vc_video_analyze(fr, NULL, &rep, err, sizeof(err)), VC_EINVAL);
    ASSERT_EQ(vc_video_analyze(NULL, NULL, &rep, err, sizeof(err)), VC_EINVAL);
    vc_video_opts_t opts;
    vc_video_opts_default(&opts);
    opts.genuine_threshold = 0.9; /* above spoof_threshold */
    fr->count = 1;
    ASSERT_EQ(vc_video_analyze(fr, &opts, &rep, err, sizeof(err)), VC_EINVAL);
    vc_video_frames_free(fr);
    ASSERT(vc_video_frames_new(8, 8, 1) == NULL);
    ASSERT(vc_video_frames_new(64, 64, 0) == NULL);
    ASSERT_STREQ(vc_video_verdict_name(VC_VIDEO_INCONCLUSIVE), "inconclusive");
}

int main(void)
{
    RUN(test_live_is_genuine);
    RUN(test_exact_duplicates);
    RUN(test_freeze_times);
    RUN(test_flicker_frequency);
    RUN(test_moire);
    RUN(test_static_image);
    RUN(test_interpolation);
    RUN(test_splice);
    RUN(test_tiny_frames);
    RUN(test_refusals);
    return 0;
}
