/* layer_linear.c -- the fully connected layer Y = X · Wᵀ + b.
 *   X [n, in], W [out, in], b [out], Y [n, out].
 * Forward: one sgemm. Backward: dX = dY · W (overwritten), dW += dYᵀ · X, db += Σ_rows dY. */
#include "nn_internal.h"

#include "linalg.h"

#include <string.h>

static l2h_status linear_setup(l2h_layer *l)
{
    L2H_FAIL_IF(l->in_h != 1 || l->in_w != 1, L2H_ERR_ARG,
                "linear on an image-shaped input [%zu, %zu, %zu]; add a flatten layer first",
                l->in_c, l->in_h, l->in_w);
    L2H_FAIL_IF(l->spec.out == 0, L2H_ERR_ARG, "linear with 0 outputs");
    L2H_FAIL_IF(l->spec.kh || l->spec.kw || l->spec.stride || l->spec.pad, L2H_ERR_ARG,
                "linear takes no kernel, stride or padding");
    size_t wc;
    L2H_FAIL_IF(!l2h_mul_ok(l->spec.out, l->in_dim, &wc), L2H_ERR_ARG, "linear: size overflow");
    l->out_c = l->spec.out;
    l->out_h = l->out_w = 1;
    l->w_count = wc;
    l->b_count = l->spec.out;
    l->fan_in = l->in_dim;
    l->fan_out = l->spec.out;
    return L2H_OK;
}

static void linear_forward(const l2h_layer *l, const float *params, const float *x, size_t n,
                           float *y, float *scratch, int32_t *saved)
{
    (void)scratch;
    (void)saved;
    const size_t din = l->in_dim, dout = l->out_dim;
    const float *w = params + l->w_off; /* [out, in] */
    const float *b = params + l->b_off; /* [out]     */
    for (size_t i = 0; i < n; i++)
        memcpy(y + i * dout, b, dout * sizeof *y);
    /* Y[n,out] += X[n,in] · Wᵀ[in,out] */
    l2h_sgemm(false, true, n, dout, din, 1.0f, x, din, w, din, 1.0f, y, dout);
}

static void linear_backward(const l2h_layer *l, const float *params, const float *x, const float *y,
                            const float *dy, size_t n, float *dx, float *dparams, float *scratch,
                            const int32_t *saved)
{
    (void)y;
    (void)scratch;
    (void)saved;
    const size_t din = l->in_dim, dout = l->out_dim;
    const float *w = params + l->w_off; /* [out, in] */
    float *dw = dparams + l->w_off;     /* [out, in] */
    float *db = dparams + l->b_off;     /* [out]     */
    /* dW[out,in] += dYᵀ[out,n] · X[n,in] */
    l2h_sgemm(true, false, dout, din, n, 1.0f, dy, dout, x, din, 1.0f, dw, din);
    for (size_t i = 0; i < n; i++) {
        const float *row = dy + i * dout;
        for (size_t o = 0; o < dout; o++)
            db[o] += row[o];
    }
    /* dX[n,in] = dY[n,out] · W[out,in] */
    if (dx != NULL) l2h_sgemm(false, false, n, din, dout, 1.0f, dy, dout, w, din, 0.0f, dx, din);
}

const l2h_layer_ops l2h_layer_linear_ops = {
    .kind = L2H_LAYER_LINEAR,
    .name = "linear",
    .setup = linear_setup,
    .forward = linear_forward,
    .backward = linear_backward,
};
