/* eval_mi.h -- who is whose neighbour among n items (the supervision every objective and
 * evaluation reads) and the mutual-information quality of hard codes (mi_quality.c; seed eqs.
 * 2-6, methods.md §1.5). Part of eval: the MI quality is an evaluation of codes; objectives and
 * the online trigger use it from here.
 *
 * Supervision: i ~ j from single labels (labels[i] == labels[j]), multi-labels (rows share a
 * 1) or an affinity matrix (affinity[i·n + j] != 0; the diagonal is never read). An item is
 * never its own neighbour here; the quality measure's reference mode adds the self pair. */
#ifndef L2H_EVAL_MI_H
#define L2H_EVAL_MI_H

#include "core.h"

typedef enum l2h_sup_kind {
    L2H_SUP_LABELS = 0,
    L2H_SUP_MULTILABELS = 1,
    L2H_SUP_AFFINITY = 2
} l2h_sup_kind;

/* A borrowed view; nothing is copied or freed. */
typedef struct l2h_supervision {
    l2h_sup_kind kind;
    size_t n;                   /* number of items described                          */
    const int32_t *labels;      /* LABELS: [n]                                        */
    const uint8_t *multilabels; /* MULTILABELS: [n, n_labels] of 0/1                  */
    size_t n_labels;            /* MULTILABELS: columns                               */
    const uint8_t *affinity;    /* AFFINITY: [n, n], nonzero = neighbours             */
} l2h_supervision;

/* L2H_ERR_ARG unless s describes exactly n items with the buffers its kind needs. */
l2h_status l2h_sup_check(const l2h_supervision *s, size_t n);

/* Whether j is a neighbour of anchor i (i != j; no bounds checks). */
static inline int l2h_sup_similar(const l2h_supervision *s, size_t i, size_t j)
{
    switch (s->kind) {
    case L2H_SUP_LABELS:
        return s->labels[i] == s->labels[j];
    case L2H_SUP_MULTILABELS: {
        const uint8_t *a = s->multilabels + i * s->n_labels, *b = s->multilabels + j * s->n_labels;
        for (size_t k = 0; k < s->n_labels; k++)
            if (a[k] && b[k]) return 1;
        return 0;
    }
    case L2H_SUP_AFFINITY:
        return s->affinity[i * s->n + j] != 0;
    }
    return 0;
}

/* ---- MI quality of hard codes (mi_quality.c; seed eqs. 2-6, methods.md §1.5) ------------- */
typedef struct l2h_mi_quality_params {
    int include_self;   /* anchor counted as its own neighbour at distance 0 (reference)    */
    int clip_negative;  /* per-anchor MI below 0 (rounding) set to 0                        */
    int merge_last_bin; /* b bins, distances b − 1 and b share the last (MATLAB histcounts) */
} l2h_mi_quality_params;

/* Ours: self pair excluded, clipping on, b + 1 bins (one per distance 0..b). */
l2h_mi_quality_params l2h_mi_quality_default_params(void);
/* The reference code's Q_R: all three on. */
l2h_mi_quality_params l2h_mi_quality_reference_params(void);
/* Q = mean over the n anchors of I(D; C) in bits, from packed codes[n, l2h_code_bytes(bits)]
 * (bit j in byte j/8 at position j%8; bits past `bits` ignored). Anchors with no neighbour or
 * no non-neighbour contribute 0 (C is then constant) and are still counted in the mean.
 * mi[n] receives the per-anchor values (may be NULL). O(n² · bits/64). Parallel over anchors
 * (l2h_threads()), result independent of the thread count. */
l2h_status l2h_mi_quality(const uint8_t *codes, size_t n, size_t bits, const l2h_supervision *s,
                          const l2h_mi_quality_params *p, double *q, double *mi);

#endif
