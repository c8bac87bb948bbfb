/* Video evaluation: runs the detector over a labelled list and reports detection and false-
 * alarm rates, attribution, EER, speed, and a detection/false-alarm plot. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "eval_video.h"
#include "vc/error.h"
#include "vc/video.h"

#define N_CLASSES 6
#define MAX_CLIPS 100000
#define MAX_FILE ((size_t)512 * 1024 * 1024)

static const char *const CLASSES[N_CLASSES] = {"live",          "static_image",
                                               "screen_replay", "frame_duplication",
                                               "interpolation", "splice"};

typedef struct {
    int cls;
    int ok;
    double score;
    int top_cls; /* class the top analyzer names, -1 if none */
} clip_t;

typedef struct {
    clip_t *clips;
    int n, cap, failed;
    long frames;
    double decode_ms, analyze_ms;
} results_t;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

void vc_eval_video_opts_default(vc_eval_video_opts_t *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->threshold = 0.5;
}

static int class_of(const char *label)
{
    for (int i = 0; i < N_CLASSES; i++)
        if (strcmp(label, CLASSES[i]) == 0)
            return i;
    return -1;
}

/* Splits "path<TAB>label" in place; returns the class or -1 (-2 for a line to skip). */
static int parse_line(char *line, char **path)
{
    line[strcspn(line, "\r\n")] = '\0';
    if (line[0] == '\0' || line[0] == '#')
        return -2;
    char *tab = strchr(line, '\t');
    if (tab == NULL)
        return -1;
    *tab = '\0';
    *path = line;
    return class_of(tab + 1);
}

int vc_eval_video_is_video_list(const char *list_path)
{
    char line[4096], *path;
    int attacks = 0, bad = 0;
    FILE *fp = fopen(list_path, "r");
    if (fp == NULL)
        return 0;
    while (fgets(line, sizeof(line), fp) != NULL) {
        int c = parse_line(line, &path);
        if (c == -1)
            bad++;
        else if (c > 0)
            attacks++;
    }
    fclose(fp);
    return bad == 0 && attacks > 0;
}

static int read_all(const char *path, uint8_t **data, size_t *len)
{
    struct stat st;
    *data = NULL;
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return errno == ENOENT ? VC_ENOTFOUND : VC_EIO;
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode) || (uintmax_t)st.st_size > MAX_FILE) {
        fclose(fp);
        return VC_ETOOBIG;
    }
    *len = (size_t)st.st_size;
    *data = malloc(*len > 0 ? *len : 1);
    int rc = *data == NULL ? VC_ENOMEM : fread(*data, 1, *len, fp) == *len ? 0 : VC_EIO;
    fclose(fp);
    if (rc != 0) {
        free(*data);
        *data = NULL;
    }
    return rc;
}

/* Decodes and analyses one clip, timing both; fills rep. */
static int run_clip(const char *path, results_t *res, vc_video_report_t *rep, char *err,
                    size_t errlen)
{
    uint8_t *data;
    size_t len = 0;
    vc_video_frames_t *frames = NULL;
    int rc = read_all(path, &data, &len);
    if (rc != 0)
        return vc_err(err, errlen, rc, "cannot read");
    double t0 = now_ms();
    rc = vc_video_decode(data, len, NULL, &frames, err, errlen);
    double t1 = now_ms();
    free(data);
    if (rc == 0)
        rc = vc_video_analyze(frames, NULL, rep, err, errlen);
    double t2 = now_ms();
    if (rc == 0) {
        res->frames += frames->count;
        res->decode_ms += t1 - t0;
        res->analyze_ms += t2 - t1;
    }
    vc_video_frames_free(frames);
    return rc;
}

static void write_row(FILE *tsv, const char *path, int cls, const vc_video_report_t *rep)
{
    if (tsv == NULL)
        return;
    fprintf(tsv, "%s\t%s\t%.4f\t%s\t%s", path, CLASSES[cls], rep->score,
            vc_video_verdict_name(rep->verdict), rep->top >= 0 ? rep->analyses[rep->top].name : "-");
    for (int i = 0; i < rep->n_analyses; i++) {
        const vc_video_analysis_t *an = &rep->analyses[i];
        fprintf(tsv, "\t%s=%.4f", an->name, an->score);
        for (int k = 0; k < an->n_evidence; k++)
            fprintf(tsv, "\t%s=%.4g", an->evidence[k].key, an->evidence[k].value);
    }
    fputc('\n', tsv);
}

static int add_clip(results_t *res, clip_t c)
{
    if (res->n == res->cap) {
        int cap = res->cap ? res->cap * 2 : 256;
        if (cap > MAX_CLIPS)
            return VC_ETOOBIG;
        clip_t *p = realloc(res->clips, (size_t)cap * sizeof(*p));
        if (p == NULL)
            return VC_ENOMEM;
        res->clips = p;
        res->cap = cap;
    }
    res->clips[res->n++] = c;
    return 0;
}

/* Resolves path against base into buf. */
static void resolve(const char *base, const char *path, char *buf, size_t len)
{
    if (path[0] == '/' || base == NULL || base[0] == '\0')
        snprintf(buf, len, "%s", path);
    else
        snprintf(buf, len, "%s/%s", base, path);
}

static int run_list(const vc_eval_video_opts_t *opts, FILE *fp, const char *base, FILE *tsv,
                    FILE *out, results_t *res, char *err, size_t errlen)
{
    char line[4096], full[8192], msg[256], *path = NULL;
    vc_video_report_t rep;
    int lineno = 0;
    while (fgets(line, sizeof(line), fp) != NULL) {
        lineno++;
        int cls = parse_line(line, &path);
        if (cls == -2)
            continue;
        if (cls < 0)
            return vc_err(err, errlen, VC_EINVAL, "line %d: want path<TAB>%s", lineno,
                          VC_EVAL_VIDEO_LABELS);
        resolve(base, path, full, sizeof(full));
        clip_t c = {.cls = cls, .top_cls = -1};
        msg[0] = '\0';
        c.ok = run_clip(full, res, &rep, msg, sizeof(msg)) == 0;
        if (c.ok) {
            c.score = rep.score;
            c.top_cls = rep.top >= 0 && rep.score >= opts->threshold
                            ? class_of(rep.analyses[rep.top].name)
                            : 0;
            write_row(tsv, path, cls, &rep);
        } else {
            res->failed++;
            fprintf(out, "  failed: %s: %s\n", path, msg);
        }
        if (opts->verbose && c.ok)
            fprintf(out, "  %-48s %-18s %.3f %s\n", path, CLASSES[cls], rep.score,
                    rep.top >= 0 ? rep.analyses[rep.top].name : "-");
        int rc = add_clip(res, c);
        if (rc != 0)
            return vc_err(err, errlen, rc, "too many clips");
    }
    return 0;
}

/* Share of clips of class cls (ok ones) scoring >= thr. */
static double rate(const results_t *res, int cls, double thr, int *count)
{
    int n = 0, hit = 0;
    for (int i = 0; i < res->n; i++)
        if (res->clips[i].ok && (cls < 0 ? res->clips[i].cls > 0 : res->clips[i].cls == cls)) {
            n++;
            hit += res->clips[i].score >= thr;
        }
    if (count != NULL)
        *count = n;
    return n > 0 ? (double)hit / n : 0.0;
}

/* Equal error rate of live against class cls (-1: all attacks), and its threshold. */
static double eer(const results_t *res, int cls, double *at)
{
    double best = 1, gap = 2;
    *at = 0.5;
    for (int i = 0; i <= res->n; i++) {
        double thr = i < res->n ? res->clips[i].score : 1.0 + 1e-9;
        if (i < res->n && !res->clips[i].ok)
            continue;
        double far = rate(res, 0, thr, NULL), det = rate(res, cls, thr, NULL);
        double d = fabs(far - (1 - det));
        if (d < gap || (d == gap && thr < *at)) {
            gap = d;
            best = 0.5 * (far + 1 - det);
            *at = thr;
        }
    }
    return best;
}

static void print_summary(const results_t *res, double thr, FILE *out)
{
    double at = 0;
    fprintf(out, "%-18s %5s %9s %7s %10s %6s\n", "class", "clips", "detected", "rate",
            "attributed", "mean");
    for (int c = 0; c < N_CLASSES; c++) {
        int n = 0, attr = 0;
        double sum = 0;
        for (int i = 0; i < res->n; i++)
            if (res->clips[i].ok && res->clips[i].cls == c) {
                sum += res->clips[i].score;
                attr += res->clips[i].top_cls == c;
            }
        double r = rate(res, c, thr, &n);
        fprintf(out, "%-18s %5d %9d %6.1f%% %9.1f%% %6.3f%s\n", CLASSES[c], n,
                (int)lround(r * n), 100 * r, n ? 100.0 * attr / n : 0.0, n ? sum / n : 0.0,
                c == 0 ? "  (false alarms)" : "");
    }
    fprintf(out, "all attacks: detection %.1f%%, false alarms on live %.1f%%\n",
            100 * rate(res, -1, thr, NULL), 100 * rate(res, 0, thr, NULL));
    double all = eer(res, -1, &at);
    fprintf(out, "EER live vs all attacks: %.1f%% (threshold %.3f)\n", 100 * all, at);
    for (int c = 1; c < N_CLASSES; c++) {
        double e = eer(res, c, &at);
        fprintf(out, "  EER live vs %-17s %5.1f%% (threshold %.3f)\n", CLASSES[c], 100 * e, at);
    }
    double secs = (res->decode_ms + res->analyze_ms) / 1e3;
    if (res->frames > 0 && secs > 0)
        fprintf(out, "speed: %ld frames; decode+scale %.0f frames/s, analysis %.0f frames/s "
                     "(CPU time of one thread)\n",
                res->frames, res->frames / (res->decode_ms / 1e3 + 1e-9),
                res->frames / (res->analyze_ms / 1e3 + 1e-9));
    fprintf(out, "failed clips: %d\n", res->failed);
}

/* Writes PREFIX-roc.dat (per attack class: false-alarm rate, detection rate over thresholds)
 * and renders PREFIX.png with gnuplot. */
static void plot(const results_t *res, const char *prefix, FILE *out)
{
    char dat[4096], png[4096];
    snprintf(dat, sizeof(dat), "%s-roc.dat", prefix);
    snprintf(png, sizeof(png), "%s.png", prefix);
    FILE *fp = fopen(dat, "w");
    if (fp == NULL) {
        fprintf(out, "plot: cannot write %s\n", dat);
        return;
    }
    for (int c = 1; c < N_CLASSES; c++) {
        fprintf(fp, "# %s\n", CLASSES[c]);
        for (int k = 0; k <= 200; k++) {
            double thr = k / 200.0;
            fprintf(fp, "%.4f %.4f\n", 100 * rate(res, 0, thr, NULL), 100 * rate(res, c, thr, NULL));
        }
        fprintf(fp, "\n\n");
    }
    fclose(fp);
    FILE *gp = popen("gnuplot 2>/dev/null", "w");
    if (gp == NULL) {
        fprintf(out, "plot: gnuplot not available; data in %s\n", dat);
        return;
    }
    fprintf(gp, "set terminal pngcairo size 800,600 noenhanced\nset output '%s'\n"
                "set title 'video detector: detection vs false alarms (live)'\n"
                "set xlabel 'false alarms on live clips (%%)'\nset ylabel 'detection rate (%%)'\n"
                "set xrange [0:100]\nset yrange [0:102]\nset key bottom right\nset grid\n"
                "names = '%s %s %s %s %s'\n"
                "plot for [i=0:%d] '%s' index i with steps lw 2 title word(names, i + 1)\n",
            png, CLASSES[1], CLASSES[2], CLASSES[3], CLASSES[4], CLASSES[5], N_CLASSES - 2, dat);
    int rc = pclose(gp);
    fprintf(out, rc == 0 ? "plot: %s\n" : "plot: gnuplot failed (apt-get install gnuplot-nox); data in %s\n",
            rc == 0 ? png : dat);
}

static int open_outputs(const vc_eval_video_opts_t *opts, FILE **tsv, char *err, size_t errlen)
{
    char name[4096];
    *tsv = NULL;
    if (opts->out_prefix == NULL)
        return 0;
    snprintf(name, sizeof(name), "%s.tsv", opts->out_prefix);
    *tsv = fopen(name, "w");
    if (*tsv == NULL)
        return vc_err(err, errlen, VC_EIO, "cannot write %s: %s", name, strerror(errno));
    return 0;
}

int vc_eval_video_run(const vc_eval_video_opts_t *opts, FILE *out, char *err, size_t errlen)
{
    results_t res = {0};
    char base[4096];
    FILE *tsv = NULL;

    FILE *fp = fopen(opts->list_path, "r");
    if (fp == NULL)
        return vc_err(err, errlen, errno == ENOENT ? VC_ENOTFOUND : VC_EIO, "%s: %s",
                      opts->list_path, strerror(errno));
    snprintf(base, sizeof(base), "%s", opts->base_dir != NULL ? opts->base_dir : opts->list_path);
    if (opts->base_dir == NULL) {
        char *slash = strrchr(base, '/');
        if (slash != NULL)
            *slash = '\0';
        else
            base[0] = '\0';
    }
    int rc = open_outputs(opts, &tsv, err, errlen);
    if (rc == 0)
        rc = run_list(opts, fp, base, tsv, out, &res, err, errlen);
    fclose(fp);
    if (tsv != NULL)
        fclose(tsv);
    if (rc != 0)
        goto fail;
    fprintf(out, "video evaluation of %s: %d clips, analysis %s, threshold %.2f\n",
            opts->list_path, res.n, vc_video_version(), opts->threshold);
    print_summary(&res, opts->threshold, out);
    if (opts->out_prefix != NULL)
        plot(&res, opts->out_prefix, out);
    free(res.clips);
    return 0;

fail:
    free(res.clips);
    return rc;
}
