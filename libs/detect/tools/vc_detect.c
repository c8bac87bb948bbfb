/* vc-detect: analyse audio (and video) files offline and print one JSON object per file on
 * stdout: the signal report and, with the audio model, the verdict, the fused score, every
 * analyzer's score and evidence, per-segment scores and suspected splice times.
 *
 *   vc-detect [--format auto|wav|flac|ogg|pcm16] [--rate HZ] [--model PATH] FILE...
 *
 * The model is --model, else $AUDIO_MODEL_PATH, else the compiled-in path; when it cannot be
 * loaded the signal report alone is printed (and a warning on stderr). Video files (by their
 * magic bytes) go to the video detector (tools/cli_video.c).
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

#include "cli_audio.h"
#include "cli_json.h"
#include "cli_video.h"
#include "vc/detect.h"
#include "vc/detect_audio.h"
#include "vc/error.h"
#include "vc/video.h"

#define MAX_FILE_BYTES ((size_t)256 * 1024 * 1024)

typedef struct {
    const char *format;
    const char *model_path;
    vc_audio_opts_t opts;
    vc_audio_model_t *model; /* NULL: signal report only */
} cli_args_t;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: vc-detect [--format auto|wav|flac|ogg|pcm16] [--rate HZ] [--model PATH] "
            "FILE...\n"
            "Prints one JSON object per FILE (analysis %s).\n",
            vc_detect_version());
}

static json_t *report_json(const char *path, const vc_audio_report_t *rep)
{
    return json_pack("{s:o, s:b, s:s, s:f, s:I, s:i, s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "file",
                     vc_cli_path_json(path), "ok", 1, "version", vc_detect_version(), "duration_s",
                     rep->duration_s, "sample_rate", (json_int_t)rep->sample_rate, "channels",
                     rep->channels, "rms_dbfs", rep->rms_dbfs, "peak_dbfs", rep->peak_dbfs,
                     "clipping_ratio", rep->clipping_ratio, "silence_ratio", rep->silence_ratio,
                     "spectral_centroid_hz", rep->spectral_centroid_hz, "spectral_bandwidth_hz",
                     rep->spectral_bandwidth_hz, "spectral_flatness", rep->spectral_flatness);
}

static json_t *error_json(const char *path, int rc, const char *detail)
{
    return json_pack("{s:o, s:b, s:s, s:i, s:s}", "file", vc_cli_path_json(path), "ok", 0, "error",
                     vc_strerror(rc), "code", rc, "detail", detail);
}

/* Adds the model's detection of data to obj, when a model is loaded. */
static int add_detection(json_t *obj, const uint8_t *data, size_t len, const cli_args_t *args,
                         char *err, size_t errlen)
{
    vc_audio_detect_opts_t dopts;
    if (args->model == NULL)
        return 0;
    vc_audio_detection_t *det = malloc(sizeof(*det));
    if (det == NULL)
        return vc_err(err, errlen, VC_ENOMEM, "no memory for the detection");
    vc_audio_detect_opts_default(&dopts);
    dopts.decode = args->opts;
    int rc = vc_audio_detect(args->model, data, len, args->format, &dopts, det, err, errlen);
    if (rc == 0 && vc_cli_audio_fill(obj, det) != 0)
        rc = vc_err(err, errlen, VC_ENOMEM, "cannot build the JSON line");
    free(det);
    return rc;
}

/* Prints obj as one line and frees it. */
static void print_line(const char *path, json_t *obj)
{
    if (obj == NULL) {
        fprintf(stderr, "vc-detect: %s: cannot build the JSON line\n", path);
        return;
    }
    json_dumpf(obj, stdout, JSON_COMPACT | JSON_REAL_PRECISION(6));
    fputc('\n', stdout);
    json_decref(obj);
}

/* Analyses one file and prints its line. Returns 0 when it was analysed. */
static int run_file(const char *path, const cli_args_t *args)
{
    char err[256] = "";
    uint8_t *data = NULL;
    size_t len = 0;
    vc_audio_report_t rep;

    if (args->format == NULL && vc_cli_video_looks_like_video(path)) {
        json_t *obj = vc_cli_video_report(path, err, sizeof(err));
        int ok = obj != NULL && json_is_true(json_object_get(obj, "ok"));
        print_line(path, obj);
        return ok ? 0 : VC_EFORMAT;
    }
    int rc = vc_detect_read_file(path, MAX_FILE_BYTES, &data, &len, err, sizeof(err));
    if (rc == 0)
        rc = vc_audio_analyze(data, len, args->format, &args->opts, &rep, err, sizeof(err));
    json_t *obj = rc == 0 ? report_json(path, &rep) : error_json(path, rc, err);
    if (rc == 0 && obj != NULL) {
        rc = add_detection(obj, data, len, args, err, sizeof(err));
        if (rc != 0) {
            json_decref(obj);
            obj = error_json(path, rc, err);
        }
    }
    free(data);
    print_line(path, obj);
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
    args->model_path = NULL;
    args->model = NULL;
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
        } else if (strcmp(opt, "--model") == 0) {
            args->model_path = argv[++i];
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

/* Loads the audio model (--model, $AUDIO_MODEL_PATH, the compiled-in path); warns and
 * leaves args->model NULL when it cannot. */
static void load_model(cli_args_t *args)
{
    char err[256];
    const char *path = args->model_path;
    const char *env = getenv("AUDIO_MODEL_PATH");
    if (path == NULL)
        path = env != NULL && env[0] != '\0' ? env : vc_audio_model_default_path();
    if (vc_audio_model_load(path, &args->model, err, sizeof(err)) != 0)
        fprintf(stderr, "vc-detect: no audio model (%s): signal report only\n", err);
}

int main(int argc, char **argv)
{
    cli_args_t args;
    int failed = 0;

    vc_video_quiet_logs(); /* errors are reported in the JSON, not by libav on stderr */
    int first = parse_args(argc, argv, &args);
    if (first == 0) {
        usage(stdout);
        return 0;
    }
    if (first < 0 || first >= argc) {
        usage(stderr);
        return 2;
    }
    load_model(&args);
    for (int i = first; i < argc; i++)
        if (run_file(argv[i], &args) != 0)
            failed = 1;
    vc_audio_model_free(args.model);
    return failed;
}
