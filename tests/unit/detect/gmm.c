/* The diagonal GMM against hand-computable cases, its training on separable data, and the
 * logistic fit. */
#include <math.h>
#include <stdint.h>

#include "../../../libs/detect/src/audio_engine.h"
#include "test.h"
#include "vc/error.h"

#define LOG_2PI 1.8378770664093453

static void test_single_gaussian(void)
{
    vc_gmm__t gmm;
    float work[1];
    ASSERT_OK(vc_gmm__alloc(&gmm, 1, 2));
    gmm.weight[0] = 1.0f;
    gmm.mean[0] = 1.0f;
    gmm.mean[1] = -2.0f;
    gmm.var[0] = 4.0f;
    gmm.var[1] = 0.25f;
    ASSERT_OK(vc_gmm__prepare(&gmm));
    /* log N(x) = -log(2 pi) - 0.5 log(4 * 0.25) - 0.5 ((3-1)^2/4 + (-1.5+2)^2/0.25) = -log(2pi) - 1
     */
    float x[2] = {3.0f, -1.5f};
    ASSERT_NEAR(vc_gmm__loglik(&gmm, x, work), -LOG_2PI - 1.0, 1e-5);
    vc_gmm__free(&gmm);
}

static void test_two_components(void)
{
    vc_gmm__t gmm;
    float work[2];
    ASSERT_OK(vc_gmm__alloc(&gmm, 2, 1));
    gmm.weight[0] = 0.25f;
    gmm.weight[1] = 0.75f;
    gmm.mean[0] = -1.0f;
    gmm.mean[1] = 1.0f;
    gmm.var[0] = gmm.var[1] = 1.0f;
    ASSERT_OK(vc_gmm__prepare(&gmm));
    /* At x = 0 both components give exp(-0.5)/sqrt(2 pi): the mixture is the same. */
    float x = 0.0f;
    ASSERT_NEAR(vc_gmm__loglik(&gmm, &x, work), -0.5 * LOG_2PI - 0.5, 1e-5);
    x = 1.0f;
    double want = log(0.25 * exp(-2.0) + 0.75) - 0.5 * LOG_2PI;
    ASSERT_NEAR(vc_gmm__loglik(&gmm, &x, work), want, 1e-5);
    gmm.var[0] = 0.0f;
    ASSERT_EQ(vc_gmm__prepare(&gmm), VC_EINVAL);
    vc_gmm__free(&gmm);
}

static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

/* Two clusters in 2-D, 30% at (-5, 0) and 70% at (5, 3); unit variance (approximately: sums
 * of uniforms). */
static float *clusters(size_t n)
{
    float *x = malloc(n * 2 * sizeof(float));
    uint64_t s = 42;
    for (size_t i = 0; i < n; i++) {
        int c = i % 10 < 3;
        for (int d = 0; d < 2; d++) {
            double u = 0.0;
            for (int k = 0; k < 12; k++)
                u += (double)lcg(&s) / 2147483648.0;
            x[i * 2 + (size_t)d] = (float)((u - 6.0) + (c ? (d ? 0.0 : -5.0) : (d ? 3.0 : 5.0)));
        }
    }
    return x;
}

static void test_training_recovers_clusters(void)
{
    size_t n = 4000;
    float *x = clusters(n);
    vc_gmm__t a, b;
    vc_gmm__train_opts_t opts = {2, 10, 7, 0.01};
    char err[128];
    ASSERT_OK(vc_gmm__train(&a, x, n, 2, &opts, err, sizeof(err)));
    int lo = a.mean[0] < a.mean[2] ? 0 : 1;
    ASSERT_NEAR(a.mean[lo * 2], -5.0, 0.15);
    ASSERT_NEAR(a.mean[lo * 2 + 1], 0.0, 0.15);
    ASSERT_NEAR(a.mean[(1 - lo) * 2], 5.0, 0.15);
    ASSERT_NEAR(a.weight[lo], 0.3, 0.02);
    ASSERT_NEAR(a.var[lo * 2], 1.0, 0.15);
    /* Deterministic: the same seed gives the same numbers. */
    ASSERT_OK(vc_gmm__train(&b, x, n, 2, &opts, err, sizeof(err)));
    ASSERT(memcmp(a.mean, b.mean, 4 * sizeof(float)) == 0);
    ASSERT(memcmp(a.var, b.var, 4 * sizeof(float)) == 0);
    vc_gmm__free(&a);
    vc_gmm__free(&b);
    opts.k = 5000;
    ASSERT_EQ(vc_gmm__train(&a, x, n, 2, &opts, err, sizeof(err)), VC_EINVAL);
    free(x);
}

static void test_logreg_separates(void)
{
    double x[200];
    uint8_t y[200];
    vc_logreg__t lr;
    for (int i = 0; i < 200; i++) {
        y[i] = i % 2;
        x[i] = (y[i] ? 2.0 : -2.0) + ((i * 37) % 17 - 8) / 4.0;
    }
    ASSERT_OK(vc_logreg__fit(&lr, x, y, 200, 1, 1e-3));
    double hi = 3.0, lo = -3.0, mid = 0.0;
    ASSERT(vc_audio__sigmoid(vc_logreg__logit(&lr, &hi)) > 0.9);
    ASSERT(vc_audio__sigmoid(vc_logreg__logit(&lr, &lo)) < 0.1);
    ASSERT_NEAR(vc_audio__sigmoid(vc_logreg__logit(&lr, &mid)), 0.5, 0.1);
    memset(y, 0, sizeof(y));
    ASSERT_EQ(vc_logreg__fit(&lr, x, y, 200, 1, 1e-3), VC_EINVAL);
}

int main(void)
{
    RUN(test_single_gaussian);
    RUN(test_two_components);
    RUN(test_training_recovers_clusters);
    RUN(test_logreg_separates);
    return 0;
}
