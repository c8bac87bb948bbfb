#ifndef VC_RESOURCES_H
#define VC_RESOURCES_H
/* Resource use of this process and this machine, from /proc and statvfs(3), for /health,
 * /metrics and the detectors' metric snapshots. */
#include <stdint.h>

typedef struct {
    double process_cpu_percent; /* this process since the previous sample; 100 = one core */
    double system_cpu_percent;  /* whole machine since the previous sample, 0..100 */
    int cores;
    int64_t rss_bytes;
    int threads;
    int64_t mem_total_bytes;
    int64_t mem_available_bytes;
    double mem_used_percent;
    int64_t disk_total_bytes;
    int64_t disk_free_bytes;
    double disk_used_percent;
} vc_resources_t;

typedef struct vc_resource_sampler vc_resource_sampler_t;

/* disk_path: the filesystem whose use is reported (e.g. "/" or a data directory). */
int vc_resource_sampler_new(const char *disk_path, vc_resource_sampler_t **out);
void vc_resource_sampler_free(vc_resource_sampler_t *s);

/* Takes a sample. CPU figures are averaged over the window since the previous sample that
 * started one; windows are at least 1 s (calls in between report the last window; 0 before the
 * first window completes).
 * Thread-safe. Returns 0, or VC_EIO when /proc could not be read (fields then 0). */
int vc_resource_sample(vc_resource_sampler_t *s, vc_resources_t *out);

/* 1 when memory, disk or system CPU use is at or over warn_percent. */
int vc_resources_warn(const vc_resources_t *r, double warn_percent);

#endif
