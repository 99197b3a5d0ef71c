/* online_oja.c -- online PCA hashing by Oja's subspace rule (Oja 1989): h(x) = sgn(W x), W
 * [bits, dim] started at LSH and moved towards the top-`bits` principal subspace of the stream,
 * one item at a time: y = W x, W ← W + η (y xᵀ − y yᵀ W). Unsupervised (labels ignored); the
 * smallest method of the registry, and a data-dependent lower bound for the learned ones. */
#include "online_internal.h"

#include <math.h>

typedef struct oja_opts {
    double step; /* η */
} oja_opts;

static const l2h_option_info oja_options[] = {
    L2H_OPT_OWN("step", L2H_OPT_DOUBLE, "0.01", oja_opts, step, "learning rate of Oja's rule"),
};

typedef struct oja_state {
    size_t dim, bits;
    double step;
    float *w;  /* [bits, dim], the mapping's span (borrowed) */
    double *y; /* [bits] scratch */
} oja_state;

static void oja_destroy(void *state)
{
    oja_state *s = state;
    if (s) l2h_free(s->y);
    l2h_free(s);
}

static l2h_status oja_bind(void **state, l2h_model *map, const l2h_online_setup *su)
{
    *state = NULL;
    const double step = ((const oja_opts *)su->opts)->step;
    L2H_FAIL_IF(!(step > 0.0 && step < 1.0), L2H_ERR_ARG, "oja: step=%g outside (0, 1)", step);
    oja_state *s = l2h_calloc(1, sizeof *s);
    L2H_NOMEM_IF_NULL(s);
    s->dim = su->dim;
    s->bits = su->bits;
    s->step = step;
    s->y = l2h_malloc_array(su->bits, sizeof *s->y);
    float *b;
    const l2h_status st = s->y ? l2h_online_linear_bind(map, su, &s->w, &b) : L2H_ERR_NOMEM;
    if (st != L2H_OK) {
        oja_destroy(s);
        return st == L2H_ERR_NOMEM ? l2h_set_error(st, "oja: out of memory") : st;
    }
    *state = s;
    return L2H_OK;
}

static l2h_status oja_create(void **state, l2h_model **map, const l2h_online_setup *su,
                             const float *init_x, const int32_t *init_labels, size_t n_init)
{
    (void)init_x, (void)init_labels, (void)n_init;
    return l2h_online_create_lsh_linear(state, map, "oja", su, oja_bind);
}

static l2h_status oja_learn(void *state, const l2h_online_batch *bt)
{
    oja_state *s = state;
    const size_t b = s->bits, d = s->dim;
    for (size_t i = 0; i < bt->n; i++) {
        const float *x = bt->x + i * d;
        for (size_t k = 0; k < b; k++) { /* y = W x */
            double a = 0.0;
            for (size_t t = 0; t < d; t++)
                a += (double)s->w[k * d + t] * (double)x[t];
            s->y[k] = a;
        }
        for (size_t t = 0; t < d; t++) { /* W += η (y xᵀ − y (yᵀ W)) column by column */
            double c = 0.0; /* (yᵀ W)_t */
            for (size_t k = 0; k < b; k++)
                c += s->y[k] * (double)s->w[k * d + t];
            for (size_t k = 0; k < b; k++)
                s->w[k * d + t] += (float)(s->step * s->y[k] * ((double)x[t] - c));
        }
    }
    for (size_t i = 0; i < b * d; i++)
        L2H_FAIL_IF(!isfinite(s->w[i]), L2H_ERR_NUMERIC, "oja: non-finite weight");
    return L2H_OK;
}

const l2h_online_ops l2h_online_oja_ops = {
    .info = {.name = "oja",
             .summary = "online PCA hashing by Oja's subspace rule (unsupervised)",
             .batch = 1,
             .needs_labels = 0,
             .n_options = L2H_OPT_COUNT(oja_options),
             .options = oja_options},
    .opts_size = sizeof(oja_opts),
    .batch = 1,
    .min_batch = 1,
    .create = oja_create,
    .bind = oja_bind,
    .destroy = oja_destroy,
    .learn = oja_learn,
};
