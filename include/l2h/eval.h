/* l2h/eval.h -- evaluation protocols: reproducible splits, ground truth, retrieval metrics.
 *
 * Splits (l2h_split): "split 1" of the papers takes q_per_class queries and t_per_class training
 * items from every class and uses every non-query row as the database; "split 2" uses a given
 * test set as queries and everything else as training set and database; index lists may also be
 * given explicitly. All draws come from the seed.
 *
 * Ground truth: single-label = same label; multi-label = at least one shared label;
 * unsupervised = Euclidean distance <= a threshold, by default the 5th percentile of pairwise
 * distances among a sample of 2,000 training items (the MIHash LabelMe protocol).
 *
 * Ranking and metrics: database items are ranked by Hamming distance to the query; items at
 * equal distance keep database order (index order; this is what "mAP" reports). Tie-aware mAP is
 * the expectation of AP under a uniformly random order within each distance (order-free).
 * Everything is computed from the bits+1 distance buckets, O(n_db) per query, never a sort.
 * Queries with no relevant database item are excluded from the means by default
 * (empty_as_zero = 1 counts them as 0 instead); n_empty reports how many there were. */
#ifndef L2H_EVAL_H
#define L2H_EVAL_H

#include "l2h/io.h"
#include "l2h/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- splits ------------------------------------------------------------------------------- */
typedef struct l2h_split l2h_split;

/* Split 1: per class q_per_class queries and t_per_class training rows (training rows are drawn
 * from the non-query rows); database = all non-query rows (so it contains the training rows).
 * Single-label datasets only; L2H_ERR_ARG if a class has fewer than q + t rows. */
L2H_API L2H_NODISCARD l2h_status l2h_split_per_class(l2h_split **out, const l2h_dataset *ds,
                                                     size_t q_per_class, size_t t_per_class,
                                                     uint64_t seed);
/* Random split for any dataset: n_query queries, n_train training rows from the rest (0 = all
 * the rest), database = all non-query rows. */
L2H_API L2H_NODISCARD l2h_status l2h_split_random(l2h_split **out, size_t n, size_t n_query,
                                                  size_t n_train, uint64_t seed);
/* Split 2: rows [first_test, n) are the queries, rows [0, first_test) training and database. */
L2H_API L2H_NODISCARD l2h_status l2h_split_holdout(l2h_split **out, size_t n, size_t first_test);
/* Explicit row lists (copied); each row must be < n. */
L2H_API L2H_NODISCARD l2h_status l2h_split_from_lists(l2h_split **out, size_t n,
                                                      const size_t *query, size_t n_query,
                                                      const size_t *train, size_t n_train,
                                                      const size_t *db, size_t n_db);
L2H_API void l2h_split_free(l2h_split *s);
L2H_API size_t l2h_split_n_query(const l2h_split *s);
L2H_API size_t l2h_split_n_train(const l2h_split *s);
L2H_API size_t l2h_split_n_db(const l2h_split *s);
L2H_API const size_t *l2h_split_query(const l2h_split *s); /* sorted ascending */
L2H_API const size_t *l2h_split_train(const l2h_split *s);
L2H_API const size_t *l2h_split_db(const l2h_split *s);

/* ---- ground truth ------------------------------------------------------------------------- */
typedef struct l2h_groundtruth l2h_groundtruth;

/* Relevance from labels of queries and database (both SINGLE or both MULTI). Labels copied. */
L2H_API L2H_NODISCARD l2h_status l2h_groundtruth_from_labels(l2h_groundtruth **out,
                                                             const l2h_dataset *queries,
                                                             const l2h_dataset *db);
/* Relevance = Euclidean distance between features <= threshold. Features are copied. */
L2H_API L2H_NODISCARD l2h_status l2h_groundtruth_euclidean(l2h_groundtruth **out,
                                                           const l2h_dataset *queries,
                                                           const l2h_dataset *db, float threshold);
/* The percentile (0..100) of pairwise Euclidean distances among min(sample, n) rows of ds drawn
 * with the seed (pairs i < j). */
L2H_API L2H_NODISCARD l2h_status l2h_distance_percentile(const l2h_dataset *ds, size_t sample,
                                                         double percentile, uint64_t seed,
                                                         float *threshold);
/* rel[n_db] = 1 if database item i is relevant to query q, else 0. */
L2H_API L2H_NODISCARD l2h_status l2h_groundtruth_relevance(const l2h_groundtruth *gt, size_t q,
                                                           uint8_t *rel);
L2H_API size_t l2h_groundtruth_n_query(const l2h_groundtruth *gt);
L2H_API size_t l2h_groundtruth_n_db(const l2h_groundtruth *gt);
L2H_API void l2h_groundtruth_free(l2h_groundtruth *gt);

/* ---- metrics ------------------------------------------------------------------------------ */
typedef struct l2h_eval_params {
    size_t map_at_k;     /* mAP@k (AP normalised by relevant items within the top k); 0 = off */
    uint32_t radius;     /* precision/recall within Hamming radius (<= radius); default 2     */
    int empty_as_zero;   /* queries with no relevant item count as AP 0 instead of excluded  */
    /* precision@N / recall@N curve at caller-given cut-offs (may be 0 / NULL) */
    size_t n_cutoffs;
    const size_t *cutoffs;
    double *precision_at; /* [n_cutoffs] out, or NULL */
    double *recall_at;    /* [n_cutoffs] out, or NULL */
    /* precision-recall curve by Hamming radius r = 0..bits (bits+1 points each), or NULL */
    double *pr_precision;
    double *pr_recall;
} l2h_eval_params;

typedef struct l2h_eval_result {
    double map;          /* mean AP, ties in database order                                  */
    double map_tie;      /* mean tie-aware AP (expectation over random tie order)            */
    double map_at_k;     /* mean AP@k (if map_at_k > 0)                                      */
    double prec_radius;  /* mean precision within radius (0 for a query retrieving nothing)  */
    double recall_radius;/* mean recall within radius                                        */
    size_t n_queries;    /* queries averaged over                                            */
    size_t n_empty;      /* queries with no relevant database item                           */
} l2h_eval_result;

L2H_API l2h_eval_params l2h_eval_default_params(void);

/* Evaluates packed query codes q[nq, bytes] against database codes db[n_db, bytes] with the
 * ground truth gt (nq x n_db). Parallel over queries; deterministic. */
L2H_API L2H_NODISCARD l2h_status l2h_eval_codes(const uint8_t *q, size_t nq, const uint8_t *db,
                                                size_t n_db, size_t bits,
                                                const l2h_groundtruth *gt,
                                                const l2h_eval_params *p, l2h_eval_result *out);

#ifdef __cplusplus
}
#endif
#endif
