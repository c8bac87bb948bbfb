/* vc-eval's report: EER/AUC per attack for the fused score and for each attack's own
 * analyzer, per-class outcomes at the configured thresholds, splice localisation, the
 * per-clip score file and the ROC/DET plots. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval_metrics.h"
#include "eval_report.h"

#define LOCATE_TOL_S 0.1
#define N_ATTACKS 3

static const vc_audio_label_t attacks[N_ATTACKS] = {VC_AUDIO_LABEL_TTS, VC_AUDIO_LABEL_REPLAY,
                                                    VC_AUDIO_LABEL_SPLICE};

/* The score an attack's own analyzer gives. */
static double own_score(const vc_eval_item_t *it, vc_audio_label_t attack)
{
    switch (attack) {
    case VC_AUDIO_LABEL_TTS:
        return it->synth;
    case VC_AUDIO_LABEL_REPLAY:
        return it->replay;
    case VC_AUDIO_LABEL_SPLICE:
        return it->splice;
    default:
        return it->score;
    }
}

/* Scores of the successful items with a label (all attacks when label < 0); own selects the
 * attack's own analyzer (for bona fide items: the analyzer of attack). */
static size_t collect(const vc_eval_item_t *items, size_t n, int label, int own,
                      vc_audio_label_t attack, double *out)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const vc_eval_item_t *it = &items[i];
        if (!it->ok || (label >= 0 && (int)it->label != label) ||
            (label < 0 && it->label == VC_AUDIO_LABEL_BONAFIDE))
            continue;
        out[m++] = own ? own_score(it, attack) : it->score;
    }
    return m;
}

/* ROC of bona fide vs attack (attack < 0: all attacks; fused score only). */
static int roc_for(const vc_eval_item_t *items, size_t n, int attack, int own, double *neg,
                   double *pos, vc_eval_roc_t *roc)
{
    vc_audio_label_t a = attack >= 0 ? (vc_audio_label_t)attack : VC_AUDIO_LABEL_BONAFIDE;
    size_t nn = collect(items, n, VC_AUDIO_LABEL_BONAFIDE, own && attack >= 0, a, neg);
    size_t np = collect(items, n, attack, own && attack >= 0, a, pos);
    return vc_eval_roc(neg, nn, pos, np, roc);
}

static void print_outcomes(const vc_eval_item_t *items, size_t n)
{
    printf("\nper-class outcome at the thresholds (share of clips):\n");
    printf("  %-9s %6s %9s %13s %8s %9s\n", "class", "clips", "genuine", "inconclusive", "spoof",
           "correct");
    for (int c = 0; c < VC_AUDIO_LABELS; c++) {
        size_t cnt[3] = {0, 0, 0}, total = 0;
        for (size_t i = 0; i < n; i++)
            if (items[i].ok && (int)items[i].label == c) {
                cnt[items[i].verdict]++;
                total++;
            }
        if (total == 0)
            continue;
        double correct = c == VC_AUDIO_LABEL_BONAFIDE ? cnt[VC_AUDIO_GENUINE] : cnt[VC_AUDIO_SPOOF];
        printf("  %-9s %6zu %8.1f%% %12.1f%% %7.1f%% %8.1f%%\n",
               vc_audio_label_name((vc_audio_label_t)c), total,
               100.0 * cnt[VC_AUDIO_GENUINE] / total, 100.0 * cnt[VC_AUDIO_INCONCLUSIVE] / total,
               100.0 * cnt[VC_AUDIO_SPOOF] / total, 100.0 * correct / total);
    }
}

static void print_splice_location(const vc_eval_item_t *items, size_t n)
{
    size_t total = 0, hit = 0;
    double err_sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!items[i].ok || items[i].label != VC_AUDIO_LABEL_SPLICE)
            continue;
        total++;
        double e = items[i].found_s >= 0.0 ? fabs(items[i].found_s - items[i].splice_s) : 1e9;
        hit += e <= LOCATE_TOL_S;
        err_sum += e < 1e8 ? e : 0.0;
    }
    if (total > 0)
        printf("\nsplice located within %.0f ms: %zu of %zu (%.1f%%)\n", LOCATE_TOL_S * 1e3, hit,
               total, 100.0 * hit / total);
}

static void print_throughput(const vc_eval_item_t *items, size_t n)
{
    double audio = 0.0, ms = 0.0;
    for (size_t i = 0; i < n; i++)
        if (items[i].ok) {
            audio += items[i].audio_s;
            ms += items[i].cpu_ms;
        }
    if (ms > 0.0)
        printf("engine time: %.1f s of audio in %.2f s (%.0fx real time, wall per call)\n", audio,
               ms / 1e3, audio / (ms / 1e3));
}

static int write_scores(const char *path, const vc_eval_item_t *items, size_t n)
{
    FILE *fp = fopen(path, "w");
    if (fp == NULL)
        return -1;
    fprintf(fp, "path\tlabel\tok\tscore\tverdict\tsynthetic_speech\treplay\tsplice\tsplice_true_s\t"
                "splice_found_s\n");
    for (size_t i = 0; i < n; i++) {
        const vc_eval_item_t *it = &items[i];
        fprintf(fp, "%s\t%s\t%d\t%.5f\t%s\t%.5f\t%.5f\t%.5f\t%.3f\t%.3f\n", it->path,
                vc_audio_label_name(it->label), it->ok, it->score,
                vc_audio_verdict_name(it->verdict), it->synth, it->replay, it->splice, it->splice_s,
                it->found_s);
    }
    return fclose(fp) == 0 ? 0 : -1;
}

/* Prints the EER table and fills roc[own][attack] (attack N_ATTACKS = all attacks). */
static void print_eer(const vc_eval_item_t *items, size_t n, double *neg, double *pos,
                      vc_eval_roc_t roc[2][N_ATTACKS + 1])
{
    printf("\n  %-8s %6s %11s %11s %16s %14s\n", "attack", "clips", "EER fused", "AUC fused",
           "EER own analyzer", "AUC own");
    for (int a = 0; a <= N_ATTACKS; a++) {
        int attack = a < N_ATTACKS ? (int)attacks[a] : -1;
        int ok0 = roc_for(items, n, attack, 0, neg, pos, &roc[0][a]);
        int ok1 = a < N_ATTACKS ? roc_for(items, n, attack, 1, neg, pos, &roc[1][a]) : -1;
        size_t np = collect(items, n, attack, 0, VC_AUDIO_LABEL_BONAFIDE, pos);
        if (ok0 != 0)
            continue;
        printf("  %-8s %6zu %10.2f%% %11.4f",
               a < N_ATTACKS ? vc_audio_label_name(attacks[a]) : "all", np, 100.0 * roc[0][a].eer,
               roc[0][a].auc);
        if (ok1 == 0)
            printf(" %15.2f%% %14.4f\n", 100.0 * roc[1][a].eer, roc[1][a].auc);
        else
            printf(" %16s %14s\n", "-", "-");
    }
}

static int plots(const char *dir, vc_eval_roc_t roc[2][N_ATTACKS + 1])
{
    vc_eval_curve_t curves[N_ATTACKS + 1];
    size_t m = 0;
    for (int a = 0; a <= N_ATTACKS; a++)
        if (roc[0][a].n > 0)
            curves[m++] = (vc_eval_curve_t){
                a < N_ATTACKS ? vc_audio_label_name(attacks[a]) : "all attacks", &roc[0][a]};
    int rc = m > 0 ? vc_eval_plot(dir, "fused", curves, m) : 0;
    m = 0;
    for (int a = 0; a < N_ATTACKS; a++)
        if (roc[1][a].n > 0)
            curves[m++] = (vc_eval_curve_t){vc_audio_label_name(attacks[a]), &roc[1][a]};
    if (rc == 0 && m > 0)
        rc = vc_eval_plot(dir, "own_analyzer", curves, m);
    return rc;
}

int vc_eval_report(const vc_eval_item_t *items, size_t n, const vc_eval_args_t *args,
                   const char *model_version)
{
    vc_eval_roc_t roc[2][N_ATTACKS + 1];
    double *neg = malloc((n + 1) * sizeof(double)), *pos = malloc((n + 1) * sizeof(double));
    size_t failed = 0;
    int rc = 0;

    memset(roc, 0, sizeof(roc));
    if (neg == NULL || pos == NULL) {
        free(neg);
        free(pos);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        failed += !items[i].ok;
    printf("vc-eval: %s, model %s: %zu clips (%zu failed); verdict thresholds: genuine < %.2f, "
           "spoof >= %.2f\n",
           args->list, model_version, n, failed, args->opts.genuine_below, args->opts.spoof_from);
    print_eer(items, n, neg, pos, roc);
    print_outcomes(items, n);
    print_splice_location(items, n);
    print_throughput(items, n);
    if (args->scores_path != NULL && write_scores(args->scores_path, items, n) != 0) {
        fprintf(stderr, "vc-eval: cannot write %s\n", args->scores_path);
        rc = -1;
    }
    if (args->plot_dir != NULL && plots(args->plot_dir, roc) != 0) {
        fprintf(stderr, "vc-eval: plots into %s failed\n", args->plot_dir);
        rc = -1;
    }
    for (int o = 0; o < 2; o++)
        for (int a = 0; a <= N_ATTACKS; a++)
            vc_eval_roc_free(&roc[o][a]);
    free(neg);
    free(pos);
    return rc;
}
