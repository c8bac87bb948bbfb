/* Analyzer replay: channel evidence of playback through a loudspeaker and re-recording —
 * low-frequency roll-off, band-limiting, spectral tilt, an added noise floor, a reverberant
 * tail filling the pauses — combined by a logistic model trained in vc-train. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audio_engine.h"

#define EPS 1e-12
#define BIN_HZ ((double)VC_AUDIO__RATE / VC_AUDIO__NFFT)

const char *const vc_audio__replay_names[VC_AUDIO__REPLAY_NF] = {
    "lf_ratio_db",    "hf_ratio_db", "tilt_db_per_khz",  "rolloff_hz",    "snr_db",
    "floor_flatness", "decay_db",    "low_energy_share", "energy_std_db", "flatness_active",
};

/* Power of the long-term spectrum between lo and hi Hz. */
static double band(const double *ltas, double lo, double hi)
{
    double s = 0.0;
    for (int k = (int)ceil(lo / BIN_HZ); k <= (int)floor(hi / BIN_HZ) && k < VC_AUDIO__BINS; k++)
        s += ltas[k];
    return s;
}

/* Least-squares slope of the LTAS in dB against frequency in kHz over 300..7000 Hz. */
static double tilt(const double *ltas)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    int m = 0;
    for (int k = (int)(300 / BIN_HZ); k <= (int)(7000 / BIN_HZ); k++, m++) {
        double fx = k * BIN_HZ / 1000.0, y = 10.0 * log10(ltas[k] + EPS);
        sx += fx;
        sy += y;
        sxx += fx * fx;
        sxy += fx * y;
    }
    double den = m * sxx - sx * sx;
    return den > 0.0 ? (m * sxy - sx * sy) / den : 0.0;
}

static double rolloff(const double *ltas)
{
    double total = 0.0, run = 0.0;
    for (int k = 0; k < VC_AUDIO__BINS; k++)
        total += ltas[k];
    for (int k = 0; k < VC_AUDIO__BINS; k++) {
        run += ltas[k];
        if (run >= 0.95 * total)
            return k * BIN_HZ;
    }
    return VC_AUDIO__RATE / 2.0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Mean of the steepest 10% frame-to-frame energy drops (dB per 10 ms, negative); a
 * reverberant room makes them shallower. */
static double decay(const vc_audio__feats_t *feats)
{
    if (feats->n < 3)
        return 0.0;
    double *d = malloc((feats->n - 1) * sizeof(double));
    if (d == NULL)
        return 0.0;
    for (size_t t = 1; t < feats->n; t++)
        d[t - 1] = (double)feats->energy_db[t] - feats->energy_db[t - 1];
    qsort(d, feats->n - 1, sizeof(double), cmp_double);
    size_t m = (feats->n - 1) / 10 + 1;
    double s = 0.0;
    for (size_t i = 0; i < m; i++)
        s += d[i];
    free(d);
    return s / (double)m;
}

void vc_audio__replay_features(const vc_audio__feats_t *feats, double *f)
{
    const double *ltas = feats->ltas;
    double floor_flat = 0.0, act_flat = 0.0, es = 0.0, es2 = 0.0;
    size_t nf = 0, na = 0, low = 0;

    f[0] = 10.0 * log10((band(ltas, 60, 200) + EPS) / (band(ltas, 200, 1000) + EPS));
    f[1] = 10.0 * log10((band(ltas, 4000, 7000) + EPS) / (band(ltas, 1000, 4000) + EPS));
    f[2] = tilt(ltas);
    f[3] = rolloff(ltas);
    f[4] = feats->speech_level_db - feats->noise_floor_db;
    for (size_t t = 0; t < feats->n; t++) {
        double e = feats->energy_db[t];
        if (e < feats->noise_floor_db + 3.0) {
            floor_flat += feats->flatness[t];
            nf++;
        }
        if (e < feats->speech_level_db - 30.0)
            low++;
        if (feats->active[t]) {
            act_flat += feats->flatness[t];
            es += e;
            es2 += e * e;
            na++;
        }
    }
    f[5] = nf > 0 ? floor_flat / (double)nf : 0.0;
    f[6] = decay(feats);
    f[7] = (double)low / (double)feats->n;
    double mu = na > 0 ? es / (double)na : 0.0;
    f[8] = na > 1 ? sqrt(fmax(es2 / (double)na - mu * mu, 0.0)) : 0.0;
    f[9] = na > 0 ? act_flat / (double)na : 0.0;
}

static int replay_analyze(const vc_audio__input_t *in, vc_audio_analyzer_result_t *res)
{
    double f[VC_AUDIO__REPLAY_NF];
    vc_audio__replay_features(in->feats, f);
    res->score = vc_audio__sigmoid(vc_logreg__logit(&in->model->replay, f));
    for (int i = 0; i < VC_AUDIO__REPLAY_NF; i++)
        vc_audio__evidence(res, vc_audio__replay_names[i], f[i]);
    return 0;
}

const vc_audio__analyzer_t vc_audio__an_replay = {
    VC_AUDIO__ANALYZER_API,
    "replay",
    "channel-lr-1",
    replay_analyze,
};
