#ifndef VC_EVAL_METRICS_H
#define VC_EVAL_METRICS_H
/* Metrics and plots shared by vc-eval's files. */
#include <stddef.h>

typedef struct {
    size_t n;    /* operating points, from "everything spoof" to "nothing spoof" */
    double *fpr; /* bona fide called spoof */
    double *fnr; /* attacks missed */
    double *thr; /* score threshold (>= thr is spoof) */
    double eer;  /* where fpr and fnr are closest, their mean */
    double eer_threshold;
    double auc; /* P(attack score > bona fide score), ties count half */
} vc_eval_roc_t;

/* Computes the ROC of nn negative and np positive scores. Returns 0, or -1 when a side is
 * empty or memory ran out (roc is then zeroed). Free with vc_eval_roc_free. */
int vc_eval_roc(const double *neg, size_t nn, const double *pos, size_t np, vc_eval_roc_t *roc);
void vc_eval_roc_free(vc_eval_roc_t *roc);

/* One curve of a plot. */
typedef struct {
    const char *title;
    const vc_eval_roc_t *roc;
} vc_eval_curve_t;

/* Writes DIR/NAME.dat per curve and renders DIR/NAME_roc.png and DIR/NAME_det.png with
 * gnuplot (pngcairo, falling back to png). Returns 0, or -1 when a file cannot be written or
 * gnuplot fails (the .dat files stay). */
int vc_eval_plot(const char *dir, const char *name, const vc_eval_curve_t *curves, size_t n);

#endif
