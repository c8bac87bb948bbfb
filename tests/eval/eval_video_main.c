/* eval-video: stand-alone driver for the video evaluation until vc-eval routes video lists
 * to vc_eval_video_run. Not built by CMake; build against a build tree by hand:
 *   B=build-video; gcc -O2 -Ilibs/detect/include -Ilibs/core/include -Ilibs/detect/tools \
 *     tests/eval/eval_video_main.c libs/detect/tools/eval_video.c $B/libs/detect/libvc_detect.a \
 *     $B/libs/core/libvc_core.a $(pkg-config --libs libavformat libavcodec libswscale \
 *     libavutil sndfile fftw3 soxr) -lm -lpthread -o $B/bin/eval-video
 *   eval-video [-v] [--out PREFIX] [--threshold T] LIST.tsv */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval_video.h"
#include "vc/error.h"
#include "vc/video.h"

int main(int argc, char **argv)
{
    vc_eval_video_opts_t opts;
    char err[512] = "";
    int i = 1;

    vc_eval_video_opts_default(&opts);
    for (; i < argc - 1; i++) {
        if (strcmp(argv[i], "-v") == 0) {
            opts.verbose = 1;
        } else if (strcmp(argv[i], "--out") == 0) {
            opts.out_prefix = argv[++i];
        } else if (strcmp(argv[i], "--threshold") == 0) {
            char *end = NULL;
            errno = 0;
            opts.threshold = strtod(argv[++i], &end);
            if (errno != 0 || end == argv[i] || *end != '\0') {
                fprintf(stderr, "eval-video: bad --threshold\n");
                return 2;
            }
        } else {
            break;
        }
    }
    if (i != argc - 1) {
        fprintf(stderr, "usage: eval-video [-v] [--out PREFIX] [--threshold T] LIST.tsv\n");
        return 2;
    }
    opts.list_path = argv[i];
    vc_video_quiet_logs();
    int rc = vc_eval_video_run(&opts, stdout, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "eval-video: %s: %s\n", vc_strerror(rc), err);
        return 1;
    }
    return 0;
}
