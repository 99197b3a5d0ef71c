/* layer_pool.c -- max pooling over kh x kw windows with one stride for both axes, no padding,
 * NCHW: OH = (H − KH) / stride + 1 (floor), OW likewise, channels unchanged.
 * Forward keeps, per output, the index (within the item's input) of the maximum: the first one
 * in row-major window order among equal values. Backward routes dy to that input only
 * (dx = 0 elsewhere; overlapping windows add up). The index is an int32 per output, kept in the
 * layer's saved buffer sized for max_batch items. */
#include "nn_internal.h"

#include <string.h>

static l2h_status maxpool_setup(l2h_layer *l)
{
    const l2h_layer_spec *s = &l->spec;
    L2H_FAIL_IF(s->kh == 0 || s->kw == 0, L2H_ERR_ARG, "maxpool needs a window size");
    L2H_FAIL_IF(s->out || s->pad, L2H_ERR_ARG, "maxpool takes no size or padding");
    L2H_FAIL_IF(s->stride == 0, L2H_ERR_ARG, "maxpool stride 0");
    L2H_FAIL_IF(s->kh > l->in_h || s->kw > l->in_w, L2H_ERR_ARG,
                "maxpool window %zux%zu larger than the input %zux%zu", s->kh, s->kw, l->in_h,
                l->in_w);
    L2H_FAIL_IF(l->in_dim > (size_t)INT32_MAX, L2H_ERR_ARG, "maxpool: input too large");
    l->out_c = l->in_c;
    l->out_h = (l->in_h - s->kh) / s->stride + 1;
    l->out_w = (l->in_w - s->kw) / s->stride + 1;
    l->saved_per_item = l->out_c * l->out_h * l->out_w;
    return L2H_OK;
}

static void maxpool_forward(const l2h_layer *l, const float *params, const float *x, size_t n,
                            float *y, float *scratch, int32_t *saved)
{
    (void)params;
    (void)scratch;
    const size_t kh = l->spec.kh, kw = l->spec.kw, st = l->spec.stride;
    const size_t H = l->in_h, W = l->in_w, oh = l->out_h, ow = l->out_w;
    for (size_t i = 0; i < n; i++) {
        const float *xi = x + i * l->in_dim; /* [C, H, W]   */
        float *yi = y + i * l->out_dim;      /* [C, OH, OW] */
        int32_t *ai = saved ? saved + i * l->out_dim : NULL;
        for (size_t c = 0; c < l->in_c; c++)
            for (size_t r = 0; r < oh; r++)
                for (size_t q = 0; q < ow; q++) {
                    size_t best = (c * H + r * st) * W + q * st;
                    float m = xi[best];
                    for (size_t u = 0; u < kh; u++)
                        for (size_t v = 0; v < kw; v++) {
                            const size_t k = (c * H + r * st + u) * W + q * st + v;
                            if (xi[k] > m) {
                                m = xi[k];
                                best = k;
                            }
                        }
                    const size_t o = (c * oh + r) * ow + q;
                    yi[o] = m;
                    if (ai) ai[o] = (int32_t)best;
                }
    }
}

static void maxpool_backward(const l2h_layer *l, const float *params, const float *x,
                             const float *y, const float *dy, size_t n, float *dx, float *dparams,
                             float *scratch, const int32_t *saved)
{
    (void)params;
    (void)x;
    (void)y;
    (void)dparams;
    (void)scratch;
    if (dx == NULL) return;
    memset(dx, 0, n * l->in_dim * sizeof *dx);
    for (size_t i = 0; i < n; i++) {
        const float *dyi = dy + i * l->out_dim;
        const int32_t *ai = saved + i * l->out_dim;
        float *dxi = dx + i * l->in_dim;
        for (size_t o = 0; o < l->out_dim; o++)
            dxi[ai[o]] += dyi[o];
    }
}

const l2h_layer_ops l2h_layer_maxpool_ops = {
    .kind = L2H_LAYER_MAXPOOL,
    .name = "maxpool",
    .setup = maxpool_setup,
    .forward = maxpool_forward,
    .backward = maxpool_backward,
};
