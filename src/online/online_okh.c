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
#include "nn.h"

#include <math.h>
#include <string.h>

typedef struct okh_state {
    size_t dim, bits, m; /* m anchors; features have m + 1 entries */
    double c, alpha;
    double gamma; /* 1 / (2σ²), the rbf layer's width */
    /* views into the mapping's span (borrowed): rbf layer, then linear layer */
    float *anchors; /* [m, dim]                                     */
    float *kmean;   /* [m] mean of κ(·, a_i) over the initial items */
    float *w;       /* [bits, m]                                    */
    float *wb;      /* [bits], the weight of the constant feature   */
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
    s->ki = l2h_malloc_array(m + 1, sizeof *s->ki);
    s->kj = l2h_malloc_array(m + 1, sizeof *s->kj);
    s->u = l2h_malloc_array(bits, sizeof *s->u);
    s->v = l2h_malloc_array(bits, sizeof *s->v);
    s->gi = l2h_malloc_array(bits, sizeof *s->gi);
    s->gj = l2h_malloc_array(bits, sizeof *s->gj);
    s->order = l2h_malloc_array(bits, sizeof *s->order);
    if (!s->ki || !s->kj || !s->u || !s->v || !s->gi || !s->gj || !s->order) {
        okh_destroy(s);
        L2H_FAIL(L2H_ERR_NOMEM, "okh: out of memory");
    }
    *out = s;
    return L2H_OK;
}

static l2h_status okh_check(const l2h_online_params *p)
{
    L2H_FAIL_IF(p->okh_anchors == 0, L2H_ERR_ARG, "okh: needs at least one anchor");
    L2H_FAIL_IF(!(p->okh_c > 0.0) || !(p->okh_alpha > 0.0 && p->okh_alpha < 1.0), L2H_ERR_ARG,
                "okh: C=%g must be > 0 and alpha=%g in (0, 1)", p->okh_c, p->okh_alpha);
    return L2H_OK;
}

/* A state over a mapping of the shape rbf:<m> -> linear:<bits> (network arch "kernel"). */
static l2h_status okh_bind(void **state, l2h_model *map, const l2h_online_setup *su)
{
    *state = NULL;
    L2H_TRY(okh_check(su->p));
    const size_t m = su->p->okh_anchors, dim = su->dim, bits = su->bits;
    const l2h_nn *nn = l2h_net_nn(l2h_model_net(map));
    size_t ns = 0, nt = 0;
    const l2h_layer_spec *sp = nn ? l2h_nn_specs(nn, &ns) : NULL;
    const l2h_nn_tensor *t = nn ? l2h_nn_tensors(nn, &nt) : NULL;
    L2H_FAIL_IF(nn == NULL || ns != 2 || nt != 4 || sp[0].kind != L2H_LAYER_RBF ||
                    sp[0].out != m || sp[1].kind != L2H_LAYER_LINEAR || sp[1].out != bits ||
                    l2h_nn_in_dim(nn) != dim,
                L2H_ERR_FORMAT, "okh: the mapping is not rbf:%zu -> linear:%zu over %zu inputs",
                m, bits, dim);
    okh_state *s;
    L2H_TRY(okh_alloc(&s, dim, bits, m));
    L2H_NOMEM_IF_NULL(s);
    s->c = su->p->okh_c;
    s->alpha = su->p->okh_alpha;
    s->gamma = sp[0].gamma;
    size_t n;
    float *span = l2h_model_params(map, &n);
    s->anchors = span + t[0].offset;
    s->kmean = span + t[1].offset;
    s->w = span + t[2].offset;
    s->wb = span + t[3].offset;
    *state = s;
    return L2H_OK;
}

/* k[n, m] = κ(x_r, a_i) − kmean_i for x[n, dim] (the rbf layer's arithmetic). */
static void okh_kernel(const float *anchors, const float *anorm2, const float *kmean, size_t m,
                       size_t dim, double inv, const float *x, size_t n, float *k)
{
    l2h_sgemm(false, true, n, m, dim, 1.0f, x, dim, anchors, dim, 0.0f, k, m); /* K = X · Aᵀ */
    for (size_t r = 0; r < n; r++) {
        const float *xr = x + r * dim;
        double xn = 0.0;
        for (size_t t = 0; t < dim; t++)
            xn += (double)xr[t] * (double)xr[t];
        for (size_t i = 0; i < m; i++) {
            double d2 = xn + (double)anorm2[i] - 2.0 * (double)k[r * m + i];
            if (d2 < 0.0) d2 = 0.0;
            k[r * m + i] = (float)(exp(-d2 * inv) - (double)kmean[i]);
        }
    }
}

static l2h_status okh_create(void **state, l2h_model **map, const l2h_online_setup *su,
                             const float *init_x, const int32_t *init_labels, size_t n_init)
{
    (void)init_labels;
    *state = NULL;
    *map = NULL;
    L2H_TRY(okh_check(su->p));
    const size_t m = su->p->okh_anchors, dim = su->dim, bits = su->bits;
    L2H_FAIL_IF(init_x == NULL || n_init < m + 1, L2H_ERR_ARG,
                "okh: needs at least %zu initial items (anchors + kernel width), got %zu", m + 1,
                n_init);
    const float *anchors = init_x; /* the first m initial items */
    const size_t n_rest = n_init - m < 2000 ? n_init - m : 2000;
    float *anorm2 = l2h_malloc_array(m, sizeof *anorm2);
    float *kmean = l2h_calloc(m, sizeof *kmean);
    float *g = l2h_malloc_array(n_rest * m, sizeof *g); /* [n_rest, m] */
    float *w0 = l2h_malloc_array(bits * (m + 1), sizeof *w0);
    l2h_nn *nn = NULL;
    l2h_net *net = NULL;
    l2h_status st = L2H_OK;
    if (!anorm2 || !kmean || !g || !w0) L2H_FAIL_GOTO(L2H_ERR_NOMEM, "okh: out of memory");
    for (size_t i = 0; i < m; i++) {
        double a = 0.0;
        const float *xr = anchors + i * dim;
        for (size_t t = 0; t < dim; t++)
            a += (double)xr[t] * (double)xr[t];
        anorm2[i] = (float)a;
    }
    /* σ = mean distance between the non-anchor initial items (at most 2,000) and the anchors */
    const float *rest = init_x + m * dim;
    l2h_sgemm(false, true, n_rest, m, dim, 1.0f, rest, dim, anchors, dim, 0.0f, g,
              m); /* G = X_rest · Aᵀ */
    double sum = 0.0;
    for (size_t r = 0; r < n_rest; r++) {
        double xn = 0.0;
        const float *xr = rest + r * dim;
        for (size_t t = 0; t < dim; t++)
            xn += (double)xr[t] * (double)xr[t];
        for (size_t i = 0; i < m; i++) {
            const double d2 = xn + (double)anorm2[i] - 2.0 * (double)g[r * m + i];
            sum += sqrt(d2 > 0.0 ? d2 : 0.0);
        }
    }
    float sigma = (float)(sum / (double)(n_rest * m));
    if (!(sigma > 0.0f)) sigma = 1.0f; /* all items equal: any width will do */
    const double inv = 1.0 / (2.0 * (double)sigma * (double)sigma);
    okh_kernel(anchors, anorm2, kmean, m, dim, inv, rest, n_rest, g); /* kmean 0: raw values */
    for (size_t i = 0; i < m; i++) {
        double a = 0.0;
        for (size_t r = 0; r < n_rest; r++)
            a += (double)g[r * m + i];
        kmean[i] = (float)(a / (double)n_rest);
    }
    l2h_rng rng;
    l2h_rng_seed(&rng, su->seed);
    l2h_online_lsh_init(w0, bits, m + 1, &rng); /* rows over [kernel features, 1] */
    /* the mapping: rbf:<m> (anchors, kmean, γ) -> linear:<bits> (W[:, :m], W[:, m]) */
    const l2h_layer_spec specs[2] = {{.kind = L2H_LAYER_RBF, .out = m, .gamma = inv},
                                     {.kind = L2H_LAYER_LINEAR, .out = bits}};
    L2H_CHECK_GOTO(l2h_nn_create(&nn, "kernel", dim, 1, 1, specs, 2, 0));
    st = l2h_net_from_nn(&net, nn);
    nn = NULL; /* taken, also on failure */
    L2H_CHECK_GOTO(st);
    st = l2h_online_new_model(map, "okh", net, su);
    net = NULL; /* taken, also on failure */
    L2H_CHECK_GOTO(st);
    L2H_CHECK_GOTO(okh_bind(state, *map, su));
    okh_state *s = *state;
    memcpy(s->anchors, anchors, m * dim * sizeof *anchors);
    memcpy(s->kmean, kmean, m * sizeof *kmean);
    for (size_t k = 0; k < bits; k++) {
        memcpy(s->w + k * m, w0 + k * (m + 1), m * sizeof *w0);
        s->wb[k] = w0[k * (m + 1) + m];
    }
done:
    if (st != L2H_OK) {
        l2h_model_free(*map);
        *map = NULL;
    }
    l2h_nn_free(nn);
    l2h_net_free(net);
    l2h_free(anorm2);
    l2h_free(kmean);
    l2h_free(g);
    l2h_free(w0);
    return st;
}

/* Full feature vector [m + 1] (kernel values and the constant 1) in double. */
static void okh_feature(const okh_state *s, const float *x, double *k)
{
    const double inv = s->gamma;
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
    const size_t b = s->bits, m = s->m;
    okh_feature(s, xi, s->ki);
    okh_feature(s, xj, s->kj);
    size_t d = 0;
    for (size_t k = 0; k < b; k++) {
        const float *wk = s->w + k * m; /* row k over [kernel features, 1]: wk then wb[k] */
        double a = 0.0, c = 0.0;
        for (size_t t = 0; t < m; t++) {
            a += (double)wk[t] * s->ki[t];
            c += (double)wk[t] * s->kj[t];
        }
        a += (double)s->wb[k] * s->ki[m];
        c += (double)s->wb[k] * s->kj[m];
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
    for (size_t t = 0; t <= m; t++) {
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
        float *wk = s->w + k * m;
        for (size_t t = 0; t < m; t++)
            wk[t] += (float)(di * s->ki[t] + dj * s->kj[t]);
        s->wb[k] += (float)(di * s->ki[m] + dj * s->kj[m]);
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
    for (size_t i = 0; i < s->bits * s->m; i++)
        L2H_FAIL_IF(!isfinite(s->w[i]), L2H_ERR_NUMERIC, "okh: non-finite weight");
    for (size_t k = 0; k < s->bits; k++)
        L2H_FAIL_IF(!isfinite(s->wb[k]), L2H_ERR_NUMERIC, "okh: non-finite weight");
    return L2H_OK;
}

static const l2h_option_info okh_options[] = {
    L2H_OPT_PARAM("c", L2H_OPT_DOUBLE, "0.1", okh_c, "aggressiveness C of the passive-aggressive step"),
    L2H_OPT_PARAM("alpha", L2H_OPT_DOUBLE, "0.2", okh_alpha,
                  "dissimilar margin as a fraction of the bits, in (0, 1)"),
    L2H_OPT_PARAM("anchors", L2H_OPT_SIZE, "300", okh_anchors,
                  "kernel anchors (taken from the initial items)"),
};

const l2h_online_ops l2h_online_okh_ops = {
    .info = {.name = "okh",
             .summary = "Online Kernel Hashing (Huang et al., IJCAI 2013): passive-aggressive updates of a kernel hash on pairs",
             .batch = 2,
             .needs_labels = 0,
             .n_options = L2H_OPT_COUNT(okh_options),
             .options = okh_options},
    .batch = 2,
    .min_batch = 2,
    .needs_labels = false,
    .needs_init_data = true,
    .create = okh_create,
    .bind = okh_bind,
    .destroy = okh_destroy,
    .learn = okh_learn,
    .visit = NULL, /* anchors, centring, width and W are all in the span */
};
