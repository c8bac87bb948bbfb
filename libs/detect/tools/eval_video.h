#ifndef VC_EVAL_VIDEO_H
#define VC_EVAL_VIDEO_H
/* Evaluation of the video detector on a labelled list (tools/eval_video.c), for vc-eval. */
#include <stdio.h>

/* The labels of a video list, in report order; live is the bona fide class. */
#define VC_EVAL_VIDEO_LABELS "live|static_image|screen_replay|frame_duplication|interpolation|splice"

typedef struct {
    const char *list_path;  /* lines "path<TAB>label"; '#' lines and blank lines are skipped */
    const char *base_dir;   /* relative paths are resolved against it; NULL: the list's folder */
    const char *out_prefix; /* NULL, or writes PREFIX.tsv (one row per clip), PREFIX-roc.dat and
                             * PREFIX.png (detection rate against false alarms, gnuplot) */
    double threshold;       /* a clip is detected when its score >= threshold (0.5) */
    int verbose;            /* 1: one line per clip on out as it goes */
} vc_eval_video_opts_t;

/* Defaults: threshold 0.5, everything else NULL/0. */
void vc_eval_video_opts_default(vc_eval_video_opts_t *opts);

/* Returns 1 when every label in list_path is one of VC_EVAL_VIDEO_LABELS and at least one is
 * not "live" (so vc-eval can route the list here), else 0. */
int vc_eval_video_is_video_list(const char *list_path);

/* Analyses every clip of the list (one at a time, on this thread) and prints to out: per class
 * the clip count, detection rate (false-alarm rate for live), attribution (the top analyzer
 * names the class) and mean score; the EER of live against all attacks and against each
 * class; decode and analysis speed; failures. Returns 0, VC_ENOTFOUND/VC_EIO (list), VC_EINVAL
 * (bad line or label: err names the line) or VC_ENOMEM. Clips that fail to decode are counted
 * and listed, not fatal. The plot needs gnuplot (apt-get install gnuplot-nox); without it the
 * data files are still written and a note is printed. */
int vc_eval_video_run(const vc_eval_video_opts_t *opts, FILE *out, char *err, size_t errlen);

#endif
