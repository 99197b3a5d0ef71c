/* train_itq.c -- PCA-ITQ (Gong & Lazebnik, "Iterative quantization", CVPR 2011 / TPAMI 2013).
 *
 * With xp the preprocessed training rows (the model's own centring / L2 normalisation) and mu
 * their mean:
 *   1. PCA: C = (1/n) Σ (xp - mu)(xp - mu)ᵀ in double, eigenvectors of the `bits` largest
 *      eigenvalues P[dim, bits] (LAPACK dsyevd); V = (xp - mu) · P        [n, bits]
 *   2. R[bits, bits] = random orthogonal (U · Wᵀ of the SVD of a seeded Gaussian matrix)
 *   3. itq_iters times: B = sign(V R); R = W Uᵀ where Bᵀ V = U S Wᵀ (orthogonal Procrustes:
 *      R maximises tr(Bᵀ V R), i.e. minimises ||B - V R||_F^2 for fixed B)
 *   4. encode(x) = sign((xp - mu) · P R), stored as one linear layer:
 *      W = (P R)ᵀ [bits, dim], b = -(muᵀ · P R) [bits].
 * Both half-steps minimise the quantisation loss ||B - V R||_F^2, so it never increases. */
#include "train_methods.h"

#include "linalg.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Rows per block of the streaming passes: about 1 M doubles. */
static size_t pass_rows(size_t dim, size_t n)
{
    size_t b = ((size_t)1 << 20) / dim;
    if (b < 16) b = 16;
    return b < n ? b : n;
}

/* xb[nb, dim] = preprocess(x[rows[start .. start + nb)]). */
static void gather(const float *x, size_t dim, const size_t *rows, size_t start, size_t nb,
                   const float *mean, int l2n, float *xb)
{
    for (size_t i = 0; i < nb; i++) {
        const size_t r = rows ? rows[start + i] : start + i;
        memcpy(xb + i * dim, x + r * dim, dim * sizeof *xb);
    }
    l2h_preprocess_rows(mean, l2n, dim, xb, nb, xb);
}

static void centre(const float *xb, size_t nb, size_t dim, const double *mu, double *db)
{
    for (size_t i = 0; i < nb; i++)
        for (size_t j = 0; j < dim; j++) db[i * dim + j] = (double)xb[i * dim + j] - mu[j];
}

/* Flips an eigenvector so its largest-magnitude entry is positive (LAPACK's sign is arbitrary). */
static void fix_sign(double *p, size_t dim, size_t k, size_t col)
{
    size_t arg = 0;
    for (size_t i = 1; i < dim; i++)
        if (fabs(p[i * k + col]) > fabs(p[arg * k + col])) arg = i;
    if (p[arg * k + col] < 0)
        for (size_t i = 0; i < dim; i++) p[i * k + col] = -p[i * k + col];
}

l2h_status l2h_pca_fit(const float *x, size_t dim, const size_t *rows, size_t n,
                       const float *mean, int l2_normalize, size_t k, double *mu, double *p,
                       double *evals)
{
    L2H_FAIL_IF(n == 0 || k == 0 || k > dim, L2H_ERR_ARG, "PCA: %zu components of %zu dims from "
                "%zu rows", k, dim, n);
    const size_t bs = pass_rows(dim, n);
    l2h_status st = L2H_OK;
    float *xb = l2h_malloc_array(bs * dim, sizeof *xb);     /* [bs, dim]  */
    double *db = l2h_malloc_array(bs * dim, sizeof *db);    /* [bs, dim]  */
    double *c = l2h_calloc(dim * dim, sizeof *c);           /* [dim, dim] */
    double *w = l2h_malloc_array(dim, sizeof *w);           /* [dim]      */
    if (!xb || !db || !c || !w)
        L2H_FAIL_GOTO(L2H_ERR_NOMEM, "PCA: out of memory for a %zu x %zu covariance", dim, dim);
    memset(mu, 0, dim * sizeof *mu);
    for (size_t s = 0; s < n; s += bs) {
        const size_t nb = n - s < bs ? n - s : bs;
        gather(x, dim, rows, s, nb, mean, l2_normalize, xb);
        for (size_t i = 0; i < nb; i++)
            for (size_t j = 0; j < dim; j++) mu[j] += (double)xb[i * dim + j];
    }
    for (size_t j = 0; j < dim; j++) mu[j] /= (double)n;
    for (size_t s = 0; s < n; s += bs) {
        const size_t nb = n - s < bs ? n - s : bs;
        gather(x, dim, rows, s, nb, mean, l2_normalize, xb);
        centre(xb, nb, dim, mu, db);
        /* C[dim,dim] += Dbᵀ[dim,nb] · Db[nb,dim] */
        l2h_dgemm(true, false, dim, dim, nb, 1.0, db, dim, db, dim, 1.0, c, dim);
    }
    for (size_t i = 0; i < dim * dim; i++) c[i] /= (double)n;
    L2H_CHECK_GOTO(l2h_dsyev(dim, c, w)); /* columns of c: eigenvectors, w ascending */
    for (size_t col = 0; col < k; col++) {
        const size_t src = dim - 1 - col;
        for (size_t i = 0; i < dim; i++) p[i * k + col] = c[i * dim + src];
        fix_sign(p, dim, k, col);
        if (evals) evals[col] = w[src];
    }
done:
    l2h_free(xb);
    l2h_free(db);
    l2h_free(c);
    l2h_free(w);
    return st;
}

/* z = V R, B = sign(z) (z > 0 -> +1, else -1, as the encoder); returns ||B - z||_F^2. */
static double b_step(const double *v, size_t n, size_t b, const double *r, double *z, double *bm)
{
    /* Z[n,b] = V[n,b] · R[b,b] */
    l2h_dgemm(false, false, n, b, b, 1.0, v, b, r, b, 0.0, z, b);
    double loss = 0.0;
    for (size_t i = 0; i < n * b; i++) {
        bm[i] = z[i] > 0.0 ? 1.0 : -1.0;
        loss += (bm[i] - z[i]) * (bm[i] - z[i]);
    }
    return loss;
}

l2h_status l2h_itq_rotation(const double *v, size_t n, size_t b, unsigned iters, uint64_t seed,
                            double *r, double *loss)
{
    L2H_FAIL_IF(n == 0 || b == 0, L2H_ERR_ARG, "ITQ: empty projection (%zu x %zu)", n, b);
    l2h_status st = L2H_OK;
    double *z = l2h_malloc_array(n * b, sizeof *z);   /* [n, b] */
    double *bm = l2h_malloc_array(n * b, sizeof *bm); /* [n, b] */
    double *m = l2h_malloc_array(b * b, sizeof *m);   /* [b, b] */
    double *u = l2h_malloc_array(b * b, sizeof *u);   /* [b, b] */
    double *wt = l2h_malloc_array(b * b, sizeof *wt); /* [b, b] */
    double *s = l2h_malloc_array(b, sizeof *s);       /* [b]    */
    if (!z || !bm || !m || !u || !wt || !s)
        L2H_FAIL_GOTO(L2H_ERR_NOMEM, "ITQ: out of memory for %zu x %zu codes", n, b);

    l2h_rng rng;
    l2h_rng_seed(&rng, seed);
    for (size_t i = 0; i < b * b; i++) m[i] = l2h_rng_normal(&rng);
    L2H_CHECK_GOTO(l2h_dgesvd(b, b, m, u, s, wt));
    /* R[b,b] = U[b,b] · Wᵀ[b,b]: the orthogonal factor of a Gaussian matrix */
    l2h_dgemm(false, false, b, b, b, 1.0, u, b, wt, b, 0.0, r, b);

    double l = b_step(v, n, b, r, z, bm);
    if (loss) loss[0] = l;
    for (unsigned t = 1; t <= iters; t++) {
        /* M[b,b] = Bᵀ[b,n] · V[n,b] */
        l2h_dgemm(true, false, b, b, n, 1.0, bm, b, v, b, 0.0, m, b);
        L2H_CHECK_GOTO(l2h_dgesvd(b, b, m, u, s, wt)); /* M = U S Wᵀ */
        /* R[b,b] = W · Uᵀ = (Wᵀ)ᵀ[b,b] · Uᵀ[b,b] */
        l2h_dgemm(true, true, b, b, b, 1.0, wt, b, u, b, 0.0, r, b);
        if (loss) {
            /* ||B - V R||^2 with the new R and the old B: z[n,b] = V[n,b] · R[b,b] */
            l2h_dgemm(false, false, n, b, b, 1.0, v, b, r, b, 0.0, z, b);
            l = 0.0;
            for (size_t i = 0; i < n * b; i++) l += (bm[i] - z[i]) * (bm[i] - z[i]);
            loss[2 * t - 1] = l;
        }
        if (t < iters || loss) {
            l = b_step(v, n, b, r, z, bm);
            if (loss) loss[2 * t] = l;
        }
    }
done:
    l2h_free(z);
    l2h_free(bm);
    l2h_free(m);
    l2h_free(u);
    l2h_free(wt);
    l2h_free(s);
    return st;
}

/* v[n, k] = (preprocess(x[rows]) - mu) · P */
static l2h_status project(const float *x, size_t dim, const size_t *rows, size_t n,
                          const float *mean, int l2n, const double *mu, const double *p, size_t k,
                          double *v)
{
    const size_t bs = pass_rows(dim, n);
    float *xb = l2h_malloc_array(bs * dim, sizeof *xb);  /* [bs, dim] */
    double *db = l2h_malloc_array(bs * dim, sizeof *db); /* [bs, dim] */
    if (!xb || !db) {
        l2h_free(xb);
        l2h_free(db);
        L2H_FAIL(L2H_ERR_NOMEM, "ITQ: out of memory for the projection");
    }
    for (size_t s = 0; s < n; s += bs) {
        const size_t nb = n - s < bs ? n - s : bs;
        gather(x, dim, rows, s, nb, mean, l2n, xb);
        centre(xb, nb, dim, mu, db);
        /* V[nb,k] = Db[nb,dim] · P[dim,k] */
        l2h_dgemm(false, false, nb, k, dim, 1.0, db, dim, p, k, 0.0, v + s * k, k);
    }
    l2h_free(xb);
    l2h_free(db);
    return L2H_OK;
}

/* The encoder as a linear layer: W = (P R)ᵀ, b = -(muᵀ P R). */
static l2h_status make_net(size_t dim, size_t bits, const double *p, const double *r,
                           const double *mu, l2h_net **net)
{
    double *pr = l2h_malloc_array(dim * bits, sizeof *pr); /* [dim, bits] */
    float *w = l2h_malloc_array(dim * bits, sizeof *w);    /* [bits, dim] */
    float *b = l2h_malloc_array(bits, sizeof *b);          /* [bits]      */
    l2h_status st = L2H_OK;
    if (!pr || !w || !b) L2H_FAIL_GOTO(L2H_ERR_NOMEM, "ITQ: out of memory for the encoder");
    /* PR[dim,bits] = P[dim,bits] · R[bits,bits] */
    l2h_dgemm(false, false, dim, bits, bits, 1.0, p, bits, r, bits, 0.0, pr, bits);
    for (size_t j = 0; j < bits; j++) {
        double acc = 0.0;
        for (size_t i = 0; i < dim; i++) {
            w[j * dim + i] = (float)pr[i * bits + j];
            acc += mu[i] * pr[i * bits + j];
        }
        b[j] = (float)-acc;
    }
    st = l2h_net_linear_create(net, dim, bits, w, b);
done:
    l2h_free(pr);
    l2h_free(w);
    l2h_free(b);
    return st;
}

static l2h_status itq_meta(l2h_model *m, const l2h_baseline_params *p, size_t n)
{
    char num[32];
    snprintf(num, sizeof num, "%llu", (unsigned long long)p->seed);
    L2H_TRY(l2h_model_set_meta(m, "seed", num));
    snprintf(num, sizeof num, "%u", p->itq_iters);
    L2H_TRY(l2h_model_set_meta(m, "itq_iters", num));
    snprintf(num, sizeof num, "%zu", n);
    return l2h_model_set_meta(m, "n_train", num);
}

l2h_status l2h_itq_train(l2h_model **out, const l2h_dataset *train, const l2h_baseline_params *p)
{
    L2H_FAIL_IF(out == NULL, L2H_ERR_ARG, "itq: NULL output");
    *out = NULL;
    size_t *rows, n;
    L2H_TRY(l2h_baseline_rows(train, p, "itq", &rows, &n));
    const size_t dim = l2h_dataset_dim(train), bits = p->bits;
    const float *x = l2h_dataset_features(train);
    l2h_status st = L2H_OK;
    float *mean = NULL;
    double *mu = NULL, *pc = NULL, *v = NULL, *r = NULL;
    l2h_net *net = NULL;
    l2h_model *m = NULL;
    if (bits > dim)
        L2H_FAIL_GOTO(L2H_ERR_ARG, "itq: bits = %zu exceeds the feature dimension %zu (PCA "
                      "gives at most dim directions; use lsh or fewer bits)", bits, dim);
    mu = l2h_malloc_array(dim, sizeof *mu);
    pc = l2h_malloc_array(dim * bits, sizeof *pc); /* [dim, bits] */
    v = l2h_malloc_array(n * bits, sizeof *v);     /* [n, bits]   */
    r = l2h_malloc_array(bits * bits, sizeof *r);  /* [bits, bits] */
    mean = p->center ? l2h_malloc_array(dim, sizeof *mean) : NULL;
    if (!mu || !pc || !v || !r || (p->center && !mean))
        L2H_FAIL_GOTO(L2H_ERR_NOMEM, "itq: out of memory for %zu x %zu projections", n, bits);
    if (mean) L2H_CHECK_GOTO(l2h_rows_mean(x, dim, rows, n, mean));
    L2H_CHECK_GOTO(l2h_pca_fit(x, dim, rows, n, mean, p->l2_normalize, bits, mu, pc, NULL));
    L2H_CHECK_GOTO(project(x, dim, rows, n, mean, p->l2_normalize, mu, pc, bits, v));
    L2H_CHECK_GOTO(l2h_itq_rotation(v, n, bits, p->itq_iters, p->seed, r, NULL));
    L2H_CHECK_GOTO(make_net(dim, bits, pc, r, mu, &net));
    st = l2h_model_create(&m, "itq", net, mean, p->l2_normalize);
    net = NULL; /* taken */
    if (st != L2H_OK) goto done;
    L2H_CHECK_GOTO(itq_meta(m, p, n));
    *out = m;
    m = NULL;
done:
    l2h_model_free(m);
    l2h_net_free(net);
    l2h_free(mean);
    l2h_free(mu);
    l2h_free(pc);
    l2h_free(v);
    l2h_free(r);
    l2h_free(rows);
    return st;
}

typedef struct itq_opts {
    size_t iters, max_train;
} itq_opts;

static const l2h_option_info k_options[] = {
    L2H_TRAIN_OPT("iters", L2H_OPT_SIZE, "50", itq_opts, iters, "ITQ rotation iterations"),
    L2H_TRAIN_OPT("max-train", L2H_OPT_SIZE, "0", itq_opts, max_train,
                  "use at most N training rows (0 = all)"),
};

static void itq_defaults(l2h_train_params *p) { p->l2_normalize = 0; }

static l2h_status itq_check(const l2h_train_params *p, const void *opts)
{
    (void)p;
    const itq_opts *o = opts;
    L2H_FAIL_IF(o->iters > 1000000, L2H_ERR_ARG, "itq: %zu iterations (at most 1000000)",
                o->iters);
    return L2H_OK;
}

static l2h_status itq_fit(l2h_model **out, const l2h_dataset *train, const l2h_train_params *p,
                          const void *opts)
{
    const itq_opts *o = opts;
    l2h_baseline_params bp = l2h_baseline_default_params(p->bits);
    bp.seed = p->seed;
    bp.center = p->center;
    bp.l2_normalize = p->l2_normalize;
    bp.itq_iters = (unsigned)o->iters;
    bp.max_train = o->max_train;
    return l2h_itq_train(out, train, &bp);
}

const l2h_train_method l2h_train_itq = {
    .info = {.name = "itq",
             .summary = "PCA-ITQ (Gong & Lazebnik): PCA, then an orthogonal rotation that "
                        "minimises the quantisation error",
             .n_options = L2H_TRAIN_N_OPTS(k_options),
             .options = k_options},
    .opts_size = sizeof(itq_opts),
    .defaults = itq_defaults,
    .check = itq_check,
    .fit = itq_fit,
};
