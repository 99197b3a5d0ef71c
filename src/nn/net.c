/* net.c -- the network: a stack of layers over one parameter arena and one gradient arena.
 *
 * Memory (all sized at creation): params/grads [n_params]; per layer an output buffer
 * [max_batch, out_dim] (the next layer's input and, for activations, what backward needs);
 * two ping-pong gradient buffers [max_batch · max_dim]; one layer scratch [max_scratch];
 * max-pool argmax buffers. Training forward/backward use only these; l2h_nn_infer allocates its
 * own per call so a const network can encode from several threads. */
#include "nn_internal.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define NN_ALIGN 64
/* Rows per l2h_nn_infer chunk: bounds its scratch at 2 · 256 · max_dim floats. */
#define NN_INFER_CHUNK 256

static const l2h_layer_ops *const k_layer_ops[] = {
    [L2H_LAYER_LINEAR] = &l2h_layer_linear_ops,   [L2H_LAYER_RELU] = &l2h_layer_relu_ops,
    [L2H_LAYER_SIGMOID] = &l2h_layer_sigmoid_ops, [L2H_LAYER_TANH] = &l2h_layer_tanh_ops,
    [L2H_LAYER_CONV2D] = &l2h_layer_conv_ops,     [L2H_LAYER_MAXPOOL] = &l2h_layer_maxpool_ops,
    [L2H_LAYER_FLATTEN] = &l2h_layer_flatten_ops, [L2H_LAYER_RBF] = &l2h_layer_rbf_ops,
    [L2H_LAYER_BATCHNORM] = &l2h_layer_bn_ops,     [L2H_LAYER_DROPOUT] = &l2h_layer_dropout_ops,
    [L2H_LAYER_DWCONV] = &l2h_layer_dwconv_ops,   [L2H_LAYER_RELU6] = &l2h_layer_relu6_ops,
    [L2H_LAYER_AVGPOOL] = &l2h_layer_avgpool_ops,
};
/* The table is sized by its initialiser, so a kind added at the end of the enum without an entry
 * makes it shorter than the count; the count itself is pinned so that adding a kind fails here
 * until the table (and this number) are updated. */
_Static_assert(sizeof k_layer_ops / sizeof k_layer_ops[0] == L2H_LAYER_KIND_COUNT,
               "layer ops table");
_Static_assert(L2H_LAYER_KIND_COUNT == 13, "a layer kind was added: give it an entry above");

const char *l2h_layer_kind_name(l2h_layer_kind k)
{
    if ((unsigned)k >= L2H_LAYER_KIND_COUNT) return "?";
    return k_layer_ops[k]->name;
}

static float *arena_alloc(size_t n)
{
    size_t bytes;
    if (!l2h_mul_ok(n ? n : 1, sizeof(float), &bytes)) return NULL;
    bytes = (bytes + NN_ALIGN - 1) / NN_ALIGN * NN_ALIGN;
    float *p = l2h_aligned_alloc(NN_ALIGN, bytes);
    if (p) memset(p, 0, bytes);
    return p;
}

void l2h_nn_free(l2h_nn *net)
{
    if (net == NULL) return;
    if (net->layers)
        for (size_t l = 0; l < net->n_layers; l++)
            l2h_free(net->layers[l].saved);
    if (net->acts)
        for (size_t l = 0; l < net->n_layers; l++)
            l2h_aligned_free(net->acts[l]);
    l2h_free(net->acts);
    l2h_aligned_free(net->dbuf[0]);
    l2h_aligned_free(net->dbuf[1]);
    l2h_aligned_free(net->scratch);
    l2h_aligned_free(net->params);
    l2h_aligned_free(net->grads);
    l2h_free(net->tensors);
    l2h_free(net->specs);
    l2h_free(net->layers);
    l2h_free(net);
}

static int arch_ok(const char *arch)
{
    const size_t len = arch ? strlen(arch) : 0;
    if (len == 0 || len > 15) return 0;
    for (size_t i = 0; i < len; i++)
        if (!(islower((unsigned char)arch[i]) || isdigit((unsigned char)arch[i]) || arch[i] == '_'))
            return 0;
    return 1;
}

/* Shapes, parameter offsets and buffer sizes of every layer. */
static l2h_status plan_layers(l2h_nn *net)
{
    size_t c = net->in_c, h = net->in_h, w = net->in_w, off = 0;
    net->max_dim = c * h * w;
    for (size_t i = 0; i < net->n_layers; i++) {
        l2h_layer *l = &net->layers[i];
        l->ops = k_layer_ops[l->spec.kind];
        l->in_c = c;
        l->in_h = h;
        l->in_w = w;
        l->in_dim = c * h * w;
        const l2h_status st = l->ops->setup(l);
        if (st != L2H_OK) {
            char why[256];
            snprintf(why, sizeof why, "%s", l2h_last_error());
            return l2h_set_error(st, "network layer %zu (%s): %s", i, l->ops->name, why);
        }
        size_t d;
        L2H_FAIL_IF(l->out_c == 0 || l->out_h == 0 || l->out_w == 0 ||
                        !l2h_mul_ok(l->out_c, l->out_h, &d) || !l2h_mul_ok(d, l->out_w, &d) ||
                        d > ((size_t)1 << 31),
                    L2H_ERR_ARG, "network layer %zu (%s): output too large", i, l->ops->name);
        l->out_dim = d;
        const size_t limit = (size_t)1 << 40;
        L2H_FAIL_IF(l->w_count > limit || l->b_count > limit || off > limit, L2H_ERR_ARG,
                    "network: too many parameters");
        l->w_off = off;
        l->b_off = off + l->w_count;
        off += l->w_count + l->b_count;
        if (d > net->max_dim) net->max_dim = d;
        if (l->scratch > net->max_scratch) net->max_scratch = l->scratch;
        c = l->out_c;
        h = l->out_h;
        w = l->out_w;
    }
    net->n_params = off;
    return L2H_OK;
}

static void add_tensor(l2h_nn *net, size_t layer, int bias, size_t rank, const size_t *shape,
                       size_t offset, size_t count, int single)
{
    l2h_nn_tensor *t = &net->tensors[net->n_tensors++];
    memset(t, 0, sizeof *t);
    if (single)
        snprintf(t->name, sizeof t->name, "%s.%s", net->arch, bias ? "bias" : "weight");
    else
        snprintf(t->name, sizeof t->name, "%s.%zu.%s", net->arch, layer, bias ? "bias" : "weight");
    t->rank = rank;
    for (size_t k = 0; k < 4; k++)
        t->shape[k] = k < rank ? shape[k] : 1;
    t->offset = offset;
    t->count = count;
    t->layer = layer;
    t->is_bias = bias;
    t->lr_mult = 1.0f;
    t->decay_mult = bias ? 0.0f : 1.0f;
}

static l2h_status build_tensors(l2h_nn *net)
{
    size_t with_params = 0;
    for (size_t i = 0; i < net->n_layers; i++)
        with_params += net->layers[i].w_count > 0;
    net->tensors = l2h_calloc(2 * with_params + 1, sizeof *net->tensors);
    L2H_NOMEM_IF_NULL(net->tensors);
    for (size_t i = 0; i < net->n_layers; i++) {
        const l2h_layer *l = &net->layers[i];
        if (l->w_count == 0) continue;
        if (l->spec.kind == L2H_LAYER_CONV2D) {
            const size_t ws[4] = {l->out_c, l->in_c, l->spec.kh, l->spec.kw};
            add_tensor(net, i, 0, 4, ws, l->w_off, l->w_count, with_params == 1);
        } else if (l->spec.kind == L2H_LAYER_DWCONV) { /* PyTorch's groups = C: [C, 1, KH, KW] */
            const size_t ws[4] = {l->in_c, 1, l->spec.kh, l->spec.kw};
            add_tensor(net, i, 0, 4, ws, l->w_off, l->w_count, with_params == 1);
        } else if (l->spec.kind == L2H_LAYER_BATCHNORM) { /* γ [C], no weight decay */
            add_tensor(net, i, 0, 1, &l->w_count, l->w_off, l->w_count, with_params == 1);
            net->tensors[net->n_tensors - 1].decay_mult = 0.0f;
        } else {
            const size_t ws[2] = {l->out_dim, l->in_dim};
            add_tensor(net, i, 0, 2, ws, l->w_off, l->w_count, with_params == 1);
        }
        add_tensor(net, i, 1, 1, &l->b_count, l->b_off, l->b_count, with_params == 1);
    }
    return L2H_OK;
}

static l2h_status alloc_buffers(l2h_nn *net)
{
    net->params = arena_alloc(net->n_params);
    net->grads = arena_alloc(net->n_params);
    L2H_NOMEM_IF_NULL(net->params);
    L2H_NOMEM_IF_NULL(net->grads);
    if (net->max_batch == 0) return L2H_OK;
    size_t rows;
    L2H_FAIL_IF(!l2h_mul_ok(net->max_batch, net->max_dim, &rows), L2H_ERR_ARG,
                "network: max_batch %zu too large", net->max_batch);
    net->acts = l2h_calloc(net->n_layers, sizeof *net->acts);
    L2H_NOMEM_IF_NULL(net->acts);
    for (size_t i = 0; i < net->n_layers; i++) {
        l2h_layer *l = &net->layers[i];
        net->acts[i] = arena_alloc(net->max_batch * l->out_dim);
        L2H_NOMEM_IF_NULL(net->acts[i]);
        if (l->saved_per_item) {
            l->saved = l2h_malloc_array(net->max_batch * l->saved_per_item, sizeof *l->saved);
            L2H_NOMEM_IF_NULL(l->saved);
        }
    }
    net->dbuf[0] = arena_alloc(rows);
    net->dbuf[1] = arena_alloc(rows);
    net->scratch = arena_alloc(net->max_scratch);
    L2H_NOMEM_IF_NULL(net->dbuf[0]);
    L2H_NOMEM_IF_NULL(net->dbuf[1]);
    L2H_NOMEM_IF_NULL(net->scratch);
    return L2H_OK;
}

l2h_status l2h_nn_create(l2h_nn **out, const char *arch, size_t in_c, size_t in_h, size_t in_w,
                         const l2h_layer_spec *specs, size_t n_specs, size_t max_batch)
{
    L2H_FAIL_IF(out == NULL, L2H_ERR_ARG, "network: NULL output");
    *out = NULL;
    L2H_FAIL_IF(!arch_ok(arch), L2H_ERR_ARG,
                "network: architecture name must be 1..15 characters of [a-z0-9_]");
    L2H_FAIL_IF(specs == NULL || n_specs == 0, L2H_ERR_ARG, "network: no layers");
    L2H_FAIL_IF(n_specs > 4096, L2H_ERR_ARG, "network: %zu layers is too many", n_specs);
    size_t d;
    L2H_FAIL_IF(in_c == 0 || in_h == 0 || in_w == 0 || !l2h_mul_ok(in_c, in_h, &d) ||
                    !l2h_mul_ok(d, in_w, &d) || d > ((size_t)1 << 31),
                L2H_ERR_ARG, "network: invalid input shape [%zu, %zu, %zu]", in_c, in_h, in_w);
    L2H_FAIL_IF(max_batch > ((size_t)1 << 24), L2H_ERR_ARG, "network: max_batch %zu too large",
                max_batch);
    for (size_t i = 0; i < n_specs; i++)
        L2H_FAIL_IF((unsigned)specs[i].kind >= L2H_LAYER_KIND_COUNT, L2H_ERR_ARG,
                    "network layer %zu: unknown kind %d", i, (int)specs[i].kind);

    l2h_status st = L2H_OK;
    l2h_nn *net = l2h_calloc(1, sizeof *net);
    L2H_NOMEM_IF_NULL(net);
    memcpy(net->arch, arch, strlen(arch) + 1);
    net->in_c = in_c;
    net->in_h = in_h;
    net->in_w = in_w;
    net->n_layers = n_specs;
    net->max_batch = max_batch;
    net->layers = l2h_calloc(n_specs, sizeof *net->layers);
    net->specs = l2h_calloc(n_specs, sizeof *net->specs);
    if (!net->layers || !net->specs) L2H_FAIL_GOTO(L2H_ERR_NOMEM, "network: out of memory");
    for (size_t i = 0; i < n_specs; i++) {
        l2h_layer_spec s = specs[i];
        if (s.stride == 0 && (s.kind == L2H_LAYER_CONV2D || s.kind == L2H_LAYER_DWCONV))
            s.stride = 1;
        if (s.stride == 0 && s.kind == L2H_LAYER_MAXPOOL) {
            if (s.kh != s.kw)
                L2H_FAIL_GOTO(L2H_ERR_ARG,
                              "network layer %zu: maxpool %zux%zu needs an "
                              "explicit stride",
                              i, s.kh, s.kw);
            s.stride = s.kh;
        }
        net->layers[i].spec = s;
        net->specs[i] = s;
    }
    L2H_CHECK_GOTO(plan_layers(net));
    L2H_CHECK_GOTO(build_tensors(net));
    L2H_CHECK_GOTO(alloc_buffers(net));
    *out = net;
    return L2H_OK;
done:
    l2h_nn_free(net);
    return st;
}

size_t l2h_nn_in_dim(const l2h_nn *net)
{
    return net->in_c * net->in_h * net->in_w;
}

size_t l2h_nn_out_dim(const l2h_nn *net)
{
    return net->layers[net->n_layers - 1].out_dim;
}

size_t l2h_nn_max_batch(const l2h_nn *net)
{
    return net->max_batch;
}

const char *l2h_nn_arch(const l2h_nn *net)
{
    return net->arch;
}

void l2h_nn_in_shape(const l2h_nn *net, size_t *c, size_t *h, size_t *w)
{
    if (c) *c = net->in_c;
    if (h) *h = net->in_h;
    if (w) *w = net->in_w;
}

const l2h_layer_spec *l2h_nn_specs(const l2h_nn *net, size_t *n)
{
    if (n) *n = net->n_layers;
    return net->specs;
}

size_t l2h_nn_n_params(const l2h_nn *net)
{
    return net->n_params;
}

float *l2h_nn_params(l2h_nn *net)
{
    return net->params;
}

const float *l2h_nn_params_const(const l2h_nn *net)
{
    return net->params;
}

float *l2h_nn_grads(l2h_nn *net)
{
    return net->grads;
}

void l2h_nn_zero_grads(l2h_nn *net)
{
    memset(net->grads, 0, net->n_params * sizeof *net->grads);
}

const l2h_nn_tensor *l2h_nn_tensors(const l2h_nn *net, size_t *n)
{
    if (n) *n = net->n_tensors;
    return net->tensors;
}

size_t l2h_nn_find_tensor(const l2h_nn *net, const char *name)
{
    if (name == NULL) return (size_t)-1;
    for (size_t t = 0; t < net->n_tensors; t++)
        if (strcmp(net->tensors[t].name, name) == 0) return t;
    return (size_t)-1;
}

l2h_status l2h_nn_set_mult(l2h_nn *net, size_t tensor, float lr_mult, float decay_mult)
{
    L2H_FAIL_IF(tensor >= net->n_tensors, L2H_ERR_ARG, "network: tensor %zu of %zu", tensor,
                net->n_tensors);
    L2H_FAIL_IF(!isfinite(lr_mult) || !isfinite(decay_mult) || lr_mult < 0.0f || decay_mult < 0.0f,
                L2H_ERR_ARG, "network: multipliers must be finite and >= 0 (%g, %g)",
                (double)lr_mult, (double)decay_mult);
    net->tensors[tensor].lr_mult = lr_mult;
    net->tensors[tensor].decay_mult = decay_mult;
    return L2H_OK;
}

l2h_status l2h_nn_forward(l2h_nn *net, const float *x, size_t n, float *y)
{
    L2H_FAIL_IF(net->max_batch == 0, L2H_ERR_STATE,
                "network: built for inference only (max_batch 0)");
    L2H_FAIL_IF(x == NULL, L2H_ERR_ARG, "network forward: NULL input");
    L2H_FAIL_IF(n == 0 || n > net->max_batch, L2H_ERR_ARG,
                "network forward: %zu rows, expected 1..%zu", n, net->max_batch);
    const float *in = x;
    for (size_t i = 0; i < net->n_layers; i++) {
        const l2h_layer *l = &net->layers[i];
        l->ops->forward(l, net->params, in, n, net->acts[i], net->scratch, l->saved);
        in = net->acts[i];
    }
    net->input = x;
    net->fwd_n = n;
    if (y) memcpy(y, in, n * l2h_nn_out_dim(net) * sizeof *y);
    return L2H_OK;
}

const float *l2h_nn_output(const l2h_nn *net)
{
    return net->fwd_n ? net->acts[net->n_layers - 1] : NULL;
}

l2h_status l2h_nn_backward(l2h_nn *net, const float *dy, size_t n, float *dx)
{
    L2H_FAIL_IF(net->fwd_n == 0, L2H_ERR_STATE, "network backward without a forward");
    L2H_FAIL_IF(n != net->fwd_n, L2H_ERR_ARG, "network backward: %zu rows, forward had %zu", n,
                net->fwd_n);
    L2H_FAIL_IF(dy == NULL, L2H_ERR_ARG, "network backward: NULL dy");
    const float *g = dy;
    for (size_t i = net->n_layers; i-- > 0;) {
        const l2h_layer *l = &net->layers[i];
        const float *in = i ? net->acts[i - 1] : net->input;
        float *gx = i ? net->dbuf[i & 1] : dx;
        l->ops->backward(l, net->params, in, net->acts[i], g, n, gx, net->grads, net->scratch,
                         l->saved);
        g = gx;
    }
    return L2H_OK;
}

l2h_status l2h_nn_infer(const l2h_nn *net, const float *x, size_t n, float *y)
{
    L2H_FAIL_IF(x == NULL || y == NULL, L2H_ERR_ARG, "network infer: NULL buffer");
    if (n == 0) return L2H_OK;
    const size_t chunk = n < NN_INFER_CHUNK ? n : NN_INFER_CHUNK;
    const size_t din = l2h_nn_in_dim(net), dout = l2h_nn_out_dim(net);
    float *buf[2] = {arena_alloc(chunk * net->max_dim), arena_alloc(chunk * net->max_dim)};
    float *scratch = arena_alloc(net->max_scratch);
    l2h_status st = L2H_OK;
    if (!buf[0] || !buf[1] || !scratch)
        L2H_FAIL_GOTO(L2H_ERR_NOMEM, "network infer: out of memory for %zu rows", chunk);
    for (size_t r0 = 0; r0 < n; r0 += chunk) {
        const size_t m = n - r0 < chunk ? n - r0 : chunk;
        const float *in = x + r0 * din;
        for (size_t i = 0; i < net->n_layers; i++) {
            const l2h_layer *l = &net->layers[i];
            float *o = (i + 1 == net->n_layers) ? y + r0 * dout : buf[i & 1];
            l->ops->forward(l, net->params, in, m, o, scratch, NULL);
            in = o;
        }
    }
done:
    l2h_aligned_free(buf[0]);
    l2h_aligned_free(buf[1]);
    l2h_aligned_free(scratch);
    return st;
}
