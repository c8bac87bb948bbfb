/* Logistic regression on a handful of standardised features: evaluation for the analyzers,
 * and a class-balanced, L2-penalised Newton fit for vc-train. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audio_engine.h"
#include "vc/error.h"

#define NEWTON_ITERS 30
#define MAXF 16

double vc_audio__sigmoid(double z)
{
    if (z >= 0.0)
        return 1.0 / (1.0 + exp(-z));
    double e = exp(z);
    return e / (1.0 + e);
}

double vc_logreg__logit(const vc_logreg__t *lr, const double *x)
{
    double z = lr->bias;
    for (int i = 0; i < lr->n; i++)
        z += lr->w[i] * (x[i] - lr->mean[i]) / lr->scale[i];
    return z;
}

/* Solves the (n+1) x (n+1) system h * s = g in place by Gaussian elimination with partial
 * pivoting. Returns 0, or -1 when singular. */
static int solve(double h[MAXF + 1][MAXF + 1], double *g, int n)
{
    for (int c = 0; c < n; c++) {
        int piv = c;
        for (int r = c + 1; r < n; r++)
            if (fabs(h[r][c]) > fabs(h[piv][c]))
                piv = r;
        if (fabs(h[piv][c]) < 1e-12)
            return -1;
        if (piv != c) {
            for (int j = 0; j < n; j++) {
                double t = h[c][j];
                h[c][j] = h[piv][j];
                h[piv][j] = t;
            }
            double t = g[c];
            g[c] = g[piv];
            g[piv] = t;
        }
        for (int r = c + 1; r < n; r++) {
            double f = h[r][c] / h[c][c];
            for (int j = c; j < n; j++)
                h[r][j] -= f * h[c][j];
            g[r] -= f * g[c];
        }
    }
    for (int c = n - 1; c >= 0; c--) {
        for (int j = c + 1; j < n; j++)
            g[c] -= h[c][j] * g[j];
        g[c] /= h[c][c];
    }
    return 0;
}

/* Means and scales (standard deviations, at least 1e-6) of the n columns. */
static void standardise(vc_logreg__t *lr, const double *x, size_t m, int n)
{
    for (int i = 0; i < n; i++) {
        double s = 0.0, s2 = 0.0;
        for (size_t r = 0; r < m; r++)
            s += x[r * (size_t)n + (size_t)i];
        double mu = s / (double)m;
        for (size_t r = 0; r < m; r++) {
            double t = x[r * (size_t)n + (size_t)i] - mu;
            s2 += t * t;
        }
        double sd = sqrt(s2 / (double)m);
        lr->mean[i] = mu;
        lr->scale[i] = sd > 1e-6 ? sd : 1e-6;
    }
}

int vc_logreg__fit(vc_logreg__t *lr, const double *x, const uint8_t *y, size_t m, int n, double l2)
{
    size_t pos = 0;
    double z[MAXF + 1], g[MAXF + 1], h[MAXF + 1][MAXF + 1];

    memset(lr, 0, sizeof(*lr));
    if (n < 1 || n > MAXF)
        return VC_EINVAL;
    for (size_t r = 0; r < m; r++)
        pos += y[r] != 0;
    if (pos == 0 || pos == m)
        return VC_EINVAL;
    lr->n = n;
    standardise(lr, x, m, n);
    double wpos = 0.5 * (double)m / (double)pos, wneg = 0.5 * (double)m / (double)(m - pos);
    for (int it = 0; it < NEWTON_ITERS; it++) {
        memset(g, 0, sizeof(g));
        memset(h, 0, sizeof(h));
        for (size_t r = 0; r < m; r++) {
            z[0] = 1.0;
            for (int i = 0; i < n; i++)
                z[i + 1] = (x[r * (size_t)n + (size_t)i] - lr->mean[i]) / lr->scale[i];
            double p = vc_audio__sigmoid(vc_logreg__logit(lr, x + r * (size_t)n));
            double sw = y[r] ? wpos : wneg;
            double resid = sw * ((y[r] ? 1.0 : 0.0) - p), curv = sw * p * (1.0 - p);
            for (int a = 0; a <= n; a++) {
                g[a] += resid * z[a];
                for (int b = 0; b <= n; b++)
                    h[a][b] += curv * z[a] * z[b];
            }
        }
        for (int a = 1; a <= n; a++) {
            g[a] -= l2 * lr->w[a - 1];
            h[a][a] += l2;
        }
        h[0][0] += 1e-9;
        if (solve(h, g, n + 1) != 0)
            break;
        double step = 0.0;
        lr->bias += g[0];
        for (int i = 0; i < n; i++) {
            lr->w[i] += g[i + 1];
            step += fabs(g[i + 1]);
        }
        if (step + fabs(g[0]) < 1e-8)
            break;
    }
    return 0;
}
