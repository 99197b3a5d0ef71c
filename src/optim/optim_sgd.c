/* optim_sgd.c -- stochastic gradient descent with momentum, Nesterov momentum and L2 weight
 * decay (PyTorch's formulation, optim.h), applied range by range so each parameter tensor can
 * carry its own learning-rate and decay multipliers. */
#include "optim.h"

/* The SGD rule on params[begin, end) with effective η and wd. */
static void sgd_span(float *p, const float *g, float *v, size_t begin, size_t end, float eta,
                     float mu, int nesterov, float wd)
{
    for (size_t i = begin; i < end; i++) {
        const float gi = g[i] + wd * p[i];
        const float vi = mu * v[i] + gi;
        v[i] = vi;
        p[i] -= eta * (nesterov ? gi + mu * vi : vi);
    }
}

void l2h_sgd_update(size_t n, float *params, const float *grads, float *velocity, float lr,
                    float momentum, int nesterov, float weight_decay, const l2h_param_range *ranges,
                    size_t n_ranges)
{
    size_t pos = 0;
    for (size_t r = 0; r < n_ranges; r++) {
        const l2h_param_range *q = &ranges[r];
        sgd_span(params, grads, velocity, pos, q->begin, lr, momentum, nesterov, weight_decay);
        sgd_span(params, grads, velocity, q->begin, q->begin + q->count, lr * q->lr_mult, momentum,
                 nesterov, weight_decay * q->decay_mult);
        pos = q->begin + q->count;
    }
    sgd_span(params, grads, velocity, pos, n, lr, momentum, nesterov, weight_decay);
}
