/* nn_internal.h -- the layer interface inside src/nn: one ops table per layer file
 * (layer_linear.c, layer_act.c, layer_conv.c, layer_pool.c), the layer record the network keeps
 * for each entry of its stack, and the network struct itself. */
#ifndef L2H_NN_INTERNAL_H
#define L2H_NN_INTERNAL_H

#include "nn.h"

typedef struct l2h_layer l2h_layer;

typedef struct l2h_layer_ops {
    l2h_layer_kind kind;
    const char *name;
    /* From l->spec and the input shape (in_c, in_h, in_w) fill the output shape, w_count,
     * b_count, fan_in/fan_out, scratch and saved_per_item. L2H_ERR_ARG for an impossible
     * shape (message without the layer index; the caller adds it). */
    l2h_status (*setup)(l2h_layer *l);
    /* y[n, out_dim] = f(x[n, in_dim]) (overwrites y). scratch: l->scratch floats for this
     * call. saved: [n, saved_per_item] state for backward, or NULL (inference). */
    void (*forward)(const l2h_layer *l, const float *params, const float *x, size_t n, float *y,
                    float *scratch, int32_t *saved);
    /* Given x, y of the forward and dy[n, out_dim]: dparams += dL/dθ (only this layer's
     * range), dx[n, in_dim] = dL/dx (overwritten; NULL = not needed). dx never aliases dy. */
    void (*backward)(const l2h_layer *l, const float *params, const float *x, const float *y,
                     const float *dy, size_t n, float *dx, float *dparams, float *scratch,
                     const int32_t *saved);
} l2h_layer_ops;

struct l2h_layer {
    const l2h_layer_ops *ops;
    l2h_layer_spec spec;        /* stride resolved                                */
    size_t in_c, in_h, in_w;    /* input shape of one item                        */
    size_t out_c, out_h, out_w; /* output shape of one item                       */
    size_t in_dim, out_dim;     /* c * h * w                                      */
    size_t w_off, w_count;      /* weight range in the arena (w_count 0: none)    */
    size_t b_off, b_count;      /* bias range, right after the weight             */
    size_t fan_in, fan_out;     /* for initialisation                             */
    size_t scratch;             /* floats of per-call scratch, independent of n   */
    size_t saved_per_item;      /* int32 entries saved per item for backward      */
    int32_t *saved;             /* [max_batch, saved_per_item], owned by the net  */
    uint64_t rng_seed;          /* dropout masks: set by l2h_nn_init               */
    uint64_t rng_calls;         /* dropout masks: training forwards so far         */
};

extern const l2h_layer_ops l2h_layer_linear_ops;
extern const l2h_layer_ops l2h_layer_relu_ops;
extern const l2h_layer_ops l2h_layer_sigmoid_ops;
extern const l2h_layer_ops l2h_layer_tanh_ops;
extern const l2h_layer_ops l2h_layer_flatten_ops;
extern const l2h_layer_ops l2h_layer_conv_ops;
extern const l2h_layer_ops l2h_layer_maxpool_ops;
extern const l2h_layer_ops l2h_layer_rbf_ops;
extern const l2h_layer_ops l2h_layer_bn_ops;
extern const l2h_layer_ops l2h_layer_dropout_ops;
extern const l2h_layer_ops l2h_layer_dwconv_ops;
extern const l2h_layer_ops l2h_layer_relu6_ops;
extern const l2h_layer_ops l2h_layer_avgpool_ops;

struct l2h_nn {
    char arch[16];
    size_t in_c, in_h, in_w;
    size_t n_layers;
    l2h_layer *layers;     /* [n_layers]                                       */
    l2h_layer_spec *specs; /* [n_layers], as resolved                          */
    size_t n_params;
    float *params, *grads; /* [n_params] each, aligned                         */
    size_t n_tensors;
    l2h_nn_tensor *tensors; /* [n_tensors]                                      */
    size_t max_batch;
    size_t max_dim;     /* largest per-item activation, input included      */
    size_t max_scratch; /* largest layer scratch                            */
    float **acts;       /* acts[l]: output of layer l, [max_batch, out_dim] */
    float *dbuf[2];     /* ping-pong gradient buffers [max_batch * max_dim] */
    float *scratch;     /* [max_scratch]                                    */
    const float *input; /* borrowed x of the last forward                   */
    size_t fwd_n;       /* rows of the last forward, 0 = none               */
};

#endif
