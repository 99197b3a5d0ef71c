/* hamming_avx512.c -- AVX-512 VPOPCNTDQ kernel: one VPOPCNTQ counts 8 words at once.
 *
 * The filter works on the group layout (hamming_internal.h): word w of 8 codes is one 512-bit
 * load, so the 8 distances of a group are W xor + W popcount + (W - 1) vertical adds, with no
 * horizontal reduction. Four groups (32 codes) are reduced with a vertical min and compared with
 * the threshold once; only when some code passes are the four groups examined one by one. After
 * the first few thousand codes the threshold of a k-NN search is tight, so that branch is rare.
 *
 * The row-major scan (for l2h_hamming_many and evaluation) handles W = 1, 2, 4 by summing
 * adjacent lanes with two-source permutes, and other widths one code at a time. */
#include "hamming_internal.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define AVX512_TARGET __attribute__((target("avx512f,avx512vpopcntdq,popcnt")))
#define AVX512_INLINE AVX512_TARGET static inline __attribute__((always_inline))

AVX512_INLINE __m512i load8(const uint64_t *p)
{
    return _mm512_loadu_si512((const void *)p);
}

AVX512_INLINE __m512i pc8(__m512i x)
{
    return _mm512_popcnt_epi64(x);
}

/* Distances of the 8 codes of one group. */
AVX512_INLINE __m512i group_dist(const uint64_t *grp, const __m512i *qb, size_t words)
{
    __m512i acc = pc8(_mm512_xor_si512(load8(grp), qb[0]));
    for (size_t w = 1; w < words; w++)
        acc = _mm512_add_epi64(acc, pc8(_mm512_xor_si512(load8(grp + 8 * w), qb[w])));
    return acc;
}

/* Appends the lanes of d selected by m as l2h_cand {j = base + lane, d} without a branch per
 * lane: each candidate is one 64-bit word (d << 32 | j on little-endian x86), compressed to the
 * front of a register and stored whole. The caller guarantees 8 free slots at out + no. */
AVX512_INLINE size_t emit(__m512i d, __mmask8 m, size_t base, l2h_cand *out, size_t no)
{
    _Static_assert(sizeof(l2h_cand) == 8, "l2h_cand must be one 64-bit word");
    const __m512i lane = _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7);
    const __m512i j = _mm512_add_epi64(_mm512_set1_epi64((long long)base), lane);
    const __m512i c = _mm512_or_si512(_mm512_slli_epi64(d, 32), j);
    _mm512_storeu_si512((void *)(out + no), _mm512_maskz_compress_epi64(m, c));
    return no + (size_t)__builtin_popcount((unsigned)m);
}

AVX512_INLINE size_t filter_w(const uint64_t *restrict q, const uint64_t *restrict codes,
                              size_t words, size_t begin, size_t n, int32_t thr,
                              l2h_cand *restrict out, size_t cap, size_t *n_out)
{
    __m512i qb[L2H_MAX_WORDS];
    for (size_t w = 0; w < words; w++) qb[w] = _mm512_set1_epi64((long long)q[w]);
    const __m512i vt = _mm512_set1_epi64(thr);
    const size_t full = n / 8, stride = words * 8;
    size_t no = *n_out, g = begin / 8;
    for (; g + 4 <= full; g += 4) {
        if (cap - no < L2H_FILTER_MIN_CAP) goto stop;
        const uint64_t *p = codes + g * stride;
        const __m512i d0 = group_dist(p, qb, words);
        const __m512i d1 = group_dist(p + stride, qb, words);
        const __m512i d2 = group_dist(p + 2 * stride, qb, words);
        const __m512i d3 = group_dist(p + 3 * stride, qb, words);
        const __m512i mn = _mm512_min_epi64(_mm512_min_epi64(d0, d1), _mm512_min_epi64(d2, d3));
        if (_mm512_cmple_epi64_mask(mn, vt)) {
            no = emit(d0, _mm512_cmple_epi64_mask(d0, vt), g * 8, out, no);
            no = emit(d1, _mm512_cmple_epi64_mask(d1, vt), g * 8 + 8, out, no);
            no = emit(d2, _mm512_cmple_epi64_mask(d2, vt), g * 8 + 16, out, no);
            no = emit(d3, _mm512_cmple_epi64_mask(d3, vt), g * 8 + 24, out, no);
        }
    }
    for (; g < full; g++) {
        if (cap - no < L2H_FILTER_MIN_CAP) goto stop;
        const __m512i d = group_dist(codes + g * stride, qb, words);
        no = emit(d, _mm512_cmple_epi64_mask(d, vt), g * 8, out, no);
    }
    if (n % 8) {
        if (cap - no < L2H_FILTER_MIN_CAP) goto stop;
        const __m512i d = group_dist(codes + g * stride, qb, words);
        const __mmask8 live = (__mmask8)((1u << (n % 8)) - 1u);
        no = emit(d, _mm512_cmple_epi64_mask(d, vt) & live, g * 8, out, no);
    }
    *n_out = no;
    return n;
stop:
    *n_out = no;
    return g * 8;
}

AVX512_TARGET static size_t avx512_filter(const uint64_t *restrict q,
                                          const uint64_t *restrict codes, size_t words,
                                          size_t begin, size_t n, int32_t thr,
                                          l2h_cand *restrict out, size_t cap, size_t *n_out)
{
    /* Constant word counts let the compiler keep the broadcast query words in registers. */
    switch (words) {
    case 1: return filter_w(q, codes, 1, begin, n, thr, out, cap, n_out);
    case 2: return filter_w(q, codes, 2, begin, n, thr, out, cap, n_out);
    case 3: return filter_w(q, codes, 3, begin, n, thr, out, cap, n_out);
    case 4: return filter_w(q, codes, 4, begin, n, thr, out, cap, n_out);
    case 8: return filter_w(q, codes, 8, begin, n, thr, out, cap, n_out);
    default: return filter_w(q, codes, words, begin, n, thr, out, cap, n_out);
    }
}

/* One row-major code of any width: full 8-word chunks plus a masked tail, then a reduction. */
AVX512_INLINE int32_t row_dist(const uint64_t *q, const uint64_t *c, size_t words)
{
    __m512i acc = _mm512_setzero_si512();
    size_t w = 0;
    for (; w + 8 <= words; w += 8)
        acc = _mm512_add_epi64(acc, pc8(_mm512_xor_si512(load8(c + w), load8(q + w))));
    if (w < words) {
        const __mmask8 m = (__mmask8)((1u << (words - w)) - 1u);
        const __m512i x = _mm512_xor_si512(_mm512_maskz_loadu_epi64(m, c + w),
                                           _mm512_maskz_loadu_epi64(m, q + w));
        acc = _mm512_add_epi64(acc, pc8(x));
    }
    return (int32_t)_mm512_reduce_add_epi64(acc);
}

AVX512_TARGET static void avx512_scan(const uint64_t *restrict q, const uint64_t *restrict codes,
                                      size_t n, size_t words, int32_t *restrict out)
{
    const __m512i even = _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14);
    const __m512i odd = _mm512_setr_epi64(1, 3, 5, 7, 9, 11, 13, 15);
    size_t i = 0;
    if (words == 1) {
        const __m512i qv = _mm512_set1_epi64((long long)q[0]);
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_si256((__m256i *)(void *)(out + i),
                                _mm512_cvtepi64_epi32(pc8(_mm512_xor_si512(load8(codes + i), qv))));
    } else if (words == 2) {
        const __m512i qv = _mm512_setr_epi64((long long)q[0], (long long)q[1], (long long)q[0],
                                             (long long)q[1], (long long)q[0], (long long)q[1],
                                             (long long)q[0], (long long)q[1]);
        for (; i + 8 <= n; i += 8) {
            const uint64_t *c = codes + 2 * i;
            const __m512i p0 = pc8(_mm512_xor_si512(load8(c), qv));
            const __m512i p1 = pc8(_mm512_xor_si512(load8(c + 8), qv));
            const __m512i s = _mm512_add_epi64(_mm512_permutex2var_epi64(p0, even, p1),
                                               _mm512_permutex2var_epi64(p0, odd, p1));
            _mm256_storeu_si256((__m256i *)(void *)(out + i), _mm512_cvtepi64_epi32(s));
        }
    } else if (words == 4) {
        const __m512i qv = _mm512_setr_epi64((long long)q[0], (long long)q[1], (long long)q[2],
                                             (long long)q[3], (long long)q[0], (long long)q[1],
                                             (long long)q[2], (long long)q[3]);
        for (; i + 8 <= n; i += 8) {
            const uint64_t *c = codes + 4 * i;
            const __m512i p0 = pc8(_mm512_xor_si512(load8(c), qv));
            const __m512i p1 = pc8(_mm512_xor_si512(load8(c + 8), qv));
            const __m512i p2 = pc8(_mm512_xor_si512(load8(c + 16), qv));
            const __m512i p3 = pc8(_mm512_xor_si512(load8(c + 24), qv));
            /* pairs of words, then pairs of pairs: lanes end up as codes 0..7 in order */
            const __m512i t0 = _mm512_add_epi64(_mm512_permutex2var_epi64(p0, even, p1),
                                                _mm512_permutex2var_epi64(p0, odd, p1));
            const __m512i t1 = _mm512_add_epi64(_mm512_permutex2var_epi64(p2, even, p3),
                                                _mm512_permutex2var_epi64(p2, odd, p3));
            const __m512i s = _mm512_add_epi64(_mm512_permutex2var_epi64(t0, even, t1),
                                               _mm512_permutex2var_epi64(t0, odd, t1));
            _mm256_storeu_si256((__m256i *)(void *)(out + i), _mm512_cvtepi64_epi32(s));
        }
    }
    for (; i < n; i++) out[i] = row_dist(q, codes + i * words, words);
}

static int avx512_supported(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vpopcntdq");
}

const l2h_hamming_kernels l2h_hamming_avx512 = {
    .name = "avx512-vpopcntdq",
    .supported = avx512_supported,
    .scan = avx512_scan,
    .filter = avx512_filter,
};

#else
typedef int l2h_hamming_avx512_unavailable; /* not x86-64: the kernel is not compiled */
#endif
