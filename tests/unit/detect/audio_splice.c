/* The splice analyzer with the committed model: a synthetic splice (a voiced tone complex
 * over faint noise, cut at a known sample to another pitch, spectrum and noise) is located
 * within 20 ms, and the raw cues fire at the cut. */
#include <stdint.h>

#include "../../../libs/detect/src/audio_engine.h"
#include "test.h"
#include "vc/error.h"
#include "wavgen.h"

#define RATE 16000
#define CUT_S 1.31 /* at a crest of the 4 Hz modulation: voiced and active either side */

/* n samples: harmonics of f0 with a 1/h^tilt spectrum, 4 Hz amplitude modulation, faint
 * noise of the given seed. */
static void voiced(float *x, size_t n, double f0, double tilt, double phase, uint64_t seed)
{
    float *noise = wavgen_noise(0.003, n, seed);
    for (size_t s = 0; s < n; s++) {
        double t = (double)s / RATE, v = 0.0;
        for (int h = 1; h <= 12; h++)
            v += 0.25 / pow(h, tilt) * sin(2 * M_PI * f0 * h * t + phase * h);
        x[s] = (float)(v * (0.7 + 0.3 * sin(2 * M_PI * 4 * t))) + noise[s];
    }
    free(noise);
}

static void test_synthetic_splice_located(void)
{
    size_t n = (size_t)(2.5 * RATE), cut = (size_t)(CUT_S * RATE);
    float *a = wavgen_alloc(n), *b = wavgen_alloc(n), *x = wavgen_alloc(n);
    vc_audio_model_t *model = NULL;
    vc_audio_detection_t det;
    char err[256];

    voiced(a, n, 140.0, 1.0, 0.0, 7);
    voiced(b, n, 205.0, 1.6, 1.3, 11);
    for (size_t s = 0; s < n; s++)
        x[s] = s < cut ? a[s] : b[s];
    ASSERT_OK(vc_audio_model_load(vc_audio_model_default_path(), &model, err, sizeof(err)));
    ASSERT_OK(vc_audio_detect_pcm(model, x, n, RATE, NULL, &det, err, sizeof(err)));
    ASSERT(det.n_splices >= 1);
    ASSERT_NEAR(det.splice_s[0], CUT_S, 0.02);
    vc_audio_model_free(model);
    free(a);
    free(b);
    free(x);
}

/* The raw cues at the cut frame exceed those of the same signal without a cut. */
static void test_raw_cues_fire_at_cut(void)
{
    size_t n = (size_t)(2.5 * RATE), cut = (size_t)(CUT_S * RATE);
    float *a = wavgen_alloc(n), *b = wavgen_alloc(n), *x = wavgen_alloc(n);
    vc_audio__feats_t fx, fa;
    char err[256];

    voiced(a, n, 140.0, 1.0, 0.0, 7);
    voiced(b, n, 205.0, 1.6, 1.3, 11);
    for (size_t s = 0; s < n; s++)
        x[s] = s < cut ? a[s] : b[s];
    ASSERT_OK(vc_audio__feats_compute(x, n, &fx, err, sizeof(err)));
    ASSERT_OK(vc_audio__feats_compute(a, n, &fa, err, sizeof(err)));
    double jx, sx, ja, sa;
    vc_audio__pitch_track(x, n, &fx, &jx, &sx);
    vc_audio__pitch_track(a, n, &fa, &ja, &sa);
    double *rx = calloc(fx.n * VC_AUDIO__SPLICE_RAW_NF, sizeof(double));
    double *ra = calloc(fa.n * VC_AUDIO__SPLICE_RAW_NF, sizeof(double));
    ASSERT(rx != NULL && ra != NULL);
    ASSERT_OK(vc_audio__splice_raw(&fx, x, n, rx));
    ASSERT_OK(vc_audio__splice_raw(&fa, a, n, ra));
    size_t t = (size_t)(CUT_S * VC_AUDIO__FPS + 0.5);
    double px = 0.0, pa = 0.0, fjx = 0.0;
    for (size_t k = t - 2; k <= t + 2; k++) {
        px = fmax(px, rx[k * VC_AUDIO__SPLICE_RAW_NF + 7]); /* period break */
        pa = fmax(pa, ra[k * VC_AUDIO__SPLICE_RAW_NF + 7]);
        fjx = fmax(fjx, rx[k * VC_AUDIO__SPLICE_RAW_NF + 6]); /* unfolded pitch jump */
    }
    ASSERT(px > pa + 0.2);
    ASSERT(fjx > 5.0); /* 140 -> 205 Hz is 6.6 semitones */
    free(rx);
    free(ra);
    vc_audio__feats_free(&fx);
    vc_audio__feats_free(&fa);
    free(a);
    free(b);
    free(x);
}

int main(void)
{
    RUN(test_synthetic_splice_located);
    RUN(test_raw_cues_fire_at_cut);
    return 0;
}
