/* test_mi_quality.c -- the MI quality of hard codes against a plain double-precision
 * computation written here (bit-by-bit distances, counts, entropies), for every supervision kind
 * and both conventions; hand cases with known values; argument errors. */
#include "check.h"

#include "core.h"
#include "l2h/codes.h"
#include "objective.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static l2h_rng g_rng;

static int bit_at(const uint8_t *code, size_t j)
{
    return (code[j / 8] >> (j % 8)) & 1;
}

static double plogp_sum(const double *cnt, size_t m, double total)
{
    double h = 0.0;
    for (size_t l = 0; l < m; l++)
        if (cnt[l] > 0) h -= cnt[l] / total * log2(cnt[l] / total);
    return h;
}

/* Q written out directly from the definition. */
static double direct_q(const uint8_t *codes, size_t n, size_t bits, const l2h_supervision *s,
                       int include_self, int merge, double *per)
{
    const size_t bytes = (bits + 7) / 8, nb = merge ? bits : bits + 1;
    double *pos = calloc(nb, sizeof *pos), *neg = calloc(nb, sizeof *neg),
           *all = calloc(nb, sizeof *all);
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        memset(pos, 0, nb * sizeof *pos);
        memset(neg, 0, nb * sizeof *neg);
        double np = 0, nn = 0;
        for (size_t j = 0; j < n; j++) {
            if (j == i && !include_self) continue;
            size_t d = 0;
            for (size_t k = 0; k < bits; k++)
                d += bit_at(codes + i * bytes, k) != bit_at(codes + j * bytes, k);
            if (d > nb - 1) d = nb - 1;
            int similar;
            if (j == i)
                similar = 1;
            else if (s->kind == L2H_SUP_LABELS)
                similar = s->labels[i] == s->labels[j];
            else if (s->kind == L2H_SUP_AFFINITY)
                similar = s->affinity[i * n + j] != 0;
            else {
                similar = 0;
                for (size_t l = 0; l < s->n_labels; l++)
                    if (s->multilabels[i * s->n_labels + l] && s->multilabels[j * s->n_labels + l])
                        similar = 1;
            }
            if (similar) {
                pos[d] += 1;
                np += 1;
            } else {
                neg[d] += 1;
                nn += 1;
            }
        }
        double mi = 0.0;
        if (np > 0 && nn > 0) {
            for (size_t l = 0; l < nb; l++)
                all[l] = pos[l] + neg[l];
            mi = plogp_sum(all, nb, np + nn) - np / (np + nn) * plogp_sum(pos, nb, np) -
                 nn / (np + nn) * plogp_sum(neg, nb, nn);
            if (mi < 0) mi = 0;
        }
        per[i] = mi;
        sum += mi;
    }
    free(pos);
    free(neg);
    free(all);
    return sum / (double)n;
}

static void random_codes(uint8_t *codes, size_t n, size_t bits, int garbage_high)
{
    const size_t bytes = (bits + 7) / 8;
    for (size_t i = 0; i < n * bytes; i++)
        codes[i] = (uint8_t)l2h_rng_next(&g_rng);
    if (!garbage_high && bits % 8)
        for (size_t i = 0; i < n; i++)
            codes[i * bytes + bytes - 1] &= (uint8_t)((1u << (bits % 8)) - 1);
}

/* Codes correlated with the labels, so MI is well away from 0. */
static void clustered_codes(uint8_t *codes, const int32_t *lab, size_t n, size_t bits)
{
    const size_t bytes = (bits + 7) / 8;
    uint8_t proto[8][128];
    for (int c = 0; c < 8; c++)
        for (size_t k = 0; k < bytes; k++)
            proto[c][k] = (uint8_t)l2h_rng_next(&g_rng);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < bytes; k++) {
            uint8_t flip = 0;
            for (int b = 0; b < 8; b++)
                flip |= (uint8_t)((l2h_rng_uniform(&g_rng) < 0.2) << b);
            codes[i * bytes + k] = proto[lab[i] % 8][k] ^ flip;
        }
}

static void test_against_direct(void)
{
    const size_t sizes[] = {1, 7, 16, 33, 64, 100, 255};
    enum { N = 61 };
    int32_t lab[N];
    uint8_t ml[N * 4], aff[N * N];
    for (size_t i = 0; i < N; i++) {
        lab[i] = (int32_t)l2h_rng_below(&g_rng, 5);
        for (size_t l = 0; l < 4; l++)
            ml[i * 4 + l] = l2h_rng_uniform(&g_rng) < 0.3;
    }
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++)
            aff[i * N + j] = l2h_rng_uniform(&g_rng) < 0.25;
    const l2h_supervision sups[3] = {
        {.kind = L2H_SUP_LABELS, .n = N, .labels = lab},
        {.kind = L2H_SUP_MULTILABELS, .n = N, .multilabels = ml, .n_labels = 4},
        {.kind = L2H_SUP_AFFINITY, .n = N, .affinity = aff},
    };
    uint8_t *codes = malloc(N * 32);
    double per[N], per_ref[N];
    int all_ok = 1, nonzero = 0;
    for (size_t b = 0; b < sizeof sizes / sizeof sizes[0]; b++)
        for (int clustered = 0; clustered < 2; clustered++)
            for (int k = 0; k < 3; k++)
                for (int ref = 0; ref < 2; ref++) {
                    const size_t bits = sizes[b];
                    if (clustered)
                        clustered_codes(codes, lab, N, bits);
                    else
                        random_codes(codes, N, bits, 0);
                    const l2h_mi_quality_params p =
                        ref ? l2h_mi_quality_reference_params() : l2h_mi_quality_default_params();
                    double q = -1.0;
                    CHECK_OK(l2h_mi_quality(codes, N, bits, &sups[k], &p, &q, per));
                    const double want = direct_q(codes, N, bits, &sups[k], ref, ref, per_ref);
                    int ok = fabs(q - want) <= 1e-9;
                    for (size_t i = 0; i < N; i++)
                        ok &= fabs(per[i] - per_ref[i]) <= 1e-9;
                    if (!ok)
                        fprintf(stderr, "bits %zu sup %d ref %d clustered %d: %.12f vs %.12f\n",
                                bits, k, ref, clustered, q, want);
                    all_ok &= ok;
                    nonzero += want > 0.05;
                }
    CHECK(all_ok);
    CHECK(nonzero > 20); /* the comparison was not between zeros */
    free(codes);
}

static double h2(double p)
{
    return -p * log2(p) - (1 - p) * log2(1 - p);
}

static void test_hand_cases(void)
{
    /* two classes of 4, codes 0x00 and 0xff: perfect separation, MI = H(C) = h(3/7) */
    const int32_t lab[8] = {0, 0, 0, 0, 1, 1, 1, 1};
    const l2h_supervision s = {.kind = L2H_SUP_LABELS, .n = 8, .labels = lab};
    uint8_t codes[8] = {0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff};
    l2h_mi_quality_params p = l2h_mi_quality_default_params();
    double q, per[8];
    CHECK_OK(l2h_mi_quality(codes, 8, 8, &s, &p, &q, per));
    CHECK_NEAR(q, h2(3.0 / 7.0), 1e-12, 0.0);
    CHECK_NEAR(per[5], h2(3.0 / 7.0), 1e-12, 0.0);
    /* reference convention: the self pair makes it 4 neighbours of 8: one full bit */
    const l2h_mi_quality_params r = l2h_mi_quality_reference_params();
    CHECK_OK(l2h_mi_quality(codes, 8, 8, &s, &r, &q, NULL));
    CHECK_NEAR(q, 1.0, 1e-12, 0.0);
    /* separation by any distance pattern: class 1 codes differ among themselves too */
    const uint8_t codes2[8] = {0x01, 0x01, 0x01, 0x01, 0xf0, 0xf0, 0xf0, 0xf0};
    CHECK_OK(l2h_mi_quality(codes2, 8, 8, &s, &p, &q, NULL));
    CHECK_NEAR(q, h2(3.0 / 7.0), 1e-12, 0.0);
    /* identical codes: D is constant, MI = 0 */
    const uint8_t same[8] = {0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a};
    CHECK_OK(l2h_mi_quality(same, 8, 8, &s, &p, &q, per));
    CHECK(q == 0.0 && per[0] == 0.0);
    CHECK_OK(l2h_mi_quality(same, 8, 8, &s, &r, &q, NULL));
    CHECK(q == 0.0);
    /* one class: every anchor degenerate, 0; the reference's self pair changes nothing */
    const int32_t one[8] = {3, 3, 3, 3, 3, 3, 3, 3};
    const l2h_supervision s1 = {.kind = L2H_SUP_LABELS, .n = 8, .labels = one};
    CHECK_OK(l2h_mi_quality(codes, 8, 8, &s1, &p, &q, NULL));
    CHECK(q == 0.0);
    /* singletons: no neighbour except self; default 0, reference counts self vs the rest */
    const int32_t distinct[4] = {0, 1, 2, 3};
    const l2h_supervision s4 = {.kind = L2H_SUP_LABELS, .n = 4, .labels = distinct};
    const uint8_t c4[4] = {0x0, 0x1, 0x3, 0x7};
    CHECK_OK(l2h_mi_quality(c4, 4, 3, &s4, &p, &q, NULL));
    CHECK(q == 0.0);
    CHECK_OK(l2h_mi_quality(c4, 4, 3, &s4, &r, &q, NULL));
    CHECK(q > 0.0);
    /* the merged last bin: neighbours at distance 1, non-neighbours at 2 = b */
    const int32_t lab3[3] = {0, 0, 1};
    const l2h_supervision s3 = {.kind = L2H_SUP_LABELS, .n = 3, .labels = lab3};
    const uint8_t c3[3] = {0x0, 0x1, 0x3}; /* d(0,1) = 1, d(0,2) = 2, d(1,2) = 1 */
    double pa[3];
    CHECK_OK(l2h_mi_quality(c3, 3, 2, &s3, &p, &q, pa));
    CHECK_NEAR(pa[0], 1.0, 1e-12, 0.0); /* 1 neighbour at 1, 1 non-neighbour at 2 */
    l2h_mi_quality_params merged = p;
    merged.merge_last_bin = 1;
    CHECK_OK(l2h_mi_quality(c3, 3, 2, &s3, &merged, &q, pa));
    CHECK(pa[0] == 0.0);
    /* bits past `bits` are ignored */
    uint8_t hi[8];
    memcpy(hi, codes, 8);
    for (int i = 0; i < 8; i++)
        hi[i] |= 0xc0;
    double q6, q6hi;
    CHECK_OK(l2h_mi_quality(codes, 8, 6, &s, &p, &q6, NULL));
    CHECK_OK(l2h_mi_quality(hi, 8, 6, &s, &p, &q6hi, NULL));
    CHECK(q6 == q6hi);
}

static void test_threads_and_errors(void)
{
    enum { N = 300, BITS = 48 };
    uint8_t *codes = malloc(N * 6);
    int32_t lab[N];
    for (size_t i = 0; i < N; i++)
        lab[i] = (int32_t)(i % 7);
    clustered_codes(codes, lab, N, BITS);
    const l2h_supervision s = {.kind = L2H_SUP_LABELS, .n = N, .labels = lab};
    const l2h_mi_quality_params p = l2h_mi_quality_default_params();
    double q1, q2;
    const int saved = l2h_threads();
    l2h_set_threads(1);
    CHECK_OK(l2h_mi_quality(codes, N, BITS, &s, &p, &q1, NULL));
    l2h_set_threads(2);
    CHECK_OK(l2h_mi_quality(codes, N, BITS, &s, &p, &q2, NULL));
    l2h_set_threads(saved);
    CHECK(q1 == q2 && q1 > 0.1);
    double q;
    CHECK_STATUS(l2h_mi_quality(NULL, N, BITS, &s, &p, &q, NULL), L2H_ERR_ARG);
    CHECK_STATUS(l2h_mi_quality(codes, N, 0, &s, &p, &q, NULL), L2H_ERR_ARG);
    CHECK_STATUS(l2h_mi_quality(codes, N, L2H_MAX_BITS + 1, &s, &p, &q, NULL), L2H_ERR_ARG);
    CHECK_STATUS(l2h_mi_quality(codes, 0, BITS, &s, &p, &q, NULL), L2H_ERR_ARG);
    CHECK_STATUS(l2h_mi_quality(codes, N - 1, BITS, &s, &p, &q, NULL), L2H_ERR_ARG);
    const l2h_supervision nolab = {.kind = L2H_SUP_LABELS, .n = N};
    CHECK_STATUS(l2h_mi_quality(codes, N, BITS, &nolab, &p, &q, NULL), L2H_ERR_ARG);
    const l2h_supervision noml = {.kind = L2H_SUP_MULTILABELS, .n = N, .n_labels = 0};
    CHECK_STATUS(l2h_mi_quality(codes, N, BITS, &noml, &p, &q, NULL), L2H_ERR_ARG);
    const l2h_supervision badkind = {.kind = (l2h_sup_kind)7, .n = N};
    CHECK_STATUS(l2h_mi_quality(codes, N, BITS, &badkind, &p, &q, NULL), L2H_ERR_ARG);
    free(codes);
}

/* Mini-batch gathering of each supervision kind keeps the neighbour relation. */
static void test_gather(void)
{
    enum { N = 20, M = 7 };
    int32_t lab[N];
    uint8_t ml[N * 3], aff[N * N];
    for (size_t i = 0; i < N; i++) {
        lab[i] = (int32_t)l2h_rng_below(&g_rng, 4);
        for (size_t l = 0; l < 3; l++)
            ml[i * 3 + l] = l2h_rng_uniform(&g_rng) < 0.4;
        for (size_t j = 0; j < N; j++)
            aff[i * N + j] = l2h_rng_uniform(&g_rng) < 0.5;
    }
    const l2h_supervision sups[3] = {
        {.kind = L2H_SUP_LABELS, .n = N, .labels = lab},
        {.kind = L2H_SUP_MULTILABELS, .n = N, .multilabels = ml, .n_labels = 3},
        {.kind = L2H_SUP_AFFINITY, .n = N, .affinity = aff},
    };
    const size_t idx[M] = {19, 3, 3, 0, 11, 7, 12};
    uint64_t buf[64];
    for (int k = 0; k < 3; k++) {
        CHECK(l2h_sup_gather_bytes(&sups[k], M) <= sizeof buf);
        l2h_supervision g;
        CHECK_OK(l2h_sup_gather(&sups[k], idx, M, buf, &g));
        CHECK_OK(l2h_sup_check(&g, M));
        int same = 1;
        for (size_t i = 0; i < M; i++)
            for (size_t j = 0; j < M; j++)
                if (i != j && idx[i] != idx[j])
                    same &= l2h_sup_similar(&g, i, j) == l2h_sup_similar(&sups[k], idx[i], idx[j]);
        CHECK(same);
        const size_t badidx[2] = {0, N};
        CHECK_STATUS(l2h_sup_gather(&sups[k], badidx, 2, buf, &g), L2H_ERR_ARG);
    }
}

int main(void)
{
    l2h_rng_seed(&g_rng, test_seed());
    test_against_direct();
    test_hand_cases();
    test_threads_and_errors();
    test_gather();
    return check_report();
}
