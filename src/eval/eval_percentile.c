/* eval_percentile.c -- the Euclidean neighbour threshold of the MIHash LabelMe protocol: a
 * percentile of the pairwise distances among a seeded sample of rows.
 *
 * Definition (docs/evaluation.md): draw m = min(sample, n) rows (all rows if sample >= n, else
 * the first m of a Fisher-Yates shuffle of 0..n-1 by l2h_rng seeded with `seed`); take the
 * M = m(m-1)/2 pairs i < j with their exact squared distances D (eval_internal.h); sort them
 * ascending; the percentile p is the element of 0-based rank k = ceil(p * M / 100) - 1 (k = 0
 * when that is negative). The threshold returned is the smallest float t with (double)t^2 >= D_k,
 * so every pair at or below the percentile is a neighbour under "distance <= t".
 *
 * Exact order statistic without M exact distances: approximate squared distances from a blocked
 * Gram matrix (l2h_sgemm) are within E of the exact ones (rigorous bound, eval_internal.h), so the
 * exact k-th value lies within E of the approximate k-th value v. Pairs with approximation below
 * v - 2E are certainly smaller than it, pairs above v + 2E certainly larger; only the band in
 * between is recomputed exactly and selected from. */
#include "eval_internal.h"
#include "linalg.h"

#include <math.h>
#include <string.h>

/* Quickselect with a three-way partition (many equal distances are common: duplicate rows) and
 * pivots from a fixed-seed RNG (expected linear time on any input). Reorders a[0..n). */
static double select_kth(double *a, size_t n, size_t k)
{
    l2h_rng r;
    l2h_rng_seed(&r, 0x5e1ec7u);
    size_t lo = 0, hi = n; /* the answer is within a[lo, hi) */
    for (;;) {
        if (hi - lo <= 1) return a[lo];
        const double piv = a[lo + (size_t)l2h_rng_below(&r, hi - lo)];
        /* [lo, lt) < piv, [lt, i) == piv, (gt, hi) > piv */
        size_t lt = lo, i = lo, gt = hi;
        while (i < gt) {
            const double x = a[i];
            if (x < piv) {
                a[i++] = a[lt];
                a[lt++] = x;
            } else if (x > piv) {
                a[i] = a[--gt];
                a[gt] = x;
            } else {
                i++;
            }
        }
        if (k < lt)
            hi = lt;
        else if (k < gt)
            return piv;
        else
            lo = gt;
    }
}

/* Smallest float t >= 0 with (double)t * t >= d2. */
static float threshold_from_sq(double d2)
{
    float t = (float)sqrt(d2);
    while ((double)t * (double)t < d2)
        t = nextafterf(t, INFINITY);
    while (t > 0.0f) {
        const float below = nextafterf(t, 0.0f);
        if ((double)below * (double)below < d2) break;
        t = below;
    }
    return t;
}

/* Approximate squared distances of all pairs i < j into a[M], in pair order (i, then j), from
 * row blocks of the Gram matrix. Returns 0 if any value is not finite. */
static int approx_pairs(const float *x, const double *n2, size_t m, size_t dim, float *gram,
                        size_t block, double *a)
{
    int finite = 1;
    for (size_t i0 = 0; i0 < m; i0 += block) {
        const size_t nb = i0 + block <= m ? block : m - i0, nc = m - i0;
        /* gram[nb, nc] = X[i0 : i0+nb] · X[i0 : m]ᵀ */
        l2h_sgemm(false, true, nb, nc, dim, 1.0f, x + i0 * dim, dim, x + i0 * dim, dim, 0.0f, gram,
                  nc);
        const long long nbl = (long long)nb;
#pragma omp parallel for schedule(dynamic, 4) num_threads(l2h_threads()) reduction(&& : finite)
        for (long long bl = 0; bl < nbl; bl++) {
            const size_t b = (size_t)bl, i = i0 + b;
            double *out = a + (i * m - i * (i + 1) / 2); /* pairs (i, i+1 ..) */
            const float *g = gram + b * nc;
            for (size_t j = i + 1; j < m; j++) {
                const double v = n2[i] + n2[j] - 2.0 * (double)g[j - i0];
                finite = finite && isfinite(v);
                out[j - i - 1] = v;
            }
        }
    }
    return finite;
}

static void exact_pairs(const float *x, size_t m, size_t dim, double *a)
{
    const long long ml = (long long)m;
#pragma omp parallel for schedule(dynamic, 4) num_threads(l2h_threads())
    for (long long il = 0; il < ml; il++) {
        const size_t i = (size_t)il;
        double *out = a + (i * m - i * (i + 1) / 2);
        for (size_t j = i + 1; j < m; j++)
            out[j - i - 1] = l2h_sq_dist_exact(x + i * dim, x + j * dim, dim);
    }
}

/* The exact k-th squared distance given approximations a[M] (kept in pair order) within e. */
static l2h_status refine(const float *x, size_t m, size_t dim, const double *a, size_t M, size_t k,
                         double v, double e, double *d2k)
{
    const double lo = v - 2.0 * e, hi = v + 2.0 * e;
    size_t below = 0, nband = 0;
    for (size_t t = 0; t < M; t++) {
        below += a[t] < lo;
        nband += a[t] >= lo && a[t] <= hi;
    }
    L2H_FAIL_IF(k < below || k - below >= nband, L2H_ERR_NUMERIC,
                "distance_percentile: error bound violated (rank %zu, %zu below, %zu in band)", k,
                below, nband);
    double *band = l2h_malloc_array(nband, sizeof *band);
    L2H_NOMEM_IF_NULL(band);
    size_t t = 0, o = 0;
    for (size_t i = 0; i < m; i++)
        for (size_t j = i + 1; j < m; j++, t++)
            if (a[t] >= lo && a[t] <= hi)
                band[o++] = l2h_sq_dist_exact(x + i * dim, x + j * dim, dim);
    *d2k = select_kth(band, nband, k - below);
    l2h_free(band);
    return L2H_OK;
}

static l2h_status check_args(const l2h_dataset *ds, size_t sample, double percentile,
                             const float *threshold)
{
    L2H_FAIL_IF(ds == NULL || threshold == NULL, L2H_ERR_ARG, "distance_percentile: NULL argument");
    L2H_FAIL_IF(!(percentile >= 0.0 && percentile <= 100.0), L2H_ERR_ARG,
                "distance_percentile: percentile %g not in [0, 100]", percentile);
    L2H_FAIL_IF(sample < 2, L2H_ERR_ARG, "distance_percentile: sample %zu < 2", sample);
    L2H_FAIL_IF(l2h_dataset_n(ds) < 2, L2H_ERR_ARG,
                "distance_percentile: %zu rows, at least 2 needed", l2h_dataset_n(ds));
    L2H_FAIL_IF(l2h_dataset_dim(ds) == 0, L2H_ERR_ARG, "distance_percentile: 0 features");
    return L2H_OK;
}

/* x[m, dim] = the sampled rows, in sample order. */
static l2h_status gather_sample(const l2h_dataset *ds, size_t m, uint64_t seed, float *x)
{
    const size_t n = l2h_dataset_n(ds), dim = l2h_dataset_dim(ds);
    const float *src = l2h_dataset_features(ds); /* [n, dim] */
    size_t *rows = l2h_malloc_array(n, sizeof *rows);
    L2H_NOMEM_IF_NULL(rows);
    for (size_t i = 0; i < n; i++)
        rows[i] = i;
    if (m < n) {
        l2h_rng r;
        l2h_rng_seed(&r, seed);
        l2h_rng_shuffle(&r, rows, n);
    }
    for (size_t s = 0; s < m; s++) {
        const float *row = src + rows[s] * dim;
        for (size_t j = 0; j < dim; j++)
            if (!isfinite(row[j])) {
                const size_t bad = rows[s];
                l2h_free(rows);
                L2H_FAIL(L2H_ERR_NUMERIC, "distance_percentile: row %zu feature %zu is not finite",
                         bad, j);
            }
        memcpy(x + s * dim, row, dim * sizeof *x);
    }
    l2h_free(rows);
    return L2H_OK;
}

l2h_status l2h_distance_percentile(const l2h_dataset *ds, size_t sample, double percentile,
                                   uint64_t seed, float *threshold)
{
    L2H_TRY(check_args(ds, sample, percentile, threshold));
    const size_t n = l2h_dataset_n(ds), dim = l2h_dataset_dim(ds);
    const size_t m = sample < n ? sample : n;
    size_t M, xs;
    L2H_FAIL_IF(!l2h_mul_ok(m, m - 1, &M) || !l2h_mul_ok(m, dim, &xs), L2H_ERR_NOMEM,
                "distance_percentile: sample of %zu rows too large", m);
    M /= 2;
    /* rank k = ceil(p M / 100) - 1; p * M is exact for integer p and M < 2^53 / 100 */
    const double pos = ceil(percentile * (double)M / 100.0);
    const size_t k = pos <= 1.0 ? 0 : (pos >= (double)M ? M - 1 : (size_t)pos - 1);

    const size_t block = 256;
    float *x = l2h_malloc_array(xs, sizeof *x);              /* [m, dim]   */
    double *n2 = l2h_malloc_array(m, sizeof *n2);            /* [m]        */
    double *a = l2h_malloc_array(M, sizeof *a);              /* [M]        */
    double *sel = l2h_malloc_array(M, sizeof *sel);          /* [M]        */
    float *gram = l2h_malloc_array(block, m * sizeof *gram); /* [block, m] */
    l2h_status st = L2H_OK;
    if (!x || !n2 || !a || !sel || !gram)
        L2H_FAIL_GOTO(L2H_ERR_NOMEM, "distance_percentile: out of memory (%zu pairs)", M);
    L2H_CHECK_GOTO(gather_sample(ds, m, seed, x));
    double maxn2 = 0.0;
    for (size_t i = 0; i < m; i++) {
        n2[i] = l2h_sq_norm_exact(x + i * dim, dim);
        if (n2[i] > maxn2) maxn2 = n2[i];
    }
    const double gamma = l2h_dot_gamma(dim);
    const double e = gamma >= 0.0 ? l2h_sq_dist_err_bound(maxn2, maxn2, gamma, dim) : HUGE_VAL;
    double d2k = 0.0;
    if (isfinite(e) && approx_pairs(x, n2, m, dim, gram, block, a)) {
        memcpy(sel, a, M * sizeof *sel);
        const double v = select_kth(sel, M, k);
        L2H_CHECK_GOTO(refine(x, m, dim, a, M, k, v, e, &d2k));
    } else {
        exact_pairs(x, m, dim, sel);
        d2k = select_kth(sel, M, k);
    }
    const float t = threshold_from_sq(d2k);
    if (!isfinite(t))
        L2H_FAIL_GOTO(L2H_ERR_NUMERIC, "distance_percentile: distance %g overflows a float",
                      sqrt(d2k));
    *threshold = t;
done:
    l2h_free(x);
    l2h_free(n2);
    l2h_free(a);
    l2h_free(sel);
    l2h_free(gram);
    return st;
}
