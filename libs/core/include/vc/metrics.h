#ifndef VC_METRICS_H
#define VC_METRICS_H
#include <stddef.h>
#include <stdint.h>

/* Metrics registry: counters, gauges and latency histograms, safe to update from any thread
 * (atomics; no lock on the update path). Histograms keep log-linear bucket counts (about 3%
 * relative resolution from 1 µs to ~1000 s), never samples, and report quantiles from them.
 *
 * A metric's `name` may carry a Prometheus label set: `vc_http_requests_total{code="202"}`.
 * Metrics sharing the base name share one HELP/TYPE block when rendered. */
typedef struct vc_metrics vc_metrics_t;
typedef struct vc_counter vc_counter_t;
typedef struct vc_gauge vc_gauge_t;
typedef struct vc_histogram vc_histogram_t;

/* Returns 0 or VC_ENOMEM; caller frees with vc_metrics_free. */
int vc_metrics_new(vc_metrics_t **out);
/* Frees the registry and every metric it created. */
void vc_metrics_free(vc_metrics_t *m);

/* Get-or-create by full name. Returned pointers live as long as the registry. `help` is
 * copied; the first metric of a base name supplies the family's HELP text ("" omits it).
 * NULL on allocation failure, when `name` is not a valid metric name (optionally followed by
 * one {label set}), or when `name` or another metric with the same base name exists with
 * another type. */
vc_counter_t *vc_metrics_counter(vc_metrics_t *m, const char *name, const char *help);
vc_gauge_t *vc_metrics_gauge(vc_metrics_t *m, const char *name, const char *help);
vc_histogram_t *vc_metrics_histogram(vc_metrics_t *m, const char *name, const char *help);

void vc_counter_add(vc_counter_t *c, uint64_t n);
uint64_t vc_counter_value(const vc_counter_t *c);
void vc_gauge_set(vc_gauge_t *g, double v);
void vc_gauge_add(vc_gauge_t *g, double delta);
double vc_gauge_value(const vc_gauge_t *g);

/* Records one observation in seconds (negative values count as 0). */
void vc_histogram_observe(vc_histogram_t *h, double seconds);
uint64_t vc_histogram_count(const vc_histogram_t *h);
double vc_histogram_sum(const vc_histogram_t *h);
/* Quantile q in [0,1] estimated from the buckets (0 when empty). */
double vc_histogram_quantile(const vc_histogram_t *h, double q);

/* Renders every metric in Prometheus text format 0.0.4, families sorted by base name.
 * Histograms render as summaries (quantile 0.5/0.95/0.99, _sum, _count, in seconds).
 * *out is NUL-terminated; caller frees with free(). outlen may be NULL. Returns 0,
 * VC_ENOMEM or VC_ETOOBIG (output over 64 MiB). */
int vc_metrics_render_prometheus(vc_metrics_t *m, char **out, size_t *outlen);

#endif
