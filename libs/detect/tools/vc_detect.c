/* vc-detect: analyse audio files offline and print one JSON object per file on stdout.
 *
 *   vc-detect [--format auto|wav|flac|ogg|pcm16] [--rate HZ] FILE...
 *
 * Exit status: 0 when every file was analysed, 1 when any failed (its line is an error
 * object), 2 on a usage error. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "vc/detect.h"
#include "vc/error.h"

#define MAX_FILE_BYTES ((size_t)256 * 1024 * 1024)
#define FIRST_READ ((size_t)64 * 1024)

typedef struct {
    const char *format;
    vc_audio_opts_t opts;
} cli_args_t;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: vc-detect [--format auto|wav|flac|ogg|pcm16] [--rate HZ] FILE...\n"
            "Prints one JSON object per FILE (analysis %s).\n",
            vc_detect_version());
}

/* Reads the whole of path, at most MAX_FILE_BYTES. On success the caller frees *data with
 * free(). Returns 0, VC_ENOTFOUND, VC_EIO, VC_ETOOBIG or VC_ENOMEM. */
static int read_file(const char *path, uint8_t **data, size_t *len, char *err, size_t errlen)
{
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;
    struct stat st;
    int rc;

    *data = NULL;
    *len = 0;
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return vc_err(err, errlen, errno == ENOENT ? VC_ENOTFOUND : VC_EIO, "%s", strerror(errno));
    if (fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode) &&
        (uintmax_t)st.st_size > MAX_FILE_BYTES) {
        rc = vc_err(err, errlen, VC_ETOOBIG, "file over %zu bytes", MAX_FILE_BYTES);
        goto fail;
    }
    for (;;) {
        if (n == cap) {
            size_t want = cap == 0 ? FIRST_READ : cap * 2;
            if (want > MAX_FILE_BYTES + 1)
                want = MAX_FILE_BYTES + 1; /* one byte more tells an overrun */
            uint8_t *p = realloc(buf, want);
            if (p == NULL) {
                rc = vc_err(err, errlen, VC_ENOMEM, "no memory for %zu bytes", want);
                goto fail;
            }
            buf = p;
            cap = want;
        }
        size_t got = fread(buf + n, 1, cap - n, fp);
        n += got;
        if (n > MAX_FILE_BYTES) {
            rc = vc_err(err, errlen, VC_ETOOBIG, "file over %zu bytes", MAX_FILE_BYTES);
            goto fail;
        }
        if (got == 0)
            break;
    }
    if (ferror(fp)) {
        rc = vc_err(err, errlen, VC_EIO, "read error");
        goto fail;
    }
    fclose(fp);
    *data = buf;
    *len = n;
    return 0;

fail:
    free(buf);
    fclose(fp);
    return rc;
}

/* A JSON string for path; bytes that are not ASCII become '?' when path is not UTF-8. */
static json_t *path_json(const char *path)
{
    json_t *s = json_string(path);
    if (s != NULL)
        return s;
    char *copy = strdup(path);
    if (copy == NULL)
        return NULL;
    for (char *c = copy; *c != '\0'; c++)
        if ((unsigned char)*c >= 0x80)
            *c = '?';
    s = json_string(copy);
    free(copy);
    return s;
}

static json_t *report_json(const char *path, const vc_audio_report_t *rep)
{
    return json_pack("{s:o, s:b, s:s, s:f, s:I, s:i, s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "file",
                     path_json(path), "ok", 1, "version", vc_detect_version(), "duration_s",
                     rep->duration_s, "sample_rate", (json_int_t)rep->sample_rate, "channels",
                     rep->channels, "rms_dbfs", rep->rms_dbfs, "peak_dbfs", rep->peak_dbfs,
                     "clipping_ratio", rep->clipping_ratio, "silence_ratio", rep->silence_ratio,
                     "spectral_centroid_hz", rep->spectral_centroid_hz, "spectral_bandwidth_hz",
                     rep->spectral_bandwidth_hz, "spectral_flatness", rep->spectral_flatness);
}

static json_t *error_json(const char *path, int rc, const char *detail)
{
    return json_pack("{s:o, s:b, s:s, s:i, s:s}", "file", path_json(path), "ok", 0, "error",
                     vc_strerror(rc), "code", rc, "detail", detail);
}

/* Analyses one file and prints its line. Returns 0 when it was analysed. */
static int run_file(const char *path, const cli_args_t *args)
{
    char err[256] = "";
    uint8_t *data = NULL;
    size_t len = 0;
    vc_audio_report_t rep;

    int rc = read_file(path, &data, &len, err, sizeof(err));
    if (rc == 0)
        rc = vc_audio_analyze(data, len, args->format, &args->opts, &rep, err, sizeof(err));
    free(data);
    json_t *obj = rc == 0 ? report_json(path, &rep) : error_json(path, rc, err);
    if (obj == NULL) {
        fprintf(stderr, "vc-detect: %s: cannot build the JSON line\n", path);
        return rc != 0 ? rc : VC_ENOMEM;
    }
    json_dumpf(obj, stdout, JSON_COMPACT | JSON_REAL_PRECISION(6));
    fputc('\n', stdout);
    json_decref(obj);
    return rc;
}

/* Parses "--rate" as a whole decimal number in 1..UINT32_MAX. */
static int parse_rate(const char *s, uint32_t *rate)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v == 0 || v > UINT32_MAX)
        return VC_EINVAL;
    *rate = (uint32_t)v;
    return 0;
}

/* Parses the options before the files. Returns the index of the first file, 0 to exit
 * successfully (help) or -1 on a usage error. */
static int parse_args(int argc, char **argv, cli_args_t *args)
{
    int i = 1;

    args->format = NULL;
    vc_audio_opts_default(&args->opts);
    for (; i < argc && strncmp(argv[i], "-", 1) == 0; i++) {
        const char *opt = argv[i];
        if (strcmp(opt, "--") == 0)
            return i + 1;
        if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0)
            return 0;
        if (i + 1 >= argc) {
            fprintf(stderr, "vc-detect: %s needs a value\n", opt);
            return -1;
        }
        if (strcmp(opt, "--format") == 0) {
            args->format = argv[++i];
        } else if (strcmp(opt, "--rate") == 0) {
            if (parse_rate(argv[++i], &args->opts.pcm_sample_rate) != 0) {
                fprintf(stderr, "vc-detect: bad --rate %s\n", argv[i]);
                return -1;
            }
        } else {
            fprintf(stderr, "vc-detect: unknown option %s\n", opt);
            return -1;
        }
    }
    return i;
}

int main(int argc, char **argv)
{
    cli_args_t args;
    int failed = 0;

    int first = parse_args(argc, argv, &args);
    if (first == 0) {
        usage(stdout);
        return 0;
    }
    if (first < 0 || first >= argc) {
        usage(stderr);
        return 2;
    }
    for (int i = first; i < argc; i++)
        if (run_file(argv[i], &args) != 0)
            failed = 1;
    return failed;
}
