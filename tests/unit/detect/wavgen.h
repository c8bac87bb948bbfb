#ifndef VC_TEST_WAVGEN_H
#define VC_TEST_WAVGEN_H
/* Test signals and a tiny in-memory RIFF/WAVE writer (PCM16, IEEE float, G.711 mu-law), so
 * detect tests need no files and no encoder library. Buffers are malloc'd; callers free. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define WAVGEN_PI 3.14159265358979323846
#define WAVGEN_PCM 1
#define WAVGEN_FLOAT 3
#define WAVGEN_MULAW 7
#define WAVGEN_HEADER 44

static inline void wavgen_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void wavgen_put32(uint8_t *p, uint32_t v)
{
    wavgen_put16(p, (uint16_t)v);
    wavgen_put16(p + 2, (uint16_t)(v >> 16));
}

/* Writes a 44-byte RIFF/WAVE header (fmt chunk of 16 bytes, then the data chunk header)
 * declaring data_len bytes of data, whether or not they follow. */
static inline void wavgen_header(uint8_t *p, uint16_t tag, int channels, uint32_t rate,
                                 uint16_t bits, uint32_t data_len)
{
    uint16_t align = (uint16_t)(channels * bits / 8);
    memcpy(p, "RIFF", 4);
    wavgen_put32(p + 4, 36 + data_len);
    memcpy(p + 8, "WAVEfmt ", 8);
    wavgen_put32(p + 16, 16);
    wavgen_put16(p + 20, tag);
    wavgen_put16(p + 22, (uint16_t)channels);
    wavgen_put32(p + 24, rate);
    wavgen_put32(p + 28, rate * align);
    wavgen_put16(p + 32, align);
    wavgen_put16(p + 34, bits);
    memcpy(p + 36, "data", 4);
    wavgen_put32(p + 40, data_len);
}

static inline int16_t wavgen_to_pcm16(float x)
{
    double v = floor((double)x * 32768.0 + 0.5);
    if (v > 32767.0)
        v = 32767.0;
    if (v < -32768.0)
        v = -32768.0;
    return (int16_t)v;
}

/* G.711 mu-law encoding of one sample (the classic Sun reference algorithm). */
static inline uint8_t wavgen_to_mulaw(float x)
{
    int pcm = wavgen_to_pcm16(x) >> 2; /* 14-bit */
    int sign = pcm < 0 ? 0x80 : 0;
    int mag = (pcm < 0 ? -pcm : pcm) + 33;
    if (mag > 8191)
        mag = 8191; /* segment 7, mantissa 15: full scale */
    int seg = 0;
    for (int v = mag >> 6; v > 0 && seg < 7; v >>= 1)
        seg++;
    int mant = (mag >> (seg + 1)) & 0x0f;
    return (uint8_t) ~(sign | (seg << 4) | mant);
}

/* A WAV of frames interleaved frames of x (channels each), encoded as tag (WAVGEN_PCM 16-bit,
 * WAVGEN_FLOAT 32-bit, WAVGEN_MULAW 8-bit). Sets *len. */
static inline uint8_t *wavgen_wav(const float *x, size_t frames, int channels, uint32_t rate,
                                  uint16_t tag, size_t *len)
{
    uint16_t bits = tag == WAVGEN_PCM ? 16 : tag == WAVGEN_FLOAT ? 32 : 8;
    size_t n = frames * (size_t)channels, data_len = n * bits / 8;
    uint8_t *buf = malloc(WAVGEN_HEADER + data_len);
    if (buf == NULL)
        abort();
    wavgen_header(buf, tag, channels, rate, bits, (uint32_t)data_len);
    uint8_t *p = buf + WAVGEN_HEADER;
    for (size_t i = 0; i < n; i++) {
        if (tag == WAVGEN_PCM) {
            wavgen_put16(p + 2 * i, (uint16_t)wavgen_to_pcm16(x[i]));
        } else if (tag == WAVGEN_FLOAT) {
            uint32_t u;
            memcpy(&u, &x[i], 4);
            wavgen_put32(p + 4 * i, u);
        } else {
            p[i] = wavgen_to_mulaw(x[i]);
        }
    }
    *len = WAVGEN_HEADER + data_len;
    return buf;
}

/* Mono PCM16 WAV, the common case. */
static inline uint8_t *wavgen_pcm16(const float *x, size_t n, uint32_t rate, size_t *len)
{
    return wavgen_wav(x, n, 1, rate, WAVGEN_PCM, len);
}

static inline float *wavgen_alloc(size_t n)
{
    float *x = calloc(n > 0 ? n : 1, sizeof(float));
    if (x == NULL)
        abort();
    return x;
}

/* amp * sin(2 pi f t), n samples at rate. */
static inline float *wavgen_sine(double amp, double freq, uint32_t rate, size_t n)
{
    float *x = wavgen_alloc(n);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(amp * sin(2.0 * WAVGEN_PI * freq * (double)i / rate));
    return x;
}

/* Uniform white noise in [-amp, amp), reproducible from seed (64-bit LCG). */
static inline float *wavgen_noise(double amp, size_t n, uint64_t seed)
{
    float *x = wavgen_alloc(n);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        double u = (double)(seed >> 11) / 9007199254740992.0; /* [0, 1) */
        x[i] = (float)(amp * (2.0 * u - 1.0));
    }
    return x;
}

/* Square wave of +-amp; amp above 1 is clipped by the PCM16 writer. */
static inline float *wavgen_square(double amp, double freq, uint32_t rate, size_t n)
{
    float *x = wavgen_alloc(n);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(fmod(freq * (double)i / rate, 1.0) < 0.5 ? amp : -amp);
    return x;
}

#endif
