/* Frame features at 16 kHz: 20 ms Hamming frames every 10 ms, 512-point FFT power spectrum,
 * LFCC (20 linear triangular filters, log, DCT-II, 20 coefficients with c0, delta and
 * delta-delta over +-2 frames: the ASVspoof baseline front end), frame energy, spectral
 * flatness, a click measure for splices, energy voice activity and the long-term average
 * spectrum of active frames. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <fftw3.h>

#include "audio_engine.h"
#include "vc/error.h"

#define PI 3.14159265358979323846
#define EPS 1e-12
#define FLOOR_DB -120.0
#define CLICK_BLOCK 16 /* 1 ms */
#define CLICK_SPAN 10  /* blocks either side compared */
#define VAD_RANGE_DB 40.0

/* Constant tables built once per call (cheap: a few thousand operations). */
typedef struct {
    double window[VC_AUDIO__WIN];
    double filt[VC_AUDIO__NFILT][VC_AUDIO__BINS];
    int lo[VC_AUDIO__NFILT], hi[VC_AUDIO__NFILT]; /* nonzero bin range of each filter */
    double dct[VC_AUDIO__NCEP][VC_AUDIO__NFILT];
} tables_t;

static void tables_init(tables_t *t)
{
    for (int i = 0; i < VC_AUDIO__WIN; i++)
        t->window[i] = 0.54 - 0.46 * cos(2.0 * PI * i / (VC_AUDIO__WIN - 1));
    /* Filter edges equally spaced over 0..Nyquist, in bins. */
    double step = (double)(VC_AUDIO__BINS - 1) / (VC_AUDIO__NFILT + 1);
    memset(t->filt, 0, sizeof(t->filt));
    for (int f = 0; f < VC_AUDIO__NFILT; f++) {
        double l = f * step, c = (f + 1) * step, r = (f + 2) * step;
        t->lo[f] = (int)ceil(l);
        t->hi[f] = (int)floor(r);
        for (int k = t->lo[f]; k <= t->hi[f] && k < VC_AUDIO__BINS; k++)
            t->filt[f][k] = k <= c ? (k - l) / (c - l) : (r - k) / (r - c);
    }
    for (int c = 0; c < VC_AUDIO__NCEP; c++) {
        double norm = c == 0 ? sqrt(1.0 / VC_AUDIO__NFILT) : sqrt(2.0 / VC_AUDIO__NFILT);
        for (int f = 0; f < VC_AUDIO__NFILT; f++)
            t->dct[c][f] = norm * cos(PI * c * (f + 0.5) / VC_AUDIO__NFILT);
    }
}

static double to_db(double power)
{
    double db = 10.0 * log10(power + EPS);
    return db < FLOOR_DB ? FLOOR_DB : db;
}

/* Static LFCC, energy and flatness of one power spectrum. */
static void frame_cepstrum(const tables_t *t, const double *psd, float *cep, float *flatness)
{
    double logf[VC_AUDIO__NFILT];
    double sum = 0.0, logsum = 0.0;

    for (int f = 0; f < VC_AUDIO__NFILT; f++) {
        double e = 0.0;
        for (int k = t->lo[f]; k <= t->hi[f] && k < VC_AUDIO__BINS; k++)
            e += t->filt[f][k] * psd[k];
        logf[f] = log(e + EPS);
    }
    for (int c = 0; c < VC_AUDIO__NCEP; c++) {
        double acc = 0.0;
        for (int f = 0; f < VC_AUDIO__NFILT; f++)
            acc += t->dct[c][f] * logf[f];
        cep[c] = (float)acc;
    }
    /* Flatness over the (equal-width) filter energies: cheap, and smooth enough. */
    for (int f = 0; f < VC_AUDIO__NFILT; f++) {
        sum += exp(logf[f]);
        logsum += logf[f];
    }
    double am = sum / VC_AUDIO__NFILT;
    double fl = am > EPS ? exp(logsum / VC_AUDIO__NFILT) / am : 0.0;
    *flatness = (float)(fl > 1.0 ? 1.0 : fl);
}

/* Energy of the second difference (a high-pass that turns a step into a spike) over every
 * 1 ms block of x, into e (nb = ceil(n / CLICK_BLOCK) entries). */
static void block_energies(const float *x, size_t n, float *e, size_t nb)
{
    for (size_t b = 0; b < nb; b++) {
        double acc = 0.0;
        for (size_t i = b * CLICK_BLOCK; i < (b + 1) * CLICK_BLOCK && i < n; i++) {
            double d = (double)x[i] - 2.0 * (i >= 1 ? x[i - 1] : 0.0f) + (i >= 2 ? x[i - 2] : 0.0f);
            acc += d * d;
        }
        e[b] = (float)acc;
    }
}

/* Spikiness of the hop starting at block b0: for each of its 1 ms blocks, the dB by which
 * its second-difference energy exceeds the mean of the blocks 2..CLICK_SPAN away on either
 * side; the largest. A waveform discontinuity (a hard cut) is a burst about 1 ms long. */
static float click_measure(const float *e, size_t nb, size_t b0)
{
    double best = -60.0;
    for (size_t b = b0; b < b0 + VC_AUDIO__HOP / CLICK_BLOCK && b < nb; b++) {
        double around = 0.0;
        int count = 0;
        for (size_t j = 2; j <= CLICK_SPAN; j++) {
            if (b >= j) {
                around += e[b - j];
                count++;
            }
            if (b + j < nb) {
                around += e[b + j];
                count++;
            }
        }
        if (count == 0)
            continue;
        double spike = 10.0 * log10((e[b] + EPS) / (around / count + EPS));
        if (spike > best)
            best = spike;
    }
    return (float)best;
}

/* Regression deltas (+-2 frames, edges clamped) of columns [src, src + 20) into
 * [dst, dst + 20) of every row. */
static void deltas(float *m, size_t n, int src, int dst)
{
    for (size_t t = 0; t < n; t++) {
        for (int c = 0; c < VC_AUDIO__NCEP; c++) {
            double acc = 0.0;
            for (int k = 1; k <= 2; k++) {
                size_t a = t + (size_t)k < n ? t + (size_t)k : n - 1;
                size_t b = t >= (size_t)k ? t - (size_t)k : 0;
                acc += k * ((double)m[a * VC_AUDIO__DIM + (size_t)(src + c)] -
                            m[b * VC_AUDIO__DIM + (size_t)(src + c)]);
            }
            m[t * VC_AUDIO__DIM + (size_t)(dst + c)] = (float)(acc / 10.0);
        }
    }
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Noise floor, speech level and the energy voice activity decision. */
static int voice_activity(vc_audio__feats_t *feats)
{
    float *sorted = malloc(feats->n * sizeof(float));
    if (sorted == NULL)
        return VC_ENOMEM;
    memcpy(sorted, feats->energy_db, feats->n * sizeof(float));
    qsort(sorted, feats->n, sizeof(float), cmp_float);
    feats->noise_floor_db = sorted[(feats->n - 1) / 10];
    feats->speech_level_db = sorted[(feats->n - 1) * 95 / 100];
    free(sorted);
    double span = feats->speech_level_db - feats->noise_floor_db;
    double thr = feats->noise_floor_db + 0.25 * span;
    if (thr < feats->speech_level_db - VAD_RANGE_DB)
        thr = feats->speech_level_db - VAD_RANGE_DB;
    feats->n_active = 0;
    for (size_t t = 0; t < feats->n; t++) {
        feats->active[t] = span > 6.0 ? feats->energy_db[t] > thr : feats->energy_db[t] > -90.0;
        feats->n_active += feats->active[t];
    }
    return 0;
}

static int feats_alloc(vc_audio__feats_t *feats, size_t n)
{
    memset(feats, 0, sizeof(*feats));
    feats->n = n;
    feats->lfcc = malloc(n * VC_AUDIO__DIM * sizeof(float));
    feats->energy_db = malloc(n * sizeof(float));
    feats->flatness = malloc(n * sizeof(float));
    feats->click_db = malloc(n * sizeof(float));
    feats->f0 = calloc(n, sizeof(float));
    feats->voicing = calloc(n, sizeof(float));
    feats->active = malloc(n);
    feats->bona_ll = malloc(2 * n * sizeof(float));
    if (feats->bona_ll != NULL) {
        feats->bona_static_ll = feats->bona_ll + n;
        for (size_t t = 0; t < 2 * n; t++)
            feats->bona_ll[t] = NAN;
    }
    if (feats->bona_ll == NULL || feats->lfcc == NULL || feats->energy_db == NULL ||
        feats->flatness == NULL || feats->click_db == NULL || feats->f0 == NULL ||
        feats->voicing == NULL || feats->active == NULL) {
        vc_audio__feats_free(feats);
        return VC_ENOMEM;
    }
    return 0;
}

/* Transforms every frame once: each spectrum is consumed at once (LFCC, energy, flatness,
 * click measure) and never stored. The long-term average spectrum sums the frames above
 * -60 dBFS (loud enough to be signal rather than digital silence), since voice activity
 * needs every energy first. Returns 0 or VC_ENOMEM. */
static int transform(const float *x, size_t n, vc_audio__feats_t *feats, const tables_t *t)
{
    size_t nblocks = n / CLICK_BLOCK + 1;
    float *blocks = malloc(nblocks * sizeof(float));
    const void *plan = vc_audio__fft_plan512();
    double *in = fftw_alloc_real(VC_AUDIO__NFFT);
    fftw_complex *out = fftw_alloc_complex(VC_AUDIO__BINS);
    double psd[VC_AUDIO__BINS];
    size_t ltas_frames = 0;
    int rc = VC_ENOMEM;

    if (plan == NULL || in == NULL || out == NULL || blocks == NULL)
        goto fail;
    block_energies(x, n, blocks, nblocks);
    memset(feats->ltas, 0, sizeof(feats->ltas));
    for (size_t f = 0; f < feats->n; f++) {
        size_t start = f * VC_AUDIO__HOP;
        double energy = 0.0;
        for (size_t i = 0; i < VC_AUDIO__NFFT; i++) {
            double v = i < VC_AUDIO__WIN && start + i < n ? x[start + i] : 0.0;
            energy += v * v;
            in[i] = i < VC_AUDIO__WIN ? v * t->window[i] : 0.0;
        }
        fftw_execute_dft_r2c((const fftw_plan)plan, in, out);
        for (int k = 0; k < VC_AUDIO__BINS; k++)
            psd[k] = out[k][0] * out[k][0] + out[k][1] * out[k][1];
        frame_cepstrum(t, psd, feats->lfcc + f * VC_AUDIO__DIM, &feats->flatness[f]);
        feats->energy_db[f] = (float)to_db(energy / VC_AUDIO__WIN);
        feats->click_db[f] = click_measure(blocks, nblocks, start / CLICK_BLOCK);
        if (feats->energy_db[f] > -60.0f) {
            for (int k = 0; k < VC_AUDIO__BINS; k++)
                feats->ltas[k] += psd[k];
            ltas_frames++;
        }
    }
    for (int k = 0; ltas_frames > 0 && k < VC_AUDIO__BINS; k++)
        feats->ltas[k] /= (double)ltas_frames;
    rc = 0;

fail:
    free(blocks);
    fftw_free(in);
    fftw_free(out);
    return rc;
}

int vc_audio__feats_compute(const float *x, size_t n, vc_audio__feats_t *feats, char *err,
                            size_t errlen)
{
    tables_t *t = malloc(sizeof(*t));
    size_t frames = n > VC_AUDIO__WIN ? 1 + (n - VC_AUDIO__WIN) / VC_AUDIO__HOP : 1;
    int rc;

    if (t == NULL)
        return vc_err(err, errlen, VC_ENOMEM, "no memory for feature tables");
    tables_init(t);
    rc = feats_alloc(feats, frames);
    if (rc != 0)
        goto fail;
    rc = transform(x, n, feats, t);
    if (rc != 0)
        goto fail;
    deltas(feats->lfcc, frames, 0, VC_AUDIO__NCEP);
    deltas(feats->lfcc, frames, VC_AUDIO__NCEP, 2 * VC_AUDIO__NCEP);
    rc = voice_activity(feats);
    if (rc != 0)
        goto fail;
    free(t);
    return 0;

fail:
    free(t);
    vc_audio__feats_free(feats);
    return vc_err(err, errlen, rc, "no memory for %zu frames of features", frames);
}

void vc_audio__feats_free(vc_audio__feats_t *feats)
{
    if (feats == NULL)
        return;
    free(feats->lfcc);
    free(feats->energy_db);
    free(feats->flatness);
    free(feats->click_db);
    free(feats->f0);
    free(feats->voicing);
    free(feats->active);
    free(feats->bona_ll);
    memset(feats, 0, sizeof(*feats));
}
