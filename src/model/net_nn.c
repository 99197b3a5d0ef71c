/* net_nn.c -- networks built from src/nn layer stacks ("linear", "mlp", "cnn", "kernel") as
 * model architectures: every model's network is an l2h_nn.
 *
 * File layout: every tensor of the parameter arena under its l2h_nn name ("mlp.0.weight",
 * "cnn.3.bias", ...; PyTorch's nn.Sequential numbering) with its PyTorch shape, plus two
 * metadata entries: "nn_arch", the layer stack as l2h_nn_specs_format text, and "nn_input",
 * the input shape "C,H,W" (feature vectors: "dim,1,1"). Encoding runs l2h_nn_infer
 * (thread-safe, scratch per call). Linear networks trained through src/nn are stored as the
 * plain "linear" architecture instead (same tensor names), so old and new linear files agree. */
#include "model_internal.h"

#include "linalg.h"
#include "nn.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define NN_MAX_LAYERS 64

typedef struct net_nn {
    l2h_net base;
    l2h_nn *nn;
} net_nn;

static void nn_net_free(l2h_net *net)
{
    net_nn *n = (net_nn *)net;
    l2h_nn_free(n->nn);
    l2h_free(n);
}

static l2h_status nn_net_forward(const l2h_net *net, const float *x, size_t n, float *z)
{
    return l2h_nn_infer(((const net_nn *)net)->nn, x, n, z);
}

static float *nn_net_params(l2h_net *net, size_t *n)
{
    l2h_nn *nn = ((net_nn *)net)->nn;
    *n = l2h_nn_n_params(nn);
    return l2h_nn_params(nn);
}

static l2h_status nn_net_save(const l2h_net *net, l2h_st_writer *w)
{
    const l2h_nn *nn = ((const net_nn *)net)->nn;
    size_t ns, nt;
    const l2h_layer_spec *specs = l2h_nn_specs(nn, &ns);
    char text[2048];
    L2H_TRY(l2h_nn_specs_format(specs, ns, text, sizeof text));
    L2H_TRY(l2h_st_writer_set_meta(w, "nn_arch", text));
    size_t c, h, wd;
    l2h_nn_in_shape(nn, &c, &h, &wd);
    char shape[96];
    snprintf(shape, sizeof shape, "%zu,%zu,%zu", c, h, wd);
    L2H_TRY(l2h_st_writer_set_meta(w, "nn_input", shape));
    const l2h_nn_tensor *t = l2h_nn_tensors(nn, &nt);
    const float *params = l2h_nn_params_const(nn);
    for (size_t k = 0; k < nt; k++)
        L2H_TRY(l2h_st_writer_add(w, t[k].name, L2H_ST_F32, t[k].rank, t[k].shape,
                                  params + t[k].offset));
    return L2H_OK;
}

static const l2h_net_ops *ops_of(const char *arch);

static l2h_status wrap(l2h_net **out, l2h_nn *nn, const l2h_net_ops *ops)
{
    net_nn *n = l2h_calloc(1, sizeof *n);
    if (!n) {
        l2h_nn_free(nn);
        L2H_FAIL(L2H_ERR_NOMEM, "out of memory in %s", __func__);
    }
    n->base.ops = ops;
    n->base.in_dim = l2h_nn_in_dim(nn);
    n->base.out_dim = l2h_nn_out_dim(nn);
    n->nn = nn;
    *out = &n->base;
    return L2H_OK;
}

static l2h_status parse_shape(const char *s, size_t v[3])
{
    for (int i = 0; i < 3; i++) {
        size_t x = 0;
        if (*s < '0' || *s > '9') return L2H_ERR_FORMAT;
        while (*s >= '0' && *s <= '9') {
            if (x > 100000000) return L2H_ERR_FORMAT;
            x = x * 10 + (size_t)(*s++ - '0');
        }
        if (x == 0) return L2H_ERR_FORMAT;
        v[i] = x;
        if (i < 2 && *s++ != ',') return L2H_ERR_FORMAT;
    }
    return *s == '\0' ? L2H_OK : L2H_ERR_FORMAT;
}

static l2h_status nn_net_load_arch(l2h_net **out, const l2h_st_file *f, size_t in_dim,
                                   size_t out_dim, const char *arch)
{
    *out = NULL;
    const char *name = l2h_st_file_name(f);
    const char *text = l2h_st_meta(f, "nn_arch"), *in = l2h_st_meta(f, "nn_input");
    L2H_FAIL_IF(!text || !in, L2H_ERR_FORMAT, "%s: metadata \"nn_arch\" or \"nn_input\" missing",
                name);
    size_t shape[3];
    L2H_FAIL_IF(parse_shape(in, shape) != L2H_OK, L2H_ERR_FORMAT,
                "%s: metadata \"nn_input\" = \"%.40s\" is not C,H,W", name, in);
    l2h_layer_spec specs[NN_MAX_LAYERS];
    size_t ns;
    if (l2h_nn_specs_parse(text, specs, NN_MAX_LAYERS, &ns) != L2H_OK)
        L2H_FAIL(L2H_ERR_FORMAT, "%s: bad \"nn_arch\": %s", name, l2h_last_error());
    l2h_nn *nn;
    const l2h_status cs = l2h_nn_create(&nn, arch, shape[0], shape[1], shape[2], specs, ns, 0);
    if (cs == L2H_ERR_NOMEM) return cs; /* out of memory is not a bad file */
    if (cs != L2H_OK) L2H_FAIL(L2H_ERR_FORMAT, "%s: bad \"nn_arch\": %s", name, l2h_last_error());
    l2h_status st = L2H_OK;
    if (l2h_nn_in_dim(nn) != in_dim || l2h_nn_out_dim(nn) != out_dim)
        st = l2h_set_error(L2H_ERR_FORMAT, "%s: network %zu -> %zu, metadata says %zu -> %zu",
                           name, l2h_nn_in_dim(nn), l2h_nn_out_dim(nn), in_dim, out_dim);
    size_t nt;
    const l2h_nn_tensor *t = l2h_nn_tensors(nn, &nt);
    float *params = l2h_nn_params(nn);
    for (size_t k = 0; k < nt && st == L2H_OK; k++) {
        const l2h_st_tensor *tt; /* shape first: allocate only what the file backs */
        st = l2h_st_expect(f, t[k].name, L2H_ST_F32, t[k].rank, t[k].shape, &tt);
        if (st == L2H_OK)
            st = l2h_st_read(f, t[k].name, L2H_ST_F32, t[k].rank, t[k].shape,
                             params + t[k].offset);
        for (size_t i = 0; st == L2H_OK && i < t[k].count; i++)
            if (!isfinite(params[t[k].offset + i]))
                st = l2h_set_error(L2H_ERR_FORMAT, "%s: tensor '%s' holds a non-finite value",
                                   name, t[k].name);
    }
    if (st == L2H_OK) return wrap(out, nn, ops_of(arch));
    l2h_nn_free(nn);
    return st;
}

/* ---- "linear": one linear layer of the same network type (LSH, ITQ, PCAH, linear learned and
 * online hashes). Saved as before the nn path existed: "linear.weight" [out, in] and
 * "linear.bias" [out] and no nn_arch metadata, so old and new linear files are the same bytes. */
static l2h_status linear_save(const l2h_net *net, l2h_st_writer *w)
{
    const l2h_nn *nn = ((const net_nn *)net)->nn;
    size_t nt;
    const l2h_nn_tensor *t = l2h_nn_tensors(nn, &nt);
    const float *params = l2h_nn_params_const(nn);
    for (size_t k = 0; k < nt; k++)
        L2H_TRY(l2h_st_writer_add(w, t[k].name, L2H_ST_F32, t[k].rank, t[k].shape,
                                  params + t[k].offset));
    return L2H_OK;
}

/* A new one-layer network in_dim -> out_dim; its weight and bias in *w / *b (the arena: W
 * [out, in], then b [out], one parameter span). */
static l2h_status linear_new(l2h_nn **out, size_t in_dim, size_t out_dim, float **w, float **b)
{
    *out = NULL;
    size_t nw;
    L2H_FAIL_IF(in_dim == 0 || out_dim == 0 || !l2h_mul_ok(in_dim + 1, out_dim, &nw), L2H_ERR_ARG,
                "linear network: invalid shape %zu -> %zu", in_dim, out_dim);
    L2H_TRY(l2h_nn_create_linear(out, in_dim, out_dim, 0));
    size_t nt;
    const l2h_nn_tensor *t = l2h_nn_tensors(*out, &nt);
    float *params = l2h_nn_params(*out);
    if (nt != 2 || t[0].offset != 0 || t[1].offset != in_dim * out_dim ||
        l2h_nn_n_params(*out) != nw) { /* the span layout the online learners rely on */
        l2h_nn_free(*out);
        *out = NULL;
        L2H_FAIL(L2H_ERR_STATE, "linear network: unexpected parameter layout");
    }
    memset(params, 0, nw * sizeof *params);
    *w = params;
    *b = params + in_dim * out_dim;
    return L2H_OK;
}

static l2h_status linear_load(l2h_net **out, const l2h_st_file *f, size_t in_dim, size_t out_dim)
{
    *out = NULL;
    const size_t wshape[2] = {out_dim, in_dim};
    const l2h_st_tensor *tw, *tb; /* shapes first: allocate only what the file backs */
    L2H_TRY(l2h_st_expect(f, "linear.weight", L2H_ST_F32, 2, wshape, &tw));
    L2H_TRY(l2h_st_expect(f, "linear.bias", L2H_ST_F32, 1, &out_dim, &tb));
    l2h_nn *nn;
    float *w, *b;
    L2H_TRY(linear_new(&nn, in_dim, out_dim, &w, &b));
    l2h_status st = l2h_st_read(f, "linear.weight", L2H_ST_F32, 2, wshape, w);
    if (st == L2H_OK) st = l2h_st_read(f, "linear.bias", L2H_ST_F32, 1, &out_dim, b);
    for (size_t i = 0; st == L2H_OK && i < out_dim * (in_dim + 1); i++)
        if (!isfinite(w[i]))
            st = l2h_set_error(L2H_ERR_FORMAT, "%s: linear network has non-finite parameters",
                               l2h_st_file_name(f));
    if (st != L2H_OK) {
        l2h_nn_free(nn);
        return st;
    }
    return wrap(out, nn, &l2h_net_linear_ops);
}

/* z = x · Wᵀ + b as one product over all n rows (the linear layer's arithmetic without
 * l2h_nn_infer's row chunks, whose different sgemm shapes can round differently: the codes of
 * every linear model stay those of the earlier single-product forward, bit for bit). */
static l2h_status linear_forward(const l2h_net *net, const float *x, size_t n, float *z)
{
    const float *w = NULL, *b = NULL;
    L2H_TRY(l2h_net_linear_params(net, &w, &b));
    const size_t din = net->in_dim, dout = net->out_dim;
    for (size_t i = 0; i < n; i++) memcpy(z + i * dout, b, dout * sizeof *z);
    l2h_sgemm(false, true, n, dout, din, 1.0f, x, din, w, din, 1.0f, z, dout);
    return L2H_OK;
}

const l2h_net_ops l2h_net_linear_ops = {
    .arch = "linear",
    .forward = linear_forward,
    .save = linear_save,
    .load = linear_load,
    .free = nn_net_free,
    .params = nn_net_params,
};

l2h_status l2h_net_linear_create(l2h_net **out, size_t in_dim, size_t out_dim, const float *w,
                                 const float *b)
{
    *out = NULL;
    L2H_FAIL_IF(w == NULL, L2H_ERR_ARG, "linear network: NULL weights");
    l2h_nn *nn;
    float *nw, *nb;
    L2H_TRY(linear_new(&nn, in_dim, out_dim, &nw, &nb));
    memcpy(nw, w, in_dim * out_dim * sizeof *nw);
    if (b) memcpy(nb, b, out_dim * sizeof *nb);
    return wrap(out, nn, &l2h_net_linear_ops);
}

l2h_status l2h_net_linear_params(const l2h_net *net, const float **w, const float **b)
{
    L2H_FAIL_IF(net == NULL || net->ops != &l2h_net_linear_ops, L2H_ERR_ARG,
                "not a linear network");
    const float *p = l2h_nn_params_const(((const net_nn *)net)->nn);
    *w = p;
    *b = p + net->in_dim * net->out_dim;
    return L2H_OK;
}

static l2h_status mlp_load(l2h_net **out, const l2h_st_file *f, size_t in_dim, size_t out_dim)
{
    return nn_net_load_arch(out, f, in_dim, out_dim, "mlp");
}

static l2h_status cnn_load(l2h_net **out, const l2h_st_file *f, size_t in_dim, size_t out_dim)
{
    return nn_net_load_arch(out, f, in_dim, out_dim, "cnn");
}

static l2h_status kernel_load(l2h_net **out, const l2h_st_file *f, size_t in_dim, size_t out_dim)
{
    return nn_net_load_arch(out, f, in_dim, out_dim, "kernel");
}

const l2h_net_ops l2h_net_mlp_ops = {
    .arch = "mlp",
    .forward = nn_net_forward,
    .save = nn_net_save,
    .load = mlp_load,
    .free = nn_net_free,
    .params = nn_net_params,
};

const l2h_net_ops l2h_net_cnn_ops = {
    .arch = "cnn",
    .forward = nn_net_forward,
    .save = nn_net_save,
    .load = cnn_load,
    .free = nn_net_free,
    .params = nn_net_params,
};

const l2h_net_ops l2h_net_kernel_ops = {
    .arch = "kernel",
    .forward = nn_net_forward,
    .save = nn_net_save,
    .load = kernel_load,
    .free = nn_net_free,
    .params = nn_net_params,
};

static const l2h_net_ops *ops_of(const char *arch)
{
    if (strcmp(arch, "kernel") == 0) return &l2h_net_kernel_ops;
    return strcmp(arch, "cnn") == 0 ? &l2h_net_cnn_ops : &l2h_net_mlp_ops;
}

l2h_status l2h_net_from_nn(l2h_net **out, l2h_nn *nn)
{
    *out = NULL;
    L2H_FAIL_IF(nn == NULL, L2H_ERR_ARG, "l2h_net_from_nn: NULL network");
    const char *arch = l2h_nn_arch(nn);
    if (strcmp(arch, "linear") == 0) {
        size_t nt;
        const l2h_nn_tensor *t = l2h_nn_tensors(nn, &nt);
        if (nt == 2 && t[0].rank == 2 && t[1].is_bias && t[0].offset == 0 &&
            t[1].offset == t[0].count)
            return wrap(out, nn, &l2h_net_linear_ops);
        l2h_nn_free(nn);
        L2H_FAIL(L2H_ERR_ARG, "l2h_net_from_nn: 'linear' network is not one linear layer");
    }
    if (strcmp(arch, "mlp") != 0 && strcmp(arch, "cnn") != 0 && strcmp(arch, "kernel") != 0) {
        l2h_nn_free(nn);
        L2H_FAIL(L2H_ERR_ARG, "l2h_net_from_nn: no model architecture for '%s'", arch);
    }
    return wrap(out, nn, ops_of(arch));
}

const l2h_nn *l2h_net_nn(const l2h_net *net)
{
    if (!net || (net->ops != &l2h_net_mlp_ops && net->ops != &l2h_net_cnn_ops &&
                 net->ops != &l2h_net_kernel_ops && net->ops != &l2h_net_linear_ops))
        return NULL;
    return ((const net_nn *)net)->nn;
}
