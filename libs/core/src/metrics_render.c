#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_internal.h"
#include "vc/error.h"

#define METRICS_RENDER_MAX (64u << 20) /* hard cap on the rendered text */

static const char *const metric_type_names[] = {"counter", "gauge", "summary"};

/* Growable text buffer with a hard cap; after a failure every append is a no-op and rc
 * keeps the first error. */
typedef struct metrics_buf {
    char *data;
    size_t len;
    size_t cap;
    int rc;
} metrics_buf_t;

static void buf_printf(metrics_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void buf_printf(metrics_buf_t *b, const char *fmt, ...)
{
    while (b->rc == 0) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->rc = VC_EINVAL;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap * 2;
        while (cap - b->len <= (size_t)n)
            cap *= 2;
        char *data = cap <= METRICS_RENDER_MAX ? realloc(b->data, cap) : NULL;
        if (data == NULL) {
            b->rc = cap <= METRICS_RENDER_MAX ? VC_ENOMEM : VC_ETOOBIG;
            return;
        }
        b->data = data;
        b->cap = cap;
    }
}

/* Appends v as a Prometheus float: NaN, +Inf, -Inf, else the shortest of %.15g/%.17g that
 * reads back exactly. */
static void buf_double(metrics_buf_t *b, double v)
{
    char tmp[40];
    if (isnan(v)) {
        buf_printf(b, "NaN");
        return;
    }
    if (isinf(v)) {
        buf_printf(b, "%s", v > 0 ? "+Inf" : "-Inf");
        return;
    }
    snprintf(tmp, sizeof(tmp), "%.15g", v);
    if (strtod(tmp, NULL) != v)
        snprintf(tmp, sizeof(tmp), "%.17g", v);
    buf_printf(b, "%s", tmp);
}

/* Appends the HELP line (omitted when help is empty) and TYPE line, the help text with '\' and
 * newline escaped as the text format requires. */
static void buf_help(metrics_buf_t *b, const vc_metric_t *mt)
{
    if (mt->help[0] != '\0')
        buf_printf(b, "# HELP %.*s ", (int)mt->base_len, mt->name);
    for (const char *p = mt->help; *p != '\0'; p++) {
        if (*p == '\\')
            buf_printf(b, "\\\\");
        else if (*p == '\n')
            buf_printf(b, "\\n");
        else
            buf_printf(b, "%c", *p);
    }
    buf_printf(b, "%s# TYPE %.*s %s\n", mt->help[0] != '\0' ? "\n" : "", (int)mt->base_len,
               mt->name, metric_type_names[mt->kind]);
}

/* Appends one summary: quantile lines with quantile="q" merged into the label set, then
 * _sum and _count carrying the original labels. */
static void buf_summary(metrics_buf_t *b, const vc_metric_t *mt)
{
    static const double qs[] = {0.5, 0.95, 0.99};
    static const char *const qnames[] = {"0.5", "0.95", "0.99"};
    int blen = (int)mt->base_len;
    const char *labels = mt->name + mt->base_len;
    int inner = *labels == '{' ? (int)strlen(labels) - 2 : 0; /* text between the braces */
    for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
        buf_printf(b, "%.*s{%.*s%squantile=\"%s\"} ", blen, mt->name, inner, labels + 1,
                   inner > 0 ? "," : "", qnames[i]);
        buf_double(b, vc_histogram_quantile(mt->u.hist, qs[i]));
        buf_printf(b, "\n");
    }
    buf_printf(b, "%.*s_sum%s ", blen, mt->name, inner > 0 ? labels : "");
    buf_double(b, vc_histogram_sum(mt->u.hist));
    buf_printf(b, "\n%.*s_count%s %" PRIu64 "\n", blen, mt->name, inner > 0 ? labels : "",
               vc_histogram_count(mt->u.hist));
}

static void buf_metric(metrics_buf_t *b, const vc_metric_t *mt)
{
    switch (mt->kind) {
    case VC_METRIC_COUNTER:
        buf_printf(b, "%s %" PRIu64 "\n", mt->name, vc_counter_value(&mt->u.counter));
        break;
    case VC_METRIC_GAUGE:
        buf_printf(b, "%s ", mt->name);
        buf_double(b, vc_gauge_value(&mt->u.gauge));
        buf_printf(b, "\n");
        break;
    case VC_METRIC_HISTOGRAM:
        buf_summary(b, mt);
        break;
    }
}

/* Orders by base name, then creation order, so each family is contiguous. */
static int metric_cmp(const void *pa, const void *pb)
{
    const vc_metric_t *a = *(const vc_metric_t *const *)pa;
    const vc_metric_t *b = *(const vc_metric_t *const *)pb;
    size_t n = a->base_len < b->base_len ? a->base_len : b->base_len;
    int c = memcmp(a->name, b->name, n);
    if (c == 0 && a->base_len != b->base_len)
        c = a->base_len < b->base_len ? -1 : 1;
    if (c == 0)
        c = a->seq < b->seq ? -1 : (a->seq > b->seq);
    return c;
}

/* Renders under m->mu (metrics are never removed, so the snapshot of the item list is the
 * list). The first metric of a family supplies its HELP text.
 * @locality any thread. @locks takes m->mu. */
int vc_metrics_render_prometheus(vc_metrics_t *m, char **out, size_t *outlen)
{
    metrics_buf_t b = {malloc(4096), 0, 4096, 0};
    vc_metric_t **sorted = NULL;
    if (b.data == NULL)
        return VC_ENOMEM;
    b.data[0] = '\0';
    pthread_mutex_lock(&m->mu);
    sorted = malloc((m->n ? m->n : 1) * sizeof(*sorted));
    if (sorted == NULL) {
        b.rc = VC_ENOMEM;
        goto out;
    }
    if (m->n > 0)
        memcpy(sorted, m->items, m->n * sizeof(*sorted));
    qsort(sorted, m->n, sizeof(*sorted), metric_cmp);
    for (size_t i = 0; i < m->n && b.rc == 0; i++) {
        const vc_metric_t *mt = sorted[i];
        const vc_metric_t *prev = i > 0 ? sorted[i - 1] : NULL;
        if (prev == NULL || prev->base_len != mt->base_len ||
            memcmp(prev->name, mt->name, mt->base_len) != 0)
            buf_help(&b, mt);
        buf_metric(&b, mt);
    }
out:
    pthread_mutex_unlock(&m->mu);
    free(sorted);
    if (b.rc != 0) {
        free(b.data);
        return b.rc;
    }
    *out = b.data;
    if (outlen != NULL)
        *outlen = b.len;
    return 0;
}
