#include <math.h>

#include "metrics_internal.h"

unsigned vc_metrics__bucket_index(uint64_t ns)
{
    if (ns < VC_HIST_SUB)
        return (unsigned)ns;
    unsigned k = 63u - (unsigned)__builtin_clzll(ns);
    if (k > VC_HIST_MAX_POW)
        return VC_HIST_NBUCKETS - 1;
    unsigned sub = (unsigned)(ns >> (k - VC_HIST_SUB_BITS)) & (VC_HIST_SUB - 1);
    return (k - VC_HIST_SUB_BITS + 1) * VC_HIST_SUB + sub;
}

void vc_metrics__bucket_range(unsigned idx, uint64_t *lower, uint64_t *width)
{
    if (idx < VC_HIST_SUB) {
        *lower = idx;
        *width = 1;
        return;
    }
    unsigned group = idx / VC_HIST_SUB; /* >= 1; values in [2^(group+4), 2^(group+5)) */
    unsigned sub = idx % VC_HIST_SUB;
    *width = (uint64_t)1 << (group - 1);
    *lower = (uint64_t)(VC_HIST_SUB + sub) << (group - 1);
}

/* Converts seconds to whole nanoseconds; negative and NaN count as 0, huge values saturate
 * in the last bucket. */
static uint64_t hist_to_ns(double seconds)
{
    if (!(seconds > 0.0))
        return 0;
    if (seconds > 1e7)
        seconds = 1e7;
    return (uint64_t)(seconds * 1e9 + 0.5);
}

/* @locality any thread; lock-free (relaxed atomics: readers tolerate a torn snapshot). */
void vc_histogram_observe(vc_histogram_t *h, double seconds)
{
    uint64_t ns = hist_to_ns(seconds);
    atomic_fetch_add_explicit(&h->buckets[vc_metrics__bucket_index(ns)], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_ns, ns, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
}

uint64_t vc_histogram_count(const vc_histogram_t *h)
{
    return atomic_load_explicit(&((vc_histogram_t *)h)->count, memory_order_relaxed);
}

double vc_histogram_sum(const vc_histogram_t *h)
{
    uint64_t ns = atomic_load_explicit(&((vc_histogram_t *)h)->sum_ns, memory_order_relaxed);
    return (double)ns / 1e9;
}

/* Estimated value in ns of the j-th smallest sample (0-based, j < total): the c samples of a
 * bucket are taken to sit at the centres of c equal slices of it, so a lone sample reads back
 * as its bucket's midpoint, within half a bucket width of the truth. */
static double hist_sample_ns(const uint64_t *counts, uint64_t j)
{
    uint64_t cum = 0;
    for (unsigned i = 0; i < VC_HIST_NBUCKETS; i++) {
        if (cum + counts[i] > j) {
            uint64_t lower, width;
            vc_metrics__bucket_range(i, &lower, &width);
            return (double)lower + (double)width * ((double)(j - cum) + 0.5) / (double)counts[i];
        }
        cum += counts[i];
    }
    return 0.0; /* not reached: j < total */
}

/* Interpolates linearly between the estimated samples around position q * (total - 1), like
 * numpy's default percentile. The counts are snapshotted first and the total taken from them,
 * so a concurrent observe cannot push the position past the last bucket. */
double vc_histogram_quantile(const vc_histogram_t *h, double q)
{
    vc_histogram_t *hh = (vc_histogram_t *)h;
    uint64_t counts[VC_HIST_NBUCKETS];
    uint64_t total = 0;
    if (!(q >= 0.0))
        q = 0.0;
    if (q > 1.0)
        q = 1.0;
    for (unsigned i = 0; i < VC_HIST_NBUCKETS; i++) {
        counts[i] = atomic_load_explicit(&hh->buckets[i], memory_order_relaxed);
        total += counts[i];
    }
    if (total == 0)
        return 0.0;
    double pos = q * (double)(total - 1);
    uint64_t j = (uint64_t)pos;
    if (j >= total - 1)
        return hist_sample_ns(counts, total - 1) / 1e9;
    double lo = hist_sample_ns(counts, j), hi = hist_sample_ns(counts, j + 1);
    return (lo + (pos - (double)j) * (hi - lo)) / 1e9;
}
