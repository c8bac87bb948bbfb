#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "vc/error.h"
#include "vc/resources.h"

struct vc_resource_sampler {
    pthread_mutex_t mu;
    char *disk_path;
    unsigned long long prev_proc_ticks, prev_sys_busy, prev_sys_total;
    int64_t prev_ns;
    int primed;
    double last_proc_cpu, last_sys_cpu; /* reported until a window of >= 1 s has passed */
};

int vc_resource_sampler_new(const char *disk_path, vc_resource_sampler_t **out)
{
    vc_resource_sampler_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return VC_ENOMEM;
    s->disk_path = strdup(disk_path != NULL ? disk_path : "/");
    if (s->disk_path == NULL) {
        free(s);
        return VC_ENOMEM;
    }
    pthread_mutex_init(&s->mu, NULL);
    *out = s;
    return 0;
}

void vc_resource_sampler_free(vc_resource_sampler_t *s)
{
    if (s == NULL)
        return;
    pthread_mutex_destroy(&s->mu);
    free(s->disk_path);
    free(s);
}

/* utime + stime of this process, in clock ticks, from /proc/self/stat. */
static int proc_ticks(unsigned long long *ticks, int *threads)
{
    FILE *f = fopen("/proc/self/stat", "r");
    if (f == NULL)
        return VC_EIO;
    char buf[1024];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* The command name may contain spaces: fields are counted after its closing ')'. */
    char *p = strrchr(buf, ')');
    unsigned long long ut = 0, st = 0;
    long nthreads = 0;
    if (p == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %ld",
               &ut, &st, &nthreads) != 3)
        return VC_EIO;
    *ticks = ut + st;
    *threads = (int)nthreads;
    return 0;
}

/* Busy and total jiffies of the whole machine from the first line of /proc/stat. */
static int sys_ticks(unsigned long long *busy, unsigned long long *total)
{
    FILE *f = fopen("/proc/stat", "r");
    if (f == NULL)
        return VC_EIO;
    unsigned long long v[8] = {0};
    int got = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                     &v[3], &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (got < 4)
        return VC_EIO;
    *total = 0;
    for (int i = 0; i < 8; i++)
        *total += v[i];
    *busy = *total - v[3] - v[4]; /* minus idle and iowait */
    return 0;
}

/* Reads "Key: N kB" from a /proc file; -1 when absent. */
static int64_t kb_field(const char *path, const char *key)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    char line[256];
    int64_t v = -1;
    size_t klen = strlen(key);
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            long long kb = 0;
            if (sscanf(line + klen + 1, "%lld", &kb) == 1)
                v = (int64_t)kb * 1024;
            break;
        }
    }
    fclose(f);
    return v;
}

static void sample_memory_disk(const char *disk_path, vc_resources_t *r)
{
    r->rss_bytes = kb_field("/proc/self/status", "VmRSS");
    r->mem_total_bytes = kb_field("/proc/meminfo", "MemTotal");
    r->mem_available_bytes = kb_field("/proc/meminfo", "MemAvailable");
    if (r->mem_total_bytes > 0 && r->mem_available_bytes >= 0)
        r->mem_used_percent = 100.0 * (double)(r->mem_total_bytes - r->mem_available_bytes) /
                              (double)r->mem_total_bytes;
    struct statvfs vfs;
    if (statvfs(disk_path, &vfs) == 0 && vfs.f_blocks > 0) {
        r->disk_total_bytes = (int64_t)vfs.f_blocks * (int64_t)vfs.f_frsize;
        r->disk_free_bytes = (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize;
        r->disk_used_percent =
            100.0 * (double)(vfs.f_blocks - vfs.f_bfree) / (double)vfs.f_blocks;
    }
}

int vc_resource_sample(vc_resource_sampler_t *s, vc_resources_t *r)
{
    memset(r, 0, sizeof(*r));
    r->cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
    sample_memory_disk(s->disk_path, r);
    unsigned long long pt = 0, busy = 0, total = 0;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    if (proc_ticks(&pt, &r->threads) != 0 || sys_ticks(&busy, &total) != 0)
        return VC_EIO;
    pthread_mutex_lock(&s->mu);
    /* Tick counters are coarse (10 ms): a window under a second gives noise, so frequent
     * callers (health probes, scrapes) see the last full window's figures. */
    if (s->primed && now - s->prev_ns < 1000000000LL) {
        r->process_cpu_percent = s->last_proc_cpu;
        r->system_cpu_percent = s->last_sys_cpu;
        pthread_mutex_unlock(&s->mu);
        return 0;
    }
    if (s->primed) {
        double secs = (double)(now - s->prev_ns) / 1e9;
        double hz = (double)sysconf(_SC_CLK_TCK);
        r->process_cpu_percent = 100.0 * (double)(pt - s->prev_proc_ticks) / hz / secs;
        if (total > s->prev_sys_total)
            r->system_cpu_percent = 100.0 * (double)(busy - s->prev_sys_busy) /
                                    (double)(total - s->prev_sys_total);
        s->last_proc_cpu = r->process_cpu_percent;
        s->last_sys_cpu = r->system_cpu_percent;
    }
    s->prev_proc_ticks = pt;
    s->prev_sys_busy = busy;
    s->prev_sys_total = total;
    s->prev_ns = now;
    s->primed = 1;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

int vc_resources_warn(const vc_resources_t *r, double warn_percent)
{
    return r->mem_used_percent >= warn_percent || r->disk_used_percent >= warn_percent ||
           r->system_cpu_percent >= warn_percent;
}
