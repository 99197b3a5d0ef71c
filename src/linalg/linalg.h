/* linalg.h -- dense linear algebra for the library. blas.c is the only file that includes
 * <cblas.h> or <lapacke.h>; ref_gemm.c is a plain-loop oracle the tests compare against.
 * All matrices are row-major. */
#ifndef L2H_LINALG_H
#define L2H_LINALG_H

#include "core.h"

#include <stdbool.h>

/* C[m,n] = alpha * op(A) * op(B) + beta * C, op(X) = X or Xᵀ (trans_x true).
 * lda/ldb/ldc are row strides of A, B, C as stored. */
void l2h_sgemm(bool trans_a, bool trans_b, size_t m, size_t n, size_t k, float alpha,
               const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c,
               size_t ldc);
void l2h_dgemm(bool trans_a, bool trans_b, size_t m, size_t n, size_t k, double alpha,
               const double *a, size_t lda, const double *b, size_t ldb, double beta, double *c,
               size_t ldc);
/* The same contract with plain loops (test oracle and fallback). */
void l2h_ref_sgemm(bool trans_a, bool trans_b, size_t m, size_t n, size_t k, float alpha,
                   const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c,
                   size_t ldc);

/* Symmetric eigendecomposition of a[n,n] (double, overwritten by eigenvectors as columns,
 * eigenvalues ascending in w[n]). */
l2h_status l2h_dsyev(size_t n, double *a, double *w);
/* Thin SVD of a[m,n] (overwritten): u[m,min], s[min], vt[min,n]. */
l2h_status l2h_dgesvd(size_t m, size_t n, double *a, double *u, double *s, double *vt);

/* Name of the BLAS library in use (from openblas_get_config when available). */
const char *l2h_blas_name(void);

#endif
