#ifndef VC_EVAL_REPORT_H
#define VC_EVAL_REPORT_H
/* vc-eval's per-clip outcomes and the report over them. */
#include <stddef.h>

#include "vc/detect_audio.h"

typedef struct {
    char *path;
    vc_audio_label_t label;
    double splice_s;
    int ok;
    double score, synth, replay, splice; /* fused and per-analyzer scores */
    vc_audio_verdict_t verdict;
    double found_s; /* strongest suspected splice, or -1 */
    double audio_s, cpu_ms;
} vc_eval_item_t;

typedef struct {
    const char *model_path, *plot_dir, *scores_path, *list;
    int threads;
    vc_audio_detect_opts_t opts;
} vc_eval_args_t;

/* Prints the evaluation report of the n items on stdout, writes args->scores_path and the
 * plots into args->plot_dir when set. Returns 0, or -1 when an output could not be written. */
int vc_eval_report(const vc_eval_item_t *items, size_t n, const vc_eval_args_t *args,
                   const char *model_version);

#endif
