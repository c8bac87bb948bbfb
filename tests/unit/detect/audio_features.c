/* vc_audio_analyze, measuring side: levels, clipping, silence and spectral shape on
 * synthetic signals with known answers. */
#include <stdint.h>

#include "test.h"
#include "vc/detect.h"
#include "vc/error.h"
#include "wavgen.h"

/* Analyses n mono samples of x at rate through a PCM16 WAV. */
static vc_audio_report_t measure(const float *x, size_t n, uint32_t rate)
{
    vc_audio_report_t rep;
    char err[256] = "";
    size_t len;
    uint8_t *wav = wavgen_pcm16(x, n, rate, &len);
    int rc = vc_audio_analyze(wav, len, NULL, NULL, &rep, err, sizeof(err));
    if (rc != 0)
        VC_TEST_FAIL("analyze: %s: %s", vc_strerror(rc), err);
    free(wav);
    fprintf(stderr, "   rms %.3f peak %.3f clip %.4f sil %.3f cent %.1f bw %.1f flat %.4f\n",
            rep.rms_dbfs, rep.peak_dbfs, rep.clipping_ratio, rep.silence_ratio,
            rep.spectral_centroid_hz, rep.spectral_bandwidth_hz, rep.spectral_flatness);
    return rep;
}

static void test_sine(void)
{
    float *x = wavgen_sine(0.5, 1000, 48000, 48000); /* -6.02 dBFS peak */
    vc_audio_report_t rep = measure(x, 48000, 48000);
    double bin = 48000.0 / 512;
    ASSERT_NEAR(rep.duration_s, 1.0, 1e-9);
    ASSERT_NEAR(rep.rms_dbfs, -9.03, 0.02);
    ASSERT_NEAR(rep.peak_dbfs, -6.02, 0.02);
    ASSERT_NEAR(rep.clipping_ratio, 0.0, 0.0);
    ASSERT_NEAR(rep.silence_ratio, 0.0, 0.0);
    ASSERT_NEAR(rep.spectral_centroid_hz, 1000.0, bin);
    ASSERT_NEAR(rep.spectral_bandwidth_hz, 1000.0, 3 * bin);
    ASSERT(rep.spectral_flatness < 0.1);
    free(x);
}

static void test_noise_flatness(void)
{
    float *x = wavgen_noise(0.5, 48000, 1);
    vc_audio_report_t rep = measure(x, 48000, 48000);
    ASSERT(rep.spectral_flatness > 0.5);
    ASSERT_NEAR(rep.spectral_centroid_hz, 12000.0, 600.0); /* flat: half of Nyquist */
    ASSERT(rep.spectral_bandwidth_hz > 0.95 * 24000);
    ASSERT_NEAR(rep.rms_dbfs, 20 * log10(0.5 / sqrt(3.0)), 0.1); /* uniform: amp/sqrt(3) */
    ASSERT(rep.silence_ratio == 0.0);
    free(x);
}

static void test_half_silence(void)
{
    size_t n = 32000;
    float *x = wavgen_sine(0.5, 1000, 16000, n);
    memset(x + n / 2, 0, (n / 2) * sizeof(float));
    vc_audio_report_t rep = measure(x, n, 16000);
    ASSERT_NEAR(rep.silence_ratio, 0.5, 0.01);
    ASSERT_NEAR(rep.rms_dbfs, -9.03 - 3.01, 0.05);
    /* silent frames stay out of the spectrum: it is still the sine's */
    ASSERT_NEAR(rep.spectral_centroid_hz, 1000.0, 2 * 16000.0 / 512);
    ASSERT(rep.spectral_flatness < 0.1);
    free(x);
}

static void test_clipped_square(void)
{
    float *x = wavgen_square(2.0, 200, 16000, 16000); /* driven 6 dB past full scale */
    vc_audio_report_t rep = measure(x, 16000, 16000);
    ASSERT(rep.clipping_ratio > 0.99);
    ASSERT_NEAR(rep.peak_dbfs, 0.0, 0.01);
    free(x);
    x = wavgen_sine(0.5, 1000, 16000, 16000);
    rep = measure(x, 16000, 16000);
    ASSERT(rep.clipping_ratio == 0.0);
    free(x);
}

static void test_all_silence(void)
{
    float *x = wavgen_alloc(8000);
    vc_audio_report_t rep = measure(x, 8000, 8000);
    ASSERT_NEAR(rep.rms_dbfs, -120.0, 0.0);
    ASSERT_NEAR(rep.peak_dbfs, -120.0, 0.0);
    ASSERT_NEAR(rep.silence_ratio, 1.0, 0.0);
    ASSERT(rep.spectral_centroid_hz == 0.0 && rep.spectral_bandwidth_hz == 0.0);
    ASSERT(rep.spectral_flatness == 0.0);
    free(x);
}

static void test_different_signals_differ(void)
{
    float *a = wavgen_sine(0.5, 1000, 16000, 16000);
    float *b = wavgen_sine(0.05, 3000, 16000, 16000); /* 20 dB down, 3 kHz */
    vc_audio_report_t ra = measure(a, 16000, 16000);
    vc_audio_report_t rb = measure(b, 16000, 16000);
    ASSERT_NEAR(ra.rms_dbfs - rb.rms_dbfs, 20.0, 0.1);
    ASSERT_NEAR(rb.spectral_centroid_hz - ra.spectral_centroid_hz, 2000.0, 2 * 16000.0 / 512);
    ASSERT(rb.spectral_bandwidth_hz > ra.spectral_bandwidth_hz + 1500);
    free(a);
    free(b);
}

static void test_short_signal(void)
{
    float *x = wavgen_sine(0.5, 1000, 8000, 100); /* shorter than one FFT frame */
    vc_audio_report_t rep = measure(x, 100, 8000);
    ASSERT_NEAR(rep.duration_s, 100.0 / 8000, 1e-12);
    ASSERT(rep.spectral_centroid_hz > 500 && rep.spectral_centroid_hz < 1500);
    free(x);
}

static void test_deterministic(void)
{
    float *x = wavgen_noise(0.2, 20000, 99);
    vc_audio_report_t a = measure(x, 20000, 16000);
    vc_audio_report_t b = measure(x, 20000, 16000);
    ASSERT(memcmp(&a, &b, sizeof(a)) == 0);
    free(x);
}

int main(void)
{
    RUN(test_sine);
    RUN(test_noise_flatness);
    RUN(test_half_silence);
    RUN(test_clipped_square);
    RUN(test_all_silence);
    RUN(test_different_signals_differ);
    RUN(test_short_signal);
    RUN(test_deterministic);
    return 0;
}
