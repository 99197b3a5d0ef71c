/* nn.h -- neural hash functions: a network is a stack of layers over ONE contiguous float
 * parameter arena and ONE gradient arena of the same length (layers hold offsets into them).
 *
 * Layout. Activations are row-major [n, dim] with dim = c*h*w per item; image tensors are NCHW
 * (item, channel, row, column), so an item's features are its channels one after another, each
 * an h x w row-major plane. Parameters follow PyTorch's shapes: linear weight [out, in] and bias
 * [out]; conv2d weight [out_c, in_c, kh, kw] and bias [out_c]. In the arena a layer's weight
 * comes first, then its bias; layers in stack order.
 *
 * Contract (docs/mihash.md, style.md 7.6):
 *   - l2h_nn_forward overwrites y and keeps in the network what backward needs: every layer's
 *     output, max-pool argmax indices, and a borrowed pointer to x (x must not change before
 *     the matching l2h_nn_backward);
 *   - l2h_nn_backward overwrites dx and ACCUMULATES into the gradient arena (zero it with
 *     l2h_nn_zero_grads once per step);
 *   - l2h_nn_infer is the thread-safe forward for encoding: const network, scratch allocated per
 *     call, any n.
 * Training buffers are sized at creation for max_batch rows; max_batch = 0 builds an
 * inference-only network (forward/backward then fail with L2H_ERR_STATE).
 *
 * Tensor names (l2h_nn_tensors), for model files: "<arch>.<i>.weight" and "<arch>.<i>.bias",
 * i = index of the layer in the stack (as PyTorch's nn.Sequential numbers its children); when
 * the network has exactly one layer with parameters the index is dropped ("linear.weight",
 * "linear.bias"), which are the names the plain linear model already uses. */
#ifndef L2H_NN_H
#define L2H_NN_H

#include "core.h"

typedef enum l2h_layer_kind {
    L2H_LAYER_LINEAR = 0,  /* y = x · Wᵀ + b on flat input (h = w = 1)               */
    L2H_LAYER_RELU = 1,    /* y = max(x, 0)                                            */
    L2H_LAYER_SIGMOID = 2, /* y = 1 / (1 + e^-x)                                       */
    L2H_LAYER_TANH = 3,    /* y = tanh x                                               */
    L2H_LAYER_CONV2D = 4,  /* cross-correlation, zero padding, im2col + sgemm          */
    L2H_LAYER_MAXPOOL = 5, /* max over kh x kw windows, no padding, floor output size  */
    L2H_LAYER_FLATTEN = 6, /* [c, h, w] -> [c*h*w, 1, 1]; data unchanged              */
    L2H_LAYER_RBF = 7,     /* y_i = exp(-gamma ||x - a_i||^2) - mu_i (OKH's kernel hash) */
    L2H_LAYER_BATCHNORM = 8, /* per-channel batch normalisation (layer_bn.c)          */
    L2H_LAYER_DROPOUT = 9, /* inverted dropout, out = rate in percent (layer_dropout.c) */
    L2H_LAYER_DWCONV = 10, /* depthwise conv, one kh x kw filter per channel (layer_dwconv.c) */
    L2H_LAYER_RELU6 = 11,  /* y = min(max(x, 0), 6) (layer_relu6.c)                     */
    L2H_LAYER_AVGPOOL = 12, /* global average pool [c, h, w] -> [c, 1, 1] (layer_avgpool.c) */
    L2H_LAYER_KIND_COUNT
} l2h_layer_kind;

/* Name of a layer kind ("linear", "relu", "sigmoid", "tanh", "conv", "maxpool", "flatten",
 * "bn", "dropout", "dwconv", "relu6", "avgpool");
 * "?" for an invalid value. */
const char *l2h_layer_kind_name(l2h_layer_kind k);

typedef struct l2h_layer_spec {
    l2h_layer_kind kind;
    size_t out;    /* LINEAR: output units; CONV2D: output channels; DROPOUT: rate in % (1..99);
                    * others: unused (0)                                                 */
    size_t kh, kw; /* CONV2D / DWCONV kernel, MAXPOOL window; others: 0                  */
    size_t stride; /* CONV2D / DWCONV (0 means 1), MAXPOOL (0 means the window)          */
    size_t pad;    /* CONV2D / DWCONV zero padding on every side; others: 0              */
    double gamma;  /* RBF kernel width 1 / (2 sigma^2) (> 0); others: 0                   */
} l2h_layer_spec;

/* Architecture text for model metadata, e.g. "conv:20:5x5:s1:p0,relu,maxpool:2x2:s2,flatten,
 * linear:500,relu,linear:16" (comma-separated; linear:<out>; conv:<out_c>:<kh>x<kw>:s<stride>:
 * p<pad>; maxpool:<kh>x<kw>:s<stride>; rbf:<anchors>:g<gamma, %.17g>; relu; sigmoid; tanh;
 * flatten; bn; dropout:<percent>; dwconv:<kh>x<kw>:s<stride>:p<pad>; relu6; avgpool).
 * Strides are written as
 * resolved (never 0). L2H_ERR_ARG if buf[cap] is too small. */
l2h_status l2h_nn_specs_format(const l2h_layer_spec *specs, size_t n, char *buf, size_t cap);
/* Parses that text into specs[cap]; *n receives the count. L2H_ERR_FORMAT on a syntax error,
 * L2H_ERR_ARG if more than cap layers. */
l2h_status l2h_nn_specs_parse(const char *text, l2h_layer_spec *specs, size_t cap, size_t *n);

/* One named tensor of the parameter arena. */
typedef struct l2h_nn_tensor {
    char name[40];    /* e.g. "cnn.0.weight"                                           */
    size_t rank;      /* 1, 2 or 4                                                    */
    size_t shape[4];  /* row-major shape, shape[rank..3] = 1                          */
    size_t offset;    /* first element in the arena                                   */
    size_t count;     /* product of the shape                                         */
    size_t layer;     /* index of the owning layer                                    */
    int is_bias;      /* 1 for a bias vector                                          */
    float lr_mult;    /* learning-rate multiplier (default 1)                         */
    float decay_mult; /* weight-decay multiplier (default 1 for weights, 0 for biases) */
} l2h_nn_tensor;

typedef struct l2h_nn l2h_nn;

/* A network over inputs of shape [in_c, in_h, in_w] (feature vectors: [dim, 1, 1]) from
 * n_specs layer specs (copied). arch names the tensors ("linear", "mlp", "cnn", ...; at most 15
 * characters of [a-z0-9_]). Parameters start at zero (use l2h_nn_init). Errors: L2H_ERR_ARG for
 * inconsistent shapes (kernel larger than the padded input, linear on non-flat input, zero
 * sizes) with the layer index in the message; L2H_ERR_NOMEM. *out = NULL on failure. */
l2h_status l2h_nn_create(l2h_nn **out, const char *arch, size_t in_c, size_t in_h, size_t in_w,
                         const l2h_layer_spec *specs, size_t n_specs, size_t max_batch);
void l2h_nn_free(l2h_nn *net); /* NULL is a no-op */

size_t l2h_nn_in_dim(const l2h_nn *net);  /* in_c * in_h * in_w */
size_t l2h_nn_out_dim(const l2h_nn *net); /* outputs of the last layer */
size_t l2h_nn_max_batch(const l2h_nn *net);
const char *l2h_nn_arch(const l2h_nn *net);
/* Input shape as given at creation. */
void l2h_nn_in_shape(const l2h_nn *net, size_t *c, size_t *h, size_t *w);
/* The layer specs (strides resolved), valid while net lives. */
const l2h_layer_spec *l2h_nn_specs(const l2h_nn *net, size_t *n);

/* The parameter and gradient arenas, n_params floats each, 64-byte aligned, owned by net. */
size_t l2h_nn_n_params(const l2h_nn *net);
float *l2h_nn_params(l2h_nn *net);
const float *l2h_nn_params_const(const l2h_nn *net);
float *l2h_nn_grads(l2h_nn *net);
void l2h_nn_zero_grads(l2h_nn *net);
/* The serialisation / optimiser view: every weight and bias tensor in arena order. */
const l2h_nn_tensor *l2h_nn_tensors(const l2h_nn *net, size_t *n);
/* Index of the tensor with this name, or (size_t)-1. */
size_t l2h_nn_find_tensor(const l2h_nn *net, const char *name);
/* Per-tensor multipliers, e.g. HashNet's last layer at 10x: L2H_ERR_ARG for a bad index or a
 * negative / non-finite multiplier. */
l2h_status l2h_nn_set_mult(l2h_nn *net, size_t tensor, float lr_mult, float decay_mult);

/* Training forward: y[n, out_dim] = net(x[n, in_dim]), 1 <= n <= max_batch. Saves what
 * backward needs (see the header comment). y may be NULL (output then only kept inside). */
l2h_status l2h_nn_forward(l2h_nn *net, const float *x, size_t n, float *y);
/* Output of the last l2h_nn_forward, [n, out_dim], valid until the next forward. */
const float *l2h_nn_output(const l2h_nn *net);
/* Backward for the last forward (same n): grads += dL/dparams; dx[n, in_dim] = dL/dx, or NULL
 * when not needed (skips the first layer's input gradient). L2H_ERR_STATE without a forward. */
l2h_status l2h_nn_backward(l2h_nn *net, const float *dy, size_t n, float *dx);
/* Inference: y[n, out_dim] = net(x[n, in_dim]) for any n, in chunks; thread-safe on a const
 * net; allocates its scratch per call (L2H_ERR_NOMEM). Same arithmetic as l2h_nn_forward
 * (results can differ in the last bits only where BLAS blocks a product differently for
 * another row count). Works on inference-only networks (max_batch 0). */
l2h_status l2h_nn_infer(const l2h_nn *net, const float *x, size_t n, float *y);

/* ---- initialisation and builders (nn_build.c) --------------------------------------------- */
typedef enum l2h_init_kind {
    L2H_INIT_GAUSSIAN = 0, /* N(0, std²)                                  */
    L2H_INIT_HE = 1,       /* N(0, 2 / fan_in)                            */
    L2H_INIT_GLOROT = 2    /* U(-r, r), r = sqrt(6 / (fan_in + fan_out))   */
} l2h_init_kind;

/* Draws every weight tensor (arena order, one xoshiro stream from seed) and zeroes the biases.
 * fan_in = in features (linear) or in_c*kh*kw (conv); fan_out = out or out_c*kh*kw. std is
 * used by L2H_INIT_GAUSSIAN only (must be finite, >= 0). */
l2h_status l2h_nn_init(l2h_nn *net, l2h_init_kind kind, float std, uint64_t seed);

/* Data-dependent output centring (the mean-only half of Salimans & Kingma's data-dependent
 * initialisation): z [n, out_dim] are the network's current outputs on sample rows; when the
 * last layer is linear and has layers before it, its bias becomes b − mean(z) and z is shifted
 * the same way, so every output starts with mean 0 over the sample. Hidden ReLU / pooling
 * layers give all items a large common positive component, and the last layer projects it to a
 * per-output offset that can dwarf the item-to-item spread (seen: offsets up to 9 spreads in
 * the CNN, half of the bits on one side for every item). *centred = 1 if the bias was changed;
 * a single linear layer (its inputs are centred by preprocessing) or a last batch norm (it
 * centres by itself) are left alone (*centred = 0). */
l2h_status l2h_nn_centre_output(l2h_nn *net, float *z, size_t n, int *centred);

/* Linear hash: "linear" = [linear:bits] over dim inputs. */
l2h_status l2h_nn_create_linear(l2h_nn **out, size_t dim, size_t bits, size_t max_batch);
/* MLP "mlp": dim -> hidden[0] -> relu -> ... -> hidden[n_hidden-1] -> relu -> bits. */
l2h_status l2h_nn_create_mlp(l2h_nn **out, size_t dim, const size_t *hidden, size_t n_hidden,
                             size_t bits, size_t max_batch);
/* Regularised stacks (issue 16): after every hidden linear / conv layer a batch norm (bn), after
 * every hidden fully connected ReLU a dropout of dropout_pct % (0 = none), and a batch norm of
 * the bits outputs (out_bn). With all three off these are the plain builders. */
typedef struct l2h_nn_reg {
    int bn, out_bn;
    size_t dropout_pct; /* 0..99 */
} l2h_nn_reg;
l2h_status l2h_nn_create_mlp_reg(l2h_nn **out, size_t dim, const size_t *hidden, size_t n_hidden,
                                 size_t bits, const l2h_nn_reg *reg, size_t max_batch);

/* CNN "cnn": for each stage s < n_conv: conv k x k (channels[s], stride 1, padding pad) ->
 * relu -> maxpool pool x pool (stride pool; pool = 1 skips the pooling layer); then flatten;
 * then fc_hidden > 0 ? linear(fc_hidden) -> relu : nothing; then linear(bits). */
typedef struct l2h_cnn_params {
    size_t in_c, in_h, in_w;
    size_t n_conv;      /* 1..4                        */
    size_t channels[4]; /* output channels per stage   */
    size_t kernel;      /* square kernel size          */
    size_t pad;         /* zero padding of every conv  */
    size_t pool;        /* pooling window and stride   */
    size_t fc_hidden;   /* 0 = no hidden fc layer      */
} l2h_cnn_params;
/* LeNet-sized default for 1x28x28 images (MNIST, Fashion-MNIST): conv5x5(20) - relu - pool2 -
 * conv5x5(50) - relu - pool2 - flatten(800) - fc(500) - relu - fc(bits); 434k parameters at 16
 * bits. */
l2h_cnn_params l2h_cnn_default_params(void);
l2h_status l2h_nn_create_cnn(l2h_nn **out, const l2h_cnn_params *p, size_t bits, size_t max_batch);
l2h_status l2h_nn_create_cnn_reg(l2h_nn **out, const l2h_cnn_params *p, size_t bits,
                                 const l2h_nn_reg *reg, size_t max_batch);

#endif
