/* Diagonal-covariance Gaussian mixtures: storage, scoring tables and log-likelihood. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audio_engine.h"
#include "vc/error.h"

#define LOG_2PI 1.8378770664093453

int vc_gmm__alloc(vc_gmm__t *gmm, int k, int d)
{
    memset(gmm, 0, sizeof(*gmm));
    if (k < 1 || d < 1 || k > 4096 || d > 256)
        return VC_EINVAL;
    size_t kd = (size_t)k * (size_t)d;
    gmm->k = k;
    gmm->d = d;
    gmm->weight = calloc((size_t)k, sizeof(float));
    gmm->mean = calloc(kd, sizeof(float));
    gmm->var = calloc(kd, sizeof(float));
    gmm->a_t = calloc(kd, sizeof(float));
    gmm->b_t = calloc(kd, sizeof(float));
    gmm->c = calloc((size_t)k, sizeof(float));
    if (gmm->weight == NULL || gmm->mean == NULL || gmm->var == NULL || gmm->a_t == NULL ||
        gmm->b_t == NULL || gmm->c == NULL) {
        vc_gmm__free(gmm);
        return VC_ENOMEM;
    }
    return 0;
}

void vc_gmm__free(vc_gmm__t *gmm)
{
    if (gmm == NULL)
        return;
    free(gmm->weight);
    free(gmm->mean);
    free(gmm->var);
    free(gmm->a_t);
    free(gmm->b_t);
    free(gmm->c);
    memset(gmm, 0, sizeof(*gmm));
}

int vc_gmm__prepare(vc_gmm__t *gmm)
{
    for (int j = 0; j < gmm->k; j++) {
        double w = gmm->weight[j];
        if (!(w > 0.0 && isfinite(w)))
            return VC_EINVAL;
        double c = log(w) - 0.5 * gmm->d * LOG_2PI;
        for (int i = 0; i < gmm->d; i++) {
            size_t at = (size_t)j * (size_t)gmm->d + (size_t)i;
            double v = gmm->var[at], m = gmm->mean[at];
            if (!(v > 0.0 && isfinite(v) && isfinite(m)))
                return VC_EINVAL;
            double p = 1.0 / v;
            c -= 0.5 * (log(v) + m * m * p);
            gmm->a_t[(size_t)i * (size_t)gmm->k + (size_t)j] = (float)p;
            gmm->b_t[(size_t)i * (size_t)gmm->k + (size_t)j] = (float)(m * p);
        }
        gmm->c[j] = (float)c;
    }
    return 0;
}

/* Cloned for AVX2+FMA and the baseline ISA (GCC picks one at load time through an ifunc): the
 * loop over components is the engine's hot spot. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2,arch=haswell", "default")))
#endif
void vc_gmm__scores(const vc_gmm__t *gmm, const float *x, float *score)
{
    const int k = gmm->k;
    memcpy(score, gmm->c, (size_t)k * sizeof(float));
    for (int i = 0; i < gmm->d; i++) {
        const float xi = x[i], hx2 = -0.5f * x[i] * x[i];
        const float *a = gmm->a_t + (size_t)i * (size_t)k;
        const float *b = gmm->b_t + (size_t)i * (size_t)k;
        for (int j = 0; j < k; j++)
            score[j] += b[j] * xi + a[j] * hx2;
    }
}

double vc_gmm__loglik(const vc_gmm__t *gmm, const float *x, float *work)
{
    float *score = work;
    vc_gmm__scores(gmm, x, score);
    float best = score[0];
    for (int j = 1; j < gmm->k; j++)
        if (score[j] > best)
            best = score[j];
    double sum = 0.0;
    for (int j = 0; j < gmm->k; j++) {
        float z = score[j] - best;
        if (z > -30.0f)
            sum += expf(z);
    }
    return best + log(sum);
}
