#ifndef VC_LOAD_HISTOGRAM_H
#define VC_LOAD_HISTOGRAM_H
/* Latency histogram of the load tool: HDR-style log-linear buckets, so percentiles come from
 * bucket counts (constant memory, O(1) record) instead of sorting every sample.
 *
 * Values are unsigned integers in any unit (the load tool records microseconds). Values below
 * 2^VC_HIST_SUB_BITS are stored exactly; above, every power-of-two range is split into
 * 2^VC_HIST_SUB_BITS equal buckets, so a reported value is within 1/2^(VC_HIST_SUB_BITS+1)
 * (0.4 %) of a recorded one. Values above VC_HIST_MAX are clamped to it (and still count in
 * max). Not thread-safe: one owner records; merge owners' histograms afterwards. */
#include <stdint.h>

#define VC_HIST_SUB_BITS 7
#define VC_HIST_MAX ((UINT64_C(1) << 40) - 1) /* ~12.7 days in microseconds */

typedef struct vc_hist vc_hist_t;

/* Allocates an empty histogram (about 36 KiB). Returns 0 or VC_ENOMEM; the caller frees
 * *out with vc_hist_free. */
int vc_hist_new(vc_hist_t **out);

/* Frees h; NULL is allowed. */
void vc_hist_free(vc_hist_t *h);

/* Forgets every recorded value. */
void vc_hist_reset(vc_hist_t *h);

/* Records value n times (n == 0 records nothing). */
void vc_hist_record_n(vc_hist_t *h, uint64_t value, uint64_t n);

/* Records value once. */
void vc_hist_record(vc_hist_t *h, uint64_t value);

/* Adds every value of src to dst. */
void vc_hist_merge(vc_hist_t *dst, const vc_hist_t *src);

/* Number of recorded values. */
uint64_t vc_hist_count(const vc_hist_t *h);

/* Smallest and largest recorded values (exact, not bucketed); 0 when empty. */
uint64_t vc_hist_min(const vc_hist_t *h);
uint64_t vc_hist_max(const vc_hist_t *h);

/* Exact arithmetic mean of the recorded values (before clamping); 0 when empty. */
double vc_hist_mean(const vc_hist_t *h);

/* The value at percentile p (0..100): the smallest bucket value v such that at least
 * ceil(p/100 * count) recorded values are <= v, reported as the bucket's midpoint clamped to
 * [min, max] (p = 100 gives max, p = 0 gives min). 0 when empty. */
uint64_t vc_hist_percentile(const vc_hist_t *h, double p);

#endif
