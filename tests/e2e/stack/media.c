/* Video and multimodal detections through the whole stack (gateway → Kafka → detector →
 * stores → API): a moving clip and a frozen clip (Y4M made here) each get the video engine's
 * analyzers, and the frozen one is caught by frame_duplication while the moving one is not; a
 * multimodal request carries both engines' analyzers, the per-second audio scores and the
 * fusion; a corrupt video fails with a reason naming the video part. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/e2e.h"
#include "test.h"
#include "vc/base64.h"

#define W 160
#define H 120
#define FRAMES 48

static vc_e2e_t e;

/* A 2 s, 24 fps Y4M clip: a drifting gradient with a moving disc and sensor-like noise, or
 * (frozen) its first frame repeated without noise. Caller frees. */
static unsigned char *make_y4m(int frozen, size_t *len)
{
    static const char hdr[] = "YUV4MPEG2 W160 H120 F24:1 Ip A1:1 C420jpeg\n";
    size_t frame = 6 + W * H * 3 / 2;
    unsigned char *buf = malloc(sizeof(hdr) - 1 + frame * FRAMES);
    ASSERT(buf != NULL);
    memcpy(buf, hdr, sizeof(hdr) - 1);
    unsigned char *p = buf + sizeof(hdr) - 1;
    unsigned seed = 7;
    for (int t = 0; t < FRAMES; t++) {
        int tt = frozen ? 0 : t;
        memcpy(p, "FRAME\n", 6);
        p += 6;
        for (int r = 0; r < H; r++) {
            for (int c = 0; c < W; c++) {
                int v = ((c + 3 * tt) * 2 + r) % 200 + 20;
                if ((c - 40 - 2 * tt) * (c - 40 - 2 * tt) + (r - 60) * (r - 60) < 300)
                    v = 230;
                if (!frozen)
                    v += (int)(rand_r(&seed) % 13) - 6;
                *p++ = (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
        }
        memset(p, 128, W * H / 2);
        p += W * H / 2;
    }
    *len = (size_t)(p - buf);
    return buf;
}

static char *b64(const unsigned char *data, size_t len)
{
    size_t cap = vc_base64_encoded_len(len) + 1, n = 0;
    char *out = malloc(cap);
    ASSERT(out != NULL);
    ASSERT_OK(vc_base64_encode(data, len, out, cap, &n));
    out[n] = '\0';
    return out;
}

/* Submits one JSON request; audio and video may be NULL. */
static void submit(const char *suffix, const char *type, const unsigned char *audio,
                   size_t alen, const unsigned char *video, size_t vlen)
{
    json_t *o = json_pack("{s:s+, s:s}", "detection_id", e.id_prefix, suffix, "detection_type",
                          type);
    if (audio != NULL) {
        char *a = b64(audio, alen);
        json_object_set_new(o, "audio_data", json_string(a));
        json_object_set_new(o, "audio_format", json_string("wav"));
        free(a);
    }
    if (video != NULL) {
        char *v = b64(video, vlen);
        json_object_set_new(o, "video_data", json_string(v));
        json_object_set_new(o, "video_format", json_string("y4m"));
        free(v);
    }
    char *body = json_dumps(o, JSON_COMPACT), url[128], *resp = NULL;
    json_decref(o);
    snprintf(url, sizeof(url), "%s/v1/detections", e.base_url);
    long st = vc_test_http("POST", url, "application/json", body, strlen(body), &resp);
    if (st != 202)
        VC_TEST_FAIL("submit %s: %ld %s", suffix, st, resp ? resp : "");
    free(body);
    free(resp);
}

/* modalities[modality].analyzers[name] of a result, or NULL. */
static json_t *analyzer(json_t *res, const char *modality, const char *name)
{
    json_t *list = json_object_get(json_object_get(json_object_get(res, "modalities"), modality),
                                   "analyzers");
    size_t i;
    json_t *a;
    json_array_foreach(list, i, a)
    {
        if (strcmp(json_string_value(json_object_get(a, "name")), name) == 0)
            return a;
    }
    return NULL;
}

static double score_of(json_t *res, const char *modality, const char *name)
{
    json_t *a = analyzer(res, modality, name);
    if (a == NULL) {
        char *t = json_dumps(res, 0);
        VC_TEST_FAIL("no %s analyzer %s in %s", modality, name, t);
    }
    return json_number_value(json_object_get(a, "score"));
}

static void expect_completed(json_t *res)
{
    const char *st = json_string_value(json_object_get(res, "status"));
    if (strcmp(st, "completed") != 0) {
        char *t = json_dumps(res, 0);
        VC_TEST_FAIL("expected completed: %s", t);
    }
    ASSERT(json_is_number(json_object_get(res, "score")));
    ASSERT(json_string_value(json_object_get(res, "verdict")) != NULL);
}

int main(void)
{
    vc_e2e_init(&e, "media");
    vc_e2e_start(&e, 1);
    size_t live_len = 0, frozen_len = 0, wav_len = 0;
    unsigned char *live = make_y4m(0, &live_len), *frozen = make_y4m(1, &frozen_len);
    unsigned char *wav = vc_test_wav_sine(440, 0.5, 3.0, 16000, &wav_len);
    unsigned char corrupt[200];
    memcpy(corrupt, live, 60); /* a Y4M header and the start of a frame, then garbage */
    memset(corrupt + 60, 0x5A, sizeof(corrupt) - 60);

    submit("live", "video", NULL, 0, live, live_len);
    submit("frozen", "video", NULL, 0, frozen, frozen_len);
    submit("both", "multimodal", wav, wav_len, live, live_len);
    submit("corrupt", "video", NULL, 0, corrupt, sizeof(corrupt));

    json_t *r = vc_e2e_wait_final(&e, "live", 240);
    expect_completed(r);
    double live_dup = score_of(r, "video", "frame_duplication");
    score_of(r, "video", "static_image");
    score_of(r, "video", "screen_replay");
    json_decref(r);

    r = vc_e2e_wait_final(&e, "frozen", 240);
    expect_completed(r);
    double frozen_dup = score_of(r, "video", "frame_duplication");
    fprintf(stderr, "frame_duplication: moving %.3f, frozen %.3f\n", live_dup, frozen_dup);
    ASSERT(frozen_dup >= 0.9 && live_dup < 0.5);
    ASSERT_STREQ(json_string_value(json_object_get(r, "verdict")), "spoof");
    json_decref(r);

    r = vc_e2e_wait_final(&e, "both", 240);
    expect_completed(r);
    score_of(r, "audio", "synthetic_speech");
    score_of(r, "video", "frame_duplication");
    double fused = score_of(r, "multimodal", "fusion_max");
    ASSERT(fabs(fused - json_number_value(json_object_get(r, "score"))) < 1e-9);
    json_t *segs = json_object_get(json_object_get(json_object_get(r, "modalities"), "audio"),
                                   "segments");
    ASSERT_EQ(json_array_size(segs), 3); /* 3 s of audio, 1 s segments */
    json_decref(r);

    r = vc_e2e_wait_final(&e, "corrupt", 240);
    ASSERT_STREQ(json_string_value(json_object_get(r, "status")), "failed");
    const char *reason = json_string_value(json_object_get(r, "reason"));
    ASSERT(reason != NULL && strncmp(reason, "video:", 6) == 0);
    json_decref(r);

    free(live);
    free(frozen);
    free(wav);
    vc_e2e_stop(&e);
    return 0;
}
