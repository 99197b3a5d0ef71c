/* test_eval.c -- ground truth and retrieval metrics: hand-computed cases, brute force on random
 * data (sort by (distance, index), textbook AP), tie-aware AP against enumeration of all tie
 * orders and a Monte-Carlo average, multi-label and Euclidean ground truth, the distance
 * percentile, empty queries, thread-count independence and argument errors. */
#include "check.h"
#include "core.h"
#include "l2h/codes.h"
#include "l2h/eval.h"
#include "l2h/io.h"

#include <math.h>
#include <string.h>

/* ---- brute-force reference ------------------------------------------------------------------ */

static uint32_t brute_hamming(const uint8_t *a, const uint8_t *b, size_t bits)
{
    uint32_t d = 0;
    for (size_t j = 0; j < bits; j++)
        d += ((a[j / 8] >> (j % 8)) & 1) != ((b[j / 8] >> (j % 8)) & 1);
    return d;
}

static const uint32_t *sort_dist;
static int cmp_rank(const void *pa, const void *pb)
{
    const size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    if (sort_dist[a] != sort_dist[b]) return sort_dist[a] < sort_dist[b] ? -1 : 1;
    return a < b ? -1 : (a > b);
}

/* Textbook AP of a ranked 0/1 list: mean over relevant items of precision at their rank. */
static double ap_of(const uint8_t *ranked, size_t n)
{
    size_t hits = 0;
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        if (ranked[i]) s += (double)++hits / (double)(i + 1);
    return hits ? s / (double)hits : 0.0;
}

typedef struct brute_out {
    l2h_eval_result r;
    double p_at[8], r_at[8];
    double pr_p[130], pr_r[130];
} brute_out;

/* Every metric by the definitions in docs/evaluation.md, from a full sort. rel[nq, n_db]. */
static void brute_eval(const uint8_t *q, size_t nq, const uint8_t *db, size_t n_db, size_t bits,
                       const uint8_t *rel, const l2h_eval_params *p, brute_out *o)
{
    const size_t B = l2h_code_bytes(bits);
    uint32_t *dist = malloc(n_db * sizeof *dist);
    size_t *idx = malloc(n_db * sizeof *idx);
    uint8_t *ranked = malloc(n_db);
    memset(o, 0, sizeof *o);
    size_t used = 0;
    for (size_t qi = 0; qi < nq; qi++) {
        const uint8_t *rq = rel + qi * n_db;
        size_t R = 0;
        for (size_t i = 0; i < n_db; i++) {
            dist[i] = brute_hamming(q + qi * B, db + i * B, bits);
            idx[i] = i;
            R += rq[i];
        }
        if (R == 0) {
            o->r.n_empty++;
            if (p->empty_as_zero) used++;
            continue;
        }
        used++;
        sort_dist = dist;
        qsort(idx, n_db, sizeof *idx, cmp_rank);
        for (size_t i = 0; i < n_db; i++)
            ranked[i] = rq[idx[i]];
        o->r.map += ap_of(ranked, n_db);
        const size_t k = p->map_at_k < n_db ? p->map_at_k : n_db;
        if (k) {
            size_t hk = 0;
            for (size_t i = 0; i < k; i++)
                hk += ranked[i];
            o->r.map_at_k += ap_of(ranked, k);
            o->r.n_zero_at_k += hk == 0;
        }
        for (size_t j = 0; j < p->n_cutoffs; j++) {
            const size_t N = p->cutoffs[j] < n_db ? p->cutoffs[j] : n_db;
            size_t h = 0;
            for (size_t i = 0; i < N; i++)
                h += ranked[i];
            o->p_at[j] += (double)h / (double)N;
            o->r_at[j] += (double)h / (double)R;
        }
        for (size_t r = 0; r <= bits; r++) {
            size_t got = 0, h = 0;
            for (size_t i = 0; i < n_db; i++)
                if (dist[i] <= r) {
                    got++;
                    h += rq[i];
                }
            const double pr = got ? (double)h / (double)got : 0.0, rc = (double)h / (double)R;
            o->pr_p[r] += pr;
            o->pr_r[r] += rc;
            if (r == (p->radius < bits ? p->radius : bits)) {
                o->r.prec_radius += pr;
                o->r.recall_radius += rc;
            }
        }
    }
    const double inv = used ? 1.0 / (double)used : 0.0;
    o->r.n_queries = used;
    o->r.map *= inv;
    o->r.map_at_k *= inv;
    o->r.prec_radius *= inv;
    o->r.recall_radius *= inv;
    for (size_t j = 0; j < p->n_cutoffs; j++) {
        o->p_at[j] *= inv;
        o->r_at[j] *= inv;
    }
    for (size_t r = 0; r <= bits; r++) {
        o->pr_p[r] *= inv;
        o->pr_r[r] *= inv;
    }
    free(dist);
    free(idx);
    free(ranked);
}

/* Ground truth from single labels lq[nq], ldb[n_db]. */
static l2h_groundtruth *gt_single(const int32_t *lq, size_t nq, const int32_t *ldb, size_t n_db)
{
    l2h_dataset *a = NULL, *b = NULL;
    l2h_groundtruth *gt = NULL;
    CHECK_OK(l2h_dataset_create(&a, nq, 1, NULL));
    CHECK_OK(l2h_dataset_create(&b, n_db, 1, NULL));
    CHECK_OK(l2h_dataset_set_labels(a, lq));
    CHECK_OK(l2h_dataset_set_labels(b, ldb));
    CHECK_OK(l2h_groundtruth_from_labels(&gt, a, b));
    l2h_dataset_free(a);
    l2h_dataset_free(b);
    return gt;
}

static void random_bytes(l2h_rng *r, uint8_t *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (uint8_t)l2h_rng_next(r);
}

/* ---- 1. hand-computed 4-bit example ------------------------------------------------------- */

static void test_hand(void)
{
    /* Codes are 4-bit values in one byte each. Query A = 0000 (label 0), query B = 1111 (label
     * 1), query C = 0000 with label 2 (no relevant item: "empty").
     *   db  code  label  dist to A  dist to B
     *   0   0011  0      2          2
     *   1   0001  1      1          3
     *   2   0000  0      0          4
     *   3   0111  1      3          1
     *   4   0010  0      1          3
     *   5   1111  0      4          0
     * Query A, order (distance, db position): 2 1 4 0 3 5 -> relevance R N R R N R, 4 relevant.
     *   AP   = (1/1 + 2/3 + 3/4 + 4/6) / 4 = 37/48.
     *   tie-aware: level 1 holds {1: N, 4: R}; random order gives precision 2/2 or 2/3 for the
     *   relevant item, mean 5/6, so AP_tie = (1 + 5/6 + 3/4 + 4/6) / 4 = 39/48 = 13/16.
     *   AP@3 = (1 + 2/3) / 2 = 5/6; AP@1 = 1.
     *   radius 2: retrieved {2,1,4,0}, 3 relevant: P = 3/4, R = 3/4.
     *   P@{1,2,3,5,10->6} = 1, 1/2, 2/3, 3/5, 4/6; R@ = 1/4, 1/4, 2/4, 3/4, 1.
     *   PR by radius 0..4: P = 1, 2/3, 3/4, 3/5, 4/6; R = 1/4, 2/4, 3/4, 3/4, 1.
     * Query B, order 5 3 0 1 4 2 -> N R N R N N, 2 relevant (db 1 and 3).
     *   AP = (1/2 + 2/4) / 2 = 1/2. Tie-aware: level 3 = {1: R, 4: N} -> (2/4 + 2/5)/2 = 9/20,
     *   so AP_tie = (1/2 + 9/20) / 2 = 19/40. AP@3 = (1/2)/1 = 1/2; AP@1 = 0 (no hit in top 1).
     *   radius 2: retrieved {5,3,0}: P = 1/3, R = 1/2.
     *   P@{1,2,3,5,6} = 0, 1/2, 1/3, 2/5, 2/6; R@ = 0, 1/2, 1/2, 1, 1.
     *   PR: P = 0, 1/2, 1/3, 2/5, 2/6; R = 0, 1/2, 1/2, 1, 1. */
    const uint8_t db[6] = {0x3, 0x1, 0x0, 0x7, 0x2, 0xF}, q[3] = {0x0, 0xF, 0x0};
    const int32_t ldb[6] = {0, 1, 0, 1, 0, 0}, lq[3] = {0, 1, 2};
    l2h_groundtruth *gt = gt_single(lq, 3, ldb, 6);
    uint8_t rel[6];
    CHECK_OK(l2h_groundtruth_relevance(gt, 1, rel));
    const uint8_t want_rel[6] = {0, 1, 0, 1, 0, 0};
    CHECK(memcmp(rel, want_rel, 6) == 0);
    CHECK_EQ_I(l2h_groundtruth_n_query(gt), 3);
    CHECK_EQ_I(l2h_groundtruth_n_db(gt), 6);

    const size_t cut[5] = {1, 2, 3, 5, 10};
    double pa[5], ra[5], prp[5], prr[5];
    l2h_eval_params p = l2h_eval_default_params();
    CHECK_EQ_I(p.radius, 2);
    p.map_at_k = 3;
    p.n_cutoffs = 5;
    p.cutoffs = cut;
    p.precision_at = pa;
    p.recall_at = ra;
    p.pr_precision = prp;
    p.pr_recall = prr;
    l2h_eval_result r;
    CHECK_OK(l2h_eval_codes(q, 3, db, 6, 4, gt, &p, &r));
    const double tol = 1e-12;
    CHECK_EQ_I(r.n_queries, 2);
    CHECK_EQ_I(r.n_empty, 1);
    CHECK_EQ_I(r.n_zero_at_k, 0);
    CHECK_NEAR(r.map, (37.0 / 48 + 0.5) / 2, 0, tol);
    CHECK_NEAR(r.map_tie, (13.0 / 16 + 19.0 / 40) / 2, 0, tol);
    CHECK_NEAR(r.map_at_k, (5.0 / 6 + 0.5) / 2, 0, tol);
    CHECK_NEAR(r.prec_radius, (0.75 + 1.0 / 3) / 2, 0, tol);
    CHECK_NEAR(r.recall_radius, (0.75 + 0.5) / 2, 0, tol);
    const double wpa[5] = {0.5, 0.5, 0.5, 0.5, 0.5}; /* (1+0)/2, (1/2+1/2)/2, (2/3+1/3)/2, ... */
    const double wra[5] = {1.0 / 8, 3.0 / 8, 0.5, 7.0 / 8, 1.0};
    const double wprp[5] = {0.5, 7.0 / 12, (0.75 + 1.0 / 3) / 2, 0.5, 0.5};
    const double wprr[5] = {1.0 / 8, 0.5, 5.0 / 8, 7.0 / 8, 1.0};
    CHECK_ALL_NEAR(5, pa, wpa, 0, tol);
    CHECK_ALL_NEAR(5, ra, wra, 0, tol);
    CHECK_ALL_NEAR(5, prp, wprp, 0, tol);
    CHECK_ALL_NEAR(5, prr, wprr, 0, tol);

    /* the empty query counted as zero: same sums over 3 queries */
    p.empty_as_zero = 1;
    p.map_at_k = 1;
    CHECK_OK(l2h_eval_codes(q, 3, db, 6, 4, gt, &p, &r));
    CHECK_EQ_I(r.n_queries, 3);
    CHECK_EQ_I(r.n_empty, 1);
    CHECK_EQ_I(r.n_zero_at_k, 1); /* query B: AP@1 = 0 */
    CHECK_NEAR(r.map, (37.0 / 48 + 0.5) / 3, 0, tol);
    CHECK_NEAR(r.map_tie, (13.0 / 16 + 19.0 / 40) / 3, 0, tol);
    CHECK_NEAR(r.map_at_k, 1.0 / 3, 0, tol);
    CHECK_NEAR(pa[0], 1.0 / 3, 0, tol);
    CHECK_NEAR(prr[4], 2.0 / 3, 0, tol);

    /* radius beyond the code length retrieves everything; radius 0 only exact matches */
    l2h_groundtruth_free(gt);
    gt = gt_single(lq, 2, ldb, 6);
    p.radius = 9;
    p.empty_as_zero = 0;
    CHECK_OK(l2h_eval_codes(q, 2, db, 6, 4, gt, &p, &r));
    CHECK_NEAR(r.prec_radius, (4.0 / 6 + 2.0 / 6) / 2, 0, tol);
    CHECK_NEAR(r.recall_radius, 1.0, 0, tol);
    p.radius = 0;
    CHECK_OK(l2h_eval_codes(q, 2, db, 6, 4, gt, &p, &r));
    CHECK_NEAR(r.prec_radius, 0.5, 0, tol); /* A: 1/1, B: 0/1 */
    l2h_groundtruth_free(gt);

    /* only empty queries: nothing to average */
    const int32_t lq_e[2] = {7, 8};
    gt = gt_single(lq_e, 2, ldb, 6);
    p = l2h_eval_default_params();
    CHECK_OK(l2h_eval_codes(q, 2, db, 6, 4, gt, &p, &r));
    CHECK_EQ_I(r.n_queries, 0);
    CHECK_EQ_I(r.n_empty, 2);
    CHECK(r.map == 0.0 && r.map_tie == 0.0);
    l2h_groundtruth_free(gt);
}

/* ---- 2. brute force on random data -------------------------------------------------------- */

static void compare_brute(const uint8_t *q, size_t nq, const uint8_t *db, size_t n_db, size_t bits,
                          const l2h_groundtruth *gt, const uint8_t *rel, l2h_eval_params p)
{
    static const size_t cut[8] = {1, 2, 5, 10, 37, 100, 250, 100000};
    double pa[8], ra[8], prp[130], prr[130];
    p.n_cutoffs = 8;
    p.cutoffs = cut;
    p.precision_at = pa;
    p.recall_at = ra;
    p.pr_precision = prp;
    p.pr_recall = prr;
    l2h_eval_result r;
    brute_out o;
    CHECK_OK(l2h_eval_codes(q, nq, db, n_db, bits, gt, &p, &r));
    brute_eval(q, nq, db, n_db, bits, rel, &p, &o);
    const double tol = 1e-12;
    CHECK_EQ_I(r.n_queries, o.r.n_queries);
    CHECK_EQ_I(r.n_empty, o.r.n_empty);
    CHECK_EQ_I(r.n_zero_at_k, o.r.n_zero_at_k);
    CHECK_NEAR(r.map, o.r.map, tol, tol);
    CHECK_NEAR(r.map_at_k, o.r.map_at_k, tol, tol);
    CHECK_NEAR(r.prec_radius, o.r.prec_radius, tol, tol);
    CHECK_NEAR(r.recall_radius, o.r.recall_radius, tol, tol);
    CHECK_ALL_NEAR(8, pa, o.p_at, tol, tol);
    CHECK_ALL_NEAR(8, ra, o.r_at, tol, tol);
    CHECK_ALL_NEAR(bits + 1, prp, o.pr_p, tol, tol);
    CHECK_ALL_NEAR(bits + 1, prr, o.pr_r, tol, tol);
    /* tie-aware AP lies between the pessimistic and optimistic orders; equal to AP w/o ties is
     * checked in test_tie_enumeration */
    CHECK(r.map_tie >= 0.0 && r.map_tie <= 1.0);
}

static void test_random_brute(uint64_t seed)
{
    static const size_t bitss[] = {1, 3, 7, 8, 13, 32, 64, 65, 100, 128};
    l2h_rng rng;
    l2h_rng_seed(&rng, seed);
    for (size_t bi = 0; bi < sizeof bitss / sizeof bitss[0]; bi++) {
        const size_t bits = bitss[bi], B = l2h_code_bytes(bits);
        const size_t nq = 1 + (size_t)l2h_rng_below(&rng, 40),
                     n_db = 1 + (size_t)l2h_rng_below(&rng, 400);
        const size_t n_cls = 1 + (size_t)l2h_rng_below(&rng, 8);
        uint8_t *q = malloc(nq * B), *db = malloc(n_db * B), *rel = malloc(nq * n_db);
        int32_t *lq = malloc(nq * sizeof *lq), *ldb = malloc(n_db * sizeof *ldb);
        random_bytes(&rng, q, nq * B);
        random_bytes(&rng, db, n_db * B);
        if (bits % 8) { /* documented layout: unused high bits are zero */
            for (size_t i = 0; i < nq; i++)
                q[i * B + B - 1] &= (uint8_t)((1u << (bits % 8)) - 1);
            for (size_t i = 0; i < n_db; i++)
                db[i * B + B - 1] &= (uint8_t)((1u << (bits % 8)) - 1);
        }
        /* labels; some queries get a class absent from the database (empty queries) */
        for (size_t i = 0; i < nq; i++)
            lq[i] = (int32_t)l2h_rng_below(&rng, n_cls + 1);
        for (size_t i = 0; i < n_db; i++)
            ldb[i] = (int32_t)l2h_rng_below(&rng, n_cls);
        for (size_t i = 0; i < nq; i++)
            for (size_t j = 0; j < n_db; j++)
                rel[i * n_db + j] = lq[i] == ldb[j];
        l2h_groundtruth *gt = gt_single(lq, nq, ldb, n_db);
        l2h_eval_params p = l2h_eval_default_params();
        p.map_at_k = 1 + (size_t)l2h_rng_below(&rng, n_db + 10);
        p.radius = (uint32_t)l2h_rng_below(&rng, bits + 2);
        compare_brute(q, nq, db, n_db, bits, gt, rel, p);
        p.empty_as_zero = 1;
        p.map_at_k = 0;
        compare_brute(q, nq, db, n_db, bits, gt, rel, p);

        /* junk in the unused high bits of the last byte is ignored */
        if (bits % 8) {
            l2h_eval_result r1, r2;
            p = l2h_eval_default_params();
            CHECK_OK(l2h_eval_codes(q, nq, db, n_db, bits, gt, &p, &r1));
            for (size_t i = 0; i < n_db; i++)
                db[i * B + B - 1] |= (uint8_t)(0xFFu << (bits % 8));
            CHECK_OK(l2h_eval_codes(q, nq, db, n_db, bits, gt, &p, &r2));
            CHECK(memcmp(&r1, &r2, sizeof r1) == 0);
        }
        l2h_groundtruth_free(gt);
        free(q);
        free(db);
        free(rel);
        free(lq);
        free(ldb);
    }
}

/* ---- 3. tie-aware AP ------------------------------------------------------------------------ */

/* AP of the order perm[] (a permutation of 0..n-1) of relevance rel[]. */
static double ap_perm(const size_t *perm, const uint8_t *rel, size_t n)
{
    uint8_t ranked[16];
    for (size_t i = 0; i < n; i++)
        ranked[i] = rel[perm[i]];
    return ap_of(ranked, n);
}

/* Mean AP over every permutation that keeps distances non-decreasing (Heap's algorithm over all
 * n! permutations, keeping the valid ones). Each within-level order is equally likely there. */
static double tie_ap_enumerate(const uint32_t *dist, const uint8_t *rel, size_t n)
{
    size_t a[16], c[16] = {0};
    for (size_t i = 0; i < n; i++)
        a[i] = i;
    double sum = 0.0;
    size_t cnt = 0;
    for (size_t i = 0;;) {
        int ok = 1;
        for (size_t k = 1; k < n; k++)
            ok &= dist[a[k - 1]] <= dist[a[k]];
        if (ok) {
            sum += ap_perm(a, rel, n);
            cnt++;
        }
        while (i < n && c[i] >= i)
            c[i++] = 0;
        if (i >= n) break;
        const size_t j = (i % 2) ? c[i] : 0, t = a[j];
        a[j] = a[i];
        a[i] = t;
        c[i]++;
        i = 1;
        if (n < 2) break;
    }
    return sum / (double)cnt;
}

static void test_tie_enumeration(uint64_t seed)
{
    l2h_rng rng;
    l2h_rng_seed(&rng, seed ^ 0x7135);
    int ok = 1;
    size_t cases = 0;
    for (size_t it = 0; it < 300; it++) {
        const size_t n = 1 + (size_t)l2h_rng_below(&rng, 8),
                     bits = 1 + (size_t)l2h_rng_below(&rng, 3);
        uint8_t q = (uint8_t)(l2h_rng_next(&rng) & ((1u << bits) - 1)), db[8], rel[8];
        int32_t ldb[8], lq = 1;
        uint32_t dist[8];
        size_t R = 0;
        for (size_t i = 0; i < n; i++) {
            db[i] = (uint8_t)(l2h_rng_next(&rng) & ((1u << bits) - 1));
            rel[i] = (uint8_t)l2h_rng_below(&rng, 2);
            ldb[i] = rel[i] ? 1 : 0;
            dist[i] = brute_hamming(&q, &db[i], bits);
            R += rel[i];
        }
        if (R == 0) continue;
        l2h_groundtruth *gt = gt_single(&lq, 1, ldb, n);
        l2h_eval_params p = l2h_eval_default_params();
        l2h_eval_result r;
        CHECK_OK(l2h_eval_codes(&q, 1, db, n, bits, gt, &p, &r));
        const double want = tie_ap_enumerate(dist, rel, n);
        if (!check_near(r.map_tie, want, 1e-12, 1e-12)) {
            ok = 0;
            fprintf(stderr, "tie AP case %zu (n %zu, bits %zu): %.15g vs %.15g\n", it, n, bits,
                    r.map_tie, want);
        }
        /* without ties (all distances distinct) tie-aware AP equals AP */
        int distinct = 1;
        for (size_t i = 0; i < n; i++)
            for (size_t j = i + 1; j < n; j++)
                distinct &= dist[i] != dist[j];
        if (distinct) ok &= check_near(r.map_tie, r.map, 1e-12, 1e-12);
        cases++;
        l2h_groundtruth_free(gt);
    }
    CHECK(ok);
    CHECK(cases > 200);
}

/* Larger case: mean AP over random shuffles within each distance level vs the closed form. */
static void test_tie_monte_carlo(uint64_t seed)
{
    const size_t n = 300, bits = 5, trials = 20000;
    l2h_rng rng;
    l2h_rng_seed(&rng, seed ^ 0xC0FFEE);
    uint8_t q = 0, db[300], rel[300];
    int32_t ldb[300], lq = 1;
    uint32_t dist[300];
    for (size_t i = 0; i < n; i++) {
        db[i] = (uint8_t)(l2h_rng_next(&rng) & 31);
        dist[i] = brute_hamming(&q, &db[i], bits);
        /* relevance more likely at small distance, so ties matter */
        rel[i] = l2h_rng_uniform(&rng) < 0.6 - 0.1 * dist[i];
        ldb[i] = rel[i];
    }
    l2h_groundtruth *gt = gt_single(&lq, 1, ldb, n);
    l2h_eval_params p = l2h_eval_default_params();
    l2h_eval_result r;
    CHECK_OK(l2h_eval_codes(&q, 1, db, n, bits, gt, &p, &r));
    size_t idx[300];
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    sort_dist = dist;
    qsort(idx, n, sizeof *idx, cmp_rank);
    double sum = 0.0, sum2 = 0.0;
    for (size_t t = 0; t < trials; t++) {
        for (size_t s = 0; s < n;) { /* shuffle each level [s, e) */
            size_t e = s;
            while (e < n && dist[idx[e]] == dist[idx[s]])
                e++;
            l2h_rng_shuffle(&rng, idx + s, e - s);
            s = e;
        }
        uint8_t ranked[300];
        for (size_t i = 0; i < n; i++)
            ranked[i] = rel[idx[i]];
        const double a = ap_of(ranked, n);
        sum += a;
        sum2 += a * a;
    }
    const double mean = sum / (double)trials;
    const double se = sqrt((sum2 / (double)trials - mean * mean) / (double)trials);
    CHECK(se > 0.0);
    CHECK(fabs(r.map_tie - mean) <= 5.0 * se + 1e-12);
    /* index-order AP differs from the expectation here (many ties) */
    CHECK(fabs(r.map - r.map_tie) > 1e-6);
    l2h_groundtruth_free(gt);
}

/* ---- 4. multi-label and Euclidean ground truth ------------------------------------------- */

static void test_multilabel(uint64_t seed)
{
    const size_t nq = 23, n_db = 157, L = 70; /* two 64-bit words */
    l2h_rng rng;
    l2h_rng_seed(&rng, seed ^ 0x3117);
    uint8_t *yq = malloc(nq * L), *yd = malloc(n_db * L), *rel = malloc(nq * n_db);
    for (size_t i = 0; i < nq * L; i++)
        yq[i] = l2h_rng_uniform(&rng) < 0.03;
    for (size_t i = 0; i < n_db * L; i++)
        yd[i] = l2h_rng_uniform(&rng) < 0.03;
    memset(yq, 0, L); /* query 0 has no label at all */
    l2h_dataset *a = NULL, *b = NULL;
    CHECK_OK(l2h_dataset_create(&a, nq, 1, NULL));
    CHECK_OK(l2h_dataset_create(&b, n_db, 1, NULL));
    CHECK_OK(l2h_dataset_set_multilabels(a, L, yq));
    CHECK_OK(l2h_dataset_set_multilabels(b, L, yd));
    l2h_groundtruth *gt = NULL;
    CHECK_OK(l2h_groundtruth_from_labels(&gt, a, b));
    int ok = 1;
    size_t n_rel = 0;
    uint8_t row[157];
    for (size_t i = 0; i < nq; i++) {
        CHECK_OK(l2h_groundtruth_relevance(gt, i, row));
        for (size_t j = 0; j < n_db; j++) {
            int any = 0;
            for (size_t c = 0; c < L; c++)
                any |= yq[i * L + c] && yd[j * L + c];
            rel[i * n_db + j] = (uint8_t)any;
            ok &= row[j] == any;
            n_rel += (size_t)any;
        }
    }
    CHECK(ok);
    CHECK(n_rel > 50); /* the test exercises both outcomes */
    const size_t bits = 24, B = 3;
    uint8_t *q = malloc(nq * B), *db = malloc(n_db * B);
    random_bytes(&rng, q, nq * B);
    random_bytes(&rng, db, n_db * B);
    l2h_eval_params p = l2h_eval_default_params();
    p.map_at_k = 50;
    compare_brute(q, nq, db, n_db, bits, gt, rel, p);

    /* mismatched label columns, mixed kinds, no labels */
    l2h_groundtruth *bad = (l2h_groundtruth *)1;
    l2h_dataset *c = NULL;
    CHECK_OK(l2h_dataset_create(&c, n_db, 1, NULL));
    CHECK_STATUS(l2h_groundtruth_from_labels(&bad, a, c), L2H_ERR_ARG);
    CHECK(bad == NULL);
    CHECK_OK(l2h_dataset_set_multilabels(c, L - 1, yd));
    CHECK_STATUS(l2h_groundtruth_from_labels(&bad, a, c), L2H_ERR_ARG);
    int32_t *lab = calloc(n_db, sizeof *lab);
    CHECK_OK(l2h_dataset_set_labels(c, lab));
    CHECK_STATUS(l2h_groundtruth_from_labels(&bad, a, c), L2H_ERR_ARG);
    CHECK_STATUS(l2h_groundtruth_from_labels(&bad, NULL, c), L2H_ERR_ARG);
    CHECK_STATUS(l2h_groundtruth_relevance(gt, nq, row), L2H_ERR_ARG);
    CHECK_STATUS(l2h_groundtruth_relevance(gt, 0, NULL), L2H_ERR_ARG);
    free(lab);
    l2h_dataset_free(c);
    l2h_dataset_free(a);
    l2h_dataset_free(b);
    l2h_groundtruth_free(gt);
    free(yq);
    free(yd);
    free(rel);
    free(q);
    free(db);
}

static double exact_sq(const float *a, const float *b, size_t dim)
{
    double s = 0.0;
    for (size_t j = 0; j < dim; j++) {
        const double d = (double)a[j] - (double)b[j];
        s += d * d;
    }
    return s;
}

/* Features offset + small integers: exact squared distances are small integers, so pairs lie
 * exactly on the threshold, while ||q||^2 + ||x||^2 - 2 q.x in float is off by far more than
 * that whenever the offset is large -- the exact fallback must decide. */
static void euclid_case(uint64_t seed, float offset, float scale, size_t dim, float thr,
                        size_t *n_on)
{
    const size_t nq = 140, n_db = 211; /* > 128: several query blocks */
    l2h_rng rng;
    l2h_rng_seed(&rng, seed);
    float *xq = malloc(nq * dim * sizeof *xq), *xd = malloc(n_db * dim * sizeof *xd);
    for (size_t i = 0; i < nq * dim; i++)
        xq[i] = offset + scale * (float)l2h_rng_below(&rng, 3);
    for (size_t i = 0; i < n_db * dim; i++)
        xd[i] = offset + scale * (float)l2h_rng_below(&rng, 3);
    l2h_dataset *a = NULL, *b = NULL;
    CHECK_OK(l2h_dataset_create(&a, nq, dim, xq));
    CHECK_OK(l2h_dataset_create(&b, n_db, dim, xd));
    l2h_groundtruth *gt = NULL;
    CHECK_OK(l2h_groundtruth_euclidean(&gt, a, b, thr));
    uint8_t *rel = malloc(nq * n_db), row[211];
    const double t2 = (double)thr * (double)thr;
    int ok = 1;
    for (size_t i = 0; i < nq; i++) {
        CHECK_OK(l2h_groundtruth_relevance(gt, i, row));
        for (size_t j = 0; j < n_db; j++) {
            const double d2 = exact_sq(xq + i * dim, xd + j * dim, dim);
            rel[i * n_db + j] = d2 <= t2;
            *n_on += d2 == t2;
            ok &= row[j] == rel[i * n_db + j];
        }
    }
    CHECK(ok);
    /* eval_codes uses the blocked sgemm path for the same relevance */
    const size_t bits = 16;
    uint8_t *q = malloc(nq * 2), *db = malloc(n_db * 2);
    random_bytes(&rng, q, nq * 2);
    random_bytes(&rng, db, n_db * 2);
    compare_brute(q, nq, db, n_db, bits, gt, rel, l2h_eval_default_params());
    l2h_groundtruth_free(gt);
    l2h_dataset_free(a);
    l2h_dataset_free(b);
    free(xq);
    free(xd);
    free(rel);
    free(q);
    free(db);
}

static void test_euclidean(uint64_t seed)
{
    size_t on = 0;
    euclid_case(seed, 0.0f, 1.0f, 8, 3.0f, &on); /* d^2 = 9 pairs exactly on the threshold */
    euclid_case(seed + 1, 4096.0f, 1.0f, 8, 3.0f, &on);
    euclid_case(seed + 2, 1.0e5f, 1.0f, 16, 4.0f, &on);
    euclid_case(seed + 3, 0.5f, 1.0f, 33, 0.0f, &on);      /* threshold 0: duplicates only */
    euclid_case(seed + 4, 0.0f, 1.0e19f, 8, 3.0e19f, &on); /* float dot products overflow */
    CHECK(on > 100);

    l2h_dataset *a = NULL, *b = NULL;
    l2h_groundtruth *gt = (l2h_groundtruth *)1;
    CHECK_OK(l2h_dataset_create(&a, 3, 4, NULL));
    CHECK_OK(l2h_dataset_create(&b, 5, 3, NULL));
    CHECK_STATUS(l2h_groundtruth_euclidean(&gt, a, b, 1.0f), L2H_ERR_ARG); /* dims */
    CHECK(gt == NULL);
    CHECK_STATUS(l2h_groundtruth_euclidean(&gt, a, a, -1.0f), L2H_ERR_ARG);
    CHECK_STATUS(l2h_groundtruth_euclidean(&gt, a, a, NAN), L2H_ERR_ARG);
    CHECK_STATUS(l2h_groundtruth_euclidean(&gt, a, a, INFINITY), L2H_ERR_ARG);
    l2h_dataset_features_mut(a)[5] = NAN;
    CHECK_STATUS(l2h_groundtruth_euclidean(&gt, a, a, 1.0f), L2H_ERR_NUMERIC);
    CHECK_STATUS(l2h_groundtruth_from_labels(&gt, a, a), L2H_ERR_ARG); /* no labels */
    l2h_dataset_free(a);
    l2h_dataset_free(b);
}

/* ---- 5. distance percentile ---------------------------------------------------------------- */

static int cmp_double(const void *pa, const void *pb)
{
    const double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* The documented definition, by sorting: the squared distance D_k at the percentile. */
static double brute_percentile_sq(const float *x, size_t n, size_t dim, size_t sample, double pct,
                                  uint64_t seed)
{
    size_t *rows = malloc(n * sizeof *rows);
    for (size_t i = 0; i < n; i++)
        rows[i] = i;
    const size_t m = sample < n ? sample : n;
    if (m < n) {
        l2h_rng r;
        l2h_rng_seed(&r, seed);
        l2h_rng_shuffle(&r, rows, n);
    }
    const size_t M = m * (m - 1) / 2;
    double *d = malloc(M * sizeof *d);
    size_t t = 0;
    for (size_t i = 0; i < m; i++)
        for (size_t j = i + 1; j < m; j++)
            d[t++] = exact_sq(x + rows[i] * dim, x + rows[j] * dim, dim);
    qsort(d, M, sizeof *d, cmp_double);
    const double pos = ceil(pct * (double)M / 100.0);
    const size_t k = pos <= 1.0 ? 0 : ((size_t)pos - 1 < M ? (size_t)pos - 1 : M - 1);
    const double dk = d[k];
    free(rows);
    free(d);
    return dk;
}

/* thr is the smallest float whose square reaches dk. */
static int is_threshold_of(float thr, double dk)
{
    const double t = (double)thr, below = (double)nextafterf(thr, 0.0f);
    return thr >= 0.0f && t * t >= dk && (thr == 0.0f || below * below < dk);
}

static void test_percentile(uint64_t seed)
{
    const size_t n = 260, dim = 12;
    l2h_rng rng;
    l2h_rng_seed(&rng, seed ^ 0x9e7c);
    float *x = malloc(n * dim * sizeof *x);
    /* normal deviates; integer grids (many equal distances) far from the origin, where the
     * Gram-matrix approximation is coarse; a grid scaled so float dot products overflow */
    static const float offsets[4] = {0.0f, 1000.0f, 3.0e4f, 0.0f}, scales[4] = {1, 1, 1, 1e19f};
    for (size_t oi = 0; oi < 4; oi++) {
        for (size_t i = 0; i < n * dim; i++)
            x[i] = offsets[oi] +
                   scales[oi] * (oi ? (float)l2h_rng_below(&rng, 4) : (float)l2h_rng_normal(&rng));
        memcpy(x + 5 * dim, x + 9 * dim, dim * sizeof *x); /* a duplicate row: distance 0 */
        l2h_dataset *ds = NULL;
        CHECK_OK(l2h_dataset_create(&ds, n, dim, x));
        static const double pcts[6] = {0.0, 0.1, 5.0, 37.5, 99.99, 100.0};
        static const size_t samples[3] = {2, 150, 5000};
        for (size_t si = 0; si < 3; si++)
            for (size_t pi = 0; pi < 6; pi++) {
                float thr = -1.0f;
                CHECK_OK(l2h_distance_percentile(ds, samples[si], pcts[pi], seed, &thr));
                const double dk = brute_percentile_sq(x, n, dim, samples[si], pcts[pi], seed);
                if (!is_threshold_of(thr, dk))
                    fprintf(stderr, "percentile offset %g sample %zu p %g: %.9g vs d^2 %.17g\n",
                            (double)offsets[oi], samples[si], pcts[pi], (double)thr, dk);
                CHECK(is_threshold_of(thr, dk));
            }
        /* same seed, same threshold; the sample depends on the seed */
        float t1, t2;
        CHECK_OK(l2h_distance_percentile(ds, 100, 5.0, 1, &t1));
        CHECK_OK(l2h_distance_percentile(ds, 100, 5.0, 1, &t2));
        CHECK(t1 == t2);
        CHECK(is_threshold_of(t1, brute_percentile_sq(x, n, dim, 100, 5.0, 1)));
        CHECK_STATUS(l2h_distance_percentile(ds, 100, -0.5, 1, &t1), L2H_ERR_ARG);
        CHECK_STATUS(l2h_distance_percentile(ds, 100, 100.5, 1, &t1), L2H_ERR_ARG);
        CHECK_STATUS(l2h_distance_percentile(ds, 100, NAN, 1, &t1), L2H_ERR_ARG);
        CHECK_STATUS(l2h_distance_percentile(ds, 1, 5.0, 1, &t1), L2H_ERR_ARG);
        CHECK_STATUS(l2h_distance_percentile(ds, 100, 5.0, 1, NULL), L2H_ERR_ARG);
        l2h_dataset_free(ds);
    }
    l2h_dataset *one = NULL;
    float t;
    CHECK_OK(l2h_dataset_create(&one, 1, 3, NULL));
    CHECK_STATUS(l2h_distance_percentile(one, 10, 5.0, 1, &t), L2H_ERR_ARG);
    l2h_dataset_free(one);
    free(x);
}

/* ---- 6. determinism across thread counts and bad arguments ---------------------------------- */

static void test_threads_and_errors(uint64_t seed)
{
    const size_t nq = 300, n_db = 500, bits = 32, B = 4;
    l2h_rng rng;
    l2h_rng_seed(&rng, seed ^ 0xD00D);
    uint8_t *q = malloc(nq * B), *db = malloc(n_db * B);
    int32_t *lq = malloc(nq * sizeof *lq), *ldb = malloc(n_db * sizeof *ldb);
    random_bytes(&rng, q, nq * B);
    random_bytes(&rng, db, n_db * B);
    for (size_t i = 0; i < nq; i++)
        lq[i] = (int32_t)l2h_rng_below(&rng, 10);
    for (size_t i = 0; i < n_db; i++)
        ldb[i] = (int32_t)l2h_rng_below(&rng, 10);
    l2h_groundtruth *gt = gt_single(lq, nq, ldb, n_db);
    const size_t cut[3] = {10, 100, 1000};
    double pa1[3], pa2[3], pr1[33], pr2[33];
    l2h_eval_params p = l2h_eval_default_params();
    p.map_at_k = 100;
    p.n_cutoffs = 3;
    p.cutoffs = cut;
    p.precision_at = pa1;
    p.pr_precision = pr1;
    l2h_eval_result r1, r2;
    l2h_set_threads(1);
    CHECK_OK(l2h_eval_codes(q, nq, db, n_db, bits, gt, &p, &r1));
    l2h_set_threads(3);
    p.precision_at = pa2;
    p.pr_precision = pr2;
    CHECK_OK(l2h_eval_codes(q, nq, db, n_db, bits, gt, &p, &r2));
    l2h_set_threads(0);
    CHECK(memcmp(&r1, &r2, sizeof r1) == 0);
    CHECK(memcmp(pa1, pa2, sizeof pa1) == 0);
    CHECK(memcmp(pr1, pr2, sizeof pr1) == 0);

    l2h_eval_result r;
    CHECK_STATUS(l2h_eval_codes(NULL, nq, db, n_db, bits, gt, &p, &r), L2H_ERR_ARG);
    CHECK_STATUS(l2h_eval_codes(q, nq, NULL, n_db, bits, gt, &p, &r), L2H_ERR_ARG);
    CHECK_STATUS(l2h_eval_codes(q, nq, db, n_db, bits, NULL, &p, &r), L2H_ERR_ARG);
    CHECK_STATUS(l2h_eval_codes(q, nq, db, n_db, bits, gt, NULL, &r), L2H_ERR_ARG);
    CHECK_STATUS(l2h_eval_codes(q, nq, db, n_db, bits, gt, &p, NULL), L2H_ERR_ARG);
    CHECK_STATUS(l2h_eval_codes(q, nq, db, n_db, 0, gt, &p, &r), L2H_ERR_ARG);
    CHECK_STATUS(l2h_eval_codes(q, nq, db, n_db, L2H_MAX_BITS + 1, gt, &p, &r), L2H_ERR_ARG);
    CHECK_STATUS(l2h_eval_codes(q, nq - 1, db, n_db, bits, gt, &p, &r), L2H_ERR_ARG);
    CHECK_STATUS(l2h_eval_codes(q, nq, db, n_db - 1, bits, gt, &p, &r), L2H_ERR_ARG);
    CHECK(strstr(l2h_last_error(), "ground truth is 300 x 500") != NULL);
    p.cutoffs = NULL;
    CHECK_STATUS(l2h_eval_codes(q, nq, db, n_db, bits, gt, &p, &r), L2H_ERR_ARG);
    const size_t zero_cut[3] = {5, 0, 7};
    p.cutoffs = zero_cut;
    CHECK_STATUS(l2h_eval_codes(q, nq, db, n_db, bits, gt, &p, &r), L2H_ERR_ARG);
    l2h_groundtruth_free(gt);
    l2h_groundtruth_free(NULL);
    CHECK_EQ_I(l2h_groundtruth_n_query(NULL), 0);
    free(q);
    free(db);
    free(lq);
    free(ldb);
}

int main(void)
{
    const uint64_t seed = test_seed();
    test_hand();
    test_random_brute(seed);
    test_tie_enumeration(seed);
    test_tie_monte_carlo(seed);
    test_multilabel(seed);
    test_euclidean(seed);
    test_percentile(seed);
    test_threads_and_errors(seed);
    return check_report();
}
