/* eval_truth.c -- ground truth: which database items are relevant to each query.
 *
 * Single labels: same class id. Multi-labels: at least one shared label, or at least m
 * (l2h_groundtruth_from_labels_min); label sets are stored as 64-bit bitsets, so a test is a few
 * ANDs and the graded relevance (number of shared labels, l2h_gt_grades) a few popcounts. Euclidean: exact squared distance <= thr^2 as
 * defined in eval_internal.h; blocks of queries get their dot products from one l2h_sgemm and
 * only near-threshold pairs are recomputed exactly. */
#include "eval_internal.h"
#include "linalg.h"

#include <float.h>
#include <math.h>
#include <string.h>

double l2h_sq_norm_exact(const float *a, size_t dim)
{
    double s = 0.0;
    for (size_t j = 0; j < dim; j++)
        s += (double)a[j] * (double)a[j];
    return s;
}

double l2h_sq_dist_exact(const float *a, const float *b, size_t dim)
{
    double s = 0.0;
    for (size_t j = 0; j < dim; j++) {
        const double d = (double)a[j] - (double)b[j];
        s += d * d;
    }
    return s;
}

double l2h_dot_gamma(size_t dim)
{
    const double ku = (double)dim * 0x1p-24;
    return ku <= 0.5 ? ku / (1.0 - ku) : -1.0;
}

/* fast = na + nb - 2 * fl(a.b). |fl(a.b) - a.b| <= gamma * sum|a_j b_j| <= gamma * |a| |b|
 * (Higham, Thm 3.5, any summation order, with or without FMA); the double-precision norms, the
 * two double additions and the exact reference sum itself add at most a few (dim + c) * 2^-53
 * relative to na + nb; denormal products add at most 2^-149 each. Slack factors on top. */
double l2h_sq_dist_err_bound(double na, double nb, double gamma, size_t dim)
{
    return 2.02 * gamma * sqrt(na * nb) + 4.0 * ((double)dim + 16.0) * DBL_EPSILON * (na + nb) +
           ((double)dim + 1.0) * 0x1p-140;
}

void l2h_groundtruth_free(l2h_groundtruth *gt)
{
    if (!gt) return;
    l2h_free(gt->lq);
    l2h_free(gt->ldb);
    l2h_free(gt->mq);
    l2h_free(gt->mdb);
    l2h_free(gt->xq);
    l2h_free(gt->xdb);
    l2h_free(gt->nq2);
    l2h_free(gt->ndb2);
    l2h_free(gt);
}

size_t l2h_groundtruth_n_query(const l2h_groundtruth *gt)
{
    return gt ? gt->nq : 0;
}

size_t l2h_groundtruth_n_db(const l2h_groundtruth *gt)
{
    return gt ? gt->n_db : 0;
}

static l2h_status copy_single(const l2h_dataset *ds, int32_t **out)
{
    const size_t n = l2h_dataset_n(ds);
    const int32_t *lab = l2h_dataset_labels(ds);
    L2H_FAIL_IF(lab == NULL && n > 0, L2H_ERR_ARG, "dataset has no single-label array");
    *out = l2h_malloc_array(n ? n : 1, sizeof **out);
    L2H_NOMEM_IF_NULL(*out);
    if (n) memcpy(*out, lab, n * sizeof **out);
    return L2H_OK;
}

static l2h_status copy_multi(const l2h_dataset *ds, size_t words, uint64_t **out)
{
    const size_t n = l2h_dataset_n(ds), L = l2h_dataset_n_labels(ds);
    const uint8_t *y = l2h_dataset_multilabels(ds); /* [n, L] */
    L2H_FAIL_IF(y == NULL && n > 0, L2H_ERR_ARG, "dataset has no multi-label matrix");
    size_t total;
    L2H_FAIL_IF(!l2h_mul_ok(n ? n : 1, words, &total), L2H_ERR_NOMEM, "label bitsets too large");
    *out = l2h_calloc(total, sizeof **out);
    L2H_NOMEM_IF_NULL(*out);
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < L; c++)
            if (y[i * L + c]) (*out)[i * words + c / 64] |= (uint64_t)1 << (c % 64);
    return L2H_OK;
}

static l2h_status new_gt(l2h_groundtruth **gt, l2h_gt_kind kind, size_t nq, size_t n_db)
{
    *gt = l2h_calloc(1, sizeof **gt);
    L2H_NOMEM_IF_NULL(*gt);
    (*gt)->kind = kind;
    (*gt)->nq = nq;
    (*gt)->n_db = n_db;
    return L2H_OK;
}

l2h_status l2h_groundtruth_from_labels(l2h_groundtruth **out, const l2h_dataset *queries,
                                       const l2h_dataset *db)
{
    L2H_FAIL_IF(out == NULL, L2H_ERR_ARG, "groundtruth: out is NULL");
    *out = NULL;
    L2H_FAIL_IF(queries == NULL || db == NULL, L2H_ERR_ARG, "groundtruth: dataset is NULL");
    const l2h_label_kind kq = l2h_dataset_label_kind(queries), kd = l2h_dataset_label_kind(db);
    L2H_FAIL_IF(kq == L2H_LABELS_NONE || kd == L2H_LABELS_NONE, L2H_ERR_ARG,
                "groundtruth from labels: the %s have no labels",
                kq ? "database items" : "queries");
    L2H_FAIL_IF(kq != kd, L2H_ERR_ARG,
                "groundtruth from labels: queries are %s-label but the database is %s-label",
                kq == L2H_LABELS_SINGLE ? "single" : "multi",
                kd == L2H_LABELS_SINGLE ? "single" : "multi");
    const size_t nq = l2h_dataset_n(queries), n_db = l2h_dataset_n(db);
    L2H_FAIL_IF(nq == 0 || n_db == 0, L2H_ERR_ARG,
                "groundtruth: %zu queries and %zu database items (both must be > 0)", nq, n_db);
    l2h_groundtruth *gt = NULL;
    l2h_status st;
    if (kq == L2H_LABELS_SINGLE) {
        L2H_CHECK_GOTO(new_gt(&gt, L2H_GT_SINGLE, nq, n_db));
        L2H_CHECK_GOTO(copy_single(queries, &gt->lq));
        L2H_CHECK_GOTO(copy_single(db, &gt->ldb));
    } else {
        const size_t L = l2h_dataset_n_labels(queries);
        if (L != l2h_dataset_n_labels(db))
            L2H_FAIL_GOTO(L2H_ERR_ARG,
                          "groundtruth from labels: queries have %zu label columns, the "
                          "database %zu",
                          L, l2h_dataset_n_labels(db));
        L2H_CHECK_GOTO(new_gt(&gt, L2H_GT_MULTI, nq, n_db));
        gt->words = L / 64 + (L % 64 != 0);
        if (gt->words == 0) gt->words = 1;
        L2H_CHECK_GOTO(copy_multi(queries, gt->words, &gt->mq));
        L2H_CHECK_GOTO(copy_multi(db, gt->words, &gt->mdb));
    }
    *out = gt;
    return L2H_OK;
done:
    l2h_groundtruth_free(gt);
    return st;
}

static l2h_status copy_features(const l2h_dataset *ds, const char *what, float **x, double **n2)
{
    const size_t n = l2h_dataset_n(ds), dim = l2h_dataset_dim(ds);
    const float *src = l2h_dataset_features(ds); /* [n, dim] */
    size_t total;
    L2H_FAIL_IF(!l2h_mul_ok(n, dim, &total), L2H_ERR_NOMEM, "%s features too large", what);
    for (size_t i = 0; i < total; i++)
        L2H_FAIL_IF(!isfinite(src[i]), L2H_ERR_NUMERIC,
                    "groundtruth: %s row %zu feature %zu is not finite", what, i / dim, i % dim);
    *x = l2h_malloc_array(total, sizeof **x);
    L2H_NOMEM_IF_NULL(*x);
    memcpy(*x, src, total * sizeof **x);
    *n2 = l2h_malloc_array(n, sizeof **n2);
    L2H_NOMEM_IF_NULL(*n2);
    for (size_t i = 0; i < n; i++)
        (*n2)[i] = l2h_sq_norm_exact(*x + i * dim, dim);
    return L2H_OK;
}

l2h_status l2h_groundtruth_euclidean(l2h_groundtruth **out, const l2h_dataset *queries,
                                     const l2h_dataset *db, float threshold)
{
    L2H_FAIL_IF(out == NULL, L2H_ERR_ARG, "groundtruth: out is NULL");
    *out = NULL;
    L2H_FAIL_IF(queries == NULL || db == NULL, L2H_ERR_ARG, "groundtruth: dataset is NULL");
    L2H_FAIL_IF(!(threshold >= 0.0f) || isinf(threshold), L2H_ERR_ARG,
                "groundtruth: Euclidean threshold %g must be finite and >= 0", (double)threshold);
    const size_t nq = l2h_dataset_n(queries), n_db = l2h_dataset_n(db);
    const size_t dim = l2h_dataset_dim(queries);
    L2H_FAIL_IF(nq == 0 || n_db == 0, L2H_ERR_ARG,
                "groundtruth: %zu queries and %zu database items (both must be > 0)", nq, n_db);
    L2H_FAIL_IF(dim == 0 || dim != l2h_dataset_dim(db), L2H_ERR_ARG,
                "groundtruth: queries have %zu features, the database %zu (equal and > 0 needed)",
                dim, l2h_dataset_dim(db));
    l2h_groundtruth *gt = NULL;
    l2h_status st;
    L2H_CHECK_GOTO(new_gt(&gt, L2H_GT_EUCLIDEAN, nq, n_db));
    gt->dim = dim;
    gt->thr2 = (double)threshold * (double)threshold; /* exact: 24-bit mantissa squared */
    gt->gamma = l2h_dot_gamma(dim);
    L2H_CHECK_GOTO(copy_features(queries, "query", &gt->xq, &gt->nq2));
    L2H_CHECK_GOTO(copy_features(db, "database", &gt->xdb, &gt->ndb2));
    *out = gt;
    return L2H_OK;
done:
    l2h_groundtruth_free(gt);
    return st;
}

static void relevance_single(const l2h_groundtruth *gt, size_t q, uint8_t *rel)
{
    const int32_t c = gt->lq[q];
    for (size_t i = 0; i < gt->n_db; i++)
        rel[i] = (uint8_t)(gt->ldb[i] == c);
}

static void relevance_multi(const l2h_groundtruth *gt, size_t q, uint8_t *rel)
{
    const size_t W = gt->words;
    const uint64_t *a = gt->mq + q * W;
    for (size_t i = 0; i < gt->n_db; i++) {
        const uint64_t *b = gt->mdb + i * W;
        if (gt->min_shared > 1) { /* "shares at least m labels" */
            size_t shared = 0;
            for (size_t w = 0; w < W; w++)
                shared += (size_t)__builtin_popcountll(a[w] & b[w]);
            rel[i] = (uint8_t)(shared >= gt->min_shared);
            continue;
        }
        uint64_t any = 0;
        for (size_t w = 0; w < W; w++)
            any |= a[w] & b[w];
        rel[i] = (uint8_t)(any != 0);
    }
}

void l2h_gt_grades(const l2h_groundtruth *gt, size_t q, uint16_t *grade, float *dots)
{
    if (gt->kind == L2H_GT_MULTI) {
        const size_t W = gt->words;
        const uint64_t *a = gt->mq + q * W;
        for (size_t i = 0; i < gt->n_db; i++) {
            const uint64_t *b = gt->mdb + i * W;
            unsigned shared = 0;
            for (size_t w = 0; w < W; w++)
                shared += (unsigned)__builtin_popcountll(a[w] & b[w]);
            grade[i] = (uint16_t)shared;
        }
        return;
    }
    /* 0/1 kinds: the relevance row, written into the low bytes of grade and widened in place
     * from the end (grade[i] is written after every byte it could overwrite was read) */
    uint8_t *rel = (uint8_t *)grade;
    l2h_gt_relevance_block(gt, q, 1, rel, dots);
    for (size_t i = gt->n_db; i-- > 0;)
        grade[i] = rel[i];
}

/* rel[i] for query q given dot[i] = fl(x_q . x_i) from sgemm. */
static void relevance_euclid_row(const l2h_groundtruth *gt, size_t q, const float *dot,
                                 uint8_t *rel)
{
    const double na = gt->nq2[q], thr2 = gt->thr2;
    const float *xq = gt->xq + q * gt->dim;
    for (size_t i = 0; i < gt->n_db; i++) {
        const double nb = gt->ndb2[i];
        const double fast = na + nb - 2.0 * (double)dot[i];
        int r;
        if (gt->gamma >= 0.0 && isfinite(fast)) {
            const double e = l2h_sq_dist_err_bound(na, nb, gt->gamma, gt->dim);
            if (fast < thr2 - e)
                r = 1;
            else if (fast > thr2 + e)
                r = 0;
            else
                r = l2h_sq_dist_exact(xq, gt->xdb + i * gt->dim, gt->dim) <= thr2;
        } else {
            r = l2h_sq_dist_exact(xq, gt->xdb + i * gt->dim, gt->dim) <= thr2;
        }
        rel[i] = (uint8_t)r;
    }
}

void l2h_gt_relevance_block(const l2h_groundtruth *gt, size_t q0, size_t nb, uint8_t *rel,
                            float *dots)
{
    const size_t n_db = gt->n_db;
    if (gt->kind == L2H_GT_EUCLIDEAN) {
        const size_t dim = gt->dim;
        /* dots[nb, n_db] = Xq[q0 : q0+nb] · Xdbᵀ */
        l2h_sgemm(false, true, nb, n_db, dim, 1.0f, gt->xq + q0 * dim, dim, gt->xdb, dim, 0.0f,
                  dots, n_db);
    }
    const long long nbl = (long long)nb;
#pragma omp parallel for schedule(dynamic, 1) num_threads(l2h_threads())
    for (long long b = 0; b < nbl; b++) {
        const size_t q = q0 + (size_t)b;
        uint8_t *r = rel + (size_t)b * n_db;
        switch (gt->kind) {
        case L2H_GT_SINGLE:
            relevance_single(gt, q, r);
            break;
        case L2H_GT_MULTI:
            relevance_multi(gt, q, r);
            break;
        case L2H_GT_EUCLIDEAN:
            relevance_euclid_row(gt, q, dots + (size_t)b * n_db, r);
            break;
        }
    }
}

l2h_status l2h_groundtruth_from_labels_min(l2h_groundtruth **out, const l2h_dataset *queries,
                                           const l2h_dataset *db, size_t min_shared)
{
    L2H_FAIL_IF(out == NULL, L2H_ERR_ARG, "groundtruth: out is NULL");
    *out = NULL;
    L2H_FAIL_IF(min_shared < 1 || min_shared > 65535, L2H_ERR_ARG,
                "groundtruth: at least %zu shared labels (must be 1..65535)", min_shared);
    L2H_FAIL_IF(min_shared > 1 && queries != NULL &&
                    l2h_dataset_label_kind(queries) != L2H_LABELS_MULTI,
                L2H_ERR_ARG,
                "groundtruth: 'at least %zu shared labels' needs multi-label rows (single-label "
                "items share at most one)",
                min_shared);
    l2h_groundtruth *gt = NULL;
    L2H_TRY(l2h_groundtruth_from_labels(&gt, queries, db));
    gt->min_shared = min_shared;
    *out = gt;
    return L2H_OK;
}

l2h_status l2h_groundtruth_grades(const l2h_groundtruth *gt, size_t q, uint16_t *grade)
{
    L2H_FAIL_IF(gt == NULL || grade == NULL, L2H_ERR_ARG, "groundtruth_grades: NULL argument");
    L2H_FAIL_IF(q >= gt->nq, L2H_ERR_ARG, "groundtruth_grades: query %zu out of range (%zu)", q,
                gt->nq);
    float *dots = NULL;
    if (gt->kind == L2H_GT_EUCLIDEAN) {
        dots = l2h_malloc_array(gt->n_db, sizeof *dots);
        L2H_NOMEM_IF_NULL(dots);
    }
    l2h_gt_grades(gt, q, grade, dots);
    l2h_free(dots);
    return L2H_OK;
}

l2h_status l2h_groundtruth_relevance(const l2h_groundtruth *gt, size_t q, uint8_t *rel)
{
    L2H_FAIL_IF(gt == NULL || rel == NULL, L2H_ERR_ARG, "groundtruth_relevance: NULL argument");
    L2H_FAIL_IF(q >= gt->nq, L2H_ERR_ARG, "groundtruth_relevance: query %zu out of range (%zu)", q,
                gt->nq);
    float *dots = NULL;
    if (gt->kind == L2H_GT_EUCLIDEAN) {
        dots = l2h_malloc_array(gt->n_db, sizeof *dots);
        L2H_NOMEM_IF_NULL(dots);
    }
    l2h_gt_relevance_block(gt, q, 1, rel, dots);
    l2h_free(dots);
    return L2H_OK;
}
