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
    /* Rows first .. ix->n - 1 were just appended (codes and ids in place). May be NULL. */
    l2h_status (*added)(l2h_index *ix, size_t first);
    /* Queries are padded: q[nq, words]. Arguments validated, k >= 1, ix->n >= 1. */
    l2h_status (*search)(const l2h_index *ix, const uint64_t *q, size_t nq, size_t k,
                         int32_t *dist, l2h_id *ids);
    l2h_status (*range_search)(const l2h_index *ix, const uint64_t *q, size_t nq,
                               int32_t radius, l2h_range_result *res);
    /* Rows were removed (compacted) or their codes rewritten (index_live.c): rebuild every
     * structure from codes[0 .. n). The storage change is already applied and stays; on
     * failure the kind must still answer exactly (e.g. by scanning). May be NULL. */
    l2h_status (*rebuilt)(l2h_index *ix);
    /* Kind-specific fields of l2h_index_describe (tables, memory, counters). May be NULL. */
    void (*describe)(const l2h_index *ix, l2h_index_info *out);
} l2h_index_ops;

extern const l2h_index_ops l2h_index_flat_ops;
extern const l2h_index_ops l2h_index_mih_ops;

struct l2h_index {
    l2h_index_params params;
    const l2h_index_ops *ops;
    size_t bits, bytes, words;
    size_t n;          /* codes held */
    size_t cap_groups; /* groups allocated in `codes` */
    uint64_t *codes;   /* [cap_groups, words, 8], 64-byte aligned, zero beyond n */
    l2h_id *ids;       /* [n] (capacity cap_groups * 8) */
    int ids_sequential; /* ids[i] == i for every i: the file omits them */
    int ids_ordered;    /* ids[i] <= ids[i + 1] for every i: the scan meets ids in order */
    void *impl;
    /* Readers (search, range search, size, save, describe) hold it shared, writers (add,
     * remove, replace) exclusive: a search never sees a half-applied change. index_live.c. */
    pthread_rwlock_t *lock;
};

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

/* Appends n packed codes (ids: n ids, or NULL for sequential ones) without argument checks and
 * runs ops->added; on failure the index is left as it was. */
l2h_status l2h_index_append(l2h_index *ix, const uint8_t *codes, const l2h_id *ids, size_t n);

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

#endif
