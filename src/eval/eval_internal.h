/* eval_internal.h -- shared inside the eval module: the ground-truth handle, relevance of a block
 * of queries, and the exact squared Euclidean distance that defines "distance <= threshold".
 *
 * The Euclidean rule (docs/evaluation.md): a pair (q, x) is relevant iff
 *     sum_j ((double)q_j - (double)x_j)^2   (summed in double, j = 0 .. dim-1 in order)
 *   <= (double)thr * (double)thr.
 * The fast path computes ||q||^2 + ||x||^2 - 2 q.x with q.x from l2h_sgemm (float) and decides
 * directly only when the difference from thr^2 exceeds a rigorous bound on the rounding error of
 * that expression; otherwise it falls back to the exact sum. The decision therefore never depends
 * on BLAS, blocking or threads. */
#ifndef L2H_EVAL_INTERNAL_H
#define L2H_EVAL_INTERNAL_H

#include "core.h"
#include "l2h/eval.h"

typedef enum l2h_gt_kind {
    L2H_GT_SINGLE = 1,   /* same class id             */
    L2H_GT_MULTI = 2,    /* at least one shared label */
    L2H_GT_EUCLIDEAN = 3 /* distance <= threshold     */
} l2h_gt_kind;

struct l2h_groundtruth {
    l2h_gt_kind kind;
    size_t nq, n_db;
    /* SINGLE */
    int32_t *lq, *ldb; /* [nq], [n_db] */
    /* MULTI: label sets as bitsets of `words` 64-bit words per row */
    size_t words;
    uint64_t *mq, *mdb; /* [nq, words], [n_db, words] */
    size_t min_shared;  /* relevant iff at least this many shared labels (0 or 1: one) */
    /* EUCLIDEAN */
    size_t dim;
    float *xq, *xdb;    /* [nq, dim], [n_db, dim] */
    double *nq2, *ndb2; /* squared norms, exact in double order: [nq], [n_db] */
    double thr2;        /* (double)thr^2 */
    double gamma;       /* dim * u / (1 - dim * u), u = 2^-24; < 0 when unusable */
};

/* Queries q0 .. q0+nb-1: rel[nb, n_db] = 0/1. `dots` is scratch of nb * n_db floats for the
 * Euclidean kind (ignored otherwise, may be NULL). Parallel inside with OpenMP. */
/* Number of labels query q shares with every database item (SINGLE: 1 for the same class, else
 * 0; EUCLIDEAN: the 0/1 relevance). grade[n_db]; `dots` as for l2h_gt_relevance_block. */
void l2h_gt_grades(const l2h_groundtruth *gt, size_t q, uint16_t *grade, float *dots);

void l2h_gt_relevance_block(const l2h_groundtruth *gt, size_t q0, size_t nb, uint8_t *rel,
                            float *dots);

/* Exact squared distance as defined above. */
double l2h_sq_dist_exact(const float *a, const float *b, size_t dim);
/* Squared norm in double, summed in index order. */
double l2h_sq_norm_exact(const float *a, size_t dim);
/* gamma_dim for float dot products of length dim, or -1 if dim * 2^-24 >= 1/2. */
double l2h_dot_gamma(size_t dim);
/* Upper bound of | (na + nb - 2 * dot_float) - exact squared distance | for a pair with squared
 * norms na, nb (double, exact order) and a float dot product of length dim (gamma from above). */
double l2h_sq_dist_err_bound(double na, double nb, double gamma, size_t dim);

#endif
