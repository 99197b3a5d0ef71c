/* alloc.c -- the only place that calls the C allocator. With L2H_FAULT_INJECTION the Nth
 * allocation after l2h_fault_inject_after(N) fails, so tests can prove every NOMEM path. */
#include "core.h"

#include <stdlib.h>
#include <string.h>

#ifdef L2H_FAULT_INJECTION
static long fault_countdown = -1;
static int should_fail(void)
{
    if (fault_countdown < 0) return 0;
    if (fault_countdown == 0) return 1;
    fault_countdown--;
    return 0;
}
#else
#define should_fail() 0
#endif

void l2h_fault_inject_after(long n)
{
#ifdef L2H_FAULT_INJECTION
    fault_countdown = n;
#else
    (void)n;
#endif
}

void *l2h_malloc(size_t size)
{
    if (should_fail()) return NULL;
    return malloc(size ? size : 1);
}

void *l2h_calloc(size_t n, size_t size)
{
    if (should_fail()) return NULL;
    if (n == 0 || size == 0) return calloc(1, 1);
    return calloc(n, size);
}

void *l2h_malloc_array(size_t n, size_t size)
{
    size_t total;
    if (!l2h_mul_ok(n, size, &total)) return NULL;
    return l2h_malloc(total);
}

void *l2h_realloc(void *p, size_t size)
{
    if (should_fail()) return NULL;
    return realloc(p, size ? size : 1);
}

void *l2h_aligned_alloc(size_t align, size_t size)
{
    if (should_fail()) return NULL;
    void *p = NULL;
    if (posix_memalign(&p, align, size ? size : align) != 0) return NULL;
    return p;
}

void l2h_free(void *p)
{
    free(p);
}

void l2h_aligned_free(void *p)
{
    free(p);
}

char *l2h_strdup(const char *s)
{
    const size_t n = strlen(s) + 1;
    char *d = l2h_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}
