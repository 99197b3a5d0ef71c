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
    float *w; /* [bits, dim]             */
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
    l2h_free(s->w);
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
    s->w = l2h_malloc_array(bits * dim, sizeof *s->w);
    s->class_id = l2h_malloc_array(cap_class, sizeof *s->class_id);
    s->codeword = l2h_malloc_array(cap_class * bits, sizeof *s->codeword);
    s->margin = l2h_malloc_array(bits, sizeof *s->margin);
    s->cand = l2h_malloc_array(bits, sizeof *s->cand);
    if (!s->w || !s->class_id || !s->codeword || !s->margin || !s->cand) {
        osh_destroy(s);
        L2H_FAIL(L2H_ERR_NOMEM, "osh: out of memory");
    }
    *out = s;
    return L2H_OK;
}

static l2h_status osh_create(void **state, size_t dim, size_t bits, const l2h_online_params *p,
                             uint64_t seed, const float *init_x, const int32_t *init_labels,
                             size_t n_init)
{
    (void)init_x;
    (void)init_labels;
    (void)n_init;
    *state = NULL;
    L2H_FAIL_IF(!(p->osh_eta > 0.0), L2H_ERR_ARG, "osh: eta=%g must be > 0", p->osh_eta);
    L2H_FAIL_IF(p->osh_boost != 0 && p->osh_boost != 1, L2H_ERR_ARG, "osh: boost=%d must be 0 or 1",
                p->osh_boost);
    osh_state *s;
    L2H_TRY(osh_alloc(&s, dim, bits, 16));
    s->eta = p->osh_eta;
    s->boost = p->osh_boost;
    l2h_rng rng;
    l2h_rng_seed(&rng, seed);
    l2h_online_lsh_init(s->w, bits, dim, &rng);
    l2h_rng_seed(&s->rng, seed ^ 0x05e7c0dedULL);
    *state = s;
    return L2H_OK;
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

static l2h_status osh_encode(const void *state, const float *x, size_t n, uint8_t *codes)
{
    const osh_state *s = state;
    return l2h_online_linear_encode(s->w, NULL, s->bits, s->dim, x, n, codes);
}

static double osh_distance(const void *a, const void *b)
{
    const osh_state *sa = a, *sb = b;
    return l2h_online_l1(sa->w, sb->w, sa->bits * sa->dim);
}

static l2h_status osh_copy(void *dst, const void *src)
{
    osh_state *d = dst;
    const osh_state *s = src;
    L2H_FAIL_IF(d->dim != s->dim || d->bits != s->bits, L2H_ERR_ARG, "osh: shape mismatch");
    if (d->cap_class < s->n_class) {
        int32_t *ids = l2h_realloc(d->class_id, s->cap_class * sizeof *ids);
        L2H_NOMEM_IF_NULL(ids);
        d->class_id = ids;
        int8_t *cw = l2h_realloc(d->codeword, s->cap_class * s->bits);
        L2H_NOMEM_IF_NULL(cw);
        d->codeword = cw;
        d->cap_class = s->cap_class;
    }
    memcpy(d->w, s->w, s->bits * s->dim * sizeof *s->w);
    if (s->n_class > 0) {
        memcpy(d->class_id, s->class_id, s->n_class * sizeof *s->class_id);
        memcpy(d->codeword, s->codeword, s->n_class * s->bits);
    }
    d->n_class = s->n_class;
    d->eta = s->eta;
    d->boost = s->boost;
    d->rng = s->rng;
    return L2H_OK;
}

static l2h_status osh_clone(void **out, const void *src)
{
    const osh_state *s = src;
    osh_state *d;
    *out = NULL;
    L2H_TRY(osh_alloc(&d, s->dim, s->bits, s->cap_class));
    const l2h_status st = osh_copy(d, s);
    if (st != L2H_OK) {
        osh_destroy(d);
        return st;
    }
    *out = d;
    return L2H_OK;
}

const l2h_online_ops l2h_online_osh_ops = {
    .name = "osh",
    .batch = 1,
    .min_batch = 1,
    .needs_labels = true,
    .needs_init_data = false,
    .create = osh_create,
    .destroy = osh_destroy,
    .learn = osh_learn,
    .encode = osh_encode,
    .distance = osh_distance,
    .clone = osh_clone,
    .copy = osh_copy,
};
