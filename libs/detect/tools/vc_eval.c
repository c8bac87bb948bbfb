/* vc-eval: runs the audio engine over a labeled list and reports how well it separates bona
 * fide speech from each attack.
 *
 *   vc-eval [--model PATH] [--threads N] [--genuine-below X] [--spoof-from Y]
 *           [--plot DIR] [--scores FILE] LIST.tsv
 *
 * LIST.tsv: path<TAB>label[<TAB>splice_seconds], label bonafide|tts|replay|splice (relative
 * paths from the list's folder). Prints EER and AUC of the fused score and of each attack's
 * own analyzer, per-class accuracy at the thresholds, splice localisation, and renders ROC
 * and DET plots (gnuplot) into DIR. The model defaults to $AUDIO_MODEL_PATH, else the
 * compiled-in path. A list whose labels are the video classes (tools/eval_video.h) is
 * handed to the video evaluator instead. Exit status 0, 1 on failure, 2 on a usage error. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval_metrics.h"
#include "eval_report.h"
#include "eval_video.h"
#include "vc/detect_audio.h"
#include "vc/error.h"

#define MAX_CLIP_BYTES ((size_t)256 * 1024 * 1024)
#define MAX_LINE 4096
#define MAX_ITEMS 200000
#define MAX_THREADS 64

typedef struct {
    vc_eval_item_t *items;
    size_t n;
    atomic_size_t next;
    const vc_audio_model_t *model;
    const vc_audio_detect_opts_t *opts;
} work_t;

static int parse_double(const char *s, double lo, double hi, double *v)
{
    char *end = NULL;
    errno = 0;
    double x = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(x >= lo && x <= hi))
        return VC_EINVAL;
    *v = x;
    return 0;
}

static int parse_args(int argc, char **argv, vc_eval_args_t *a)
{
    double v;
    memset(a, 0, sizeof(*a));
    a->threads = 1;
    vc_audio_detect_opts_default(&a->opts);
    const char *env = getenv("AUDIO_MODEL_PATH");
    a->model_path = env != NULL && env[0] != '\0' ? env : vc_audio_model_default_path();
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (opt[0] != '-') {
            if (a->list != NULL)
                return -1;
            a->list = opt;
            continue;
        }
        if (i + 1 >= argc)
            return -1;
        const char *val = argv[++i];
        if (strcmp(opt, "--model") == 0)
            a->model_path = val;
        else if (strcmp(opt, "--plot") == 0)
            a->plot_dir = val;
        else if (strcmp(opt, "--scores") == 0)
            a->scores_path = val;
        else if (strcmp(opt, "--threads") == 0 && parse_double(val, 1, MAX_THREADS, &v) == 0)
            a->threads = (int)v;
        else if (strcmp(opt, "--genuine-below") == 0 && parse_double(val, 0, 1, &v) == 0)
            a->opts.genuine_below = v;
        else if (strcmp(opt, "--spoof-from") == 0 && parse_double(val, 0, 1, &v) == 0)
            a->opts.spoof_from = v;
        else
            return -1;
    }
    return a->list != NULL ? 0 : -1;
}

/* Reads the list into *items (paths resolved against the list's folder). */
static int read_list(const char *list, vc_eval_item_t **items, size_t *n)
{
    char line[MAX_LINE], err[256];
    size_t cap = 0, lineno = 0;
    const char *slash = strrchr(list, '/');
    FILE *fp = fopen(list, "r");

    *items = NULL;
    *n = 0;
    if (fp == NULL) {
        fprintf(stderr, "vc-eval: %s: %s\n", list, strerror(errno));
        return VC_EIO;
    }
    while (fgets(line, sizeof(line), fp) != NULL && *n < MAX_ITEMS) {
        const char *path;
        vc_eval_item_t it;
        lineno++;
        memset(&it, 0, sizeof(it));
        int rc = vc_audio_list_parse_line(line, &path, &it.label, &it.splice_s, err, sizeof(err));
        if (rc == VC_ENOTFOUND)
            continue;
        if (rc != 0) {
            fprintf(stderr, "vc-eval: %s:%zu: %s\n", list, lineno, err);
            continue;
        }
        size_t need = strlen(path) + (slash ? (size_t)(slash - list) + 2 : 1);
        it.path = malloc(need);
        if (*n == cap) {
            cap = cap ? cap * 2 : 256;
            vc_eval_item_t *p = realloc(*items, cap * sizeof(vc_eval_item_t));
            if (p == NULL || it.path == NULL) {
                free(it.path);
                fclose(fp);
                return VC_ENOMEM;
            }
            *items = p;
        }
        if (it.path == NULL) {
            fclose(fp);
            return VC_ENOMEM;
        }
        if (path[0] == '/' || slash == NULL)
            snprintf(it.path, need, "%s", path);
        else
            snprintf(it.path, need, "%.*s/%s", (int)(slash - list), list, path);
        (*items)[(*n)++] = it;
    }
    fclose(fp);
    return 0;
}

static double analyzer_score(const vc_audio_detection_t *det, const char *name)
{
    for (size_t i = 0; i < det->n_analyzers; i++)
        if (strcmp(det->analyzers[i].name, name) == 0)
            return det->analyzers[i].score;
    return 0.0;
}

static void run_item(const work_t *w, vc_eval_item_t *it)
{
    uint8_t *data = NULL;
    size_t len = 0;
    char err[256];
    vc_audio_detection_t *det = malloc(sizeof(*det));
    int rc = det != NULL ? 0 : VC_ENOMEM;
    if (rc == 0)
        rc = vc_detect_read_file(it->path, MAX_CLIP_BYTES, &data, &len, err, sizeof(err));
    if (rc == 0)
        rc = vc_audio_detect(w->model, data, len, NULL, w->opts, det, err, sizeof(err));
    free(data);
    if (rc != 0) {
        fprintf(stderr, "vc-eval: %s: %s\n", it->path, det != NULL ? err : "no memory");
        free(det);
        return;
    }
    it->ok = 1;
    it->score = det->score;
    it->verdict = det->verdict;
    it->synth = analyzer_score(det, "synthetic_speech");
    it->replay = analyzer_score(det, "replay");
    it->splice = analyzer_score(det, "splice");
    it->found_s = det->n_splices > 0 ? det->splice_s[0] : -1.0;
    it->audio_s = det->duration_s;
    it->cpu_ms = det->decode_ms + det->features_ms + det->scoring_ms;
    free(det);
}

static void *worker(void *arg)
{
    work_t *w = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&w->next, 1);
        if (i >= w->n)
            break;
        run_item(w, &w->items[i]);
    }
    return NULL;
}

/* Hands a video list to tools/eval_video.c (plots next to the audio ones when --plot). */
static int run_video(const vc_eval_args_t *args)
{
    vc_eval_video_opts_t vopts;
    char err[256] = "", prefix[1024];
    vc_eval_video_opts_default(&vopts);
    vopts.list_path = args->list;
    if (args->plot_dir != NULL) {
        int n = snprintf(prefix, sizeof(prefix), "%s/video", args->plot_dir);
        if (n > 0 && (size_t)n < sizeof(prefix))
            vopts.out_prefix = prefix;
    }
    int rc = vc_eval_video_run(&vopts, stdout, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "vc-eval: %s\n", err);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    vc_eval_args_t args;
    vc_eval_item_t *items = NULL;
    size_t n = 0;
    vc_audio_model_t *model = NULL;
    pthread_t tid[MAX_THREADS];
    char err[256];
    int rc;

    if (parse_args(argc, argv, &args) != 0) {
        fprintf(stderr, "usage: vc-eval [--model PATH] [--threads N] [--genuine-below X] "
                        "[--spoof-from Y] [--plot DIR] [--scores FILE] LIST.tsv\n");
        return 2;
    }
    if (vc_eval_video_is_video_list(args.list))
        return run_video(&args);
    rc = vc_audio_model_load(args.model_path, &model, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "vc-eval: model %s: %s\n", args.model_path, err);
        return 1;
    }
    rc = read_list(args.list, &items, &n);
    if (rc == 0) {
        work_t w = {items, n, 0, model, &args.opts};
        int started = 0;
        for (int t = 0; t < args.threads; t++)
            started += pthread_create(&tid[started], NULL, worker, &w) == 0;
        if (started == 0)
            worker(&w);
        for (int t = 0; t < started; t++)
            pthread_join(tid[t], NULL);
        rc = vc_eval_report(items, n, &args, vc_audio_model_version(model));
    }
    for (size_t i = 0; i < n; i++)
        free(items[i].path);
    free(items);
    vc_audio_model_free(model);
    return rc == 0 ? 0 : 1;
}
