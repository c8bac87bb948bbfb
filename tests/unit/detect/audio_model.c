/* The audio model file: a trainer's output loads back, training is deterministic, and the
 * loader refuses wrong magic, format version, checksum, length and truncation. The engine
 * runs on the model from many threads with identical results. */
#include <pthread.h>
#include <stdint.h>

#include "../../../libs/detect/src/audio_engine.h"
#include "test.h"
#include "vc/detect.h"
#include "vc/error.h"
#include "wavgen.h"

#define RATE 16000
#define THREADS 4

static uint8_t *model_bytes;
static size_t model_len;

/* A clip of one "class": voiced tones (bona fide), buzzy noise (tts), band-limited tones
 * with noise (replay), or two tones cut at 0.9 s (splice). */
static uint8_t *clip(vc_audio_label_t label, int i, size_t *len)
{
    size_t n = 2 * RATE;
    float *x = wavgen_noise(label == VC_AUDIO_LABEL_TTS ? 0.2 : 0.002, n, (uint64_t)(i + 1) * 31u);
    double f0 = 120.0 + 10.0 * i;
    for (size_t s = 0; s < n; s++) {
        double t = (double)s / RATE;
        double f = label == VC_AUDIO_LABEL_SPLICE && t > 0.9 ? f0 * 1.5 : f0;
        double ph = label == VC_AUDIO_LABEL_SPLICE && t > 0.9 ? 1.7 : 0.0;
        double v = 0.0;
        for (int h = 1; h <= (label == VC_AUDIO_LABEL_REPLAY ? 2 : 8); h++)
            v += 0.3 / h * sin(2 * M_PI * f * h * t + ph * h);
        if (label != VC_AUDIO_LABEL_TTS)
            x[s] += (float)(v * (0.6 + 0.4 * sin(2 * M_PI * 3 * t)));
    }
    uint8_t *wav = wavgen_pcm16(x, n, RATE, len);
    free(x);
    return wav;
}

static int train(uint8_t **buf, size_t *len)
{
    vc_audio_train_opts_t opts;
    vc_audio_trainer_t *tr;
    char err[128];
    vc_audio_train_opts_default(&opts);
    opts.components = 4;
    opts.em_iters = 3;
    ASSERT_OK(vc_audio_trainer_new(&opts, &tr));
    for (int i = 0; i < 10; i++)
        for (int l = 0; l < VC_AUDIO_LABELS; l++) {
            size_t n;
            uint8_t *wav = clip((vc_audio_label_t)l, i, &n);
            ASSERT_OK(vc_audio_trainer_add(tr, wav, n, (vc_audio_label_t)l,
                                           l == VC_AUDIO_LABEL_SPLICE ? 0.9 : -1.0, err,
                                           sizeof(err)));
            free(wav);
        }
    int rc = vc_audio_trainer_fit(tr, buf, len, err, sizeof(err));
    vc_audio_trainer_free(tr);
    return rc;
}

static void test_train_is_deterministic_and_loads(void)
{
    uint8_t *again;
    size_t again_len;
    vc_audio_model_t *model;
    char err[128];
    ASSERT_OK(train(&model_bytes, &model_len));
    ASSERT_OK(train(&again, &again_len));
    ASSERT_EQ(model_len, again_len);
    ASSERT(memcmp(model_bytes, again, model_len) == 0);
    free(again);
    ASSERT_OK(vc_audio_model_load_mem(model_bytes, model_len, &model, err, sizeof(err)));
    ASSERT_STREQ(vc_audio_model_version(model), "lfcc-gmm4-s1");
    ASSERT_EQ(model->bona.k, 4);
    vc_audio_model_free(model);
}

/* Rewrites the trailing CRC after a deliberate change, so only the change is tested. */
static void fix_crc(uint8_t *b, size_t len)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i + 4 < len; i++) {
        c ^= b[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    c = ~c;
    for (int i = 0; i < 4; i++)
        b[len - 4 + (size_t)i] = (uint8_t)(c >> (8 * i));
}

static void expect_refused(const uint8_t *b, size_t len, int code)
{
    vc_audio_model_t *model = (vc_audio_model_t *)1;
    char err[128] = "";
    ASSERT_EQ(vc_audio_model_load_mem(b, len, &model, err, sizeof(err)), code);
    ASSERT(model == NULL);
    ASSERT(err[0] != '\0');
}

static void test_corrupt_models_refused(void)
{
    uint8_t *b = malloc(model_len);
    memcpy(b, model_bytes, model_len);
    b[0] = 'X'; /* magic */
    expect_refused(b, model_len, VC_EFORMAT);
    memcpy(b, model_bytes, model_len);
    b[8] = VC_AUDIO_MODEL_FORMAT + 1; /* a format this build does not know */
    fix_crc(b, model_len);
    expect_refused(b, model_len, VC_EFORMAT);
    memcpy(b, model_bytes, model_len);
    b[model_len / 2] ^= 0x40; /* a flipped bit: checksum */
    expect_refused(b, model_len, VC_EFORMAT);
    memcpy(b, model_bytes, model_len);
    expect_refused(b, model_len - 7, VC_EFORMAT); /* truncated */
    expect_refused(b, 10, VC_EFORMAT);
    /* A component count larger than the file, with a valid checksum. */
    memcpy(b, model_bytes, model_len);
    size_t gmm_at = model_len - 4 - 2 * (8 + (4 + 2 * 4 * VC_AUDIO__DIM) * 4);
    b[gmm_at + 2] = 0x7f;
    fix_crc(b, model_len);
    expect_refused(b, model_len, VC_EFORMAT);
    free(b);
    vc_audio_model_t *model;
    char err[128];
    ASSERT_EQ(vc_audio_model_load("/nonexistent/model.vcam", &model, err, sizeof(err)),
              VC_ENOTFOUND);
}

typedef struct {
    const vc_audio_model_t *model;
    uint8_t *wav;
    size_t len;
    vc_audio_detection_t expect;
} shared_t;

static void *worker(void *arg)
{
    shared_t *sh = arg;
    vc_audio_detection_t *det = malloc(sizeof(*det));
    char err[128];
    intptr_t bad = 0;
    for (int r = 0; r < 4; r++) {
        if (vc_audio_detect(sh->model, sh->wav, sh->len, NULL, NULL, det, err, sizeof(err)) != 0)
            bad++;
        det->decode_ms = det->features_ms = det->scoring_ms = 0.0;
        bad += memcmp(det, &sh->expect, sizeof(*det)) != 0;
    }
    free(det);
    return (void *)bad;
}

static void test_detect_and_threads(void)
{
    vc_audio_model_t *model;
    shared_t sh;
    pthread_t tid[THREADS];
    char err[128];
    ASSERT_OK(vc_audio_model_load_mem(model_bytes, model_len, &model, err, sizeof(err)));
    sh.model = model;
    sh.wav = clip(VC_AUDIO_LABEL_SPLICE, 3, &sh.len);
    ASSERT_OK(vc_audio_detect(model, sh.wav, sh.len, NULL, NULL, &sh.expect, err, sizeof(err)));
    sh.expect.decode_ms = sh.expect.features_ms = sh.expect.scoring_ms = 0.0;
    ASSERT_EQ(sh.expect.n_analyzers, 3);
    ASSERT_STREQ(sh.expect.analyzers[0].name, "synthetic_speech");
    ASSERT_STREQ(sh.expect.model_version, "lfcc-gmm4-s1");
    ASSERT_EQ(sh.expect.n_segments, 2);
    ASSERT(sh.expect.score >= 0.0 && sh.expect.score <= 1.0);
    ASSERT(sh.expect.n_splices >= 1);
    ASSERT_NEAR(sh.expect.splice_s[0], 0.9, 0.05);
    for (int t = 0; t < THREADS; t++)
        ASSERT_OK(pthread_create(&tid[t], NULL, worker, &sh));
    for (int t = 0; t < THREADS; t++) {
        void *bad;
        ASSERT_OK(pthread_join(tid[t], &bad));
        ASSERT_EQ((intptr_t)bad, 0);
    }
    /* Bad thresholds and a missing model are refused. */
    vc_audio_detect_opts_t opts;
    vc_audio_detect_opts_default(&opts);
    opts.genuine_below = 0.8;
    opts.spoof_from = 0.2;
    ASSERT_EQ(vc_audio_detect(model, sh.wav, sh.len, NULL, &opts, &sh.expect, err, sizeof(err)),
              VC_EINVAL);
    ASSERT_EQ(vc_audio_detect(NULL, sh.wav, sh.len, NULL, NULL, &sh.expect, err, sizeof(err)),
              VC_EINVAL);
    free(sh.wav);
    vc_audio_model_free(model);
}

static void test_resampled_input(void)
{
    vc_audio_model_t *model;
    vc_audio_detection_t *det = malloc(sizeof(*det));
    char err[128];
    ASSERT_OK(vc_audio_model_load_mem(model_bytes, model_len, &model, err, sizeof(err)));
    float *x = wavgen_sine(0.3, 440, 8000, 8000 * 3);
    size_t len;
    uint8_t *wav = wavgen_pcm16(x, 8000 * 3, 8000, &len);
    ASSERT_OK(vc_audio_detect(model, wav, len, NULL, NULL, det, err, sizeof(err)));
    ASSERT_EQ(det->sample_rate, 8000);
    ASSERT_NEAR(det->duration_s, 3.0, 1e-9);
    ASSERT_EQ(det->n_segments, 3);
    ASSERT_NEAR(det->segments[2].end_s, 3.0, 0.03);
    ASSERT_OK(vc_audio_detect_pcm(model, x, 8000 * 3, 8000, NULL, det, err, sizeof(err)));
    ASSERT_EQ(vc_audio_detect_pcm(model, x, 8000 * 3, 4000, NULL, det, err, sizeof(err)),
              VC_EINVAL);
    /* Decoder limits hold through the engine: refused from the header, before decoding. */
    vc_audio_detect_opts_t opts;
    vc_audio_detect_opts_default(&opts);
    opts.decode.max_duration_s = 2.0;
    ASSERT_EQ(vc_audio_detect(model, wav, len, NULL, &opts, det, err, sizeof(err)), VC_ETOOBIG);
    ASSERT_EQ(det->n_analyzers, 0);
    ASSERT_EQ(vc_audio_detect(model, wav, 40, NULL, NULL, det, err, sizeof(err)), VC_EFORMAT);
    free(wav);
    free(x);
    free(det);
    vc_audio_model_free(model);
}

/* One decode for both: the statistics equal vc_audio_analyze's and the detection equals
 * vc_audio_detect's on the same 8 kHz clip; a refused input zeroes both. */
static void test_detect_with_stats(void)
{
    vc_audio_model_t *model;
    vc_audio_detection_t *det = malloc(sizeof(*det)), *ref = malloc(sizeof(*ref));
    char err[128];
    ASSERT_OK(vc_audio_model_load_mem(model_bytes, model_len, &model, err, sizeof(err)));
    float *x = wavgen_sine(0.3, 440, 8000, 8000 * 2);
    size_t len;
    uint8_t *wav = wavgen_pcm16(x, 8000 * 2, 8000, &len);
    vc_audio_report_t stats, want;
    ASSERT_OK(vc_audio_analyze(wav, len, NULL, NULL, &want, err, sizeof(err)));
    ASSERT_OK(vc_audio_detect(model, wav, len, NULL, NULL, ref, err, sizeof(err)));
    ASSERT_OK(vc_audio_detect_with_stats(model, wav, len, NULL, NULL, det, &stats, err,
                                         sizeof(err)));
    ASSERT_EQ(stats.sample_rate, 8000);
    ASSERT_EQ(stats.channels, 1);
    ASSERT_NEAR(stats.duration_s, want.duration_s, 1e-12);
    ASSERT_NEAR(stats.rms_dbfs, want.rms_dbfs, 1e-12);
    ASSERT_NEAR(stats.spectral_flatness, want.spectral_flatness, 1e-12);
    ASSERT_NEAR(det->score, ref->score, 1e-12);
    ASSERT_EQ(det->n_analyzers, ref->n_analyzers);
    ASSERT_EQ(det->n_segments, ref->n_segments);
    ASSERT_EQ(vc_audio_detect_with_stats(model, wav, 40, NULL, NULL, det, &stats, err,
                                         sizeof(err)),
              VC_EFORMAT);
    ASSERT_EQ(stats.sample_rate, 0);
    ASSERT_EQ(det->n_analyzers, 0);
    free(wav);
    free(x);
    free(ref);
    free(det);
    vc_audio_model_free(model);
}

static void test_list_lines(void)
{
    char a[] = "clips/a.wav\tbonafide\n", b[] = "b.wav\tsplice\t1.25\r\n", c[] = "c.wav\tsplice\n",
         d[] = "# comment\n", e[] = "d.wav\tdeepfake\n";
    const char *path;
    vc_audio_label_t label;
    double t;
    char err[128];
    ASSERT_OK(vc_audio_list_parse_line(a, &path, &label, &t, err, sizeof(err)));
    ASSERT_STREQ(path, "clips/a.wav");
    ASSERT_EQ(label, VC_AUDIO_LABEL_BONAFIDE);
    ASSERT_NEAR(t, -1.0, 0.0);
    ASSERT_OK(vc_audio_list_parse_line(b, &path, &label, &t, err, sizeof(err)));
    ASSERT_EQ(label, VC_AUDIO_LABEL_SPLICE);
    ASSERT_NEAR(t, 1.25, 1e-12);
    ASSERT_EQ(vc_audio_list_parse_line(c, &path, &label, &t, err, sizeof(err)), VC_EINVAL);
    ASSERT_EQ(vc_audio_list_parse_line(d, &path, &label, &t, err, sizeof(err)), VC_ENOTFOUND);
    ASSERT_EQ(vc_audio_list_parse_line(e, &path, &label, &t, err, sizeof(err)), VC_EINVAL);
}

int main(void)
{
    RUN(test_train_is_deterministic_and_loads);
    RUN(test_corrupt_models_refused);
    RUN(test_detect_and_threads);
    RUN(test_resampled_input);
    RUN(test_detect_with_stats);
    RUN(test_list_lines);
    free(model_bytes);
    return 0;
}
