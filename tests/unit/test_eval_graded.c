/* test_eval_graded.c -- graded relevance: the "shares at least m labels" rule, the grades
 * (number of shared labels), NDCG@k, ACG@k and weighted mAP against hand-computed values, a
 * brute-force reference (full sort, textbook formulas) on random multi-label data, weighted mAP =
 * mAP on single labels, thread-count independence and argument errors. */
#include "check.h"
#include "core.h"
#include "l2h/codes.h"
#include "l2h/eval.h"
#include "l2h/io.h"

#include <math.h>
#include <string.h>

static l2h_dataset *ml_dataset(size_t n, size_t L, const uint8_t *y)
{
    l2h_dataset *d = NULL;
    CHECK_OK(l2h_dataset_create(&d, n, 1, NULL));
    CHECK_OK(l2h_dataset_set_multilabels(d, L, y));
    return d;
}

/* One query {0,1}; items A {0,1}, B {0}, C {2}, D {1,2} with grades 2, 1, 0, 1 at Hamming
 * distances 3, 1, 0, 1 -> ranking C, B, D, A (B before D: database order), grades 0, 1, 1, 2. */
static void test_hand(void)
{
    const uint8_t yq[3] = {1, 1, 0};
    const uint8_t yd[12] = {1, 1, 0, /* A */ 1, 0, 0, /* B */ 0, 0, 1, /* C */ 0, 1, 1 /* D */};
    const uint8_t cq[1] = {0x00}, cd[4] = {0x07, 0x10, 0x00, 0x80};
    l2h_dataset *a = ml_dataset(1, 3, yq), *b = ml_dataset(4, 3, yd);
    l2h_groundtruth *g1 = NULL, *g2 = NULL;
    CHECK_OK(l2h_groundtruth_from_labels_min(&g1, a, b, 1));
    CHECK_OK(l2h_groundtruth_from_labels_min(&g2, a, b, 2));

    uint16_t grade[4];
    CHECK_OK(l2h_groundtruth_grades(g1, 0, grade));
    CHECK(grade[0] == 2 && grade[1] == 1 && grade[2] == 0 && grade[3] == 1);
    uint8_t rel[4];
    CHECK_OK(l2h_groundtruth_relevance(g2, 0, rel));
    CHECK(rel[0] == 1 && rel[1] == 0 && rel[2] == 0 && rel[3] == 0);
    CHECK_OK(l2h_groundtruth_relevance(g1, 0, rel));
    CHECK(rel[0] == 1 && rel[1] == 1 && rel[2] == 0 && rel[3] == 1);

    /* mAP: >= 1 label: relevant at ranks 2, 3, 4 -> (1/2 + 2/3 + 3/4) / 3; >= 2: rank 4 -> 1/4 */
    l2h_eval_params ep = l2h_eval_default_params();
    l2h_eval_result r;
    CHECK_OK(l2h_eval_codes(cq, 1, cd, 4, 8, g1, &ep, &r));
    CHECK_NEAR(r.map, (0.5 + 2.0 / 3.0 + 0.75) / 3.0, 1e-12, 1e-12);
    CHECK_OK(l2h_eval_codes(cq, 1, cd, 4, 8, g2, &ep, &r));
    CHECK_NEAR(r.map, 0.25, 1e-12, 1e-12);

    /* k = 3: DCG = 0 + 1/log2 3 + 1/2; ideal (2, 1, 1): 3 + 1/log2 3 + 1/2; ACG@3 = 2/3;
     * weighted AP = (ACG@2 + ACG@3 + ACG@4) / 3 = (1/2 + 2/3 + 4/4) / 3 */
    l2h_graded_result gr;
    CHECK_OK(l2h_eval_graded(cq, 1, cd, 4, 8, g1, 3, 0, &gr));
    const double l3 = 1.0 / log2(3.0);
    CHECK_NEAR(gr.ndcg_at_k, (l3 + 0.5) / (3.0 + l3 + 0.5), 1e-12, 1e-12);
    CHECK_NEAR(gr.acg_at_k, 2.0 / 3.0, 1e-12, 1e-12);
    CHECK_NEAR(gr.map_weighted, (0.5 + 2.0 / 3.0 + 1.0) / 3.0, 1e-12, 1e-12);
    CHECK_EQ_I(gr.k, 3);
    CHECK_EQ_I(gr.n_queries, 1);
    /* the grades do not depend on the relevance rule */
    l2h_graded_result gr2;
    CHECK_OK(l2h_eval_graded(cq, 1, cd, 4, 8, g2, 3, 0, &gr2));
    CHECK(gr2.ndcg_at_k == gr.ndcg_at_k && gr2.map_weighted == gr.map_weighted);
    /* k beyond n_db is clamped; the perfect order gives NDCG 1 */
    const uint8_t perfect[4] = {0x00, 0x01, 0xff, 0x03}; /* A 0, B 1, C 8, D 2 -> 2, 1, 1, 0 */
    CHECK_OK(l2h_eval_graded(cq, 1, perfect, 4, 8, g1, 10, 0, &gr));
    CHECK_EQ_I(gr.k, 4);
    CHECK_NEAR(gr.ndcg_at_k, 1.0, 1e-15, 0);
    CHECK_NEAR(gr.acg_at_k, 4.0 / 4.0, 1e-15, 0);
    /* k = 1 on the first ranking: the top item has grade 0 -> NDCG@1 = 0 */
    CHECK_OK(l2h_eval_graded(cq, 1, cd, 4, 8, g1, 1, 0, &gr));
    CHECK(gr.ndcg_at_k == 0.0);

    /* errors */
    l2h_groundtruth *bad = (l2h_groundtruth *)1;
    CHECK(l2h_groundtruth_from_labels_min(&bad, a, b, 0) == L2H_ERR_ARG && bad == NULL);
    CHECK(l2h_eval_graded(cq, 1, cd, 4, 8, g1, 0, 0, &gr) == L2H_ERR_ARG);
    CHECK(l2h_eval_graded(cq, 1, cd, 3, 8, g1, 3, 0, &gr) == L2H_ERR_ARG);
    CHECK(l2h_eval_graded(cq, 1, cd, 4, 0, g1, 3, 0, &gr) == L2H_ERR_ARG);
    CHECK(l2h_groundtruth_grades(g1, 1, grade) == L2H_ERR_ARG);
    l2h_dataset *s = NULL;
    const int32_t lab[4] = {0, 1, 0, 1};
    CHECK_OK(l2h_dataset_create(&s, 4, 1, NULL));
    CHECK_OK(l2h_dataset_set_labels(s, lab));
    CHECK(l2h_groundtruth_from_labels_min(&bad, s, s, 2) == L2H_ERR_ARG);
    l2h_dataset_free(s);
    l2h_groundtruth_free(g1);
    l2h_groundtruth_free(g2);
    l2h_dataset_free(a);
    l2h_dataset_free(b);
}

/* ---- brute force: full sort by (distance, index), textbook formulas ------------------------- */
static const uint32_t *sort_d;
static int cmp_rank(const void *pa, const void *pb)
{
    const size_t x = *(const size_t *)pa, y = *(const size_t *)pb;
    if (sort_d[x] != sort_d[y]) return sort_d[x] < sort_d[y] ? -1 : 1;
    return x < y ? -1 : (x > y);
}
static int cmp_desc(const void *pa, const void *pb)
{
    const unsigned x = *(const unsigned *)pa, y = *(const unsigned *)pb;
    return x < y ? 1 : (x > y ? -1 : 0);
}

static uint32_t brute_ham(const uint8_t *a, const uint8_t *b, size_t bits)
{
    uint32_t d = 0;
    for (size_t j = 0; j < bits; j++) d += ((a[j / 8] ^ b[j / 8]) >> (j % 8)) & 1;
    return d;
}

static void test_random_brute(uint64_t seed)
{
    const size_t nq = 17, n_db = 211, L = 70, bits = 12, B = 2;
    l2h_rng rng;
    l2h_rng_seed(&rng, seed ^ 0x96ade);
    uint8_t *yq = malloc(nq * L), *yd = malloc(n_db * L), *cq = malloc(nq * B),
            *cd = malloc(n_db * B);
    for (size_t i = 0; i < nq * L; i++) yq[i] = l2h_rng_uniform(&rng) < 0.06;
    for (size_t i = 0; i < n_db * L; i++) yd[i] = l2h_rng_uniform(&rng) < 0.06;
    memset(yq, 0, L); /* query 0: no label -> empty */
    for (size_t i = 0; i < nq * B; i++) cq[i] = (uint8_t)l2h_rng_next(&rng);
    for (size_t i = 0; i < n_db * B; i++) cd[i] = (uint8_t)l2h_rng_next(&rng);
    l2h_dataset *a = ml_dataset(nq, L, yq), *b = ml_dataset(n_db, L, yd);
    for (size_t m = 1; m <= 3; m++) {
        l2h_groundtruth *gt = NULL;
        CHECK_OK(l2h_groundtruth_from_labels_min(&gt, a, b, m));
        for (size_t k = 1; k <= 300; k += 99) {
            double sn = 0, sa = 0, sw = 0, smap = 0;
            size_t used = 0, used_m = 0;
            uint32_t d[211];
            size_t idx[211];
            unsigned g[211], gs[211];
            for (size_t qi = 0; qi < nq; qi++) {
                for (size_t i = 0; i < n_db; i++) {
                    d[i] = brute_ham(cq + qi * B, cd + i * B, bits);
                    idx[i] = i;
                    unsigned s = 0;
                    for (size_t c = 0; c < L; c++) s += yq[qi * L + c] && yd[i * L + c];
                    g[i] = s;
                }
                sort_d = d;
                qsort(idx, n_db, sizeof *idx, cmp_rank);
                const size_t kk = k < n_db ? k : n_db;
                double dcg = 0, acg = 0, wap = 0, cum = 0, ap = 0;
                size_t npos = 0, nrel = 0;
                for (size_t r = 0; r < n_db; r++) {
                    const unsigned gr = g[idx[r]];
                    gs[r] = gr;
                    cum += gr;
                    if (r < kk) {
                        dcg += (pow(2.0, gr) - 1.0) / log2((double)r + 2.0);
                        acg += gr;
                    }
                    if (gr) wap += cum / (double)(r + 1), npos++;
                    if (gr >= m) ap += (double)++nrel / (double)(r + 1);
                }
                qsort(gs, n_db, sizeof *gs, cmp_desc);
                double idcg = 0;
                for (size_t r = 0; r < kk; r++) idcg += (pow(2.0, gs[r]) - 1.0) / log2(r + 2.0);
                if (npos) {
                    used++;
                    sn += dcg / idcg;
                    sa += acg / (double)kk;
                    sw += wap / (double)npos;
                }
                if (nrel) used_m++, smap += ap / (double)nrel;
            }
            l2h_graded_result gr;
            CHECK_OK(l2h_eval_graded(cq, nq, cd, n_db, bits, gt, k, 0, &gr));
            CHECK_EQ_I(gr.n_queries, used);
            CHECK_EQ_I(gr.n_empty, nq - used);
            CHECK_NEAR(gr.ndcg_at_k, sn / (double)used, 1e-12, 1e-14);
            CHECK_NEAR(gr.acg_at_k, sa / (double)used, 1e-12, 1e-14);
            CHECK_NEAR(gr.map_weighted, sw / (double)used, 1e-12, 1e-14);
            /* empty_as_zero divides by every query */
            l2h_graded_result gz;
            CHECK_OK(l2h_eval_graded(cq, nq, cd, n_db, bits, gt, k, 1, &gz));
            CHECK_NEAR(gz.ndcg_at_k, sn / (double)nq, 1e-12, 1e-14);
            /* mAP under "at least m labels" */
            l2h_eval_params ep = l2h_eval_default_params();
            l2h_eval_result er;
            CHECK_OK(l2h_eval_codes(cq, nq, cd, n_db, bits, gt, &ep, &er));
            CHECK_EQ_I(er.n_queries, used_m);
            CHECK_NEAR(er.map, used_m ? smap / (double)used_m : 0.0, 1e-12, 1e-14);
            /* the same result with one thread */
            const int t0 = l2h_threads();
            l2h_set_threads(1);
            l2h_graded_result g1;
            CHECK_OK(l2h_eval_graded(cq, nq, cd, n_db, bits, gt, k, 0, &g1));
            l2h_set_threads(t0);
            CHECK(g1.ndcg_at_k == gr.ndcg_at_k && g1.map_weighted == gr.map_weighted &&
                  g1.acg_at_k == gr.acg_at_k);
        }
        l2h_groundtruth_free(gt);
    }
    l2h_dataset_free(a);
    l2h_dataset_free(b);
    free(yq);
    free(yd);
    free(cq);
    free(cd);
}

/* Single labels: grades are 0/1, so weighted mAP = mAP and ACG@k = precision@k. */
static void test_single_equals_map(uint64_t seed)
{
    const size_t nq = 31, n_db = 400, bits = 16;
    l2h_rng rng;
    l2h_rng_seed(&rng, seed ^ 0x5111);
    int32_t lq[31], ld[400];
    uint8_t cq[31 * 2], cd[400 * 2];
    for (size_t i = 0; i < nq; i++) lq[i] = (int32_t)(l2h_rng_next(&rng) % 5);
    for (size_t i = 0; i < n_db; i++) ld[i] = (int32_t)(l2h_rng_next(&rng) % 5);
    for (size_t i = 0; i < sizeof cq; i++) cq[i] = (uint8_t)l2h_rng_next(&rng);
    for (size_t i = 0; i < sizeof cd; i++) cd[i] = (uint8_t)l2h_rng_next(&rng);
    l2h_dataset *a = NULL, *b = NULL;
    CHECK_OK(l2h_dataset_create(&a, nq, 1, NULL));
    CHECK_OK(l2h_dataset_create(&b, n_db, 1, NULL));
    CHECK_OK(l2h_dataset_set_labels(a, lq));
    CHECK_OK(l2h_dataset_set_labels(b, ld));
    l2h_groundtruth *gt = NULL;
    CHECK_OK(l2h_groundtruth_from_labels(&gt, a, b));
    const size_t cut = 50;
    double pat = 0;
    l2h_eval_params ep = l2h_eval_default_params();
    ep.n_cutoffs = 1;
    ep.cutoffs = &cut;
    ep.precision_at = &pat;
    l2h_eval_result er;
    CHECK_OK(l2h_eval_codes(cq, nq, cd, n_db, bits, gt, &ep, &er));
    l2h_graded_result gr;
    CHECK_OK(l2h_eval_graded(cq, nq, cd, n_db, bits, gt, cut, 0, &gr));
    CHECK_NEAR(gr.map_weighted, er.map, 1e-12, 1e-14);
    CHECK_NEAR(gr.acg_at_k, pat, 1e-12, 1e-14);
    CHECK(gr.ndcg_at_k > 0.0 && gr.ndcg_at_k < 1.0);
    l2h_groundtruth_free(gt);
    l2h_dataset_free(a);
    l2h_dataset_free(b);
}

int main(void)
{
    const uint64_t seed = test_seed();
    test_hand();
    test_random_brute(seed);
    test_single_equals_map(seed);
    return check_report();
}
