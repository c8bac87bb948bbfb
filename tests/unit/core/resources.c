#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "test.h"
#include "vc/resources.h"

static void samples_are_plausible(void)
{
    vc_resource_sampler_t *s = NULL;
    ASSERT_OK(vc_resource_sampler_new("/", &s));
    vc_resources_t r;
    ASSERT_OK(vc_resource_sample(s, &r));
    ASSERT(r.cores >= 1);
    ASSERT(r.rss_bytes > 0);
    ASSERT(r.threads >= 1);
    ASSERT(r.mem_total_bytes > r.rss_bytes);
    ASSERT(r.mem_used_percent > 0 && r.mem_used_percent <= 100);
    ASSERT(r.disk_total_bytes > 0 && r.disk_used_percent >= 0 && r.disk_used_percent <= 100);
    ASSERT_EQ(r.process_cpu_percent, 0); /* nothing to compare with yet */
    /* Burn CPU for over a second (a window is at least 1 s), then the next sample must see
     * this process working. */
    volatile double x = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        for (long i = 0; i < 1000000L; i++)
            x += (double)i * 1e-9;
        clock_gettime(CLOCK_MONOTONIC, &t1);
    } while ((t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec) < 1100000000L);
    ASSERT_OK(vc_resource_sample(s, &r));
    ASSERT(r.process_cpu_percent > 10);
    ASSERT(r.process_cpu_percent < 100.0 * r.cores + 50);
    vc_resource_sampler_free(s);
}

static void rss_follows_memory_touched(void)
{
    vc_resource_sampler_t *s = NULL;
    ASSERT_OK(vc_resource_sampler_new("/", &s));
    vc_resources_t a, b;
    ASSERT_OK(vc_resource_sample(s, &a));
    size_t n = 64u << 20;
    char *p = malloc(n);
    memset(p, 1, n);
    ASSERT_OK(vc_resource_sample(s, &b));
    ASSERT(b.rss_bytes - a.rss_bytes > (int64_t)(48u << 20));
    free(p);
    vc_resource_sampler_free(s);
}

static void warning_threshold(void)
{
    vc_resources_t r = {.mem_used_percent = 50, .disk_used_percent = 79.9, .system_cpu_percent = 5};
    ASSERT_EQ(vc_resources_warn(&r, 80), 0);
    r.disk_used_percent = 80;
    ASSERT_EQ(vc_resources_warn(&r, 80), 1);
}

int main(void)
{
    RUN(samples_are_plausible);
    RUN(rss_follows_memory_touched);
    RUN(warning_threshold);
    return 0;
}
