/* layer_bn.c -- batch normalisation (Ioffe & Szegedy 2015) over the channels of [c, h, w]
 * items (a flat [dim, 1, 1] input normalises every feature; an image normalises each channel
 * over n·h·w values), as PyTorch's BatchNorm1d / BatchNorm2d with eps 1e-5, momentum 0.1.
 *
 * Arena: weight = γ [C] (initialised to 1), bias = [β (C) | running mean (C) | running var (C)]
 * (initialised 0, 0, 1). The running statistics live in the bias tensor so that a model file
 * carries them without a third tensor kind; they receive no gradient (0), have decay
 * multiplier 0 like every bias, so no optimiser moves them.
 *
 * Training forward (saved != NULL, i.e. l2h_nn_forward; setup asks for one saved entry per item
 * so that the network allocates `saved`): per channel, over the m = n·h·w values,
 *   μ = mean x, σ² = mean (x − μ)² (biased), x̂ = (x − μ)/sqrt(σ² + eps), y = γ x̂ + β,
 * and the running statistics move: mean ← 0.9 mean + 0.1 μ, var ← 0.9 var + 0.1 σ² m/(m − 1)
 * (m > 1). This write into the arena is the one place a forward changes parameters; it happens
 * only in the training forward, which is single-threaded per network by contract (nn.h).
 * Inference (saved == NULL, l2h_nn_infer): y = γ (x − mean)/sqrt(var + eps) + β.
 * Backward (training statistics, recomputed from the saved input x, so no buffer is kept):
 *   dβ += Σ dy, dγ += Σ dy x̂, dx = γ/(m sqrt(σ² + eps)) (m dy − Σ dy − x̂ Σ dy x̂).
 * Sums are in double. */
#include "nn_internal.h"

#include <math.h>

#define BN_EPS 1e-5
#define BN_MOMENTUM 0.1

static l2h_status bn_setup(l2h_layer *l)
{
    L2H_FAIL_IF(l->spec.out || l->spec.kh || l->spec.kw || l->spec.stride || l->spec.pad,
                L2H_ERR_ARG, "bn takes no size, kernel, stride or padding");
    l->out_c = l->in_c;
    l->out_h = l->in_h;
    l->out_w = l->in_w;
    l->w_count = l->in_c;
    l->b_count = 3 * l->in_c;
    l->fan_in = l->fan_out = 1;
    /* one unused entry per item: the network then passes a non-NULL `saved` to the training
     * forward, which is how a layer tells training from inference (nn_internal.h) */
    l->saved_per_item = 1;
    return L2H_OK;
}

/* Batch mean and biased variance of channel c. */
static void channel_stats(const l2h_layer *l, const float *x, size_t n, size_t c, double *mu,
                          double *var)
{
    const size_t C = l->in_c, hw = l->in_h * l->in_w;
    double s = 0.0;
    for (size_t i = 0; i < n; i++) {
        const float *p = x + (i * C + c) * hw;
        for (size_t k = 0; k < hw; k++) s += (double)p[k];
    }
    const double m = (double)(n * hw), mean = s / m;
    double v = 0.0;
    for (size_t i = 0; i < n; i++) {
        const float *p = x + (i * C + c) * hw;
        for (size_t k = 0; k < hw; k++) {
            const double d = (double)p[k] - mean;
            v += d * d;
        }
    }
    *mu = mean;
    *var = v / m;
}

static void bn_forward(const l2h_layer *l, const float *params, const float *x, size_t n, float *y,
                       float *scratch, int32_t *saved)
{
    (void)scratch;
    const size_t C = l->in_c, hw = l->in_h * l->in_w, m = n * hw;
    const float *gamma = params + l->w_off, *beta = params + l->b_off;
    /* the running statistics: written by the training forward only (see the header) */
    float *run = (float *)(uintptr_t)(params + l->b_off + C);
    for (size_t c = 0; c < C; c++) {
        double mu, var;
        if (saved) {
            channel_stats(l, x, n, c, &mu, &var);
            run[c] = (float)((1.0 - BN_MOMENTUM) * (double)run[c] + BN_MOMENTUM * mu);
            if (m > 1)
                run[C + c] = (float)((1.0 - BN_MOMENTUM) * (double)run[C + c] +
                                     BN_MOMENTUM * var * (double)m / (double)(m - 1));
        } else {
            mu = (double)run[c];
            var = (double)run[C + c];
            if (!(var >= 0.0)) var = 0.0;
        }
        const double inv = 1.0 / sqrt(var + BN_EPS);
        const double a = (double)gamma[c] * inv, b = (double)beta[c] - a * mu;
        for (size_t i = 0; i < n; i++) {
            const float *p = x + (i * C + c) * hw;
            float *q = y + (i * C + c) * hw;
            for (size_t k = 0; k < hw; k++) q[k] = (float)(a * (double)p[k] + b);
        }
    }
}

static void bn_backward(const l2h_layer *l, const float *params, const float *x, const float *y,
                        const float *dy, size_t n, float *dx, float *dparams, float *scratch,
                        const int32_t *saved)
{
    (void)y;
    (void)scratch;
    (void)saved;
    const size_t C = l->in_c, hw = l->in_h * l->in_w;
    const double m = (double)(n * hw);
    const float *gamma = params + l->w_off;
    float *dgamma = dparams + l->w_off, *dbeta = dparams + l->b_off;
    for (size_t c = 0; c < C; c++) {
        double mu, var;
        channel_stats(l, x, n, c, &mu, &var);
        const double inv = 1.0 / sqrt(var + BN_EPS);
        double sdy = 0.0, sdyx = 0.0;
        for (size_t i = 0; i < n; i++) {
            const float *p = x + (i * C + c) * hw, *g = dy + (i * C + c) * hw;
            for (size_t k = 0; k < hw; k++) {
                sdy += (double)g[k];
                sdyx += (double)g[k] * ((double)p[k] - mu) * inv;
            }
        }
        dgamma[c] += (float)sdyx;
        dbeta[c] += (float)sdy;
        if (!dx) continue;
        const double f = (double)gamma[c] * inv / m;
        for (size_t i = 0; i < n; i++) {
            const float *p = x + (i * C + c) * hw, *g = dy + (i * C + c) * hw;
            float *o = dx + (i * C + c) * hw;
            for (size_t k = 0; k < hw; k++) {
                const double xh = ((double)p[k] - mu) * inv;
                o[k] = (float)(f * (m * (double)g[k] - sdy - xh * sdyx));
            }
        }
    }
}

const l2h_layer_ops l2h_layer_bn_ops = {
    .kind = L2H_LAYER_BATCHNORM,
    .name = "bn",
    .setup = bn_setup,
    .forward = bn_forward,
    .backward = bn_backward,
};
