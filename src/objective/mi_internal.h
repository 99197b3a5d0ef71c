/* mi_internal.h -- the soft-histogram mutual information of one anchor, shared by the batch
 * and online MIHash objectives (mi_soft.c). */
#ifndef L2H_MI_INTERNAL_H
#define L2H_MI_INTERNAL_H

#include "objective.h"

/* Clamp of the sigmoid argument (the reference's util/sigmoid.m): exp never overflows, and the
 * derivative is taken as 0 outside. */
#define L2H_MI_SIG_CLAMP 42.0

/* Flags of the items seen by an anchor. */
enum { L2H_MI_NEG = 0, L2H_MI_POS = 1, L2H_MI_SKIP = 2 };

/* Anchor with m items at relaxed distances d[m] in [0, b] (clamped into it here), flag[m] one of
 * the values above; K + 1 triangular bins of width delta = b / K centred on l·delta.
 * Returns MI = H(D) − P(+)H(D|+) − P(−)H(D|−) in bits and, if g != NULL, g[j] = ∂MI/∂d_j
 * (0 for skipped items). work: 4(K + 1) doubles. Needs at least one POS and one NEG item. */
double l2h_mi_soft_anchor(const double *d, const uint8_t *flag, size_t m, size_t K, double delta,
                          double *g, double *work);

/* The same for a graded relevance (mi_graded.c): cls[m] in 0..G−1 (G >= 2; a value >= G skips
 * the item), MI = H(D) − Σ_c P(c) H(D|c); g[j] = ∂MI/∂d_j. work: (G + 1)(K + 1) + G doubles.
 * Returns 0 (and g = 0) when no item is used. */
double l2h_mi_soft_anchor_graded(const double *d, const uint8_t *cls, size_t m, size_t G,
                                 size_t K, double delta, double *g, double *work);

/* Entropy in bits of a distribution p[m] (0 log 0 = 0). */
double l2h_entropy2(const double *p, size_t m);

#endif
