/* Unit tests for tests/load/histogram.h: percentiles of known latency distributions agree
 * with the exact order statistics within the histogram's stated precision (0.4 %, asserted
 * at 1 %), small values are exact, merge and clamping behave. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "histogram.h"
#include "test.h"

/* Exact percentile of sorted values: the smallest value with rank >= ceil(p/100 * n). */
static uint64_t exact_pct(const uint64_t *sorted, size_t n, double p)
{
    double r = ceil(p / 100.0 * (double)n - 1e-9);
    size_t rank = r < 1.0 ? 1 : (size_t)r;
    return sorted[rank - 1];
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void assert_close(uint64_t got, uint64_t want, const char *what, double p)
{
    double tol = fmax(1.0, 0.01 * (double)want);
    if (fabs((double)got - (double)want) > tol)
        VC_TEST_FAIL("%s p%g: histogram %llu vs exact %llu", what, p, (unsigned long long)got,
                     (unsigned long long)want);
}

/* Records values, then compares every interesting percentile with the exact one. */
static void check_against_exact(uint64_t *v, size_t n, const char *what)
{
    vc_hist_t *h = NULL;
    ASSERT_OK(vc_hist_new(&h));
    long double sum = 0;
    for (size_t i = 0; i < n; i++) {
        vc_hist_record(h, v[i]);
        sum += v[i];
    }
    qsort(v, n, sizeof(*v), cmp_u64);
    static const double ps[] = {1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99};
    for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++)
        assert_close(vc_hist_percentile(h, ps[i]), exact_pct(v, n, ps[i]), what, ps[i]);
    ASSERT_EQ(vc_hist_count(h), n);
    ASSERT_EQ(vc_hist_min(h), v[0]);
    ASSERT_EQ(vc_hist_max(h), v[n - 1]);
    ASSERT_EQ(vc_hist_percentile(h, 100.0), v[n - 1]);
    ASSERT_EQ(vc_hist_percentile(h, 0.0), v[0]);
    ASSERT_NEAR(vc_hist_mean(h), (double)(sum / n), 1e-6 * (double)(sum / n));
    vc_hist_free(h);
}

/* Uniform 1..100000 us: p50 = 50 ms, p99 = 99 ms, p99.9 = 99.9 ms. */
static void test_uniform(void)
{
    size_t n = 100000;
    uint64_t *v = malloc(n * sizeof(*v));
    ASSERT(v != NULL);
    for (size_t i = 0; i < n; i++)
        v[i] = (uint64_t)(n - i); /* recorded in descending order */
    check_against_exact(v, n, "uniform");
    vc_hist_t *h = NULL;
    ASSERT_OK(vc_hist_new(&h));
    for (size_t i = 1; i <= n; i++)
        vc_hist_record(h, i);
    ASSERT_NEAR(vc_hist_percentile(h, 50), 50000, 200);
    ASSERT_NEAR(vc_hist_percentile(h, 99), 99000, 400);
    ASSERT_NEAR(vc_hist_percentile(h, 99.9), 99900, 400);
    ASSERT_NEAR(vc_hist_mean(h), 50000.5, 1e-6);
    vc_hist_free(h);
    free(v);
}

/* Log-normal latencies (median 20 ms, sigma 0.8), a typical service-time shape with a long
 * tail, from a fixed-seed generator. */
static void test_lognormal(void)
{
    size_t n = 200000;
    uint64_t *v = malloc(n * sizeof(*v));
    ASSERT(v != NULL);
    unsigned seed = 42;
    for (size_t i = 0; i < n; i++) {
        double u1 = (rand_r(&seed) + 1.0) / (RAND_MAX + 2.0);
        double u2 = (rand_r(&seed) + 1.0) / (RAND_MAX + 2.0);
        double z = sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
        v[i] = (uint64_t)llround(20000.0 * exp(0.8 * z));
    }
    check_against_exact(v, n, "lognormal");
    free(v);
}

/* Exponential by inverse CDF at evenly spaced quantiles: the p-quantile is -m ln(1 - p). */
static void test_exponential_quantiles(void)
{
    size_t n = 100000;
    double m = 5000.0;
    vc_hist_t *h = NULL;
    ASSERT_OK(vc_hist_new(&h));
    for (size_t i = 0; i < n; i++)
        vc_hist_record(h, (uint64_t)llround(-m * log(1.0 - ((double)i + 0.5) / (double)n)));
    static const double ps[] = {50, 90, 99, 99.9};
    for (size_t i = 0; i < 4; i++) {
        double want = -m * log(1.0 - ps[i] / 100.0);
        ASSERT_NEAR(vc_hist_percentile(h, ps[i]), want, 0.01 * want + 1);
    }
    vc_hist_free(h);
}

/* 99 % fast, 1 % slow: p99 is the fast mode, p99.9 the slow one (rank boundaries). */
static void test_bimodal_boundaries(void)
{
    vc_hist_t *h = NULL;
    ASSERT_OK(vc_hist_new(&h));
    vc_hist_record_n(h, 1000, 990);
    vc_hist_record_n(h, 1000000, 10);
    ASSERT_NEAR(vc_hist_percentile(h, 99.0), 1000, 10);
    ASSERT_NEAR(vc_hist_percentile(h, 99.1), 1000000, 10000);
    ASSERT_NEAR(vc_hist_percentile(h, 99.9), 1000000, 10000);
    ASSERT_EQ(vc_hist_max(h), 1000000);
    vc_hist_free(h);
}

static void test_small_values_exact(void)
{
    vc_hist_t *h = NULL;
    ASSERT_OK(vc_hist_new(&h));
    for (uint64_t i = 0; i < 128; i++)
        vc_hist_record(h, i);
    for (uint64_t i = 1; i <= 128; i++)
        ASSERT_EQ(vc_hist_percentile(h, 100.0 * (double)i / 128.0), i - 1);
    vc_hist_free(h);
}

static void test_merge_reset_clamp_empty(void)
{
    vc_hist_t *a = NULL, *b = NULL;
    ASSERT_OK(vc_hist_new(&a));
    ASSERT_OK(vc_hist_new(&b));
    ASSERT_EQ(vc_hist_percentile(a, 50), 0);
    ASSERT_EQ(vc_hist_count(a), 0);
    ASSERT_NEAR(vc_hist_mean(a), 0, 0);
    for (uint64_t i = 1; i <= 500; i++)
        vc_hist_record(a, i);
    for (uint64_t i = 501; i <= 1000; i++)
        vc_hist_record(b, i);
    vc_hist_merge(a, b);
    ASSERT_EQ(vc_hist_count(a), 1000);
    ASSERT_EQ(vc_hist_min(a), 1);
    ASSERT_EQ(vc_hist_max(a), 1000);
    ASSERT_NEAR(vc_hist_percentile(a, 50), 500, 5);
    vc_hist_reset(b);
    ASSERT_EQ(vc_hist_count(b), 0);
    vc_hist_record(b, UINT64_MAX); /* clamped into the top bucket; max stays exact */
    vc_hist_record(b, 10);
    ASSERT(vc_hist_max(b) == UINT64_MAX);
    ASSERT(vc_hist_percentile(b, 100) == UINT64_MAX);
    ASSERT(vc_hist_percentile(b, 99) >= (VC_HIST_MAX / 2));
    vc_hist_free(a);
    vc_hist_free(b);
}

int main(void)
{
    RUN(test_uniform);
    RUN(test_lognormal);
    RUN(test_exponential_quantiles);
    RUN(test_bimodal_boundaries);
    RUN(test_small_values_exact);
    RUN(test_merge_reset_clamp_empty);
    return 0;
}
