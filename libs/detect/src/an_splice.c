/* Analyzer splice: per-frame discontinuity features — a one-block waveform burst (the click
 * of a hard cut, i.e. broken phase continuity), jumps of the short-term spectrum (mean LFCC
 * before vs after, over 150 and 40 ms), a jump of energy (30 ms and 8 ms) and of pitch, a
 * break in the periodicity of voiced speech (within a pitch track window, and period to
 * period across the boundary), and the "dynamic surprise" of the bona fide GMM: how much
 * less likely a frame's LFCC dynamics (delta, delta-delta) are than its static spectrum
 * alone, i.e. a transition that natural speech of that spectrum does not make — combined
 * per frame by a logistic model; the clip score is the strongest frame. Evidence gives the
 * suspected times. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio_engine.h"

#define RAW_NF VC_AUDIO__SPLICE_RAW_NF
#include "vc/error.h"

#define CEPS 12           /* static coefficients c1..c12 compared across the boundary */
#define WIN 15            /* frames either side for the spectral jump */
#define EWIN 3            /* frames either side for the energy jump */
#define FWIN 5            /* frames either side for the pitch jump */
#define POOL 2            /* frames either side a cue is pooled over */
#define SWIN 4            /* frames either side for the short spectral jump */
#define PERIOD_STEP 80    /* samples between boundary candidates of the period check */
#define ABRUPT_WIN 128    /* samples (8 ms) either side for the abrupt energy change */
#define PARTIAL_FLOOR 0.3 /* periodicity below this is a dropout, not a break */
#define EDGE 10           /* frames at either end never reported (0.1 s) */
#define PEAK_GAP 50       /* frames between reported splices (0.5 s) */

/* Spectral jump at every boundary t: the standardised distance between the mean static
 * LFCC of [t-WIN, t) and [t, t+WIN), via prefix sums. jump[t] = 0 near the edges. */
static int spectral_jump(const vc_audio__feats_t *feats, double *jump)
{
    size_t n = feats->n;
    double *ps = calloc((n + 1) * CEPS * 2, sizeof(double));
    if (ps == NULL)
        return VC_ENOMEM;
    for (size_t t = 0; t < n; t++)
        for (int c = 0; c < CEPS; c++) {
            double v = feats->lfcc[t * VC_AUDIO__DIM + (size_t)c + 1];
            ps[(t + 1) * CEPS * 2 + (size_t)c] = ps[t * CEPS * 2 + (size_t)c] + v;
            ps[(t + 1) * CEPS * 2 + CEPS + (size_t)c] = ps[t * CEPS * 2 + CEPS + (size_t)c] + v * v;
        }
    for (size_t t = 0; t < n; t++) {
        jump[t] = 0.0;
        if (t < WIN || t + WIN > n)
            continue;
        double d2 = 0.0;
        for (int c = 0; c < CEPS; c++) {
            const double *a0 = ps + (t - WIN) * CEPS * 2, *a1 = ps + t * CEPS * 2,
                         *a2 = ps + (t + WIN) * CEPS * 2;
            double m1 = (a1[c] - a0[c]) / WIN, m2 = (a2[c] - a1[c]) / WIN;
            double v1 = (a1[CEPS + c] - a0[CEPS + c]) / WIN - m1 * m1;
            double v2 = (a2[CEPS + c] - a1[CEPS + c]) / WIN - m2 * m2;
            d2 += (m1 - m2) * (m1 - m2) / (0.5 * (v1 + v2) + 0.1);
        }
        jump[t] = sqrt(d2 / CEPS);
    }
    free(ps);
    return 0;
}

static double mean_energy(const vc_audio__feats_t *feats, size_t from, size_t to)
{
    double s = 0.0;
    for (size_t t = from; t < to; t++)
        s += feats->energy_db[t];
    return to > from ? s / (double)(to - from) : 0.0;
}

/* Mean F0 of the voiced frames in [from, to), 0 with fewer than two. */
static double mean_f0(const vc_audio__feats_t *feats, size_t from, size_t to)
{
    double s = 0.0;
    int v = 0;
    for (size_t t = from; t < to; t++)
        if (feats->f0[t] > 0.0f) {
            s += feats->f0[t];
            v++;
        }
    return v >= 2 ? s / v : 0.0;
}

/* Pitch jump in semitones between the FWIN frames before t and the FWIN from t, folded so
 * that an octave error of the tracker counts as no jump. 0 when either side is unvoiced. */
static double f0_jump(const vc_audio__feats_t *feats, size_t t)
{
    if (t < FWIN || t + FWIN > feats->n)
        return 0.0;
    double fa = mean_f0(feats, t - FWIN, t), fb = mean_f0(feats, t, t + FWIN);
    if (fa <= 0.0 || fb <= 0.0)
        return 0.0;
    double d = 12.0 * fabs(log2(fa / fb));
    return d > 6.0 ? fabs(d - 12.0) : d;
}

/* How much less periodic the frames whose 32 ms pitch window straddles boundary t are than
 * the clean frames on either side, split in two: a partial drop (the pulse train breaks but
 * stays voiced: a cut inside voiced speech) into *partial, a dropout to aperiodic (a natural
 * stop or fricative between vowels) into *full. */
static void periodicity_drop(const vc_audio__feats_t *feats, size_t t, double *partial,
                             double *full)
{
    *partial = *full = 0.0;
    if (t < 7 || t + 3 > feats->n)
        return;
    double sides = fmin(feats->voicing[t - 6], feats->voicing[t + 2]);
    double mid = fmin(fmin(feats->voicing[t - 2], feats->voicing[t - 1]), feats->voicing[t]);
    if (sides - mid <= 0.0)
        return;
    if (mid >= PARTIAL_FLOOR)
        *partial = sides - mid;
    else
        *full = sides - mid;
}

/* Short spectral jump at boundary t: mean static LFCC (c1..c12) of the SWIN frames that end
 * before t (t-SWIN-2 .. t-3: frames t-2 and t-1 straddle the boundary) against the SWIN
 * frames from t, in units of the pooled within-window spread plus 1 (so steady silence does
 * not count as a jump). */
static double short_jump(const vc_audio__feats_t *feats, size_t t)
{
    if (t < SWIN + 2 || t + SWIN > feats->n)
        return 0.0;
    double d2 = 0.0;
    for (int c = 1; c <= CEPS; c++) {
        double m1 = 0.0, m2 = 0.0, s1 = 0.0, s2 = 0.0;
        for (size_t k = 0; k < SWIN; k++) {
            double a = feats->lfcc[(t - 2 - SWIN + k) * VC_AUDIO__DIM + (size_t)c];
            double b = feats->lfcc[(t + k) * VC_AUDIO__DIM + (size_t)c];
            m1 += a;
            s1 += a * a;
            m2 += b;
            s2 += b * b;
        }
        m1 /= SWIN;
        m2 /= SWIN;
        double v = 0.5 * (s1 / SWIN - m1 * m1 + s2 / SWIN - m2 * m2);
        d2 += (m1 - m2) * (m1 - m2) / (v + 1.0);
    }
    return sqrt(d2 / CEPS);
}

/* Geometric mean F0 of the voiced frames in [from, to), 0 with fewer than two. */
static double f0_geo(const vc_audio__feats_t *feats, long from, long to)
{
    double s = 0.0;
    int v = 0;
    for (long t = from < 0 ? 0 : from; t < to && (size_t)t < feats->n; t++)
        if (feats->f0[t] > 0.0f) {
            s += log(feats->f0[t]);
            v++;
        }
    return v >= 2 ? exp(s / v) : 0.0;
}

/* How well the m samples from b repeat the samples one period earlier: the best normalised
 * correlation over the period rounded to a sample, +-1 sample. -2 when the window leaves the
 * signal. The three lags share one pass over the samples (each sum still adds in sample
 * order): this runs at every voiced boundary and was a tenth of the engine's time as three
 * separate latency-bound reductions. */
static double period_match(const float *x, size_t n, long b, double period, int m)
{
    int lo = (int)lround(period) - 1;
    if (b - (lo + 2) < 0 || (size_t)b + (size_t)m > n)
        return -2.0;
    const float *y = x + b, *a0 = x + b - lo, *a1 = a0 - 1, *a2 = a0 - 2;
    double bb = 0.0, ab0 = 0.0, ab1 = 0.0, ab2 = 0.0, aa0 = 0.0, aa1 = 0.0, aa2 = 0.0;
    for (int i = 0; i < m; i++) {
        double yi = y[i], u0 = a0[i], u1 = a1[i], u2 = a2[i];
        bb += yi * yi;
        ab0 += u0 * yi;
        ab1 += u1 * yi;
        ab2 += u2 * yi;
        aa0 += u0 * u0;
        aa1 += u1 * u1;
        aa2 += u2 * u2;
    }
    double ab[3] = {ab0, ab1, ab2}, aa[3] = {aa0, aa1, aa2}, best = -1.0;
    for (int l = 0; l < 3; l++) {
        double r = aa[l] > 1e-12 && bb > 1e-12 ? ab[l] / sqrt(aa[l] * bb) : 0.0;
        best = r > best ? r : best;
    }
    return best;
}

/* Period-to-period continuity across boundary t (voiced on both sides): how much worse the
 * first period after a candidate boundary repeats the last period before it than periods
 * within either side repeat each other. A cut inside voiced speech restarts the pulse train
 * at an arbitrary phase, often at another pitch. Candidates every PERIOD_STEP samples around
 * the frame start; the largest break. Also sets *f0_raw, the unfolded pitch jump in
 * semitones between the frames whose pitch windows end before t and those starting at t. */
static double period_break(const vc_audio__feats_t *feats, const float *x, size_t n, size_t t,
                           double *f0_raw)
{
    *f0_raw = 0.0;
    double fl = f0_geo(feats, (long)t - 7, (long)t - 3), fr = f0_geo(feats, (long)t, (long)t + 4);
    if (fl <= 0.0 || fr <= 0.0)
        return 0.0;
    *f0_raw = fabs(12.0 * log2(fl / fr));
    double tl = VC_AUDIO__RATE / fl, tr = VC_AUDIO__RATE / fr, best = 0.0;
    int m = (int)fmin(fmin(tl, tr), (double)VC_AUDIO__HOP / 2);
    for (int k = -1; k <= 0; k++) {
        long b = (long)(t * VC_AUDIO__HOP) + k * PERIOD_STEP;
        double across = period_match(x, n, b, tl, m);
        double left = period_match(x, n, b - (long)tl, tl, m);
        double right = period_match(x, n, b + (long)tr, tr, m);
        if (across < -1.0 || left < -1.0 || right < -1.0)
            continue;
        best = fmax(best, fmin(left, right) - across);
    }
    return best;
}

/* The largest level change in dB between the ABRUPT_WIN samples before and after a candidate
 * boundary around the start of frame t: natural onsets and offsets ramp over several ms. */
static double abrupt_change(const float *x, size_t n, size_t t)
{
    double best = 0.0;
    for (int k = -2; k <= 1; k++) {
        long b = (long)(t * VC_AUDIO__HOP) + k * PERIOD_STEP;
        if (b < ABRUPT_WIN || (size_t)b + ABRUPT_WIN > n)
            continue;
        double e1 = 1e-10, e2 = 1e-10;
        for (int i = 0; i < ABRUPT_WIN; i++) {
            e1 += (double)x[b - ABRUPT_WIN + i] * x[b - ABRUPT_WIN + i];
            e2 += (double)x[b + i] * x[b + i];
        }
        best = fmax(best, fabs(10.0 * log10(e1 / e2)));
    }
    return best;
}

int vc_audio__splice_raw(const vc_audio__feats_t *feats, const float *x, size_t n, double *raw)
{
    size_t nf = feats->n;
    double *jump = malloc((nf + 1) * sizeof(double));
    if (jump == NULL)
        return VC_ENOMEM;
    int rc = spectral_jump(feats, jump);
    if (rc != 0) {
        free(jump);
        return rc;
    }
    for (size_t t = 0; t < nf; t++) {
        double *row = raw + t * RAW_NF;
        memset(row, 0, RAW_NF * sizeof(double));
        row[0] = feats->click_db[t];
        row[1] = jump[t];
        row[2] = t >= EWIN && t + EWIN <= nf
                     ? fabs(mean_energy(feats, t - EWIN, t) - mean_energy(feats, t, t + EWIN))
                     : 0.0;
        row[3] = f0_jump(feats, t);
        periodicity_drop(feats, t, &row[4], &row[5]);
        if (t < EDGE || t + EDGE >= nf)
            continue;
        row[7] = period_break(feats, x, n, t, &row[6]);
        row[8] = short_jump(feats, t);
        row[9] = abrupt_change(x, n, t);
    }
    free(jump);
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int vc_audio__splice_surprise(const vc_gmm__t *bona, const float *lfcc, const uint8_t *active,
                              const float *full_ll, const float *static_ll, size_t n,
                              double *raw)
{
    vc_gmm__t stat = *bona; /* a view: the first NCEP rows of the d-major tables */
    float *work = malloc((size_t)bona->k * sizeof(float));
    float *c = malloc((size_t)bona->k * sizeof(float));
    if (work == NULL || c == NULL || bona->d < VC_AUDIO__NCEP) {
        free(work);
        free(c);
        return VC_ENOMEM;
    }
    /* Constant of the static marginal: log w - 0.5 (D log 2pi + sum log var + sum mean^2/var)
     * over the static dimensions only. */
    for (int j = 0; j < bona->k; j++) {
        double acc = log(bona->weight[j]) - 0.5 * VC_AUDIO__NCEP * log(2.0 * 3.14159265358979323846);
        for (int d = 0; d < VC_AUDIO__NCEP; d++) {
            double v = bona->var[(size_t)j * (size_t)bona->d + (size_t)d];
            double m = bona->mean[(size_t)j * (size_t)bona->d + (size_t)d];
            acc -= 0.5 * (log(v) + m * m / v);
        }
        c[j] = (float)acc;
    }
    stat.d = VC_AUDIO__NCEP;
    stat.c = c;
    for (size_t t = 0; t < n; t++) {
        const float *f = lfcc + t * VC_AUDIO__DIM;
        if (!active[t])
            continue;
        double full = full_ll != NULL && !isnan(full_ll[t]) ? full_ll[t]
                                                            : vc_gmm__loglik(bona, f, work);
        double part = static_ll != NULL && !isnan(static_ll[t]) ? static_ll[t]
                                                                : vc_gmm__loglik(&stat, f, work);
        raw[t * RAW_NF + 10] = part - full;
    }
    /* Relative to the clip's median over active frames: the peak locates a transition, while
     * a clip-wide level (synthetic speech surprises the bona fide GMM everywhere) is the
     * synthetic-speech analyzer's business, not evidence of a cut. */
    double *v = malloc((n + 1) * sizeof(double));
    size_t m = 0;
    if (v == NULL) {
        free(work);
        free(c);
        return VC_ENOMEM;
    }
    for (size_t t = 0; t < n; t++)
        if (active[t])
            v[m++] = raw[t * RAW_NF + 10];
    if (m > 0) {
        qsort(v, m, sizeof(double), cmp_double);
        double med = v[(m - 1) / 2];
        for (size_t t = 0; t < n; t++)
            if (active[t])
                raw[t * RAW_NF + 10] -= med;
    }
    free(v);
    free(work);
    free(c);
    return 0;
}

/* Pools every raw cue over +-POOL frames (a cut shifts each cue by a frame or two) and adds
 * the coincidence terms: a splice is several cues at one place, natural events mostly one. */
void vc_audio__splice_pool(const double *raw, size_t n, double *fbuf)
{
    for (size_t t = 0; t < n; t++) {
        double *row = fbuf + t * VC_AUDIO__SPLICE_NF;
        for (int i = 0; i < RAW_NF; i++) {
            double m = raw[t * RAW_NF + (size_t)i];
            for (size_t k = t >= POOL ? t - POOL : 0; k <= t + POOL && k < n; k++)
                m = fmax(m, raw[k * RAW_NF + (size_t)i]);
            row[i] = m;
        }
        row[RAW_NF] = row[4] * row[3];                /* periodicity break x pitch jump */
        row[RAW_NF + 1] = row[4] * fmax(row[0], 0.0); /* periodicity break x click */
    }
}

int vc_audio__splice_frames(const vc_audio_model_t *model, const vc_audio__feats_t *feats,
                            const float *x, size_t n, double *logit, double *fbuf)
{
    double *raw = malloc((feats->n + 1) * RAW_NF * sizeof(double));
    int rc = raw != NULL ? vc_audio__splice_raw(feats, x, n, raw) : VC_ENOMEM;
    if (rc == 0)
        rc = vc_audio__splice_surprise(&model->bona, feats->lfcc, feats->active, feats->bona_ll,
                                       feats->bona_static_ll, feats->n, raw);
    if (rc == 0) {
        vc_audio__splice_pool(raw, feats->n, fbuf);
        for (size_t t = 0; t < feats->n; t++)
            logit[t] = vc_logreg__logit(&model->splice_frame, fbuf + t * VC_AUDIO__SPLICE_NF);
    }
    free(raw);
    return rc;
}

double vc_audio__splice_level(const double *logit, size_t n)
{
    if (n <= 2 * EDGE)
        return 0.0;
    double *v = malloc((n - 2 * EDGE) * sizeof(double));
    if (v == NULL)
        return 0.0;
    size_t m = 0;
    for (size_t t = EDGE; t + EDGE < n; t++)
        v[m++] = logit[t];
    qsort(v, m, sizeof(double), cmp_double);
    double med = v[(m - 1) / 2];
    free(v);
    return med;
}

/* Up to max peaks of logit, strongest first, PEAK_GAP apart, away from the edges. */
static size_t peaks(const double *logit, size_t n, size_t *at, size_t max)
{
    size_t found = 0;
    while (found < max) {
        size_t best = SIZE_MAX;
        for (size_t t = EDGE; t + EDGE < n; t++) {
            int near = 0;
            for (size_t i = 0; i < found; i++)
                near |= (t > at[i] ? t - at[i] : at[i] - t) < PEAK_GAP;
            if (!near && (best == SIZE_MAX || logit[t] > logit[best]))
                best = t;
        }
        if (best == SIZE_MAX)
            break;
        at[found++] = best;
    }
    return found;
}

static int splice_analyze(const vc_audio__input_t *in, vc_audio_analyzer_result_t *res)
{
    const vc_audio__feats_t *feats = in->feats;
    const vc_audio_model_t *model = in->model;
    double *logit = malloc(feats->n * sizeof(double));
    double *fbuf = malloc(feats->n * VC_AUDIO__SPLICE_NF * sizeof(double));
    size_t at[VC_AUDIO_MAX_SPLICES];
    int rc = VC_ENOMEM;

    if (logit == NULL || fbuf == NULL)
        goto fail;
    rc = vc_audio__splice_frames(model, feats, in->x, in->n, logit, fbuf);
    if (rc != 0)
        goto fail;
    size_t np = peaks(logit, feats->n, at, VC_AUDIO_MAX_SPLICES);
    double level = vc_audio__splice_level(logit, feats->n);
    res->score =
        np > 0 ? vc_audio__sigmoid(model->splice_a * (logit[at[0]] - level) + model->splice_b)
               : 0.0;
    for (size_t i = 0; i < np; i++) {
        char key[48]; /* room for any size_t: -Wformat-truncation at -O0 */
        double p = vc_audio__sigmoid(model->splice_a * (logit[at[i]] - level) + model->splice_b);
        snprintf(key, sizeof(key), "splice_%zu_s", i + 1);
        vc_audio__evidence(res, key, (double)at[i] / VC_AUDIO__FPS);
        snprintf(key, sizeof(key), "splice_%zu_score", i + 1);
        vc_audio__evidence(res, key, p);
    }
    if (np > 0) {
        const double *row = fbuf + at[0] * VC_AUDIO__SPLICE_NF;
        vc_audio__evidence(res, "click_db", row[0]);
        vc_audio__evidence(res, "spectral_jump", row[1]);
        vc_audio__evidence(res, "energy_jump_db", row[2]);
        vc_audio__evidence(res, "f0_jump_semitones", row[3]);
        vc_audio__evidence(res, "periodicity_drop", row[4]);
        vc_audio__evidence(res, "period_break", row[7]);
        vc_audio__evidence(res, "dynamic_surprise", row[10]);
    }
    for (size_t t = 0; in->frame_score != NULL && t < feats->n; t++) {
        double p = vc_audio__sigmoid(model->splice_a * (logit[t] - level) + model->splice_b);
        if (t >= EDGE && t + EDGE < feats->n && p > in->frame_score[t])
            in->frame_score[t] = p;
    }
    rc = 0;

fail:
    free(logit);
    free(fbuf);
    return rc;
}

const vc_audio__analyzer_t vc_audio__an_splice = {
    VC_AUDIO__ANALYZER_API,
    "splice",
    "disc-lr-3",
    splice_analyze,
};
