/* online_trigger.c -- Q_R, the reservoir estimate of the mutual-information quality that drives
 * the Trigger Update (MIHash §3.1, eq. 6; methods.md §1.5):
 *   for every reservoir item j (anchor): Hamming distances d_ij to all reservoir items i,
 *   INCLUDING i = j (as the reference does: the item is its own positive at distance 0);
 *   hard histograms with unit-width bins on [0, b] (b bins, distances b − 1 and b share the last
 *   one) of the positives (aff[j, i] = 1) and of the negatives; P(+) = |pos| / R;
 *   MI_j = H(D) − P(+) H(D | +) − P(−) H(D | −) in bits, clipped at 0;
 *   Q_R = mean_j MI_j. Empty positive or negative sets contribute an entropy of 0. */
#include "online_internal.h"

#include "l2h/codes.h"

#include <math.h>

static double entropy2(const size_t *h, size_t nbins, size_t total)
{
    if (total == 0) return 0.0;
    double e = 0.0;
    for (size_t k = 0; k < nbins; k++)
        if (h[k] > 0) {
            const double p = (double)h[k] / (double)total;
            e -= p * log2(p);
        }
    return e;
}

l2h_status l2h_online_quality(const uint8_t *codes, size_t n, size_t bits, const uint8_t *aff,
                              double *q)
{
    L2H_FAIL_IF(codes == NULL || aff == NULL || q == NULL, L2H_ERR_ARG,
                "online quality: NULL argument");
    L2H_FAIL_IF(n == 0, L2H_ERR_ARG, "online quality: empty reservoir");
    const size_t bytes = l2h_code_bytes(bits), nbins = bits;
    size_t *hp = l2h_calloc(2 * nbins, sizeof *hp), *hn = hp + nbins;
    L2H_NOMEM_IF_NULL(hp);
    double sum = 0.0;
    for (size_t j = 0; j < n; j++) {
        for (size_t k = 0; k < 2 * nbins; k++)
            hp[k] = 0;
        size_t npos = 0;
        for (size_t i = 0; i < n; i++) {
            size_t d = l2h_hamming(codes + j * bytes, codes + i * bytes, bits);
            if (d >= nbins) d = nbins - 1; /* last bin is closed: b − 1 and b together */
            if (aff[j * n + i]) {
                hp[d]++;
                npos++;
            } else {
                hn[d]++;
            }
        }
        const size_t nneg = n - npos;
        size_t hall[L2H_MAX_BITS];
        for (size_t k = 0; k < nbins; k++)
            hall[k] = hp[k] + hn[k];
        const double pp = (double)npos / (double)n;
        const double mi = entropy2(hall, nbins, n) - pp * entropy2(hp, nbins, npos) -
                          (1.0 - pp) * entropy2(hn, nbins, nneg);
        sum += mi > 0.0 ? mi : 0.0;
    }
    l2h_free(hp);
    *q = sum / (double)n;
    return L2H_OK;
}
