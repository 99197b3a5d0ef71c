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
    l2h_free(m->db);
    l2h_free(m->amask);
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
    m->db = l2h_malloc(cap + 64);
    m->amask = l2h_malloc_array(cap / 64 + 1, sizeof *m->amask);
    if (!m->pc || !m->labels || !m->hist || !m->tl || !m->dist || !m->mi || !m->pcs || !m->order ||
        !m->blk || !m->db || !m->amask) {
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
    int32_t lmin = m->labels[0], lmax = m->labels[0];
    for (size_t i = 1; i < n; i++) {
        lmin = m->labels[i] < lmin ? m->labels[i] : lmin;
        lmax = m->labels[i] > lmax ? m->labels[i] : lmax;
    }
    const uint64_t range = (uint64_t)((int64_t)lmax - (int64_t)lmin) + 1;
    if (range <= n) { /* class ids in a small range: counting sort, start offsets in blk */
        uint32_t *start = m->blk; /* 2n >= range + 1 entries */
        memset(start, 0, (range + 1) * sizeof *start);
        for (size_t i = 0; i < n; i++)
            start[(uint64_t)((int64_t)m->labels[i] - lmin) + 1]++;
        for (uint64_t c = 0; c < range; c++)
            start[c + 1] += start[c];
        for (size_t i = 0; i < n; i++)
            m->order[start[(uint64_t)((int64_t)m->labels[i] - lmin)]++] = (uint32_t)i;
    } else {
        uint64_t *keys = m->pcs;
        for (size_t i = 0; i < n; i++)
            keys[i] = ((uint64_t)((uint32_t)m->labels[i] ^ 0x80000000u) << 32) | (uint64_t)i;
        qsort(keys, n, sizeof *keys, cmp_u64);
        for (size_t u = 0; u < n; u++)
            m->order[u] = (uint32_t)keys[u];
    }
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

/* Anchor i's stored histogram from all[bits + 1] / pos[bits + 1], counts over every item j
 * including j = i, which went in at distance 0 (as a neighbour iff self_sim): the self pair is
 * taken out (and put back as a neighbour under include_self), distance b merged into b − 1
 * under merge_last_bin, then the interleaved layout. */
static void finish_anchor(l2h_mi_codes *m, size_t i, uint32_t *all, uint32_t *pos, int self_sim)
{
    const size_t nd = m->bits + 1;
    all[0]--;
    pos[0] -= self_sim ? 1u : 0u;
    if (m->o.include_self) {
        all[0]++;
        pos[0]++;
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

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define MI_AVX512 1
#define MI_AVX512_TARGET \
    __attribute__((target("avx512f,avx512bw,avx512vpopcntdq,avx2,popcnt")))

/* Anchor at position u of pc[n] (one word per code): byte distances to every item, then per
 * distance value v in [min, max] the count of items at v (compare -> mask -> popcount), and of
 * neighbours at v (mask AND the neighbour bits) when nb_mask is given; with labels (nb_mask
 * NULL) the neighbours are positions [b0, b1) and are counted one by one. */
MI_AVX512_TARGET static void fill_anchor_avx512(l2h_mi_codes *m, const uint64_t *pc,
                                                const uint32_t *pc32, size_t n, size_t u,
                                                size_t i, const uint64_t *nb_mask, uint32_t b0,
                                                uint32_t b1, int self_sim)
{
    uint8_t *db = m->db;
    size_t j = 0;
    if (pc32) { /* codes of <= 32 bits: 16 per vector */
        const __m512i q = _mm512_set1_epi32((int)pc32[u]);
        for (; j + 16 <= n; j += 16) {
            const __m512i x = _mm512_loadu_si512((const void *)(pc32 + j));
            const __m512i p = _mm512_popcnt_epi32(_mm512_xor_si512(x, q));
            _mm_storeu_si128((__m128i *)(void *)(db + j), _mm512_cvtepi32_epi8(p));
        }
        for (; j < n; j++)
            db[j] = (uint8_t)_mm_popcnt_u32(pc32[j] ^ pc32[u]);
    } else {
        const __m512i q = _mm512_set1_epi64((long long)pc[u]);
        for (; j + 8 <= n; j += 8) {
            const __m512i x = _mm512_loadu_si512((const void *)(pc + j));
            const __m512i p = _mm512_popcnt_epi64(_mm512_xor_si512(x, q));
            _mm_storel_epi64((__m128i *)(void *)(db + j), _mm512_cvtepi64_epi8(p));
        }
        for (; j < n; j++)
            db[j] = (uint8_t)_mm_popcnt_u64(pc[j] ^ pc[u]);
    }
    const size_t nblk = (n + 63) / 64;
    for (j = n; j < nblk * 64; j++) /* padding: a value present (for min / max) */
        db[j] = db[0];
    __m512i mn = _mm512_set1_epi8((char)0xff), mx = _mm512_setzero_si512();
    for (size_t b = 0; b < nblk; b++) {
        const __m512i v = _mm512_loadu_si512((const void *)(db + 64 * b));
        mn = _mm512_min_epu8(mn, v);
        mx = _mm512_max_epu8(mx, v);
    }
    for (j = n; j < nblk * 64; j++) /* then a value never counted (distances are <= 64) */
        db[j] = 0xff;
    __m256i mn2 = _mm256_min_epu8(_mm512_castsi512_si256(mn), _mm512_extracti64x4_epi64(mn, 1));
    __m256i mx2 = _mm256_max_epu8(_mm512_castsi512_si256(mx), _mm512_extracti64x4_epi64(mx, 1));
    const __m128i mn1 = _mm_min_epu8(_mm256_castsi256_si128(mn2), _mm256_extracti128_si256(mn2, 1));
    const __m128i mx1 = _mm_max_epu8(_mm256_castsi256_si128(mx2), _mm256_extracti128_si256(mx2, 1));
    uint8_t lo[16], hi[16];
    _mm_storeu_si128((__m128i *)(void *)lo, mn1);
    _mm_storeu_si128((__m128i *)(void *)hi, mx1);
    unsigned dmin = 255, dmax = 0;
    for (int k = 0; k < 16; k++) {
        dmin = lo[k] < dmin ? lo[k] : dmin;
        dmax = hi[k] > dmax ? hi[k] : dmax;
    }
    uint32_t all[65], pos[65];
    const size_t nd = m->bits + 1;
    memset(all, 0, nd * sizeof *all);
    memset(pos, 0, nd * sizeof *pos);
    /* per value v: byte lanes count the blocks where they hold v (at most 255 blocks per
     * round, so the byte counters cannot wrap), then one horizontal sum */
    const __m512i one = _mm512_set1_epi8(1), zero = _mm512_setzero_si512();
    for (unsigned v = dmin; v <= dmax; v++) {
        const __m512i vv = _mm512_set1_epi8((char)v);
        uint64_t ca = 0, cp = 0;
        for (size_t r0 = 0; r0 < nblk; r0 += 255) {
            const size_t r1 = nblk - r0 < 255 ? nblk : r0 + 255;
            __m512i acc = zero, accp = zero;
            if (nb_mask)
                for (size_t b = r0; b < r1; b++) {
                    const __mmask64 k = _mm512_cmpeq_epi8_mask(
                        _mm512_loadu_si512((const void *)(db + 64 * b)), vv);
                    acc = _mm512_mask_add_epi8(acc, k, acc, one);
                    accp = _mm512_mask_add_epi8(accp, k & nb_mask[b], accp, one);
                }
            else { /* two accumulators: independent chains; compare into a mask, masked add */
                __m512i acc2 = zero;
                size_t b = r0;
                for (; b + 2 <= r1; b += 2) {
                    const __m512i x0 = _mm512_loadu_si512((const void *)(db + 64 * b));
                    const __m512i x1 = _mm512_loadu_si512((const void *)(db + 64 * b + 64));
                    acc = _mm512_mask_add_epi8(acc, _mm512_cmpeq_epi8_mask(x0, vv), acc, one);
                    acc2 = _mm512_mask_add_epi8(acc2, _mm512_cmpeq_epi8_mask(x1, vv), acc2, one);
                }
                for (; b < r1; b++) {
                    const __m512i x0 = _mm512_loadu_si512((const void *)(db + 64 * b));
                    acc = _mm512_mask_add_epi8(acc, _mm512_cmpeq_epi8_mask(x0, vv), acc, one);
                }
                acc = _mm512_add_epi8(acc, acc2); /* <= 255 blocks per round: no wrap */
            }
            ca += (uint64_t)_mm512_reduce_add_epi64(_mm512_sad_epu8(acc, zero));
            if (nb_mask) cp += (uint64_t)_mm512_reduce_add_epi64(_mm512_sad_epu8(accp, zero));
        }
        all[v] = (uint32_t)ca;
        pos[v] = (uint32_t)cp;
    }
    if (!nb_mask)
        for (j = b0; j < b1; j++)
            pos[db[j]]++;
    finish_anchor(m, i, all, pos, self_sim);
}

/* The neighbour bits of affinity row i: mask[b] bit t = aff[i][64 b + t] != 0. */
MI_AVX512_TARGET static void row_mask_avx512(const uint8_t *row, size_t n, uint64_t *mask)
{
    const size_t nblk = (n + 63) / 64;
    for (size_t b = 0; b < nblk; b++) {
        const size_t len = n - 64 * b < 64 ? n - 64 * b : 64;
        const __mmask64 lm = len == 64 ? ~(__mmask64)0 : (((__mmask64)1 << len) - 1);
        const __m512i v = _mm512_maskz_loadu_epi8(lm, (const void *)(row + 64 * b));
        mask[b] = (uint64_t)_mm512_test_epi8_mask(v, v);
    }
}
#endif

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
    finish_anchor(m, i, all, pos, 1);
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
#ifdef MI_AVX512
    if (m->words == 1 && strcmp(k->name, "avx512-vpopcntdq") == 0 &&
        __builtin_cpu_supports("avx512bw")) {
        /* codes of <= 32 bits as 32-bit words (dist is free scratch here) */
        uint32_t *pc32 = m->bits <= 32 ? (uint32_t *)(void *)m->dist : NULL;
        if (m->aff != NULL) {
            if (pc32)
                for (size_t i = 0; i < n; i++) pc32[i] = (uint32_t)m->pc[i];
            for (size_t i = 0; i < n; i++) {
                const uint8_t *row = m->aff + i * m->aff_stride;
                row_mask_avx512(row, n, m->amask);
                fill_anchor_avx512(m, m->pc, pc32, n, i, i, m->amask, 0, 0, row[i] != 0);
            }
            return L2H_OK;
        }
        memcpy(m->labels, labels, n * sizeof *labels);
        group_by_label(m, n);
        if (pc32)
            for (size_t u = 0; u < n; u++) pc32[u] = (uint32_t)m->pcs[u];
        for (size_t u = 0; u < n; u++)
            fill_anchor_avx512(m, m->pcs, pc32, n, u, m->order[u], NULL, m->blk[2 * u],
                               m->blk[2 * u + 1], 1);
        return L2H_OK;
    }
#endif
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
