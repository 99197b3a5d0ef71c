/* index_scan.c -- the exhaustive scan engine behind the flat index: k-NN and radius search over
 * every stored code, blocked for cache and parallel with OpenMP.
 *
 * Work is cut into items = (query batch) x (database shard):
 *  - many queries (the normal case): one shard; threads take batches of up to 64 queries. For
 *    each database block (24 KiB of codes, which stays in the L1 cache of a core) every query
 *    of the batch scans the block before the next block is touched, so memory traffic is
 *    divided by the batch size and the kernels run from L1.
 *  - few queries (fewer than 4 per thread) on a large database: the database is split into one
 *    shard per thread, each thread keeps its own top-k (or hit list) per query, and the shard
 *    results are merged. Both ways give identical results because the order is total: by
 *    distance, then id.
 * One OpenMP parallel region per call; items are handed out dynamically. */
#include "index_internal.h"

#include <omp.h>
#include <string.h>

static l2h_scan_tuning tuning; /* zeros: defaults */

void l2h_scan_set_tuning(const l2h_scan_tuning *t)
{
    if (t) tuning = *t;
    else memset(&tuning, 0, sizeof tuning);
}

enum { CAND_CAP = 128 };

/* Database rows per cache block. 24 KiB keeps a block in the 32 KiB L1d of current x86 cores
 * next to the query state; measured on Zen 4 it beat 128-256 KiB (L2-sized) blocks by 20-30 %
 * once the top-k work per code was small (docs/search.md). */
static size_t block_rows(size_t words)
{
    const size_t bytes = tuning.block_bytes ? tuning.block_bytes : (size_t)24 * 1024;
    size_t r = bytes / (words * 8);
    r -= r % 32;
    return r < 32 ? 32 : r;
}

typedef struct scan_plan {
    size_t qb;      /* queries per batch */
    size_t batches; /* ceil(nq / qb) */
    size_t shards;  /* database shards */
    size_t items;   /* batches * shards */
    int threads;
} scan_plan;

/* per_query_bytes: memory one query's state needs in a thread (bounds the batch). */
static scan_plan make_plan(size_t nq, size_t n, size_t per_query_bytes)
{
    scan_plan p;
    int t = l2h_threads();
    if (t < 1) t = 1;
    const size_t T = (size_t)t;
    size_t qb_max = tuning.query_batch ? tuning.query_batch : 64;
    const size_t min_shard = tuning.min_shard_rows ? tuning.min_shard_rows : 32768;
    if (per_query_bytes > 0) {
        const size_t lim = ((size_t)64 << 20) / per_query_bytes; /* 64 MiB of states a thread */
        if (qb_max > lim) qb_max = lim ? lim : 1;
    }
    p.shards = 1;
    if (T > 1 && nq < 4 * T && n >= 2 * min_shard) {
        p.shards = n / min_shard;
        if (p.shards > T) p.shards = T;
    }
    const size_t want = p.shards == 1 ? (nq + T - 1) / T : nq;
    p.qb = want < qb_max ? want : qb_max;
    if (p.qb < 1) p.qb = 1;
    p.batches = (nq + p.qb - 1) / p.qb;
    p.items = p.batches * p.shards;
    p.threads = (int)(p.items < T ? p.items : T);
    if (p.threads < 1) p.threads = 1;
    return p;
}

/* Rows of shard s: whole groups of 8, so every shard starts on a group boundary. */
static void shard_rows(size_t n, size_t shards, size_t s, size_t *r0, size_t *r1)
{
    const size_t groups = n / 8 + (n % 8 != 0);
    const size_t g0 = groups * s / shards, g1 = groups * (s + 1) / shards;
    *r0 = g0 * 8;
    *r1 = g1 * 8 < n ? g1 * 8 : n;
}

/* k-NN of nqb padded queries over rows r0 .. r1-1, into their top-k structures (queries with
 * skip[i] set are already answered). */
static void knn_rows(const l2h_index *ix, const l2h_hamming_kernels *kt, const uint64_t *q,
                     size_t nqb, size_t r0, size_t r1, l2h_topk *tk, const uint8_t *skip,
                     l2h_cand *cand)
{
    const size_t W = ix->words, br = block_rows(W);
    const int seq = ix->st.sequential;
    for (size_t b0 = r0; b0 < r1; b0 += br) {
        const size_t len = r1 - b0 < br ? r1 - b0 : br;
        const uint64_t *base = ix->codes + (b0 / 8) * W * 8;
        for (size_t i = 0; i < nqb; i++) {
            if (skip[i]) continue;
            l2h_topk *t = &tk[i];
            const uint64_t *qq = q + i * W;
            size_t pos = 0;
            while (pos < len) {
                size_t nc = 0;
                pos = kt->filter(qq, base, W, pos, len, t->thr, cand, CAND_CAP, &nc);
                /* test the threshold before touching the list (a cache miss per candidate);
                 * with row r holding id r, do not touch it at all */
                if (seq) {
                    for (size_t c = 0; c < nc; c++)
                        l2h_topk_push(t, cand[c].d, (l2h_id)(b0 + cand[c].j));
                } else {
                    for (size_t c = 0; c < nc; c++)
                        if (cand[c].d <= t->thr)
                            l2h_topk_push_row(t, ix, b0 + cand[c].j, cand[c].d);
                }
            }
        }
    }
}

static void pad_row(int32_t *dist, l2h_id *ids, size_t from, size_t k)
{
    for (size_t i = from; i < k; i++) {
        dist[i] = -1;
        ids[i] = -1;
    }
}

/* Merges the per-shard k-NN lists of each query (few queries: serial). */
static l2h_status merge_shards(const scan_plan *p, size_t nq, size_t k, size_t keff,
                               int32_t max_d, const int32_t *sd, const l2h_id *si,
                               int32_t *dist, l2h_id *ids)
{
    const size_t cap = l2h_topk_cap(keff);
    l2h_hit *buf = l2h_malloc_array(cap, sizeof *buf);
    uint32_t *cnt = l2h_malloc_array((size_t)max_d + 1, sizeof *cnt);
    size_t *hist = l2h_malloc_array((size_t)max_d + 2, sizeof *hist);
    if (!buf || !cnt || !hist) {
        l2h_free(buf);
        l2h_free(cnt);
        l2h_free(hist);
        L2H_FAIL(L2H_ERR_NOMEM, "out of memory merging search results");
    }
    l2h_topk t;
    l2h_topk_init(&t, buf, cap, cnt, hist, keff, max_d, 0);
    for (size_t qi = 0; qi < nq; qi++) {
        for (size_t s = 0; s < p->shards; s++) {
            const size_t off = (qi * p->shards + s) * keff;
            for (size_t j = 0; j < keff && si[off + j] >= 0; j++)
                l2h_topk_push(&t, sd[off + j], si[off + j]);
        }
        l2h_topk_finish(&t, dist + qi * k, ids + qi * k);
        pad_row(dist + qi * k, ids + qi * k, keff, k);
    }
    l2h_free(buf);
    l2h_free(cnt);
    l2h_free(hist);
    return L2H_OK;
}

l2h_status l2h_scan_knn(const l2h_index *ix, const uint64_t *q, size_t nq, size_t k,
                        int32_t *dist, l2h_id *ids)
{
    const l2h_hamming_kernels *kt = NULL;
    L2H_TRY(l2h_hamming_active(&kt));
    const size_t n = ix->nd, W = ix->words, keff = k < ix->n ? k : ix->n;
    const int32_t max_d = (int32_t)ix->bits;
    const size_t cap = l2h_topk_cap(keff);
    size_t per_query;
    L2H_FAIL_IF(!l2h_mul_ok(cap, sizeof(l2h_hit), &per_query), L2H_ERR_NOMEM, "k = %zu too large",
                k);
    per_query += ((size_t)max_d + 1) * sizeof(uint32_t);
    const scan_plan p = make_plan(nq, n, per_query);

    int32_t *sd = NULL; /* per-shard results [nq, shards, keff] */
    l2h_id *si = NULL;
    if (p.shards > 1) {
        size_t m;
        L2H_FAIL_IF(!l2h_mul_ok(nq * p.shards, keff, &m), L2H_ERR_NOMEM, "k = %zu too large", k);
        sd = l2h_malloc_array(m, sizeof *sd);
        si = l2h_malloc_array(m, sizeof *si);
        if (!sd || !si) {
            l2h_free(sd);
            l2h_free(si);
            L2H_FAIL(L2H_ERR_NOMEM, "out of memory for %zu x %zu search results", nq, k);
        }
    }
    int failed = 0;
#pragma omp parallel num_threads(p.threads)
    {
        l2h_hit *bufs = l2h_malloc_array(p.qb * cap, sizeof *bufs);
        uint32_t *cnts = l2h_malloc_array(p.qb * ((size_t)max_d + 1), sizeof *cnts);
        size_t *hist = l2h_malloc_array((size_t)max_d + 2, sizeof *hist);
        l2h_topk *tk = l2h_malloc_array(p.qb, sizeof *tk);
        l2h_cand *cand = l2h_malloc_array(CAND_CAP, sizeof *cand);
        uint8_t *skip = l2h_calloc(p.qb, 1);
        const int ok = bufs && cnts && hist && tk && cand && skip;
        if (!ok) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (size_t it = 0; it < p.items; it++) {
            if (!ok) continue;
            const size_t b = it / p.shards, s = it % p.shards;
            const size_t q0 = b * p.qb, q1 = q0 + p.qb < nq ? q0 + p.qb : nq;
            size_t r0, r1;
            shard_rows(n, p.shards, s, &r0, &r1);
            for (size_t i = 0; i < q1 - q0; i++) {
                l2h_topk_init(&tk[i], bufs + i * cap, cap, cnts + i * ((size_t)max_d + 1), hist,
                              keff, max_d, ix->st.ordered);
                /* the query's own code with >= k ids: nothing can beat them */
                skip[i] = p.shards == 1 && l2h_exact_hit(ix, q + (q0 + i) * W, keff, k,
                                                          dist + (q0 + i) * k, ids + (q0 + i) * k);
            }
            knn_rows(ix, kt, q + q0 * W, q1 - q0, r0, r1, tk, skip, cand);
            for (size_t i = 0; i < q1 - q0; i++) {
                const size_t qi = q0 + i;
                if (skip[i]) continue;
                if (p.shards == 1) {
                    l2h_topk_finish(&tk[i], dist + qi * k, ids + qi * k);
                    pad_row(dist + qi * k, ids + qi * k, keff, k);
                } else {
                    const size_t off = (qi * p.shards + s) * keff;
                    l2h_topk_finish(&tk[i], sd + off, si + off);
                }
            }
        }
        l2h_free(bufs);
        l2h_free(cnts);
        l2h_free(hist);
        l2h_free(tk);
        l2h_free(cand);
        l2h_free(skip);
    }
    l2h_status st = L2H_OK;
    if (failed) st = l2h_set_error(L2H_ERR_NOMEM, "out of memory for search buffers (k = %zu)", k);
    else if (p.shards > 1) st = merge_shards(&p, nq, k, keff, max_d, sd, si, dist, ids);
    l2h_free(sd);
    l2h_free(si);
    return st;
}

/* ---- radius search --------------------------------------------------------------------- */

typedef struct hitvec {
    l2h_hit *h;
    size_t n, cap;
} hitvec;

static int hitvec_reserve(hitvec *v, size_t need)
{
    if (need <= v->cap) return 1;
    size_t nc = v->cap ? 2 * v->cap : 16, bytes;
    if (nc < need) nc = need;
    if (!l2h_mul_ok(nc, sizeof *v->h, &bytes)) return 0;
    l2h_hit *h = l2h_realloc(v->h, bytes);
    if (!h) return 0;
    v->h = h;
    v->cap = nc;
    return 1;
}

static int hitvec_push(hitvec *v, int32_t d, l2h_id id)
{
    if (v->n == v->cap && !hitvec_reserve(v, v->n + 1)) return 0;
    v->h[v->n].d = d;
    v->h[v->n].id = id;
    v->n++;
    return 1;
}

/* All rows within `radius` of nqb queries over rows r0 .. r1-1, appended as (d, row) to
 * out[i * stride]. */
static int range_rows(const l2h_index *ix, const l2h_hamming_kernels *kt, const uint64_t *q,
                      size_t nqb, size_t r0, size_t r1, int32_t radius, hitvec *out,
                      size_t stride, l2h_cand *cand)
{
    const size_t W = ix->words, br = block_rows(W);
    for (size_t b0 = r0; b0 < r1; b0 += br) {
        const size_t len = r1 - b0 < br ? r1 - b0 : br;
        const uint64_t *base = ix->codes + (b0 / 8) * W * 8;
        for (size_t i = 0; i < nqb; i++) {
            size_t pos = 0;
            while (pos < len) {
                size_t nc = 0;
                pos = kt->filter(q + i * W, base, W, pos, len, radius, cand, CAND_CAP, &nc);
                for (size_t c = 0; c < nc; c++)
                    if (!hitvec_push(&out[i * stride], cand[c].d, (l2h_id)(b0 + cand[c].j)))
                        return 0;
            }
        }
    }
    return 1;
}

/* Writes query qi's rows (all shards) as ids at res->lims[qi], ordered by (d, id). */
static int range_emit(const l2h_index *ix, const scan_plan *p, hitvec *lists, size_t qi,
                      int32_t radius, l2h_range_result *res, hitvec *a, l2h_emit_scratch *es)
{
    size_t rows = 0;
    for (size_t s = 0; s < p->shards; s++) rows += lists[qi * p->shards + s].n;
    if (rows == 0) return 1;
    const l2h_hit *h;
    if (p->shards == 1) {
        h = lists[qi].h;
    } else {
        if (!hitvec_reserve(a, rows)) return 0;
        a->n = 0;
        for (size_t s = 0; s < p->shards; s++) {
            const hitvec *v = &lists[qi * p->shards + s];
            if (v->n) memcpy(a->h + a->n, v->h, v->n * sizeof *v->h);
            a->n += v->n;
        }
        h = a->h;
    }
    return l2h_emit_rows(ix, h, rows, radius, res->dists + res->lims[qi],
                         res->ids + res->lims[qi], es);
}

l2h_status l2h_scan_range(const l2h_index *ix, const uint64_t *q, size_t nq, int32_t radius,
                          l2h_range_result *res)
{
    const l2h_hamming_kernels *kt = NULL;
    L2H_TRY(l2h_hamming_active(&kt));
    const size_t n = ix->nd, W = ix->words;
    const scan_plan p = make_plan(nq, n, 0);
    hitvec *lists = l2h_calloc(nq * p.shards, sizeof *lists);
    L2H_NOMEM_IF_NULL(lists);
    int failed = 0;
#pragma omp parallel num_threads(p.threads)
    {
        l2h_cand *cand = l2h_malloc_array(CAND_CAP, sizeof *cand);
        if (!cand) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (size_t it = 0; it < p.items; it++) {
            if (!cand) continue;
            const size_t b = it / p.shards, s = it % p.shards;
            const size_t q0 = b * p.qb, q1 = q0 + p.qb < nq ? q0 + p.qb : nq;
            size_t r0, r1;
            shard_rows(n, p.shards, s, &r0, &r1);
            if (!range_rows(ix, kt, q + q0 * W, q1 - q0, r0, r1, radius,
                            lists + q0 * p.shards + s, p.shards, cand)) {
#pragma omp atomic write
                failed = 1;
            }
        }
        l2h_free(cand);
    }
    l2h_status st = L2H_OK;
    if (!failed) {
        res->lims[0] = 0;
        for (size_t qi = 0; qi < nq; qi++) {
            size_t t = 0;
            for (size_t s = 0; s < p.shards; s++) {
                const hitvec *v = &lists[qi * p.shards + s];
                t += l2h_rows_ids(ix, v->h, v->n);
            }
            res->lims[qi + 1] = res->lims[qi] + t;
        }
        const size_t total = res->lims[nq];
        res->ids = l2h_malloc_array(total ? total : 1, sizeof *res->ids);
        res->dists = l2h_malloc_array(total ? total : 1, sizeof *res->dists);
        if (!res->ids || !res->dists) failed = 1;
    }
    if (!failed) {
#pragma omp parallel num_threads(p.threads)
        {
            hitvec a = {0};
            l2h_emit_scratch es = {0};
            int ok = 1;
#pragma omp for schedule(dynamic, 16)
            for (size_t qi = 0; qi < nq; qi++)
                if (ok) ok = range_emit(ix, &p, lists, qi, radius, res, &a, &es);
            if (!ok) {
#pragma omp atomic write
                failed = 1;
            }
            l2h_free(a.h);
            l2h_emit_scratch_free(&es);
        }
    }
    if (failed) st = l2h_set_error(L2H_ERR_NOMEM, "out of memory collecting range results");
    for (size_t i = 0; i < nq * p.shards; i++) l2h_free(lists[i].h);
    l2h_free(lists);
    return st;
}
