/* net_linear.c -- the linear network z = x · Wᵀ + b (LSH, ITQ and linear learned hashes).
 * Tensors: "linear.weight" F32 [out_dim, in_dim], "linear.bias" F32 [out_dim]. */
#include "model_internal.h"

#include "linalg.h"

#include <math.h>
#include <string.h>

typedef struct net_linear {
    l2h_net base;
    float *w; /* [out_dim, in_dim], followed by b in the same allocation (one parameter span) */
    float *b; /* [out_dim] = w + out_dim * in_dim */
} net_linear;

static void linear_free(l2h_net *net)
{
    net_linear *l = (net_linear *)net;
    l2h_free(l->w);
    l2h_free(l);
}

static float *linear_params(l2h_net *net, size_t *n)
{
    net_linear *l = (net_linear *)net;
    *n = net->out_dim * (net->in_dim + 1);
    return l->w;
}

static l2h_status linear_forward(const l2h_net *net, const float *x, size_t n, float *z)
{
    const net_linear *l = (const net_linear *)net;
    const size_t din = net->in_dim, dout = net->out_dim;
    for (size_t i = 0; i < n; i++) memcpy(z + i * dout, l->b, dout * sizeof *z);
    /* z[n,bits] += x[n,dim] · Wᵀ[dim,bits] */
    l2h_sgemm(false, true, n, dout, din, 1.0f, x, din, l->w, din, 1.0f, z, dout);
    return L2H_OK;
}

static l2h_status linear_save(const l2h_net *net, l2h_st_writer *w)
{
    const net_linear *l = (const net_linear *)net;
    const size_t wshape[2] = {net->out_dim, net->in_dim};
    L2H_TRY(l2h_st_writer_add(w, "linear.weight", L2H_ST_F32, 2, wshape, l->w));
    return l2h_st_writer_add(w, "linear.bias", L2H_ST_F32, 1, &net->out_dim, l->b);
}

static l2h_status alloc_linear(net_linear **out, size_t in_dim, size_t out_dim)
{
    *out = NULL;
    size_t nw;
    L2H_FAIL_IF(in_dim == 0 || out_dim == 0 || !l2h_mul_ok(in_dim + 1, out_dim, &nw), L2H_ERR_ARG,
                "linear network: invalid shape %zu -> %zu", in_dim, out_dim);
    net_linear *l = l2h_calloc(1, sizeof *l);
    L2H_NOMEM_IF_NULL(l);
    l->base.ops = &l2h_net_linear_ops;
    l->base.in_dim = in_dim;
    l->base.out_dim = out_dim;
    l->w = l2h_calloc(nw, sizeof *l->w);
    l->b = l->w ? l->w + out_dim * in_dim : NULL;
    if (!l->w) {
        linear_free(&l->base);
        L2H_FAIL(L2H_ERR_NOMEM, "linear network: out of memory for %zu x %zu weights", out_dim,
                 in_dim);
    }
    *out = l;
    return L2H_OK;
}

static bool all_finite(const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return false;
    return true;
}

static l2h_status linear_load(l2h_net **out, const l2h_st_file *f, size_t in_dim, size_t out_dim)
{
    *out = NULL;
    const size_t wshape[2] = {out_dim, in_dim};
    const l2h_st_tensor *tw, *tb; /* shapes first: allocate only what the file backs */
    L2H_TRY(l2h_st_expect(f, "linear.weight", L2H_ST_F32, 2, wshape, &tw));
    L2H_TRY(l2h_st_expect(f, "linear.bias", L2H_ST_F32, 1, &out_dim, &tb));
    net_linear *l;
    L2H_TRY(alloc_linear(&l, in_dim, out_dim));
    l2h_status st = l2h_st_read(f, "linear.weight", L2H_ST_F32, 2, wshape, l->w);
    if (st == L2H_OK) st = l2h_st_read(f, "linear.bias", L2H_ST_F32, 1, &out_dim, l->b);
    if (st == L2H_OK && (!all_finite(l->w, in_dim * out_dim) || !all_finite(l->b, out_dim)))
        st = l2h_set_error(L2H_ERR_FORMAT, "%s: linear network has non-finite parameters",
                           l2h_st_file_name(f));
    if (st != L2H_OK) {
        linear_free(&l->base);
        return st;
    }
    *out = &l->base;
    return L2H_OK;
}

const l2h_net_ops l2h_net_linear_ops = {
    .arch = "linear",
    .forward = linear_forward,
    .save = linear_save,
    .load = linear_load,
    .free = linear_free,
    .params = linear_params,
};

l2h_status l2h_net_linear_create(l2h_net **out, size_t in_dim, size_t out_dim, const float *w,
                                 const float *b)
{
    *out = NULL;
    L2H_FAIL_IF(w == NULL, L2H_ERR_ARG, "linear network: NULL weights");
    net_linear *l;
    L2H_TRY(alloc_linear(&l, in_dim, out_dim));
    memcpy(l->w, w, in_dim * out_dim * sizeof *l->w);
    if (b) memcpy(l->b, b, out_dim * sizeof *l->b);
    *out = &l->base;
    return L2H_OK;
}

l2h_status l2h_net_linear_params(const l2h_net *net, const float **w, const float **b)
{
    L2H_FAIL_IF(net == NULL || net->ops != &l2h_net_linear_ops, L2H_ERR_ARG,
                "not a linear network");
    const net_linear *l = (const net_linear *)net;
    *w = l->w;
    *b = l->b;
    return L2H_OK;
}
