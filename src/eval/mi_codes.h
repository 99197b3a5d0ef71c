/* mi_codes.h -- the mutual-information quality of hard binary codes (MIHash eqs. 2-6) as a
 * popcount kernel with per-anchor histograms that can be kept up to date item by item.
 *
 * For a set of n items with packed codes and a neighbour relation (same label, or a 0/1
 * affinity matrix), every item i is an anchor: D = Hamming distance from i to the other items,
 * C = neighbour or not, I_i(D; C) = H(D) − P(+) H(D|+) − P(−) H(D|−) in bits, Q = mean_i I_i.
 * The conventions are those of l2h_mi_quality (src/objective, docs/mihash.md §3):
 * include_self (i is its own neighbour at distance 0), merge_last_bin (b bins, distances b − 1
 * and b share the last), clip_negative (I_i < 0, only by rounding, becomes 0); an anchor without
 * a neighbour or without a non-neighbour has I_i = 0 exactly.
 *
 * The kernel (l2h_mi_codes): codes padded once to 64-bit words; for each anchor one dispatched
 * Hamming scan (AVX-512 VPOPCNTQ / AVX2 / POPCNT) gives its n distances. With labels the items
 * are first grouped by class, so an anchor's neighbours are one contiguous block: its histogram
 * of all distances (one increment per item, spread over four copies so that repeated bins do
 * not serialise) and its class's histogram (one increment per neighbour) give the positive and
 * the negative histogram (all − positive). With an affinity matrix one histogram of 2 × nbins
 * counters is filled with bin 2d + s (s = 1 for a neighbour). Stored per anchor interleaved as
 * [2d] negatives, [2d + 1] positives at distance d. On CPUs with AVX-512 (BW + VPOPCNTDQ) and
 * codes of at most 64 bits, the build computes an anchor's distances as bytes, 8 codes per
 * VPOPCNTQ, and counts each distance value present with byte compares into 64-bit masks and
 * popcounts (a neighbour mask ANDed in for the positives) instead of one increment per item;
 * it is used when the active Hamming kernel is "avx512-vpopcntdq" (L2H_KERNEL / 
 * l2h_hamming_set_kernel select the scalar path). The MI of an
 * anchor is then evaluated from integer counts with a table t[c] = c log2 c:
 *   I_i = [t(T) − t(n+) − t(n−) − Σ_d t(a_d) + Σ_d t(p_d) + Σ_d t(q_d)] / T
 * (p_d, q_d positives / negatives at distance d, a_d = p_d + q_d, T = n+ + n−), which is the
 * plug-in formula rearranged (no log per call).
 *
 * Incremental use: l2h_mi_codes_remove(k) + l2h_mi_codes_insert(k, …) replace the item in slot k
 * (or append when k == n) in O(n ⌈b/64⌉) — one scan each — leaving every histogram exactly equal
 * to a full rebuild of the new set. Per-anchor MIs are recomputed from the histograms on demand
 * (O(n b) table look-ups, no logarithms).
 *
 * l2h_mi_codes_plain is the plain reference (byte-wise popcount, two explicit histograms,
 * textbook entropies) the tests hold the kernel to: equal histograms, MI equal to rounding. */
#ifndef L2H_MI_CODES_H
#define L2H_MI_CODES_H

#include "core.h"

typedef struct l2h_mi_codes_opts {
    int include_self;   /* the pair (i, i) is a neighbour at distance 0          */
    int merge_last_bin; /* b bins (MATLAB histcounts with edges 0..b), else b + 1 */
    int clip_negative;  /* I_i < 0 becomes 0                                    */
} l2h_mi_codes_opts;

/* The reference code's conventions (the online Trigger Update's Q_R): all three set. */
l2h_mi_codes_opts l2h_mi_codes_reference_opts(void);

typedef struct l2h_mi_codes {
    size_t cap, n, bits, words, nbins;
    l2h_mi_codes_opts o;
    const uint8_t *aff; /* affinity mode: borrowed [cap, aff_stride] 0/1 matrix, or NULL */
    size_t aff_stride;
    uint64_t *pc;    /* [cap, words] padded codes of the items                      */
    int32_t *labels; /* [cap] labels (label mode)                                   */
    uint32_t *hist;  /* [cap, 2 nbins]: bin 2d + s, s = 1 for a neighbour            */
    double *tl;      /* [cap + 2] t[c] = c log2 c                                   */
    int32_t *dist;   /* [cap] scratch                                               */
    uint64_t *pcs;   /* [cap, words] scratch: codes grouped by label (label mode build) */
    uint32_t *order; /* [cap] scratch: item of each grouped position                 */
    uint32_t *blk;   /* [2 cap] scratch: [begin, end) of each grouped position's class */
    uint8_t *db;     /* [cap + 64] scratch: byte distances (vector path)              */
    uint64_t *amask; /* [cap / 64 + 1] scratch: neighbour bits of a row (vector path)  */
    double *mi;      /* [cap] per-anchor MI (valid iff mi_valid)                    */
    int mi_valid;
} l2h_mi_codes;

/* Room for up to cap items of `bits` bits. aff: NULL for label mode; otherwise the 0/1
 * neighbour matrix (row i, column j at aff[i * aff_stride + j]) that every later call reads:
 * the caller keeps it in step with the items (see l2h_mi_codes_remove / _insert). */
l2h_status l2h_mi_codes_init(l2h_mi_codes *m, size_t cap, size_t bits, const l2h_mi_codes_opts *o,
                             const uint8_t *aff, size_t aff_stride);
void l2h_mi_codes_release(l2h_mi_codes *m);

/* Full build from codes[n, l2h_code_bytes(bits)] (and labels[n] in label mode); n <= cap. */
l2h_status l2h_mi_codes_build(l2h_mi_codes *m, const uint8_t *codes, size_t n,
                              const int32_t *labels);

/* Takes the item of slot k out of every other anchor's histogram (call while the affinity
 * matrix still holds its old row and column). The slot stays a hole until _insert(k). */
void l2h_mi_codes_remove(l2h_mi_codes *m, size_t k);
/* Puts a new item into slot k (k < n after a _remove(k), or k == n to append; the affinity row
 * and column k must already be the new item's): every anchor's histogram gains it, and anchor
 * k's histogram is rebuilt. */
void l2h_mi_codes_insert(l2h_mi_codes *m, size_t k, const uint8_t *code, int32_t label);

/* Q = mean over the n anchors; mi[n] (may be NULL) receives the per-anchor values. n >= 1. */
l2h_status l2h_mi_codes_quality(l2h_mi_codes *m, double *q, double *mi);

/* One-shot: Q of codes[n] (labels or aff[n, n]) with the kernel. mi may be NULL. */
l2h_status l2h_mi_codes_eval(const uint8_t *codes, size_t n, size_t bits, const int32_t *labels,
                             const uint8_t *aff, const l2h_mi_codes_opts *o, double *q,
                             double *mi);

/* The plain reference: same quantities, straightforward code. hist[n, 2 nbins] (may be NULL)
 * gets the same layout as the kernel's m->hist; mi[n] may be NULL. */
l2h_status l2h_mi_codes_plain(const uint8_t *codes, size_t n, size_t bits, const int32_t *labels,
                              const uint8_t *aff, const l2h_mi_codes_opts *o, uint32_t *hist,
                              double *mi, double *q);

#endif
