/* Frame features against known signals: a pure tone's LFCC peak and pitch, white noise's
 * flatness, deltas of a steady signal, a synthetic splice's location (click measure), voice
 * activity on a tone burst. */
#include <math.h>
#include <stdint.h>

#include "../../../libs/detect/src/audio_engine.h"
#include "test.h"
#include "vc/error.h"
#include "wavgen.h"

#define RATE 16000

/* Undoes the orthonormal DCT-II: the log filter energies of one frame's static LFCC. */
static void log_filters(const float *cep, double *logf)
{
    for (int f = 0; f < VC_AUDIO__NFILT; f++) {
        double acc = 0.0;
        for (int c = 0; c < VC_AUDIO__NCEP; c++) {
            double norm = c == 0 ? sqrt(1.0 / VC_AUDIO__NFILT) : sqrt(2.0 / VC_AUDIO__NFILT);
            acc += norm * cos(M_PI * c * (f + 0.5) / VC_AUDIO__NFILT) * cep[c];
        }
        logf[f] = acc;
    }
}

static void test_tone_lfcc_peaks_at_its_filter(void)
{
    /* Filters are centred every 8000/21 Hz: filter j at (j + 1) * 380.95 Hz. */
    double freq = 5 * 8000.0 / 21.0; /* centre of filter 4 */
    float *x = wavgen_sine(0.5, freq, RATE, RATE);
    vc_audio__feats_t feats;
    char err[128];
    ASSERT_OK(vc_audio__feats_compute(x, RATE, &feats, err, sizeof(err)));
    ASSERT_EQ(feats.n, 1 + (RATE - VC_AUDIO__WIN) / VC_AUDIO__HOP);
    double logf[VC_AUDIO__NFILT];
    log_filters(feats.lfcc + 50 * VC_AUDIO__DIM, logf);
    int best = 0;
    for (int f = 1; f < VC_AUDIO__NFILT; f++)
        if (logf[f] > logf[best])
            best = f;
    ASSERT_EQ(best, 4);
    /* Deltas follow the +-2 frame regression of the statics. */
    for (int c = 0; c < VC_AUDIO__NCEP; c++) {
        const float *m = feats.lfcc;
        double d = (m[51 * VC_AUDIO__DIM + c] - m[49 * VC_AUDIO__DIM + c] +
                    2.0 * (m[52 * VC_AUDIO__DIM + c] - m[48 * VC_AUDIO__DIM + c])) /
                   10.0;
        ASSERT_NEAR(m[50 * VC_AUDIO__DIM + VC_AUDIO__NCEP + c], d, 1e-4);
    }
    ASSERT(feats.flatness[50] < 0.05);
    vc_audio__feats_free(&feats);
    free(x);
}

static void test_tone_pitch(void)
{
    /* A 200 Hz tone with two harmonics, like a voiced vowel. */
    float *x = wavgen_alloc(RATE);
    for (size_t i = 0; i < RATE; i++)
        x[i] = (float)(0.3 * sin(2 * M_PI * 200 * i / RATE) + 0.2 * sin(2 * M_PI * 400 * i / RATE) +
                       0.1 * sin(2 * M_PI * 600 * i / RATE));
    vc_audio__feats_t feats;
    double jitter, shimmer;
    char err[128];
    ASSERT_OK(vc_audio__feats_compute(x, RATE, &feats, err, sizeof(err)));
    vc_audio__pitch_track(x, RATE, &feats, &jitter, &shimmer);
    size_t voiced = 0;
    for (size_t t = 10; t + 10 < feats.n; t++) {
        ASSERT_NEAR(feats.f0[t], 200.0, 3.0);
        voiced++;
    }
    ASSERT(voiced > 50);
    ASSERT(jitter < 0.01);
    ASSERT(shimmer < 0.01);
    vc_audio__feats_free(&feats);
    free(x);
}

static void test_white_noise_is_flat(void)
{
    float *x = wavgen_noise(0.3, RATE, 7);
    vc_audio__feats_t feats;
    char err[128];
    ASSERT_OK(vc_audio__feats_compute(x, RATE, &feats, err, sizeof(err)));
    double mean = 0.0;
    for (size_t t = 0; t < feats.n; t++)
        mean += feats.flatness[t];
    mean /= (double)feats.n;
    ASSERT(mean > 0.85);
    /* White noise has no pitch. */
    double jitter, shimmer;
    vc_audio__pitch_track(x, RATE, &feats, &jitter, &shimmer);
    size_t voiced = 0;
    for (size_t t = 0; t < feats.n; t++)
        voiced += feats.f0[t] > 0.0f;
    ASSERT(voiced < feats.n / 10);
    vc_audio__feats_free(&feats);
    free(x);
}

static void test_splice_click_located(void)
{
    /* 2 s: a 220 Hz tone, cut at 1.234 s into a 330 Hz tone of another phase. */
    size_t n = 2 * RATE, cut = (size_t)(1.234 * RATE);
    float *x = wavgen_alloc(n);
    for (size_t i = 0; i < n; i++)
        x[i] = i < cut ? (float)(0.3 * sin(2 * M_PI * 220 * i / RATE))
                       : (float)(0.3 * sin(2 * M_PI * 330 * i / RATE + 2.0));
    vc_audio__feats_t feats;
    char err[128];
    ASSERT_OK(vc_audio__feats_compute(x, n, &feats, err, sizeof(err)));
    size_t best = 0;
    for (size_t t = 1; t < feats.n; t++)
        if (feats.click_db[t] > feats.click_db[best])
            best = t;
    ASSERT_NEAR((double)best / VC_AUDIO__FPS, 1.234, 0.02);
    ASSERT(feats.click_db[best] > 10.0);
    vc_audio__feats_free(&feats);
    free(x);
}

static void test_voice_activity(void)
{
    /* Silence (tiny noise), a 1 s tone burst, silence. */
    size_t n = 3 * RATE;
    float *x = wavgen_noise(0.0005, n, 3);
    for (size_t i = RATE; i < 2 * RATE; i++)
        x[i] += (float)(0.3 * sin(2 * M_PI * 300 * i / RATE));
    vc_audio__feats_t feats;
    char err[128];
    ASSERT_OK(vc_audio__feats_compute(x, n, &feats, err, sizeof(err)));
    ASSERT(feats.active[150]);
    ASSERT(!feats.active[50]);
    ASSERT(!feats.active[250]);
    ASSERT_NEAR((double)feats.n_active, 100.0, 4.0);
    ASSERT(feats.speech_level_db - feats.noise_floor_db > 30.0);
    vc_audio__feats_free(&feats);
    free(x);
}

static void test_short_input(void)
{
    float x[100] = {0};
    vc_audio__feats_t feats;
    char err[128];
    ASSERT_OK(vc_audio__feats_compute(x, 100, &feats, err, sizeof(err)));
    ASSERT_EQ(feats.n, 1);
    vc_audio__feats_free(&feats);
}

int main(void)
{
    RUN(test_tone_lfcc_peaks_at_its_filter);
    RUN(test_tone_pitch);
    RUN(test_white_noise_is_flat);
    RUN(test_splice_click_located);
    RUN(test_voice_activity);
    RUN(test_short_input);
    return 0;
}
