/* SPDX-License-Identifier: MIT (see LICENSE) */
/* l2h/eval.h -- evaluation protocols: reproducible splits, ground truth, retrieval metrics.
 * Exact definitions of everything here: docs/evaluation.md.
 *
 * Splits (l2h_split): "split 1" of the papers takes q_per_class queries and t_per_class training
 * items from every class and uses every non-query row as the database; "split 2" uses a given
 * test set as queries and everything else as training set and database; index lists may also be
 * given explicitly. All draws come from the seed: the same seed gives the same split on every
 * platform and thread count. Row lists are sorted ascending.
 *
 * Ground truth: single-label = same label; multi-label = at least one shared label (or at least
 * m: l2h_groundtruth_from_labels_min; graded: the number of shared labels, l2h_eval_graded);
 * unsupervised = Euclidean distance <= a threshold, by default the 5th percentile of pairwise
 * distances among a sample of 2,000 training items (the MIHash LabelMe protocol).
 *
 * Ranking and metrics: database items are ranked by Hamming distance to the query; items at
 * equal distance keep database order (index order; this is what "mAP" reports). Tie-aware mAP is
 * the expectation of AP under a uniformly random order within each distance (order-free).
 * Everything is computed from the bits+1 distance buckets, O(n_db) per query, never a sort.
 * Queries with no relevant database item are excluded from every mean by default
 * (empty_as_zero = 1 counts them instead, with 0 for every metric); n_empty reports how many
 * there were.
 *
 * Errors: L2H_ERR_ARG for NULL or inconsistent arguments (message says which), L2H_ERR_NOMEM,
 * L2H_ERR_NUMERIC for non-finite features. Outputs are untouched on failure, constructors set
 * *out = NULL. Thread safety: handles are immutable after creation; const functions may run
 * concurrently. Evaluation and ground truth use l2h_threads() OpenMP threads and give
 * bit-identical results for any thread count. */
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
 * Draw: one l2h_rng seeded with `seed`; for class ids in increasing order, the class's rows (in
 * row order) are Fisher-Yates shuffled; the first q are queries, the next t training rows.
 * Class ids without rows are skipped. Single-label datasets only; q_per_class >= 1;
 * L2H_ERR_ARG naming the class if a class has fewer than q + t rows. */
L2H_API L2H_NODISCARD l2h_status l2h_split_per_class(l2h_split **out, const l2h_dataset *ds,
                                                     size_t q_per_class, size_t t_per_class,
                                                     uint64_t seed);
/* Random split for any dataset: n_query queries, n_train training rows from the rest (0 = all
 * the rest), database = all non-query rows. Draw: rows 0..n-1 shuffled once with the seed; the
 * first n_query are queries, the next n_train training rows. 1 <= n_query < n. */
L2H_API L2H_NODISCARD l2h_status l2h_split_random(l2h_split **out, size_t n, size_t n_query,
                                                  size_t n_train, uint64_t seed);
/* Split 2: rows [first_test, n) are the queries, rows [0, first_test) training and database.
 * 0 < first_test < n. */
L2H_API L2H_NODISCARD l2h_status l2h_split_holdout(l2h_split **out, size_t n, size_t first_test);
/* Explicit row lists (copied, then sorted); each row must be < n and appear once per list
 * (L2H_ERR_ARG naming the row otherwise). Lists may overlap each other (e.g. queries inside the
 * database). query and db must be non-empty; train may be empty (NULL with n_train = 0). */
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

/* Relevance from labels of queries and database (both SINGLE, or both MULTI with the same
 * number of label columns): same class id / at least one shared label. Labels copied. */
L2H_API L2H_NODISCARD l2h_status l2h_groundtruth_from_labels(l2h_groundtruth **out,
                                                             const l2h_dataset *queries,
                                                             const l2h_dataset *db);
/* Relevance = Euclidean distance between features <= threshold, decided exactly as
 *   sum_j ((double)q_j - (double)x_j)^2 (in double, j in order) <= (double)threshold^2
 * (a BLAS fast path is used only where it provably gives the same answer). Features are copied
 * (n * dim floats each); non-finite features give L2H_ERR_NUMERIC. threshold >= 0, finite. */
L2H_API L2H_NODISCARD l2h_status l2h_groundtruth_euclidean(l2h_groundtruth **out,
                                                           const l2h_dataset *queries,
                                                           const l2h_dataset *db, float threshold);
/* The percentile (0..100) of pairwise Euclidean distances among m = min(sample, n) rows of ds
 * (all rows if sample >= n, else the first m of a shuffle of 0..n-1 with the seed), pairs i < j.
 * Of the M = m(m-1)/2 distances sorted ascending, the one at 0-based rank ceil(p M / 100) - 1
 * (0 if negative); exact order statistic of the exact distances above. *threshold is the
 * smallest float t with t^2 >= that squared distance, so the pair at the percentile counts as a
 * neighbour in l2h_groundtruth_euclidean. Needs n >= 2, sample >= 2; memory ~ 16 M bytes. */
L2H_API L2H_NODISCARD l2h_status l2h_distance_percentile(const l2h_dataset *ds, size_t sample,
                                                         double percentile, uint64_t seed,
                                                         float *threshold);
/* Relevance "shares at least min_shared labels" (docs/evaluation.md §graded): as
 * l2h_groundtruth_from_labels, which is min_shared = 1. min_shared in 1..65535; > 1 needs
 * multi-label rows (L2H_ERR_ARG otherwise). Every metric of l2h_eval_codes then uses this rule. */
L2H_API L2H_NODISCARD l2h_status l2h_groundtruth_from_labels_min(l2h_groundtruth **out,
                                                                 const l2h_dataset *queries,
                                                                 const l2h_dataset *db,
                                                                 size_t min_shared);
/* Graded relevance: grade[n_db] = number of labels query q shares with database item i
 * (multi-label ground truth, whatever its min_shared); single-label and Euclidean ground truth
 * give their 0/1 relevance. q < n_query. */
L2H_API L2H_NODISCARD l2h_status l2h_groundtruth_grades(const l2h_groundtruth *gt, size_t q,
                                                        uint16_t *grade);
/* rel[n_db] = 1 if database item i is relevant to query q, else 0. q < n_query. */
L2H_API L2H_NODISCARD l2h_status l2h_groundtruth_relevance(const l2h_groundtruth *gt, size_t q,
                                                           uint8_t *rel);
L2H_API size_t l2h_groundtruth_n_query(const l2h_groundtruth *gt);
L2H_API size_t l2h_groundtruth_n_db(const l2h_groundtruth *gt);
L2H_API void l2h_groundtruth_free(l2h_groundtruth *gt);

/* ---- metrics ------------------------------------------------------------------------------ */
typedef struct l2h_eval_params {
    size_t map_at_k;   /* mAP@k (AP over the top min(k, n_db) in database tie order,
                        * normalised by the relevant items within them; 0 there); 0 = off  */
    uint32_t radius;   /* precision/recall within Hamming radius (<= radius); default 2     */
    int empty_as_zero; /* queries with no relevant item count as 0 instead of excluded     */
    /* precision@N / recall@N at caller-given cut-offs N >= 1 (may be 0 / NULL); N > n_db is
     * clamped to n_db. Ranking in database tie order. */
    size_t n_cutoffs;
    const size_t *cutoffs;
    double *precision_at; /* [n_cutoffs] out, or NULL */
    double *recall_at;    /* [n_cutoffs] out, or NULL */
    /* precision-recall curve by Hamming radius r = 0..bits (bits+1 points each), or NULL;
     * precision is 0 for a query retrieving nothing at that radius */
    double *pr_precision;
    double *pr_recall;
} l2h_eval_params;

typedef struct l2h_eval_result {
    double map;           /* mean AP, ties in database order                                  */
    double map_tie;       /* mean tie-aware AP (expectation over random tie order)            */
    double map_at_k;      /* mean AP@k (if map_at_k > 0)                                      */
    double prec_radius;   /* mean precision within radius (0 for a query retrieving nothing)  */
    double recall_radius; /* mean recall within radius                                        */
    size_t n_queries;     /* queries averaged over                                            */
    size_t n_empty;       /* queries with no relevant database item                           */
    size_t n_zero_at_k;   /* averaged queries with relevant items but none in the top k (their
                           * AP@k is 0; thuml's PyTorch evaluator drops them instead:
                           * map_at_k * n_queries / (n_queries - n_zero_at_k) gives that) */
} l2h_eval_result;

L2H_API l2h_eval_params l2h_eval_default_params(void);

/* Evaluates packed query codes q[nq, l2h_code_bytes(bits)] against database codes
 * db[n_db, l2h_code_bytes(bits)] with the ground truth gt (nq x n_db); bits in 1..L2H_MAX_BITS,
 * bits beyond `bits` in the last byte are ignored. p: l2h_eval_default_params() or adjusted; its
 * output arrays are filled. All means are over out->n_queries queries (0 if there are none).
 * Memory: padded copies of the codes, 8 n_db bytes, 5 n_db per thread, and a block of
 * max(128, 8 threads) relevance rows (1 byte per item; 5 with Euclidean ground truth). Parallel
 * over queries; deterministic. */
L2H_API L2H_NODISCARD l2h_status l2h_eval_codes(const uint8_t *q, size_t nq, const uint8_t *db,
                                                size_t n_db, size_t bits, const l2h_groundtruth *gt,
                                                const l2h_eval_params *p, l2h_eval_result *out);

/* ---- graded metrics (docs/evaluation.md, "Graded relevance") -------------------------------
 * With r_i = the grade (l2h_groundtruth_grades) of the item at rank i = 1..n_db of the Hamming
 * ranking (ties in database order, as "mAP"):
 *   ACG@k  = (1/k) sum_{i<=k} r_i                                  (k clamped to n_db)
 *   NDCG@k = DCG@k / IDCG@k, DCG@k = sum_{i<=k} (2^r_i - 1) / log2(i + 1), IDCG@k the DCG@k of
 *            the grades sorted in decreasing order (the best possible ranking)
 *   weighted AP = (1 / #{i : r_i > 0}) sum_{i : r_i > 0} ACG@i     (over the whole ranking)
 * (Zhao et al., "Deep semantic ranking based hashing", CVPR 2015; with 0/1 grades weighted AP is
 * AP and ACG@k is precision@k; ACG and weighted AP count labels and can exceed 1). A query whose every grade is 0 is "empty": excluded from the
 * means, or counted as 0 with empty_as_zero. */
typedef struct l2h_graded_result {
    double ndcg_at_k;  /* mean NDCG@k                     */
    double acg_at_k;   /* mean ACG@k                      */
    double map_weighted; /* mean weighted AP              */
    size_t k;          /* the cut-off used (min(k, n_db)) */
    size_t n_queries;  /* queries averaged over           */
    size_t n_empty;    /* queries with every grade 0      */
} l2h_graded_result;

/* Codes and ground truth as for l2h_eval_codes; k >= 1. Parallel over queries, deterministic
 * (per-query values summed in query order). Memory per thread: 10 n_db bytes (14 with
 * Euclidean ground truth) and a 512 KiB grade histogram. */
L2H_API L2H_NODISCARD l2h_status l2h_eval_graded(const uint8_t *q, size_t nq, const uint8_t *db,
                                                 size_t n_db, size_t bits,
                                                 const l2h_groundtruth *gt, size_t k,
                                                 int empty_as_zero, l2h_graded_result *out);

#ifdef __cplusplus
}
#endif
#endif
