/* index_internal.h -- what every index kind shares: the handle, the ops table, the per-query
 * top-k structure and the exhaustive scan engine.
 *
 * Storage common to all kinds (index_api.c): codes in the group layout of hamming_internal.h
 * (groups of 8 codes, word-interleaved, zero padding), and one 64-bit id per code. A kind adds
 * its own structures in `impl` and keeps them in step through ops->added(), which runs after
 * every append of codes (by l2h_index_add and by the loader alike). Adding a kind = one new
 * file exporting a `const l2h_index_ops`, plus its entry in index_api.c's kind table. */
#ifndef L2H_INDEX_INTERNAL_H
#define L2H_INDEX_INTERNAL_H

#include "core.h"
#include "hamming_internal.h"
#include "l2h/index.h"

#include <pthread.h>

typedef struct l2h_index_ops {
    const char *name;
    /* Create impl for a new, empty index (p validated: kind, bits). May be NULL. */
    l2h_status (*init)(l2h_index *ix);
    void (*destroy)(l2h_index *ix); /* free impl; may be NULL */
    /* Distinct rows first .. ix->nd - 1 were just appended (ids may also have joined older
     * rows' lists). May be NULL. */
    l2h_status (*added)(l2h_index *ix, size_t first);
    /* Queries are padded: q[nq, words]. Arguments validated, k >= 1, ix->n >= 1. */
    l2h_status (*search)(const l2h_index *ix, const uint64_t *q, size_t nq, size_t k,
                         int32_t *dist, l2h_id *ids);
    l2h_status (*range_search)(const l2h_index *ix, const uint64_t *q, size_t nq,
                               int32_t radius, l2h_range_result *res);
    /* The distinct rows changed (removed, compacted or rewritten; index_live.c): rebuild
     * every structure from codes[0 .. nd). The storage change is already applied and stays; on
     * failure the kind must still answer exactly (e.g. by scanning). May be NULL. */
    l2h_status (*rebuilt)(l2h_index *ix);
    /* Kind-specific fields of l2h_index_describe (tables, memory, counters). May be NULL. */
    void (*describe)(const l2h_index *ix, l2h_index_info *out);
} l2h_index_ops;

extern const l2h_index_ops l2h_index_flat_ops;
extern const l2h_index_ops l2h_index_mih_ops;

/* The ids carried by one distinct code, in increasing order (repeats allowed: the same id may
 * be added twice with one code). One id is kept inline (cap = 0); more live in `many`. */
typedef struct l2h_idlist {
    uint32_t n;   /* ids held (>= 1 in a live index) */
    uint32_t cap; /* capacity of u.many; 0 = the single id is u.one */
    union {
        l2h_id one;
        l2h_id *many;
    } u;
} l2h_idlist;

static inline const l2h_id *l2h_idlist_ids(const l2h_idlist *l)
{
    return l->cap ? l->u.many : &l->u.one;
}

/* Codes stored once each (index_store.c): the distinct codes in the group layout, one id list
 * per distinct code, and an open-addressing hash from a code to its row. Rows never hold
 * an empty list. */
typedef struct l2h_store {
    size_t nd;         /* distinct codes (rows of `codes`) */
    size_t n;          /* ids held: the sum of the list lengths */
    size_t cap_groups; /* groups allocated in `codes` (and 8 x that many lists) */
    uint64_t *codes;   /* [cap_groups, words, 8], 64-byte aligned, zero beyond nd */
    l2h_idlist *lists; /* [cap_groups * 8] */
    uint32_t *slots;   /* [nslots] row + 1 of a code, 0 = empty; nslots a power of two */
    size_t nslots;
    size_t max_list;   /* an upper bound on the longest list (0 when empty) */
    int ordered;       /* the lists, read row after row, are non-decreasing (ids added in
                          order to new codes, as row numbers are): a scan meets ids in order */
    l2h_id last_id;    /* the largest id added while `ordered` held */
    int sequential;    /* row r holds exactly the id r: a scan writes ids without reading lists */
} l2h_store;

enum { L2H_FINGERPRINT_LEN = 16 };

struct l2h_index {
    l2h_index_params params;
    const l2h_index_ops *ops;
    size_t bits, bytes, words;
    size_t n;          /* ids held (= st.n) */
    size_t nd;         /* distinct codes (= st.nd): the rows every kind searches */
    uint64_t *codes;   /* = st.codes: row r of the group layout is distinct code r */
    l2h_idlist *lists; /* = st.lists: the ids of row r */
    l2h_store st;
    int has_fp;                          /* the codes' model fingerprint is known */
    uint8_t fp[L2H_FINGERPRINT_LEN];     /* l2h_model_fingerprint of the model */
    void *impl;
    /* Readers (search, range search, size, save, describe) hold it shared, writers (add,
     * remove, replace) exclusive: a search never sees a half-applied change. index_live.c. */
    pthread_rwlock_t *lock;
};

/* ---- the store (index_store.c) ---------------------------------------------------------- */

void l2h_store_free(l2h_store *s);
/* Room for `rows` distinct codes and a hash for them (no change on failure). */
l2h_status l2h_store_reserve(l2h_store *s, size_t words, size_t rows);
/* Row of a padded code, or SIZE_MAX. */
size_t l2h_store_find(const l2h_store *s, size_t words, const uint64_t *code);
/* Adds (code, id): into the code's list, or as a new row nd. *row receives the row. Needs
 * l2h_store_reserve(nd + 1) beforehand; may still fail growing a list (store unchanged). */
l2h_status l2h_store_add(l2h_store *s, size_t words, const uint64_t *code, l2h_id id,
                         size_t *row);
/* Removes one occurrence of id from row's list (the undo of l2h_store_add into an existing
 * row; the list keeps >= 1 id). */
void l2h_store_unadd(l2h_store *s, size_t row, l2h_id id);
/* Drops rows first .. nd-1 (the undo of adding new rows). */
void l2h_store_truncate(l2h_store *s, size_t words, size_t first);
/* Points the index's shortcuts (n, nd, codes, lists) at ix->st. */
void l2h_index_sync(l2h_index *ix);
/* Padded copy of row r (group layout) into out[words]. */
static inline void l2h_store_row(const uint64_t *codes, size_t words, size_t r, uint64_t *out)
{
    const uint64_t *g = codes + (r / 8) * words * 8 + r % 8;
    for (size_t w = 0; w < words; w++) out[w] = g[w * 8];
}

/* The handle's reader-writer lock (writer-preferring, so a stream of searches cannot starve
 * an update). init allocates it; destroy accepts an index whose lock is NULL. */
l2h_status l2h_index_lock_init(l2h_index *ix);
void l2h_index_lock_destroy(l2h_index *ix);
void l2h_index_rdlock(const l2h_index *ix);
void l2h_index_wrlock(const l2h_index *ix);
void l2h_index_unlock(const l2h_index *ix);

/* Read-only private mapping of a whole file (index_map.c). Fails (no message kept) for empty
 * files, non-regular files and where mmap is unavailable; the caller then reads the file. */
l2h_status l2h_index_map_file(const char *path, const void **map, size_t *len);
void l2h_index_unmap_file(const void *map, size_t len);

struct l2h_range_result {
    size_t nq;
    size_t *lims;   /* [nq + 1] */
    l2h_id *ids;    /* [lims[nq]] */
    int32_t *dists; /* [lims[nq]] */
};

/* Adds n packed codes (ids: n ids, or NULL for the numbers following the current size) without
 * argument checks and runs ops->added(ix, first distinct row added); on failure the index is
 * left as it was. */
l2h_status l2h_index_append(l2h_index *ix, const uint8_t *codes, const l2h_id *ids, size_t n);
/* Same with padded codes q[n, words]. */
l2h_status l2h_index_append_padded(l2h_index *ix, const uint64_t *codes, const l2h_id *ids,
                                   size_t n);

/* ---- results: (distance, id) pairs and the per-query top-k ------------------------------ */

typedef struct l2h_hit {
    l2h_id id;
    int32_t d;
    int32_t unused_;
} l2h_hit;

/* Sorts hits by (d, id). Distances must lie in 0..max_d; scratch holds max_d + 2 counters and
 * tmp n hits. */
void l2h_hits_sort(l2h_hit *h, size_t n, int32_t max_d, size_t *scratch, l2h_hit *tmp);

/* Top-k by threshold and counting: hits with d <= thr are buffered and counted per distance;
 * when the buffer is full, the counts give the smallest distance t reaching k hits,
 * everything beyond t is dropped and thr becomes t (ties at t are cut to the smallest ids when
 * they alone would refill the buffer). If ids are pushed in non-decreasing order (`ordered`),
 * a later hit at distance t can never beat the k already held, so thr becomes t - 1 as soon as
 * k hits at distance <= t are held. Exact: the k best (d, id) seen are always kept. */
typedef struct l2h_topk {
    l2h_hit *buf;     /* [cap] */
    size_t n, cap, k; /* cap = l2h_topk_cap(k) */
    int32_t thr;      /* acceptance threshold: push keeps d <= thr */
    int32_t top;      /* every buffered d is <= top (thr <= top) */
    int32_t max_d;    /* largest possible distance (bits) */
    int ordered;      /* ids arrive in non-decreasing order */
    uint32_t *cnt;    /* [max_d + 1] buffered hits per distance, kept up to date by push */
    size_t *hist;     /* [max_d + 2] scratch for the final sort (may be shared) */
} l2h_topk;

/* Buffer capacity to give a top-k with this k. */
static inline size_t l2h_topk_cap(size_t k)
{
    return 2 * k + L2H_FILTER_MIN_CAP;
}

void l2h_topk_init(l2h_topk *t, l2h_hit *buf, size_t cap, uint32_t *cnt, size_t *hist, size_t k,
                   int32_t max_d, int ordered);
void l2h_topk_compact(l2h_topk *t);

static inline void l2h_topk_push(l2h_topk *t, int32_t d, l2h_id id)
{
    if (d > t->thr) return;
    t->buf[t->n].d = d;
    t->buf[t->n].id = id;
    t->cnt[d]++;
    if (++t->n == t->cap) l2h_topk_compact(t);
}

/* Writes the k best, ordered by (d, id), into dist[k] / ids[k] (padding -1 / -1); returns how
 * many are real. Leaves t empty. */
size_t l2h_topk_finish(l2h_topk *t, int32_t *dist, l2h_id *ids);

/* ---- exhaustive scan engine (index_scan.c), used by the flat kind ------------------------ */

/* Tuning knobs of the scan, process-wide; tests shrink them to reach every code path on small
 * data. 0 = default. Not thread-safe against running searches. */
typedef struct l2h_scan_tuning {
    size_t block_bytes;    /* database bytes per cache block (default 24 KiB) */
    size_t query_batch;    /* queries sharing a block (default 64) */
    size_t min_shard_rows; /* smallest database share worth a thread (default 32768) */
} l2h_scan_tuning;
void l2h_scan_set_tuning(const l2h_scan_tuning *t);

l2h_status l2h_scan_knn(const l2h_index *ix, const uint64_t *q, size_t nq, size_t k,
                        int32_t *dist, l2h_id *ids);
l2h_status l2h_scan_range(const l2h_index *ix, const uint64_t *q, size_t nq, int32_t radius,
                          l2h_range_result *res);

/* k-NN: pushes the ids of row r, at distance d, into t (at most t->k of them: the list is
 * sorted, so later ids of the same code cannot be among the k best). */
static inline void l2h_topk_push_row(l2h_topk *t, const l2h_index *ix, size_t r, int32_t d)
{
    const l2h_idlist *l = &ix->lists[r];
    if (l->cap == 0) {
        l2h_topk_push(t, d, l->u.one);
        return;
    }
    const size_t c = l->n < t->k ? l->n : t->k;
    for (size_t i = 0; i < c && d <= t->thr; i++) l2h_topk_push(t, d, l->u.many[i]);
}

/* k-NN shortcut: if the query's own code is held with >= keff ids, writes the keff smallest
 * (distance 0: nothing can beat them) and the padding, and returns 1. */
int l2h_exact_hit(const l2h_index *ix, const uint64_t *q, size_t keff, size_t k, int32_t *dist,
                  l2h_id *ids);

/* Radius results from row hits: h[0..nh) with h[i].id = a row and h[i].d its distance
 * (<= max_d), in any order. Writes every id of those rows, ordered by (distance, id), into
 * out_d / out_ids (room for the sum of the list lengths). Sorted lists are copied whole when
 * one row holds a distance, else concatenated and radix-sorted. Scratch grows as needed; 0 = out of memory. */
typedef struct l2h_emit_scratch {
    l2h_hit *tmp;
    size_t tmp_cap;
    l2h_id *ids; /* radix sort scratch */
    size_t ids_cap;
    size_t *counts; /* [max_d + 2] */
    size_t counts_cap;
} l2h_emit_scratch;
int l2h_emit_rows(const l2h_index *ix, const l2h_hit *h, size_t nh, int32_t max_d, int32_t *out_d,
                  l2h_id *out_ids, l2h_emit_scratch *s);
void l2h_emit_scratch_free(l2h_emit_scratch *s);
/* Sum of the list lengths of rows h[0..nh). */
static inline size_t l2h_rows_ids(const l2h_index *ix, const l2h_hit *h, size_t nh)
{
    size_t t = 0;
    for (size_t i = 0; i < nh; i++) t += ix->lists[h[i].id].n;
    return t;
}

#endif
