/* eval_graded.c -- graded-relevance metrics of Hamming ranking: NDCG@k, ACG@k and the weighted
 * mAP of the deep-hashing literature (definitions in l2h/eval.h and docs/evaluation.md).
 *
 * Per query (O(n_db + bits + max grade), no comparison sort):
 *   1. Hamming distance to every database code;
 *   2. grades (number of shared labels) from the ground truth;
 *   3. stable counting sort of the grades by distance -> ranked grades, ties in database order;
 *   4. one pass over the ranking gives DCG@k, ACG@k and the weighted AP; a histogram of the
 *      grades gives the ideal DCG@k (grades in decreasing order).
 * Queries run in parallel with per-thread scratch; per-query values are stored and summed in
 * query order, so the result does not depend on the thread count. */
#include "eval_internal.h"
#include "l2h/codes.h"

#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

typedef struct graded_ws {
    uint32_t *dist;   /* [n_db]            */
    uint16_t *grade;  /* [n_db]            */
    uint16_t *ranked; /* [n_db]            */
    float *dots;      /* [n_db] Euclidean  */
    size_t *off;      /* [bits + 2]        */
    size_t *ghist;    /* [65536] grade histogram */
} graded_ws;

typedef struct graded_q {
    double ndcg, acg, wap;
    int empty;
} graded_q;

static void ws_free(graded_ws *w)
{
    l2h_free(w->dist);
    l2h_free(w->grade);
    l2h_free(w->ranked);
    l2h_free(w->dots);
    l2h_free(w->off);
    l2h_free(w->ghist);
}

static l2h_status ws_alloc(graded_ws *w, size_t n_db, size_t bits, int euclid)
{
    w->dist = l2h_malloc_array(n_db, sizeof *w->dist);
    w->grade = l2h_malloc_array(n_db, sizeof *w->grade);
    w->ranked = l2h_malloc_array(n_db, sizeof *w->ranked);
    w->dots = euclid ? l2h_malloc_array(n_db, sizeof *w->dots) : NULL;
    w->off = l2h_malloc_array(bits + 2, sizeof *w->off);
    w->ghist = l2h_calloc(65536, sizeof *w->ghist);
    L2H_FAIL_IF(!w->dist || !w->grade || !w->ranked || (euclid && !w->dots) || !w->off ||
                    !w->ghist,
                L2H_ERR_NOMEM, "l2h_eval_graded: out of memory for %zu database items", n_db);
    return L2H_OK;
}

/* One query: w->dist and w->grade filled; disc[i] = 1 / log2(i + 2) for ranks i < k. */
static void graded_one(graded_ws *w, size_t n_db, size_t bits, size_t k, const double *disc,
                       graded_q *r)
{
    /* counting sort of the grades by distance, stable (database order within a distance) */
    memset(w->off, 0, (bits + 2) * sizeof *w->off);
    for (size_t i = 0; i < n_db; i++) w->off[w->dist[i] + 1]++;
    for (size_t d = 1; d <= bits + 1; d++) w->off[d] += w->off[d - 1];
    for (size_t i = 0; i < n_db; i++) w->ranked[w->off[w->dist[i]]++] = w->grade[i];

    double dcg = 0.0, acg_sum = 0.0, wap = 0.0, cum = 0.0;
    size_t npos = 0;
    uint16_t gmax = 0;
    for (size_t i = 0; i < n_db; i++) {
        const uint16_t g = w->ranked[i];
        cum += (double)g;
        if (i < k) {
            acg_sum += (double)g;
            if (g) dcg += (exp2((double)g) - 1.0) * disc[i];
        }
        if (g) {
            wap += cum / (double)(i + 1);
            npos++;
            w->ghist[g]++;
            if (g > gmax) gmax = g;
        }
    }
    memset(r, 0, sizeof *r);
    if (npos == 0) {
        r->empty = 1;
        return;
    }
    /* ideal DCG@k: the grades in decreasing order (zeros contribute nothing) */
    double idcg = 0.0;
    size_t pos = 0;
    for (size_t g = gmax; g >= 1 && pos < k; g--) {
        const double gain = exp2((double)g) - 1.0;
        for (size_t c = w->ghist[g]; c > 0 && pos < k; c--) idcg += gain * disc[pos++];
    }
    for (size_t g = 1; g <= gmax; g++) w->ghist[g] = 0;
    r->ndcg = idcg > 0.0 ? dcg / idcg : 0.0;
    r->acg = acg_sum / (double)k;
    r->wap = wap / (double)npos;
}

l2h_status l2h_eval_graded(const uint8_t *q, size_t nq, const uint8_t *db, size_t n_db,
                           size_t bits, const l2h_groundtruth *gt, size_t k, int empty_as_zero,
                           l2h_graded_result *out)
{
    L2H_FAIL_IF(q == NULL || db == NULL || gt == NULL || out == NULL, L2H_ERR_ARG,
                "l2h_eval_graded: NULL argument");
    L2H_FAIL_IF(bits == 0 || bits > L2H_MAX_BITS, L2H_ERR_ARG,
                "l2h_eval_graded: bits %zu outside 1..%d", bits, L2H_MAX_BITS);
    L2H_FAIL_IF(nq == 0 || n_db == 0, L2H_ERR_ARG,
                "l2h_eval_graded: %zu queries, %zu database codes (both must be > 0)", nq, n_db);
    L2H_FAIL_IF(l2h_groundtruth_n_query(gt) != nq || l2h_groundtruth_n_db(gt) != n_db,
                L2H_ERR_ARG,
                "l2h_eval_graded: ground truth is %zu x %zu, codes are %zu queries x %zu items",
                l2h_groundtruth_n_query(gt), l2h_groundtruth_n_db(gt), nq, n_db);
    L2H_FAIL_IF(k == 0, L2H_ERR_ARG, "l2h_eval_graded: k must be >= 1");
    const size_t kk = k < n_db ? k : n_db, bytes = l2h_code_bytes(bits);
    const int nti = l2h_threads() > 0 ? l2h_threads() : 1;
    const int euclid = gt->kind == L2H_GT_EUCLIDEAN;
    graded_ws *ws = l2h_calloc((size_t)nti, sizeof *ws);
    graded_q *res = l2h_malloc_array(nq, sizeof *res);
    double *disc = l2h_malloc_array(kk, sizeof *disc);
    l2h_status st = L2H_OK;
    if (!ws || !res || !disc) L2H_FAIL_GOTO(L2H_ERR_NOMEM, "l2h_eval_graded: out of memory");
    for (int t = 0; t < nti; t++) L2H_CHECK_GOTO(ws_alloc(&ws[t], n_db, bits, euclid));
    for (size_t i = 0; i < kk; i++) disc[i] = 1.0 / log2((double)i + 2.0);
    const long long nql = (long long)nq;
#pragma omp parallel num_threads(nti)
    {
#ifdef _OPENMP
        graded_ws *w = &ws[omp_get_thread_num()];
#else
        graded_ws *w = &ws[0];
#endif
#pragma omp for schedule(dynamic, 4)
        for (long long ql = 0; ql < nql; ql++) {
            const size_t qi = (size_t)ql;
            const uint8_t *cq = q + qi * bytes;
            for (size_t i = 0; i < n_db; i++) w->dist[i] = l2h_hamming(cq, db + i * bytes, bits);
            l2h_gt_grades(gt, qi, w->grade, w->dots);
            graded_one(w, n_db, bits, kk, disc, &res[qi]);
        }
    }
    double sn = 0.0, sa = 0.0, sw = 0.0;
    size_t n_empty = 0;
    for (size_t i = 0; i < nq; i++) {
        n_empty += (size_t)res[i].empty;
        sn += res[i].ndcg;
        sa += res[i].acg;
        sw += res[i].wap;
    }
    const size_t used = empty_as_zero ? nq : nq - n_empty;
    const double inv = used ? 1.0 / (double)used : 0.0;
    memset(out, 0, sizeof *out);
    out->ndcg_at_k = sn * inv;
    out->acg_at_k = sa * inv;
    out->map_weighted = sw * inv;
    out->k = kk;
    out->n_queries = used;
    out->n_empty = n_empty;
done:
    for (int t = 0; ws && t < nti; t++) ws_free(&ws[t]);
    l2h_free(ws);
    l2h_free(res);
    l2h_free(disc);
    return st;
}
