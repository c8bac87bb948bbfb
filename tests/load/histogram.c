/* Log-linear latency histogram (see histogram.h). Bucket layout, with S = 2^VC_HIST_SUB_BITS:
 * index i < S holds exactly the value i; above, the range [2^e, 2^(e+1)) for e >= SUB_BITS
 * is split into S buckets of width 2^(e - SUB_BITS), at index S + (e - SUB_BITS) * S + sub. */
#include "histogram.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vc/error.h"

#define SUB ((uint64_t)1 << VC_HIST_SUB_BITS)
#define TOP_EXP 40 /* values < 2^TOP_EXP */
#define NBUCKETS ((size_t)(SUB + (TOP_EXP - VC_HIST_SUB_BITS) * SUB))

struct vc_hist {
    uint64_t count;
    uint64_t min, max;
    long double sum;
    uint64_t buckets[NBUCKETS];
};

/* Bucket index of v (v <= VC_HIST_MAX). */
static size_t bucket_of(uint64_t v)
{
    if (v < SUB)
        return (size_t)v;
    int e = 63 - __builtin_clzll(v);
    int shift = e - VC_HIST_SUB_BITS;
    uint64_t sub = (v >> shift) - SUB;
    return (size_t)(SUB + (uint64_t)shift * SUB + sub);
}

/* Lowest value and width of bucket i. */
static void bucket_range(size_t i, uint64_t *low, uint64_t *width)
{
    if (i < SUB) {
        *low = i;
        *width = 1;
        return;
    }
    uint64_t shift = (i - SUB) / SUB;
    uint64_t sub = (i - SUB) % SUB;
    *low = (SUB + sub) << shift;
    *width = (uint64_t)1 << shift;
}

int vc_hist_new(vc_hist_t **out)
{
    *out = calloc(1, sizeof(vc_hist_t));
    return *out != NULL ? 0 : VC_ENOMEM;
}

void vc_hist_free(vc_hist_t *h)
{
    free(h);
}

void vc_hist_reset(vc_hist_t *h)
{
    memset(h, 0, sizeof(*h));
}

void vc_hist_record_n(vc_hist_t *h, uint64_t value, uint64_t n)
{
    if (n == 0)
        return;
    if (h->count == 0 || value < h->min)
        h->min = value;
    if (h->count == 0 || value > h->max)
        h->max = value;
    h->count += n;
    h->sum += (long double)value * (long double)n;
    h->buckets[bucket_of(value > VC_HIST_MAX ? VC_HIST_MAX : value)] += n;
}

void vc_hist_record(vc_hist_t *h, uint64_t value)
{
    vc_hist_record_n(h, value, 1);
}

void vc_hist_merge(vc_hist_t *dst, const vc_hist_t *src)
{
    if (src->count == 0)
        return;
    if (dst->count == 0 || src->min < dst->min)
        dst->min = src->min;
    if (dst->count == 0 || src->max > dst->max)
        dst->max = src->max;
    dst->count += src->count;
    dst->sum += src->sum;
    for (size_t i = 0; i < NBUCKETS; i++)
        dst->buckets[i] += src->buckets[i];
}

uint64_t vc_hist_count(const vc_hist_t *h)
{
    return h->count;
}

uint64_t vc_hist_min(const vc_hist_t *h)
{
    return h->min;
}

uint64_t vc_hist_max(const vc_hist_t *h)
{
    return h->max;
}

double vc_hist_mean(const vc_hist_t *h)
{
    return h->count > 0 ? (double)(h->sum / (long double)h->count) : 0.0;
}

uint64_t vc_hist_percentile(const vc_hist_t *h, double p)
{
    if (h->count == 0)
        return 0;
    if (!(p > 0.0))
        return h->min;
    if (p >= 100.0)
        return h->max;
    /* Rank of the wanted value, 1-based; the small epsilon keeps exact products such as
     * 99.9 % of 1000 from rounding up to the next rank. */
    double r = ceil(p / 100.0 * (double)h->count - 1e-9);
    uint64_t rank = r < 1.0 ? 1 : (uint64_t)r;
    uint64_t seen = 0;
    for (size_t i = 0; i < NBUCKETS; i++) {
        seen += h->buckets[i];
        if (seen >= rank) {
            uint64_t low = 0, width = 0;
            bucket_range(i, &low, &width);
            uint64_t v = low + (width - 1) / 2;
            if (v < h->min)
                v = h->min;
            if (v > h->max)
                v = h->max;
            return v;
        }
    }
    return h->max;
}
