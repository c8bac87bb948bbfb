/* vc_audio_analyze, decoding side: containers, raw PCM16, limits and refusals. Every input is
 * built in memory by wavgen.h. */
#include <stdint.h>

#include "test.h"
#include "wavgen.h"
#include "vc/detect.h"
#include "vc/error.h"

static int analyze(const uint8_t *data, size_t len, const char *format, const vc_audio_opts_t *opts,
                   vc_audio_report_t *rep)
{
    char err[256] = "";
    int rc = vc_audio_analyze(data, len, format, opts, rep, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "   -> %s: %s\n", vc_strerror(rc), err);
    return rc;
}

static void test_wav_mono(void)
{
    size_t len;
    vc_audio_report_t rep;
    float *x = wavgen_sine(0.5, 1000, 48000, 48000);
    uint8_t *wav = wavgen_pcm16(x, 48000, 48000, &len);
    ASSERT_OK(analyze(wav, len, NULL, NULL, &rep));
    ASSERT_EQ(rep.sample_rate, 48000);
    ASSERT_EQ(rep.channels, 1);
    ASSERT_NEAR(rep.duration_s, 1.0, 1e-9);
    ASSERT_OK(analyze(wav, len, "wav", NULL, &rep));
    ASSERT_OK(analyze(wav, len, "auto", NULL, &rep));
    free(wav);
    free(x);
}

static void check_rate(uint32_t rate)
{
    size_t len;
    vc_audio_report_t rep;
    float *x = wavgen_sine(0.5, 1000, rate, rate / 2);
    uint8_t *wav = wavgen_pcm16(x, rate / 2, rate, &len);
    ASSERT_OK(analyze(wav, len, NULL, NULL, &rep));
    ASSERT_EQ(rep.sample_rate, rate);
    ASSERT_NEAR(rep.duration_s, 0.5, 1e-9);
    ASSERT_NEAR(rep.spectral_centroid_hz, 1000.0, 2.0 * rate / 512);
    ASSERT_NEAR(rep.rms_dbfs, -9.03, 0.05);
    free(wav);
    free(x);
}

static void test_rates(void)
{
    check_rate(8000);
    check_rate(16000);
    check_rate(44100);
    check_rate(48000);
}

/* Interleaves l and r (n frames each) into a stereo WAV. */
static uint8_t *stereo_wav(const float *l, const float *r, size_t n, size_t *len)
{
    float *lr = wavgen_alloc(2 * n);
    for (size_t i = 0; i < n; i++) {
        lr[2 * i] = l[i];
        lr[2 * i + 1] = r[i];
    }
    uint8_t *wav = wavgen_wav(lr, n, 2, 48000, WAVGEN_PCM, len);
    free(lr);
    return wav;
}

static void test_stereo_downmix(void)
{
    size_t len, n = 24000;
    vc_audio_report_t rep;
    float *s = wavgen_sine(0.5, 1000, 48000, n);
    float *zero = wavgen_alloc(n);
    float *neg = wavgen_sine(-0.5, 1000, 48000, n);

    uint8_t *wav = stereo_wav(s, zero, n, &len); /* one side only: half the amplitude */
    ASSERT_OK(analyze(wav, len, NULL, NULL, &rep));
    ASSERT_EQ(rep.channels, 2);
    ASSERT_NEAR(rep.peak_dbfs, -12.04, 0.05);
    ASSERT_NEAR(rep.rms_dbfs, -15.05, 0.05);
    free(wav);

    wav = stereo_wav(s, neg, n, &len); /* opposite phase cancels in the mono sum */
    ASSERT_OK(analyze(wav, len, NULL, NULL, &rep));
    ASSERT_EQ(rep.channels, 2);
    ASSERT_NEAR(rep.silence_ratio, 1.0, 1e-9);
    ASSERT_NEAR(rep.rms_dbfs, -120.0, 1e-9);
    free(wav);
    free(s);
    free(zero);
    free(neg);
}

static void test_mulaw(void)
{
    size_t len;
    vc_audio_report_t rep;
    float *x = wavgen_sine(0.5, 1000, 8000, 8000);
    uint8_t *wav = wavgen_wav(x, 8000, 1, 8000, WAVGEN_MULAW, &len);
    ASSERT_EQ(len, 44 + 8000);
    ASSERT_OK(analyze(wav, len, NULL, NULL, &rep));
    ASSERT_EQ(rep.sample_rate, 8000);
    ASSERT_NEAR(rep.duration_s, 1.0, 1e-9);
    ASSERT_NEAR(rep.rms_dbfs, -9.03, 0.1); /* mu-law error is ~2% at this level */
    ASSERT_NEAR(rep.peak_dbfs, -6.02, 0.2);
    ASSERT_NEAR(rep.spectral_centroid_hz, 1000.0, 2 * 8000.0 / 512);
    free(wav);
    free(x);
}

static void test_float_wav(void)
{
    size_t len;
    vc_audio_report_t rep;
    float *x = wavgen_sine(0.5, 1000, 16000, 16000);
    uint8_t *wav = wavgen_wav(x, 16000, 1, 16000, WAVGEN_FLOAT, &len);
    ASSERT_OK(analyze(wav, len, NULL, NULL, &rep));
    ASSERT_NEAR(rep.rms_dbfs, -9.03, 0.01);
    free(wav);
    x[1234] = NAN; /* float WAV can carry NaN: refused, never a NaN figure */
    wav = wavgen_wav(x, 16000, 1, 16000, WAVGEN_FLOAT, &len);
    ASSERT_EQ(analyze(wav, len, NULL, NULL, &rep), VC_EFORMAT);
    ASSERT_EQ(rep.sample_rate, 0); /* zeroed on failure */
    free(wav);
    free(x);
}

static void test_pcm16_raw(void)
{
    vc_audio_opts_t opts;
    vc_audio_report_t rep;
    size_t n = 8000;
    float *x = wavgen_sine(0.5, 1000, 16000, n);
    uint8_t *raw = malloc(2 * n);
    for (size_t i = 0; i < n; i++)
        wavgen_put16(raw + 2 * i, (uint16_t)wavgen_to_pcm16(x[i]));

    vc_audio_opts_default(&opts);
    ASSERT_EQ(analyze(raw, 2 * n, "pcm16", &opts, &rep), VC_EINVAL); /* no rate */
    opts.pcm_sample_rate = 4000;
    ASSERT_EQ(analyze(raw, 2 * n, "pcm16", &opts, &rep), VC_EINVAL);
    opts.pcm_sample_rate = 16000;
    ASSERT_OK(analyze(raw, 2 * n, "pcm16", &opts, &rep));
    ASSERT_EQ(rep.sample_rate, 16000);
    ASSERT_EQ(rep.channels, 1);
    ASSERT_NEAR(rep.duration_s, 0.5, 1e-9);
    ASSERT_NEAR(rep.rms_dbfs, -9.03, 0.02);
    ASSERT_EQ(analyze(raw, 2 * n - 1, "pcm16", &opts, &rep), VC_EFORMAT); /* odd */
    ASSERT_EQ(analyze(raw, 0, "pcm16", &opts, &rep), VC_EFORMAT);
    opts.max_duration_s = 0.25;
    ASSERT_EQ(analyze(raw, 2 * n, "pcm16", &opts, &rep), VC_ETOOBIG);
    /* without "pcm16" the same bytes have no container magic */
    ASSERT_EQ(analyze(raw, 2 * n, NULL, NULL, &rep), VC_EFORMAT);
    free(raw);
    free(x);
}

static void test_bad_arguments(void)
{
    vc_audio_opts_t opts;
    vc_audio_report_t rep;
    uint8_t byte = 0;
    char err[64];

    ASSERT_EQ(analyze(NULL, 0, NULL, NULL, &rep), VC_EFORMAT); /* empty */
    ASSERT_EQ(analyze(&byte, 0, NULL, NULL, &rep), VC_EFORMAT);
    ASSERT_EQ(analyze(NULL, 10, NULL, NULL, &rep), VC_EINVAL);
    ASSERT_EQ(vc_audio_analyze(&byte, 1, NULL, NULL, NULL, err, sizeof(err)), VC_EINVAL);
    ASSERT_EQ(analyze(&byte, 1, "mp3", NULL, &rep), VC_EFORMAT);
    vc_audio_opts_default(&opts);
    opts.max_channels = 0;
    ASSERT_EQ(analyze(&byte, 1, NULL, &opts, &rep), VC_EINVAL);
    vc_audio_opts_default(&opts);
    opts.max_duration_s = NAN;
    ASSERT_EQ(analyze(&byte, 1, NULL, &opts, &rep), VC_EINVAL);
    opts.max_duration_s = 0.0;
    ASSERT_EQ(analyze(&byte, 1, NULL, &opts, &rep), VC_EINVAL);
    opts.max_duration_s = 1e12;
    ASSERT_EQ(analyze(&byte, 1, NULL, &opts, &rep), VC_EINVAL);
}

static void test_garbage(void)
{
    vc_audio_report_t rep;
    uint8_t junk[4096];
    uint64_t s = 42;
    for (size_t i = 0; i < sizeof(junk); i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        junk[i] = (uint8_t)(s >> 56);
    }
    ASSERT_EQ(analyze(junk, sizeof(junk), NULL, NULL, &rep), VC_EFORMAT);
    const char *text = "RIFF? no, just some text that is not audio at all, really.";
    ASSERT_EQ(analyze((const uint8_t *)text, strlen(text), NULL, NULL, &rep), VC_EFORMAT);
    /* right magic, nonsense after it */
    memcpy(junk, "RIFF\x10\x00\x00\x00WAVE", 12);
    ASSERT_EQ(analyze(junk, sizeof(junk), NULL, NULL, &rep), VC_EFORMAT);
    memcpy(junk, "fLaC", 4);
    ASSERT_EQ(analyze(junk, sizeof(junk), NULL, NULL, &rep), VC_EFORMAT);
    memcpy(junk, "OggS", 4);
    ASSERT_EQ(analyze(junk, sizeof(junk), NULL, NULL, &rep), VC_EFORMAT);
}

static void test_truncated(void)
{
    size_t len;
    vc_audio_report_t rep;
    float *x = wavgen_sine(0.5, 440, 16000, 1600);
    uint8_t *wav = wavgen_pcm16(x, 1600, 16000, &len);
    ASSERT_EQ(analyze(wav, 30, NULL, NULL, &rep), VC_EFORMAT); /* inside the fmt chunk */
    ASSERT_EQ(analyze(wav, 11, NULL, NULL, &rep), VC_EFORMAT);
    ASSERT_EQ(analyze(wav, 44, NULL, NULL, &rep), VC_EFORMAT); /* header, no samples */
    /* cut in the middle of the data: what is there is analysed */
    ASSERT_OK(analyze(wav, 44 + 800, NULL, NULL, &rep));
    ASSERT_NEAR(rep.duration_s, 400.0 / 16000, 1e-9);
    wavgen_put32(wav + 40, 0); /* data chunk of zero bytes */
    ASSERT_EQ(analyze(wav, len, NULL, NULL, &rep), VC_EFORMAT);
    free(wav);
    free(x);
}

/* A Sun .snd stream: libsndfile reads it, the service accepts only WAV/FLAC/Ogg. */
static void test_other_container_refused(void)
{
    vc_audio_report_t rep;
    size_t len;
    uint8_t au[24 + 3200] = {0};
    memcpy(au, ".snd", 4);
    uint32_t fields[5] = {24, 3200, 3, 16000, 1}; /* offset, size, 16-bit linear, rate, ch */
    for (int i = 0; i < 5; i++)
        for (int b = 0; b < 4; b++)
            au[4 + 4 * i + b] = (uint8_t)(fields[i] >> (24 - 8 * b));
    for (int i = 0; i < 1600; i++)
        au[24 + 2 * i] = (uint8_t)(i * 7);
    ASSERT_EQ(analyze(au, sizeof(au), NULL, NULL, &rep), VC_EFORMAT);

    float *x = wavgen_sine(0.5, 440, 16000, 1600);
    uint8_t *wav = wavgen_pcm16(x, 1600, 16000, &len);
    ASSERT_EQ(analyze(wav, len, "flac", NULL, &rep), VC_EFORMAT); /* asked for another */
    ASSERT_EQ(analyze(wav, len, "ogg", NULL, &rep), VC_EFORMAT);
    free(wav);
    free(x);
}

static void test_channels_limit(void)
{
    vc_audio_opts_t opts;
    vc_audio_report_t rep;
    size_t len, n = 1600;
    float *x = wavgen_noise(0.3, 9 * n, 7);

    uint8_t *wav = wavgen_wav(x, n, 9, 16000, WAVGEN_PCM, &len);
    ASSERT_EQ(analyze(wav, len, NULL, NULL, &rep), VC_ETOOBIG); /* default limit 8 */
    free(wav);
    wav = wavgen_wav(x, n, 3, 16000, WAVGEN_PCM, &len);
    vc_audio_opts_default(&opts);
    opts.max_channels = 2;
    ASSERT_EQ(analyze(wav, len, NULL, &opts, &rep), VC_ETOOBIG);
    opts.max_channels = 3;
    ASSERT_OK(analyze(wav, len, NULL, &opts, &rep));
    ASSERT_EQ(rep.channels, 3);
    free(wav);
    free(x);
}

static void test_rate_limits(void)
{
    vc_audio_report_t rep;
    size_t len;
    float *x = wavgen_sine(0.5, 440, 16000, 1600);
    uint8_t *wav = wavgen_pcm16(x, 1600, 4000, &len);
    ASSERT_EQ(analyze(wav, len, NULL, NULL, &rep), VC_EFORMAT);
    free(wav);
    wav = wavgen_pcm16(x, 1600, 384000, &len);
    ASSERT_EQ(analyze(wav, len, NULL, NULL, &rep), VC_EFORMAT);
    free(wav);
    free(x);
}

static void test_duration_limit(void)
{
    vc_audio_opts_t opts;
    vc_audio_report_t rep;
    size_t len;
    float *x = wavgen_sine(0.5, 440, 8000, 16000);
    uint8_t *wav = wavgen_pcm16(x, 16000, 8000, &len); /* 2 s */

    vc_audio_opts_default(&opts);
    opts.max_duration_s = 1.0;
    ASSERT_EQ(analyze(wav, len, NULL, &opts, &rep), VC_ETOOBIG);
    opts.max_duration_s = 2.0;
    ASSERT_OK(analyze(wav, len, NULL, &opts, &rep));
    ASSERT_NEAR(rep.duration_s, 2.0, 1e-9);
    free(wav);
    free(x);
}

/* 42 bytes of FLAC: a STREAMINFO block that declares 10 hours at 8 kHz and no audio frames.
 * libsndfile reports the declared length, so the limit fires before any sample buffer or
 * decoding. */
static void test_flac_header_claims_10h(void)
{
    vc_audio_report_t rep;
    uint8_t flac[42] = {'f', 'L', 'a', 'C', 0x80, 0, 0, 34, 0x10, 0x00, 0x10, 0x00};
    uint64_t total = 8000ull * 36000;
    uint64_t packed = (8000ull << 44) | (0ull << 41) | (15ull << 36) | total;
    for (int i = 0; i < 8; i++)
        flac[18 + i] = (uint8_t)(packed >> (56 - 8 * i));
    ASSERT_EQ(analyze(flac, sizeof(flac), NULL, NULL, &rep), VC_ETOOBIG);
    ASSERT_EQ(analyze(flac, sizeof(flac), "flac", NULL, &rep), VC_ETOOBIG);
}

/* A WAV whose data chunk claims 10 hours over 100 real samples. libsndfile bounds the
 * claim by the bytes present, so this is not "too big": the 100 samples are analysed and
 * memory follows them, not the claim. (Streaming writers leave such headers routinely.) */
static void test_wav_header_claims_10h(void)
{
    vc_audio_report_t rep;
    uint8_t wav[44 + 200];
    float *x = wavgen_sine(0.5, 1000, 8000, 100);
    wavgen_header(wav, WAVGEN_PCM, 1, 8000, 16, 8000u * 2 * 36000);
    for (int i = 0; i < 100; i++)
        wavgen_put16(wav + 44 + 2 * i, (uint16_t)wavgen_to_pcm16(x[i]));
    ASSERT_OK(analyze(wav, sizeof(wav), NULL, NULL, &rep));
    ASSERT_NEAR(rep.duration_s, 100.0 / 8000, 1e-9);
    wavgen_put32(wav + 40, 0xffffffffu); /* the pipe writer's "unknown" */
    ASSERT_OK(analyze(wav, sizeof(wav), NULL, NULL, &rep));
    ASSERT_NEAR(rep.duration_s, 100.0 / 8000, 1e-9);
    free(x);
}

int main(void)
{
    RUN(test_wav_mono);
    RUN(test_rates);
    RUN(test_stereo_downmix);
    RUN(test_mulaw);
    RUN(test_float_wav);
    RUN(test_pcm16_raw);
    RUN(test_bad_arguments);
    RUN(test_garbage);
    RUN(test_truncated);
    RUN(test_other_container_refused);
    RUN(test_channels_limit);
    RUN(test_rate_limits);
    RUN(test_duration_limit);
    RUN(test_flac_header_claims_10h);
    RUN(test_wav_header_claims_10h);
    return 0;
}
