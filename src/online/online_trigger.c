/* online_trigger.c -- Q_R, the reservoir estimate of the mutual-information quality that drives
 * the Trigger Update (MIHash §3.1, eq. 6; methods.md §1.5), computed by the objective module's
 * l2h_mi_quality in the reference code's mode:
 *   for every reservoir item j (anchor): Hamming distances d_ij to all reservoir items i,
 *   INCLUDING i = j (the item is its own positive at distance 0); hard histograms with
 *   unit-width bins on [0, b] (b bins, distances b − 1 and b share the last one) of the
 *   positives (aff[j, i] != 0) and of the negatives; P(+) = |pos| / R;
 *   MI_j = H(D) − P(+) H(D | +) − P(−) H(D | −) in bits, clipped at 0; Q_R = mean_j MI_j.
 * aff may be NULL when labels are given (same label = neighbour). */
#include "online_internal.h"

#include "objective.h"

l2h_status l2h_online_quality(const uint8_t *codes, size_t n, size_t bits, const uint8_t *aff,
                              const int32_t *labels, double *q)
{
    L2H_FAIL_IF(aff == NULL && labels == NULL, L2H_ERR_ARG,
                "online quality: no affinity and no labels");
    const l2h_supervision s = {
        .kind = labels ? L2H_SUP_LABELS : L2H_SUP_AFFINITY,
        .n = n,
        .labels = labels,
        .affinity = aff,
    };
    const l2h_mi_quality_params p = l2h_mi_quality_reference_params();
    return l2h_mi_quality(codes, n, bits, &s, &p, q, NULL);
}
