/* layer_act.c -- parameter-free element-wise layers (ReLU, sigmoid, tanh) and flatten.
 * The output has the input's shape (flatten: [c*h*w, 1, 1]). Backward uses the saved output y:
 *   relu:    dx = dy · [y > 0]      (the subgradient at x = 0 is taken as 0)
 *   sigmoid: dx = dy · y (1 - y)
 *   tanh:    dx = dy · (1 - y²)
 *   flatten: dx = dy (the data layout is unchanged). */
#include "nn_internal.h"

#include <math.h>
#include <string.h>

static l2h_status same_shape_setup(l2h_layer *l)
{
    L2H_FAIL_IF(l->spec.out || l->spec.kh || l->spec.kw || l->spec.stride || l->spec.pad,
                L2H_ERR_ARG, "%s takes no size, kernel, stride or padding", l->ops->name);
    l->out_c = l->in_c;
    l->out_h = l->in_h;
    l->out_w = l->in_w;
    return L2H_OK;
}

static l2h_status flatten_setup(l2h_layer *l)
{
    L2H_TRY(same_shape_setup(l));
    l->out_c = l->in_dim;
    l->out_h = l->out_w = 1;
    return L2H_OK;
}

static void relu_forward(const l2h_layer *l, const float *params, const float *x, size_t n,
                         float *y, float *scratch, int32_t *saved)
{
    (void)params;
    (void)scratch;
    (void)saved;
    const size_t m = n * l->in_dim;
    for (size_t i = 0; i < m; i++)
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

static void relu_backward(const l2h_layer *l, const float *params, const float *x, const float *y,
                          const float *dy, size_t n, float *dx, float *dparams, float *scratch,
                          const int32_t *saved)
{
    (void)params;
    (void)x;
    (void)dparams;
    (void)scratch;
    (void)saved;
    if (dx == NULL) return;
    const size_t m = n * l->in_dim;
    for (size_t i = 0; i < m; i++)
        dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

static void sigmoid_forward(const l2h_layer *l, const float *params, const float *x, size_t n,
                            float *y, float *scratch, int32_t *saved)
{
    (void)params;
    (void)scratch;
    (void)saved;
    const size_t m = n * l->in_dim;
    for (size_t i = 0; i < m; i++) {
        /* exp of a non-positive argument only: no overflow for large |x| */
        if (x[i] >= 0.0f)
            y[i] = 1.0f / (1.0f + expf(-x[i]));
        else {
            const float e = expf(x[i]);
            y[i] = e / (1.0f + e);
        }
    }
}

static void sigmoid_backward(const l2h_layer *l, const float *params, const float *x,
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
        dx[i] = dy[i] * y[i] * (1.0f - y[i]);
}

static void tanh_forward(const l2h_layer *l, const float *params, const float *x, size_t n,
                         float *y, float *scratch, int32_t *saved)
{
    (void)params;
    (void)scratch;
    (void)saved;
    const size_t m = n * l->in_dim;
    for (size_t i = 0; i < m; i++)
        y[i] = tanhf(x[i]);
}

static void tanh_backward(const l2h_layer *l, const float *params, const float *x, const float *y,
                          const float *dy, size_t n, float *dx, float *dparams, float *scratch,
                          const int32_t *saved)
{
    (void)params;
    (void)x;
    (void)dparams;
    (void)scratch;
    (void)saved;
    if (dx == NULL) return;
    const size_t m = n * l->in_dim;
    for (size_t i = 0; i < m; i++)
        dx[i] = dy[i] * (1.0f - y[i] * y[i]);
}

static void copy_forward(const l2h_layer *l, const float *params, const float *x, size_t n,
                         float *y, float *scratch, int32_t *saved)
{
    (void)params;
    (void)scratch;
    (void)saved;
    memcpy(y, x, n * l->in_dim * sizeof *y);
}

static void copy_backward(const l2h_layer *l, const float *params, const float *x, const float *y,
                          const float *dy, size_t n, float *dx, float *dparams, float *scratch,
                          const int32_t *saved)
{
    (void)params;
    (void)x;
    (void)y;
    (void)dparams;
    (void)scratch;
    (void)saved;
    if (dx != NULL) memcpy(dx, dy, n * l->in_dim * sizeof *dx);
}

const l2h_layer_ops l2h_layer_relu_ops = {
    .kind = L2H_LAYER_RELU,
    .name = "relu",
    .setup = same_shape_setup,
    .forward = relu_forward,
    .backward = relu_backward,
};

const l2h_layer_ops l2h_layer_sigmoid_ops = {
    .kind = L2H_LAYER_SIGMOID,
    .name = "sigmoid",
    .setup = same_shape_setup,
    .forward = sigmoid_forward,
    .backward = sigmoid_backward,
};

const l2h_layer_ops l2h_layer_tanh_ops = {
    .kind = L2H_LAYER_TANH,
    .name = "tanh",
    .setup = same_shape_setup,
    .forward = tanh_forward,
    .backward = tanh_backward,
};

const l2h_layer_ops l2h_layer_flatten_ops = {
    .kind = L2H_LAYER_FLATTEN,
    .name = "flatten",
    .setup = flatten_setup,
    .forward = copy_forward,
    .backward = copy_backward,
};
