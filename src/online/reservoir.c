/* reservoir.c -- uniform reservoir sampling of the stream in priority form (methods.md §1.4,
 * Vitter 1985 / Efraimidis-Spirakis with equal weights). Every stored item has a priority
 * u ~ U(0,1); the reservoir holds the `cap` items with the smallest priorities seen so far, so
 * every stream item is in it with probability cap / items seen. */
#include "online_internal.h"

#include <string.h>

l2h_status l2h_reservoir_init(l2h_reservoir *r, size_t cap, size_t dim, size_t bytes)
{
    memset(r, 0, sizeof *r);
    r->cap = cap;
    r->dim = dim;
    r->bytes = bytes;
    if (cap == 0) return L2H_OK;
    r->x = l2h_malloc_array(cap * dim, sizeof *r->x);
    r->labels = l2h_malloc_array(cap, sizeof *r->labels);
    r->codes = l2h_calloc(cap, bytes);
    r->prio = l2h_malloc_array(cap, sizeof *r->prio);
    if (!r->x || !r->labels || !r->codes || !r->prio) {
        l2h_reservoir_release(r);
        L2H_FAIL(L2H_ERR_NOMEM, "reservoir: out of memory (%zu items of dim %zu)", cap, dim);
    }
    return L2H_OK;
}

void l2h_reservoir_release(l2h_reservoir *r)
{
    l2h_free(r->x);
    l2h_free(r->labels);
    l2h_free(r->codes);
    l2h_free(r->prio);
    memset(r, 0, sizeof *r);
}

void l2h_reservoir_clear(l2h_reservoir *r)
{
    r->n = 0;
}

size_t l2h_reservoir_offer(l2h_reservoir *r, l2h_rng *rng, const float *x, const int32_t *label,
                           const uint8_t *code)
{
    if (r->cap == 0) return (size_t)-1;
    const double u = l2h_rng_uniform(rng);
    size_t slot;
    if (r->n < r->cap) {
        slot = r->n++;
    } else {
        slot = 0;
        for (size_t i = 1; i < r->n; i++)
            if (r->prio[i] > r->prio[slot]) slot = i;
        if (!(u < r->prio[slot])) return (size_t)-1;
    }
    r->prio[slot] = u;
    memcpy(r->x + slot * r->dim, x, r->dim * sizeof *x);
    r->labels[slot] = label ? *label : -1;
    if (code != NULL) memcpy(r->codes + slot * r->bytes, code, r->bytes);
    return slot;
}
