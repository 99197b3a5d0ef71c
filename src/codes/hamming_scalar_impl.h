/* hamming_scalar_impl.h -- the scalar scan and filter loops, written once and instantiated by
 * hamming_portable.c (SWAR popcount) and hamming_popcnt.c (POPCNT instruction). Not a normal
 * header: the including file defines
 *   SCALAR_POPCOUNT(x)  popcount of a uint64_t, returning an unsigned int
 *   SCALAR_TARGET       a function attribute (or nothing)
 * and gets two static functions, scalar_scan() and scalar_filter(). */
#ifndef SCALAR_POPCOUNT
#error "define SCALAR_POPCOUNT before including hamming_scalar_impl.h"
#endif

SCALAR_TARGET static inline __attribute__((always_inline)) int32_t
scalar_dist(const uint64_t *restrict q,
                                                const uint64_t *restrict c, size_t words,
                                                size_t stride)
{
    unsigned d = 0;
    for (size_t w = 0; w < words; w++) d += SCALAR_POPCOUNT(q[w] ^ c[w * stride]);
    return (int32_t)d;
}

SCALAR_TARGET static void scalar_scan(const uint64_t *restrict q, const uint64_t *restrict codes,
                                      size_t n, size_t words, int32_t *restrict out)
{
    switch (words) {
    case 1: {
        const uint64_t q0 = q[0];
        for (size_t i = 0; i < n; i++) out[i] = (int32_t)SCALAR_POPCOUNT(codes[i] ^ q0);
        return;
    }
    case 2: {
        const uint64_t q0 = q[0], q1 = q[1];
        for (size_t i = 0; i < n; i++) {
            const uint64_t *c = codes + 2 * i;
            out[i] = (int32_t)(SCALAR_POPCOUNT(c[0] ^ q0) + SCALAR_POPCOUNT(c[1] ^ q1));
        }
        return;
    }
    case 4: {
        const uint64_t q0 = q[0], q1 = q[1], q2 = q[2], q3 = q[3];
        for (size_t i = 0; i < n; i++) {
            const uint64_t *c = codes + 4 * i;
            out[i] = (int32_t)(SCALAR_POPCOUNT(c[0] ^ q0) + SCALAR_POPCOUNT(c[1] ^ q1) +
                               SCALAR_POPCOUNT(c[2] ^ q2) + SCALAR_POPCOUNT(c[3] ^ q3));
        }
        return;
    }
    default:
        for (size_t i = 0; i < n; i++) out[i] = scalar_dist(q, codes + i * words, words, 1);
    }
}

/* Groups g.. of the group layout; returns the group where it stopped. */
SCALAR_TARGET static inline __attribute__((always_inline)) size_t
scalar_groups(const uint64_t *restrict q, const uint64_t *restrict codes, size_t words, size_t g,
              size_t n, int32_t thr, l2h_cand *restrict out, size_t cap, size_t *n_out)
{
    const size_t ng = n / 8 + (n % 8 != 0);
    size_t no = *n_out;
    for (; g < ng; g++) {
        if (cap - no < L2H_FILTER_MIN_CAP) break;
        const uint64_t *grp = codes + g * words * 8;
        const size_t lanes = (g + 1) * 8 <= n ? 8 : n - g * 8;
        for (size_t l = 0; l < lanes; l++) {
            const int32_t d = scalar_dist(q, grp + l, words, 8);
            if (d <= thr) out[no++] = (l2h_cand){(uint32_t)(g * 8 + l), d};
        }
    }
    *n_out = no;
    return g;
}

SCALAR_TARGET static size_t scalar_filter(const uint64_t *restrict q,
                                          const uint64_t *restrict codes, size_t words,
                                          size_t begin, size_t n, int32_t thr,
                                          l2h_cand *restrict out, size_t cap, size_t *n_out)
{
    size_t no = *n_out;
    if (words == 1) {
        /* Group layout with one word is plain row-major. */
        const uint64_t q0 = q[0];
        size_t j = begin;
        while (j < n && cap - no >= L2H_FILTER_MIN_CAP) {
            /* at most L2H_FILTER_MIN_CAP codes (a multiple of 8) between capacity checks */
            const size_t end = n - j > L2H_FILTER_MIN_CAP ? j + L2H_FILTER_MIN_CAP : n;
            for (; j < end; j++) {
                const int32_t d = (int32_t)SCALAR_POPCOUNT(codes[j] ^ q0);
                if (d <= thr) out[no++] = (l2h_cand){(uint32_t)j, d};
            }
        }
        *n_out = no;
        return j;
    }
    size_t g = begin / 8;
    /* constant word counts let the compiler unroll the word loop and keep q in registers */
    switch (words) {
    case 2: g = scalar_groups(q, codes, 2, g, n, thr, out, cap, &no); break;
    case 3: g = scalar_groups(q, codes, 3, g, n, thr, out, cap, &no); break;
    case 4: g = scalar_groups(q, codes, 4, g, n, thr, out, cap, &no); break;
    default: g = scalar_groups(q, codes, words, g, n, thr, out, cap, &no); break;
    }
    *n_out = no;
    return g * 8 < n ? g * 8 : n;
}
