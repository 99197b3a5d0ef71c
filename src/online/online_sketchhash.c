/* online_sketchhash.c -- Online Sketching Hashing (Leng, Wu, Cheng, Bai & Lu, CVPR 2015):
 * h(x) = sgn(Wᵀ(x − μ)), W = top-b principal directions of the stream times a random
 * orthogonal rotation, the principal directions coming from a Frequent-Directions sketch.
 *
 * State (persistent across batches -- the released MATLAB class loses it, methods.md §1.8):
 * the sketch B [l, dim] (double), the number of items seen n_s and their mean μ.
 * For a batch X [n, dim] with mean μ_b:
 *   rows appended to the sketch: x_r − μ_b for every item, then, if n_s > 0, the mean
 *   correction sqrt(n_s n / (n_s + n)) (μ_b − μ)  (the scatter of the union about its mean is
 *   the two scatters plus this rank-one term);
 *   Frequent Directions (Liberty 2013): a row goes into the first empty row of B; when B is
 *   full, B Bᵀ = U Λ Uᵀ, δ = the (l/2 + 1)-th largest eigenvalue, and B ← diag(sqrt(max(λ −
 *   δ, 0)) / sqrt(λ)) Uᵀ B (the shrink of its singular values), which empties half the rows;
 *   then μ ← (n_s μ + n μ_b) / (n_s + n), n_s ← n_s + n;
 *   and W ← V_b R, V_b the top-b right singular vectors of B (v_i = Bᵀu_i / sqrt(λ_i) from the
 *   same eigen-decomposition), R [b, b] a random orthogonal matrix fixed at creation.
 * Until the sketch has rank >= b, W stays at its LSH initialisation. Encoding subtracts μ:
 * the bias −Wμ follows W in the mapping's span (a linear layer z = W x + b). */
#include "online_internal.h"

#include "linalg.h"

#include <math.h>
#include <string.h>

typedef struct sketch_state {
    size_t dim, bits, l;
    size_t rows; /* non-zero rows of the sketch      */
    size_t n_seen;
    double *sketch; /* [l, dim]                         */
    double *mean;   /* [dim]                            */
    double *rot;    /* [bits, bits] orthogonal          */
    float *w;       /* [bits, dim] (rows = hash vectors), the mapping's span (borrowed) */
    float *bias;    /* [bits] = −W μ, right after w in the span                         */
    /* scratch */
    double *gram; /* [l, l]                           */
    double *eval; /* [l]                              */
    double *tmp;  /* [l, dim]                         */
    double *row;  /* [dim]                            */
} sketch_state;

static void sketch_destroy(void *state)
{
    sketch_state *s = state;
    if (s == NULL) return;
    l2h_free(s->sketch);
    l2h_free(s->mean);
    l2h_free(s->rot);
    l2h_free(s->gram);
    l2h_free(s->eval);
    l2h_free(s->tmp);
    l2h_free(s->row);
    l2h_free(s);
}

static l2h_status sketch_alloc(sketch_state **out, size_t dim, size_t bits, size_t l)
{
    *out = NULL;
    sketch_state *s = l2h_calloc(1, sizeof *s);
    L2H_NOMEM_IF_NULL(s);
    s->dim = dim;
    s->bits = bits;
    s->l = l;
    s->sketch = l2h_calloc(l * dim, sizeof *s->sketch);
    s->mean = l2h_calloc(dim, sizeof *s->mean);
    s->rot = l2h_malloc_array(bits * bits, sizeof *s->rot);
    s->gram = l2h_malloc_array(l * l, sizeof *s->gram);
    s->eval = l2h_malloc_array(l, sizeof *s->eval);
    s->tmp = l2h_malloc_array(l * dim, sizeof *s->tmp);
    s->row = l2h_malloc_array(dim, sizeof *s->row);
    if (!s->sketch || !s->mean || !s->rot || !s->gram || !s->eval ||
        !s->tmp || !s->row) {
        sketch_destroy(s);
        L2H_FAIL(L2H_ERR_NOMEM, "sketchhash: out of memory");
    }
    *out = s;
    return L2H_OK;
}

/* Random orthogonal r[b, b]: Gaussian matrix orthonormalised row by row (Gram-Schmidt, twice). */
static void random_rotation(double *r, size_t b, l2h_rng *rng)
{
    for (size_t i = 0; i < b * b; i++)
        r[i] = l2h_rng_normal(rng);
    for (size_t i = 0; i < b; i++) {
        double *ri = r + i * b;
        for (int pass = 0; pass < 2; pass++)
            for (size_t j = 0; j < i; j++) {
                const double *rj = r + j * b;
                double d = 0.0;
                for (size_t k = 0; k < b; k++)
                    d += ri[k] * rj[k];
                for (size_t k = 0; k < b; k++)
                    ri[k] -= d * rj[k];
            }
        double n = 0.0;
        for (size_t k = 0; k < b; k++)
            n += ri[k] * ri[k];
        n = sqrt(n);
        for (size_t k = 0; k < b; k++)
            ri[k] /= n;
    }
}

static l2h_status sketch_bind(void **state, l2h_model *map, const l2h_online_setup *su)
{
    *state = NULL;
    const size_t dim = su->dim, bits = su->bits, l = su->p->sketch_size;
    L2H_FAIL_IF(bits > dim, L2H_ERR_ARG, "sketchhash: %zu bits exceed the dimension %zu", bits,
                dim);
    L2H_FAIL_IF(l < bits || l < 2, L2H_ERR_ARG,
                "sketchhash: sketch size %zu must be >= bits (%zu) and >= 2", l, bits);
    L2H_FAIL_IF(l > ((size_t)1 << 16) || l * dim > ((size_t)1 << 28), L2H_ERR_ARG,
                "sketchhash: sketch of %zu x %zu too large", l, dim);
    sketch_state *s;
    L2H_TRY(sketch_alloc(&s, dim, bits, l));
    L2H_NOMEM_IF_NULL(s);
    const l2h_status st = l2h_online_linear_bind(map, su, &s->w, &s->bias);
    if (st != L2H_OK) {
        sketch_destroy(s);
        return st;
    }
    *state = s;
    return L2H_OK;
}

static l2h_status sketch_create(void **state, l2h_model **map, const l2h_online_setup *su,
                                const float *init_x, const int32_t *init_labels, size_t n_init)
{
    (void)init_x;
    (void)init_labels;
    (void)n_init;
    float *w, *b;
    L2H_TRY(l2h_online_linear_model(map, "sketchhash", su, &w, &b));
    const l2h_status st = sketch_bind(state, *map, su);
    if (st != L2H_OK) {
        l2h_model_free(*map);
        *map = NULL;
        return st;
    }
    sketch_state *s = *state;
    l2h_rng rng;
    l2h_rng_seed(&rng, su->seed);
    l2h_online_lsh_init(s->w, su->bits, su->dim, &rng);
    random_rotation(s->rot, su->bits, &rng);
    return L2H_OK;
}

/* Learner state beyond the span: the sketch, its filled rows, the stream count and mean, and
 * the fixed random rotation. */
static l2h_status sketch_visit(void *state, l2h_online_io *io)
{
    sketch_state *s = state;
    L2H_TRY(l2h_online_io_size(io, "rows", &s->rows));
    L2H_FAIL_IF(s->rows > s->l, L2H_ERR_FORMAT, "sketchhash: %zu sketch rows > %zu", s->rows,
                s->l);
    L2H_TRY(l2h_online_io_size(io, "n_seen", &s->n_seen));
    L2H_TRY(l2h_online_io_f64(io, "sketch", s->sketch, s->l * s->dim));
    L2H_TRY(l2h_online_io_f64(io, "mean", s->mean, s->dim));
    return l2h_online_io_f64(io, "rot", s->rot, s->bits * s->bits);
}

/* gram = B Bᵀ over the first `rows` rows, eigen-decomposed in place: eigenvectors as columns
 * of gram[rows, rows], eigenvalues ascending in eval. */
static l2h_status sketch_eig(sketch_state *s)
{
    const size_t r = s->rows;
    l2h_dgemm(false, true, r, r, s->dim, 1.0, s->sketch, s->dim, s->sketch, s->dim, 0.0, s->gram,
              r); /* G[r,r] = B · Bᵀ */
    return l2h_dsyev(r, s->gram, s->eval);
}

/* Frequent-Directions shrink of a full sketch. */
static l2h_status sketch_shrink(sketch_state *s)
{
    const size_t l = s->rows, dim = s->dim;
    L2H_TRY(sketch_eig(s));
    const double delta = s->eval[l - 1 - l / 2]; /* (l/2 + 1)-th largest */
    /* tmp[k, :] = c_k u_kᵀ B for the eigenpairs above δ, largest first */
    size_t kept = 0;
    for (size_t q = 0; q < l; q++) {
        const size_t i = l - 1 - q;
        const double lam = s->eval[i];
        if (!(lam > delta) || !(lam > 0.0)) break;
        const double c = sqrt(lam - delta) / sqrt(lam);
        double *dst = s->tmp + kept * dim;
        memset(dst, 0, dim * sizeof *dst);
        for (size_t j = 0; j < l; j++) {
            const double a = c * s->gram[j * l + i];
            const double *bj = s->sketch + j * dim;
            for (size_t t = 0; t < dim; t++)
                dst[t] += a * bj[t];
        }
        kept++;
    }
    memset(s->sketch, 0, s->l * dim * sizeof *s->sketch);
    memcpy(s->sketch, s->tmp, kept * dim * sizeof *s->tmp);
    s->rows = kept;
    return L2H_OK;
}

static l2h_status sketch_append(sketch_state *s, const double *row)
{
    if (s->rows == s->l) L2H_TRY(sketch_shrink(s));
    memcpy(s->sketch + s->rows * s->dim, row, s->dim * sizeof *row);
    s->rows++;
    return L2H_OK;
}

/* W ← V_b R from the current sketch (if its rank reaches b), then bias ← −W μ. */
static l2h_status sketch_refresh(sketch_state *s)
{
    const size_t r = s->rows, b = s->bits, dim = s->dim;
    if (r >= b) {
        L2H_TRY(sketch_eig(s));
        const double top = s->eval[r - 1];
        if (top > 0.0 && s->eval[r - b] > 1e-12 * top) {
            /* v_i = Bᵀ u_i / sqrt(λ_i), i = 0..b-1 largest first, into tmp[i, :] */
            for (size_t q = 0; q < b; q++) {
                const size_t i = r - 1 - q;
                const double inv = 1.0 / sqrt(s->eval[i]);
                double *v = s->tmp + q * dim;
                memset(v, 0, dim * sizeof *v);
                for (size_t j = 0; j < r; j++) {
                    const double a = inv * s->gram[j * r + i];
                    const double *bj = s->sketch + j * dim;
                    for (size_t t = 0; t < dim; t++)
                        v[t] += a * bj[t];
                }
            }
            /* W = V_b R  =>  row k of the [bits, dim] layout is Σ_i R[i, k] v_i */
            for (size_t k = 0; k < b; k++) {
                float *wk = s->w + k * dim;
                for (size_t t = 0; t < dim; t++) {
                    double a = 0.0;
                    for (size_t i = 0; i < b; i++)
                        a += s->rot[i * b + k] * s->tmp[i * dim + t];
                    wk[t] = (float)a;
                }
            }
        }
    }
    for (size_t k = 0; k < b; k++) {
        double a = 0.0;
        for (size_t t = 0; t < dim; t++)
            a += (double)s->w[k * dim + t] * s->mean[t];
        s->bias[k] = -(float)a;
    }
    return L2H_OK;
}

static l2h_status sketch_learn(void *state, const l2h_online_batch *bt)
{
    sketch_state *s = state;
    const size_t n = bt->n, dim = s->dim;
    if (n == 0) return L2H_OK;
    double *mb = s->row; /* batch mean, then reused as a row buffer after mu_b is folded in */
    double *mu_b = l2h_calloc(dim, sizeof *mu_b);
    L2H_NOMEM_IF_NULL(mu_b);
    l2h_status st = L2H_OK;
    for (size_t r = 0; r < n; r++)
        for (size_t t = 0; t < dim; t++)
            mu_b[t] += (double)bt->x[r * dim + t];
    for (size_t t = 0; t < dim; t++)
        mu_b[t] /= (double)n;
    for (size_t r = 0; r < n; r++) {
        for (size_t t = 0; t < dim; t++)
            mb[t] = (double)bt->x[r * dim + t] - mu_b[t];
        L2H_CHECK_GOTO(sketch_append(s, mb));
    }
    if (s->n_seen > 0) {
        const double ns = (double)s->n_seen, nb = (double)n;
        const double c = sqrt(ns * nb / (ns + nb));
        for (size_t t = 0; t < dim; t++)
            mb[t] = c * (mu_b[t] - s->mean[t]);
        L2H_CHECK_GOTO(sketch_append(s, mb));
    }
    {
        const double ns = (double)s->n_seen, nb = (double)n;
        for (size_t t = 0; t < dim; t++)
            s->mean[t] = (ns * s->mean[t] + nb * mu_b[t]) / (ns + nb);
        s->n_seen += n;
    }
    L2H_CHECK_GOTO(sketch_refresh(s));
    for (size_t i = 0; i < s->bits * dim; i++)
        if (!isfinite(s->w[i])) L2H_FAIL_GOTO(L2H_ERR_NUMERIC, "sketchhash: non-finite weight");
done:
    l2h_free(mu_b);
    return st;
}

static const l2h_option_info sketch_options[] = {
    L2H_OPT_PARAM("sketch", L2H_OPT_SIZE, "200", sketch_size,
                  "Frequent-Directions sketch rows l (>= bits)"),
};

const l2h_online_ops l2h_online_sketchhash_ops = {
    .info = {.name = "sketchhash",
             .summary = "Online Sketching Hashing (Leng et al., CVPR 2015): PCA of a Frequent-Directions sketch, rotated",
             .batch = 50,
             .needs_labels = 0,
             .n_options = L2H_OPT_COUNT(sketch_options),
             .options = sketch_options},
    .batch = 50,
    .min_batch = 1,
    .needs_labels = false,
    .needs_init_data = false,
    .create = sketch_create,
    .bind = sketch_bind,
    .destroy = sketch_destroy,
    .learn = sketch_learn,
    .visit = sketch_visit,
};
