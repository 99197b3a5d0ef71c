/* obj_mihash_online.c -- MIHash, online form (seed §4.3; methods.md §1.6): one stream item
 * against a reservoir of R items whose codes are held fixed.
 *
 *   y [b] the item's outputs (Wᵀx for a linear hash); φ = σ(s·y) [b] in (0, 1) (s·y clamped
 *   to ±42); reservoir codes rc [R, b] in [0, 1] (relaxed σ(s·y_r), or hard 0/1);
 *   d_r = (b − (2φ − 1)·(2rc_r − 1)) / 2; neighbours = sim[r] != 0; MI by the soft histogram
 *   (mi_soft.c) with P(+) = n⁺/R; loss = −MI.
 * Gradient: ∂d_r/∂φ_k = −(2rc_rk − 1) exactly (the distance is computed from 2φ − 1), then
 *   dloss/dy_k = −Σ_r (∂MI/∂d_r)(∂d_r/∂φ_k) · s φ_k(1 − φ_k)   (0 where clamped).
 * reference_grad = 1 uses the released code's ∂d_r/∂φ_k = −rc_rk/2 instead (+Methods/MIHash.m):
 * a descent-like direction, not the gradient of this loss (methods.md §1.6); kept only to
 * reproduce published online curves. */
#include "mi_internal.h"

#include "l2h/codes.h"

#include <math.h>

l2h_mihash_online_params l2h_mihash_online_default_params(size_t bits)
{
    return (l2h_mihash_online_params){
        .bins = bits < 16 ? (bits ? bits : 1) : 16, .scale = 10.0f, .reference_grad = 0};
}

static double sigmoid_clamped(double v, int *clamped)
{
    *clamped = v > L2H_MI_SIG_CLAMP || v < -L2H_MI_SIG_CLAMP;
    if (*clamped) v = v > 0.0 ? L2H_MI_SIG_CLAMP : -L2H_MI_SIG_CLAMP;
    return 1.0 / (1.0 + exp(-v));
}

void l2h_mihash_relax(const float *y, size_t n, size_t bits, float scale, float *rc)
{
    int clamped;
    for (size_t k = 0; k < n * bits; k++)
        rc[k] = (float)sigmoid_clamped((double)scale * (double)y[k], &clamped);
}

l2h_status l2h_mihash_online_f64(const l2h_mihash_online_params *p, size_t bits, const double *y,
                                 const float *rc, const uint8_t *sim, size_t R, double *dy,
                                 double *loss)
{
    L2H_FAIL_IF(p == NULL || y == NULL || loss == NULL || (R > 0 && (rc == NULL || sim == NULL)),
                L2H_ERR_ARG, "online mihash: NULL argument");
    L2H_FAIL_IF(bits == 0 || bits > L2H_MAX_BITS, L2H_ERR_ARG,
                "online mihash: bits %zu outside 1..%d", bits, L2H_MAX_BITS);
    L2H_FAIL_IF(p->bins < 1 || p->bins > bits, L2H_ERR_ARG,
                "online mihash: bins K = %zu outside 1..%zu", p->bins, bits);
    L2H_FAIL_IF(!isfinite(p->scale) || p->scale <= 0.0f, L2H_ERR_ARG,
                "online mihash: sigmoid scale %g must be finite and > 0", (double)p->scale);
    for (size_t k = 0; k < bits; k++)
        L2H_FAIL_IF(!isfinite(y[k]), L2H_ERR_NUMERIC, "online mihash: output y[%zu] is %g", k,
                    y[k]);
    size_t npos = 0;
    for (size_t r = 0; r < R; r++)
        npos += sim[r] != 0;
    *loss = 0.0;
    if (dy)
        for (size_t k = 0; k < bits; k++)
            dy[k] = 0.0;
    if (npos == 0 || npos == R) return L2H_OK;

    const size_t K = p->bins;
    const double b = (double)bits, delta = b / (double)K, s = (double)p->scale;
    l2h_status st = L2H_OK;
    double *phi = l2h_malloc_array(2 * bits, sizeof *phi); /* [b] φ, then [b] dφ/dy */
    double *d = l2h_malloc_array(2 * R, sizeof *d);        /* [R] d_r, then [R] ∂MI/∂d_r */
    double *work = l2h_malloc_array(4 * (K + 1), sizeof *work);
    uint8_t *flag = l2h_malloc(R);
    if (!phi || !d || !work || !flag)
        L2H_FAIL_GOTO(L2H_ERR_NOMEM, "online mihash: out of memory for a reservoir of %zu", R);
    double *dphi = phi + bits, *g = d + R;
    for (size_t k = 0; k < bits; k++) {
        int clamped;
        phi[k] = sigmoid_clamped(s * y[k], &clamped);
        dphi[k] = clamped ? 0.0 : s * phi[k] * (1.0 - phi[k]);
    }
    for (size_t r = 0; r < R; r++) {
        const float *cr = rc + r * bits;
        double dot = 0.0;
        for (size_t k = 0; k < bits; k++)
            dot += (2.0 * phi[k] - 1.0) * (2.0 * (double)cr[k] - 1.0);
        d[r] = 0.5 * (b - dot);
        flag[r] = sim[r] ? L2H_MI_POS : L2H_MI_NEG;
    }
    const double mi = l2h_mi_soft_anchor(d, flag, R, K, delta, dy ? g : NULL, work);
    *loss = -mi;
    if (dy) {
        for (size_t r = 0; r < R; r++) {
            const float *cr = rc + r * bits;
            for (size_t k = 0; k < bits; k++) {
                const double dd =
                    p->reference_grad ? -0.5 * (double)cr[k] : -(2.0 * (double)cr[k] - 1.0);
                dy[k] -= g[r] * dd; /* dloss/dφ_k = −Σ_r ∂MI/∂d_r · ∂d_r/∂φ_k */
            }
        }
        for (size_t k = 0; k < bits; k++)
            dy[k] *= dphi[k];
    }
done:
    l2h_free(phi);
    l2h_free(d);
    l2h_free(work);
    l2h_free(flag);
    return st;
}

l2h_status l2h_mihash_online_loss_grad(const l2h_mihash_online_params *p, size_t bits,
                                       const float *y, const float *rc, const uint8_t *sim,
                                       size_t R, float *dy, float *loss)
{
    L2H_FAIL_IF(y == NULL || loss == NULL, L2H_ERR_ARG, "online mihash: NULL argument");
    L2H_FAIL_IF(bits == 0 || bits > L2H_MAX_BITS, L2H_ERR_ARG,
                "online mihash: bits %zu outside 1..%d", bits, L2H_MAX_BITS);
    double yd[L2H_MAX_BITS], dyd[L2H_MAX_BITS];
    for (size_t k = 0; k < bits; k++)
        yd[k] = (double)y[k];
    double l = 0.0;
    L2H_TRY(l2h_mihash_online_f64(p, bits, yd, rc, sim, R, dy ? dyd : NULL, &l));
    *loss = (float)l;
    if (dy)
        for (size_t k = 0; k < bits; k++)
            dy[k] = (float)dyd[k];
    return L2H_OK;
}
