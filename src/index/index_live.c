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

/* Builds in *out a store holding ix's (code, id) pairs except those whose id is in req[0..nreq)
 * (all occurrences), rows in their old order; occ[j] (may be NULL) counts the occurrences of
 * req[j] dropped. `extra` reserves room for that many more rows. On failure *out is empty. */
static l2h_status store_without(const l2h_index *ix, const id_pos *req, size_t nreq,
                                size_t extra, l2h_store *out, size_t *occ)
{
    const size_t W = ix->words;
    memset(out, 0, sizeof *out);
    l2h_status st = l2h_store_reserve(out, W, ix->nd + extra);
    uint64_t c[L2H_MAX_WORDS];
    for (size_t r = 0; st == L2H_OK && r < ix->nd; r++) {
        const l2h_idlist *l = &ix->lists[r];
        const l2h_id *a = l2h_idlist_ids(l);
        l2h_store_row(ix->codes, W, r, c);
        for (size_t i = 0; st == L2H_OK && i < l->n; i++) {
            const size_t j = find_id(req, nreq, a[i]);
            if (j != SIZE_MAX) {
                if (occ) occ[j]++;
                continue;
            }
            size_t row;
            st = l2h_store_add(out, W, c, a[i], &row);
        }
    }
    if (st != L2H_OK) l2h_store_free(out);
    return st;
}

/* Installs a new store; the kind rebuilds its structures when the rows changed. */
static l2h_status install(l2h_index *ix, l2h_store *ns, int rows_changed)
{
    l2h_store_free(&ix->st);
    ix->st = *ns;
    memset(ns, 0, sizeof *ns);
    l2h_index_sync(ix);
    return rows_changed && ix->ops->rebuilt ? ix->ops->rebuilt(ix) : L2H_OK;
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
    const size_t old_n = ix->n, old_nd = ix->nd;
    l2h_store ns;
    l2h_status st = store_without(ix, req, n, 0, &ns, NULL);
    size_t removed = 0;
    if (st == L2H_OK) {
        removed = old_n - ns.n;
        if (removed == 0) l2h_store_free(&ns); /* nothing to do: keep the current store */
        else st = install(ix, &ns, ns.nd != old_nd);
    }
    l2h_index_unlock(ix);
    l2h_free(req);
    if (n_removed) *n_removed = removed;
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
    size_t *occ = NULL;
    int locked = 0;
    l2h_store ns;
    memset(&ns, 0, sizeof ns);
    for (size_t i = 1; i < n; i++)
        if (req[i].id == req[i - 1].id)
            L2H_FAIL_GOTO(L2H_ERR_ARG,
                          "l2h_index_replace: id %lld appears twice (entries %zu and %zu)",
                          (long long)req[i].id, req[i - 1].pos, req[i].pos);
    occ = l2h_calloc(n, sizeof *occ);
    if (!occ) L2H_FAIL_GOTO(L2H_ERR_NOMEM, "l2h_index_replace: out of memory");

    l2h_index_wrlock(index);
    locked = 1;
    l2h_index *ix = index;
    /* the new store: every pair whose id is not replaced, then the replaced ids with their new
     * codes (as many times as each id occurs); built aside, so any failure changes nothing */
    L2H_CHECK_GOTO(store_without(ix, req, n, 0, &ns, occ));
    for (size_t j = 0; j < n; j++)
        if (occ[j] == 0)
            L2H_FAIL_GOTO(L2H_ERR_ARG, "l2h_index_replace: id %lld (entry %zu) is not in the index",
                          (long long)req[j].id, req[j].pos);
    const size_t W = ix->words;
    L2H_CHECK_GOTO(l2h_store_reserve(&ns, W, ns.nd + n));
    for (size_t j = 0; j < n; j++) {
        uint64_t padded[L2H_MAX_WORDS]; /* l2h_codes_pad clears bits beyond the code length */
        l2h_codes_pad(codes + req[j].pos * ix->bytes, 1, ix->bits, padded);
        for (size_t o = 0; o < occ[j]; o++) {
            size_t row;
            L2H_CHECK_GOTO(l2h_store_add(&ns, W, padded, req[j].id, &row));
        }
    }
    st = install(ix, &ns, 1);
done:
    if (locked) l2h_index_unlock(index);
    l2h_store_free(&ns);
    l2h_free(occ);
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
    const l2h_store *st = &index->st;
    size_t mem = sizeof *index + st->cap_groups * index->words * 8 * sizeof(uint64_t) +
                 st->cap_groups * 8 * sizeof(l2h_idlist) + st->nslots * sizeof *st->slots;
    for (size_t r = 0; r < st->nd; r++) mem += st->lists[r].cap * sizeof(l2h_id);
    out->memory_bytes = mem;
    out->distinct = st->nd;
    if (index->ops->describe) index->ops->describe(index, out);
    l2h_index_unlock(index);
    return L2H_OK;
}
