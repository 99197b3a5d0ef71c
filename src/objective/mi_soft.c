/* mi_soft.c -- mutual information between a relaxed Hamming distance and the neighbour
 * indicator for one anchor, with the triangular-kernel histogram (seed eqs. 8-10) and its exact
 * derivative with respect to every distance (eqs. 11-16 before the last chain-rule factor).
 *
 * Bins: centres c_l = l·Δ, l = 0..K, Δ = b/K. A distance d with u = d/Δ, l = floor(u) (l = K−1
 * when u = K) and t = u − l puts weight 1 − t in bin l and t in bin l + 1 (the triangular
 * kernels δ_l(d) = max(0, 1 − |d − c_l|/Δ), a partition of unity on [0, b]); ∂δ_l/∂d = −1/Δ,
 * ∂δ_{l+1}/∂d = +1/Δ. At d exactly on a centre this is the right-hand derivative.
 *
 * With n⁺ neighbours, n⁻ non-neighbours, N = n⁺ + n⁻, h⁺_l = Σ_{j∈+} δ_l(d_j) (h⁻ likewise):
 *   p⁺ = h⁺/n⁺, p⁻ = h⁻/n⁻, P(+) = n⁺/N, p = P(+)p⁺ + P(−)p⁻ = (h⁺ + h⁻)/N,
 *   MI = H(p) − P(+)H(p⁺) − P(−)H(p⁻)   (bits).
 * Since ∂H(q)/∂q_l = −(log2 q_l + 1/ln 2) and ∂p_l/∂p⁺_l = P(+), the constants cancel exactly:
 *   ∂MI/∂p⁺_l = P(+)(log2 p⁺_l − log2 p_l) =: P(+) A⁺_l     (eq. 14; A⁻ likewise)
 * and for a neighbour j in bins (l, l+1), ∂p⁺_k/∂d_j = δ_k'(d_j)/n⁺, so with P(+)/n⁺ = 1/N:
 *   ∂MI/∂d_j = (A⁺_{l+1} − A⁺_l) / (N·Δ)                   (A⁻ for a non-neighbour).
 * An empty bin (p⁺_l = 0) has A⁺_l := 0: −q log q has an infinite one-sided slope at q = 0, met
 * only when a distance sits exactly on a centre next to an empty bin. */
#include "mi_internal.h"

#include <math.h>
#include <string.h>

double l2h_entropy2(const double *p, size_t m)
{
    double h = 0.0;
    for (size_t l = 0; l < m; l++)
        if (p[l] > 0.0) h -= p[l] * log2(p[l]);
    return h;
}

static void bin_of(double d, double inv_delta, size_t K, size_t *l, double *t)
{
    double u = d * inv_delta;
    if (!(u > 0.0)) u = 0.0;
    if (u >= (double)K) {
        *l = K - 1;
        *t = 1.0;
        return;
    }
    size_t li = (size_t)u;
    if (li > K - 1) li = K - 1;
    *l = li;
    *t = u - (double)li;
}

double l2h_mi_soft_anchor(const double *d, const uint8_t *flag, size_t m, size_t K, double delta,
                          double *g, double *work)
{
    const size_t nb = K + 1;
    const double inv_delta = 1.0 / delta;
    double *h[2] = {work, work + nb};              /* h[0] = h⁻, h[1] = h⁺ [K+1] */
    double *a[2] = {work + 2 * nb, work + 3 * nb}; /* a[0] = A⁻, a[1] = A⁺ [K+1] */
    memset(work, 0, 4 * nb * sizeof *work);
    size_t cnt[2] = {0, 0};
    for (size_t j = 0; j < m; j++) {
        if (flag[j] == L2H_MI_SKIP) continue;
        const int c = flag[j] == L2H_MI_POS;
        size_t l;
        double t;
        bin_of(d[j], inv_delta, K, &l, &t);
        h[c][l] += 1.0 - t;
        h[c][l + 1] += t;
        cnt[c]++;
    }
    const double N = (double)(cnt[0] + cnt[1]);
    const double pri[2] = {(double)cnt[0] / N, (double)cnt[1] / N};
    /* p into a[0] for the entropy; the conditionals in place of h */
    double *p = a[0];
    for (size_t l = 0; l < nb; l++)
        p[l] = (h[0][l] + h[1][l]) / N;
    const double hd = l2h_entropy2(p, nb);
    double hc[2];
    for (int c = 0; c < 2; c++) {
        for (size_t l = 0; l < nb; l++)
            h[c][l] /= (double)cnt[c];
        hc[c] = l2h_entropy2(h[c], nb);
    }
    const double mi = hd - pri[1] * hc[1] - pri[0] * hc[0];
    if (g == NULL) return mi;
    for (size_t l = 0; l < nb; l++) {
        const double lp = p[l] > 0.0 ? log2(p[l]) : 0.0;
        for (int c = 1; c >= 0; c--) /* a[0] aliases p: write it last */
            a[c][l] = h[c][l] > 0.0 ? log2(h[c][l]) - lp : 0.0;
    }
    const double scale = 1.0 / (N * delta);
    for (size_t j = 0; j < m; j++) {
        if (flag[j] == L2H_MI_SKIP) {
            g[j] = 0.0;
            continue;
        }
        const int c = flag[j] == L2H_MI_POS;
        size_t l;
        double t;
        bin_of(d[j], inv_delta, K, &l, &t);
        g[j] = (a[c][l + 1] - a[c][l]) * scale;
    }
    return mi;
}
