/* vc-bench-engine: the raw engine throughput the pipeline benchmark divides by. Runs what
 * vc-detector runs for every audio request -- vc_audio_detect_with_stats: one decode, the
 * signal statistics and the spoof engine with the committed model -- in-process on
 * the given clips, round robin, from THREADS threads for SECONDS (or MAX analyses), with no
 * queue, Kafka or store in between. Prints key=value lines:
 *   analyses=N  elapsed_s=S  rate=N/S  threads=T  errors=E  cpu_ms_per_analysis=C
 * C (process CPU time / analyses) is the figure that survives a machine shared with other
 * jobs: the wall-clock rate drops when the threads do not get whole cores, C does not.
 *
 *   vc-bench-engine [--threads T] [--seconds S] [--max N] FILE...
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "vc/clock.h"
#include "vc/detect.h"
#include "vc/detect_audio.h"

#define MAX_FILES 64
#define MAX_THREADS 256
#define MAX_CLIP_BYTES ((long)64 * 1024 * 1024)

typedef struct {
    uint8_t *data[MAX_FILES];
    size_t len[MAX_FILES];
    int nfiles;
    int64_t deadline_ns;
    long long max;
    atomic_llong next;   /* analyses handed out */
    atomic_llong done;
    atomic_llong errors;
    vc_audio_model_t *model;
} bench_t;

/* Reads path whole (at most MAX_CLIP_BYTES). Returns 0 or -1; caller frees *data. */
static int read_clip(const char *path, uint8_t **data, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return -1;
    int rc = -1;
    *data = NULL;
    if (fseek(fp, 0, SEEK_END) != 0)
        goto fail;
    long n = ftell(fp);
    if (n <= 0 || n > MAX_CLIP_BYTES || fseek(fp, 0, SEEK_SET) != 0)
        goto fail;
    *data = malloc((size_t)n);
    if (*data == NULL || fread(*data, 1, (size_t)n, fp) != (size_t)n)
        goto fail;
    *len = (size_t)n;
    rc = 0;
fail:
    if (rc != 0) {
        free(*data);
        *data = NULL;
    }
    fclose(fp);
    return rc;
}

/* Worker: takes analysis numbers until the deadline or the count bound. */
static void *worker(void *arg)
{
    bench_t *b = arg;
    vc_audio_detect_opts_t dopts;
    vc_audio_detect_opts_default(&dopts);
    vc_audio_detection_t *det = malloc(sizeof(*det));
    char err[200];
    if (det == NULL)
        return NULL;
    for (;;) {
        long long i = atomic_fetch_add(&b->next, 1);
        if ((b->max > 0 && i >= b->max) || vc_clock_mono_ns() >= b->deadline_ns)
            break;
        vc_audio_report_t rep;
        int f = (int)(i % b->nfiles);
        if (vc_audio_detect_with_stats(b->model, b->data[f], b->len[f], NULL, &dopts, det, &rep,
                                       err, sizeof(err)) != 0)
            atomic_fetch_add(&b->errors, 1);
        atomic_fetch_add(&b->done, 1);
    }
    free(det);
    return NULL;
}

static int parse_num(const char *s, double lo, double hi, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    static bench_t b;
    double threads = 1, seconds = 5, max = 0;
    int i = 1;
    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        int rc = -1;
        if (strcmp(argv[i], "--threads") == 0)
            rc = parse_num(argv[i + 1], 1, MAX_THREADS, &threads);
        else if (strcmp(argv[i], "--seconds") == 0)
            rc = parse_num(argv[i + 1], 0.01, 3600, &seconds);
        else if (strcmp(argv[i], "--max") == 0)
            rc = parse_num(argv[i + 1], 1, 1e9, &max);
        if (rc != 0) {
            fprintf(stderr, "vc-bench-engine: bad option %s %s\n", argv[i], argv[i + 1]);
            return 2;
        }
    }
    if (i >= argc || argc - i > MAX_FILES) {
        fprintf(stderr, "usage: vc-bench-engine [--threads T] [--seconds S] [--max N] FILE...\n");
        return 2;
    }
    for (; i < argc; i++) {
        if (read_clip(argv[i], &b.data[b.nfiles], &b.len[b.nfiles]) != 0) {
            fprintf(stderr, "vc-bench-engine: cannot read %s\n", argv[i]);
            return 1;
        }
        b.nfiles++;
    }
    char err[256];
    if (vc_audio_model_load(vc_audio_model_default_path(), &b.model, err, sizeof(err)) != 0) {
        fprintf(stderr, "vc-bench-engine: %s\n", err);
        return 1;
    }
    int nthreads = (int)threads;
    pthread_t tids[MAX_THREADS];
    b.max = (long long)max;
    int64_t t0 = vc_clock_mono_ns();
    b.deadline_ns = t0 + (int64_t)(seconds * 1e9);
    int started = 0;
    for (; started < nthreads; started++) {
        if (pthread_create(&tids[started], NULL, worker, &b) != 0)
            break;
    }
    for (int k = 0; k < started; k++)
        pthread_join(tids[k], NULL);
    double el = (double)(vc_clock_mono_ns() - t0) / 1e9;
    long long done = atomic_load(&b.done);
    struct rusage ru;
    double cpu_s = 0;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    printf("analyses=%lld\nelapsed_s=%.3f\nrate=%.2f\nthreads=%d\nerrors=%lld\n"
           "cpu_ms_per_analysis=%.4f\nengine=%s\n",
           done, el, (double)done / el, started, (long long)atomic_load(&b.errors),
           done > 0 ? cpu_s * 1000.0 / (double)done : 0.0, vc_audio_model_version(b.model));
    for (int k = 0; k < b.nfiles; k++)
        free(b.data[k]);
    vc_audio_model_free(b.model);
    return started == nthreads && atomic_load(&b.errors) == 0 ? 0 : 1;
}
