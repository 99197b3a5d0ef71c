/* mi_codes.c -- MI quality of hard codes as a popcount kernel with per-anchor histograms, kept
 * up to date item by item, and its plain reference (maths and layout in mi_codes.h). */
#include "mi_codes.h"

#include "hamming_internal.h"
#include "l2h/codes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

l2h_mi_codes_opts l2h_mi_codes_reference_opts(void)
{
    return (l2h_mi_codes_opts){.include_self = 1, .merge_last_bin = 1, .clip_negative = 1};
}

static size_t n_bins(size_t bits, const l2h_mi_codes_opts *o)
{
    return o->merge_last_bin ? bits : bits + 1;
}

void l2h_mi_codes_release(l2h_mi_codes *m)
{
    if (m == NULL) return;
    l2h_free(m->pc);
    l2h_free(m->labels);
    l2h_free(m->hist);
    l2h_free(m->tl);
    l2h_free(m->dist);
    l2h_free(m->pcs);
    l2h_free(m->order);
    l2h_free(m->blk);
    l2h_free(m->mi);
    memset(m, 0, sizeof *m);
}

l2h_status l2h_mi_codes_init(l2h_mi_codes *m, size_t cap, size_t bits, const l2h_mi_codes_opts *o,
                             const uint8_t *aff, size_t aff_stride)
{
    L2H_FAIL_IF(m == NULL || o == NULL, L2H_ERR_ARG, "MI codes: NULL argument");
    memset(m, 0, sizeof *m);
    L2H_FAIL_IF(bits == 0 || bits > L2H_MAX_BITS, L2H_ERR_ARG, "MI codes: bits %zu outside 1..%d",
                bits, L2H_MAX_BITS);
    L2H_FAIL_IF(cap == 0 || cap >= UINT32_MAX / 2, L2H_ERR_ARG, "MI codes: capacity %zu", cap);
    L2H_FAIL_IF(aff != NULL && aff_stride < cap, L2H_ERR_ARG, "MI codes: affinity stride %zu < %zu",
                aff_stride, cap);
    m->cap = cap;
    m->bits = bits;
    m->words = l2h_code_words(bits);
    m->o = *o;
    m->nbins = n_bins(bits, o);
    m->aff = aff;
    m->aff_stride = aff_stride;
    m->pc = l2h_malloc_array(cap * m->words, sizeof *m->pc);
    m->labels = l2h_malloc_array(cap, sizeof *m->labels);
    m->hist = l2h_malloc_array(cap * 2 * m->nbins, sizeof *m->hist);
    m->tl = l2h_malloc_array(cap + 2, sizeof *m->tl);
    m->dist = l2h_malloc_array(cap, sizeof *m->dist);
    m->mi = l2h_malloc_array(cap, sizeof *m->mi);
    m->pcs = l2h_malloc_array(cap * m->words, sizeof *m->pcs);
    m->order = l2h_malloc_array(cap, sizeof *m->order);
    m->blk = l2h_malloc_array(2 * cap, sizeof *m->blk);
    if (!m->pc || !m->labels || !m->hist || !m->tl || !m->dist || !m->mi || !m->pcs || !m->order ||
        !m->blk) {
        l2h_mi_codes_release(m);
        L2H_FAIL(L2H_ERR_NOMEM, "MI codes: out of memory for %zu items", cap);
    }
    m->tl[0] = 0.0;
    for (size_t c = 1; c < cap + 2; c++)
        m->tl[c] = (double)c * log2((double)c);
    return L2H_OK;
}

/* dist[j] = Hamming distance from code q to item j, j < n. */
static void scan(const l2h_mi_codes *m, const uint64_t *q, size_t n, int32_t *dist)
{
    const l2h_hamming_kernels *k = NULL;
    if (l2h_hamming_active(&k) != L2H_OK || k == NULL) k = &l2h_hamming_portable;
    k->scan(q, m->pc, n, m->words, dist);
}

static inline size_t bin_of(const l2h_mi_codes *m, int32_t d)
{
    const size_t b = (size_t)d;
    return b < m->nbins ? b : m->nbins - 1;
}

/* Neighbour relation of anchor i and item j (j != i). */
static inline unsigned sim(const l2h_mi_codes *m, size_t i, size_t j)
{
    if (m->aff) return m->aff[i * m->aff_stride + j] != 0;
    return m->labels[i] == m->labels[j];
}

/* Histogram copies the fill loop rotates through: consecutive items often fall into the same bin,
 * and an increment that must wait for the previous one to the same counter is what limits the
 * loop; four copies break those chains. */
#define FILL_COPIES 4
#define MAX_NB2 (2 * (L2H_MAX_BITS + 1))

/* Anchor i's histogram over items 0..n-1 from dist[] (its distances to them). */
static void fill_anchor(l2h_mi_codes *m, size_t i, size_t n, const int32_t *dist)
{
    const size_t nb2 = 2 * m->nbins;
    uint32_t *h = m->hist + i * nb2;
    uint32_t c[FILL_COPIES][MAX_NB2];
    for (int k = 0; k < FILL_COPIES; k++) /* only the bins in use */
        memset(c[k], 0, nb2 * sizeof c[k][0]);
    const uint32_t last = (uint32_t)m->nbins - 1;
    const size_t n4 = n - n % FILL_COPIES;
#define BIN(j, s) (2 * ((uint32_t)dist[j] < last ? (uint32_t)dist[j] : last) + (s))
    if (m->aff) {
        const uint8_t *a = m->aff + i * m->aff_stride;
        for (size_t j = 0; j < n4; j += FILL_COPIES) {
            c[0][BIN(j, a[j] != 0)]++;
            c[1][BIN(j + 1, a[j + 1] != 0)]++;
            c[2][BIN(j + 2, a[j + 2] != 0)]++;
            c[3][BIN(j + 3, a[j + 3] != 0)]++;
        }
        for (size_t j = n4; j < n; j++)
            c[0][BIN(j, a[j] != 0)]++;
        c[0][a[i] != 0]--; /* the self pair went in at distance 0 */
    } else {
        const int32_t li = m->labels[i], *lab = m->labels;
        for (size_t j = 0; j < n4; j += FILL_COPIES) {
            c[0][BIN(j, lab[j] == li)]++;
            c[1][BIN(j + 1, lab[j + 1] == li)]++;
            c[2][BIN(j + 2, lab[j + 2] == li)]++;
            c[3][BIN(j + 3, lab[j + 3] == li)]++;
        }
        for (size_t j = n4; j < n; j++)
            c[0][BIN(j, lab[j] == li)]++;
        c[0][1]--;
    }
#undef BIN
    if (m->o.include_self) c[0][1]++;
    for (size_t b = 0; b < nb2; b++)
        h[b] = c[0][b] + c[1][b] + c[2][b] + c[3][b];
}

static int cmp_u64(const void *a, const void *b)
{
    const uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* order[] = items sorted by (label, index); pcs[] = their codes in that order; blk[2u, 2u+1] =
 * the grouped positions of position u's class. Sort keys (built in pcs, which has room for at
 * least n words): the label mapped to an order-preserving unsigned value in the high 32 bits,
 * the index in the low 32. */
static void group_by_label(l2h_mi_codes *m, size_t n)
{
    uint64_t *keys = m->pcs;
    for (size_t i = 0; i < n; i++)
        keys[i] = ((uint64_t)((uint32_t)m->labels[i] ^ 0x80000000u) << 32) | (uint64_t)i;
    qsort(keys, n, sizeof *keys, cmp_u64);
    for (size_t u = 0; u < n; u++)
        m->order[u] = (uint32_t)keys[u];
    for (size_t u = 0; u < n; u++)
        memcpy(m->pcs + u * m->words, m->pc + (size_t)m->order[u] * m->words,
               m->words * sizeof *m->pcs);
    for (size_t u = 0; u < n;) {
        size_t e = u + 1;
        while (e < n && m->labels[m->order[e]] == m->labels[m->order[u]])
            e++;
        for (size_t v = u; v < e; v++) {
            m->blk[2 * v] = (uint32_t)u;
            m->blk[2 * v + 1] = (uint32_t)e;
        }
        u = e;
    }
}

/* Anchor i's histogram, items grouped by label: dist[n] in grouped order, its class at grouped
 * positions [b0, b1). All distances into four copies of a (bits + 1)-bin histogram, the class's
 * into one; then self pair, last-bin merge and the interleaved layout. */
static void fill_anchor_grouped(l2h_mi_codes *m, size_t i, size_t n, const int32_t *dist,
                                uint32_t b0, uint32_t b1)
{
    uint32_t c[FILL_COPIES][L2H_MAX_BITS + 1], pos[L2H_MAX_BITS + 1], all[L2H_MAX_BITS + 1];
    const size_t nd = m->bits + 1;
    for (int k = 0; k < FILL_COPIES; k++) /* only the bins in use: the arrays are 4 KB each */
        memset(c[k], 0, nd * sizeof c[k][0]);
    memset(pos, 0, nd * sizeof *pos);
    const size_t n4 = n - n % FILL_COPIES;
    for (size_t j = 0; j < n4; j += FILL_COPIES) {
        c[0][dist[j]]++;
        c[1][dist[j + 1]]++;
        c[2][dist[j + 2]]++;
        c[3][dist[j + 3]]++;
    }
    for (size_t j = n4; j < n; j++)
        c[0][dist[j]]++;
    for (size_t j = b0; j < b1; j++)
        pos[dist[j]]++;
    for (size_t d = 0; d < nd; d++)
        all[d] = c[0][d] + c[1][d] + c[2][d] + c[3][d];
    if (!m->o.include_self) { /* the self pair went in as a neighbour at distance 0 */
        all[0]--;
        pos[0]--;
    }
    if (m->nbins < nd && nd >= 2) { /* merge_last_bin: distance b joins b − 1 */
        all[nd - 2] += all[nd - 1];
        pos[nd - 2] += pos[nd - 1];
    }
    uint32_t *h = m->hist + i * 2 * m->nbins;
    for (size_t d = 0; d < m->nbins; d++) {
        h[2 * d] = all[d] - pos[d];
        h[2 * d + 1] = pos[d];
    }
}

l2h_status l2h_mi_codes_build(l2h_mi_codes *m, const uint8_t *codes, size_t n,
                              const int32_t *labels)
{
    L2H_FAIL_IF(m == NULL || m->pc == NULL || (codes == NULL && n > 0), L2H_ERR_ARG,
                "MI codes: NULL argument");
    L2H_FAIL_IF(n > m->cap, L2H_ERR_ARG, "MI codes: %zu items, room for %zu", n, m->cap);
    L2H_FAIL_IF(m->aff == NULL && labels == NULL && n > 0, L2H_ERR_ARG,
                "MI codes: no labels and no affinity");
    const l2h_hamming_kernels *k = NULL;
    L2H_TRY(l2h_hamming_active(&k));
    m->n = n;
    m->mi_valid = 0;
    if (n == 0) return L2H_OK;
    l2h_codes_pad(codes, n, m->bits, m->pc);
    if (m->aff != NULL) {
        for (size_t i = 0; i < n; i++) {
            k->scan(m->pc + i * m->words, m->pc, n, m->words, m->dist);
            fill_anchor(m, i, n, m->dist);
        }
        return L2H_OK;
    }
    memcpy(m->labels, labels, n * sizeof *labels);
    group_by_label(m, n);
    for (size_t u = 0; u < n; u++) {
        k->scan(m->pcs + u * m->words, m->pcs, n, m->words, m->dist);
        fill_anchor_grouped(m, m->order[u], n, m->dist, m->blk[2 * u], m->blk[2 * u + 1]);
    }
    return L2H_OK;
}

void l2h_mi_codes_remove(l2h_mi_codes *m, size_t k)
{
    L2H_ASSERT(k < m->n);
    scan(m, m->pc + k * m->words, m->n, m->dist);
    const size_t nb2 = 2 * m->nbins;
    for (size_t i = 0; i < m->n; i++) {
        if (i == k) continue;
        m->hist[i * nb2 + 2 * bin_of(m, m->dist[i]) + sim(m, i, k)]--;
    }
    m->mi_valid = 0;
}

void l2h_mi_codes_insert(l2h_mi_codes *m, size_t k, const uint8_t *code, int32_t label)
{
    L2H_ASSERT(k <= m->n && k < m->cap);
    if (k == m->n) m->n++;
    l2h_codes_pad(code, 1, m->bits, m->pc + k * m->words);
    m->labels[k] = label;
    scan(m, m->pc + k * m->words, m->n, m->dist);
    const size_t nb2 = 2 * m->nbins;
    for (size_t i = 0; i < m->n; i++) {
        if (i == k) continue;
        m->hist[i * nb2 + 2 * bin_of(m, m->dist[i]) + sim(m, i, k)]++;
    }
    fill_anchor(m, k, m->n, m->dist);
    m->mi_valid = 0;
}

/* MI in bits of one anchor's interleaved histogram h[2 nbins] (see mi_codes.h). */
static double hist_mi(const uint32_t *h, size_t nbins, const double *tl, int clip)
{
    uint32_t np = 0, nn = 0;
    double s = 0.0;
    for (size_t d = 0; d < nbins; d++) {
        const uint32_t q = h[2 * d], p = h[2 * d + 1];
        np += p;
        nn += q;
        s += tl[p] + tl[q] - tl[p + q];
    }
    if (np == 0 || nn == 0) return 0.0;
    const uint32_t t = np + nn;
    const double mi = (tl[t] - tl[np] - tl[nn] + s) / (double)t;
    return (clip && mi < 0.0) ? 0.0 : mi;
}

l2h_status l2h_mi_codes_quality(l2h_mi_codes *m, double *q, double *mi)
{
    L2H_FAIL_IF(m == NULL || q == NULL, L2H_ERR_ARG, "MI codes: NULL argument");
    L2H_FAIL_IF(m->n == 0, L2H_ERR_ARG, "MI codes: no items");
    if (!m->mi_valid) {
        for (size_t i = 0; i < m->n; i++)
            m->mi[i] = hist_mi(m->hist + i * 2 * m->nbins, m->nbins, m->tl, m->o.clip_negative);
        m->mi_valid = 1;
    }
    double s = 0.0;
    for (size_t i = 0; i < m->n; i++)
        s += m->mi[i];
    *q = s / (double)m->n;
    if (mi) memcpy(mi, m->mi, m->n * sizeof *mi);
    return L2H_OK;
}

l2h_status l2h_mi_codes_eval(const uint8_t *codes, size_t n, size_t bits, const int32_t *labels,
                             const uint8_t *aff, const l2h_mi_codes_opts *o, double *q, double *mi)
{
    L2H_FAIL_IF(q == NULL, L2H_ERR_ARG, "MI codes: NULL argument");
    L2H_FAIL_IF(n == 0, L2H_ERR_ARG, "MI codes: no items");
    l2h_mi_codes m;
    L2H_TRY(l2h_mi_codes_init(&m, n, bits, o, aff, n));
    l2h_status st = l2h_mi_codes_build(&m, codes, n, labels);
    if (st == L2H_OK) st = l2h_mi_codes_quality(&m, q, mi);
    l2h_mi_codes_release(&m);
    return st;
}

/* ---- plain reference ----------------------------------------------------------------------- */

static double entropy(const uint32_t *h, size_t stride, size_t m, double total)
{
    double e = 0.0;
    for (size_t l = 0; l < m; l++) {
        const uint32_t c = h[l * stride];
        if (c) {
            const double p = (double)c / total;
            e -= p * log2(p);
        }
    }
    return e;
}

l2h_status l2h_mi_codes_plain(const uint8_t *codes, size_t n, size_t bits, const int32_t *labels,
                              const uint8_t *aff, const l2h_mi_codes_opts *o, uint32_t *hist,
                              double *mi, double *q)
{
    L2H_FAIL_IF(codes == NULL || o == NULL || q == NULL, L2H_ERR_ARG, "MI plain: NULL argument");
    L2H_FAIL_IF(labels == NULL && aff == NULL, L2H_ERR_ARG, "MI plain: no labels, no affinity");
    L2H_FAIL_IF(bits == 0 || bits > L2H_MAX_BITS || n == 0, L2H_ERR_ARG, "MI plain: bad size");
    const size_t bytes = l2h_code_bytes(bits), nb = n_bins(bits, o);
    const uint8_t last_mask = bits % 8 ? (uint8_t)((1u << (bits % 8)) - 1u) : 0xff;
    uint32_t *pos = l2h_calloc(nb, sizeof *pos), *neg = l2h_calloc(nb, sizeof *neg),
             *all = l2h_calloc(nb, sizeof *all);
    if (!pos || !neg || !all) {
        l2h_free(pos);
        l2h_free(neg);
        l2h_free(all);
        L2H_FAIL(L2H_ERR_NOMEM, "MI plain: out of memory");
    }
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        memset(pos, 0, nb * sizeof *pos);
        memset(neg, 0, nb * sizeof *neg);
        size_t np = 0, nn = 0;
        for (size_t j = 0; j < n; j++) {
            if (j == i) {
                if (o->include_self) {
                    pos[0]++;
                    np++;
                }
                continue;
            }
            size_t d = 0;
            for (size_t k = 0; k < bytes; k++) {
                uint8_t x = codes[i * bytes + k] ^ codes[j * bytes + k];
                if (k == bytes - 1) x &= last_mask;
                for (; x; x &= (uint8_t)(x - 1))
                    d++;
            }
            if (d >= nb) d = nb - 1;
            const int s = aff ? aff[i * n + j] != 0 : labels[i] == labels[j];
            if (s) {
                pos[d]++;
                np++;
            } else {
                neg[d]++;
                nn++;
            }
        }
        for (size_t l = 0; l < nb; l++)
            all[l] = pos[l] + neg[l];
        if (hist)
            for (size_t l = 0; l < nb; l++) {
                hist[i * 2 * nb + 2 * l] = neg[l];
                hist[i * 2 * nb + 2 * l + 1] = pos[l];
            }
        double v = 0.0;
        if (np > 0 && nn > 0) {
            const double t = (double)(np + nn);
            v = entropy(all, 1, nb, t) - (double)np / t * entropy(pos, 1, nb, (double)np) -
                (double)nn / t * entropy(neg, 1, nb, (double)nn);
            if (o->clip_negative && v < 0.0) v = 0.0;
        }
        if (mi) mi[i] = v;
        sum += v;
    }
    *q = sum / (double)n;
    l2h_free(pos);
    l2h_free(neg);
    l2h_free(all);
    return L2H_OK;
}
