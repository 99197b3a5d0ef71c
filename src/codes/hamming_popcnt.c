/* hamming_popcnt.c -- scalar kernel on the POPCNT instruction, compiled for that instruction
 * only (function target attribute), selected at run time. */
#include "hamming_internal.h"

#if defined(__x86_64__) && defined(__GNUC__)

#define SCALAR_POPCOUNT(x) ((unsigned)__builtin_popcountll(x))
#define SCALAR_TARGET __attribute__((target("popcnt")))
#include "hamming_scalar_impl.h"

static int popcnt_supported(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("popcnt");
}

const l2h_hamming_kernels l2h_hamming_popcnt = {
    .name = "popcnt",
    .supported = popcnt_supported,
    .scan = scalar_scan,
    .filter = scalar_filter,
};

#else
typedef int l2h_hamming_popcnt_unavailable; /* not x86-64: the kernel is not compiled */
#endif
