/* baseline_data.c -- what the baseline trainers share: default parameters, argument checks,
 * the seeded max_train subsample and the training mean. */
#include "model_internal.h"

#include "l2h/codes.h"

#include <math.h>
#include <stdlib.h>

l2h_baseline_params l2h_baseline_default_params(size_t bits)
{
    l2h_baseline_params p = {0};
    p.bits = bits;
    p.seed = 1;
    p.center = 1;
    p.l2_normalize = 0;
    p.itq_iters = 50;
    p.max_train = 0;
    return p;
}

static int cmp_size(const void *a, const void *b)
{
    const size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

l2h_status l2h_baseline_rows(const l2h_dataset *ds, const l2h_baseline_params *p,
                             const char *method, size_t **rows, size_t *n_rows)
{
    *rows = NULL;
    *n_rows = 0;
    L2H_FAIL_IF(ds == NULL || p == NULL, L2H_ERR_ARG, "%s: NULL training set or parameters",
                method);
    const size_t n = l2h_dataset_n(ds), dim = l2h_dataset_dim(ds);
    L2H_FAIL_IF(p->bits == 0 || p->bits > L2H_MAX_BITS, L2H_ERR_ARG,
                "%s: bits = %zu outside 1..%d", method, p->bits, L2H_MAX_BITS);
    L2H_FAIL_IF(n == 0 || dim == 0, L2H_ERR_ARG, "%s: empty training set (%zu x %zu)", method, n,
                dim);
    L2H_FAIL_IF(dim > L2H_MODEL_MAX_DIM, L2H_ERR_ARG, "%s: dimension %zu above the limit %zu",
                method, dim, L2H_MODEL_MAX_DIM);
    const float *x = l2h_dataset_features(ds);
    size_t nx;
    L2H_FAIL_IF(!l2h_mul_ok(n, dim, &nx), L2H_ERR_ARG, "%s: training set too large", method);
    for (size_t i = 0; i < nx; i++)
        L2H_FAIL_IF(!isfinite(x[i]), L2H_ERR_NUMERIC,
                    "%s: training row %zu holds a non-finite value (column %zu)", method, i / dim,
                    i % dim);

    const size_t m = p->max_train && p->max_train < n ? p->max_train : n;
    size_t *idx = l2h_malloc_array(n, sizeof *idx);
    L2H_NOMEM_IF_NULL(idx);
    for (size_t i = 0; i < n; i++) idx[i] = i;
    if (m < n) {
        l2h_rng rng;
        l2h_rng_seed(&rng, p->seed ^ L2H_SUBSAMPLE_SALT);
        for (size_t i = 0; i < m; i++) { /* partial Fisher-Yates: idx[0..m) is the sample */
            const size_t j = i + (size_t)l2h_rng_below(&rng, (uint64_t)(n - i));
            const size_t t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
        }
        qsort(idx, m, sizeof *idx, cmp_size);
    }
    *rows = idx;
    *n_rows = m;
    return L2H_OK;
}

l2h_status l2h_rows_mean(const float *x, size_t dim, const size_t *rows, size_t n, float *mean)
{
    L2H_FAIL_IF(n == 0, L2H_ERR_ARG, "mean of no rows");
    double *acc = l2h_calloc(dim, sizeof *acc);
    L2H_NOMEM_IF_NULL(acc);
    for (size_t i = 0; i < n; i++) {
        const float *xi = x + (rows ? rows[i] : i) * dim;
        for (size_t j = 0; j < dim; j++) acc[j] += (double)xi[j];
    }
    for (size_t j = 0; j < dim; j++) mean[j] = (float)(acc[j] / (double)n);
    l2h_free(acc);
    return L2H_OK;
}
