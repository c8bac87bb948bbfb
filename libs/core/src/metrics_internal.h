#ifndef VC_METRICS_INTERNAL_H
#define VC_METRICS_INTERNAL_H
/* Shared by metrics.c (registry), metrics_histogram.c and metrics_render.c; not exported. */
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "vc/metrics.h"

/* Log-linear buckets over nanoseconds: values below 32 ns get one bucket each; above, every
 * power of two [2^k, 2^(k+1)) is cut into 32 equal sub-buckets (1.6-3% relative width).
 * k runs up to 40, so the last bucket ends at 2^41 ns (about 2199 s); larger values land in it. */
#define VC_HIST_SUB_BITS 5
#define VC_HIST_SUB (1u << VC_HIST_SUB_BITS)
#define VC_HIST_MAX_POW 40
#define VC_HIST_NBUCKETS ((VC_HIST_MAX_POW - VC_HIST_SUB_BITS + 2) * VC_HIST_SUB)

struct vc_counter {
    _Atomic uint64_t value;
};

struct vc_gauge {
    _Atomic uint64_t bits; /* the double's bit pattern, so updates are plain atomics */
};

struct vc_histogram {
    _Atomic uint64_t count;
    _Atomic uint64_t sum_ns;
    _Atomic uint64_t buckets[VC_HIST_NBUCKETS];
};

#define VC_METRICS_HASH 128

typedef enum { VC_METRIC_COUNTER, VC_METRIC_GAUGE, VC_METRIC_HISTOGRAM } vc_metric_kind_t;

/* One registered metric. name is the full name; name[0..base_len) is the base name and
 * name + base_len the label set ("" or "{...}"). Immutable after creation except the values. */
typedef struct vc_metric {
    struct vc_metric *hash_next;
    char *name;
    char *help;
    size_t base_len;
    size_t seq; /* creation order */
    vc_metric_kind_t kind;
    union {
        struct vc_counter counter;
        struct vc_gauge gauge;
        struct vc_histogram *hist;
    } u;
} vc_metric_t;

/* The hash chains and the items array are guarded by mu; metric values are atomics. */
struct vc_metrics {
    pthread_mutex_t mu;
    vc_metric_t *hash[VC_METRICS_HASH];
    vc_metric_t **items;
    size_t n;
    size_t cap;
};

/* Bucket index of a value in nanoseconds, and the [lower, lower + width) range of a bucket. */
unsigned vc_metrics__bucket_index(uint64_t ns);
void vc_metrics__bucket_range(unsigned idx, uint64_t *lower, uint64_t *width);

#endif
