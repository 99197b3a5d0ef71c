/* eval_metrics.c -- retrieval metrics of Hamming ranking, from the bits+1 distance buckets.
 *
 * Per query (O(n_db + bits), no comparison sort):
 *   1. distances to every database code (dispatched kernel on zero-padded 64-bit words);
 *   2. relevance row from the ground truth (computed for a block of queries at a time);
 *   3. counting pass: cnt[d] items and rel[d] relevant items at distance d;
 *   4. stable counting sort of the relevance bits into ranked[pos], pos = rank in the order
 *      (distance, database position) -- "ties in database order";
 *   5. one pass over ranked[] gives AP, AP@k, hits@N for every cut-off; the buckets give the
 *      tie-aware AP (closed form, docs/evaluation.md), precision/recall within the radius and
 *      the PR curve by radius.
 * Queries run in parallel (OpenMP, per-thread buffers); per-query results of a block are stored
 * and summed serially in query order, so the result does not depend on the thread count. */
#include "eval_internal.h"
#include "hamming_internal.h"

#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

l2h_eval_params l2h_eval_default_params(void)
{
    l2h_eval_params p;
    memset(&p, 0, sizeof p);
    p.radius = 2;
    return p;
}

/* What every query needs and nobody writes. */
typedef struct eval_ctx {
    size_t n_db, bits, nc;
    size_t kk; /* min(map_at_k, n_db); 0 = off            */
    uint32_t radius;
    const size_t *cv;    /* [nc] cut-offs clamped to n_db           */
    const size_t *order; /* [nc] indices of cv in ascending order   */
    const double *inv;   /* [n_db] inv[i] = 1 / (i + 1)             */
} eval_ctx;

/* Per-query results (one slot of the current block). */
typedef struct query_res {
    double ap, ap_tie, ap_k, prec_r, rec_r;
    size_t n_rel; /* relevant database items */
    int empty, zero_at_k;
} query_res;

/* Per-thread scratch. */
typedef struct eval_ws {
    int32_t *dist;   /* [n_db]   */
    uint8_t *ranked; /* [n_db]   */
    size_t *cnt;     /* [bits+1] */
    size_t *rel;     /* [bits+1] */
    size_t *off;     /* [bits+1] */
} eval_ws;

/* Tie-aware AP numerator: sum over levels of the expected sum of precisions at the relevant
 * items when each level is in uniformly random order (docs/evaluation.md for the derivation). */
static double tie_ap_sum(const eval_ctx *c, const eval_ws *w)
{
    double total = 0.0;
    size_t P = 0;
    for (size_t d = 0; d <= c->bits; d++) {
        const size_t n = w->cnt[d], p = w->rel[d];
        if (p == 0) continue;
        const size_t N = w->off[d] - n; /* items before the level (off is now the level's end) */
        const double a = (double)P + 1.0;
        if (n == 1) {
            total += a * c->inv[N];
        } else {
            const double b = (double)(p - 1) / (double)(n - 1);
            double s = 0.0;
            for (size_t k = 0; k < n; k++)
                s += (a + (double)k * b) * c->inv[N + k];
            total += (double)p * s / (double)n;
        }
        P += p;
    }
    return total;
}

/* One pass over the ranked relevance bits: AP sum, AP@k, hits at every cut-off. */
static void ranked_pass(const eval_ctx *c, const eval_ws *w, size_t R, query_res *r,
                        size_t *hits_at)
{
    size_t hits = 0, next = 0, hits_k = 0;
    double s = 0.0, s_k = 0.0;
    int done_k = c->kk == 0;
    for (size_t pos = 0; pos < c->n_db; pos++) {
        if (w->ranked[pos]) {
            hits++;
            s += (double)hits * c->inv[pos];
        }
        if (pos + 1 == c->kk) {
            s_k = s;
            hits_k = hits;
            done_k = 1;
        }
        while (next < c->nc && c->cv[c->order[next]] == pos + 1)
            hits_at[c->order[next++]] = hits;
        if (hits == R) break; /* every later prefix has the same hits and AP sum */
    }
    if (!done_k) {
        s_k = s;
        hits_k = hits;
    }
    while (next < c->nc)
        hits_at[c->order[next++]] = hits;
    r->ap = s / (double)R;
    r->ap_k = hits_k ? s_k / (double)hits_k : 0.0;
    r->zero_at_k = c->kk > 0 && hits_k == 0;
}

/* Metrics of one query from its distances w->dist and relevance row rel[n_db]. Writes r, the
 * hits within each cut-off hits_at[nc] and the PR-curve points pr_p/pr_r[bits+1] (may be NULL). */
static void eval_one(const eval_ctx *c, eval_ws *w, const uint8_t *rel, query_res *r,
                     size_t *hits_at, double *pr_p, double *pr_r)
{
    const size_t L = c->bits + 1, n_db = c->n_db;
    memset(w->cnt, 0, L * sizeof *w->cnt);
    memset(w->rel, 0, L * sizeof *w->rel);
    for (size_t i = 0; i < n_db; i++) {
        const size_t d = (size_t)w->dist[i];
        w->cnt[d]++;
        w->rel[d] += rel[i];
    }
    size_t R = 0;
    for (size_t d = 0; d < L; d++)
        R += w->rel[d];
    memset(r, 0, sizeof *r);
    r->n_rel = R;
    if (R == 0) {
        r->empty = 1;
        memset(hits_at, 0, c->nc * sizeof *hits_at);
        if (pr_p) memset(pr_p, 0, L * sizeof *pr_p);
        if (pr_r) memset(pr_r, 0, L * sizeof *pr_r);
        return;
    }
    /* stable counting sort: ranked[pos] for pos in the order (distance, database position) */
    for (size_t d = 0, acc = 0; d < L; d++) {
        w->off[d] = acc;
        acc += w->cnt[d];
    }
    for (size_t i = 0; i < n_db; i++)
        w->ranked[w->off[w->dist[i]]++] = rel[i];
    ranked_pass(c, w, R, r, hits_at);
    r->ap_tie = tie_ap_sum(c, w) / (double)R;

    size_t got = 0, hits = 0;
    for (size_t d = 0; d < L; d++) {
        got += w->cnt[d];
        hits += w->rel[d];
        const double p = got ? (double)hits / (double)got : 0.0, rc = (double)hits / (double)R;
        if (d == c->radius || (d == L - 1 && c->radius >= L)) {
            r->prec_r = p;
            r->rec_r = rc;
        }
        if (pr_p) pr_p[d] = p;
        if (pr_r) pr_r[d] = rc;
    }
}

static l2h_status check_params(const uint8_t *q, size_t nq, const uint8_t *db, size_t n_db,
                               size_t bits, const l2h_groundtruth *gt, const l2h_eval_params *p,
                               const l2h_eval_result *out)
{
    L2H_FAIL_IF(q == NULL || db == NULL || gt == NULL || p == NULL || out == NULL, L2H_ERR_ARG,
                "eval: NULL argument");
    L2H_FAIL_IF(bits == 0 || bits > L2H_MAX_BITS, L2H_ERR_ARG, "eval: bits = %zu not in 1..%d",
                bits, L2H_MAX_BITS);
    L2H_FAIL_IF(nq == 0 || n_db == 0, L2H_ERR_ARG, "eval: %zu queries, %zu database items", nq,
                n_db);
    L2H_FAIL_IF(nq != gt->nq || n_db != gt->n_db, L2H_ERR_ARG,
                "eval: %zu queries x %zu database items, ground truth is %zu x %zu", nq, n_db,
                gt->nq, gt->n_db);
    L2H_FAIL_IF(n_db > (size_t)INT32_MAX, L2H_ERR_ARG, "eval: database of %zu items too large",
                n_db);
    L2H_FAIL_IF(p->n_cutoffs > 0 && p->cutoffs == NULL, L2H_ERR_ARG,
                "eval: %zu cut-offs but cutoffs is NULL", p->n_cutoffs);
    for (size_t j = 0; j < p->n_cutoffs; j++)
        L2H_FAIL_IF(p->cutoffs[j] == 0, L2H_ERR_ARG, "eval: cut-off %zu is 0", j);
    return L2H_OK;
}

/* All allocations of one evaluation. */
typedef struct eval_mem {
    uint64_t *qpad, *dbpad; /* [nq, W], [n_db, W]          */
    double *inv;            /* [n_db]                      */
    size_t *cv, *order;     /* [nc]                        */
    uint8_t *relblk;        /* [B, n_db]                   */
    float *dots;            /* [B, n_db] (Euclidean only)  */
    query_res *res;         /* [B]                         */
    size_t *hits;           /* [B, nc]                     */
    double *prp, *prr;      /* [B, bits+1] (curve wanted)  */
    eval_ws *ws;            /* [nt]                        */
    int32_t *dist;          /* [nt, n_db]                  */
    uint8_t *ranked;        /* [nt, n_db]                  */
    size_t *small;          /* [nt, 3 (bits+1)]            */
} eval_mem;

static void mem_free(eval_mem *m)
{
    l2h_free(m->qpad);
    l2h_free(m->dbpad);
    l2h_free(m->inv);
    l2h_free(m->cv);
    l2h_free(m->order);
    l2h_free(m->relblk);
    l2h_free(m->dots);
    l2h_free(m->res);
    l2h_free(m->hits);
    l2h_free(m->prp);
    l2h_free(m->prr);
    l2h_free(m->ws);
    l2h_free(m->dist);
    l2h_free(m->ranked);
    l2h_free(m->small);
}

static l2h_status mem_alloc(eval_mem *m, size_t nq, size_t n_db, size_t bits, size_t nc, size_t B,
                            size_t nt, int euclid, int curve)
{
    const size_t W = l2h_code_words(bits), L = bits + 1, per = 3 * L;
    size_t bn;
    L2H_FAIL_IF(!l2h_mul_ok(B, n_db, &bn), L2H_ERR_NOMEM, "eval: block too large");
    m->qpad = l2h_malloc_array(nq, W * sizeof(uint64_t));
    m->dbpad = l2h_malloc_array(n_db, W * sizeof(uint64_t));
    m->inv = l2h_malloc_array(n_db, sizeof(double));
    m->cv = l2h_malloc_array(nc + 1, sizeof(size_t));
    m->order = l2h_malloc_array(nc + 1, sizeof(size_t));
    m->relblk = l2h_malloc(bn);
    m->dots = euclid ? l2h_malloc_array(bn, sizeof(float)) : NULL;
    m->res = l2h_malloc_array(B, sizeof(query_res));
    m->hits = l2h_malloc_array(B, (nc + 1) * sizeof(size_t));
    m->prp = curve ? l2h_malloc_array(B, L * sizeof(double)) : NULL;
    m->prr = curve ? l2h_malloc_array(B, L * sizeof(double)) : NULL;
    m->ws = l2h_malloc_array(nt, sizeof(eval_ws));
    m->dist = l2h_malloc_array(nt, n_db * sizeof(int32_t));
    m->ranked = l2h_malloc_array(nt, n_db);
    m->small = l2h_malloc_array(nt, per * sizeof(size_t));
    const int ok = m->qpad && m->dbpad && m->inv && m->cv && m->order && m->relblk &&
                   (m->dots || !euclid) && m->res && m->hits && (!curve || (m->prp && m->prr)) &&
                   m->ws && m->dist && m->ranked && m->small;
    L2H_FAIL_IF(!ok, L2H_ERR_NOMEM, "eval: out of memory (%zu queries, %zu database items)", nq,
                n_db);
    for (size_t t = 0; t < nt; t++) {
        eval_ws *w = &m->ws[t];
        w->dist = m->dist + t * n_db;
        w->ranked = m->ranked + t * n_db;
        w->cnt = m->small + t * per;
        w->rel = w->cnt + L;
        w->off = w->rel + L;
    }
    return L2H_OK;
}

/* Cut-offs clamped to n_db and their ascending order (insertion sort: lists are short). */
static void prepare_ctx(eval_ctx *c, eval_mem *m, const l2h_eval_params *p, size_t n_db,
                        size_t bits)
{
    memset(c, 0, sizeof *c);
    c->n_db = n_db;
    c->bits = bits;
    c->nc = p->n_cutoffs;
    c->radius = p->radius;
    c->kk = p->map_at_k < n_db ? p->map_at_k : n_db;
    for (size_t i = 0; i < n_db; i++)
        m->inv[i] = 1.0 / (double)(i + 1);
    for (size_t j = 0; j < c->nc; j++) {
        m->cv[j] = p->cutoffs[j] < n_db ? p->cutoffs[j] : n_db;
        size_t k = j;
        for (; k > 0 && m->cv[m->order[k - 1]] > m->cv[j]; k--)
            m->order[k] = m->order[k - 1];
        m->order[k] = j;
    }
    c->cv = m->cv;
    c->order = m->order;
    c->inv = m->inv;
}

/* Running sums over the evaluated queries, added in query order. */
typedef struct eval_sums {
    double ap, ap_tie, ap_k, prec_r, rec_r;
    size_t n_empty, n_zero_at_k;
} eval_sums;

static void accumulate(const eval_ctx *c, const eval_mem *m, size_t nb, const l2h_eval_params *p,
                       eval_sums *s)
{
    const size_t L = c->bits + 1;
    for (size_t b = 0; b < nb; b++) {
        const query_res *r = &m->res[b];
        if (r->empty) {
            s->n_empty++;
            if (!p->empty_as_zero) continue; /* every metric of an empty query is 0 */
        }
        s->ap += r->ap;
        s->ap_tie += r->ap_tie;
        s->ap_k += r->ap_k;
        s->prec_r += r->prec_r;
        s->rec_r += r->rec_r;
        s->n_zero_at_k += (size_t)r->zero_at_k;
        if (r->empty) continue; /* zero contributions below */
        const size_t *h = m->hits + b * (c->nc + 1);
        for (size_t j = 0; j < c->nc; j++) {
            if (p->precision_at) p->precision_at[j] += (double)h[j] / (double)c->cv[j];
            if (p->recall_at) p->recall_at[j] += (double)h[j] / (double)r->n_rel;
        }
        if (p->pr_precision)
            for (size_t d = 0; d < L; d++)
                p->pr_precision[d] += m->prp[b * L + d];
        if (p->pr_recall)
            for (size_t d = 0; d < L; d++)
                p->pr_recall[d] += m->prr[b * L + d];
    }
}

l2h_status l2h_eval_codes(const uint8_t *q, size_t nq, const uint8_t *db, size_t n_db, size_t bits,
                          const l2h_groundtruth *gt, const l2h_eval_params *p, l2h_eval_result *out)
{
    L2H_TRY(check_params(q, nq, db, n_db, bits, gt, p, out));
    const l2h_hamming_kernels *kt = NULL;
    L2H_TRY(l2h_hamming_active(&kt));
    const size_t W = l2h_code_words(bits), L = bits + 1, nc = p->n_cutoffs;
    const int nti = l2h_threads() > 0 ? l2h_threads() : 1;
    const size_t nt = (size_t)nti;
    const size_t B0 = 8 * nt > 128 ? 8 * nt : 128, B = B0 < nq ? B0 : nq;
    const int curve = p->pr_precision != NULL || p->pr_recall != NULL;
    eval_mem m;
    memset(&m, 0, sizeof m);
    l2h_status st;
    L2H_CHECK_GOTO(mem_alloc(&m, nq, n_db, bits, nc, B, nt, gt->kind == L2H_GT_EUCLIDEAN, curve));
    eval_ctx c;
    prepare_ctx(&c, &m, p, n_db, bits);
    l2h_codes_pad(q, nq, bits, m.qpad); /* bits beyond `bits` are cleared */
    l2h_codes_pad(db, n_db, bits, m.dbpad);
    for (size_t j = 0; j < nc; j++) {
        if (p->precision_at) p->precision_at[j] = 0.0;
        if (p->recall_at) p->recall_at[j] = 0.0;
    }
    for (size_t d = 0; d < L; d++) {
        if (p->pr_precision) p->pr_precision[d] = 0.0;
        if (p->pr_recall) p->pr_recall[d] = 0.0;
    }
    eval_sums s;
    memset(&s, 0, sizeof s);
    for (size_t q0 = 0; q0 < nq; q0 += B) {
        const size_t nb = q0 + B <= nq ? B : nq - q0;
        l2h_gt_relevance_block(gt, q0, nb, m.relblk, m.dots);
        const long long nbl = (long long)nb;
#pragma omp parallel num_threads(nti)
        {
#ifdef _OPENMP
            eval_ws *w = &m.ws[omp_get_thread_num()];
#else
            eval_ws *w = &m.ws[0];
#endif
#pragma omp for schedule(dynamic, 1)
            for (long long bl = 0; bl < nbl; bl++) {
                const size_t b = (size_t)bl;
                kt->scan(m.qpad + (q0 + b) * W, m.dbpad, n_db, W, w->dist);
                eval_one(&c, w, m.relblk + b * n_db, &m.res[b], m.hits + b * (nc + 1),
                         curve ? m.prp + b * L : NULL, curve ? m.prr + b * L : NULL);
            }
        }
        accumulate(&c, &m, nb, p, &s);
    }
    const size_t used = p->empty_as_zero ? nq : nq - s.n_empty;
    const double inv_used = used ? 1.0 / (double)used : 0.0;
    memset(out, 0, sizeof *out);
    out->map = s.ap * inv_used;
    out->map_tie = s.ap_tie * inv_used;
    out->map_at_k = c.kk ? s.ap_k * inv_used : 0.0;
    out->prec_radius = s.prec_r * inv_used;
    out->recall_radius = s.rec_r * inv_used;
    out->n_queries = used;
    out->n_empty = s.n_empty;
    out->n_zero_at_k = s.n_zero_at_k;
    for (size_t j = 0; j < nc; j++) {
        if (p->precision_at) p->precision_at[j] *= inv_used;
        if (p->recall_at) p->recall_at[j] *= inv_used;
    }
    for (size_t d = 0; d < L; d++) {
        if (p->pr_precision) p->pr_precision[d] *= inv_used;
        if (p->pr_recall) p->pr_recall[d] *= inv_used;
    }
    st = L2H_OK;
done:
    mem_free(&m);
    return st;
}
