/* layer_rbf.c -- a Gaussian kernel layer: y[r, i] = exp(−γ ‖x_r − a_i‖²) − μ_i.
 *   X [n, in], anchors A [m, in] (the layer's weight), μ [m] (its bias: the centring of each
 *   kernel value), Y [n, m]; γ = 1 / (2σ²) is a hyper-parameter of the spec (not learned).
 * This is the feature map of Online Kernel Hashing (OKH): its hash is rbf -> linear -> sign,
 * so the online learner's mapping is an ordinary network.
 * Forward: G = X · Aᵀ (one sgemm), ‖x − a‖² = ‖x‖² + ‖a‖² − 2 G, both norms in double.
 * Backward, with e = y + μ = exp(−γ d²):
 *   dμ_i += −Σ_r dy_ri;   dA_i += Σ_r 2γ dy_ri e_ri (x_r − a_i);   dx_r = Σ_i −2γ dy_ri e_ri (x_r − a_i). */
#include "nn_internal.h"

#include "linalg.h"

#include <math.h>
#include <string.h>

static l2h_status rbf_setup(l2h_layer *l)
{
    L2H_FAIL_IF(l->in_h != 1 || l->in_w != 1, L2H_ERR_ARG,
                "rbf on an image-shaped input [%zu, %zu, %zu]; add a flatten layer first",
                l->in_c, l->in_h, l->in_w);
    L2H_FAIL_IF(l->spec.out == 0, L2H_ERR_ARG, "rbf with 0 anchors");
    L2H_FAIL_IF(!isfinite(l->spec.gamma) || !(l->spec.gamma > 0.0), L2H_ERR_ARG,
                "rbf: gamma must be finite and > 0");
    L2H_FAIL_IF(l->spec.kh || l->spec.kw || l->spec.stride || l->spec.pad, L2H_ERR_ARG,
                "rbf takes no kernel, stride or padding");
    size_t wc;
    L2H_FAIL_IF(!l2h_mul_ok(l->spec.out, l->in_dim, &wc), L2H_ERR_ARG, "rbf: size overflow");
    l->out_c = l->spec.out;
    l->out_h = l->out_w = 1;
    l->w_count = wc;
    l->b_count = l->spec.out;
    l->fan_in = l->in_dim;
    l->fan_out = l->spec.out;
    l->scratch = l->spec.out; /* ‖a_i‖² */
    return L2H_OK;
}

static void anchor_norms(const l2h_layer *l, const float *a, float *an2)
{
    const size_t m = l->out_dim, din = l->in_dim;
    for (size_t i = 0; i < m; i++) {
        double s = 0.0;
        for (size_t t = 0; t < din; t++)
            s += (double)a[i * din + t] * (double)a[i * din + t];
        an2[i] = (float)s;
    }
}

static void rbf_forward(const l2h_layer *l, const float *params, const float *x, size_t n,
                        float *y, float *scratch, int32_t *saved)
{
    (void)saved;
    const size_t m = l->out_dim, din = l->in_dim;
    const float *a = params + l->w_off;  /* [m, in] */
    const float *mu = params + l->b_off; /* [m]     */
    anchor_norms(l, a, scratch);
    /* G[n,m] = X[n,in] · Aᵀ[in,m] */
    l2h_sgemm(false, true, n, m, din, 1.0f, x, din, a, din, 0.0f, y, m);
    const double g = l->spec.gamma;
    for (size_t r = 0; r < n; r++) {
        const float *xr = x + r * din;
        double xn = 0.0;
        for (size_t t = 0; t < din; t++)
            xn += (double)xr[t] * (double)xr[t];
        for (size_t i = 0; i < m; i++) {
            double d2 = xn + (double)scratch[i] - 2.0 * (double)y[r * m + i];
            if (d2 < 0.0) d2 = 0.0;
            y[r * m + i] = (float)(exp(-d2 * g) - (double)mu[i]);
        }
    }
}

static void rbf_backward(const l2h_layer *l, const float *params, const float *x, const float *y,
                         const float *dy, size_t n, float *dx, float *dparams, float *scratch,
                         const int32_t *saved)
{
    (void)scratch;
    (void)saved;
    const size_t m = l->out_dim, din = l->in_dim;
    const float *a = params + l->w_off;
    const float *mu = params + l->b_off;
    float *da = dparams + l->w_off;
    float *dmu = dparams + l->b_off;
    const double g2 = 2.0 * l->spec.gamma;
    if (dx != NULL) memset(dx, 0, n * din * sizeof *dx);
    for (size_t r = 0; r < n; r++) {
        const float *xr = x + r * din;
        for (size_t i = 0; i < m; i++) {
            const double d = (double)dy[r * m + i];
            dmu[i] -= (float)d;
            const double c = g2 * d * ((double)y[r * m + i] + (double)mu[i]); /* 2γ dy e */
            if (c == 0.0) continue;
            const float *ai = a + i * din;
            for (size_t t = 0; t < din; t++) {
                const double diff = (double)xr[t] - (double)ai[t];
                da[i * din + t] += (float)(c * diff);
                if (dx != NULL) dx[r * din + t] -= (float)(c * diff);
            }
        }
    }
}

const l2h_layer_ops l2h_layer_rbf_ops = {
    .kind = L2H_LAYER_RBF,
    .name = "rbf",
    .setup = rbf_setup,
    .forward = rbf_forward,
    .backward = rbf_backward,
};
