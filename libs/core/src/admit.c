/* Adaptive admission (vc/admit.h). The decision runs inside vc_admit_done when a window has
 * closed, on the thread that finished a request: no timer thread. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vc/admit.h"
#include "vc/clock.h"
#include "vc/error.h"

#define SAMPLES_MAX 4096 /* per window; a busier window keeps a uniform subset (reservoir) */
#define BASELINE_SLOTS 8 /* the baseline is the least of this many sub-period minima */

struct vc_admit {
    pthread_mutex_t mu;
    vc_admit_opts_t o;
    double limit;
    long inflight, peak; /* peak: most in flight during the window */
    int64_t window_end_ms;
    double *samples;     /* latencies (ms) of the current window */
    int n;
    uint64_t seen;       /* samples offered this window (for the reservoir) */
    unsigned seed;
    double slot_min[BASELINE_SLOTS]; /* window-median minima per baseline_ms/SLOTS period */
    int64_t slot_start_ms;
    int slot;
    double last_median;
    uint64_t admitted, refused, decreases, increases;
};

void vc_admit_opts_default(vc_admit_opts_t *o)
{
    *o = (vc_admit_opts_t){.min_limit = 4,
                           .max_limit = 1000,
                           .initial_limit = 64,
                           .tolerance = 2.0,
                           .backoff = 0.9,
                           .window_ms = 100,
                           .window_min_samples = 16,
                           .baseline_ms = 30000};
}

static int opts_ok(const vc_admit_opts_t *o)
{
    return o->min_limit >= 1 && o->max_limit >= o->min_limit && o->tolerance > 1.0 &&
           o->backoff > 0.0 && o->backoff < 1.0 && o->window_ms >= 1 &&
           o->window_min_samples >= 1 && o->baseline_ms >= o->window_ms;
}

int vc_admit_new(const vc_admit_opts_t *opts, vc_admit_t **out)
{
    if (opts == NULL || out == NULL || !opts_ok(opts))
        return VC_EINVAL;
    vc_admit_t *a = calloc(1, sizeof(*a));
    double *samples = malloc(SAMPLES_MAX * sizeof(double));
    if (a == NULL || samples == NULL || pthread_mutex_init(&a->mu, NULL) != 0) {
        free(a);
        free(samples);
        return VC_ENOMEM;
    }
    a->o = *opts;
    a->samples = samples;
    long init = opts->initial_limit;
    a->limit = (double)(init < opts->min_limit   ? opts->min_limit
                        : init > opts->max_limit ? opts->max_limit
                                                 : init);
    int64_t now = vc_clock_mono_ms();
    a->window_end_ms = now + opts->window_ms;
    a->slot_start_ms = now;
    for (int i = 0; i < BASELINE_SLOTS; i++)
        a->slot_min[i] = INFINITY;
    a->seed = (unsigned)vc_clock_mono_ns() | 1u;
    *out = a;
    return 0;
}

void vc_admit_free(vc_admit_t *a)
{
    if (a == NULL)
        return;
    pthread_mutex_destroy(&a->mu);
    free(a->samples);
    free(a);
}

int vc_admit_try(vc_admit_t *a)
{
    pthread_mutex_lock(&a->mu);
    int ok = (double)a->inflight < floor(a->limit);
    if (ok) {
        a->inflight++;
        if (a->inflight > a->peak)
            a->peak = a->inflight;
        a->admitted++;
    } else {
        a->refused++;
    }
    pthread_mutex_unlock(&a->mu);
    return ok ? 0 : VC_EBUSY;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static double baseline(const vc_admit_t *a)
{
    double b = INFINITY;
    for (int i = 0; i < BASELINE_SLOTS; i++)
        b = a->slot_min[i] < b ? a->slot_min[i] : b;
    return b;
}

/* Records the window median into the baseline, rotating out the oldest sub-period. */
static void baseline_add(vc_admit_t *a, double median, int64_t now)
{
    int64_t period = a->o.baseline_ms / BASELINE_SLOTS;
    if (period < 1)
        period = 1;
    while (now - a->slot_start_ms >= period) {
        a->slot = (a->slot + 1) % BASELINE_SLOTS;
        a->slot_min[a->slot] = INFINITY;
        a->slot_start_ms += period;
        if (now - a->slot_start_ms > a->o.baseline_ms)
            a->slot_start_ms = now; /* idle for long: all slots are stale already */
    }
    if (median < a->slot_min[a->slot])
        a->slot_min[a->slot] = median;
}

/* Closes a window: the AIMD step. Called with mu held. */
static void decide(vc_admit_t *a, int64_t now)
{
    qsort(a->samples, (size_t)a->n, sizeof(double), cmp_double);
    double median = a->samples[a->n / 2];
    double base = baseline(a);
    a->last_median = median;
    if (isfinite(base) && median > base * a->o.tolerance) {
        a->limit *= a->o.backoff;
        if (a->limit < (double)a->o.min_limit)
            a->limit = (double)a->o.min_limit;
        a->decreases++;
    } else if ((double)a->peak >= floor(a->limit) - 1) {
        /* Only a limit that was reached has earned a raise. */
        a->limit += sqrt(a->limit);
        if (a->limit > (double)a->o.max_limit)
            a->limit = (double)a->o.max_limit;
        a->increases++;
    }
    baseline_add(a, median, now);
    a->n = 0;
    a->seen = 0;
    a->peak = a->inflight;
    a->window_end_ms = now + a->o.window_ms;
}

void vc_admit_done(vc_admit_t *a, int64_t latency_ns, int sample)
{
    int64_t now = vc_clock_mono_ms();
    pthread_mutex_lock(&a->mu);
    if (a->inflight > 0)
        a->inflight--;
    if (sample && latency_ns >= 0) {
        double ms = (double)latency_ns / 1e6;
        a->seen++;
        if (a->n < SAMPLES_MAX) {
            a->samples[a->n++] = ms;
        } else {
            uint64_t j = (uint64_t)rand_r(&a->seed) % a->seen;
            if (j < SAMPLES_MAX)
                a->samples[j] = ms;
        }
    }
    if (now >= a->window_end_ms) {
        if (a->n >= a->o.window_min_samples)
            decide(a, now);
        else if (a->n == 0)
            a->window_end_ms = now + a->o.window_ms; /* idle: nothing to learn */
    }
    pthread_mutex_unlock(&a->mu);
}

void vc_admit_stats(vc_admit_t *a, vc_admit_stats_t *out)
{
    pthread_mutex_lock(&a->mu);
    double base = baseline(a);
    *out = (vc_admit_stats_t){.limit = (long)floor(a->limit),
                              .inflight = a->inflight,
                              .baseline_ms = isfinite(base) ? base : 0,
                              .last_median_ms = a->last_median,
                              .admitted = a->admitted,
                              .refused = a->refused,
                              .decreases = a->decreases,
                              .increases = a->increases};
    pthread_mutex_unlock(&a->mu);
}
