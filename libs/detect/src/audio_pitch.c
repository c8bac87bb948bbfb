/* Pitch (F0) track by normalised autocorrelation on the signal decimated to 8 kHz, and the
 * jitter/shimmer of the voiced frames. Measured on active frames only, coarse (4 kHz) then
 * fine (8 kHz), to keep the cost near 1 MFLOP per second of audio. */
#include <math.h>
#include <string.h>

#include "audio_engine.h"

#define DEC_RATE 8000.0
#define PWIN 256    /* 32 ms at 8 kHz */
#define LAG_MIN 20  /* 400 Hz */
#define LAG_MAX 133 /* 60 Hz */
#define VOICED_R 0.5
#define OCTAVE_SHARE 0.9

/* Normalised autocorrelation of the len samples at y with the len samples lag later. Cloned
 * for AVX2 like the GMM scorer (the sums vectorise; see CMakeLists.txt). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2,arch=haswell", "default")))
#endif
static double
ncorr(const float *y, int len, int lag)
{
    float acc = 0.0f, e0 = 0.0f, e1 = 0.0f;
    for (int i = 0; i < len; i++) {
        acc += y[i] * y[i + lag];
        e0 += y[i] * y[i];
        e1 += y[i + lag] * y[i + lag];
    }
    return e0 > 1e-9f && e1 > 1e-9f ? acc / sqrt((double)e0 * e1) : 0.0;
}

/* Coarse search at 4 kHz over lags LAG_MIN/2..LAG_MAX/2 (taking the first peak nearly as
 * high as the best, against octave errors), then a fine search at 8 kHz around it. Returns
 * the 8 kHz lag with parabolic refinement, or 0 when unvoiced. y holds PWIN + LAG_MAX + 2
 * samples. */
static double best_lag(const float *y, float *strength)
{
    float y4[(PWIN + LAG_MAX + 2) / 2];
    double r4[LAG_MAX / 2 + 2];
    int lo = LAG_MIN / 2, hi = LAG_MAX / 2, best = 0;

    for (int i = 0; i < (PWIN + LAG_MAX + 2) / 2; i++)
        y4[i] = 0.5f * (y[2 * i] + y[2 * i + 1]);
    for (int lag = lo - 1; lag <= hi + 1; lag++) {
        r4[lag] = ncorr(y4, PWIN / 2, lag);
        if (lag >= lo && lag <= hi && (best == 0 || r4[lag] > r4[best]))
            best = lag;
    }
    *strength = best > 0 && r4[best] > 0.0 ? (float)r4[best] : 0.0f;
    if (best == 0 || r4[best] < 0.8 * VOICED_R)
        return 0.0;
    for (int lag = lo; lag < best; lag++)
        if (r4[lag] >= OCTAVE_SHARE * r4[best] && r4[lag] >= r4[lag - 1] &&
            r4[lag] >= r4[lag + 1]) {
            best = lag;
            break;
        }
    double r[5];
    int fine = 0;
    for (int j = 0; j < 5; j++) {
        int lag = 2 * best - 2 + j;
        r[j] = lag >= LAG_MIN - 1 && lag <= LAG_MAX + 1 ? ncorr(y, PWIN, lag) : -1.0;
        if (j >= 1 && j <= 3 && (fine == 0 || r[j] > r[fine]))
            fine = j;
    }
    if (r[fine] < VOICED_R)
        return 0.0;
    double a = r[fine - 1], b = r[fine], c = r[fine + 1];
    double den = a - 2.0 * b + c;
    double shift = den < 0.0 ? 0.5 * (a - c) / den : 0.0;
    if (shift > 0.5 || shift < -0.5)
        shift = 0.0;
    return 2 * best - 2 + fine + shift;
}

void vc_audio__pitch_track(const float *x, size_t n, vc_audio__feats_t *feats, double *jitter,
                           double *shimmer)
{
    float y[PWIN + LAG_MAX + 4];
    double jsum = 0.0, ssum = 0.0, tsum = 0.0, asum = 0.0;
    size_t pairs = 0, voiced = 0;
    double prev_t = 0.0, prev_a = 0.0;

    *jitter = 0.0;
    *shimmer = 0.0;
    memset(feats->f0, 0, feats->n * sizeof(float));
    memset(feats->voicing, 0, feats->n * sizeof(float));
    for (size_t f = 0; f < feats->n; f++) {
        if (!feats->active[f]) {
            prev_t = 0.0;
            continue;
        }
        /* Decimate by two (pair average) from the frame start. */
        size_t start = f * VC_AUDIO__HOP;
        for (size_t i = 0; i < sizeof(y) / sizeof(y[0]); i++) {
            size_t s = start + 2 * i;
            y[i] = s + 1 < n ? 0.5f * (x[s] + x[s + 1]) : 0.0f;
        }
        double lag = best_lag(y, &feats->voicing[f]);
        if (lag <= 0.0) {
            prev_t = 0.0;
            continue;
        }
        double period = lag / DEC_RATE;
        double amp = pow(10.0, feats->energy_db[f] / 20.0);
        feats->f0[f] = (float)(1.0 / period);
        voiced++;
        tsum += period;
        asum += amp;
        if (prev_t > 0.0) {
            jsum += fabs(period - prev_t);
            ssum += fabs(amp - prev_a);
            pairs++;
        }
        prev_t = period;
        prev_a = amp;
    }
    if (pairs > 0 && voiced > 1) {
        *jitter = (jsum / pairs) / (tsum / voiced);
        *shimmer = (ssum / pairs) / (asum / voiced);
    }
}
