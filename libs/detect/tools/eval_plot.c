/* ROC and DET plots for vc-eval: one data file per curve, rendered by gnuplot (a Debian
 * package) through a pipe. The DET plot uses normal-deviate (probit) axes, as in ASVspoof
 * reports. */
#include <stdio.h>
#include <string.h>

#include "eval_metrics.h"

#define PATH_MAX_LEN 1024
#define CLAMP_LO 0.0005
#define CLAMP_HI 0.9995

static double clamp(double p)
{
    return p < CLAMP_LO ? CLAMP_LO : p > CLAMP_HI ? CLAMP_HI : p;
}

/* DIR/NAME_i.dat: fpr fnr tpr (clamped fpr and fnr for the probit axes). */
static int write_dat(const char *path, const vc_eval_roc_t *roc)
{
    FILE *fp = fopen(path, "w");
    if (fp == NULL)
        return -1;
    fprintf(fp, "# fpr fnr tpr fpr_clamped fnr_clamped threshold\n");
    for (size_t i = 0; i < roc->n; i++)
        fprintf(fp, "%.6f %.6f %.6f %.6f %.6f %.6g\n", roc->fpr[i], roc->fnr[i], 1.0 - roc->fnr[i],
                clamp(roc->fpr[i]), clamp(roc->fnr[i]), roc->thr[i]);
    return fclose(fp) == 0 ? 0 : -1;
}

static void plot_lines(FILE *gp, const char *dir, const char *name, const vc_eval_curve_t *c,
                       size_t n, const char *using)
{
    fprintf(gp, "plot ");
    for (size_t i = 0; i < n; i++)
        fprintf(gp, "%s'%s/%s_%zu.dat' using %s with lines lw 2 title '%s (EER %.1f%%)'",
                i ? ", " : "", dir, name, i, using, c[i].title, 100.0 * c[i].roc->eer);
    fprintf(gp, "\n");
}

int vc_eval_plot(const char *dir, const char *name, const vc_eval_curve_t *curves, size_t n)
{
    char path[PATH_MAX_LEN];
    for (size_t i = 0; i < n; i++) {
        int len = snprintf(path, sizeof(path), "%s/%s_%zu.dat", dir, name, i);
        if (len < 0 || (size_t)len >= sizeof(path) || write_dat(path, curves[i].roc) != 0)
            return -1;
    }
    FILE *gp = popen("gnuplot", "w");
    if (gp == NULL)
        return -1;
    fprintf(gp, "set terminal pngcairo size 800,600 noenhanced\nset grid\nset key bottom right\n");
    fprintf(gp, "set output '%s/%s_roc.png'\nset title 'ROC: %s'\n", dir, name, name);
    fprintf(gp, "set xlabel 'false alarm rate (bona fide called spoof)'\n"
                "set ylabel 'detection rate'\nset xrange [0:1]\nset yrange [0:1]\n");
    plot_lines(gp, dir, name, curves, n, "1:3");
    fprintf(gp, "set output '%s/%s_det.png'\nset title 'DET: %s'\nset key top right\n", dir, name,
            name);
    fprintf(
        gp,
        "set xlabel 'false alarm rate (%%)'\nset ylabel 'miss rate (%%)'\n"
        "set xrange [invnorm(0.0005):invnorm(0.95)]\nset yrange [invnorm(0.0005):invnorm(0.95)]\n"
        "set xtics ('0.1' invnorm(0.001), '0.5' invnorm(0.005), '1' invnorm(0.01), "
        "'2' invnorm(0.02), '5' invnorm(0.05), '10' invnorm(0.1), '20' invnorm(0.2), "
        "'40' invnorm(0.4), '60' invnorm(0.6), '80' invnorm(0.8), '90' invnorm(0.9))\n"
        "set ytics ('0.1' invnorm(0.001), '0.5' invnorm(0.005), '1' invnorm(0.01), "
        "'2' invnorm(0.02), '5' invnorm(0.05), '10' invnorm(0.1), '20' invnorm(0.2), "
        "'40' invnorm(0.4), '60' invnorm(0.6), '80' invnorm(0.8), '90' invnorm(0.9))\n");
    plot_lines(gp, dir, name, curves, n, "(invnorm($4)):(invnorm($5))");
    return pclose(gp) == 0 ? 0 : -1;
}
