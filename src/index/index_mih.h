/* index_mih.h -- multi-index hashing (Norouzi, Punjani & Fleet, TPAMI 2014) behind
 * L2H_INDEX_MIH: the per-kind state shared by index_mih.c (tables, build, ops table) and
 * index_mih_query.c (probing, k-NN and radius search).
 *
 * A code of B bits is cut into m substrings of consecutive bits, LSB first: the first
 * B - m(b - 1) substrings have b = ceil(B / m) bits, the others b - 1. Table t maps the value of
 * substring t to the rows holding it, in compressed-sparse-row form built count-then-fill: a
 * dense offset array over all 2^b keys when that is small (b <= 26 and 2^b <= 4 n + 4096), else
 * the sorted distinct keys with their offsets (binary search). No per-bucket allocation.
 *
 * Rows 0 .. nb-1 are in the tables; rows nb .. n-1 (the "tail", appended since the last build)
 * are scanned with the dispatched filter kernel by every query. The tables are rebuilt when the
 * tail grows beyond max(L2H_MIH_TAIL_MIN, nb / 64), and after every remove or replace. */
#ifndef L2H_INDEX_MIH_H
#define L2H_INDEX_MIH_H

#include "index_internal.h"

#include <stdatomic.h>

#define L2H_MIH_TAIL_MIN 4096

typedef struct l2h_mih_table {
    uint32_t off;    /* first bit of the substring */
    uint32_t nbits;  /* substring length, 1..64 */
    int dense;       /* offs indexed by key (2^nbits + 1 entries) vs sorted keys */
    size_t nkeys;    /* sparse: distinct keys */
    double occupancy; /* rows per non-empty bucket (the cost model's expected bucket size) */
    uint64_t *keys;  /* sparse: [nkeys], increasing */
    uint32_t *offs;  /* dense: [2^nbits + 1]; sparse: [nkeys + 1] */
    uint32_t *rows;  /* [nb] rows, grouped by key */
    uint64_t *codes; /* the codes of `rows`, same order, in the group layout (8 codes
                        interleaved per word), 64-byte aligned: a bucket is verified by the
                        filter kernel over consecutive memory */
} l2h_mih_table;

typedef struct l2h_mih {
    size_t m;              /* tables (0: none built, every search scans) */
    size_t nb;             /* rows covered by the tables */
    l2h_mih_table *tables; /* [m] */
    atomic_ullong queries, probes, candidates, fallbacks, exact;
} l2h_mih;

/* Tuning knobs, process-wide (tests use them to reach every path on small data). 0 = default. */
typedef struct l2h_mih_tuning {
    size_t min_rows;     /* fewer codes than this: no tables, scan (default 2048) */
    double budget_scale; /* multiplies the work budget before falling back to the scan (1) */
    size_t tail_min;     /* rows appended before a rebuild is forced (L2H_MIH_TAIL_MIN) */
} l2h_mih_tuning;
void l2h_mih_set_tuning(const l2h_mih_tuning *t);
const l2h_mih_tuning *l2h_mih_get_tuning(void);

/* Substring count chosen for n codes of `bits` bits when params.n_tables = 0:
 * ceil(bits / log2 n), so buckets hold about one code (Norouzi's b ~ log2 n), clamped to
 * ceil(bits / 64) .. bits. Longer substrings (fewer tables) verify fewer candidates on
 * clustered codes but need many more lookups for radius >= m; with candidates verified from
 * inline codes, lookups are the dearer part (docs/mih.md). */
size_t l2h_mih_auto_tables(size_t bits, size_t n);

/* Bits [off, off + len) of a padded row-major code, len in 1..64. */
static inline uint64_t l2h_mih_substr(const uint64_t *w, uint32_t off, uint32_t len)
{
    const uint32_t wi = off / 64, sh = off % 64;
    uint64_t v = w[wi] >> sh;
    if (sh != 0 && sh + len > 64) v |= w[wi + 1] << (64 - sh);
    return len == 64 ? v : v & (((uint64_t)1 << len) - 1);
}

/* Row r of the group layout into out[words]. */
static inline void l2h_mih_gather(const l2h_index *ix, size_t r, uint64_t *out)
{
    const uint64_t *g = ix->codes + (r / 8) * ix->words * 8 + r % 8;
    for (size_t w = 0; w < ix->words; w++)
        out[w] = g[w * 8];
}

l2h_status l2h_mih_search(const l2h_index *ix, const uint64_t *q, size_t nq, size_t k,
                          int32_t *dist, l2h_id *ids);
l2h_status l2h_mih_range(const l2h_index *ix, const uint64_t *q, size_t nq, int32_t radius,
                         l2h_range_result *res);

#endif
