/* hamming_portable.c -- the kernel every CPU can run: SWAR popcount in plain C (no
 * __builtin_popcountll, which without a target flag becomes a call into libgcc). */
#include "hamming_internal.h"

static inline unsigned swar_popcount(uint64_t x)
{
    x = x - ((x >> 1) & 0x5555555555555555u);
    x = (x & 0x3333333333333333u) + ((x >> 2) & 0x3333333333333333u);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fu;
    return (unsigned)((x * 0x0101010101010101u) >> 56);
}

#define SCALAR_POPCOUNT(x) swar_popcount(x)
#define SCALAR_TARGET
#include "hamming_scalar_impl.h"

static int portable_supported(void)
{
    return 1;
}

const l2h_hamming_kernels l2h_hamming_portable = {
    .name = "portable",
    .supported = portable_supported,
    .scan = scalar_scan,
    .filter = scalar_filter,
};
