/* vc-bench-audio: throughput of the audio engine as a real-time factor per core (seconds of
 * audio analysed per second of this thread's CPU time) on 3 s and 30 s clips, end to end
 * (vc_audio_detect on a WAV) and per stage: decode + resample, frame features (LFCC, energy,
 * flatness, clicks, pitch), GMM scoring (both GMMs on every active frame), the replay and
 * splice analyzers.
 *
 *   vc-bench-audio [--model PATH | --gmm K] [--seconds S] [--wav FILE]
 *
 * --gmm K times a stand-in model with two K-component GMMs of random parameters instead of a
 * trained one (the cost of scoring depends only on the sizes), e.g. --gmm 512 for the
 * ASVspoof-baseline size.
 * The clip is synthetic voiced speech-like sound (harmonics with vibrato and syllable
 * envelope over noise) unless --wav gives a real one (tiled to length). Prints one JSON
 * object, then a summary line. Exit 77 when no model can be loaded. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audio_engine.h"
#include "vc/error.h"

#define RATE 16000
#define N_STAGES 5

static const char *const stage_names[N_STAGES] = {"end_to_end", "decode", "features", "gmm",
                                                  "replay_splice"};

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void put16(uint8_t *p, uint32_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* A PCM16 mono WAV of x. */
static uint8_t *to_wav(const float *x, size_t n, size_t *len)
{
    uint8_t *w = malloc(44 + 2 * n);
    if (w == NULL)
        return NULL;
    memcpy(w, "RIFF", 4);
    put16(w + 4, (uint32_t)(36 + 2 * n), 4);
    memcpy(w + 8, "WAVEfmt ", 8);
    put16(w + 16, 16, 4);
    put16(w + 20, 1, 2);
    put16(w + 22, 1, 2);
    put16(w + 24, RATE, 4);
    put16(w + 28, RATE * 2, 4);
    put16(w + 32, 2, 2);
    put16(w + 34, 16, 2);
    memcpy(w + 36, "data", 4);
    put16(w + 40, (uint32_t)(2 * n), 4);
    for (size_t i = 0; i < n; i++) {
        double v = x[i] * 32767.0;
        put16(w + 44 + 2 * i, (uint16_t)(int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v), 2);
    }
    *len = 44 + 2 * n;
    return w;
}

static float *synthetic(size_t n)
{
    float *x = malloc(n * sizeof(float));
    uint64_t s = 12345;
    if (x == NULL)
        return NULL;
    double ph = 0.0;
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / RATE;
        double f0 = 140.0 + 20.0 * sin(2 * M_PI * 0.7 * t);
        ph += 2 * M_PI * f0 / RATE;
        double v = 0.0;
        for (int h = 1; h <= 12; h++)
            v += sin(h * ph) / h;
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        double noise = ((double)(s >> 40) / 16777216.0 - 0.5) * 0.01;
        double env = 0.5 + 0.5 * sin(2 * M_PI * 4.0 * t);
        x[i] = (float)(0.08 * v * env + noise);
    }
    return x;
}

/* Tiles the 16 kHz samples of a real clip to n samples. */
static float *from_wav(const char *path, size_t n)
{
    uint8_t *data;
    size_t len;
    char err[256];
    vc_audio_opts_t opts;
    vc_audio__pcm_t pcm;
    if (vc_detect_read_file(path, (size_t)256 << 20, &data, &len, err, sizeof(err)) != 0)
        return NULL;
    vc_audio_opts_default(&opts);
    int rc = vc_audio__decode(data, len, NULL, &opts, &pcm, err, sizeof(err));
    free(data);
    if (rc != 0 || vc_audio__resample(&pcm, err, sizeof(err)) != 0)
        return NULL;
    float *x = malloc(n * sizeof(float));
    for (size_t i = 0; x != NULL && i < n; i++)
        x[i] = pcm.samples[i % pcm.frames];
    vc_audio__pcm_free(&pcm);
    return x;
}

/* Runs each stage repeatedly for about budget seconds of CPU; rtf[s] = audio s / CPU s. */
static int bench_clip(const vc_audio_model_t *model, const float *x, size_t n, double budget,
                      double *rtf)
{
    size_t len;
    uint8_t *wav = to_wav(x, n, &len);
    vc_audio_detection_t *det = malloc(sizeof(*det));
    char err[256];
    double audio = (double)n / RATE;
    double cpu[N_STAGES] = {0};
    size_t reps = 0;
    if (wav == NULL || det == NULL)
        return VC_ENOMEM;
    double start = cpu_s();
    while (reps == 0 || cpu_s() - start < budget) {
        double t0 = cpu_s();
        if (vc_audio_detect(model, wav, len, NULL, NULL, det, err, sizeof(err)) != 0) {
            fprintf(stderr, "vc-bench-audio: %s\n", err);
            return VC_EINVAL;
        }
        double t1 = cpu_s();
        vc_audio_opts_t opts;
        vc_audio__pcm_t pcm;
        vc_audio_opts_default(&opts);
        vc_audio__decode(wav, len, NULL, &opts, &pcm, err, sizeof(err));
        vc_audio__resample(&pcm, err, sizeof(err));
        double t2 = cpu_s();
        vc_audio__feats_t feats;
        double jit, shim, mean;
        size_t used;
        vc_audio__feats_compute(pcm.samples, pcm.frames, &feats, err, sizeof(err));
        vc_audio__pitch_track(pcm.samples, pcm.frames, &feats, &jit, &shim);
        double t3 = cpu_s();
        vc_audio__synth_llr(model, &feats, NULL, &mean, &used);
        double t4 = cpu_s();
        vc_audio__input_t in = {&feats, pcm.samples, pcm.frames, model, jit, shim, NULL};
        vc_audio_analyzer_result_t res;
        memset(&res, 0, sizeof(res));
        vc_audio__an_replay.analyze(&in, &res);
        memset(&res, 0, sizeof(res));
        vc_audio__an_splice.analyze(&in, &res);
        double t5 = cpu_s();
        vc_audio__feats_free(&feats);
        vc_audio__pcm_free(&pcm);
        double d[N_STAGES] = {t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4};
        for (int s = 0; s < N_STAGES; s++)
            cpu[s] += d[s];
        reps++;
    }
    for (int s = 0; s < N_STAGES; s++)
        rtf[s] = cpu[s] > 0.0 ? audio * (double)reps / cpu[s] : 0.0;
    free(wav);
    free(det);
    return 0;
}

/* A model of the right shape with random GMM parameters, for timing only. */
static vc_audio_model_t *standin_model(int k)
{
    vc_audio_model_t *m = calloc(1, sizeof(*m));
    uint64_t st = 99;
    if (m == NULL || vc_gmm__alloc(&m->bona, k, VC_AUDIO__DIM) != 0 ||
        vc_gmm__alloc(&m->spoof, k, VC_AUDIO__DIM) != 0)
        return NULL;
    vc_gmm__t *g[2] = {&m->bona, &m->spoof};
    for (int j = 0; j < 2; j++) {
        for (size_t i = 0; i < (size_t)k * VC_AUDIO__DIM; i++) {
            st = st * 6364136223846793005ull + 1442695040888963407ull;
            g[j]->mean[i] = (float)((double)(st >> 40) / 16777216.0 * 4.0 - 2.0);
            g[j]->var[i] = 1.0f;
        }
        for (int c = 0; c < k; c++)
            g[j]->weight[c] = 1.0f / (float)k;
        if (vc_gmm__prepare(g[j]) != 0)
            return NULL;
    }
    vc_logreg__t *lr[4] = {&m->synth, &m->replay, &m->splice_frame, &m->fusion};
    int nf[4] = {VC_AUDIO__SYNTH_NF, VC_AUDIO__REPLAY_NF, VC_AUDIO__SPLICE_NF, 1};
    for (int j = 0; j < 4; j++) {
        lr[j]->n = nf[j];
        for (int i = 0; i < nf[j]; i++)
            lr[j]->scale[i] = 1.0;
    }
    m->fusion.w[0] = 1.0;
    m->splice_a = 1.0;
    if (vc_audio__model_derive(m) != 0)
        return NULL;
    snprintf(m->version, sizeof(m->version), "standin-gmm%d", k);
    return m;
}

int main(int argc, char **argv)
{
    const char *model_path = getenv("AUDIO_MODEL_PATH"), *wav_path = NULL;
    double budget = 3.0;
    int standin = 0;
    vc_audio_model_t *model = NULL;
    char err[256];
    const double lengths[2] = {3.0, 30.0};
    double rtf[2][N_STAGES];

    if (model_path == NULL || model_path[0] == '\0')
        model_path = vc_audio_model_default_path();
    for (int i = 1; i + 1 < argc; i += 2) {
        char *end = NULL;
        if (strcmp(argv[i], "--model") == 0) {
            model_path = argv[i + 1];
        } else if (strcmp(argv[i], "--gmm") == 0) {
            errno = 0;
            long k = strtol(argv[i + 1], &end, 10);
            if (errno != 0 || end == argv[i + 1] || *end != '\0' || k < 1 || k > 4096) {
                fprintf(stderr, "vc-bench-audio: bad --gmm\n");
                return 2;
            }
            standin = (int)k;
        } else if (strcmp(argv[i], "--wav") == 0) {
            wav_path = argv[i + 1];
        } else if (strcmp(argv[i], "--seconds") == 0) {
            errno = 0;
            budget = strtod(argv[i + 1], &end);
            if (errno != 0 || end == argv[i + 1] || *end != '\0' || !(budget > 0 && budget < 600)) {
                fprintf(stderr, "vc-bench-audio: bad --seconds\n");
                return 2;
            }
        } else {
            fprintf(stderr,
                    "usage: vc-bench-audio [--model PATH | --gmm K] [--seconds S] [--wav FILE]\n");
            return 2;
        }
    }
    if (standin > 0)
        model = standin_model(standin);
    if (standin > 0 && model == NULL) {
        fprintf(stderr, "vc-bench-audio: no memory for the stand-in model\n");
        return 1;
    }
    if (model == NULL && vc_audio_model_load(model_path, &model, err, sizeof(err)) != 0) {
        fprintf(stderr, "vc-bench-audio: skip: %s\n", err);
        return 77;
    }
    for (int c = 0; c < 2; c++) {
        size_t n = (size_t)(lengths[c] * RATE);
        float *x = wav_path != NULL ? from_wav(wav_path, n) : synthetic(n);
        if (x == NULL || bench_clip(model, x, n, budget, rtf[c]) != 0) {
            fprintf(stderr, "vc-bench-audio: clip of %.0f s failed\n", lengths[c]);
            return 1;
        }
        free(x);
    }
    printf("{\"bench\":\"audio\",\"model\":\"%s\",\"gmm_components\":%d,\"input\":\"%s\","
           "\"rtf_per_core\":{",
           vc_audio_model_version(model), model->bona.k, wav_path ? "wav" : "synthetic");
    for (int c = 0; c < 2; c++) {
        printf("%s\"clip_%.0fs\":{", c ? "," : "", lengths[c]);
        for (int s = 0; s < N_STAGES; s++)
            printf("%s\"%s\":%.1f", s ? "," : "", stage_names[s], rtf[c][s]);
        printf("}");
    }
    printf("}}\n");
    printf("audio engine: %.0fx real time per core on 3 s clips, %.0fx on 30 s clips "
           "(features %.0fx, GMM %.0fx, decode %.0fx, replay+splice %.0fx on 3 s)\n",
           rtf[0][0], rtf[1][0], rtf[0][2], rtf[0][3], rtf[0][1], rtf[0][4]);
    vc_audio_model_free(model);
    return 0;
}
