#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_internal.h"
#include "vc/error.h"

int vc_metrics_new(vc_metrics_t **out)
{
    vc_metrics_t *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return VC_ENOMEM;
    if (pthread_mutex_init(&m->mu, NULL) != 0) {
        free(m);
        return VC_ENOMEM;
    }
    *out = m;
    return 0;
}

static void metric_free(vc_metric_t *mt)
{
    if (mt == NULL)
        return;
    if (mt->kind == VC_METRIC_HISTOGRAM)
        free(mt->u.hist);
    free(mt->help);
    free(mt->name);
    free(mt);
}

void vc_metrics_free(vc_metrics_t *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n; i++)
        metric_free(m->items[i]);
    free(m->items);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static size_t metrics_hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h % VC_METRICS_HASH;
}

/* Returns the base-name length of a valid name ([a-zA-Z_:][a-zA-Z0-9_:]* optionally followed
 * by one "{...}" label set), or 0 when the name is not valid. */
static size_t metrics_base_len(const char *name)
{
    size_t i = 0;
    for (; name[i] != '\0' && name[i] != '{'; i++) {
        char c = name[i];
        int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
        if (!alpha && (i == 0 || c < '0' || c > '9'))
            return 0;
    }
    if (i == 0)
        return 0;
    if (name[i] == '{' && name[strlen(name) - 1] != '}')
        return 0;
    return i;
}

/* Finds a metric by full name, or one of another kind with the same base name (*clash).
 * @locks m->mu held. */
static vc_metric_t *metrics_find(vc_metrics_t *m, const char *name, size_t base_len,
                                 vc_metric_kind_t kind, int *clash)
{
    *clash = 0;
    for (vc_metric_t *mt = m->hash[metrics_hash(name)]; mt != NULL; mt = mt->hash_next) {
        if (strcmp(mt->name, name) == 0) {
            *clash = mt->kind != kind;
            return mt;
        }
    }
    for (size_t i = 0; i < m->n; i++) {
        vc_metric_t *mt = m->items[i];
        if (mt->kind != kind && mt->base_len == base_len && memcmp(mt->name, name, base_len) == 0)
            *clash = 1;
    }
    return NULL;
}

/* Allocates a metric of kind; returns NULL on allocation failure (nothing leaks). */
static vc_metric_t *metric_new(const char *name, size_t base_len, const char *help,
                               vc_metric_kind_t kind)
{
    vc_metric_t *mt = calloc(1, sizeof(*mt));
    if (mt == NULL)
        return NULL;
    mt->kind = kind;
    mt->base_len = base_len;
    mt->name = strdup(name);
    mt->help = strdup(help != NULL ? help : "");
    if (mt->name == NULL || mt->help == NULL)
        goto fail;
    if (kind == VC_METRIC_HISTOGRAM) {
        mt->u.hist = calloc(1, sizeof(*mt->u.hist));
        if (mt->u.hist == NULL)
            goto fail;
    }
    return mt;
fail:
    metric_free(mt);
    return NULL;
}

/* Get-or-create. Returns NULL for an invalid name, a kind clash or allocation failure.
 * @locality any thread. @locks takes m->mu. */
static vc_metric_t *metrics_get(vc_metrics_t *m, const char *name, const char *help,
                                vc_metric_kind_t kind)
{
    vc_metric_t *mt = NULL;
    int clash = 0;
    size_t base_len = name != NULL ? metrics_base_len(name) : 0;
    if (base_len == 0)
        return NULL;
    pthread_mutex_lock(&m->mu);
    mt = metrics_find(m, name, base_len, kind, &clash);
    if (clash) {
        mt = NULL;
        goto out;
    }
    if (mt != NULL)
        goto out;
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        vc_metric_t **items = realloc(m->items, cap * sizeof(*items));
        if (items == NULL)
            goto out;
        m->items = items;
        m->cap = cap;
    }
    mt = metric_new(name, base_len, help, kind);
    if (mt == NULL)
        goto out;
    mt->seq = m->n;
    m->items[m->n++] = mt;
    size_t h = metrics_hash(name);
    mt->hash_next = m->hash[h];
    m->hash[h] = mt;
out:
    pthread_mutex_unlock(&m->mu);
    return mt;
}

vc_counter_t *vc_metrics_counter(vc_metrics_t *m, const char *name, const char *help)
{
    vc_metric_t *mt = metrics_get(m, name, help, VC_METRIC_COUNTER);
    return mt != NULL ? &mt->u.counter : NULL;
}

vc_gauge_t *vc_metrics_gauge(vc_metrics_t *m, const char *name, const char *help)
{
    vc_metric_t *mt = metrics_get(m, name, help, VC_METRIC_GAUGE);
    return mt != NULL ? &mt->u.gauge : NULL;
}

vc_histogram_t *vc_metrics_histogram(vc_metrics_t *m, const char *name, const char *help)
{
    vc_metric_t *mt = metrics_get(m, name, help, VC_METRIC_HISTOGRAM);
    return mt != NULL ? mt->u.hist : NULL;
}

void vc_counter_add(vc_counter_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(&c->value, n, memory_order_relaxed);
}

uint64_t vc_counter_value(const vc_counter_t *c)
{
    return atomic_load_explicit(&((vc_counter_t *)c)->value, memory_order_relaxed);
}

static double gauge_from_bits(uint64_t bits)
{
    double v;
    memcpy(&v, &bits, sizeof(v));
    return v;
}

static uint64_t gauge_to_bits(double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    return bits;
}

void vc_gauge_set(vc_gauge_t *g, double v)
{
    atomic_store_explicit(&g->bits, gauge_to_bits(v), memory_order_relaxed);
}

/* Lock-free add: retries a compare-and-swap of the bit pattern until no other writer raced. */
void vc_gauge_add(vc_gauge_t *g, double delta)
{
    uint64_t old = atomic_load_explicit(&g->bits, memory_order_relaxed);
    uint64_t next = gauge_to_bits(gauge_from_bits(old) + delta);
    while (!atomic_compare_exchange_weak_explicit(&g->bits, &old, next, memory_order_relaxed,
                                                  memory_order_relaxed))
        next = gauge_to_bits(gauge_from_bits(old) + delta);
}

double vc_gauge_value(const vc_gauge_t *g)
{
    return gauge_from_bits(atomic_load_explicit(&((vc_gauge_t *)g)->bits, memory_order_relaxed));
}
