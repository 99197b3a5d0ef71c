/* index_mih_query.c -- exact k-NN and radius search with multi-index hashing.
 *
 * Pigeonhole (Norouzi et al.): with m substrings, a code at distance d from the query differs in
 * at most floor(d / m) bits in at least one substring. The search visits "steps" (s, j) in the
 * order s = 0, 1, ...; j = 0 .. m-1: step (s, j) looks up, in table j, every key at exactly s
 * bits from the query's substring j. After step (s, j) every code at distance <= L = m s + j
 * has been seen: an unseen code differs in >= s + 1 bits in substrings 0..j and >= s bits in
 * the others, so d >= m s + j + 1.
 *  - radius r: run steps L = 0 .. r (substrings 0 .. r mod m at radius floor(r / m), the others
 *    one less), keep candidates with d <= r.
 *  - k-NN: run steps until k seen codes lie at distance <= L (then the k-th distance is <= L and
 *    every code at or below it has been seen) or every code has been seen.
 * Each table keeps the codes of its buckets inline, so a bucket is verified by reading
 * consecutive memory; a code within reach is reported only at the first step that meets it,
 * which its substring distances tell (first_seen), so no per-row "seen" array is needed. The
 * survivors feed the same top-k / sorting code as the scan, so results equal the flat index's
 * element for element (ties by id, same padding).
 * Rows appended since the last build (the tail) are scanned with the filter kernel.
 *
 * Cost model: probing work is counted (a bucket lookup and a verified candidate cost a fixed
 * number of "scanned code words"); a query whose work would exceed half of what scanning the
 * whole index costs is abandoned and answered by the exhaustive scan instead, batched with the
 * other abandoned queries. For radius search the number of lookups is known in advance, so
 * hopeless radii go to the scan without probing. The answer is exact either way. */
#include "index_mih.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* Costs in scanned 64-bit code words, the flat scan's unit of work (the batched AVX-512 scan
 * spends ~0.06 ns per code word on 1M x 64-bit codes, docs/mih.md): a bucket lookup (offsets,
 * then the start of the bucket: cache misses) ~150 ns; a candidate verified by the filter
 * kernel inside a bucket ~2 words' worth per code word (partial groups, bucket starts); a
 * candidate within the threshold (first-seen test, top-k push) ~20. */
enum { COST_PROBE = 2500, COST_CAND = 2, COST_HIT = 20, CAND_CAP = 128, PROBE_BATCH = 32 };

typedef struct mih_ctx {
    const l2h_index *ix;
    const l2h_mih *h;
    const l2h_hamming_kernels *kt;
    size_t W;
    int seq;       /* row r holds exactly the id r: k-NN pushes rows without reading lists */
    double scan;   /* work units of scanning every distinct code once */
    double budget; /* k-NN: work units spent before falling back */
} mih_ctx;

/* Per-thread query state. */
typedef struct qstate {
    l2h_topk tk;    /* k-NN */
    uint32_t *hist; /* k-NN: [bits + 1] ids seen per distance */
    l2h_hit *hits;  /* radius: (d, row) hits of the current query */
    size_t nhits, cap_hits;
    l2h_cand cand[CAND_CAP];
    struct plan_ent *plan; /* radius: the non-empty buckets of the current query */
    uint64_t probes, cands;
    int oom;
} qstate;

/* Radius: one non-empty bucket to verify, bucket positions [b, e) of table j at step (s, j). */
typedef struct plan_ent {
    uint32_t b, e;
    uint32_t j, s;
} plan_ent;

static int hits_push(qstate *st, int32_t d, size_t row)
{
    if (st->nhits == st->cap_hits) {
        size_t nc = st->cap_hits ? 2 * st->cap_hits : 256, bytes;
        if (!l2h_mul_ok(nc, sizeof *st->hits, &bytes)) return 0;
        l2h_hit *p = l2h_realloc(st->hits, bytes);
        if (!p) return 0;
        st->hits = p;
        st->cap_hits = nc;
    }
    st->hits[st->nhits].d = d;
    st->hits[st->nhits].id = (l2h_id)row;
    st->hits[st->nhits].unused_ = 0;
    st->nhits++;
    return 1;
}

/* Bucket of `key` in table t: positions [*b, *e). */
static inline void bucket(const l2h_mih_table *t, uint64_t key, size_t *b, size_t *e)
{
    if (t->dense) {
        *b = t->offs[key];
        *e = t->offs[key + 1];
        return;
    }
    size_t lo = 0, hi = t->nkeys;
    while (lo < hi) {
        const size_t mid = lo + (hi - lo) / 2;
        if (t->keys[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < t->nkeys && t->keys[lo] == key) {
        *b = t->offs[lo];
        *e = t->offs[lo + 1];
    } else {
        *b = *e = 0;
    }
}

/* Next b-bit mask with the same number of ones (Gosper); 0 when exhausted. x != 0. */
static inline uint64_t next_mask(uint64_t x, uint32_t b)
{
    const uint64_t c = x & (~x + 1), r = x + c;
    if (r == 0) return 0; /* b = 64, last combination */
    const uint64_t nx = (((r ^ x) >> 2) / c) | r;
    return b < 64 && (nx >> b) ? 0 : nx;
}

/* C(b, s) as a double. */
static double choose(size_t b, size_t s)
{
    if (s > b) return 0;
    double c = 1;
    for (size_t i = 0; i < s; i++)
        c = c * (double)(b - i) / (double)(i + 1);
    return c;
}

enum { MODE_KNN = 0, MODE_RANGE = 1 };

/* k-NN: the smallest t with at least keff ids seen at distance <= t (every id counted in hist
 * exists, so the k-th distance is <= t), or bits. */
static int32_t kth_bound(const qstate *st, int32_t B, size_t keff)
{
    size_t c = 0;
    for (int32_t d = 0; d <= B; d++)
        if ((c += st->hist[d]) >= keff) return d;
    return B;
}

static inline int32_t knn_thr(const qstate *st, int32_t bound)
{
    return st->tk.thr < bound ? st->tk.thr : bound;
}

/* A row found at distance d: k-NN counts all its ids and pushes the first k; radius keeps it. */
static inline int take(const mih_ctx *cx, qstate *st, int mode, size_t row, int32_t d,
                       int32_t L, size_t *below)
{
    const l2h_index *ix = cx->ix;
    if (mode == MODE_KNN && cx->seq) { /* one id per row, = the row: no list to read */
        st->hist[d]++;
        if (d <= L) ++*below;
        l2h_topk_push(&st->tk, d, (l2h_id)row);
        return 1;
    }
    if (mode == MODE_KNN) {
        const uint32_t c = ix->lists[row].n;
        st->hist[d] += c;
        if (d <= L) *below += c;
        l2h_topk_push_row(&st->tk, ix, row, d);
        return 1;
    }
    return hits_push(st, d, row);
}

/* Scans the tail rows nb .. nd-1 with the filter kernel (threshold thr). */
static void scan_tail(const mih_ctx *c, const uint64_t *q, int mode, int32_t thr, qstate *st)
{
    const l2h_index *ix = c->ix;
    const size_t nb = c->h->nb, t0 = nb - nb % 8;
    if (nb >= ix->nd) return;
    const uint64_t *base = ix->codes + (t0 / 8) * c->W * 8;
    const size_t len = ix->nd - t0;
    size_t pos = 0, unused = 0;
    while (pos < len) {
        size_t nc = 0;
        /* k-NN: codes beyond the top-k threshold can be skipped; leaving them out of hist
         * only delays the stopping test, never makes it wrong */
        const int32_t th = mode == MODE_KNN ? st->tk.thr : thr;
        pos = c->kt->filter(q, base, c->W, pos, len, th, st->cand, CAND_CAP, &nc);
        for (size_t i = 0; i < nc; i++) {
            const size_t r = t0 + st->cand[i].j;
            if (r < nb) continue;
            if (!take(c, st, mode, r, st->cand[i].d, -1, &unused)) {
                st->oom = 1;
                return;
            }
        }
    }
}

/* Whether a code found in table j at step (s, j) is met there for the first time: it is met
 * at step (d_i, i) in every table i (d_i = its distance to the query in substring i), so it is
 * new iff no table i < j has d_i <= s and no table i > j has d_i < s. This replaces a
 * per-row "seen" array: no O(n) memory per thread and no random access per candidate. */
static inline __attribute__((always_inline)) int first_seen(const l2h_mih *h, const uint64_t *q,
                                                            const uint64_t *cw, size_t j, size_t s)
{
    for (size_t i = 0; i < h->m; i++) {
        if (i == j) continue;
        const l2h_mih_table *t = &h->tables[i];
        const size_t di = (size_t)__builtin_popcountll(l2h_mih_substr(q, t->off, t->nbits) ^
                                                       l2h_mih_substr(cw, t->off, t->nbits));
        if (i < j ? di <= s : di < s) return 0;
    }
    return 1;
}

/* Verifies bucket positions [bs, es) of table j at step (s, j), L = m s + j. Returns 0 when out
 * of memory. */
static inline __attribute__((always_inline)) int
verify(const mih_ctx *c, const l2h_mih_table *t, size_t j, size_t s, int32_t L, size_t bs,
       size_t es, const uint64_t *q, int mode, int32_t radius, int32_t *bound, size_t keff,
       size_t *below, qstate *st)
{
    const l2h_index *ix = c->ix;
    const size_t W = c->W, g0 = bs / 8, skip = bs - g0 * 8, len = es - g0 * 8;
    const uint64_t *base = t->codes + g0 * W * 8;
    if (es - bs <= 8) { /* a small bucket: a plain loop costs less than a kernel call */
        for (size_t p = bs; p < es; p++) {
            uint64_t cw[L2H_MAX_WORDS];
            const uint64_t *g = t->codes + (p / 8) * W * 8 + p % 8;
            int32_t d = 0;
            for (size_t w = 0; w < W; w++) {
                cw[w] = g[w * 8];
                d += __builtin_popcountll(q[w] ^ cw[w]);
            }
            if (d > (mode == MODE_KNN ? knn_thr(st, *bound) : radius)) continue;
            if (!first_seen(c->h, q, cw, j, s)) continue;
            if (!take(c, st, mode, t->rows[p], d, L, below)) return 0;
            if (mode == MODE_KNN) *bound = kth_bound(st, (int32_t)ix->bits, keff);
        }
        return 1;
    }
    size_t pos = 0;
    while (pos < len) {
        size_t nc = 0;
        const int32_t th = mode == MODE_KNN ? knn_thr(st, *bound) : radius;
        pos = c->kt->filter(q, base, W, pos, len, th, st->cand, CAND_CAP, &nc);
        for (size_t i = 0; i < nc; i++) {
            const size_t jj = st->cand[i].j;
            const int32_t d = st->cand[i].d;
            if (jj < skip) continue;
            if (mode == MODE_KNN && d > knn_thr(st, *bound)) continue;
            uint64_t cw[L2H_MAX_WORDS];
            const uint64_t *g = base + (jj / 8) * W * 8 + jj % 8;
            for (size_t w = 0; w < W; w++)
                cw[w] = g[w * 8];
            if (!first_seen(c->h, q, cw, j, s)) continue;
            if (!take(c, st, mode, t->rows[g0 * 8 + jj], d, L, below)) return 0;
        }
        if (mode == MODE_KNN) *bound = kth_bound(st, (int32_t)ix->bits, keff);
    }
    return 1;
}

/* Radius query: plans every lookup of steps 0 .. radius (C(b_j, s) keys each), reading the
 * exact bucket sizes from the offsets; if the lookups plus the candidates cost more than the
 * scan, returns 0 (the scan answers) before anything is verified. Otherwise verifies the planned
 * buckets, each lookup done once. st->plan has room for every lookup of the radius. */
static inline __attribute__((always_inline)) int range_body(const mih_ctx *c, const uint64_t *q,
                                                            int32_t radius, qstate *st)
{
    const l2h_mih *h = c->h;
    const size_t W = c->W, m = h->m;
    double cost = (double)(c->ix->nd > h->nb ? c->ix->nd - h->nb : 0) * (double)W, cands = 0;
    size_t np = 0;
    uint64_t lookups = 0;
    for (int32_t L = 0; L <= radius; L++) {
        const size_t s = (size_t)L / m, j = (size_t)L % m;
        const l2h_mih_table *t = &h->tables[j];
        if (s > t->nbits) continue;
        const uint64_t qk = l2h_mih_substr(q, t->off, t->nbits);
        uint64_t mask = s == 0 ? 0 : (s == 64 ? ~(uint64_t)0 : (((uint64_t)1 << s) - 1));
        for (int more = 1; more;) {
            uint64_t keys[PROBE_BATCH];
            size_t nk = 0;
            while (more && nk < PROBE_BATCH) {
                keys[nk++] = qk ^ mask;
                if (s == 0 || (mask = next_mask(mask, t->nbits)) == 0) more = 0;
            }
            if (t->dense && nk > 1)
                for (size_t i = 0; i < nk; i++) __builtin_prefetch(&t->offs[keys[i]]);
            for (size_t i = 0; i < nk; i++) {
                size_t b, e;
                bucket(t, keys[i], &b, &e);
                if (e == b) continue;
                st->plan[np].b = (uint32_t)b;
                st->plan[np].e = (uint32_t)e;
                st->plan[np].j = (uint32_t)j;
                st->plan[np].s = (uint32_t)s;
                np++;
                cands += (double)(e - b);
            }
            lookups += nk;
            cost += COST_PROBE * (double)nk;
        }
        if (cost + cands * COST_CAND * (double)W > c->scan) return 0;
    }
    scan_tail(c, q, MODE_RANGE, radius, st);
    if (st->oom) return 1;
    int32_t unused_bound = 0;
    size_t unused_below = 0;
    for (size_t i = 0; i < np; i++) {
        if (i + 2 < np) { /* the bucket after next: its codes and rows are on their way */
            const plan_ent *f = &st->plan[i + 2];
            const l2h_mih_table *tf = &h->tables[f->j];
            __builtin_prefetch(tf->codes + (f->b / 8) * W * 8);
            __builtin_prefetch(tf->rows + f->b);
        }
        const plan_ent *e = &st->plan[i];
        if (!verify(c, &h->tables[e->j], e->j, e->s, 0, e->b, e->e, q, MODE_RANGE, radius,
                    &unused_bound, 0, &unused_below, st)) {
            st->oom = 1;
            return 1;
        }
    }
    st->probes += lookups;
    st->cands += (uint64_t)cands;
    return 1;
}

/* One query. Returns 1 if answered, 0 if the cost model hands it to the scan. The body is
 * always inlined into two wrappers so the popcount becomes POPCNT where the CPU has it without
 * compiling the library for a particular CPU. */
static inline __attribute__((always_inline)) int
query_body(const mih_ctx *c, const uint64_t *q, int mode, size_t keff, int32_t radius, qstate *st)
{
    const l2h_index *ix = c->ix;
    const l2h_mih *h = c->h;
    const size_t W = c->W, m = h->m, nb = h->nb;
    const int32_t B = (int32_t)ix->bits;
    size_t below = 0; /* k-NN: ids counted at distance <= L */
    int32_t bound = B; /* k-NN: the k-th distance is <= bound */
    double work = (double)(ix->nd > nb ? ix->nd - nb : 0) * (double)W;
    if (mode == MODE_RANGE) return range_body(c, q, radius, st);
    scan_tail(c, q, mode, radius, st);
    if (st->oom) return 1;
    if (mode == MODE_KNN) bound = kth_bound(st, B, keff);
    uint64_t probes = 0, cands = 0;
    int done = 0;
    for (int32_t L = 0; !done; L++) {
        const size_t s = (size_t)L / m, j = (size_t)L % m;
        if (mode == MODE_KNN && L <= B) below += st->hist[L];
        const l2h_mih_table *t = &h->tables[j];
        if (s <= t->nbits) {
            const uint64_t qk = l2h_mih_substr(q, t->off, t->nbits);
            uint64_t mask = s == 0 ? 0 : (s == 64 ? ~(uint64_t)0 : (((uint64_t)1 << s) - 1));
            int more = 1;
            while (more) {
                /* a batch of keys: prefetch every offset, then every bucket start, so the cache
                 * misses of the lookups overlap instead of queueing one after another */
                uint64_t keys[PROBE_BATCH];
                size_t bs[PROBE_BATCH], es[PROBE_BATCH], nk = 0;
                while (more && nk < PROBE_BATCH) {
                    keys[nk++] = qk ^ mask;
                    if (s == 0 || (mask = next_mask(mask, t->nbits)) == 0) more = 0;
                }
                if (t->dense)
                    for (size_t i = 0; i < nk; i++)
                        __builtin_prefetch(&t->offs[keys[i]]);
                double add = 0;
                for (size_t i = 0; i < nk; i++) {
                    bucket(t, keys[i], &bs[i], &es[i]);
                    if (es[i] > bs[i]) {
                        __builtin_prefetch(t->codes + (bs[i] / 8) * W * 8);
                        __builtin_prefetch(t->rows + bs[i]);
                    }
                    cands += es[i] - bs[i];
                    add += COST_PROBE + (double)(COST_CAND * (es[i] - bs[i]) * W);
                }
                probes += nk;
                work += add;
                /* k-NN: stop probing once this batch would take the query past its budget */
                if (mode == MODE_KNN && work > c->budget) {
                    st->probes += probes;
                    st->cands += cands;
                    return 0;
                }
                for (size_t i = 0; i < nk; i++) {
                    if (es[i] == bs[i]) continue;
                    const size_t nh0 = st->nhits;
                    if (!verify(c, t, j, s, L, bs[i], es[i], q, mode, radius, &bound, keff,
                                &below, st)) {
                        st->oom = 1;
                        return 1;
                    }
                    work += COST_HIT * (double)(st->nhits - nh0);
                }
            }
        }
        if (mode == MODE_KNN) {
            /* k ids within L, and every code within L has been seen */
            done = below >= keff || L >= B;
            if (!done && L >= (int32_t)m - 1 && bound < B) {
                /* after the first round (every table probed at s = 0; a near duplicate within
                 * m - 1 bits shares a substring, so it has been met) k ids are known within
                 * `bound`, and the search ends by step `bound`: if the lookups of the steps
                 * still ahead (exact counts) with buckets of the tables' average occupancy cost
                 * more than the budget left, scan now rather than pay for some of them first */
                double ahead = 0;
                for (int32_t L2 = L + 1; L2 <= bound && work + ahead <= c->budget; L2++) {
                    const l2h_mih_table *t2 = &h->tables[(size_t)L2 % m];
                    ahead += choose(t2->nbits, (size_t)L2 / m) *
                             (COST_PROBE + t2->occupancy * COST_CAND * (double)W);
                }
                if (work + ahead > c->budget) {
                    st->probes += probes;
                    st->cands += cands;
                    return 0;
                }
            }
            if (!done) {
                /* the next step's lookups are known exactly (C(b, s) keys); with buckets of
                 * the table's average occupancy, if they alone would take the query past its
                 * budget, hand it to the scan now instead of paying for them first */
                const int32_t L2 = L + 1;
                const l2h_mih_table *t2 = &h->tables[(size_t)L2 % m];
                const double nk = choose(t2->nbits, (size_t)L2 / m);
                if (work + nk * (COST_PROBE + t2->occupancy * COST_CAND * (double)W) > c->budget) {
                    st->probes += probes;
                    st->cands += cands;
                    return 0;
                }
            }
        } else {
            done = L >= radius;
        }
    }
    st->probes += probes;
    st->cands += cands;
    return 1;
}

static int query_generic(const mih_ctx *c, const uint64_t *q, int mode, size_t keff, int32_t radius,
                         qstate *st)
{
    return query_body(c, q, mode, keff, radius, st);
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("popcnt"))) static int
query_popcnt(const mih_ctx *c, const uint64_t *q, int mode, size_t keff, int32_t radius, qstate *st)
{
    return query_body(c, q, mode, keff, radius, st);
}
#endif

typedef int (*query_fn)(const mih_ctx *, const uint64_t *, int, size_t, int32_t, qstate *);

static query_fn pick_query(const l2h_hamming_kernels *kt)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (strcmp(kt->name, "portable") != 0 && __builtin_cpu_supports("popcnt")) return query_popcnt;
#else
    (void)kt;
#endif
    return query_generic;
}

static mih_ctx make_ctx(const l2h_index *ix)
{
    const double scale =
        l2h_mih_get_tuning()->budget_scale > 0 ? l2h_mih_get_tuning()->budget_scale : 1.0;
    mih_ctx c;
    memset(&c, 0, sizeof c);
    c.ix = ix;
    c.h = ix->impl;
    c.W = ix->words;
    c.seq = ix->st.sequential;
    c.scan = scale * (double)ix->nd * (double)ix->words;
    c.budget = 0.5 * c.scan;
    return c;
}

/* Counts the lookups of a radius search (independent of the query). */
static double range_probes(const l2h_mih *h, int32_t radius)
{
    double total = 0;
    for (int32_t L = 0; L <= radius; L++)
        total += choose(h->tables[(size_t)L % h->m].nbits, (size_t)L / h->m);
    return total;
}

static void add_counters(const l2h_index *ix, size_t nq, uint64_t probes, uint64_t cands,
                         size_t fallbacks)
{
    l2h_mih *h = ix->impl;
    atomic_fetch_add(&h->queries, nq);
    atomic_fetch_add(&h->probes, probes);
    atomic_fetch_add(&h->candidates, cands);
    atomic_fetch_add(&h->fallbacks, fallbacks);
}

static int cmp_size(const void *a, const void *b)
{
    const size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* Contiguous copy of the queries listed in idx[0..n). */
static uint64_t *gather_queries(const uint64_t *q, size_t W, const size_t *idx, size_t n)
{
    uint64_t *g = l2h_malloc_array(n ? n : 1, W * sizeof *g);
    if (g)
        for (size_t i = 0; i < n; i++)
            memcpy(g + i * W, q + idx[i] * W, W * sizeof *g);
    return g;
}

/* ---- k-NN ---------------------------------------------------------------------------------- */

l2h_status l2h_mih_search(const l2h_index *ix, const uint64_t *q, size_t nq, size_t k,
                          int32_t *dist, l2h_id *ids)
{
    const l2h_mih *h = ix->impl;
    const size_t n = ix->n, keff = k < n ? k : n, W = ix->words;
    if (h->m == 0 || keff == n) {
        add_counters(ix, nq, 0, 0, nq);
        return l2h_scan_knn(ix, q, nq, k, dist, ids);
    }
    mih_ctx c = make_ctx(ix);
    L2H_TRY(l2h_hamming_active(&c.kt));
    const query_fn run = pick_query(c.kt);
    const size_t max_d = ix->bits, cap = l2h_topk_cap(keff);
    size_t *fb = l2h_malloc_array(nq, sizeof *fb); /* queries left to the scan */
    L2H_NOMEM_IF_NULL(fb);
    size_t nfb = 0;
    uint64_t probes = 0, cands = 0, exact = 0;
    int failed = 0;
    int threads = l2h_threads();
    if ((size_t)threads > nq) threads = (int)nq;
#pragma omp parallel num_threads(threads > 0 ? threads : 1) reduction(+ : probes, cands, exact)
    {
        qstate qs;
        memset(&qs, 0, sizeof qs);
        l2h_hit *buf = l2h_malloc_array(cap, sizeof *buf);
        uint32_t *cnt = l2h_malloc_array(max_d + 1, sizeof *cnt);
        size_t *hist2 = l2h_malloc_array(max_d + 2, sizeof *hist2);
        qs.hist = l2h_malloc_array(max_d + 1, sizeof *qs.hist);
        const int ok = buf && cnt && hist2 && qs.hist;
        if (!ok) {
#pragma omp atomic write
            failed = 1;
        } else {
            l2h_topk_init(&qs.tk, buf, cap, cnt, hist2, keff, (int32_t)max_d, 0);
        }
        size_t tried = 0, abandoned = 0;
#pragma omp for schedule(dynamic, 4)
        for (size_t i = 0; i < nq; i++) {
            if (!ok) continue;
            memset(qs.hist, 0, (max_d + 1) * sizeof *qs.hist);
            /* once this thread has seen nearly every query of the call run out of budget (large
             * k, random-like data), the rest go straight to the scan */
            const int hopeless = tried >= 16 && abandoned * 10 >= tried * 9;
            if (l2h_exact_hit(ix, q + i * W, keff, k, dist + i * k, ids + i * k)) {
                exact++;
                continue;
            }
            tried++;
            if (!hopeless && run(&c, q + i * W, MODE_KNN, keff, 0, &qs)) {
                l2h_topk_finish(&qs.tk, dist + i * k, ids + i * k);
                for (size_t j = keff; j < k; j++) {
                    dist[i * k + j] = -1;
                    ids[i * k + j] = -1;
                }
            } else {
                l2h_topk_finish(&qs.tk, dist + i * k, ids + i * k); /* resets it */
                abandoned++;
                size_t slot;
#pragma omp atomic capture
                slot = nfb++;
                fb[slot] = i;
            }
        }
        probes += qs.probes;
        cands += qs.cands;
        l2h_free(buf);
        l2h_free(cnt);
        l2h_free(hist2);
        l2h_free(qs.hist);
    }
    l2h_status st = L2H_OK;
    if (failed) st = l2h_set_error(L2H_ERR_NOMEM, "out of memory for search buffers (k = %zu)", k);
    if (st == L2H_OK && nfb > 0) {
        size_t tot;
        uint64_t *g = gather_queries(q, W, fb, nfb);
        int32_t *fd = l2h_mul_ok(nfb, k, &tot) ? l2h_malloc_array(tot, sizeof *fd) : NULL;
        l2h_id *fi = fd ? l2h_malloc_array(tot, sizeof *fi) : NULL;
        if (!g || !fd || !fi)
            st = l2h_set_error(L2H_ERR_NOMEM, "out of memory for search results");
        else
            st = l2h_scan_knn(ix, g, nfb, k, fd, fi);
        for (size_t i = 0; st == L2H_OK && i < nfb; i++) {
            memcpy(dist + fb[i] * k, fd + i * k, k * sizeof *fd);
            memcpy(ids + fb[i] * k, fi + i * k, k * sizeof *fi);
        }
        l2h_free(g);
        l2h_free(fd);
        l2h_free(fi);
    }
    add_counters(ix, nq, probes, cands, nfb);
    atomic_fetch_add(&((l2h_mih *)ix->impl)->exact, exact);
    l2h_free(fb);
    return st;
}

/* ---- radius -------------------------------------------------------------------------------- */

/* Where query i's row hits are: hits [off, off + n) of thread `owner`'s vector; owner < 0: the
 * scan answered it (fallback). */
typedef struct range_rec {
    size_t off, n;
    int owner;
} range_rec;

/* One thread's hits, kept after the probing region until the answer is written. */
typedef struct range_thread {
    l2h_hit *hits;
    size_t n;
} range_thread;

typedef struct range_job {
    const l2h_index *ix;
    const uint64_t *q;
    size_t nq;
    int32_t radius;
    int threads;
    range_rec *rec;     /* [nq] */
    range_thread *thr;  /* [threads] */
    size_t *fb, nfb;    /* queries handed to the scan */
    uint64_t probes, cands;
} range_job;

/* Phase 1: every query probes the tables (or is handed to the scan by the cost model); its row
 * hits stay in the thread's vector. Returns 0 when out of memory (the caller has checked that a
 * kernel is available). */
static int range_probe_all(range_job *jb)
{
    mih_ctx c = make_ctx(jb->ix);
    if (l2h_hamming_active(&c.kt) != L2H_OK) return 0; /* checked by the caller */
    const query_fn run = pick_query(c.kt);
    const size_t W = jb->ix->words, nplan = (size_t)range_probes(c.h, jb->radius) + 1;
    uint64_t probes = 0, cands = 0;
    int failed = 0;
#pragma omp parallel num_threads(jb->threads) reduction(+ : probes, cands)
    {
        const int me = omp_get_thread_num();
        qstate qs;
        memset(&qs, 0, sizeof qs);
        qs.plan = l2h_malloc_array(nplan, sizeof *qs.plan);
        int ok = qs.plan != NULL;
        size_t tried = 0, abandoned = 0;
#pragma omp for schedule(dynamic, 4)
        for (size_t i = 0; i < jb->nq; i++) {
            if (!ok) continue;
            const size_t off = qs.nhits;
            /* once nearly every query of this thread went to the scan, the rest go there too */
            const int hopeless = tried >= 16 && abandoned * 10 >= tried * 9;
            tried++;
            if (hopeless || !run(&c, jb->q + i * W, MODE_RANGE, 0, jb->radius, &qs)) {
                abandoned++;
                qs.nhits = off;
                jb->rec[i].owner = -1;
                size_t slot;
#pragma omp atomic capture
                slot = jb->nfb++;
                jb->fb[slot] = i;
                continue;
            }
            if (qs.oom) {
                ok = 0;
                continue;
            }
            jb->rec[i].owner = me;
            jb->rec[i].off = off;
            jb->rec[i].n = qs.nhits - off;
        }
        if (!ok) {
#pragma omp atomic write
            failed = 1;
        }
        jb->thr[me].hits = qs.hits;
        jb->thr[me].n = qs.nhits;
        probes += qs.probes;
        cands += qs.cands;
        l2h_free(qs.plan);
    }
    jb->probes = probes;
    jb->cands = cands;
    return !failed;
}

/* Phase 3: the answer's size per query (ids, not rows) into res->lims, and its buffers. */
static l2h_status range_sizes(const range_job *jb, const l2h_range_result *sub,
                              l2h_range_result *res)
{
    res->lims[0] = 0;
    for (size_t i = 0, f = 0; i < jb->nq; i++) {
        const range_rec *r = &jb->rec[i];
        size_t cnt;
        if (r->owner >= 0) {
            cnt = l2h_rows_ids(jb->ix, jb->thr[r->owner].hits + r->off, r->n);
        } else {
            cnt = sub->lims[f + 1] - sub->lims[f];
            f++;
        }
        res->lims[i + 1] = res->lims[i] + cnt;
    }
    const size_t total = res->lims[jb->nq];
    res->ids = l2h_malloc_array(total ? total : 1, sizeof *res->ids);
    res->dists = l2h_malloc_array(total ? total : 1, sizeof *res->dists);
    if (!res->ids || !res->dists)
        L2H_FAIL(L2H_ERR_NOMEM, "out of memory for %zu range results", total);
    return L2H_OK;
}

/* Phase 4: the ids in (distance, id) order, from the probed rows' sorted lists and from the
 * scan's answers. Returns 0 when out of memory. */
static int range_emit(const range_job *jb, const l2h_range_result *sub, l2h_range_result *res)
{
    int failed = 0;
#pragma omp parallel num_threads(jb->threads)
    {
        l2h_emit_scratch es = {0};
        int ok = 1;
#pragma omp for schedule(dynamic, 16)
        for (size_t i = 0; i < jb->nq; i++) {
            const range_rec *r = &jb->rec[i];
            if (ok && r->owner >= 0 && r->n > 0)
                ok = l2h_emit_rows(jb->ix, jb->thr[r->owner].hits + r->off, r->n, jb->radius,
                                   res->dists + res->lims[i], res->ids + res->lims[i], &es);
        }
        if (!ok) {
#pragma omp atomic write
            failed = 1;
        }
        l2h_emit_scratch_free(&es);
    }
    for (size_t f = 0; f < jb->nfb; f++) {
        const size_t o = res->lims[jb->fb[f]], cnt = sub->lims[f + 1] - sub->lims[f];
        memcpy(res->ids + o, sub->ids + sub->lims[f], cnt * sizeof *res->ids);
        memcpy(res->dists + o, sub->dists + sub->lims[f], cnt * sizeof *res->dists);
    }
    return !failed;
}

l2h_status l2h_mih_range(const l2h_index *ix, const uint64_t *q, size_t nq, int32_t radius,
                         l2h_range_result *res)
{
    const l2h_mih *h = ix->impl;
    const mih_ctx c = make_ctx(ix);
    if (h->m == 0 || range_probes(h, radius) * COST_PROBE > c.scan) {
        add_counters(ix, nq, 0, 0, nq);
        return l2h_scan_range(ix, q, nq, radius, res);
    }
    const l2h_hamming_kernels *kt = NULL;
    L2H_TRY(l2h_hamming_active(&kt)); /* fails only for a bad $L2H_KERNEL: before allocating */
    range_job jb = {.ix = ix, .q = q, .nq = nq, .radius = radius};
    jb.threads = l2h_threads();
    if ((size_t)jb.threads > nq) jb.threads = (int)nq;
    if (jb.threads < 1) jb.threads = 1;
    jb.rec = l2h_malloc_array(nq, sizeof *jb.rec);
    jb.thr = l2h_calloc((size_t)jb.threads, sizeof *jb.thr);
    jb.fb = l2h_malloc_array(nq, sizeof *jb.fb);
    l2h_range_result sub = {0};
    uint64_t *g = NULL;
    l2h_status st = L2H_OK;
    if (!jb.rec || !jb.thr || !jb.fb)
        L2H_FAIL_GOTO(L2H_ERR_NOMEM, "out of memory for %zu range queries", nq);
    /* phase 1: probe */
    const int probed = range_probe_all(&jb);
    if (!probed) L2H_FAIL_GOTO(L2H_ERR_NOMEM, "out of memory collecting range results");
    /* phase 2: the abandoned queries, in query order, in one batched scan */
    if (jb.nfb > 0) {
        qsort(jb.fb, jb.nfb, sizeof *jb.fb, cmp_size);
        g = gather_queries(q, ix->words, jb.fb, jb.nfb);
        sub.nq = jb.nfb;
        sub.lims = l2h_calloc(jb.nfb + 1, sizeof *sub.lims);
        if (!g || !sub.lims) L2H_FAIL_GOTO(L2H_ERR_NOMEM, "out of memory for range results");
        L2H_CHECK_GOTO(l2h_scan_range(ix, g, jb.nfb, radius, &sub));
    }
    /* phases 3 and 4: sizes, then the ids */
    L2H_CHECK_GOTO(range_sizes(&jb, &sub, res));
    if (!range_emit(&jb, &sub, res))
        L2H_FAIL_GOTO(L2H_ERR_NOMEM, "out of memory collecting range results");
    add_counters(ix, nq, jb.probes, jb.cands, jb.nfb);
done:
    if (jb.thr)
        for (int t = 0; t < jb.threads; t++) l2h_free(jb.thr[t].hits);
    l2h_free(jb.thr);
    l2h_free(jb.rec);
    l2h_free(jb.fb);
    l2h_free(g);
    l2h_free(sub.lims);
    l2h_free(sub.ids);
    l2h_free(sub.dists);
    return st;
}
