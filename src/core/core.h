/* core.h -- internal plumbing shared by every module: error reporting, allocation with
 * overflow checks, the project RNG. Depends on nothing but libc. */
#ifndef L2H_CORE_H
#define L2H_CORE_H

#include "l2h/status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define L2H_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define L2H_PRINTF(a, b)
#endif

/* Records a formatted message as this thread's last error and returns `code`. */
l2h_status l2h_set_error(l2h_status code, const char *fmt, ...) L2H_PRINTF(2, 3);
void l2h_clear_error(void);

/* Return `code` with a message from the enclosing function. */
#define L2H_FAIL(code, ...) return l2h_set_error((code), __VA_ARGS__)
#define L2H_FAIL_IF(cond, code, ...)                                                               \
    do {                                                                                           \
        if (cond) return l2h_set_error((code), __VA_ARGS__);                                       \
    } while (0)
/* Forward a non-OK status unchanged (its message is already set). */
#define L2H_TRY(expr)                                                                              \
    do {                                                                                           \
        const l2h_status l2h_try_s_ = (expr);                                                      \
        if (l2h_try_s_ != L2H_OK) return l2h_try_s_;                                               \
    } while (0)
/* Inside a function with `l2h_status st` and a `done:` cleanup label. */
#define L2H_CHECK_GOTO(expr)                                                                       \
    do {                                                                                           \
        st = (expr);                                                                               \
        if (st != L2H_OK) goto done;                                                               \
    } while (0)
#define L2H_FAIL_GOTO(code, ...)                                                                   \
    do {                                                                                           \
        st = l2h_set_error((code), __VA_ARGS__);                                                   \
        goto done;                                                                                 \
    } while (0)

/* Programmer errors inside the library (never for caller or file input). */
void l2h_assert_fail(const char *expr, const char *file, int line);
#define L2H_ASSERT(c) ((c) ? (void)0 : l2h_assert_fail(#c, __FILE__, __LINE__))

/* Allocation. All return NULL on failure (or on size overflow) without setting an error;
 * callers turn that into L2H_ERR_NOMEM. Built with L2H_FAULT_INJECTION, the Nth allocation
 * can be made to fail (l2h_fault_inject_after). */
void *l2h_malloc(size_t size);
void *l2h_calloc(size_t n, size_t size);
void *l2h_malloc_array(size_t n, size_t size); /* n * size with overflow check */
void *l2h_realloc(void *p, size_t size);
void *l2h_aligned_alloc(size_t align, size_t size); /* release with l2h_aligned_free */
void l2h_free(void *p);
void l2h_aligned_free(void *p);
char *l2h_strdup(const char *s);
void l2h_fault_inject_after(long n); /* -1 disables; only effective with L2H_FAULT_INJECTION */

/* a * b into *out; false on overflow. */
static inline bool l2h_mul_ok(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a) return false;
    *out = a * b;
    return true;
}

#define L2H_NOMEM_IF_NULL(p)                                                                       \
    L2H_FAIL_IF((p) == NULL, L2H_ERR_NOMEM, "out of memory in %s", __func__)

/* Project RNG: xoshiro256** seeded through splitmix64. Plain value type, no global state. */
typedef struct l2h_rng {
    uint64_t s[4];
    double spare;   /* cached second normal deviate */
    int has_spare;
} l2h_rng;

void l2h_rng_seed(l2h_rng *r, uint64_t seed);
uint64_t l2h_rng_next(l2h_rng *r);
double l2h_rng_uniform(l2h_rng *r);                  /* [0, 1) with 53 bits */
uint64_t l2h_rng_below(l2h_rng *r, uint64_t n);     /* uniform in [0, n), unbiased */
double l2h_rng_normal(l2h_rng *r);                   /* standard normal */
void l2h_rng_shuffle(l2h_rng *r, size_t *a, size_t n); /* Fisher-Yates */

/* Monotonic wall clock in seconds. */
double l2h_now(void);

#endif
