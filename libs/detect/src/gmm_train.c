/* GMM training: k-means++ seeding on a subsample, Lloyd refinement, then EM with a
 * variance floor. Deterministic: every random choice comes from a splitmix64 stream seeded
 * by the caller, and every sum runs in a fixed order. Single-threaded (vc-train). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audio_engine.h"
#include "vc/error.h"

#define INIT_SAMPLE 20000
#define LLOYD_ITERS 5
#define MIN_POSTERIOR 1e-5f
#define MIN_WEIGHT 1e-6

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double uniform(uint64_t *state)
{
    return (double)(splitmix64(state) >> 11) * (1.0 / 9007199254740992.0);
}

static double sqdist(const float *a, const float *b, int d)
{
    double s = 0.0;
    for (int i = 0; i < d; i++) {
        double t = (double)a[i] - b[i];
        s += t * t;
    }
    return s;
}

/* Global mean and variance of each dimension. */
static void global_stats(const float *x, size_t n, int d, double *mean, double *var)
{
    for (int i = 0; i < d; i++)
        mean[i] = var[i] = 0.0;
    for (size_t r = 0; r < n; r++)
        for (int i = 0; i < d; i++)
            mean[i] += x[r * (size_t)d + (size_t)i];
    for (int i = 0; i < d; i++)
        mean[i] /= (double)n;
    for (size_t r = 0; r < n; r++)
        for (int i = 0; i < d; i++) {
            double t = x[r * (size_t)d + (size_t)i] - mean[i];
            var[i] += t * t;
        }
    for (int i = 0; i < d; i++)
        var[i] = var[i] / (double)n > 1e-8 ? var[i] / (double)n : 1e-8;
}

/* k-means++ on m sample rows (indices idx into x), then Lloyd; writes means, variances and
 * weights of gmm from the final clusters. */
static int kmeans_init(vc_gmm__t *gmm, const float *x, const size_t *idx, size_t m,
                       const double *gvar, double floor_rel, uint64_t *rng)
{
    const int k = gmm->k, d = gmm->d;
    double *dist = malloc(m * sizeof(double));
    int *assign = malloc(m * sizeof(int));
    double *acc = calloc((size_t)k * (size_t)d * 2, sizeof(double));
    double *cnt = calloc((size_t)k, sizeof(double));
    int rc = VC_ENOMEM;

    if (dist == NULL || assign == NULL || acc == NULL || cnt == NULL)
        goto fail;
    memcpy(gmm->mean, x + idx[splitmix64(rng) % m] * (size_t)d, (size_t)d * sizeof(float));
    for (size_t r = 0; r < m; r++)
        dist[r] = sqdist(x + idx[r] * (size_t)d, gmm->mean, d);
    for (int j = 1; j < k; j++) {
        double total = 0.0;
        for (size_t r = 0; r < m; r++)
            total += dist[r];
        double pick = uniform(rng) * total, run = 0.0;
        size_t chosen = m - 1;
        for (size_t r = 0; r < m; r++) {
            run += dist[r];
            if (run >= pick && dist[r] > 0.0) {
                chosen = r;
                break;
            }
        }
        float *mu = gmm->mean + (size_t)j * (size_t)d;
        memcpy(mu, x + idx[chosen] * (size_t)d, (size_t)d * sizeof(float));
        for (size_t r = 0; r < m; r++) {
            double dd = sqdist(x + idx[r] * (size_t)d, mu, d);
            if (dd < dist[r])
                dist[r] = dd;
        }
    }
    for (int it = 0; it <= LLOYD_ITERS; it++) {
        for (size_t r = 0; r < m; r++) {
            const float *row = x + idx[r] * (size_t)d;
            int best = 0;
            double bd = sqdist(row, gmm->mean, d);
            for (int j = 1; j < k; j++) {
                double dd = sqdist(row, gmm->mean + (size_t)j * (size_t)d, d);
                if (dd < bd) {
                    bd = dd;
                    best = j;
                }
            }
            assign[r] = best;
        }
        memset(acc, 0, (size_t)k * (size_t)d * 2 * sizeof(double));
        memset(cnt, 0, (size_t)k * sizeof(double));
        for (size_t r = 0; r < m; r++) {
            const float *row = x + idx[r] * (size_t)d;
            double *a = acc + (size_t)assign[r] * (size_t)d * 2;
            cnt[assign[r]] += 1.0;
            for (int i = 0; i < d; i++) {
                a[i] += row[i];
                a[d + i] += (double)row[i] * row[i];
            }
        }
        for (int j = 0; j < k; j++) {
            if (cnt[j] < 1.0)
                continue; /* an empty cluster keeps its seed */
            double *a = acc + (size_t)j * (size_t)d * 2;
            for (int i = 0; i < d; i++) {
                double mu = a[i] / cnt[j];
                double v = a[d + i] / cnt[j] - mu * mu;
                gmm->mean[(size_t)j * (size_t)d + (size_t)i] = (float)mu;
                gmm->var[(size_t)j * (size_t)d + (size_t)i] =
                    (float)(v > floor_rel * gvar[i] ? v : floor_rel * gvar[i]);
            }
        }
    }
    for (int j = 0; j < k; j++) {
        gmm->weight[j] = (float)((cnt[j] + 1.0) / ((double)m + k));
        if (cnt[j] < 1.0)
            for (int i = 0; i < d; i++)
                gmm->var[(size_t)j * (size_t)d + (size_t)i] = (float)gvar[i];
    }
    rc = 0;

fail:
    free(dist);
    free(assign);
    free(acc);
    free(cnt);
    return rc;
}

/* One EM iteration over all n rows. acc: k x (2d) doubles, cnt: k doubles, post: k floats. */
static void em_step(vc_gmm__t *gmm, const float *x, size_t n, const double *gvar, double floor_rel,
                    double *acc, double *cnt, float *post)
{
    const int k = gmm->k, d = gmm->d;
    memset(acc, 0, (size_t)k * (size_t)d * 2 * sizeof(double));
    memset(cnt, 0, (size_t)k * sizeof(double));
    for (size_t r = 0; r < n; r++) {
        const float *row = x + r * (size_t)d;
        vc_gmm__scores(gmm, row, post);
        float best = post[0];
        for (int j = 1; j < k; j++)
            best = post[j] > best ? post[j] : best;
        double sum = 0.0;
        for (int j = 0; j < k; j++) {
            post[j] = post[j] - best > -30.0f ? expf(post[j] - best) : 0.0f;
            sum += post[j];
        }
        for (int j = 0; j < k; j++) {
            float g = (float)(post[j] / sum);
            if (g < MIN_POSTERIOR)
                continue;
            double *a = acc + (size_t)j * (size_t)d * 2;
            cnt[j] += g;
            for (int i = 0; i < d; i++) {
                a[i] += g * row[i];
                a[d + i] += g * row[i] * row[i];
            }
        }
    }
    double total = 0.0;
    for (int j = 0; j < k; j++)
        total += cnt[j] > MIN_WEIGHT * n ? cnt[j] : MIN_WEIGHT * n;
    for (int j = 0; j < k; j++) {
        double c = cnt[j] > MIN_WEIGHT * n ? cnt[j] : MIN_WEIGHT * n;
        gmm->weight[j] = (float)(c / total);
        if (cnt[j] < 1e-3)
            continue; /* a dead component keeps its mean and variance */
        double *a = acc + (size_t)j * (size_t)d * 2;
        for (int i = 0; i < d; i++) {
            double mu = a[i] / cnt[j];
            double v = a[d + i] / cnt[j] - mu * mu;
            gmm->mean[(size_t)j * (size_t)d + (size_t)i] = (float)mu;
            gmm->var[(size_t)j * (size_t)d + (size_t)i] =
                (float)(v > floor_rel * gvar[i] ? v : floor_rel * gvar[i]);
        }
    }
}

int vc_gmm__train(vc_gmm__t *gmm, const float *x, size_t n, int d, const vc_gmm__train_opts_t *opts,
                  char *err, size_t errlen)
{
    const int k = opts->k;
    uint64_t rng = opts->seed;
    size_t m = n < INIT_SAMPLE ? n : INIT_SAMPLE;
    double *gmean = malloc((size_t)d * sizeof(double));
    double *gvar = malloc((size_t)d * sizeof(double));
    size_t *idx = malloc(m * sizeof(size_t));
    double *acc = malloc((size_t)k * (size_t)d * 2 * sizeof(double));
    double *cnt = malloc((size_t)k * sizeof(double));
    float *post = malloc((size_t)k * sizeof(float));
    int rc;

    memset(gmm, 0, sizeof(*gmm));
    if (n < (size_t)k || k < 1) {
        rc = vc_err(err, errlen, VC_EINVAL, "%zu frames for %d components", n, k);
        goto fail;
    }
    rc = vc_err(err, errlen, VC_ENOMEM, "no memory to train a %d-component GMM", k);
    if (gmean == NULL || gvar == NULL || idx == NULL || acc == NULL || cnt == NULL ||
        post == NULL || vc_gmm__alloc(gmm, k, d) != 0)
        goto fail;
    global_stats(x, n, d, gmean, gvar);
    for (size_t r = 0; r < m; r++)
        idx[r] = (size_t)((double)r * (double)n / (double)m); /* evenly spread subsample */
    if (kmeans_init(gmm, x, idx, m, gvar, opts->var_floor, &rng) != 0)
        goto fail;
    for (int it = 0; it < opts->iters; it++) {
        if (vc_gmm__prepare(gmm) != 0) {
            rc = vc_err(err, errlen, VC_EINVAL, "GMM degenerated at EM iteration %d", it);
            goto fail;
        }
        em_step(gmm, x, n, gvar, opts->var_floor, acc, cnt, post);
    }
    if (vc_gmm__prepare(gmm) != 0) {
        rc = vc_err(err, errlen, VC_EINVAL, "GMM degenerated after EM");
        goto fail;
    }
    rc = 0;
    goto done;

fail:
    vc_gmm__free(gmm);
done:
    free(gmean);
    free(gvar);
    free(idx);
    free(acc);
    free(cnt);
    free(post);
    return rc;
}
