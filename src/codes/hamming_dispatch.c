/* hamming_dispatch.c -- run-time choice of the Hamming kernel.
 *
 * Default: the fastest kernel this CPU supports (later entries of `kernels` are faster).
 * $L2H_KERNEL (a kernel name, or "auto") overrides it; an unknown or unsupported name makes every
 * fallible Hamming/index call fail with a message rather than silently run something else.
 * l2h_hamming_set_kernel() overrides both until called with NULL. */
#include "hamming_internal.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#define L2H_HAVE_X86_KERNELS 1
#endif

static const l2h_hamming_kernels *const kernels[] = {
    &l2h_hamming_portable,
#ifdef L2H_HAVE_X86_KERNELS
    &l2h_hamming_popcnt,
    &l2h_hamming_avx2,
    &l2h_hamming_avx512,
#endif
};
enum { N_KERNELS = sizeof kernels / sizeof kernels[0] };

/* Forced by l2h_hamming_set_kernel (NULL = not forced) and the cached automatic choice. */
static _Atomic(const l2h_hamming_kernels *) forced;
static _Atomic(const l2h_hamming_kernels *) cached;

size_t l2h_hamming_kernel_count(void)
{
    return N_KERNELS;
}

const l2h_hamming_kernels *l2h_hamming_kernel_at(size_t i)
{
    return i < N_KERNELS ? kernels[i] : NULL;
}

static const l2h_hamming_kernels *best_supported(void)
{
    for (size_t i = N_KERNELS; i-- > 0;)
        if (kernels[i]->supported()) return kernels[i];
    return &l2h_hamming_portable;
}

static const l2h_hamming_kernels *find(const char *name)
{
    for (size_t i = 0; i < N_KERNELS; i++)
        if (strcmp(kernels[i]->name, name) == 0) return kernels[i];
    return NULL;
}

static l2h_status resolve_env(const l2h_hamming_kernels **out)
{
    const char *env = getenv("L2H_KERNEL");
    if (env == NULL || env[0] == '\0' || strcmp(env, "auto") == 0) {
        *out = best_supported();
        return L2H_OK;
    }
    const l2h_hamming_kernels *k = find(env);
    L2H_FAIL_IF(k == NULL, L2H_ERR_ARG,
                "L2H_KERNEL=%s: unknown kernel (portable, popcnt, avx2, avx512-vpopcntdq, auto)",
                env);
    L2H_FAIL_IF(!k->supported(), L2H_ERR_UNSUPPORTED,
                "L2H_KERNEL=%s: this CPU cannot run that kernel", env);
    *out = k;
    return L2H_OK;
}

l2h_status l2h_hamming_active(const l2h_hamming_kernels **out)
{
    const l2h_hamming_kernels *k = atomic_load_explicit(&forced, memory_order_acquire);
    if (k == NULL) k = atomic_load_explicit(&cached, memory_order_acquire);
    if (k == NULL) {
        L2H_TRY(resolve_env(&k));
        atomic_store_explicit(&cached, k, memory_order_release);
    }
    *out = k;
    return L2H_OK;
}

const char *l2h_hamming_kernel(void)
{
    const l2h_hamming_kernels *k = NULL;
    if (l2h_hamming_active(&k) != L2H_OK) return "invalid (see L2H_KERNEL)";
    return k->name;
}

l2h_status l2h_hamming_set_kernel(const char *name)
{
    if (name == NULL) {
        atomic_store_explicit(&forced, NULL, memory_order_release);
        atomic_store_explicit(&cached, NULL, memory_order_release); /* re-read $L2H_KERNEL */
        return L2H_OK;
    }
    const l2h_hamming_kernels *k = strcmp(name, "auto") == 0 ? best_supported() : find(name);
    L2H_FAIL_IF(k == NULL, L2H_ERR_ARG,
                "unknown Hamming kernel '%s' (portable, popcnt, avx2, avx512-vpopcntdq, auto)",
                name);
    L2H_FAIL_IF(!k->supported(), L2H_ERR_UNSUPPORTED,
                "Hamming kernel '%s' needs CPU features this machine lacks", name);
    atomic_store_explicit(&forced, k, memory_order_release);
    return L2H_OK;
}
