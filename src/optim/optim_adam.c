/* optim_adam.c -- Adam with bias correction (Kingma & Ba 2015, Algorithm 1), with L2 or
 * decoupled (AdamW, Loshchilov & Hutter 2019) weight decay, range by range (optim.h). */
#include "optim.h"

#include <math.h>

typedef struct adam_consts {
    float b1, b2, eps;
    float c1, c2; /* 1 / (1 - β^t) */
    int decoupled;
} adam_consts;

static void adam_span(float *p, const float *g, float *m, float *v, size_t begin, size_t end,
                      float eta, float wd, const adam_consts *k)
{
    for (size_t i = begin; i < end; i++) {
        float gi = g[i];
        if (k->decoupled)
            p[i] -= eta * wd * p[i];
        else
            gi += wd * p[i];
        const float mi = k->b1 * m[i] + (1.0f - k->b1) * gi;
        const float vi = k->b2 * v[i] + (1.0f - k->b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] -= eta * (mi * k->c1) / (sqrtf(vi * k->c2) + k->eps);
    }
}

void l2h_adam_update(size_t n, float *params, const float *grads, float *m, float *v, size_t t,
                     float lr, float beta1, float beta2, float eps, float weight_decay,
                     int decoupled, const l2h_param_range *ranges, size_t n_ranges)
{
    const double tt = (double)(t ? t : 1);
    const adam_consts k = {
        .b1 = beta1,
        .b2 = beta2,
        .eps = eps,
        .c1 = (float)(1.0 / (1.0 - pow((double)beta1, tt))),
        .c2 = (float)(1.0 / (1.0 - pow((double)beta2, tt))),
        .decoupled = decoupled,
    };
    size_t pos = 0;
    for (size_t r = 0; r < n_ranges; r++) {
        const l2h_param_range *q = &ranges[r];
        adam_span(params, grads, m, v, pos, q->begin, lr, weight_decay, &k);
        adam_span(params, grads, m, v, q->begin, q->begin + q->count, lr * q->lr_mult,
                  weight_decay * q->decay_mult, &k);
        pos = q->begin + q->count;
    }
    adam_span(params, grads, m, v, pos, n, lr, weight_decay, &k);
}
