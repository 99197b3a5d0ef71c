/* online_okh.c -- Online Kernel Hashing (Huang, Yang & Zheng, "Online Hashing", IJCAI 2013),
 * h_k(x) = sgn(w_kᵀ k(x)) on kernel features k(x) = [κ(x, a_1) .. κ(x, a_m), 1] (m anchors,
 * RBF κ(x, a) = exp(−‖x − a‖² / (2σ²)), σ = mean Euclidean distance between the initial items
 * and the anchors, m = 300 by default, so W is [bits, m + 1]). As in KSH, on which OKH's hash
 * functions are modelled, the kernel values are zero-centred: the mean of κ(·, a_i) over the
 * initial items is subtracted (without it every feature is ~0.6 and random hyperplanes mostly
 * see one common direction).
 *
 * Learning from a pair (x_i, x_j) with s = similar / dissimilar, current codes h_i, h_j ∈ ±1ᵇ,
 * Hamming distance D:
 *   Hamming hinge   R = D (similar)   or   R = max(0, α b − D) (dissimilar).
 *   If R = 0 nothing changes (passive). Otherwise the target codes g_i, g_j are the codes with
 *   R = 0 that are cheapest to reach: similar -> on every differing bit the item with the smaller
 *   |w_kᵀk(x)| takes the other's bit; dissimilar -> the ceil(αb − D) agreeing bits with the
 *   smallest margins are split by flipping the item with the smaller |w_kᵀk(x)|.
 *   Structured loss  ℓ(W) = Σ_{m∈{i,j}} (h_m − g_m)ᵀ W k(x_m) + sqrt(R)  (>= 0, since h_m
 *   maximises hᵀW k(x_m)).
 *   Passive-aggressive step (PA-I): W ← W + τ Σ_m (g_m − h_m) k(x_m)ᵀ,
 *   τ = min(C, ℓ / ‖Σ_m (g_m − h_m) k(x_m)ᵀ‖²_F).
 * A batch is consumed as the pairs (0,1), (2,3), ... */
#include "online_internal.h"

#include "linalg.h"

#include <math.h>
#include <string.h>

typedef struct okh_state {
    size_t dim, bits, m; /* m anchors; features have m + 1 entries */
    double c, alpha;
    float sigma;
    float *anchors; /* [m, dim]      */
    float *anorm2;  /* [m] ‖a‖²      */
    float *kmean;   /* [m] mean of κ(·, a_i) over the initial items */
    float *w;       /* [bits, m + 1] */
    /* scratch */
    double *ki, *kj; /* [m + 1]       */
    double *u, *v;   /* [bits]        */
    int8_t *gi, *gj; /* [bits]        */
    size_t *order;   /* [bits]        */
} okh_state;

static void okh_destroy(void *state)
{
    okh_state *s = state;
    if (s == NULL) return;
    l2h_free(s->anchors);
    l2h_free(s->anorm2);
    l2h_free(s->kmean);
    l2h_free(s->w);
    l2h_free(s->ki);
    l2h_free(s->kj);
    l2h_free(s->u);
    l2h_free(s->v);
    l2h_free(s->gi);
    l2h_free(s->gj);
    l2h_free(s->order);
    l2h_free(s);
}

static l2h_status okh_alloc(okh_state **out, size_t dim, size_t bits, size_t m)
{
    *out = NULL;
    okh_state *s = l2h_calloc(1, sizeof *s);
    L2H_NOMEM_IF_NULL(s);
    s->dim = dim;
    s->bits = bits;
    s->m = m;
    s->anchors = l2h_malloc_array(m * dim, sizeof *s->anchors);
    s->anorm2 = l2h_malloc_array(m, sizeof *s->anorm2);
    s->kmean = l2h_calloc(m, sizeof *s->kmean);
    s->w = l2h_malloc_array(bits * (m + 1), sizeof *s->w);
    s->ki = l2h_malloc_array(m + 1, sizeof *s->ki);
    s->kj = l2h_malloc_array(m + 1, sizeof *s->kj);
    s->u = l2h_malloc_array(bits, sizeof *s->u);
    s->v = l2h_malloc_array(bits, sizeof *s->v);
    s->gi = l2h_malloc_array(bits, sizeof *s->gi);
    s->gj = l2h_malloc_array(bits, sizeof *s->gj);
    s->order = l2h_malloc_array(bits, sizeof *s->order);
    if (!s->anchors || !s->anorm2 || !s->kmean || !s->w || !s->ki || !s->kj || !s->u || !s->v ||
        !s->gi || !s->gj || !s->order) {
        okh_destroy(s);
        L2H_FAIL(L2H_ERR_NOMEM, "okh: out of memory");
    }
    *out = s;
    return L2H_OK;
}

/* k[n, m] = κ(x_r, a_i) for x[n, dim]; k must hold n*m floats. */
static void okh_kernel(const okh_state *s, const float *x, size_t n, float *k)
{
    const size_t m = s->m, dim = s->dim;
    l2h_sgemm(false, true, n, m, dim, 1.0f, x, dim, s->anchors, dim, 0.0f, k, m); /* K = X · Aᵀ */
    const double inv = 1.0 / (2.0 * (double)s->sigma * (double)s->sigma);
    for (size_t r = 0; r < n; r++) {
        const float *xr = x + r * dim;
        double xn = 0.0;
        for (size_t t = 0; t < dim; t++)
            xn += (double)xr[t] * (double)xr[t];
        for (size_t i = 0; i < m; i++) {
            double d2 = xn + (double)s->anorm2[i] - 2.0 * (double)k[r * m + i];
            if (d2 < 0.0) d2 = 0.0;
            k[r * m + i] = (float)(exp(-d2 * inv) - (double)s->kmean[i]);
        }
    }
}

static l2h_status okh_create(void **state, size_t dim, size_t bits, const l2h_online_params *p,
                             uint64_t seed, const float *init_x, const int32_t *init_labels,
                             size_t n_init)
{
    (void)init_labels;
    *state = NULL;
    const size_t m = p->okh_anchors;
    L2H_FAIL_IF(m == 0, L2H_ERR_ARG, "okh: needs at least one anchor");
    L2H_FAIL_IF(init_x == NULL || n_init < m + 1, L2H_ERR_ARG,
                "okh: needs at least %zu initial items (anchors + kernel width), got %zu", m + 1,
                n_init);
    L2H_FAIL_IF(!(p->okh_c > 0.0) || !(p->okh_alpha > 0.0 && p->okh_alpha < 1.0), L2H_ERR_ARG,
                "okh: C=%g must be > 0 and alpha=%g in (0, 1)", p->okh_c, p->okh_alpha);
    okh_state *s;
    L2H_TRY(okh_alloc(&s, dim, bits, m));
    s->c = p->okh_c;
    s->alpha = p->okh_alpha;
    memcpy(s->anchors, init_x, m * dim * sizeof *init_x);
    for (size_t i = 0; i < m; i++) {
        double a = 0.0;
        const float *xr = init_x + i * dim;
        for (size_t t = 0; t < dim; t++)
            a += (double)xr[t] * (double)xr[t];
        s->anorm2[i] = (float)a;
    }
    /* σ = mean distance between the non-anchor initial items (at most 2,000) and the anchors */
    const size_t n_rest = n_init - m < 2000 ? n_init - m : 2000;
    float *g = l2h_malloc_array(n_rest * m, sizeof *g); /* [n_rest, m] */
    if (g == NULL) {
        okh_destroy(s);
        L2H_FAIL(L2H_ERR_NOMEM, "okh: out of memory");
    }
    const float *rest = init_x + m * dim;
    l2h_sgemm(false, true, n_rest, m, dim, 1.0f, rest, dim, s->anchors, dim, 0.0f, g,
              m); /* G = X_rest · Aᵀ */
    double sum = 0.0;
    for (size_t r = 0; r < n_rest; r++) {
        double xn = 0.0;
        const float *xr = rest + r * dim;
        for (size_t t = 0; t < dim; t++)
            xn += (double)xr[t] * (double)xr[t];
        for (size_t i = 0; i < m; i++) {
            const double d2 = xn + (double)s->anorm2[i] - 2.0 * (double)g[r * m + i];
            sum += sqrt(d2 > 0.0 ? d2 : 0.0);
        }
    }
    s->sigma = (float)(sum / (double)(n_rest * m));
    if (!(s->sigma > 0.0f)) s->sigma = 1.0f; /* all items equal: any width will do */
    okh_kernel(s, rest, n_rest, g);          /* kmean is still 0: raw kernel values [n_rest, m] */
    for (size_t i = 0; i < m; i++) {
        double a = 0.0;
        for (size_t r = 0; r < n_rest; r++)
            a += (double)g[r * m + i];
        s->kmean[i] = (float)(a / (double)n_rest);
    }
    l2h_free(g);
    l2h_rng rng;
    l2h_rng_seed(&rng, seed);
    l2h_online_lsh_init(s->w, bits, m + 1, &rng);
    *state = s;
    return L2H_OK;
}

/* Full feature vector [m + 1] (kernel values and the constant 1) in double. */
static void okh_feature(const okh_state *s, const float *x, double *k)
{
    const double inv = 1.0 / (2.0 * (double)s->sigma * (double)s->sigma);
    for (size_t i = 0; i < s->m; i++) {
        const float *a = s->anchors + i * s->dim;
        double d2 = 0.0;
        for (size_t t = 0; t < s->dim; t++) {
            const double e = (double)x[t] - (double)a[t];
            d2 += e * e;
        }
        k[i] = exp(-d2 * inv) - (double)s->kmean[i];
    }
    k[s->m] = 1.0;
}

static void okh_pair(okh_state *s, const float *xi, const float *xj, bool similar)
{
    const size_t b = s->bits, f = s->m + 1;
    okh_feature(s, xi, s->ki);
    okh_feature(s, xj, s->kj);
    size_t d = 0;
    for (size_t k = 0; k < b; k++) {
        const float *wk = s->w + k * f;
        double a = 0.0, c = 0.0;
        for (size_t t = 0; t < f; t++) {
            a += (double)wk[t] * s->ki[t];
            c += (double)wk[t] * s->kj[t];
        }
        s->u[k] = a;
        s->v[k] = c;
        s->gi[k] = a > 0.0 ? 1 : -1; /* start from the current codes */
        s->gj[k] = c > 0.0 ? 1 : -1;
        d += s->gi[k] != s->gj[k];
    }
    double r;
    if (similar) {
        r = (double)d;
        for (size_t k = 0; k < b; k++) {
            if (s->gi[k] == s->gj[k]) continue;
            if (fabs(s->u[k]) < fabs(s->v[k]))
                s->gi[k] = s->gj[k];
            else
                s->gj[k] = s->gi[k];
        }
    } else {
        r = s->alpha * (double)b - (double)d;
        if (r < 0.0) r = 0.0;
        size_t need = (size_t)ceil(r), n_agree = 0;
        for (size_t k = 0; k < b; k++)
            if (s->gi[k] == s->gj[k]) s->order[n_agree++] = k;
        /* smallest min(|u_k|, |v_k|) first (selection; need is small) */
        if (need > n_agree) need = n_agree;
        for (size_t q = 0; q < need; q++) {
            size_t best = q;
            for (size_t t = q + 1; t < n_agree; t++) {
                const size_t kt = s->order[t], kb = s->order[best];
                if (fmin(fabs(s->u[kt]), fabs(s->v[kt])) < fmin(fabs(s->u[kb]), fabs(s->v[kb])))
                    best = t;
            }
            const size_t tmp = s->order[q];
            s->order[q] = s->order[best];
            s->order[best] = tmp;
            const size_t k = s->order[q];
            if (fabs(s->u[k]) < fabs(s->v[k]))
                s->gi[k] = (int8_t)-s->gi[k];
            else
                s->gj[k] = (int8_t)-s->gj[k];
        }
    }
    if (!(r > 0.0)) return;
    /* ℓ = Σ (h − g)ᵀ W k + sqrt(R); each changed entry contributes 2|margin|, and the update
     * direction of row k is (g_ik − h_ik) k_i + (g_jk − h_jk) k_j. */
    double loss = sqrt(r), norm2 = 0.0;
    double kii = 0.0, kjj = 0.0, kij = 0.0;
    for (size_t t = 0; t < f; t++) {
        kii += s->ki[t] * s->ki[t];
        kjj += s->kj[t] * s->kj[t];
        kij += s->ki[t] * s->kj[t];
    }
    for (size_t k = 0; k < b; k++) {
        const double hi = s->u[k] > 0.0 ? 1.0 : -1.0, hj = s->v[k] > 0.0 ? 1.0 : -1.0;
        const double di = (double)s->gi[k] - hi, dj = (double)s->gj[k] - hj;
        loss -= di * s->u[k] + dj * s->v[k];
        norm2 += di * di * kii + dj * dj * kjj + 2.0 * di * dj * kij;
    }
    if (!(norm2 > 0.0) || !(loss > 0.0)) return;
    const double tau = fmin(s->c, loss / norm2);
    for (size_t k = 0; k < b; k++) {
        const double hi = s->u[k] > 0.0 ? 1.0 : -1.0, hj = s->v[k] > 0.0 ? 1.0 : -1.0;
        const double di = tau * ((double)s->gi[k] - hi), dj = tau * ((double)s->gj[k] - hj);
        if (di == 0.0 && dj == 0.0) continue;
        float *wk = s->w + k * f;
        for (size_t t = 0; t < f; t++)
            wk[t] += (float)(di * s->ki[t] + dj * s->kj[t]);
    }
}

static l2h_status okh_learn(void *state, const l2h_online_batch *bt)
{
    okh_state *s = state;
    for (size_t i = 0; i + 1 < bt->n; i += 2) {
        const float *xi = bt->x + i * s->dim, *xj = bt->x + (i + 1) * s->dim;
        const bool sim =
            l2h_online_similar(xi, xj, s->dim, bt->labels ? bt->labels + i : NULL,
                               bt->labels ? bt->labels + i + 1 : NULL, bt->dist_threshold);
        okh_pair(s, xi, xj, sim);
    }
    for (size_t i = 0; i < s->bits * (s->m + 1); i++)
        L2H_FAIL_IF(!isfinite(s->w[i]), L2H_ERR_NUMERIC, "okh: non-finite weight");
    return L2H_OK;
}

static l2h_status okh_encode(const void *state, const float *x, size_t n, uint8_t *codes)
{
    const okh_state *s = state;
    if (n == 0) return L2H_OK;
    const size_t block = 512, f = s->m + 1;
    float *kb = l2h_malloc_array(block * f, sizeof *kb);    /* [block, m + 1] */
    float *kt = l2h_malloc_array(block * s->m, sizeof *kt); /* [block, m] */
    l2h_status st = L2H_OK;
    if (kb == NULL || kt == NULL) {
        st = l2h_set_error(L2H_ERR_NOMEM, "okh: out of memory");
        goto done;
    }
    const size_t bytes = (s->bits + 7) / 8;
    for (size_t i0 = 0; i0 < n && st == L2H_OK; i0 += block) {
        const size_t nb = n - i0 < block ? n - i0 : block;
        okh_kernel(s, x + i0 * s->dim, nb, kt);
        for (size_t r = 0; r < nb; r++) {
            memcpy(kb + r * f, kt + r * s->m, s->m * sizeof *kb);
            kb[r * f + s->m] = 1.0f;
        }
        st = l2h_online_linear_encode(s->w, NULL, s->bits, f, kb, nb, codes + i0 * bytes);
    }
done:
    l2h_free(kb);
    l2h_free(kt);
    return st;
}

static double okh_distance(const void *a, const void *b)
{
    const okh_state *sa = a, *sb = b;
    return l2h_online_l1(sa->w, sb->w, sa->bits * (sa->m + 1));
}

static l2h_status okh_copy(void *dst, const void *src)
{
    okh_state *d = dst;
    const okh_state *s = src;
    L2H_FAIL_IF(d->dim != s->dim || d->bits != s->bits || d->m != s->m, L2H_ERR_ARG,
                "okh: shape mismatch");
    memcpy(d->anchors, s->anchors, s->m * s->dim * sizeof *s->anchors);
    memcpy(d->anorm2, s->anorm2, s->m * sizeof *s->anorm2);
    memcpy(d->kmean, s->kmean, s->m * sizeof *s->kmean);
    memcpy(d->w, s->w, s->bits * (s->m + 1) * sizeof *s->w);
    d->sigma = s->sigma;
    d->c = s->c;
    d->alpha = s->alpha;
    return L2H_OK;
}

static l2h_status okh_clone(void **out, const void *src)
{
    const okh_state *s = src;
    okh_state *d;
    *out = NULL;
    L2H_TRY(okh_alloc(&d, s->dim, s->bits, s->m));
    (void)okh_copy(d, s);
    *out = d;
    return L2H_OK;
}

const l2h_online_ops l2h_online_okh_ops = {
    .name = "okh",
    .batch = 2,
    .min_batch = 2,
    .needs_labels = false,
    .needs_init_data = true,
    .create = okh_create,
    .destroy = okh_destroy,
    .learn = okh_learn,
    .encode = okh_encode,
    .distance = okh_distance,
    .clone = okh_clone,
    .copy = okh_copy,
};
