/* vc-train: trains the audio spoof model from a labeled list and writes the model file.
 *
 *   vc-train [--components K] [--iters N] [--seed S] [--max-frames N] [--version STR]
 *            -o MODEL LIST.tsv
 *
 * LIST.tsv lines are path<TAB>label[<TAB>splice_seconds] (docs/detection.md); relative paths
 * are taken from the list's folder. Deterministic: the same list, files and options give
 * the same model bytes. Exit status 0 on success, 1 on failure, 2 on a usage error. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vc/detect_audio.h"
#include "vc/error.h"

#define MAX_CLIP_BYTES ((size_t)256 * 1024 * 1024)
#define MAX_LINE 4096

typedef struct {
    vc_audio_train_opts_t opts;
    const char *out;
    const char *list;
} train_args_t;

static void usage(FILE *fp)
{
    fprintf(fp, "usage: vc-train [--components K] [--iters N] [--seed S] [--max-frames N]\n"
                "                [--version STR] -o MODEL LIST.tsv\n");
}

/* Whole decimal in [lo, hi]. */
static int parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *v)
{
    char *end = NULL;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || x < lo || x > hi)
        return VC_EINVAL;
    *v = x;
    return 0;
}

static int parse_args(int argc, char **argv, train_args_t *a)
{
    uint64_t v;
    vc_audio_train_opts_default(&a->opts);
    a->opts.verbose = 1;
    a->out = NULL;
    a->list = NULL;
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
        if (strcmp(opt, "-o") == 0) {
            a->out = val;
        } else if (strcmp(opt, "--components") == 0 && parse_u64(val, 1, 4096, &v) == 0) {
            a->opts.components = (int)v;
        } else if (strcmp(opt, "--iters") == 0 && parse_u64(val, 0, 1000, &v) == 0) {
            a->opts.em_iters = (int)v;
        } else if (strcmp(opt, "--seed") == 0 && parse_u64(val, 0, UINT64_MAX, &v) == 0) {
            a->opts.seed = v;
        } else if (strcmp(opt, "--max-frames") == 0 && parse_u64(val, 1000, 100000000, &v) == 0) {
            a->opts.max_frames = (size_t)v;
        } else if (strcmp(opt, "--version") == 0 && strlen(val) < sizeof(a->opts.version)) {
            snprintf(a->opts.version, sizeof(a->opts.version), "%s", val);
        } else {
            fprintf(stderr, "vc-train: bad option %s %s\n", opt, val);
            return -1;
        }
    }
    return a->out != NULL && a->list != NULL ? 0 : -1;
}

/* path, or the list's folder joined with path when path is relative. */
static int resolve(const char *list, const char *path, char *buf, size_t len)
{
    const char *slash = strrchr(list, '/');
    int n;
    if (path[0] == '/' || slash == NULL)
        n = snprintf(buf, len, "%s", path);
    else
        n = snprintf(buf, len, "%.*s/%s", (int)(slash - list), list, path);
    return n >= 0 && (size_t)n < len ? 0 : VC_ETOOBIG;
}

/* Feeds every clip of the list to the trainer; a clip that fails to decode is reported and
 * skipped. Returns 0 or the first hard error. */
static int feed(vc_audio_trainer_t *tr, const char *list)
{
    char line[MAX_LINE], full[MAX_LINE], err[256];
    size_t lineno = 0, used = 0, skipped = 0;
    FILE *fp = fopen(list, "r");
    if (fp == NULL) {
        fprintf(stderr, "vc-train: %s: %s\n", list, strerror(errno));
        return VC_EIO;
    }
    while (fgets(line, sizeof(line), fp) != NULL) {
        const char *path;
        vc_audio_label_t label;
        double splice_s;
        uint8_t *data = NULL;
        size_t len = 0;
        lineno++;
        int rc = vc_audio_list_parse_line(line, &path, &label, &splice_s, err, sizeof(err));
        if (rc == VC_ENOTFOUND)
            continue;
        if (rc == 0)
            rc = resolve(list, path, full, sizeof(full));
        if (rc == 0)
            rc = vc_detect_read_file(full, MAX_CLIP_BYTES, &data, &len, err, sizeof(err));
        if (rc == 0)
            rc = vc_audio_trainer_add(tr, data, len, label, splice_s, err, sizeof(err));
        free(data);
        if (rc == VC_ENOMEM) {
            fclose(fp);
            fprintf(stderr, "vc-train: out of memory at line %zu\n", lineno);
            return rc;
        }
        if (rc != 0) {
            fprintf(stderr, "vc-train: %s:%zu: skipped: %s\n", list, lineno, err);
            skipped++;
            continue;
        }
        if (++used % 200 == 0)
            fprintf(stderr, "vc-train: %zu clips read\n", used);
    }
    fclose(fp);
    fprintf(stderr, "vc-train: %zu clips used, %zu skipped\n", used, skipped);
    return 0;
}

static int write_model(const char *path, const uint8_t *buf, size_t len)
{
    char tmp[MAX_LINE];
    int n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return VC_ETOOBIG;
    FILE *fp = fopen(tmp, "wb");
    if (fp == NULL)
        return VC_EIO;
    size_t put = fwrite(buf, 1, len, fp);
    if (fclose(fp) != 0 || put != len || rename(tmp, path) != 0) {
        remove(tmp);
        return VC_EIO;
    }
    return 0;
}

int main(int argc, char **argv)
{
    train_args_t args;
    vc_audio_trainer_t *tr = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    char err[256] = "";

    if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        usage(stdout);
        return 0;
    }
    if (parse_args(argc, argv, &args) != 0) {
        usage(stderr);
        return 2;
    }
    int rc = vc_audio_trainer_new(&args.opts, &tr);
    if (rc == 0)
        rc = feed(tr, args.list);
    if (rc == 0)
        rc = vc_audio_trainer_fit(tr, &buf, &len, err, sizeof(err));
    if (rc == 0) {
        rc = write_model(args.out, buf, len);
        if (rc != 0)
            snprintf(err, sizeof(err), "cannot write %s", args.out);
    }
    vc_audio_trainer_free(tr);
    free(buf);
    if (rc != 0) {
        fprintf(stderr, "vc-train: %s (%s)\n", err, vc_strerror(rc));
        return 1;
    }
    fprintf(stderr, "vc-train: wrote %s (%zu bytes)\n", args.out, len);
    return 0;
}
