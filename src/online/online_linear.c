/* online_linear.c -- helpers shared by the online methods: the method registry, the affinity
 * rule between stream items, and the linear hash h(x) = [w_kᵀx + b_k > 0]_k with W stored as
 * [bits, dim] rows followed by b (LSH initialisation, row normalisation, the mapping model,
 * parameter distance). */
#include "online_internal.h"

#include "l2h/codes.h"
#include "linalg.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>

/* The online method registry: adding a method is one file online_<name>.c exporting its ops
 * table (option table included) and one line in online_methods.def. */
#define L2H_ONLINE_METHOD(x) extern const l2h_online_ops l2h_online_##x##_ops;
#include "online_methods.def"
#undef L2H_ONLINE_METHOD
#define L2H_ONLINE_METHOD(x) &l2h_online_##x##_ops,
static const l2h_online_ops *const k_methods[] = {
#include "online_methods.def"
};
#undef L2H_ONLINE_METHOD
#define N_METHODS (sizeof k_methods / sizeof k_methods[0])

const l2h_online_ops *l2h_online_find_ops(const char *name)
{
    if (name == NULL) return NULL;
    for (size_t i = 0; i < N_METHODS; i++)
        if (strcmp(k_methods[i]->info.name, name) == 0) return k_methods[i];
    return NULL;
}

size_t l2h_online_method_count(void)
{
    return N_METHODS;
}

const l2h_method_info *l2h_online_method_info(size_t i)
{
    return i < N_METHODS ? &k_methods[i]->info : NULL;
}

const l2h_method_info *l2h_online_method_find(const char *name)
{
    const l2h_online_ops *ops = l2h_online_find_ops(name);
    return ops ? &ops->info : NULL;
}

static const char *g_names[N_METHODS + 1];
static once_flag g_names_once = ONCE_FLAG_INIT;

static void fill_names(void)
{
    for (size_t i = 0; i < N_METHODS; i++)
        g_names[i] = k_methods[i]->info.name;
    g_names[N_METHODS] = NULL;
}

const char *const *l2h_online_methods(void)
{
    call_once(&g_names_once, fill_names);
    return g_names;
}

bool l2h_online_similar(const float *xa, const float *xb, size_t dim, const int32_t *la,
                        const int32_t *lb, float dist_threshold)
{
    if (la != NULL && lb != NULL) return *la == *lb;
    double d2 = 0.0;
    for (size_t i = 0; i < dim; i++) {
        const double d = (double)xa[i] - (double)xb[i];
        d2 += d * d;
    }
    return d2 <= (double)dist_threshold * (double)dist_threshold;
}

void l2h_online_normalize_rows(float *w, size_t bits, size_t dim)
{
    for (size_t k = 0; k < bits; k++) {
        float *row = w + k * dim;
        double s = 0.0;
        for (size_t i = 0; i < dim; i++)
            s += (double)row[i] * (double)row[i];
        if (s <= 0.0) continue;
        const float inv = (float)(1.0 / sqrt(s));
        for (size_t i = 0; i < dim; i++)
            row[i] *= inv;
    }
}

void l2h_online_lsh_init(float *w, size_t bits, size_t dim, l2h_rng *rng)
{
    for (size_t i = 0; i < bits * dim; i++)
        w[i] = (float)l2h_rng_normal(rng);
    l2h_online_normalize_rows(w, bits, dim);
}

l2h_status l2h_online_new_model(l2h_model **out, const char *name, l2h_net *net,
                                const l2h_online_setup *su)
{
    *out = NULL;
    L2H_TRY(l2h_model_create(out, name, net, su->mean, su->l2_normalize));
    const l2h_status st = l2h_model_set_meta(*out, "online", "1");
    if (st != L2H_OK) {
        l2h_model_free(*out);
        *out = NULL;
    }
    return st;
}

l2h_status l2h_online_linear_model(l2h_model **out, const char *name, const l2h_online_setup *su,
                                   float **w, float **b)
{
    *out = NULL;
    size_t n;
    L2H_FAIL_IF(!l2h_mul_ok(su->bits, su->dim + 1, &n), L2H_ERR_ARG, "online: size overflow");
    float *zero = l2h_calloc(su->bits * su->dim, sizeof *zero);
    L2H_NOMEM_IF_NULL(zero);
    l2h_net *net = NULL;
    l2h_status st = l2h_net_linear_create(&net, su->dim, su->bits, zero, NULL);
    l2h_free(zero);
    if (st != L2H_OK) return st;
    L2H_TRY(l2h_online_new_model(out, name, net, su));
    return l2h_online_linear_bind(*out, su, w, b);
}

l2h_status l2h_online_linear_bind(l2h_model *map, const l2h_online_setup *su, float **w, float **b)
{
    const l2h_net *net = l2h_model_net(map);
    const float *cw, *cb;
    L2H_FAIL_IF(net->in_dim != su->dim || net->out_dim != su->bits ||
                    l2h_net_linear_params(net, &cw, &cb) != L2H_OK,
                L2H_ERR_FORMAT, "online: the mapping is not a linear hash %zu -> %zu", su->dim,
                su->bits);
    size_t n;
    *w = l2h_model_params(map, &n);
    *b = *w + su->bits * su->dim;
    return L2H_OK;
}

double l2h_online_l1(const float *a, const float *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += fabs((double)a[i] - (double)b[i]);
    return s;
}

l2h_status l2h_online_create_lsh_linear(void **state, l2h_model **map, const char *name,
                                        const l2h_online_setup *su,
                                        l2h_status (*bind)(void **state, l2h_model *map,
                                                           const l2h_online_setup *su))
{
    float *w, *b;
    L2H_TRY(l2h_online_linear_model(map, name, su, &w, &b));
    const l2h_status st = bind(state, *map, su);
    if (st != L2H_OK) {
        l2h_model_free(*map);
        *map = NULL;
        return st;
    }
    l2h_rng rng;
    l2h_rng_seed(&rng, su->seed);
    l2h_online_lsh_init(w, su->bits, su->dim, &rng);
    return L2H_OK;
}
