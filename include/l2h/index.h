/* SPDX-License-Identifier: MIT (see LICENSE) */
/* l2h/index.h -- exact k-nearest-neighbour and radius search over packed binary codes.
 *
 * Results are fully ordered: by Hamming distance, then by id (smaller first), so every exact
 * index kind, thread count and kernel returns identical arrays (docs/search.md). Searches run
 * on l2h_threads() OpenMP threads.
 *
 * Thread safety: every function on one index may be called from several threads at once.
 * Searches, l2h_index_size, l2h_index_describe and l2h_index_save are readers; l2h_index_add,
 * l2h_index_remove and l2h_index_replace are writers. An index carries a writer-preferring
 * reader-writer lock: readers run concurrently, a writer waits for running readers and holds
 * new ones back while it applies its change, so a search sees the index entirely before or
 * entirely after each add/remove/replace call, never in between (docs/search.md). Creating,
 * loading and freeing are not synchronised: free an index only when no other call on it runs.
 * Bits beyond the code length in the last byte of a code or query are ignored. */
#ifndef L2H_INDEX_H
#define L2H_INDEX_H

#include "l2h/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef int64_t l2h_id; /* item id; -1 = none (padding) */

typedef struct l2h_index l2h_index;
typedef struct l2h_range_result l2h_range_result;

typedef enum l2h_index_kind {
    L2H_INDEX_FLAT = 0, /* exhaustive scan                                              */
    L2H_INDEX_MIH  = 1  /* multi-index hashing: exact, sublinear on near neighbours;
                           falls back to the scan when probing would cost more       */
} l2h_index_kind;

typedef struct l2h_index_params {
    l2h_index_kind kind;
    size_t bits;     /* code length, 1..L2H_MAX_BITS */
    size_t n_tables; /* MIH only: substrings m, 0 = automatic (ceil(bits / log2 n), chosen
                        again at every table rebuild); otherwise ceil(bits/64) <= m <= bits.
                        Ignored by L2H_INDEX_FLAT. */
} l2h_index_params;

/* What l2h_index_describe reports. Counters cover every search since creation or load. */
typedef struct l2h_index_info {
    l2h_index_kind kind;
    size_t bits;
    size_t size;          /* codes held */
    size_t n_tables;      /* MIH: substring tables in use now (0 = none built: searches scan) */
    size_t memory_bytes;  /* heap held by the index: codes, ids, tables */
    uint64_t queries;     /* MIH: queries answered (k-NN and radius) */
    uint64_t probes;      /* MIH: buckets looked up */
    uint64_t candidates;  /* MIH: distinct codes whose full distance was computed */
    uint64_t fallbacks;   /* MIH: queries answered by the exhaustive scan (cost model) */
    size_t distinct;      /* distinct codes: each is stored, scanned and probed once, with the
                             sorted list of the ids that carry it */
    uint64_t exact;       /* MIH: k-NN queries answered at once because their own code holds
                             >= k ids (nothing can be nearer; no probe, no scan) */
} l2h_index_info;

L2H_API l2h_index_params l2h_index_default_params(size_t bits);
L2H_API L2H_NODISCARD l2h_status l2h_index_create(l2h_index **out, const l2h_index_params *p);
L2H_API void l2h_index_free(l2h_index *index); /* NULL is a no-op */

L2H_API size_t l2h_index_bits(const l2h_index *index);
L2H_API size_t l2h_index_size(const l2h_index *index); /* number of codes held */

/* Copies n packed codes (n * l2h_code_bytes(bits) bytes). ids: n ids (any int64 >= 0, need not
 * be unique), or NULL for the row numbers (ids continue from the current size). Searching is a
 * little faster when ids are added in non-decreasing order. L2H_ERR_ARG for a negative id (then
 * nothing is added), L2H_ERR_NOMEM. */
L2H_API L2H_NODISCARD l2h_status l2h_index_add(l2h_index *index, const uint8_t *codes,
                                               const l2h_id *ids, size_t n);

/* Removes every code whose id is one of ids[0 .. n-1]. Ids absent from the index are ignored
 * (not an error): *n_removed (may be NULL) receives the number of codes removed, which may be
 * less than n, or more when ids repeat in the index. The other codes keep their ids (ids never
 * shift or get renumbered); codes added afterwards without ids get the row numbers that follow
 * the new size, which may repeat an id still present. Storage is compacted at once, so a
 * removal costs O(size) and is best done in batches; an MIH index rebuilds its tables.
 * L2H_ERR_ARG for a NULL argument or a negative id (then nothing is removed). */
L2H_API L2H_NODISCARD l2h_status l2h_index_remove(l2h_index *index, const l2h_id *ids, size_t n,
                                                  size_t *n_removed);

/* Replaces, in bulk, the code of every code whose id is ids[i] by codes[i] (n packed codes,
 * n * l2h_code_bytes(bits) bytes); ids keep their places. This is what re-hashing the whole
 * database after a model update needs (online engine). All or nothing: L2H_ERR_ARG, with the
 * index unchanged, if an id is negative, repeats within ids, or is not in the index.
 * Costs O(size + n log n) plus, for MIH, a table rebuild. */
L2H_API L2H_NODISCARD l2h_status l2h_index_replace(l2h_index *index, const l2h_id *ids,
                                                   const uint8_t *codes, size_t n);

/* Fills *out (kind, size, tables, memory, search counters). L2H_ERR_ARG for NULL. */
L2H_API L2H_NODISCARD l2h_status l2h_index_describe(const l2h_index *index, l2h_index_info *out);

/* k nearest codes for each of nq packed queries (nq * l2h_code_bytes(bits) bytes). dist and ids
 * are caller-allocated with nq * k entries each; row q holds query q's results nearest first
 * (ties: smaller id first), padded with dist = -1, id = -1 when the index holds fewer than k
 * codes (k may exceed the size; an empty index gives only padding). Exact. */
L2H_API L2H_NODISCARD l2h_status l2h_index_search(const l2h_index *index, const uint8_t *queries,
                                                  size_t nq, size_t k, int32_t *dist,
                                                  l2h_id *ids);

/* All codes at distance <= radius (inclusive, unlike FAISS's strict '<': FAISS radius r is our
 * r - 1) for each query; a radius above the code length returns every code. The result is a
 * new handle the caller frees with l2h_range_result_free; *out is NULL on failure. */
L2H_API L2H_NODISCARD l2h_status l2h_index_range_search(const l2h_index *index,
                                                        const uint8_t *queries, size_t nq,
                                                        uint32_t radius,
                                                        l2h_range_result **out);
/* Query q's results are entries lims[q] .. lims[q+1]-1, ordered like k-NN results.
 * lims has nq + 1 entries. Pointers stay valid until l2h_range_result_free. */
L2H_API const size_t *l2h_range_result_lims(const l2h_range_result *r);
L2H_API const l2h_id *l2h_range_result_ids(const l2h_range_result *r);
L2H_API const int32_t *l2h_range_result_dists(const l2h_range_result *r);
L2H_API size_t l2h_range_result_nq(const l2h_range_result *r);
L2H_API void l2h_range_result_free(l2h_range_result *r);

/* Persistence (docs/index-format.md): magic, version, header, ids, codes, CRC-32 checksum;
 * written to a temporary file, fsync'ed and renamed, so a crash never leaves a half-written
 * index. Loading checks every field, the exact length and the checksum: L2H_ERR_FORMAT (bad
 * magic, truncated, corrupt, "checksum mismatch"), L2H_ERR_VERSION (written by a newer
 * library), L2H_ERR_IO; messages start with the file name. Both kinds use the same format
 * (MIH tables are rebuilt on load). l2h_index_load memory-maps the file read-only (falling back
 * to reading it when mapping is impossible), so loading never holds a second copy of the file
 * in the heap; the mapping is released before it returns. */
L2H_API L2H_NODISCARD l2h_status l2h_index_save(const l2h_index *index, const char *path);
L2H_API L2H_NODISCARD l2h_status l2h_index_load(l2h_index **out, const char *path);
/* The same parser on a memory buffer; `name` is used in error messages. */
L2H_API L2H_NODISCARD l2h_status l2h_index_load_mem(l2h_index **out, const void *buf, size_t len,
                                                    const char *name);

/* ---- which model made the codes -------------------------------------------------------------
 * An index may carry the fingerprint of the model whose codes it holds (saved in the file since
 * format version 2; older files load without one). Codes or queries of another model are then
 * refused instead of giving meaningless neighbours. A fingerprint is 16 bytes: a hash of the
 * model's method, architecture, bits, input dimension and of the codes it gives to a fixed set
 * of 64 pseudo-random probe inputs (l2h_model_fingerprint), so it identifies what the model
 * computes, not the bytes of its file. */
#define L2H_FINGERPRINT_BYTES 16
struct l2h_model;
L2H_API L2H_NODISCARD l2h_status l2h_model_fingerprint(const struct l2h_model *m,
                                                       uint8_t out[L2H_FINGERPRINT_BYTES]);
/* Records the model of the codes. L2H_ERR_ARG if the index already has a different one (an
 * index never changes model; build a new one). */
L2H_API L2H_NODISCARD l2h_status l2h_index_set_fingerprint(l2h_index *index,
                                                           const uint8_t fp[L2H_FINGERPRINT_BYTES]);
/* 1 and the fingerprint in out (may be NULL) if the index has one, else 0. */
L2H_API int l2h_index_fingerprint(const l2h_index *index, uint8_t out[L2H_FINGERPRINT_BYTES]);
/* L2H_OK if fp is the index's model, or the index has none recorded; otherwise
 * L2H_ERR_ARG with a message naming both fingerprints and `what` ("queries", "codes to add"). */
L2H_API L2H_NODISCARD l2h_status l2h_index_check_fingerprint(const l2h_index *index,
                                                             const uint8_t fp[L2H_FINGERPRINT_BYTES],
                                                             const char *what);
/* Hex form of a fingerprint (32 characters + NUL) into out[33]. */
L2H_API void l2h_fingerprint_hex(const uint8_t fp[L2H_FINGERPRINT_BYTES], char out[33]);

#ifdef __cplusplus
}
#endif
#endif
