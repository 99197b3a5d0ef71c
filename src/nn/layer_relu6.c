/* layer_relu6.c -- ReLU6, y = min(max(x, 0), 6) element-wise (MobileNet's activation; the
 * clamp TensorFlow Lite fuses into its uint8 convolutions). Backward from the saved output:
 * dx = dy · [0 < y < 6] (the subgradient at both kinks is taken as 0). */
#include "nn_internal.h"

static l2h_status relu6_setup(l2h_layer *l)
{
    L2H_FAIL_IF(l->spec.out || l->spec.kh || l->spec.kw || l->spec.stride || l->spec.pad,
                L2H_ERR_ARG, "relu6 takes no size, kernel, stride or padding");
    l->out_c = l->in_c;
    l->out_h = l->in_h;
    l->out_w = l->in_w;
    return L2H_OK;
}

static void relu6_forward(const l2h_layer *l, const float *params, const float *x, size_t n,
                          float *y, float *scratch, int32_t *saved)
{
    (void)params;
    (void)scratch;
    (void)saved;
    const size_t m = n * l->in_dim;
    for (size_t i = 0; i < m; i++)
        y[i] = x[i] > 0.0f ? (x[i] < 6.0f ? x[i] : 6.0f) : 0.0f;
}

static void relu6_backward(const l2h_layer *l, const float *params, const float *x,
                           const float *y, const float *dy, size_t n, float *dx, float *dparams,
                           float *scratch, const int32_t *saved)
{
    (void)params;
    (void)x;
    (void)dparams;
    (void)scratch;
    (void)saved;
    if (dx == NULL) return;
    const size_t m = n * l->in_dim;
    for (size_t i = 0; i < m; i++)
        dx[i] = y[i] > 0.0f && y[i] < 6.0f ? dy[i] : 0.0f;
}

const l2h_layer_ops l2h_layer_relu6_ops = {
    .kind = L2H_LAYER_RELU6,
    .name = "relu6",
    .setup = relu6_setup,
    .forward = relu6_forward,
    .backward = relu6_backward,
};
