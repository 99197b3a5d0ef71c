/* index_mih.c -- L2H_INDEX_MIH: the substring tables (index_mih.h) over the distinct codes,
 * their count-then-fill build, the rebuild policy and the ops table. Searching is in
 * index_mih_query.c. */
#include "index_mih.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

static l2h_mih_tuning tuning; /* zeros: defaults */

void l2h_mih_set_tuning(const l2h_mih_tuning *t)
{
    if (t)
        tuning = *t;
    else
        memset(&tuning, 0, sizeof tuning);
}

const l2h_mih_tuning *l2h_mih_get_tuning(void)
{
    return &tuning;
}

static size_t min_rows(void)
{
    return tuning.min_rows ? tuning.min_rows : 2048;
}

static size_t tail_limit(size_t nb)
{
    const size_t t = tuning.tail_min ? tuning.tail_min : L2H_MIH_TAIL_MIN;
    return nb / 64 > t ? nb / 64 : t;
}

size_t l2h_mih_auto_tables(size_t bits, size_t n)
{
    const double lg = n > 2 ? log2((double)n) : 1.0;
    size_t m = (size_t)ceil((double)bits / lg);
    const size_t lo = (bits + 63) / 64;
    if (m < lo) m = lo;
    if (m > bits) m = bits;
    return m < 1 ? 1 : m;
}

/* ---- tables ------------------------------------------------------------------------------ */

static void table_free(l2h_mih_table *t)
{
    l2h_free(t->keys);
    l2h_free(t->offs);
    l2h_free(t->rows);
    l2h_aligned_free(t->codes);
    memset(t, 0, sizeof *t);
}

static void tables_free(l2h_mih *h)
{
    for (size_t j = 0; j < h->m; j++)
        table_free(&h->tables[j]);
    l2h_free(h->tables);
    h->tables = NULL;
    h->m = 0;
    h->nb = 0;
}

/* Key of row r in table t. rm: row-major copy ([nb, W]) or NULL (group layout, W = 1 only). */
static inline uint64_t row_key(const l2h_index *ix, const uint64_t *rm, size_t r,
                               const l2h_mih_table *t)
{
    if (rm) return l2h_mih_substr(rm + r * ix->words, t->off, t->nbits);
    return l2h_mih_substr(ix->codes + r, t->off, t->nbits); /* W = 1: group == row-major */
}

typedef struct key_row {
    uint64_t key;
    uint32_t row;
    uint32_t unused_;
} key_row;

static int cmp_key_row(const void *a, const void *b)
{
    const key_row *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

/* Copies the codes of t->rows into t->codes (bucket order, group layout: the filter kernels
 * verify a bucket 8 codes per step). */
static int fill_codes(const l2h_index *ix, const uint64_t *rm, size_t nb, l2h_mih_table *t)
{
    const size_t W = ix->words, groups = nb / 8 + 1;
    size_t bytes;
    if (!l2h_mul_ok(groups, W * 8 * sizeof(uint64_t), &bytes)) return 0;
    t->codes = l2h_aligned_alloc(64, bytes);
    if (!t->codes) return 0;
    memset(t->codes + (groups - 1) * W * 8, 0, W * 8 * sizeof(uint64_t));
    for (size_t p = 0; p < nb; p++) {
        const size_t r = t->rows[p];
        uint64_t *g = t->codes + (p / 8) * W * 8 + p % 8;
        for (size_t w = 0; w < W; w++)
            g[w * 8] = rm ? rm[r * W + w] : ix->codes[r];
    }
    return 1;
}

/* Dense table: counts per key, exclusive prefix sums, then fill (rows stay in increasing order
 * within a bucket). Returns 0 when out of memory. */
static int build_dense(const l2h_index *ix, const uint64_t *rm, size_t nb, l2h_mih_table *t)
{
    const size_t nk = (size_t)1 << t->nbits;
    t->offs = l2h_calloc(nk + 1, sizeof *t->offs);
    t->rows = l2h_malloc_array(nb ? nb : 1, sizeof *t->rows);
    if (!t->offs || !t->rows) return 0;
    for (size_t r = 0; r < nb; r++)
        t->offs[row_key(ix, rm, r, t) + 1]++;
    for (size_t k = 0; k < nk; k++)
        t->offs[k + 1] += t->offs[k];
    /* fill with offs[key] as a cursor, then shift back */
    for (size_t r = 0; r < nb; r++)
        t->rows[t->offs[row_key(ix, rm, r, t)]++] = (uint32_t)r;
    for (size_t k = nk; k > 0; k--)
        t->offs[k] = t->offs[k - 1];
    t->offs[0] = 0;
    size_t used = 0;
    for (size_t k = 0; k < nk; k++)
        used += t->offs[k + 1] > t->offs[k];
    t->occupancy = used ? (double)nb / (double)used : 0;
    return fill_codes(ix, rm, nb, t);
}

/* Sparse table: (key, row) pairs sorted, distinct keys with offsets. */
static int build_sparse(const l2h_index *ix, const uint64_t *rm, size_t nb, l2h_mih_table *t)
{
    key_row *kr = l2h_malloc_array(nb ? nb : 1, sizeof *kr);
    t->rows = l2h_malloc_array(nb ? nb : 1, sizeof *t->rows);
    if (!kr || !t->rows) {
        l2h_free(kr);
        return 0;
    }
    for (size_t r = 0; r < nb; r++) {
        kr[r].key = row_key(ix, rm, r, t);
        kr[r].row = (uint32_t)r;
        kr[r].unused_ = 0;
    }
    qsort(kr, nb, sizeof *kr, cmp_key_row);
    size_t nk = 0;
    for (size_t r = 0; r < nb; r++)
        nk += r == 0 || kr[r].key != kr[r - 1].key;
    t->keys = l2h_malloc_array(nk ? nk : 1, sizeof *t->keys);
    t->offs = l2h_malloc_array(nk + 1, sizeof *t->offs);
    if (!t->keys || !t->offs) {
        l2h_free(kr);
        return 0;
    }
    size_t k = 0;
    for (size_t r = 0; r < nb; r++) {
        if (r == 0 || kr[r].key != kr[r - 1].key) {
            t->keys[k] = kr[r].key;
            t->offs[k++] = (uint32_t)r;
        }
        t->rows[r] = kr[r].row;
    }
    t->offs[nk] = (uint32_t)nb;
    t->nkeys = nk;
    t->occupancy = nk ? (double)nb / (double)nk : 0;
    l2h_free(kr);
    return fill_codes(ix, rm, nb, t);
}

/* Builds tables over all current rows into a fresh state; on success replaces h's tables. */
static l2h_status build(l2h_index *ix, l2h_mih *h)
{
    const size_t nb = ix->nd, W = ix->words, B = ix->bits;
    L2H_FAIL_IF(nb > UINT32_MAX, L2H_ERR_UNSUPPORTED,
                "multi-index hashing holds at most %u codes (%zu requested)", UINT32_MAX, nb);
    const size_t m = ix->params.n_tables ? ix->params.n_tables : l2h_mih_auto_tables(B, nb);
    l2h_mih_table *tabs = l2h_calloc(m, sizeof *tabs);
    uint64_t *rm = NULL;
    L2H_NOMEM_IF_NULL(tabs);
    if (W > 1) {
        size_t bytes;
        if (l2h_mul_ok(nb, W * sizeof(uint64_t), &bytes))
            rm = l2h_aligned_alloc(64, bytes ? bytes : 64);
        if (!rm) {
            l2h_free(tabs);
            L2H_FAIL(L2H_ERR_NOMEM, "out of memory for multi-index hashing tables (%zu codes)", nb);
        }
        for (size_t r = 0; r < nb; r++)
            l2h_mih_gather(ix, r, rm + r * W);
    }
    /* Norouzi's split: b = ceil(B / m); the first B - m (b - 1) substrings have b bits */
    const size_t b = (B + m - 1) / m, mplus = B - m * (b - 1);
    uint32_t off = 0;
    for (size_t j = 0; j < m; j++) {
        tabs[j].off = off;
        tabs[j].nbits = (uint32_t)(j < mplus ? b : b - 1);
        tabs[j].dense = tabs[j].nbits <= 26 && ((size_t)1 << tabs[j].nbits) <= 4 * nb + 4096;
        off += tabs[j].nbits;
    }
    int ok = 1;
#pragma omp parallel for schedule(dynamic, 1) num_threads(l2h_threads()) reduction(&& : ok)
    for (size_t j = 0; j < m; j++)
        ok = ok && (tabs[j].dense ? build_dense(ix, rm, nb, &tabs[j])
                                  : build_sparse(ix, rm, nb, &tabs[j]));
    if (!ok) {
        for (size_t j = 0; j < m; j++)
            table_free(&tabs[j]);
        l2h_free(tabs);
        l2h_aligned_free(rm);
        L2H_FAIL(L2H_ERR_NOMEM, "out of memory for multi-index hashing tables (%zu codes)", nb);
    }
    l2h_aligned_free(rm);
    tables_free(h);
    h->tables = tabs;
    h->m = m;
    h->nb = nb;
    return L2H_OK;
}

/* ---- ops ----------------------------------------------------------------------------------- */

static l2h_status mih_init(l2h_index *ix)
{
    const size_t B = ix->bits, m = ix->params.n_tables;
    L2H_FAIL_IF(m != 0 && (m > B || (B + m - 1) / m > 64), L2H_ERR_ARG,
                "n_tables = %zu invalid for %zu-bit codes: substrings need 1..64 bits, so "
                "%zu <= n_tables <= %zu (or 0 = automatic)",
                m, B, (B + 63) / 64, B);
    l2h_mih *h = l2h_calloc(1, sizeof *h);
    L2H_NOMEM_IF_NULL(h);
    atomic_init(&h->queries, 0);
    atomic_init(&h->probes, 0);
    atomic_init(&h->candidates, 0);
    atomic_init(&h->fallbacks, 0);
    atomic_init(&h->exact, 0);
    ix->impl = h;
    return L2H_OK;
}

static void mih_destroy(l2h_index *ix)
{
    l2h_mih *h = ix->impl;
    if (!h) return;
    tables_free(h);
    l2h_free(h);
    ix->impl = NULL;
}

/* Rows first .. nd-1 are new (ids joining older rows change no table). The tables cover rows
 * 0 .. nb-1; nb <= nd always holds, since rows only disappear through ops->rebuilt. */
static l2h_status mih_added(l2h_index *ix, size_t first)
{
    (void)first;
    l2h_mih *h = ix->impl;
    L2H_ASSERT(h->nb <= ix->nd);
    if (ix->nd < min_rows()) return L2H_OK; /* small: searches scan */
    if (h->m > 0 && ix->nd - h->nb <= tail_limit(h->nb)) return L2H_OK;
    return build(ix, h);
}

/* After remove/replace: rebuild. The change itself is applied and stays; if the tables cannot
 * be rebuilt (out of memory) there are none, searches scan (still exact) and the next add
 * retries, so the caller's call still succeeds. */
static l2h_status mih_rebuilt(l2h_index *ix)
{
    l2h_mih *h = ix->impl;
    tables_free(h);
    if (ix->nd >= min_rows() && build(ix, h) != L2H_OK) l2h_clear_error();
    return L2H_OK;
}

static void mih_describe(const l2h_index *ix, l2h_index_info *out)
{
    l2h_mih *h = ix->impl;
    out->n_tables = h->m;
    size_t mem = sizeof *h + h->m * sizeof *h->tables;
    for (size_t j = 0; j < h->m; j++) {
        const l2h_mih_table *t = &h->tables[j];
        const size_t nk = t->dense ? ((size_t)1 << t->nbits) : t->nkeys;
        mem += (nk + 1) * sizeof *t->offs + h->nb * sizeof *t->rows +
               (h->nb / 8 + 1) * 8 * ix->words * sizeof *t->codes +
               (t->dense ? 0 : nk * sizeof *t->keys);
    }
    out->memory_bytes += mem;
    out->queries = atomic_load(&h->queries);
    out->probes = atomic_load(&h->probes);
    out->candidates = atomic_load(&h->candidates);
    out->fallbacks = atomic_load(&h->fallbacks);
    out->exact = atomic_load(&h->exact);
}

const l2h_index_ops l2h_index_mih_ops = {
    .name = "mih",
    .init = mih_init,
    .destroy = mih_destroy,
    .added = mih_added,
    .search = l2h_mih_search,
    .range_search = l2h_mih_range,
    .rebuilt = mih_rebuilt,
    .describe = mih_describe,
};
