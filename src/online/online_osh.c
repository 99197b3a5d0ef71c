/* online_osh.c -- Online Supervised Hashing (Cakir, Bargal & Sclaroff, "Online supervised
 * hashing", ICIP 2015 / CVIU 2017), linear hash h_k(x) = sgn(w_kᵀx).
 *
 * Every class label gets an error-correcting target codeword c ∈ {−1,+1}ᵇ the first time it
 * appears in the stream, and keeps it for the rest of the run (the mapping is part of the
 * persistent state -- the released MATLAB class loses it, methods.md §1.8). A new codeword is
 * the one, among 64 random ±1 candidates drawn from the state's RNG, with the largest minimum
 * Hamming distance to the codewords already assigned (a greedy ECOC construction; random
 * codewords are what the paper's ECOC matrix is made of).
 * Update for an item x with target c, step η:
 *   hinge (default):   for every bit with c_k w_kᵀx < 1:   w_k += η c_k x
 *   boosting (option): exponential loss of the additive model, bit j weighted by the margin of
 *                      the bits before it:
 *                      w_j += η exp(−Σ_{l<=j} c_l w_lᵀx) c_j x   (exponent clamped to 30)
 * All margins are computed from W before the update. */
#include "online_internal.h"

#include <math.h>
#include <string.h>

#define OSH_CANDIDATES 64

typedef struct osh_state {
    size_t dim, bits;
    double eta;
    int boost;
    float *w; /* [bits, dim], the mapping's span (borrowed) */
    size_t n_class, cap_class;
    int32_t *class_id; /* [cap_class] labels seen */
    int8_t *codeword;  /* [cap_class, bits] ±1    */
    l2h_rng rng;       /* draws new codewords     */
    double *margin;    /* [bits] scratch          */
    int8_t *cand;      /* [bits] scratch          */
} osh_state;

static void osh_destroy(void *state)
{
    osh_state *s = state;
    if (s == NULL) return;
    l2h_free(s->class_id);
    l2h_free(s->codeword);
    l2h_free(s->margin);
    l2h_free(s->cand);
    l2h_free(s);
}

static l2h_status osh_alloc(osh_state **out, size_t dim, size_t bits, size_t cap_class)
{
    *out = NULL;
    osh_state *s = l2h_calloc(1, sizeof *s);
    L2H_NOMEM_IF_NULL(s);
    s->dim = dim;
    s->bits = bits;
    s->cap_class = cap_class;
    s->class_id = l2h_malloc_array(cap_class, sizeof *s->class_id);
    s->codeword = l2h_malloc_array(cap_class * bits, sizeof *s->codeword);
    s->margin = l2h_malloc_array(bits, sizeof *s->margin);
    s->cand = l2h_malloc_array(bits, sizeof *s->cand);
    if (!s->class_id || !s->codeword || !s->margin || !s->cand) {
        osh_destroy(s);
        L2H_FAIL(L2H_ERR_NOMEM, "osh: out of memory");
    }
    *out = s;
    return L2H_OK;
}

static l2h_status osh_bind(void **state, l2h_model *map, const l2h_online_setup *su)
{
    *state = NULL;
    const l2h_online_params *p = su->p;
    L2H_FAIL_IF(!(p->osh_eta > 0.0), L2H_ERR_ARG, "osh: eta=%g must be > 0", p->osh_eta);
    L2H_FAIL_IF(p->osh_boost != 0 && p->osh_boost != 1, L2H_ERR_ARG, "osh: boost=%d must be 0 or 1",
                p->osh_boost);
    osh_state *s;
    L2H_TRY(osh_alloc(&s, su->dim, su->bits, 16));
    L2H_NOMEM_IF_NULL(s);
    s->eta = p->osh_eta;
    s->boost = p->osh_boost;
    l2h_rng_seed(&s->rng, su->seed ^ 0x05e7c0dedULL);
    float *b;
    const l2h_status st = l2h_online_linear_bind(map, su, &s->w, &b);
    if (st != L2H_OK) {
        osh_destroy(s);
        return st;
    }
    *state = s;
    return L2H_OK;
}

static l2h_status osh_create(void **state, l2h_model **map, const l2h_online_setup *su,
                             const float *init_x, const int32_t *init_labels, size_t n_init)
{
    (void)init_x, (void)init_labels, (void)n_init;
    return l2h_online_create_lsh_linear(state, map, "osh", su, osh_bind);
}

/* Learner state beyond the span: the classes seen, their codewords and the codeword RNG. */
static l2h_status osh_visit(void *state, l2h_online_io *io)
{
    osh_state *s = state;
    if (l2h_online_io_loading(io)) {
        const size_t n = l2h_online_io_count(io, "class_id");
        if (n > s->cap_class) {
            int32_t *ids = l2h_realloc(s->class_id, n * sizeof *ids);
            L2H_NOMEM_IF_NULL(ids);
            s->class_id = ids;
            int8_t *cw = l2h_malloc_array(n, s->bits);
            L2H_NOMEM_IF_NULL(cw);
            l2h_free(s->codeword);
            s->codeword = cw;
            s->cap_class = n;
        }
        s->n_class = n;
    }
    L2H_TRY(l2h_online_io_i32(io, "class_id", s->class_id, s->n_class));
    L2H_TRY(l2h_online_io_i8(io, "codeword", s->codeword, s->n_class * s->bits));
    for (size_t i = 0; i < s->n_class * s->bits; i++)
        L2H_FAIL_IF(s->codeword[i] != 1 && s->codeword[i] != -1, L2H_ERR_FORMAT,
                    "osh: codeword entry %d is not +-1", (int)s->codeword[i]);
    return l2h_online_io_rng(io, "rng", &s->rng);
}

/* Index of the codeword of `label`, assigning a new one on first sight. */
static l2h_status osh_target(osh_state *s, int32_t label, size_t *idx)
{
    for (size_t c = 0; c < s->n_class; c++)
        if (s->class_id[c] == label) {
            *idx = c;
            return L2H_OK;
        }
    const size_t b = s->bits;
    if (s->n_class == s->cap_class) {
        const size_t cap = 2 * s->cap_class;
        int32_t *ids = l2h_realloc(s->class_id, cap * sizeof *ids);
        L2H_NOMEM_IF_NULL(ids);
        s->class_id = ids;
        size_t bytes;
        L2H_FAIL_IF(!l2h_mul_ok(cap, b, &bytes), L2H_ERR_NOMEM, "osh: too many classes");
        int8_t *cw = l2h_realloc(s->codeword, bytes);
        L2H_NOMEM_IF_NULL(cw);
        s->codeword = cw;
        s->cap_class = cap;
    }
    int8_t *dst = s->codeword + s->n_class * b;
    size_t best = 0;
    for (int t = 0; t < OSH_CANDIDATES; t++) {
        for (size_t k = 0; k < b; k++)
            s->cand[k] = (l2h_rng_next(&s->rng) >> 63) ? 1 : -1;
        size_t min_d = b + 1;
        for (size_t c = 0; c < s->n_class; c++) {
            size_t d = 0;
            for (size_t k = 0; k < b; k++)
                d += s->cand[k] != s->codeword[c * b + k];
            if (d < min_d) min_d = d;
        }
        if (t == 0 || min_d > best) {
            best = min_d;
            memcpy(dst, s->cand, b);
        }
        if (s->n_class == 0) break; /* nothing to separate from */
    }
    s->class_id[s->n_class] = label;
    *idx = s->n_class++;
    return L2H_OK;
}

static void osh_update(osh_state *s, const float *x, const int8_t *c)
{
    const size_t b = s->bits, dim = s->dim;
    for (size_t k = 0; k < b; k++) {
        const float *wk = s->w + k * dim;
        double m = 0.0;
        for (size_t t = 0; t < dim; t++)
            m += (double)wk[t] * (double)x[t];
        s->margin[k] = (double)c[k] * m; /* c_k w_kᵀx */
    }
    double cum = 0.0;
    for (size_t k = 0; k < b; k++) {
        double g;
        if (s->boost) {
            cum += s->margin[k];
            g = s->eta * exp(fmin(-cum, 30.0));
        } else {
            if (s->margin[k] >= 1.0) continue;
            g = s->eta;
        }
        const float a = (float)(g * (double)c[k]);
        float *wk = s->w + k * dim;
        for (size_t t = 0; t < dim; t++)
            wk[t] += a * x[t];
    }
}

static l2h_status osh_learn(void *state, const l2h_online_batch *bt)
{
    osh_state *s = state;
    L2H_FAIL_IF(bt->labels == NULL, L2H_ERR_ARG, "osh: needs class labels");
    for (size_t i = 0; i < bt->n; i++) {
        size_t c = 0;
        L2H_TRY(osh_target(s, bt->labels[i], &c));
        osh_update(s, bt->x + i * s->dim, s->codeword + c * s->bits);
    }
    for (size_t i = 0; i < s->bits * s->dim; i++)
        L2H_FAIL_IF(!isfinite(s->w[i]), L2H_ERR_NUMERIC, "osh: non-finite weight");
    return L2H_OK;
}

static const l2h_option_info osh_options[] = {
    L2H_OPT_PARAM("eta", L2H_OPT_DOUBLE, "0.1", osh_eta, "step size"),
    L2H_OPT_PARAM("boost", L2H_OPT_INT, "0", osh_boost, "0 = hinge per bit, 1 = online boosting"),
};

const l2h_online_ops l2h_online_osh_ops = {
    .info = {.name = "osh",
             .summary = "Online Supervised Hashing (Cakir et al., 2017): per-class ECOC codewords, hinge updates per item (needs labels)",
             .batch = 1,
             .needs_labels = 1,
             .n_options = L2H_OPT_COUNT(osh_options),
             .options = osh_options},
    .batch = 1,
    .min_batch = 1,
    .needs_labels = true,
    .needs_init_data = false,
    .create = osh_create,
    .bind = osh_bind,
    .destroy = osh_destroy,
    .learn = osh_learn,
    .visit = osh_visit,
};
