/* index_live.c -- an index over changing data: the handle's reader-writer lock, removal by id
 * and bulk replacement of codes by id, for every kind, and l2h_index_describe.
 *
 * Consistency: every public call takes the lock (searches shared, changes exclusive), so a
 * reader sees each change entirely or not at all. The lock is writer-preferring (glibc's
 * PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP) so updates are not starved by a stream of
 * searches; a reader must therefore never take it twice (none of our calls nest).
 *
 * Removal compacts the storage at once (rows move down, each keeping its id), so no tombstone
 * is ever visible to a search and the scan engine needs no "deleted" mask; the kind's tables
 * are then rebuilt through ops->rebuilt. Ids are looked up by binary search in a sorted copy of
 * the request: O(n log r + r log r) for r requested ids, with no id map kept in the index. */
#define _GNU_SOURCE /* pthread_rwlockattr_setkind_np */
#include "index_internal.h"

#include <stdlib.h>
#include <string.h>

l2h_status l2h_index_lock_init(l2h_index *ix)
{
    pthread_rwlock_t *l = l2h_malloc(sizeof *l);
    L2H_NOMEM_IF_NULL(l);
    pthread_rwlockattr_t a;
    int rc = pthread_rwlockattr_init(&a);
#if defined(__GLIBC__)
    if (rc == 0) pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
#endif
    if (rc == 0) {
        rc = pthread_rwlock_init(l, &a);
        pthread_rwlockattr_destroy(&a);
    }
    if (rc != 0) {
        l2h_free(l);
        L2H_FAIL(L2H_ERR_NOMEM, "cannot create the index lock (error %d)", rc);
    }
    ix->lock = l;
    return L2H_OK;
}

void l2h_index_lock_destroy(l2h_index *ix)
{
    if (!ix->lock) return;
    pthread_rwlock_destroy(ix->lock);
    l2h_free(ix->lock);
    ix->lock = NULL;
}

void l2h_index_rdlock(const l2h_index *ix)
{
    if (ix->lock) pthread_rwlock_rdlock(ix->lock);
}

void l2h_index_wrlock(const l2h_index *ix)
{
    if (ix->lock) pthread_rwlock_wrlock(ix->lock);
}

void l2h_index_unlock(const l2h_index *ix)
{
    if (ix->lock) pthread_rwlock_unlock(ix->lock);
}

/* ---- id lookup ------------------------------------------------------------------------- */

typedef struct id_pos {
    l2h_id id;
    size_t pos; /* index in the request */
} id_pos;

static int cmp_id_pos(const void *a, const void *b)
{
    const id_pos *x = a, *y = b;
    if (x->id != y->id) return x->id < y->id ? -1 : 1;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

/* Index in s[0..n) of id, or SIZE_MAX. */
static size_t find_id(const id_pos *s, size_t n, l2h_id id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        const size_t mid = lo + (hi - lo) / 2;
        if (s[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && s[lo].id == id ? lo : SIZE_MAX;
}

/* Sorted copy of a request; L2H_ERR_ARG for a negative id (names `what`). */
static l2h_status sorted_request(const l2h_id *ids, size_t n, const char *what, id_pos **out)
{
    *out = NULL;
    for (size_t i = 0; i < n; i++)
        L2H_FAIL_IF(ids[i] < 0, L2H_ERR_ARG, "%s: id %lld (entry %zu) is negative", what,
                    (long long)ids[i], i);
    id_pos *s = l2h_malloc_array(n, sizeof *s);
    L2H_FAIL_IF(s == NULL, L2H_ERR_NOMEM, "%s: out of memory for %zu ids", what, n);
    for (size_t i = 0; i < n; i++) {
        s[i].id = ids[i];
        s[i].pos = i;
    }
    qsort(s, n, sizeof *s, cmp_id_pos);
    *out = s;
    return L2H_OK;
}

static void recompute_id_flags(l2h_index *ix)
{
    ix->ids_sequential = ix->ids_ordered = 1;
    for (size_t i = 0; i < ix->n; i++) {
        if (ix->ids[i] != (l2h_id)i) ix->ids_sequential = 0;
        if (i > 0 && ix->ids[i] < ix->ids[i - 1]) ix->ids_ordered = 0;
    }
}

static inline uint64_t *lane(const l2h_index *ix, size_t r, size_t w)
{
    return ix->codes + ((r / 8) * ix->words + w) * 8 + r % 8;
}

/* ---- remove ------------------------------------------------------------------------------ */

l2h_status l2h_index_remove(l2h_index *index, const l2h_id *ids, size_t n, size_t *n_removed)
{
    if (n_removed) *n_removed = 0;
    L2H_FAIL_IF(index == NULL, L2H_ERR_ARG, "l2h_index_remove: NULL index");
    if (n == 0) return L2H_OK;
    L2H_FAIL_IF(ids == NULL, L2H_ERR_ARG, "l2h_index_remove: NULL ids");
    id_pos *req = NULL;
    L2H_TRY(sorted_request(ids, n, "l2h_index_remove", &req));

    l2h_index *ix = index;
    l2h_index_wrlock(ix);
    const size_t W = ix->words, old_n = ix->n;
    size_t w = 0;
    for (size_t r = 0; r < old_n; r++) {
        if (find_id(req, n, ix->ids[r]) != SIZE_MAX) continue;
        if (w != r) {
            for (size_t k = 0; k < W; k++)
                *lane(ix, w, k) = *lane(ix, r, k);
            ix->ids[w] = ix->ids[r];
        }
        w++;
    }
    /* lanes beyond the new size must be zero (group layout invariant) */
    for (size_t r = w; r < old_n; r++)
        for (size_t k = 0; k < W; k++)
            *lane(ix, r, k) = 0;
    ix->n = w;
    recompute_id_flags(ix);
    l2h_status st = L2H_OK;
    if (w != old_n && ix->ops->rebuilt) st = ix->ops->rebuilt(ix);
    l2h_index_unlock(ix);
    l2h_free(req);
    if (n_removed) *n_removed = old_n - w;
    return st;
}

/* ---- replace ----------------------------------------------------------------------------- */

l2h_status l2h_index_replace(l2h_index *index, const l2h_id *ids, const uint8_t *codes, size_t n)
{
    L2H_FAIL_IF(index == NULL, L2H_ERR_ARG, "l2h_index_replace: NULL index");
    if (n == 0) return L2H_OK;
    L2H_FAIL_IF(ids == NULL || codes == NULL, L2H_ERR_ARG, "l2h_index_replace: NULL buffer");
    id_pos *req = NULL;
    L2H_TRY(sorted_request(ids, n, "l2h_index_replace", &req));
    l2h_status st = L2H_OK;
    uint8_t *found = NULL;
    for (size_t i = 1; i < n; i++)
        if (req[i].id == req[i - 1].id)
            L2H_FAIL_GOTO(L2H_ERR_ARG,
                          "l2h_index_replace: id %lld appears twice (entries %zu and %zu)",
                          (long long)req[i].id, req[i - 1].pos, req[i].pos);
    found = l2h_calloc(n, 1);
    if (!found) L2H_FAIL_GOTO(L2H_ERR_NOMEM, "l2h_index_replace: out of memory");

    l2h_index_wrlock(index);
    l2h_index *ix = index;
    /* pass 1: every requested id must be present, else nothing changes */
    for (size_t r = 0; r < ix->n; r++) {
        const size_t j = find_id(req, n, ix->ids[r]);
        if (j != SIZE_MAX) found[j] = 1;
    }
    size_t missing = SIZE_MAX;
    for (size_t j = 0; j < n && missing == SIZE_MAX; j++)
        if (!found[j]) missing = j;
    if (missing != SIZE_MAX) {
        l2h_index_unlock(ix);
        L2H_FAIL_GOTO(L2H_ERR_ARG, "l2h_index_replace: id %lld (entry %zu) is not in the index",
                      (long long)req[missing].id, req[missing].pos);
    }
    /* pass 2: rewrite the lanes (l2h_codes_pad clears bits beyond the code length) */
    const size_t W = ix->words;
    for (size_t r = 0; r < ix->n; r++) {
        const size_t j = find_id(req, n, ix->ids[r]);
        if (j == SIZE_MAX) continue;
        uint64_t padded[L2H_MAX_WORDS];
        l2h_codes_pad(codes + req[j].pos * ix->bytes, 1, ix->bits, padded);
        for (size_t k = 0; k < W; k++)
            *lane(ix, r, k) = padded[k];
    }
    if (ix->ops->rebuilt) st = ix->ops->rebuilt(ix);
    l2h_index_unlock(ix);
done:
    l2h_free(found);
    l2h_free(req);
    return st;
}

/* ---- describe ---------------------------------------------------------------------------- */

l2h_status l2h_index_describe(const l2h_index *index, l2h_index_info *out)
{
    L2H_FAIL_IF(index == NULL || out == NULL, L2H_ERR_ARG, "l2h_index_describe: NULL argument");
    memset(out, 0, sizeof *out);
    l2h_index_rdlock(index);
    out->kind = index->params.kind;
    out->bits = index->bits;
    out->size = index->n;
    out->memory_bytes = sizeof *index + index->cap_groups * index->words * 8 * sizeof(uint64_t) +
                        index->cap_groups * 8 * sizeof(l2h_id);
    if (index->ops->describe) index->ops->describe(index, out);
    l2h_index_unlock(index);
    return L2H_OK;
}
