/* online_mihash.c -- online MIHash (Cakir, He, Bargal & Sclaroff, ICCV 2017, §3.2 and §4.3.1;
 * methods.md §1.6): a linear hash h_k(x) = [w_kᵀx > 0] trained by SGD on −I(D; C) of each
 * incoming item against the reservoir, batch of one.
 *
 * For a stream item x (y = W x [bits]) and the reservoir items x_r as they were BEFORE x is
 * inserted: relaxed reservoir codes rc_r = σ(s · W x_r) under the current W (constants of the
 * gradient), neighbours sim_r = x ~ x_r (same label, or Euclidean distance <= threshold);
 * loss and dloss/dy from l2h_mihash_online_loss_grad (src/objective: K + 1 triangular bins,
 * exact ∂d/∂φ by default); then W ← W − η_t dy xᵀ, η_t = step / (1 + decay · t). With no
 * neighbour or no non-neighbour in the reservoir there is no gradient. LSH initialisation. */
#include "online_internal.h"

#include "linalg.h"
#include "objective.h"

#include <math.h>
#include <string.h>

typedef struct mih_state {
    size_t dim, bits, cap; /* cap: reservoir rows the scratch holds */
    l2h_mihash_online_params op;
    double step, decay;
    size_t t;      /* items learned from                    */
    float *w;      /* [bits, dim], the mapping's span (borrowed) */
    float *y, *dy; /* [bits]                                */
    float *rc;     /* [cap, bits] relaxed reservoir codes   */
    uint8_t *sim;  /* [cap]                                 */
} mih_state;

static void mih_destroy(void *state)
{
    mih_state *s = state;
    if (s == NULL) return;
    l2h_free(s->y);
    l2h_free(s->dy);
    l2h_free(s->rc);
    l2h_free(s->sim);
    l2h_free(s);
}

static l2h_status mih_alloc(mih_state **out, size_t dim, size_t bits)
{
    *out = NULL;
    mih_state *s = l2h_calloc(1, sizeof *s);
    L2H_NOMEM_IF_NULL(s);
    s->dim = dim;
    s->bits = bits;
    s->y = l2h_malloc_array(bits, sizeof *s->y);
    s->dy = l2h_malloc_array(bits, sizeof *s->dy);
    if (!s->y || !s->dy) {
        mih_destroy(s);
        L2H_FAIL(L2H_ERR_NOMEM, "mihash: out of memory");
    }
    *out = s;
    return L2H_OK;
}

static l2h_status mih_bind(void **state, l2h_model *map, const l2h_online_setup *su)
{
    *state = NULL;
    const l2h_online_params *p = su->p;
    const size_t bits = su->bits;
    l2h_mihash_online_params op = l2h_mihash_online_default_params(bits);
    if (p->mihash_bins) op.bins = p->mihash_bins;
    if (p->mihash_scale > 0.0) op.scale = (float)p->mihash_scale;
    op.reference_grad = p->mihash_reference_grad;
    L2H_FAIL_IF(op.bins == 0 || op.bins > bits, L2H_ERR_ARG, "mihash: bins=%zu outside 1..%zu",
                op.bins, bits);
    L2H_FAIL_IF(!(p->mihash_step > 0.0) || !(p->mihash_decay >= 0.0), L2H_ERR_ARG,
                "mihash: step=%g must be > 0 and decay=%g >= 0", p->mihash_step, p->mihash_decay);
    mih_state *s;
    L2H_TRY(mih_alloc(&s, su->dim, bits));
    L2H_NOMEM_IF_NULL(s);
    s->op = op;
    s->step = p->mihash_step;
    s->decay = p->mihash_decay;
    float *b;
    const l2h_status st = l2h_online_linear_bind(map, su, &s->w, &b);
    if (st != L2H_OK) {
        mih_destroy(s);
        return st;
    }
    *state = s;
    return L2H_OK;
}

static l2h_status mih_create(void **state, l2h_model **map, const l2h_online_setup *su,
                             const float *init_x, const int32_t *init_labels, size_t n_init)
{
    (void)init_x, (void)init_labels, (void)n_init;
    return l2h_online_create_lsh_linear(state, map, "mihash", su, mih_bind);
}

/* Learner state beyond the span: the number of items learned from (the step decay). */
static l2h_status mih_visit(void *state, l2h_online_io *io)
{
    mih_state *s = state;
    return l2h_online_io_size(io, "t", &s->t);
}

static l2h_status mih_reserve(mih_state *s, size_t n)
{
    if (n <= s->cap) return L2H_OK;
    float *rc = l2h_realloc(s->rc, n * s->bits * sizeof *rc);
    L2H_NOMEM_IF_NULL(rc);
    s->rc = rc;
    uint8_t *sim = l2h_realloc(s->sim, n);
    L2H_NOMEM_IF_NULL(sim);
    s->sim = sim;
    s->cap = n;
    return L2H_OK;
}

static l2h_status mih_learn(void *state, const l2h_online_batch *b)
{
    mih_state *s = state;
    const size_t dim = s->dim, bits = s->bits, R = b->n_res;
    for (size_t i = 0; i < b->n; i++) {
        const float *x = b->x + i * dim;
        s->t++;
        if (R < 2) continue;
        L2H_TRY(mih_reserve(s, R));
        l2h_sgemm(false, true, R, bits, dim, 1.0f, b->res_x, dim, s->w, dim, 0.0f, s->rc,
                  bits); /* Y_res[R, bits] = X_res · Wᵀ */
        l2h_mihash_relax(s->rc, R, bits, s->op.scale, s->rc);
        size_t npos = 0;
        for (size_t r = 0; r < R; r++) {
            s->sim[r] = (uint8_t)l2h_online_similar(
                x, b->res_x + r * dim, dim, b->labels ? b->labels + i : NULL,
                b->res_labels ? b->res_labels + r : NULL, b->dist_threshold);
            npos += s->sim[r];
        }
        if (npos == 0 || npos == R) continue; /* MI is 0 and so is its gradient */
        l2h_sgemm(false, true, 1, bits, dim, 1.0f, x, dim, s->w, dim, 0.0f, s->y,
                  bits); /* y[1, bits] = x · Wᵀ */
        float loss;
        L2H_TRY(l2h_mihash_online_loss_grad(&s->op, bits, s->y, s->rc, s->sim, R, s->dy, &loss));
        const float lr = (float)(s->step / (1.0 + s->decay * (double)s->t));
        for (size_t k = 0; k < bits; k++) { /* W −= η dy xᵀ */
            const float g = lr * s->dy[k];
            if (g == 0.0f) continue;
            float *wk = s->w + k * dim;
            for (size_t j = 0; j < dim; j++)
                wk[j] -= g * x[j];
        }
    }
    for (size_t i = 0; i < bits * dim; i++)
        L2H_FAIL_IF(!isfinite(s->w[i]), L2H_ERR_NUMERIC, "mihash: non-finite weight");
    return L2H_OK;
}

static const l2h_option_info mih_options[] = {
    L2H_OPT_PARAM("bins", L2H_OPT_SIZE, "0", mihash_bins, "histogram bins K; 0 = min(16, bits)"),
    L2H_OPT_PARAM("scale", L2H_OPT_DOUBLE, "10", mihash_scale, "sigmoid scale s in sigma(s w'x)"),
    L2H_OPT_PARAM("step", L2H_OPT_DOUBLE, "1", mihash_step, "SGD step"),
    L2H_OPT_PARAM("decay", L2H_OPT_DOUBLE, "0", mihash_decay, "step decay: step / (1 + decay t)"),
    L2H_OPT_PARAM("reference_grad", L2H_OPT_INT, "0", mihash_reference_grad,
                  "1: the reference code's d(d)/d(phi) = -phi_r/2 instead of the exact one"),
};

const l2h_online_ops l2h_online_mihash_ops = {
    .info = {.name = "mihash",
             .summary = "online MIHash (Cakir et al., ICCV 2017): SGD on the mutual information against the reservoir",
             .batch = 1,
             .needs_labels = 0,
             .n_options = L2H_OPT_COUNT(mih_options),
             .options = mih_options},
    .batch = 1,
    .min_batch = 1,
    .needs_labels = false,
    .needs_init_data = false,
    .create = mih_create,
    .bind = mih_bind,
    .destroy = mih_destroy,
    .learn = mih_learn,
    .visit = mih_visit,
};
