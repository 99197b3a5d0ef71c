/* mi_quality.c -- the mutual-information quality of hard binary codes (seed eqs. 2-6): for
 * every item i of a set R taken as anchor, D = Hamming distance from i to another item and
 * C = whether that item is a neighbour of i;
 *   I_i(D; C) = H(D) − [P(+) H(D|+) + P(−) H(D|−)]   (log2, plug-in estimates from counts),
 *   Q = (1/|R|) Σ_i I_i.
 * Conventions (docs/mihash.md):
 *   - default: the pair (i, i) is not an observation (b + 1 bins, one per distance 0..b);
 *   - include_self (reference): i is its own neighbour at distance 0, P(+) = |pos|/|R|;
 *   - merge_last_bin (reference, MATLAB histcounts with edges 0..b): b bins, b − 1 and b share;
 *   - clip_negative: I_i < 0 (only by rounding: the plug-in MI is a KL divergence) becomes 0;
 *   - an anchor without a neighbour or without a non-neighbour has I_i = 0 exactly (C is
 *     constant) and still counts in the mean, as in eq. 6 and the reference.
 * Distances: codes padded once to 64-bit words, popcount of XOR. */
#include "eval_mi.h"

#include "l2h/codes.h"

#include <math.h>
#include <string.h>

l2h_mi_quality_params l2h_mi_quality_default_params(void)
{
    return (l2h_mi_quality_params){.include_self = 0, .clip_negative = 1, .merge_last_bin = 0};
}

l2h_mi_quality_params l2h_mi_quality_reference_params(void)
{
    return (l2h_mi_quality_params){.include_self = 1, .clip_negative = 1, .merge_last_bin = 1};
}

static unsigned popcount64(uint64_t x)
{
#if defined(__GNUC__)
    return (unsigned)__builtin_popcountll(x);
#else
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
    return (unsigned)((x * 0x0101010101010101ULL) >> 56);
#endif
}

/* out[n, words]: codes as little-endian 64-bit words, bits past `bits` cleared. */
static void pad_codes(const uint8_t *codes, size_t n, size_t bits, uint64_t *out)
{
    const size_t bytes = l2h_code_bytes(bits), words = l2h_code_words(bits);
    for (size_t i = 0; i < n; i++) {
        uint64_t *w = out + i * words;
        memset(w, 0, words * sizeof *w);
        for (size_t k = 0; k < bytes; k++) {
            uint8_t v = codes[i * bytes + k];
            if (k == bytes - 1 && bits % 8) v &= (uint8_t)((1u << (bits % 8)) - 1u);
            w[k / 8] |= (uint64_t)v << (8 * (k % 8));
        }
    }
}

/* Entropy in bits of counts h[m] summing to total > 0. */
static double entropy_counts(const uint32_t *h, size_t m, double total)
{
    double e = 0.0;
    for (size_t l = 0; l < m; l++)
        if (h[l]) {
            const double p = (double)h[l] / total;
            e -= p * log2(p);
        }
    return e;
}

static double anchor_mi(const uint64_t *pc, size_t words, size_t n, size_t bits, size_t i,
                        const l2h_supervision *s, const l2h_mi_quality_params *p)
{
    uint32_t hist[3][L2H_MAX_BITS + 1]; /* [0] non-neighbours, [1] neighbours, [2] all */
    const size_t nbins = p->merge_last_bin ? bits : bits + 1;
    memset(hist, 0, sizeof hist);
    size_t cnt[2] = {0, 0};
    const uint64_t *a = pc + i * words;
    for (size_t j = 0; j < n; j++) {
        if (j == i) {
            if (p->include_self) {
                hist[1][0]++;
                cnt[1]++;
            }
            continue;
        }
        const uint64_t *c = pc + j * words;
        size_t d = 0;
        for (size_t w = 0; w < words; w++)
            d += popcount64(a[w] ^ c[w]);
        if (d >= nbins) d = nbins - 1;
        const int pos = l2h_sup_similar(s, i, j);
        hist[pos][d]++;
        cnt[pos]++;
    }
    if (cnt[0] == 0 || cnt[1] == 0) return 0.0;
    for (size_t l = 0; l < nbins; l++)
        hist[2][l] = hist[0][l] + hist[1][l];
    const double tot = (double)(cnt[0] + cnt[1]);
    const double mi = entropy_counts(hist[2], nbins, tot) -
                      (double)cnt[1] / tot * entropy_counts(hist[1], nbins, (double)cnt[1]) -
                      (double)cnt[0] / tot * entropy_counts(hist[0], nbins, (double)cnt[0]);
    return (p->clip_negative && mi < 0.0) ? 0.0 : mi;
}

l2h_status l2h_mi_quality(const uint8_t *codes, size_t n, size_t bits, const l2h_supervision *s,
                          const l2h_mi_quality_params *p, double *q, double *mi)
{
    L2H_FAIL_IF(codes == NULL || p == NULL || q == NULL, L2H_ERR_ARG, "MI quality: NULL argument");
    L2H_FAIL_IF(bits == 0 || bits > L2H_MAX_BITS, L2H_ERR_ARG, "MI quality: bits %zu outside 1..%d",
                bits, L2H_MAX_BITS);
    L2H_FAIL_IF(n == 0, L2H_ERR_ARG, "MI quality: no items");
    L2H_FAIL_IF(n > UINT32_MAX, L2H_ERR_ARG, "MI quality: %zu items is too many", n);
    L2H_TRY(l2h_sup_check(s, n));
    const size_t words = l2h_code_words(bits);
    uint64_t *pc = l2h_malloc_array(n * words, sizeof *pc);
    double *per = mi ? mi : l2h_malloc_array(n, sizeof *per);
    if (!pc || !per) {
        l2h_free(pc);
        if (per != mi) l2h_free(per);
        L2H_FAIL(L2H_ERR_NOMEM, "MI quality: out of memory for %zu codes", n);
    }
    pad_codes(codes, n, bits, pc);
    const long nl = (long)n;
#pragma omp parallel for schedule(dynamic, 16) num_threads(l2h_threads())
    for (long i = 0; i < nl; i++)
        per[i] = anchor_mi(pc, words, n, bits, (size_t)i, s, p);
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += per[i];
    *q = sum / (double)n;
    l2h_free(pc);
    if (per != mi) l2h_free(per);
    return L2H_OK;
}
