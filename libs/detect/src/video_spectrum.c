/* A small 2-D FFT (radix 2, single precision, no plans and no shared state, so any thread
 * may call it) and the isolated-peak measure used for moiré. */
#include <math.h>
#include <stdlib.h>

#include "video_internal.h"

#define RING 3

/* In-place radix-2 FFT of n complex values (n a power of two); cs holds cos/sin tables. */
static void fft(float *re, float *im, int n, const float *cs, const float *sn)
{
    for (int i = 1, j = 0; i < n; i++) {
        int bit = n >> 1;
        for (; j & bit; bit >>= 1)
            j ^= bit;
        j ^= bit;
        if (i < j) {
            float t = re[i];
            re[i] = re[j];
            re[j] = t;
            t = im[i];
            im[i] = im[j];
            im[j] = t;
        }
    }
    for (int len = 2; len <= n; len <<= 1) {
        int step = n / len;
        for (int i = 0; i < n; i += len)
            for (int k = 0; k < len / 2; k++) {
                float wr = cs[k * step], wi = -sn[k * step];
                float *ar = re + i + k, *ai = im + i + k;
                float *br = re + i + k + len / 2, *bi = im + i + k + len / 2;
                float xr = *br * wr - *bi * wi, xi = *br * wi + *bi * wr;
                *br = *ar - xr;
                *bi = *ai - xi;
                *ar += xr;
                *ai += xi;
            }
    }
}

/* Windowed, mean-removed 2-D magnitude spectrum of the window into mag (size x size). */
static int spectrum(const uint8_t *luma, int w, int x0, int y0, int size, float *mag)
{
    size_t nn = (size_t)size * size;
    float *re = malloc(nn * sizeof(float)), *im = calloc(nn, sizeof(float));
    float *cs = malloc((size_t)size * sizeof(float)), *sn = malloc((size_t)size * sizeof(float));
    float *col_r = malloc((size_t)size * 2 * sizeof(float));
    if (re == NULL || im == NULL || cs == NULL || sn == NULL || col_r == NULL)
        goto fail;
    float *col_i = col_r + size;
    double mean = 0;
    for (int r = 0; r < size; r++)
        for (int c = 0; c < size; c++)
            mean += luma[(size_t)(y0 + r) * w + x0 + c];
    mean /= (double)nn;
    for (int k = 0; k < size; k++) {
        cs[k] = (float)cos(2 * M_PI * k / size);
        sn[k] = (float)sin(2 * M_PI * k / size);
    }
    for (int r = 0; r < size; r++)
        for (int c = 0; c < size; c++) {
            double win = (0.5 - 0.5 * cs[r]) * (0.5 - 0.5 * cs[c]);
            re[(size_t)r * size + c] =
                (float)((luma[(size_t)(y0 + r) * w + x0 + c] - mean) * win);
        }
    for (int r = 0; r < size; r++)
        fft(re + (size_t)r * size, im + (size_t)r * size, size, cs, sn);
    for (int c = 0; c < size; c++) {
        for (int r = 0; r < size; r++) {
            col_r[r] = re[(size_t)r * size + c];
            col_i[r] = im[(size_t)r * size + c];
        }
        fft(col_r, col_i, size, cs, sn);
        for (int r = 0; r < size; r++)
            mag[(size_t)r * size + c] = hypotf(col_r[r], col_i[r]);
    }
    free(re), free(im), free(cs), free(sn), free(col_r);
    return 0;

fail:
    free(re), free(im), free(cs), free(sn), free(col_r);
    return -1;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* mag at (ky, kx) with negative frequencies wrapped. */
static float at(const float *mag, int size, int ky, int kx)
{
    return mag[(size_t)((ky + size) % size) * size + (size_t)((kx + size) % size)];
}

/* Peak over the median of the ring of bins at Chebyshev distance RING. */
static double ring_ratio(const float *mag, int size, int ky, int kx)
{
    float ring[8 * RING];
    int m = 0;
    for (int dy = -RING; dy <= RING; dy++)
        for (int dx = -RING; dx <= RING; dx++)
            if (abs(dy) == RING || abs(dx) == RING)
                ring[m++] = at(mag, size, ky + dy, kx + dx);
    qsort(ring, (size_t)m, sizeof(float), cmp_float);
    double med = 0.5 * (ring[m / 2 - 1] + ring[m / 2]);
    return at(mag, size, ky, kx) / (med + 1e-3);
}

double vc_video__spectral_peak(const vc_video_frames_t *fr, const int *idx, int k, int size,
                               double fmin, double *fx, double *fy)
{
    *fx = *fy = 0;
    if (size < 32 || size > fr->width || size > fr->height)
        return 0.0;
    size_t nn = (size_t)size * size;
    float *mag = calloc(nn, sizeof(float)), *one = malloc(nn * sizeof(float));
    if (mag == NULL || one == NULL)
        goto fail;
    int x0 = (fr->width - size) / 2, y0 = (fr->height - size) / 2;
    for (int i = 0; i < k; i++) {
        if (spectrum(vc_video__luma(fr, idx[i]), fr->width, x0, y0, size, one) != 0)
            goto fail;
        for (size_t p = 0; p < nn; p++)
            mag[p] += one[p];
    }
    double best = 0;
    *fx = *fy = 0;
    int half = size / 2, kmin = (int)ceil(fmin * size);
    for (int ky = -half + RING + 1; ky < half - RING; ky++)
        for (int kx = 3; kx < half - RING; kx++) {
            if (abs(ky) < 3 || kx * kx + ky * ky < kmin * kmin)
                continue;
            float v = at(mag, size, ky, kx);
            if (v < at(mag, size, ky, kx - 1) || v < at(mag, size, ky, kx + 1) ||
                v < at(mag, size, ky - 1, kx) || v < at(mag, size, ky + 1, kx))
                continue;
            double r = ring_ratio(mag, size, ky, kx);
            if (r > best) {
                best = r;
                *fx = (double)kx / size;
                *fy = (double)ky / size;
            }
        }
    free(mag);
    free(one);
    return best;

fail:
    free(mag);
    free(one);
    return -1;
}
