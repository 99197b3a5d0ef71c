/* blas.c -- the single entry point to BLAS/LAPACK (OpenBLAS + LAPACKE from Debian). */
#include "linalg.h"

#include <cblas.h>
#include <lapacke.h>
#include <limits.h>

static blasint to_blasint(size_t v)
{
    L2H_ASSERT(v <= (size_t)INT_MAX);
    return (blasint)v;
}

void l2h_sgemm(bool trans_a, bool trans_b, size_t m, size_t n, size_t k, float alpha,
               const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c,
               size_t ldc)
{
    if (m == 0 || n == 0) return;
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, to_blasint(m), to_blasint(n),
                to_blasint(k), alpha, a, to_blasint(lda), b, to_blasint(ldb), beta, c,
                to_blasint(ldc));
}

void l2h_dgemm(bool trans_a, bool trans_b, size_t m, size_t n, size_t k, double alpha,
               const double *a, size_t lda, const double *b, size_t ldb, double beta, double *c,
               size_t ldc)
{
    if (m == 0 || n == 0) return;
    cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, to_blasint(m), to_blasint(n),
                to_blasint(k), alpha, a, to_blasint(lda), b, to_blasint(ldb), beta, c,
                to_blasint(ldc));
}

l2h_status l2h_dsyev(size_t n, double *a, double *w)
{
    L2H_FAIL_IF(n > (size_t)INT_MAX, L2H_ERR_ARG, "eigendecomposition: n=%zu too large", n);
    const lapack_int info =
        LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'U', (lapack_int)n, a, (lapack_int)n, w);
    L2H_FAIL_IF(info != 0, L2H_ERR_NUMERIC, "eigendecomposition failed (LAPACK info=%d)",
                (int)info);
    return L2H_OK;
}

l2h_status l2h_dgesvd(size_t m, size_t n, double *a, double *u, double *s, double *vt)
{
    L2H_FAIL_IF(m > (size_t)INT_MAX || n > (size_t)INT_MAX, L2H_ERR_ARG, "SVD: shape too large");
    const size_t mn = m < n ? m : n;
    double *superb = l2h_malloc_array(mn > 1 ? mn - 1 : 1, sizeof(double));
    L2H_NOMEM_IF_NULL(superb);
    const lapack_int info =
        LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'S', 'S', (lapack_int)m, (lapack_int)n, a,
                       (lapack_int)n, s, u, (lapack_int)mn, vt, (lapack_int)n, superb);
    l2h_free(superb);
    L2H_FAIL_IF(info != 0, L2H_ERR_NUMERIC, "SVD failed (LAPACK info=%d)", (int)info);
    return L2H_OK;
}

#if defined(OPENBLAS_VERSION) || defined(OPENBLAS_CONFIG_H)
const char *l2h_blas_name(void)
{
    return openblas_get_config();
}
#else
const char *l2h_blas_name(void)
{
    return "CBLAS";
}
#endif
