#ifndef VC_ADMIT_H
#define VC_ADMIT_H
/* Adaptive admission: a concurrency limit that follows the latency of the work it admits
 * (AIMD on latency, in the family of TCP Vegas and Netflix's concurrency-limits). A request
 * is admitted while fewer than `limit` are in flight; each finished request reports its
 * latency. Once per window the limit is cut by a factor when the window's median latency
 * exceeds `tolerance` × the baseline (the lowest window median seen lately, i.e. the
 * latency without queueing), and grows by about √limit when latency is near the baseline and
 * the limit was actually reached. So under overload requests are refused at once (503)
 * instead of queueing behind each other, and the admitted ones keep close to the unloaded
 * latency. Thread-safe (one mutex; a few hundred ns per call). */
#include <stdint.h>

typedef struct vc_admit vc_admit_t;

typedef struct {
    long min_limit;     /* never below (>= 1) */
    long max_limit;     /* never above (>= min_limit): the fixed ceiling */
    long initial_limit; /* where it starts (clamped into [min, max]) */
    double tolerance;   /* latency over baseline that counts as queueing (> 1, e.g. 2) */
    double backoff;     /* multiplicative decrease (0 < backoff < 1, e.g. 0.9) */
    int64_t window_ms;  /* evaluation window (>= 1) */
    int window_min_samples; /* fewer samples in a window: carried over, no decision */
    int64_t baseline_ms; /* the baseline forgets samples older than this (>= window_ms) */
} vc_admit_opts_t;

/* min 4, max 1000, initial 64, tolerance 2, backoff 0.9, window 100 ms, 16 samples,
 * baseline 30 s. */
void vc_admit_opts_default(vc_admit_opts_t *opts);

/* Returns 0, VC_EINVAL (bad opts) or VC_ENOMEM. */
int vc_admit_new(const vc_admit_opts_t *opts, vc_admit_t **out);
void vc_admit_free(vc_admit_t *a);

/* Takes a slot without waiting: 0, or VC_EBUSY when `limit` are in flight. */
int vc_admit_try(vc_admit_t *a);
/* Returns a slot taken by vc_admit_try. latency_ns: how long the admitted work took; sample
 * 0 when it failed in a way that says nothing about queueing (e.g. a 4xx): no sample. */
void vc_admit_done(vc_admit_t *a, int64_t latency_ns, int sample);

typedef struct {
    long limit, inflight;
    double baseline_ms, last_median_ms;
    uint64_t admitted, refused, decreases, increases;
} vc_admit_stats_t;
void vc_admit_stats(vc_admit_t *a, vc_admit_stats_t *out);

#endif
