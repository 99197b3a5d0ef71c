/* mi_graded.c -- mutual information between a relaxed Hamming distance and a GRADED relevance
 * (e.g. the number of labels an item shares with the anchor, capped at G − 1) for one anchor,
 * with its exact derivative: the two-class soft histogram of mi_soft.c generalised to G classes.
 *
 * With n_c items of class c (N = Σ n_c), h^c_l = Σ_{j∈c} δ_l(d_j), p^c = h^c/n_c, P(c) = n_c/N,
 * p = Σ_c P(c) p^c = (Σ_c h^c)/N:
 *   MI = H(p) − Σ_c P(c) H(p^c)   (bits).
 * As in the binary case ∂MI/∂p^c_l = P(c)(log2 p^c_l − log2 p_l) =: P(c) A^c_l (the constants of
 * ∂H/∂q cancel because ∂p_l/∂p^c_l = P(c)), and P(c)/n_c = 1/N, so for an item j of class c in
 * bins (l, l+1):
 *   ∂MI/∂d_j = (A^c_{l+1} − A^c_l) / (N·Δ).
 * With G = 2 and the classes {non-neighbour, neighbour} this is l2h_mi_soft_anchor exactly
 * (tested). An empty bin of a class has A^c_l := 0 as there. */
#include "mi_internal.h"

#include <math.h>
#include <string.h>

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

double l2h_mi_soft_anchor_graded(const double *d, const uint8_t *cls, size_t m, size_t G,
                                 size_t K, double delta, double *g, double *work)
{
    const size_t nb = K + 1;
    const double inv_delta = 1.0 / delta;
    double *h = work;            /* [G, nb]: histograms, then conditionals, then A */
    double *p = work + G * nb;   /* [nb] */
    double *cnt = p + nb;        /* [G]  */
    memset(work, 0, ((G + 1) * nb + G) * sizeof *work);
    for (size_t j = 0; j < m; j++) {
        if (cls[j] >= G) continue;
        size_t l;
        double t;
        bin_of(d[j], inv_delta, K, &l, &t);
        h[cls[j] * nb + l] += 1.0 - t;
        h[cls[j] * nb + l + 1] += t;
        cnt[cls[j]] += 1.0;
    }
    double N = 0.0;
    for (size_t c = 0; c < G; c++) N += cnt[c];
    if (!(N > 0.0)) return 0.0;
    for (size_t l = 0; l < nb; l++) {
        double s = 0.0;
        for (size_t c = 0; c < G; c++) s += h[c * nb + l];
        p[l] = s / N;
    }
    double mi = l2h_entropy2(p, nb);
    for (size_t c = 0; c < G; c++) {
        if (cnt[c] == 0.0) continue;
        double *hc = h + c * nb;
        for (size_t l = 0; l < nb; l++) hc[l] /= cnt[c];
        mi -= cnt[c] / N * l2h_entropy2(hc, nb);
    }
    if (g == NULL) return mi;
    for (size_t c = 0; c < G; c++) {
        double *hc = h + c * nb;
        for (size_t l = 0; l < nb; l++)
            hc[l] = hc[l] > 0.0 && p[l] > 0.0 ? log2(hc[l]) - log2(p[l]) : 0.0;
    }
    const double scale = 1.0 / (N * delta);
    for (size_t j = 0; j < m; j++) {
        if (cls[j] >= G) {
            g[j] = 0.0;
            continue;
        }
        size_t l;
        double t;
        bin_of(d[j], inv_delta, K, &l, &t);
        g[j] = (h[cls[j] * nb + l + 1] - h[cls[j] * nb + l]) * scale;
    }
    return mi;
}
