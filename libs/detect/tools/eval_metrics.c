/* Detection metrics for vc-eval: equal error rate, area under the ROC curve, and the
 * ROC/DET operating points for plotting. Scores: higher means "more likely spoof"; the
 * negatives are bona fide clips, the positives one attack class. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval_metrics.h"

typedef struct {
    double score;
    int positive;
} item_t;

static int cmp_item(const void *a, const void *b)
{
    const item_t *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? -1 : 1;
    return x->positive - y->positive;
}

/* All scores in one sorted table; NULL on no memory. */
static item_t *merge(const double *neg, size_t nn, const double *pos, size_t np)
{
    item_t *it = malloc((nn + np + 1) * sizeof(item_t));
    if (it == NULL)
        return NULL;
    for (size_t i = 0; i < nn; i++)
        it[i] = (item_t){neg[i], 0};
    for (size_t i = 0; i < np; i++)
        it[nn + i] = (item_t){pos[i], 1};
    qsort(it, nn + np, sizeof(item_t), cmp_item);
    return it;
}

int vc_eval_roc(const double *neg, size_t nn, const double *pos, size_t np, vc_eval_roc_t *roc)
{
    memset(roc, 0, sizeof(*roc));
    if (nn == 0 || np == 0)
        return -1;
    item_t *it = merge(neg, nn, pos, np);
    size_t m = nn + np;
    roc->fpr = malloc((m + 1) * sizeof(double));
    roc->fnr = malloc((m + 1) * sizeof(double));
    roc->thr = malloc((m + 1) * sizeof(double));
    if (it == NULL || roc->fpr == NULL || roc->fnr == NULL || roc->thr == NULL) {
        free(it);
        vc_eval_roc_free(roc);
        return -1;
    }
    /* Threshold below item i: everything from i up is called spoof. */
    size_t neg_below = 0, pos_below = 0;
    double best_gap = 2.0, rank_sum = 0.0;
    for (size_t i = 0; i <= m; i++) {
        if (i == 0 || i == m || it[i].score != it[i - 1].score) {
            double fpr = (double)(nn - neg_below) / nn, fnr = (double)pos_below / np;
            roc->fpr[roc->n] = fpr;
            roc->fnr[roc->n] = fnr;
            roc->thr[roc->n] = i < m ? it[i].score : INFINITY;
            roc->n++;
            if (fabs(fpr - fnr) < best_gap) {
                best_gap = fabs(fpr - fnr);
                roc->eer = 0.5 * (fpr + fnr);
                roc->eer_threshold = i < m ? it[i].score : 1.0;
            }
        }
        if (i == m)
            break;
        if (it[i].positive)
            pos_below++;
        else
            neg_below++;
    }
    /* AUC by average ranks (ties share their rank). */
    for (size_t i = 0; i < m;) {
        size_t j = i;
        while (j < m && it[j].score == it[i].score)
            j++;
        double rank = 0.5 * ((double)i + 1 + (double)j);
        for (size_t t = i; t < j; t++)
            if (it[t].positive)
                rank_sum += rank;
        i = j;
    }
    roc->auc = (rank_sum - (double)np * (np + 1) / 2.0) / ((double)np * nn);
    free(it);
    return 0;
}

void vc_eval_roc_free(vc_eval_roc_t *roc)
{
    free(roc->fpr);
    free(roc->fnr);
    free(roc->thr);
    memset(roc, 0, sizeof(*roc));
}
