/* index_api.c -- the public l2h_index handle: creation, storage of codes and ids, argument
 * checking, query padding, and dispatch to the kind's ops table. Also the range-result handle. */
#include "index_internal.h"

#include <string.h>

/* Index kinds by l2h_index_kind value. NULL = declared in the API but not built yet. */
static const l2h_index_ops *const kinds[] = {
    [L2H_INDEX_FLAT] = &l2h_index_flat_ops,
    [L2H_INDEX_MIH] = &l2h_index_mih_ops,
};
enum { N_KINDS = sizeof kinds / sizeof kinds[0] };

l2h_index_params l2h_index_default_params(size_t bits)
{
    l2h_index_params p;
    memset(&p, 0, sizeof p);
    p.kind = L2H_INDEX_FLAT;
    p.bits = bits;
    p.n_tables = 0;
    return p;
}

l2h_status l2h_index_create(l2h_index **out, const l2h_index_params *p)
{
    L2H_FAIL_IF(out == NULL || p == NULL, L2H_ERR_ARG, "l2h_index_create: NULL argument");
    *out = NULL;
    L2H_FAIL_IF((unsigned)p->kind >= N_KINDS, L2H_ERR_ARG, "unknown index kind %d", (int)p->kind);
    L2H_FAIL_IF(kinds[p->kind] == NULL, L2H_ERR_UNSUPPORTED,
                "index kind %d (multi-index hashing) is not available in this build; use "
                "L2H_INDEX_FLAT",
                (int)p->kind);
    L2H_FAIL_IF(p->bits == 0 || p->bits > L2H_MAX_BITS, L2H_ERR_ARG,
                "code length %zu bits outside 1..%d", p->bits, L2H_MAX_BITS);
    l2h_index *ix = l2h_calloc(1, sizeof *ix);
    L2H_NOMEM_IF_NULL(ix);
    ix->params = *p;
    ix->ops = kinds[p->kind];
    ix->bits = p->bits;
    ix->bytes = l2h_code_bytes(p->bits);
    ix->words = l2h_code_words(p->bits);
    const l2h_status ls = l2h_index_lock_init(ix);
    if (ls != L2H_OK) {
        l2h_free(ix);
        return ls;
    }
    if (ix->ops->init) {
        const l2h_status st = ix->ops->init(ix);
        if (st != L2H_OK) {
            l2h_index_lock_destroy(ix);
            l2h_free(ix);
            return st;
        }
    }
    *out = ix;
    return L2H_OK;
}

void l2h_index_free(l2h_index *index)
{
    if (!index) return;
    if (index->ops->destroy) index->ops->destroy(index);
    l2h_index_lock_destroy(index);
    l2h_store_free(&index->st);
    l2h_free(index);
}

size_t l2h_index_bits(const l2h_index *index)
{
    return index ? index->bits : 0;
}

size_t l2h_index_size(const l2h_index *index)
{
    if (!index) return 0;
    l2h_index_rdlock(index);
    const size_t n = index->n;
    l2h_index_unlock(index);
    return n;
}

/* Adds padded codes. On failure undoes what it did: the ids that joined existing rows (their
 * rows are recorded in `joined`) and the rows added from nd0 on. */
l2h_status l2h_index_append_padded(l2h_index *ix, const uint64_t *codes, const l2h_id *ids,
                                   size_t n)
{
    l2h_store *s = &ix->st;
    const size_t first = s->n, nd0 = s->nd, W = ix->words;
    L2H_FAIL_IF(n > SIZE_MAX / 16 - first, L2H_ERR_ARG, "index would exceed %zu codes",
                SIZE_MAX / 16);
    L2H_TRY(l2h_store_reserve(s, W, nd0 + n));
    size_t *joined = l2h_malloc_array(n ? n : 1, sizeof *joined);
    L2H_NOMEM_IF_NULL(joined);
    const size_t max0 = s->max_list;
    l2h_status st = L2H_OK;
    size_t i = 0;
    for (; i < n && st == L2H_OK; i++) {
        const l2h_id id = ids ? ids[i] : (l2h_id)(first + i);
        size_t r;
        st = l2h_store_add(s, W, codes + i * W, id, &r);
        joined[i] = st == L2H_OK && r < nd0 ? r : SIZE_MAX;
    }
    l2h_index_sync(ix);
    if (st == L2H_OK && ix->ops->added) st = ix->ops->added(ix, nd0);
    if (st != L2H_OK) { /* undo: the ids that joined old rows, then the new rows */
        for (size_t j = i; j-- > 0;)
            if (joined[j] != SIZE_MAX) l2h_store_unadd(s, joined[j], ids ? ids[j] : (l2h_id)(first + j));
        l2h_store_truncate(s, W, nd0);
        s->max_list = max0;
        l2h_index_sync(ix);
    }
    l2h_free(joined);
    return st;
}

l2h_status l2h_index_append(l2h_index *ix, const uint8_t *codes, const l2h_id *ids, size_t n)
{
    uint64_t *p = l2h_malloc_array(n ? n : 1, ix->words * sizeof *p);
    L2H_FAIL_IF(p == NULL, L2H_ERR_NOMEM, "out of memory adding %zu codes", n);
    l2h_codes_pad(codes, n, ix->bits, p);
    const l2h_status st = l2h_index_append_padded(ix, p, ids, n);
    l2h_free(p);
    return st;
}

l2h_status l2h_index_add(l2h_index *index, const uint8_t *codes, const l2h_id *ids, size_t n)
{
    L2H_FAIL_IF(index == NULL, L2H_ERR_ARG, "l2h_index_add: NULL index");
    if (n == 0) return L2H_OK;
    L2H_FAIL_IF(codes == NULL, L2H_ERR_ARG, "l2h_index_add: NULL codes");
    if (ids)
        for (size_t i = 0; i < n; i++)
            L2H_FAIL_IF(ids[i] < 0, L2H_ERR_ARG, "l2h_index_add: id %lld (row %zu) is negative",
                        (long long)ids[i], i);
    l2h_index_wrlock(index);
    const l2h_status st = l2h_index_append(index, codes, ids, n);
    l2h_index_unlock(index);
    return st;
}

/* Padded copies of queries [q0, q0 + nq), bits beyond the code length cleared. */
static uint64_t *pad_queries(const l2h_index *ix, const uint8_t *queries, size_t nq)
{
    uint64_t *qp = l2h_malloc_array(nq, ix->words * sizeof(uint64_t));
    if (qp) l2h_codes_pad(queries, nq, ix->bits, qp);
    return qp;
}

static l2h_status search_locked(const l2h_index *index, const uint8_t *queries, size_t nq,
                                size_t k, int32_t *dist, l2h_id *ids)
{
    L2H_FAIL_IF(index == NULL, L2H_ERR_ARG, "l2h_index_search: NULL index");
    size_t total;
    L2H_FAIL_IF(!l2h_mul_ok(nq, k, &total), L2H_ERR_ARG, "l2h_index_search: nq * k overflows");
    if (total == 0) return L2H_OK;
    L2H_FAIL_IF(queries == NULL || dist == NULL || ids == NULL, L2H_ERR_ARG,
                "l2h_index_search: NULL buffer");
    if (index->n == 0) {
        for (size_t i = 0; i < total; i++) {
            dist[i] = -1;
            ids[i] = -1;
        }
        return L2H_OK;
    }
    /* queries in chunks, so the padded copy stays small whatever nq is */
    const size_t chunk = 8192;
    for (size_t q0 = 0; q0 < nq; q0 += chunk) {
        const size_t m = nq - q0 < chunk ? nq - q0 : chunk;
        uint64_t *qp = pad_queries(index, queries + q0 * index->bytes, m);
        L2H_FAIL_IF(qp == NULL, L2H_ERR_NOMEM, "out of memory padding %zu queries", m);
        const l2h_status st = index->ops->search(index, qp, m, k, dist + q0 * k, ids + q0 * k);
        l2h_free(qp);
        L2H_TRY(st);
    }
    return L2H_OK;
}

l2h_status l2h_index_search(const l2h_index *index, const uint8_t *queries, size_t nq, size_t k,
                            int32_t *dist, l2h_id *ids)
{
    L2H_FAIL_IF(index == NULL, L2H_ERR_ARG, "l2h_index_search: NULL index");
    l2h_index_rdlock(index);
    const l2h_status st = search_locked(index, queries, nq, k, dist, ids);
    l2h_index_unlock(index);
    return st;
}

void l2h_range_result_free(l2h_range_result *r)
{
    if (!r) return;
    l2h_free(r->lims);
    l2h_free(r->ids);
    l2h_free(r->dists);
    l2h_free(r);
}

l2h_status l2h_index_range_search(const l2h_index *index, const uint8_t *queries, size_t nq,
                                  uint32_t radius, l2h_range_result **out)
{
    L2H_FAIL_IF(out == NULL, L2H_ERR_ARG, "l2h_index_range_search: NULL result pointer");
    *out = NULL;
    L2H_FAIL_IF(index == NULL, L2H_ERR_ARG, "l2h_index_range_search: NULL index");
    L2H_FAIL_IF(queries == NULL && nq > 0, L2H_ERR_ARG, "l2h_index_range_search: NULL queries");
    l2h_range_result *r = l2h_calloc(1, sizeof *r);
    L2H_NOMEM_IF_NULL(r);
    r->nq = nq;
    r->lims = l2h_calloc(nq + 1, sizeof *r->lims);
    l2h_status st = L2H_OK;
    uint64_t *qp = NULL;
    int locked = 0;
    if (!r->lims) L2H_FAIL_GOTO(L2H_ERR_NOMEM, "out of memory for %zu range results", nq);
    /* a radius beyond the code length returns everything: clamp it */
    const int32_t rad = radius > index->bits ? (int32_t)index->bits : (int32_t)radius;
    l2h_index_rdlock(index);
    locked = 1;
    if (nq == 0 || index->n == 0) {
        r->ids = l2h_malloc(sizeof *r->ids);
        r->dists = l2h_malloc(sizeof *r->dists);
        if (!r->ids || !r->dists) L2H_FAIL_GOTO(L2H_ERR_NOMEM, "out of memory");
        goto done;
    }
    qp = pad_queries(index, queries, nq);
    if (!qp) L2H_FAIL_GOTO(L2H_ERR_NOMEM, "out of memory padding %zu queries", nq);
    L2H_CHECK_GOTO(index->ops->range_search(index, qp, nq, rad, r));
done:
    if (locked) l2h_index_unlock(index);
    l2h_free(qp);
    if (st != L2H_OK) l2h_range_result_free(r);
    else *out = r;
    return st;
}

const size_t *l2h_range_result_lims(const l2h_range_result *r)
{
    return r ? r->lims : NULL;
}

const l2h_id *l2h_range_result_ids(const l2h_range_result *r)
{
    return r ? r->ids : NULL;
}

const int32_t *l2h_range_result_dists(const l2h_range_result *r)
{
    return r ? r->dists : NULL;
}

size_t l2h_range_result_nq(const l2h_range_result *r)
{
    return r ? r->nq : 0;
}

/* ---- model fingerprint ------------------------------------------------------------------- */

void l2h_fingerprint_hex(const uint8_t fp[L2H_FINGERPRINT_BYTES], char out[33])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < L2H_FINGERPRINT_BYTES; i++) {
        out[2 * i] = hex[fp[i] >> 4];
        out[2 * i + 1] = hex[fp[i] & 15];
    }
    out[32] = 0;
}

l2h_status l2h_index_set_fingerprint(l2h_index *index, const uint8_t fp[L2H_FINGERPRINT_BYTES])
{
    L2H_FAIL_IF(index == NULL || fp == NULL, L2H_ERR_ARG, "l2h_index_set_fingerprint: NULL argument");
    l2h_index_wrlock(index);
    l2h_status st = L2H_OK;
    if (index->has_fp && memcmp(index->fp, fp, L2H_FINGERPRINT_LEN) != 0) {
        char a[33], b[33];
        l2h_fingerprint_hex(index->fp, a);
        l2h_fingerprint_hex(fp, b);
        st = l2h_set_error(L2H_ERR_ARG,
                           "the index holds codes of model %s, not of model %s: an index keeps "
                           "the model it was built with",
                           a, b);
    } else {
        memcpy(index->fp, fp, L2H_FINGERPRINT_LEN);
        index->has_fp = 1;
    }
    l2h_index_unlock(index);
    return st;
}

int l2h_index_fingerprint(const l2h_index *index, uint8_t out[L2H_FINGERPRINT_BYTES])
{
    if (!index) return 0;
    l2h_index_rdlock(index);
    const int has = index->has_fp;
    if (has && out) memcpy(out, index->fp, L2H_FINGERPRINT_LEN);
    l2h_index_unlock(index);
    return has;
}

l2h_status l2h_index_check_fingerprint(const l2h_index *index,
                                       const uint8_t fp[L2H_FINGERPRINT_BYTES], const char *what)
{
    L2H_FAIL_IF(index == NULL || fp == NULL, L2H_ERR_ARG,
                "l2h_index_check_fingerprint: NULL argument");
    uint8_t mine[L2H_FINGERPRINT_LEN];
    if (!l2h_index_fingerprint(index, mine) || memcmp(mine, fp, L2H_FINGERPRINT_LEN) == 0)
        return L2H_OK;
    char a[33], b[33];
    l2h_fingerprint_hex(mine, a);
    l2h_fingerprint_hex(fp, b);
    L2H_FAIL(L2H_ERR_ARG,
             "%s come from model %s, but the index holds codes of model %s: codes of different "
             "models are not comparable",
             what ? what : "codes", b, a);
}
