/* hamming_avx2.c -- AVX2 kernel: popcount of 64-bit lanes by a 4-bit lookup table (vpshufb)
 * summed per lane with vpsadbw. Compiled with a function target attribute, chosen at run time. */
#include "hamming_internal.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define AVX2_TARGET __attribute__((target("avx2,popcnt")))

/* Per-byte popcounts of x (each byte 0..8). */
AVX2_TARGET static inline __m256i byte_counts(__m256i x)
{
    const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1,
                                         2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    const __m256i low = _mm256_set1_epi8(0x0f);
    const __m256i lo = _mm256_and_si256(x, low);
    const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(x, 4), low);
    return _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi));
}

AVX2_TARGET static inline __m256i loadu(const uint64_t *p)
{
    return _mm256_loadu_si256((const __m256i *)(const void *)p);
}

AVX2_TARGET static void avx2_scan(const uint64_t *restrict q, const uint64_t *restrict codes,
                                  size_t n, size_t words, int32_t *restrict out)
{
    const __m256i zero = _mm256_setzero_si256();
    size_t i = 0;
    if (words == 1) {
        const __m256i qv = _mm256_set1_epi64x((long long)q[0]);
        const __m256i pick = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
        for (; i + 4 <= n; i += 4) {
            const __m256i d = _mm256_sad_epu8(byte_counts(_mm256_xor_si256(loadu(codes + i), qv)),
                                              zero);
            const __m256i p = _mm256_permutevar8x32_epi32(d, pick);
            _mm_storeu_si128((__m128i *)(void *)(out + i), _mm256_castsi256_si128(p));
        }
        for (; i < n; i++) out[i] = (int32_t)__builtin_popcountll(codes[i] ^ q[0]);
        return;
    }
    for (; i < n; i++) {
        const uint64_t *c = codes + i * words;
        __m256i acc = zero; /* byte sums stay <= 8 * (words / 4) <= 32 */
        size_t w = 0;
        for (; w + 4 <= words; w += 4)
            acc = _mm256_add_epi8(acc, byte_counts(_mm256_xor_si256(loadu(c + w), loadu(q + w))));
        const __m256i s = _mm256_sad_epu8(acc, zero);
        const __m128i h = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
        long long d = _mm_cvtsi128_si64(h) + _mm_extract_epi64(h, 1);
        for (; w < words; w++) d += __builtin_popcountll(c[w] ^ q[w]);
        out[i] = (int32_t)d;
    }
}

AVX2_TARGET static size_t avx2_filter(const uint64_t *restrict q, const uint64_t *restrict codes,
                                      size_t words, size_t begin, size_t n, int32_t thr,
                                      l2h_cand *restrict out, size_t cap, size_t *n_out)
{
    __m256i qb[L2H_MAX_WORDS];
    for (size_t w = 0; w < words; w++) qb[w] = _mm256_set1_epi64x((long long)q[w]);
    const __m256i zero = _mm256_setzero_si256();
    const __m256i vthr = _mm256_set1_epi64x(thr);
    const size_t ng = n / 8 + (n % 8 != 0);
    size_t no = *n_out, g = begin / 8;
    for (; g < ng; g++) {
        if (cap - no < L2H_FILTER_MIN_CAP) break;
        const uint64_t *grp = codes + g * words * 8;
        __m256i a0 = zero, a1 = zero; /* byte sums <= 8 * words <= 128 */
        for (size_t w = 0; w < words; w++) {
            a0 = _mm256_add_epi8(a0, byte_counts(_mm256_xor_si256(loadu(grp + 8 * w), qb[w])));
            a1 = _mm256_add_epi8(a1,
                                 byte_counts(_mm256_xor_si256(loadu(grp + 8 * w + 4), qb[w])));
        }
        const __m256i d0 = _mm256_sad_epu8(a0, zero), d1 = _mm256_sad_epu8(a1, zero);
        const int gt = _mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpgt_epi64(d0, vthr))) |
                       _mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpgt_epi64(d1, vthr))) << 4;
        unsigned m = ~(unsigned)gt & 0xffu;
        if ((g + 1) * 8 > n) m &= (1u << (n - g * 8)) - 1u;
        if (m) {
            uint64_t t[8];
            _mm256_storeu_si256((__m256i *)(void *)t, d0);
            _mm256_storeu_si256((__m256i *)(void *)(t + 4), d1);
            while (m) {
                const unsigned l = (unsigned)__builtin_ctz(m);
                m &= m - 1;
                out[no++] = (l2h_cand){(uint32_t)(g * 8 + l), (int32_t)t[l]};
            }
        }
    }
    *n_out = no;
    return g * 8 < n ? g * 8 : n;
}

static int avx2_supported(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt");
}

const l2h_hamming_kernels l2h_hamming_avx2 = {
    .name = "avx2",
    .supported = avx2_supported,
    .scan = avx2_scan,
    .filter = avx2_filter,
};

#else
typedef int l2h_hamming_avx2_unavailable; /* not x86-64: the kernel is not compiled */
#endif
