/* optim_adam.c -- Adam with bias correction (Kingma & Ba 2015, Algorithm 1), with L2 or
 * decoupled (AdamW, Loshchilov & Hutter 2019) weight decay, range by range (optim.h). */
#include "optim.h"

#include <math.h>

typedef struct adam_consts {
    float b1, b2, eps;
    float c1, c2; /* 1 / (1 - β^t) */
    int decoupled;
} adam_consts;

/* The constants are copied into locals and the arrays are restrict so that the loop
 * vectorises (a float read through k could otherwise alias p); the file is compiled with
 * -fno-math-errno (src/CMakeLists.txt) so that sqrtf does too. Same arithmetic, same order:
 * results are unchanged. */
static void adam_span(float *restrict p, const float *restrict g, float *restrict m,
                      float *restrict v, size_t begin, size_t end, float eta, float wd,
                      const adam_consts *k)
{
    const float b1 = k->b1, b2 = k->b2, eps = k->eps, c1 = k->c1, c2 = k->c2;
    const float a1 = 1.0f - b1, a2 = 1.0f - b2;
    if (k->decoupled)
        for (size_t i = begin; i < end; i++) {
            const float gi = g[i];
            const float pi = p[i] - eta * wd * p[i];
            const float mi = b1 * m[i] + a1 * gi;
            const float vi = b2 * v[i] + a2 * gi * gi;
            m[i] = mi;
            v[i] = vi;
            p[i] = pi - eta * (mi * c1) / (sqrtf(vi * c2) + eps);
        }
    else
        for (size_t i = begin; i < end; i++) {
            const float gi = g[i] + wd * p[i];
            const float mi = b1 * m[i] + a1 * gi;
            const float vi = b2 * v[i] + a2 * gi * gi;
            m[i] = mi;
            v[i] = vi;
            p[i] -= eta * (mi * c1) / (sqrtf(vi * c2) + eps);
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
