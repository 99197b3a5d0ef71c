/* shadow_nn.c -- see shadow_nn.h. */
#include "shadow_nn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t mix(uint64_t h, uint64_t v)
{
    return (h ^ v) * 1099511628211ULL;
}

void shadow_layer(const l2h_layer *l, const double *p, const double *x, double *y,
                         uint64_t *pat)
{
    const size_t H = l->in_h, W = l->in_w, oh = l->out_h, ow = l->out_w;
    switch (l->spec.kind) {
    case L2H_LAYER_LINEAR:
        for (size_t o = 0; o < l->out_dim; o++) {
            double v = p[l->b_off + o];
            for (size_t k = 0; k < l->in_dim; k++)
                v += p[l->w_off + o * l->in_dim + k] * x[k];
            y[o] = v;
        }
        break;
    case L2H_LAYER_RELU:
        for (size_t k = 0; k < l->in_dim; k++) {
            y[k] = x[k] > 0 ? x[k] : 0.0;
            *pat = mix(*pat, x[k] > 0);
        }
        break;
    case L2H_LAYER_SIGMOID:
        for (size_t k = 0; k < l->in_dim; k++)
            y[k] = 1.0 / (1.0 + exp(-x[k]));
        break;
    case L2H_LAYER_TANH:
        for (size_t k = 0; k < l->in_dim; k++)
            y[k] = tanh(x[k]);
        break;
    case L2H_LAYER_FLATTEN:
        memcpy(y, x, l->in_dim * sizeof *y);
        break;
    case L2H_LAYER_CONV2D: {
        const size_t kh = l->spec.kh, kw = l->spec.kw, st = l->spec.stride;
        const long pad = (long)l->spec.pad;
        for (size_t o = 0; o < l->out_c; o++)
            for (size_t r = 0; r < oh; r++)
                for (size_t q = 0; q < ow; q++) {
                    double v = p[l->b_off + o];
                    for (size_t c = 0; c < l->in_c; c++)
                        for (size_t u = 0; u < kh; u++)
                            for (size_t w = 0; w < kw; w++) {
                                const long iy = (long)(r * st + u) - pad;
                                const long ix = (long)(q * st + w) - pad;
                                if (iy < 0 || ix < 0 || iy >= (long)H || ix >= (long)W) continue;
                                v += p[l->w_off + ((o * l->in_c + c) * kh + u) * kw + w] *
                                     x[(c * H + (size_t)iy) * W + (size_t)ix];
                            }
                    y[(o * oh + r) * ow + q] = v;
                }
        break;
    }
    case L2H_LAYER_MAXPOOL:
        for (size_t c = 0; c < l->in_c; c++)
            for (size_t r = 0; r < oh; r++)
                for (size_t q = 0; q < ow; q++) {
                    size_t best = 0;
                    double m = -INFINITY;
                    for (size_t u = 0; u < l->spec.kh; u++)
                        for (size_t w = 0; w < l->spec.kw; w++) {
                            const size_t k =
                                (c * H + r * l->spec.stride + u) * W + q * l->spec.stride + w;
                            if (x[k] > m) {
                                m = x[k];
                                best = k;
                            }
                        }
                    y[(c * oh + r) * ow + q] = m;
                    *pat = mix(*pat, best);
                }
        break;
    default:
        break;
    }
}

double *shadow_forward(const l2h_nn *net, const double *p, const float *x, size_t n,
                       uint64_t *pattern)
{
    const size_t bits = l2h_nn_out_dim(net), din = l2h_nn_in_dim(net);
    double *a = malloc(net->max_dim * sizeof *a), *b = malloc(net->max_dim * sizeof *b);
    double *z = malloc((n ? n : 1) * bits * sizeof *z);
    uint64_t pat = 1469598103934665603ULL;
    if (!a || !b || !z) {
        free(a);
        free(b);
        free(z);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < din; k++)
            a[k] = x[i * din + k];
        for (size_t l = 0; l < net->n_layers; l++) {
            shadow_layer(&net->layers[l], p, a, b, &pat);
            double *t = a;
            a = b;
            b = t;
        }
        memcpy(z + i * bits, a, bits * sizeof *z);
    }
    free(a);
    free(b);
    *pattern = pat;
    return z;
}
