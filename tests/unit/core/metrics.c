/* Unit tests for vc/metrics.h: registry semantics, atomic updates under contention, histogram
 * accuracy, and the Prometheus text output. */
#include <pthread.h>

#include "test.h"
#include "vc/error.h"
#include "vc/metrics.h"

#define NTHREADS 4
#define PER_THREAD 100000

static void test_registry(void)
{
    vc_metrics_t *m = NULL;
    ASSERT_OK(vc_metrics_new(&m));
    vc_counter_t *c = vc_metrics_counter(m, "vc_req_total{code=\"202\"}", "Requests.");
    ASSERT(c != NULL);
    ASSERT(vc_metrics_counter(m, "vc_req_total{code=\"202\"}", "ignored") == c);
    vc_counter_t *c2 = vc_metrics_counter(m, "vc_req_total{code=\"500\"}", NULL);
    ASSERT(c2 != NULL && c2 != c);
    /* Same name or same base name with another type is refused. */
    ASSERT(vc_metrics_gauge(m, "vc_req_total{code=\"202\"}", "x") == NULL);
    ASSERT(vc_metrics_histogram(m, "vc_req_total", "x") == NULL);
    /* Invalid names. */
    ASSERT(vc_metrics_counter(m, "", "x") == NULL);
    ASSERT(vc_metrics_counter(m, "9abc", "x") == NULL);
    ASSERT(vc_metrics_counter(m, "a-b", "x") == NULL);
    ASSERT(vc_metrics_counter(m, "abc{x=\"1\"", "x") == NULL);
    ASSERT(vc_metrics_counter(m, "{x=\"1\"}", "x") == NULL);
    vc_counter_add(c, 2);
    vc_counter_add(c, 3);
    ASSERT_EQ(vc_counter_value(c), 5);
    ASSERT_EQ(vc_counter_value(c2), 0);
    vc_gauge_t *g = vc_metrics_gauge(m, "vc_depth", "Depth.");
    ASSERT(g != NULL);
    ASSERT_NEAR(vc_gauge_value(g), 0.0, 0.0);
    vc_gauge_set(g, 2.5);
    vc_gauge_add(g, -1.0);
    ASSERT_NEAR(vc_gauge_value(g), 1.5, 0.0);
    vc_metrics_free(m);
    vc_metrics_free(NULL);
}

typedef struct updater {
    vc_counter_t *c;
    vc_gauge_t *g;
    vc_histogram_t *h;
} updater_t;

static void *update(void *p)
{
    updater_t *u = p;
    for (int i = 0; i < PER_THREAD; i++) {
        vc_counter_add(u->c, 1);
        vc_gauge_add(u->g, 1.0);
        vc_histogram_observe(u->h, 0.001);
    }
    return NULL;
}

static void test_concurrent_updates(void)
{
    vc_metrics_t *m = NULL;
    pthread_t t[NTHREADS];
    ASSERT_OK(vc_metrics_new(&m));
    updater_t u = {vc_metrics_counter(m, "c_total", "c"), vc_metrics_gauge(m, "g", "g"),
                   vc_metrics_histogram(m, "h_seconds", "h")};
    for (int i = 0; i < NTHREADS; i++)
        ASSERT_OK(pthread_create(&t[i], NULL, update, &u));
    for (int i = 0; i < NTHREADS; i++)
        ASSERT_OK(pthread_join(t[i], NULL));
    ASSERT_EQ(vc_counter_value(u.c), NTHREADS * PER_THREAD);
    ASSERT_NEAR(vc_gauge_value(u.g), NTHREADS * PER_THREAD, 0.0);
    ASSERT_EQ(vc_histogram_count(u.h), NTHREADS * PER_THREAD);
    ASSERT_NEAR(vc_histogram_sum(u.h), NTHREADS * PER_THREAD * 0.001, 1e-6);
    ASSERT_NEAR(vc_histogram_quantile(u.h, 0.5), 0.001, 0.001 * 0.03);
    vc_metrics_free(m);
}

static void test_histogram_uniform(void)
{
    vc_metrics_t *m = NULL;
    ASSERT_OK(vc_metrics_new(&m));
    vc_histogram_t *h = vc_metrics_histogram(m, "lat_seconds", "Latency.");
    ASSERT(h != NULL);
    ASSERT_NEAR(vc_histogram_quantile(h, 0.5), 0.0, 0.0);
    for (int rep = 0; rep < 10; rep++) {
        for (int ms = 1; ms <= 1000; ms++)
            vc_histogram_observe(h, ms / 1000.0);
    }
    ASSERT_EQ(vc_histogram_count(h), 10000);
    ASSERT_NEAR(vc_histogram_sum(h), 5005.0, 1e-6);
    ASSERT_NEAR(vc_histogram_quantile(h, 0.5), 0.500, 0.500 * 0.03);
    ASSERT_NEAR(vc_histogram_quantile(h, 0.95), 0.950, 0.950 * 0.03);
    ASSERT_NEAR(vc_histogram_quantile(h, 0.99), 0.990, 0.990 * 0.03);
    ASSERT_NEAR(vc_histogram_quantile(h, 0.0), 0.001, 0.001 * 0.03);
    ASSERT_NEAR(vc_histogram_quantile(h, 1.0), 1.000, 1.000 * 0.03);
    vc_metrics_free(m);
}

/* A single observation must come back as every quantile within half the ~3% bucket width,
 * across the whole range from 1 µs to 1000 s. */
static void test_histogram_resolution(void)
{
    vc_metrics_t *m = NULL;
    ASSERT_OK(vc_metrics_new(&m));
    int n = 0;
    for (double v = 1e-6; v <= 1000.0; v *= 1.07, n++) {
        char name[64];
        snprintf(name, sizeof(name), "h%d", n);
        vc_histogram_t *h = vc_metrics_histogram(m, name, "");
        ASSERT(h != NULL);
        vc_histogram_observe(h, v);
        ASSERT_NEAR(vc_histogram_quantile(h, 0.5), v, v * 0.016);
        ASSERT_NEAR(vc_histogram_quantile(h, 0.99), v, v * 0.016);
    }
    vc_histogram_t *h = vc_metrics_histogram(m, "neg", "");
    vc_histogram_observe(h, -5.0);
    vc_histogram_observe(h, NAN);
    ASSERT_EQ(vc_histogram_count(h), 2);
    ASSERT_NEAR(vc_histogram_sum(h), 0.0, 0.0);
    ASSERT_NEAR(vc_histogram_quantile(h, 0.99), 0.0, 1e-9);
    vc_metrics_free(m);
}

static int count_occurrences(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* Returns the number following the first occurrence of prefix in text. */
static double value_after(const char *text, const char *prefix)
{
    const char *p = strstr(text, prefix);
    char *end = NULL;
    if (p == NULL)
        VC_TEST_FAIL("missing line: %s", prefix);
    double v = strtod(p + strlen(prefix), &end);
    ASSERT(end != p + strlen(prefix) && *end == '\n');
    return v;
}

/* Every sample line is `name[{labels}] value` with a value Prometheus parses. */
static void check_lines(char *text)
{
    for (char *line = text; *line != '\0';) {
        char *nl = strchr(line, '\n');
        ASSERT(nl != NULL);
        *nl = '\0';
        if (line[0] != '#') {
            char *sp = strrchr(line, ' ');
            ASSERT(sp != NULL && sp > line);
            const char *v = sp + 1;
            char *end = NULL;
            if (strcmp(v, "NaN") != 0 && strcmp(v, "+Inf") != 0 && strcmp(v, "-Inf") != 0) {
                strtod(v, &end);
                if (end == v || *end != '\0')
                    VC_TEST_FAIL("bad value in line: %s", line);
            }
        }
        *nl = '\n';
        line = nl + 1;
    }
}

static void test_prometheus(void)
{
    vc_metrics_t *m = NULL;
    char *text = NULL;
    size_t len = 0;
    ASSERT_OK(vc_metrics_new(&m));
    ASSERT_OK(vc_metrics_render_prometheus(m, &text, &len));
    ASSERT_EQ(len, 0);
    ASSERT_STREQ(text, "");
    free(text);
    vc_counter_add(vc_metrics_counter(m, "vc_http_requests_total{code=\"202\"}", "HTTP requests."),
                   3);
    vc_metrics_gauge(m, "vc_queue_depth", "Queue depth\\now.\nSecond line.");
    vc_counter_add(vc_metrics_counter(m, "vc_http_requests_total{code=\"500\"}", "Other help."), 1);
    vc_gauge_set(vc_metrics_gauge(m, "vc_ratio", ""), 0.1);
    vc_gauge_set(vc_metrics_gauge(m, "vc_nan", "n"), NAN);
    vc_histogram_t *h =
        vc_metrics_histogram(m, "vc_stage_seconds{stage=\"decode\"}", "Stage time.");
    vc_metrics_histogram(m, "vc_stage_seconds", "Stage time.");
    vc_histogram_observe(h, 0.25);
    vc_histogram_observe(h, 0.5);
    ASSERT_OK(vc_metrics_render_prometheus(m, &text, &len));
    ASSERT_EQ(strlen(text), len);
    fputs(text, stderr);
    ASSERT_EQ(count_occurrences(text, "# HELP vc_http_requests_total HTTP requests.\n"), 1);
    ASSERT_EQ(count_occurrences(text, "# TYPE vc_http_requests_total counter\n"), 1);
    ASSERT_EQ(count_occurrences(text, "Other help."), 0);
    ASSERT(strstr(text, "# TYPE vc_http_requests_total counter\n"
                        "vc_http_requests_total{code=\"202\"} 3\n"
                        "vc_http_requests_total{code=\"500\"} 1\n") != NULL);
    ASSERT(strstr(text, "# HELP vc_queue_depth Queue depth\\\\now.\\nSecond line.\n") != NULL);
    ASSERT(strstr(text, "# TYPE vc_queue_depth gauge\nvc_queue_depth 0\n") != NULL);
    ASSERT(strstr(text, "# TYPE vc_ratio gauge\nvc_ratio 0.1\n") != NULL);
    ASSERT_EQ(count_occurrences(text, "# HELP vc_ratio"), 0);
    ASSERT(strstr(text, "vc_nan NaN\n") != NULL);
    ASSERT_EQ(count_occurrences(text, "# TYPE vc_stage_seconds summary\n"), 1);
    ASSERT_EQ(count_occurrences(text, "# HELP vc_stage_seconds "), 1);
    /* Between two samples the quantile interpolates (numpy's default): p50 of {0.25, 0.5}. */
    ASSERT_NEAR(value_after(text, "vc_stage_seconds{stage=\"decode\",quantile=\"0.5\"} "), 0.375,
                0.375 * 0.03);
    ASSERT_NEAR(value_after(text, "vc_stage_seconds{stage=\"decode\",quantile=\"0.99\"} "), 0.4975,
                0.4975 * 0.03);
    ASSERT(strstr(text, "vc_stage_seconds{stage=\"decode\",quantile=\"0.95\"} ") != NULL);
    ASSERT(strstr(text, "vc_stage_seconds{stage=\"decode\",quantile=\"0.99\"} ") != NULL);
    ASSERT(strstr(text, "vc_stage_seconds_sum{stage=\"decode\"} 0.75\n") != NULL);
    ASSERT(strstr(text, "vc_stage_seconds_count{stage=\"decode\"} 2\n") != NULL);
    ASSERT(strstr(text, "vc_stage_seconds{quantile=\"0.5\"} 0\n") != NULL);
    ASSERT(strstr(text, "vc_stage_seconds_sum 0\nvc_stage_seconds_count 0\n") != NULL);
    /* The TYPE line precedes its samples. */
    ASSERT(strstr(text, "# TYPE vc_stage_seconds") < strstr(text, "vc_stage_seconds{"));
    check_lines(text);
    free(text);
    vc_metrics_free(m);
}

int main(void)
{
    RUN(test_registry);
    RUN(test_concurrent_updates);
    RUN(test_histogram_uniform);
    RUN(test_histogram_resolution);
    RUN(test_prometheus);
    return 0;
}
