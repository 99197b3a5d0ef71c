/* test_mutation_gaps.c -- tests for three planted bugs the suite did not catch (issue 14,
 * item 15), each written so that the planted bug makes it fail:
 *   1. MI of an anchor whose true MI is 0 is clipped to exactly 0 (the plug-in MI is a KL
 *      divergence; only rounding makes it negative). The test searches for a neighbour
 *      structure whose unclipped value, computed with the same operations, rounds below 0.
 *   2. The exact fallback of the Euclidean ground truth (taken when the fast dot product
 *      overflows) at a point exactly on the threshold: <= is relevant, < would not be.
 *   3. The Fisher-Yates shuffle produces every permutation of 3 items. */
#include "check.h"
#include "core.h"
#include "eval_internal.h"
#include "l2h/eval.h"
#include "l2h/io.h"
#include "objective.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* ---- 1. MI clip -------------------------------------------------------------------------- */

/* The reference mode's anchor MI with the same operations as mi_quality.c, unclipped. */
static double entropy_ref(const double *h, size_t m, double total)
{
    double e = 0.0;
    for (size_t l = 0; l < m; l++)
        if (h[l] != 0) {
            const double p = h[l] / total;
            e -= p * log2(p);
        }
    return e;
}

static void test_mi_clip(void)
{
    /* anchor 0 has code 0; items 1..: every code of `bits` bits, once as a neighbour of the
     * anchor and k times as a non-neighbour, so that both distance histograms are proportional
     * (true MI 0); the reference mode counts the anchor itself as a neighbour at distance 0, so
     * the neighbour copies leave code 0 out. */
    int found = 0;
    for (size_t bits = 2; bits <= 6 && !found; bits++)
        for (size_t k = 2; k <= 12 && !found; k++) {
            const size_t m = (size_t)1 << bits, n = 1 + (m - 1) + k * m;
            uint8_t *codes = calloc(n, 1), *aff = calloc(n * n, 1);
            double *mi = calloc(n, sizeof *mi);
            size_t t = 1;
            for (size_t c = 1; c < m; c++) codes[t++] = (uint8_t)c;
            for (size_t r = 0; r < k; r++)
                for (size_t c = 0; c < m; c++) codes[t++] = (uint8_t)c;
            for (size_t i = 0; i < m; i++) /* anchor 0 and its m - 1 neighbours */
                for (size_t j = 0; j < m; j++) aff[i * n + j] = 1;
            for (size_t i = m; i < n; i++) aff[i * n + i] = 1;
            /* unclipped reference for anchor 0: bins 0..bits-1 (last two merged) */
            double hp[64] = {0}, hn[64] = {0}, ha[64] = {0};
            const size_t nbins = bits;
            for (size_t j = 0; j < n; j++) {
                size_t d = (size_t)__builtin_popcount(codes[j]);
                if (d >= nbins) d = nbins - 1;
                if (aff[j]) hp[d] += 1;
                else hn[d] += 1;
            }
            double cp = 0, cn = 0;
            for (size_t l = 0; l < nbins; l++) {
                cp += hp[l];
                cn += hn[l];
                ha[l] = hp[l] + hn[l];
            }
            const double tot = cp + cn;
            const double raw = entropy_ref(ha, nbins, tot) - cp / tot * entropy_ref(hp, nbins, cp) -
                               cn / tot * entropy_ref(hn, nbins, cn);
            if (raw < 0.0) {
                found = 1;
                const l2h_supervision s = {.kind = L2H_SUP_AFFINITY, .n = n, .affinity = aff};
                const l2h_mi_quality_params p = l2h_mi_quality_reference_params();
                double q;
                CHECK_OK(l2h_mi_quality(codes, n, bits, &s, &p, &q, mi));
                CHECK(mi[0] == 0.0); /* clipped to exactly 0, not a negative rounding */
                for (size_t i = 0; i < n; i++) CHECK(mi[i] >= 0.0);
            }
            free(codes);
            free(aff);
            free(mi);
        }
    CHECK(found); /* a structure whose rounding goes negative exists among those tried */
}

/* ---- 2. Euclidean exact fallback at the threshold ------------------------------------------ */

static void test_euclid_fallback_threshold(void)
{
    /* values near 2^64: the float dot product (2^128) overflows, so relevance comes from the
     * exact double distance; the spacing of floats there is 2^41, so x - q = 2^41 exactly */
    const float q = 0x1p64f, on = 0x1p64f + 0x1p41f, above = 0x1p64f + 0x1p42f;
    const float thr = 0x1p41f;
    const float xq[1] = {q}, xdb[3] = {on, above, q};
    l2h_dataset *dq = NULL, *ddb = NULL;
    CHECK_OK(l2h_dataset_create(&dq, 1, 1, xq));
    CHECK_OK(l2h_dataset_create(&ddb, 3, 1, xdb));
    l2h_groundtruth *gt = NULL;
    CHECK_OK(l2h_groundtruth_euclidean(&gt, dq, ddb, thr));
    if (gt) {
        uint8_t rel[3] = {9, 9, 9};
        float dots[3];
        l2h_gt_relevance_block(gt, 0, 1, rel, dots);
        CHECK_EQ_I(rel[0], 1); /* exactly on the threshold: relevant (<=) */
        CHECK_EQ_I(rel[1], 0); /* beyond it */
        CHECK_EQ_I(rel[2], 1); /* distance 0 */
        CHECK((double)q * (double)q > (double)FLT_MAX); /* the float dot product overflows */
    }
    l2h_groundtruth_free(gt);
    l2h_dataset_free(dq);
    l2h_dataset_free(ddb);
}

/* ---- 3. every permutation of 3 items --------------------------------------------------- */

static void test_shuffle_permutations(void)
{
    l2h_rng r;
    l2h_rng_seed(&r, test_seed());
    int seen[3][3][3] = {{{0}}};
    for (int t = 0; t < 600; t++) {
        size_t a[3] = {0, 1, 2};
        l2h_rng_shuffle(&r, a, 3);
        CHECK(a[0] + a[1] + a[2] == 3 && a[0] != a[1] && a[1] != a[2] && a[0] != a[2]);
        seen[a[0]][a[1]][a[2]]++;
    }
    /* each of the 6 permutations has probability 1/6: 100 expected in 600, and fewer than 50
     * has probability below 1e-8 */
    int perms = 0;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 3; k++)
                if (i != j && j != k && i != k) {
                    CHECK(seen[i][j][k] >= 50);
                    perms++;
                }
    CHECK_EQ_I(perms, 6);
}

int main(void)
{
    test_mi_clip();
    test_euclid_fallback_threshold();
    test_shuffle_permutations();
    return check_report();
}
