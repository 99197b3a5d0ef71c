/* index_store.c -- every distinct code once, with the sorted list of the ids that carry it.
 *
 * Learned codes repeat: a supervised hash maps a class to few codes (69,000 Fashion-MNIST items
 * to 18,941 codes at 64 bits with MIHash), so a scan or a table probe that meets each distinct
 * code once does a fraction of the work, and a k-NN whose k nearest share a code needs only
 * that code's first k ids. Layout: the distinct codes in the group layout of
 * hamming_internal.h (what the kernels scan), one l2h_idlist per row, and an open-addressing
 * hash (linear probing, slots = row + 1) from a code to its row, kept at most half full.
 * Rows are never empty and keep their order when others are added; removal builds a new
 * store (index_live.c). */
#include "index_internal.h"

#include <string.h>

static uint64_t hash_code(const uint64_t *c, size_t words)
{
    uint64_t h = 0x9e3779b97f4a7c15ull;
    for (size_t w = 0; w < words; w++) {
        uint64_t z = c[w] + h;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        h = z ^ (z >> 31);
    }
    return h;
}

static int row_equals(const uint64_t *codes, size_t words, size_t r, const uint64_t *c)
{
    const uint64_t *g = codes + (r / 8) * words * 8 + r % 8;
    for (size_t w = 0; w < words; w++)
        if (g[w * 8] != c[w]) return 0;
    return 1;
}

static void list_free(l2h_idlist *l)
{
    if (l->cap) l2h_free(l->u.many);
    memset(l, 0, sizeof *l);
}

void l2h_store_free(l2h_store *s)
{
    if (s->lists)
        for (size_t r = 0; r < s->nd; r++) list_free(&s->lists[r]);
    l2h_aligned_free(s->codes);
    l2h_free(s->lists);
    l2h_free(s->slots);
    memset(s, 0, sizeof *s);
}

static void slot_insert(uint32_t *slots, size_t nslots, uint64_t h, size_t row)
{
    size_t i = (size_t)h & (nslots - 1);
    while (slots[i]) i = (i + 1) & (nslots - 1);
    slots[i] = (uint32_t)(row + 1);
}

/* Rehashes rows 0 .. nd-1 into a table of nslots (power of two). */
static l2h_status rehash(l2h_store *s, size_t words, size_t nslots)
{
    uint32_t *slots = l2h_calloc(nslots, sizeof *slots);
    L2H_FAIL_IF(slots == NULL, L2H_ERR_NOMEM, "out of memory for the code hash (%zu slots)",
                nslots);
    uint64_t c[L2H_MAX_WORDS];
    for (size_t r = 0; r < s->nd; r++) {
        l2h_store_row(s->codes, words, r, c);
        slot_insert(slots, nslots, hash_code(c, words), r);
    }
    l2h_free(s->slots);
    s->slots = slots;
    s->nslots = nslots;
    return L2H_OK;
}

l2h_status l2h_store_reserve(l2h_store *s, size_t words, size_t rows)
{
    L2H_FAIL_IF(rows >= UINT32_MAX, L2H_ERR_UNSUPPORTED,
                "an index holds at most %u distinct codes (%zu requested)", UINT32_MAX - 1,
                rows);
    const size_t need = rows / 8 + (rows % 8 != 0);
    if (need > s->cap_groups) {
        size_t cap = s->cap_groups * 2 > need ? s->cap_groups * 2 : need;
        if (cap < 16) cap = 16;
        const size_t group_bytes = words * 8 * sizeof(uint64_t);
        size_t bytes, list_bytes;
        L2H_FAIL_IF(!l2h_mul_ok(cap, group_bytes, &bytes) ||
                        !l2h_mul_ok(cap * 8, sizeof(l2h_idlist), &list_bytes),
                    L2H_ERR_NOMEM, "index of %zu codes is too large", rows);
        uint64_t *codes = l2h_aligned_alloc(64, bytes);
        L2H_NOMEM_IF_NULL(codes);
        l2h_idlist *lists = l2h_realloc(s->lists, list_bytes);
        if (!lists) {
            l2h_aligned_free(codes);
            L2H_FAIL(L2H_ERR_NOMEM, "out of memory growing the index to %zu codes", rows);
        }
        const size_t old = s->cap_groups * group_bytes;
        if (old) memcpy(codes, s->codes, old);
        memset((uint8_t *)codes + old, 0, bytes - old);
        memset(lists + s->cap_groups * 8, 0, (cap - s->cap_groups) * 8 * sizeof *lists);
        l2h_aligned_free(s->codes);
        s->codes = codes;
        s->lists = lists;
        s->cap_groups = cap;
    }
    if (2 * rows >= s->nslots) {
        size_t ns = 64;
        while (ns <= 2 * rows) ns *= 2;
        L2H_TRY(rehash(s, words, ns));
    }
    return L2H_OK;
}

size_t l2h_store_find(const l2h_store *s, size_t words, const uint64_t *code)
{
    if (s->nslots == 0) return SIZE_MAX;
    size_t i = (size_t)hash_code(code, words) & (s->nslots - 1);
    while (s->slots[i]) {
        const size_t r = s->slots[i] - 1;
        if (row_equals(s->codes, words, r, code)) return r;
        i = (i + 1) & (s->nslots - 1);
    }
    return SIZE_MAX;
}

/* Inserts id into a non-empty list, keeping it sorted (after equal ids). */
static int list_insert(l2h_idlist *l, l2h_id id)
{
    if (l->cap == 0) {
        l2h_id *p = l2h_malloc_array(4, sizeof *p);
        if (!p) return 0;
        p[0] = l->u.one;
        l->u.many = p;
        l->cap = 4;
    } else if (l->n == l->cap) {
        L2H_ASSERT(l->cap <= UINT32_MAX / 2);
        const size_t nc = (size_t)l->cap * 2;
        l2h_id *p = l2h_realloc(l->u.many, nc * sizeof *p);
        if (!p) return 0;
        l->u.many = p;
        l->cap = (uint32_t)nc;
    }
    l2h_id *a = l->u.many;
    size_t pos = l->n;
    if (a[pos - 1] > id) { /* upper bound: ids usually arrive in order, this is the rare case */
        size_t lo = 0, hi = l->n;
        while (lo < hi) {
            const size_t mid = lo + (hi - lo) / 2;
            if (a[mid] <= id) lo = mid + 1;
            else hi = mid;
        }
        pos = lo;
        memmove(a + pos + 1, a + pos, (l->n - pos) * sizeof *a);
    }
    a[pos] = id;
    l->n++;
    return 1;
}

l2h_status l2h_store_add(l2h_store *s, size_t words, const uint64_t *code, l2h_id id,
                         size_t *row)
{
    L2H_ASSERT(s->nslots > 2 * s->nd);
    const uint64_t h = hash_code(code, words);
    size_t i = (size_t)h & (s->nslots - 1);
    while (s->slots[i]) {
        const size_t r = s->slots[i] - 1;
        if (row_equals(s->codes, words, r, code)) {
            L2H_FAIL_IF(s->lists[r].n == UINT32_MAX, L2H_ERR_UNSUPPORTED,
                        "more than %u ids for one code", UINT32_MAX);
            if (!list_insert(&s->lists[r], id))
                L2H_FAIL(L2H_ERR_NOMEM, "out of memory for the ids of a code");
            if (r + 1 != s->nd || id < s->last_id) s->ordered = 0;
            else s->last_id = id;
            s->sequential = 0;
            s->n++;
            if (s->lists[r].n > s->max_list) s->max_list = s->lists[r].n;
            *row = r;
            return L2H_OK;
        }
        i = (i + 1) & (s->nslots - 1);
    }
    const size_t r = s->nd;
    L2H_ASSERT(s->cap_groups * 8 > r);
    uint64_t *g = s->codes + (r / 8) * words * 8 + r % 8;
    for (size_t w = 0; w < words; w++) g[w * 8] = code[w];
    s->lists[r].n = 1;
    s->lists[r].cap = 0;
    s->lists[r].u.one = id;
    s->slots[i] = (uint32_t)(r + 1);
    if (id != (l2h_id)r) s->sequential = 0;
    if (s->nd == 0) {
        s->ordered = 1;
        s->sequential = id == 0; /* row 0 must hold id 0 (a first id of 42 is not sequential) */
        s->last_id = id;
    } else if (id < s->last_id) {
        s->ordered = 0;
    } else {
        s->last_id = id;
    }
    s->nd++;
    s->n++;
    if (s->max_list == 0) s->max_list = 1;
    *row = r;
    return L2H_OK;
}

void l2h_store_unadd(l2h_store *s, size_t row, l2h_id id)
{
    l2h_idlist *l = &s->lists[row];
    L2H_ASSERT(l->n >= 2 && l->cap > 0);
    l2h_id *a = l->u.many;
    size_t pos = l->n - 1;
    while (pos > 0 && a[pos] != id) pos--;
    L2H_ASSERT(a[pos] == id);
    memmove(a + pos, a + pos + 1, (l->n - pos - 1) * sizeof *a);
    l->n--;
    s->n--;
    s->ordered = s->sequential = 0; /* conservative: only a failed add undoes */
}

void l2h_store_truncate(l2h_store *s, size_t words, size_t first)
{
    for (size_t r = first; r < s->nd; r++) {
        s->n -= s->lists[r].n;
        list_free(&s->lists[r]);
        uint64_t *g = s->codes + (r / 8) * words * 8 + r % 8;
        for (size_t w = 0; w < words; w++) g[w * 8] = 0;
    }
    if (first < s->nd) {
        s->ordered = s->sequential = 0; /* conservative: only a failed add truncates */
        /* drop their slots: clear the table and reinsert the rows kept (no allocation) */
        s->nd = first;
        memset(s->slots, 0, s->nslots * sizeof *s->slots);
        uint64_t c[L2H_MAX_WORDS];
        for (size_t r = 0; r < s->nd; r++) {
            l2h_store_row(s->codes, words, r, c);
            slot_insert(s->slots, s->nslots, hash_code(c, words), r);
        }
    }
}

void l2h_index_sync(l2h_index *ix)
{
    ix->n = ix->st.n;
    ix->nd = ix->st.nd;
    ix->codes = ix->st.codes;
    ix->lists = ix->st.lists;
}

/* ---- shared by the search paths ------------------------------------------------------------ */

int l2h_exact_hit(const l2h_index *ix, const uint64_t *q, size_t keff, size_t k, int32_t *dist,
                  l2h_id *ids)
{
    if (ix->st.max_list < keff) return 0; /* no code holds enough ids */
    const size_t r = l2h_store_find(&ix->st, ix->words, q);
    if (r == SIZE_MAX || ix->lists[r].n < keff) return 0;
    const l2h_id *a = l2h_idlist_ids(&ix->lists[r]);
    for (size_t i = 0; i < keff; i++) {
        dist[i] = 0;
        ids[i] = a[i];
    }
    for (size_t i = keff; i < k; i++) {
        dist[i] = -1;
        ids[i] = -1;
    }
    return 1;
}

void l2h_emit_scratch_free(l2h_emit_scratch *s)
{
    l2h_free(s->tmp);
    l2h_free(s->ids);
    l2h_free(s->counts);
    memset(s, 0, sizeof *s);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 1;
    size_t nc = *cap ? *cap : 64;
    while (nc < need) nc *= 2;
    void *q = l2h_malloc_array(nc, elem);
    if (!q) return 0;
    l2h_free(*p);
    *p = q;
    *cap = nc;
    return 1;
}

/* Sorts ids a[0..n) (all >= 0) by LSD radix sort on the bytes below the largest id's highest
 * byte, 8 bits a pass, through tmp[n]: O(n) per pass, 2-3 passes for ids below 2^24. */
static void radix_sort_ids(l2h_id *a, size_t n, l2h_id *tmp)
{
    l2h_id mx = 0;
    for (size_t i = 0; i < n; i++) mx = a[i] > mx ? a[i] : mx;
    l2h_id *src = a, *dst = tmp;
    for (unsigned sh = 0; sh < 64 && (mx >> sh) != 0; sh += 8) {
        size_t cnt[257];
        memset(cnt, 0, sizeof cnt);
        for (size_t i = 0; i < n; i++) cnt[(((uint64_t)src[i] >> sh) & 255) + 1]++;
        if (cnt[(((uint64_t)src[0] >> sh) & 255) + 1] == n) continue; /* one digit: in order */
        for (int d = 0; d < 256; d++) cnt[d + 1] += cnt[d];
        for (size_t i = 0; i < n; i++) dst[cnt[((uint64_t)src[i] >> sh) & 255]++] = src[i];
        l2h_id *t = src;
        src = dst;
        dst = t;
    }
    if (src != a) memcpy(a, src, n * sizeof *a);
}

int l2h_emit_rows(const l2h_index *ix, const l2h_hit *h, size_t nh, int32_t max_d, int32_t *out_d,
                  l2h_id *out_ids, l2h_emit_scratch *s)
{
    if (nh == 0) return 1;
    const size_t nb = (size_t)max_d + 2;
    if (!grow((void **)&s->counts, &s->counts_cap, nb, sizeof *s->counts) ||
        !grow((void **)&s->tmp, &s->tmp_cap, nh, sizeof *s->tmp))
        return 0;
    /* rows by distance (stable counting sort) */
    memset(s->counts, 0, nb * sizeof *s->counts);
    for (size_t i = 0; i < nh; i++) s->counts[(size_t)h[i].d + 1]++;
    for (size_t d = 0; d + 1 < nb; d++) s->counts[d + 1] += s->counts[d];
    for (size_t i = 0; i < nh; i++) s->tmp[s->counts[h[i].d]++] = h[i];
    const l2h_hit *rows = s->tmp;
    size_t o = 0;
    for (size_t a = 0; a < nh;) {
        size_t b = a + 1;
        while (b < nh && rows[b].d == rows[a].d) b++;
        const int32_t d = rows[a].d;
        if (b - a == 1) { /* one code at this distance: its sorted list is the answer */
            const l2h_idlist *l = &ix->lists[rows[a].id];
            const l2h_id *p = l2h_idlist_ids(l);
            memcpy(out_ids + o, p, l->n * sizeof *p);
            for (size_t i = 0; i < l->n; i++) out_d[o + i] = d;
            o += l->n;
        } else { /* several: their sorted lists, copied, then one radix sort of the ids */
            size_t total = 0, sorted = 1;
            l2h_id last = -1;
            for (size_t i = a; i < b; i++) {
                const l2h_idlist *l = &ix->lists[rows[i].id];
                const l2h_id *p = l2h_idlist_ids(l);
                if (l->n <= 8) /* most lists are short: no call */
                    for (size_t j = 0; j < l->n; j++) out_ids[o + total + j] = p[j];
                else
                    memcpy(out_ids + o + total, p, l->n * sizeof *p);
                sorted &= p[0] >= last; /* lists that follow each other: already in order */
                last = p[l->n - 1];
                total += l->n;
            }
            for (size_t i = 0; i < total; i++) out_d[o + i] = d;
            if (!sorted) {
                if (!grow((void **)&s->ids, &s->ids_cap, total, sizeof *s->ids)) return 0;
                radix_sort_ids(out_ids + o, total, s->ids);
            }
            o += total;
        }
        a = b;
    }
    return 1;
}
