/* layer_avgpool.c -- global average pooling, [C, H, W] -> [C, 1, 1] (MobileNet's last pooling
 * before the feature vector): y[c] = (1 / HW) Σ_{h,w} x[c, h, w]; backward spreads dy[c] / HW
 * over the channel's plane. */
#include "nn_internal.h"

static l2h_status avgpool_setup(l2h_layer *l)
{
    L2H_FAIL_IF(l->spec.out || l->spec.kh || l->spec.kw || l->spec.stride || l->spec.pad,
                L2H_ERR_ARG, "avgpool (global) takes no size, window, stride or padding");
    l->out_c = l->in_c;
    l->out_h = 1;
    l->out_w = 1;
    return L2H_OK;
}

static void avgpool_forward(const l2h_layer *l, const float *params, const float *x, size_t n,
                            float *y, float *scratch, int32_t *saved)
{
    (void)params;
    (void)scratch;
    (void)saved;
    const size_t hw = l->in_h * l->in_w;
    const float inv = 1.0f / (float)hw;
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < l->in_c; c++) {
            const float *xc = x + i * l->in_dim + c * hw;
            float s = 0.0f;
            for (size_t k = 0; k < hw; k++)
                s += xc[k];
            y[i * l->out_dim + c] = s * inv;
        }
}

static void avgpool_backward(const l2h_layer *l, const float *params, const float *x,
                             const float *y, const float *dy, size_t n, float *dx, float *dparams,
                             float *scratch, const int32_t *saved)
{
    (void)params;
    (void)x;
    (void)y;
    (void)dparams;
    (void)scratch;
    (void)saved;
    if (dx == NULL) return;
    const size_t hw = l->in_h * l->in_w;
    const float inv = 1.0f / (float)hw;
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < l->in_c; c++) {
            const float g = dy[i * l->out_dim + c] * inv;
            float *dxc = dx + i * l->in_dim + c * hw;
            for (size_t k = 0; k < hw; k++)
                dxc[k] = g;
        }
}

const l2h_layer_ops l2h_layer_avgpool_ops = {
    .kind = L2H_LAYER_AVGPOOL,
    .name = "avgpool",
    .setup = avgpool_setup,
    .forward = avgpool_forward,
    .backward = avgpool_backward,
};
