/* online_adapthash.c -- AdaptHash (Cakir & Sclaroff, "Adaptive Hashing for Fast Similarity
 * Search", ICCV 2015), linear hash h_k(x) = sgn(w_kᵀx), learned from pairs of stream items.
 *
 * For a pair (x_i, x_j) with s = +1 (similar) or −1 (dissimilar), D = Hamming distance of the
 * current codes, the hinge on D is
 *     similar:    L = max(0, D − (1 − α) b)        dissimilar:  L = max(0, α b − D).
 * If L > 0, the "offending" bits are those that differ (similar pair) or agree (dissimilar pair);
 * sorted by max(|w_kᵀx_i|, |w_kᵀx_j|) descending, only the first ceil(L) of them are updated,
 * with the gradient of the squared inner-product loss
 *     ℓ = (f(Wᵀx_i)ᵀ f(Wᵀx_j) − b s)²,   f(v) = 2σ(v) − 1,
 *     ∂ℓ/∂w_k = 2e [f'(u_k) f(v_k) x_i + f(u_k) f'(v_k) x_j],  e = f(u)ᵀf(v) − b s,
 *     u = Wᵀx_i, v = Wᵀx_j, f'(v) = 2σ(v)(1 − σ(v)),
 * scaled by the step size, plus the (unscaled) orthogonality term β·(W Wᵀ − I)W on all rows
 * (computed from the same W), after which every w_k is renormalised to unit length.
 * A batch of n items is consumed as the pairs (0,1), (2,3), ...; an odd last item is skipped. */
#include "online_internal.h"

#include "linalg.h"

#include <math.h>
#include <string.h>

typedef struct adapt_state {
    size_t dim, bits;
    double alpha, beta, step;
    float *w; /* [bits, dim], the mapping's span (borrowed) */
    /* scratch, not part of the mapping */
    float *gram;   /* [bits, bits] */
    float *orth;   /* [bits, dim]  */
    double *u, *v; /* [bits] each  */
    size_t *order; /* [bits]       */
    double *key;   /* [bits]       */
} adapt_state;

static void adapt_destroy(void *state)
{
    adapt_state *s = state;
    if (s == NULL) return;
    l2h_free(s->gram);
    l2h_free(s->orth);
    l2h_free(s->u);
    l2h_free(s->v);
    l2h_free(s->order);
    l2h_free(s->key);
    l2h_free(s);
}

static l2h_status adapt_alloc(adapt_state **out, size_t dim, size_t bits)
{
    *out = NULL;
    adapt_state *s = l2h_calloc(1, sizeof *s);
    L2H_NOMEM_IF_NULL(s);
    s->dim = dim;
    s->bits = bits;
    s->gram = l2h_malloc_array(bits * bits, sizeof *s->gram);
    s->orth = l2h_malloc_array(bits * dim, sizeof *s->orth);
    s->u = l2h_malloc_array(bits, sizeof *s->u);
    s->v = l2h_malloc_array(bits, sizeof *s->v);
    s->order = l2h_malloc_array(bits, sizeof *s->order);
    s->key = l2h_malloc_array(bits, sizeof *s->key);
    if (!s->gram || !s->orth || !s->u || !s->v || !s->order || !s->key) {
        adapt_destroy(s);
        L2H_FAIL(L2H_ERR_NOMEM, "adapthash: out of memory");
    }
    *out = s;
    return L2H_OK;
}

static l2h_status adapt_bind(void **state, l2h_model *map, const l2h_online_setup *su)
{
    *state = NULL;
    const l2h_online_params *p = su->p;
    L2H_FAIL_IF(!(p->adapt_alpha > 0.0 && p->adapt_alpha < 1.0), L2H_ERR_ARG,
                "adapthash: alpha=%g outside (0, 1)", p->adapt_alpha);
    L2H_FAIL_IF(!(p->adapt_beta >= 0.0) || !(p->adapt_step > 0.0), L2H_ERR_ARG,
                "adapthash: beta=%g must be >= 0 and step=%g > 0", p->adapt_beta, p->adapt_step);
    adapt_state *s;
    L2H_TRY(adapt_alloc(&s, su->dim, su->bits));
    L2H_NOMEM_IF_NULL(s);
    s->alpha = p->adapt_alpha;
    s->beta = p->adapt_beta;
    s->step = p->adapt_step;
    float *b;
    const l2h_status st = l2h_online_linear_bind(map, su, &s->w, &b);
    if (st != L2H_OK) {
        adapt_destroy(s);
        return st;
    }
    *state = s;
    return L2H_OK;
}

static l2h_status adapt_create(void **state, l2h_model **map, const l2h_online_setup *su,
                               const float *init_x, const int32_t *init_labels, size_t n_init)
{
    (void)init_x, (void)init_labels, (void)n_init;
    return l2h_online_create_lsh_linear(state, map, "adapthash", su, adapt_bind);
}

static double sigm(double z)
{
    if (z > 42.0) z = 42.0;
    if (z < -42.0) z = -42.0;
    return 1.0 / (1.0 + exp(-z));
}

/* Sorts order[0..n) by key descending, ties by index (insertion sort; n = bits is small). */
static void sort_desc(size_t *order, const double *key, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        const size_t o = order[i];
        size_t j = i;
        while (j > 0 && key[order[j - 1]] < key[o]) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = o;
    }
}

static void adapt_pair(adapt_state *s, const float *xi, const float *xj, bool similar)
{
    const size_t b = s->bits, dim = s->dim;
    for (size_t k = 0; k < b; k++) {
        const float *wk = s->w + k * dim;
        double a = 0.0, c = 0.0;
        for (size_t t = 0; t < dim; t++) {
            a += (double)wk[t] * (double)xi[t];
            c += (double)wk[t] * (double)xj[t];
        }
        s->u[k] = a;
        s->v[k] = c;
    }
    size_t n_off = 0, d = 0;
    for (size_t k = 0; k < b; k++) {
        const bool differ = (s->u[k] > 0.0) != (s->v[k] > 0.0);
        d += differ;
        if (differ == similar) { /* offending: differs for similar, agrees for dissimilar */
            s->order[n_off] = k;
            n_off++;
        }
        s->key[k] = fmax(fabs(s->u[k]), fabs(s->v[k]));
    }
    const double loss =
        similar ? (double)d - (1.0 - s->alpha) * (double)b : s->alpha * (double)b - (double)d;
    if (!(loss > 0.0)) return;
    size_t n_sel = (size_t)ceil(loss);
    if (n_sel > n_off) n_sel = n_off;
    sort_desc(s->order, s->key, n_off);

    /* e = f(u)ᵀf(v) − b s */
    double e = -(double)b * (similar ? 1.0 : -1.0);
    for (size_t k = 0; k < b; k++)
        e += (2.0 * sigm(s->u[k]) - 1.0) * (2.0 * sigm(s->v[k]) - 1.0);

    /* orthogonality term from the current W: O = (W Wᵀ − I) W */
    if (s->beta > 0.0) {
        l2h_sgemm(false, true, b, b, dim, 1.0f, s->w, dim, s->w, dim, 0.0f, s->gram,
                  b); /* G[b,b] = W · Wᵀ */
        for (size_t k = 0; k < b; k++)
            s->gram[k * b + k] -= 1.0f;
        l2h_sgemm(false, false, b, dim, b, 1.0f, s->gram, b, s->w, dim, 0.0f, s->orth,
                  dim); /* O[b,dim] = (G − I) · W */
    }
    for (size_t r = 0; r < n_sel; r++) {
        const size_t k = s->order[r];
        const double su = sigm(s->u[k]), sv = sigm(s->v[k]);
        const double fu = 2.0 * su - 1.0, fv = 2.0 * sv - 1.0;
        const double dfu = 2.0 * su * (1.0 - su), dfv = 2.0 * sv * (1.0 - sv);
        const float gi = (float)(s->step * 2.0 * e * dfu * fv);
        const float gj = (float)(s->step * 2.0 * e * fu * dfv);
        float *wk = s->w + k * dim;
        for (size_t t = 0; t < dim; t++)
            wk[t] -= gi * xi[t] + gj * xj[t];
    }
    if (s->beta > 0.0) {
        const float beta = (float)s->beta;
        for (size_t i = 0; i < b * dim; i++)
            s->w[i] -= beta * s->orth[i];
    }
    l2h_online_normalize_rows(s->w, b, dim);
}

static l2h_status adapt_learn(void *state, const l2h_online_batch *bt)
{
    adapt_state *s = state;
    for (size_t i = 0; i + 1 < bt->n; i += 2) {
        const float *xi = bt->x + i * s->dim, *xj = bt->x + (i + 1) * s->dim;
        const bool sim =
            l2h_online_similar(xi, xj, s->dim, bt->labels ? bt->labels + i : NULL,
                               bt->labels ? bt->labels + i + 1 : NULL, bt->dist_threshold);
        adapt_pair(s, xi, xj, sim);
    }
    for (size_t i = 0; i < s->bits * s->dim; i++)
        L2H_FAIL_IF(!isfinite(s->w[i]), L2H_ERR_NUMERIC, "adapthash: non-finite weight");
    return L2H_OK;
}

static const l2h_option_info adapt_options[] = {
    L2H_OPT_PARAM("alpha", L2H_OPT_DOUBLE, "0.9", adapt_alpha, "margin, in (0, 1)"),
    L2H_OPT_PARAM("beta", L2H_OPT_DOUBLE, "0.01", adapt_beta, "orthogonality weight"),
    L2H_OPT_PARAM("step", L2H_OPT_DOUBLE, "1", adapt_step, "step size"),
};

const l2h_online_ops l2h_online_adapthash_ops = {
    .info = {.name = "adapthash",
             .summary = "Adaptive Hashing (Cakir & Sclaroff, ICCV 2015): SGD on a hinge of pairwise Hamming distances",
             .batch = 2,
             .needs_labels = 0,
             .n_options = L2H_OPT_COUNT(adapt_options),
             .options = adapt_options},
    .batch = 2,
    .min_batch = 2,
    .needs_labels = false,
    .needs_init_data = false,
    .create = adapt_create,
    .bind = adapt_bind,
    .destroy = adapt_destroy,
    .learn = adapt_learn,
    .visit = NULL, /* everything it learns is in the span */
};
