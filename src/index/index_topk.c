/* index_topk.c -- exact per-query top-k over small integer distances, and sorting of
 * (distance, id) hits.
 *
 * Distances are integers in 0..bits, so instead of a heap the top-k keeps an unsorted buffer of
 * hits with d <= thr and a count per distance. When the buffer fills, the counts give the smallest distance t
 * with at least k buffered hits at distance <= t; hits beyond t are dropped and thr becomes t
 * (t - 1 when ids arrive in order, as they do in a scan of an index with sequential ids).
 * Ties at t may exceed what k needs; if they alone keep the buffer more than half full, a
 * quickselect keeps the smallest ids among them. Each compaction costs O(cap + bits) and frees at
 * least (cap - k) / 2 slots, so a push is amortised O(1 + bits / k). On random data the kernel's
 * threshold filter rejects all but a few hundred codes per query, so the buffer work is small. */
#include "index_internal.h"

#include <stdlib.h>
#include <string.h>

void l2h_topk_init(l2h_topk *t, l2h_hit *buf, size_t cap, uint32_t *cnt, size_t *hist, size_t k,
                   int32_t max_d, int ordered)
{
    t->cnt = cnt;
    memset(cnt, 0, ((size_t)max_d + 1) * sizeof *cnt);
    t->top = max_d;
    t->ordered = ordered;
    t->buf = buf;
    t->cap = cap;
    t->n = 0;
    t->k = k;
    t->thr = max_d;
    t->max_d = max_d;
    t->hist = hist;
}

static inline int hit_id_less(const l2h_hit *a, const l2h_hit *b)
{
    return a->id < b->id;
}

static inline void swap_hits(l2h_hit *a, l2h_hit *b)
{
    const l2h_hit t = *a;
    *a = *b;
    *b = t;
}

/* Rearranges h[0..n) so that h[0..m) hold the m smallest ids (any order). */
static void select_smallest_ids(l2h_hit *h, size_t n, size_t m)
{
    size_t lo = 0, hi = n; /* the boundary m lies in [lo, hi) */
    while (hi - lo > 16 && m > lo && m < hi) {
        /* median of three as pivot */
        const size_t mid = lo + (hi - lo) / 2;
        if (hit_id_less(&h[mid], &h[lo])) swap_hits(&h[mid], &h[lo]);
        if (hit_id_less(&h[hi - 1], &h[lo])) swap_hits(&h[hi - 1], &h[lo]);
        if (hit_id_less(&h[hi - 1], &h[mid])) swap_hits(&h[hi - 1], &h[mid]);
        const l2h_id pivot = h[mid].id;
        /* three-way partition: < pivot | == pivot | > pivot (robust to many equal ids) */
        size_t lt = lo, i = lo, gt = hi;
        while (i < gt) {
            if (h[i].id < pivot) swap_hits(&h[lt++], &h[i++]);
            else if (h[i].id > pivot) swap_hits(&h[i], &h[--gt]);
            else i++;
        }
        if (m <= lt) hi = lt;
        else if (m >= gt) lo = gt;
        else return; /* the boundary falls among ids equal to the pivot */
    }
    /* small range: insertion sort settles it */
    for (size_t i = lo + 1; i < hi; i++) {
        const l2h_hit x = h[i];
        size_t j = i;
        while (j > lo && x.id < h[j - 1].id) {
            h[j] = h[j - 1];
            j--;
        }
        h[j] = x;
    }
}

/* Keeps the hits with d <= t (the smallest distance with >= k hits at or below it) and lowers
 * thr to t. If `exact`, or if ties at t alone fill more than half of the buffer, cuts the ties
 * to the smallest ids so that exactly k hits remain. */
static void reduce(l2h_topk *t, int exact)
{
    if (t->n <= t->k && !exact) return;
    uint32_t *cnt = t->cnt;
    const int32_t top = t->top;
    size_t below = 0; /* hits with d < th */
    int32_t th = top;
    for (int32_t d = 0; d <= top; d++) {
        if (below + cnt[d] >= t->k) {
            th = d;
            break;
        }
        below += cnt[d];
    }
    if (below + cnt[th] < t->k) return; /* fewer than k hits in total: keep everything */
    /* Drop d > th, keeping order (branch-free: the outcome is random for random data). */
    size_t m = 0;
    for (size_t i = 0; i < t->n; i++) {
        const l2h_hit h = t->buf[i];
        t->buf[m] = h;
        m += h.d <= th;
    }
    for (int32_t d = th + 1; d <= top; d++) cnt[d] = 0;
    t->n = m;
    t->top = th;
    t->thr = t->ordered ? th - 1 : th; /* k hits at d <= th are held: see l2h_topk */
    if (m > t->k && (exact || m > t->k + (t->cap - t->k) / 2)) {
        /* Too many ties at th: move d < th to the front (stably), keep the smallest ids among
         * the ties. */
        size_t a = 0;
        for (size_t i = 0; i < m; i++)
            if (t->buf[i].d < th) swap_hits(&t->buf[a++], &t->buf[i]);
        select_smallest_ids(t->buf + a, m - a, t->k - below);
        t->n = t->k;
        cnt[th] = (uint32_t)(t->k - below);
    }
}

void l2h_topk_compact(l2h_topk *t)
{
    reduce(t, 0);
    if (t->n == t->cap) reduce(t, 1); /* only possible when k >= cap, which callers avoid */
}

static int cmp_hit_id(const void *a, const void *b)
{
    const l2h_id x = ((const l2h_hit *)a)->id, y = ((const l2h_hit *)b)->id;
    return (x > y) - (x < y);
}

/* Sorts each run of equal distance by id: insertion sort for short or nearly sorted runs. */
static void sort_runs_by_id(l2h_hit *h, size_t n)
{
    size_t s = 0;
    while (s < n) {
        size_t e = s + 1, inversions = 0;
        while (e < n && h[e].d == h[s].d) {
            inversions += h[e].id < h[e - 1].id;
            e++;
        }
        if (inversions == 0) {
            /* already in order (the common case for sequential ids) */
        } else if (e - s <= 48) {
            for (size_t i = s + 1; i < e; i++) {
                const l2h_hit x = h[i];
                size_t j = i;
                while (j > s && x.id < h[j - 1].id) {
                    h[j] = h[j - 1];
                    j--;
                }
                h[j] = x;
            }
        } else {
            qsort(h + s, e - s, sizeof *h, cmp_hit_id);
        }
        s = e;
    }
}

void l2h_hits_sort(l2h_hit *h, size_t n, int32_t max_d, size_t *scratch, l2h_hit *tmp)
{
    /* stable counting sort by distance into tmp, then back */
    const size_t nb = (size_t)max_d + 1;
    memset(scratch, 0, (nb + 1) * sizeof *scratch);
    for (size_t i = 0; i < n; i++) scratch[(size_t)h[i].d + 1]++;
    for (size_t d = 0; d < nb; d++) scratch[d + 1] += scratch[d];
    for (size_t i = 0; i < n; i++) tmp[scratch[h[i].d]++] = h[i];
    memcpy(h, tmp, n * sizeof *h);
    sort_runs_by_id(h, n);
}

size_t l2h_topk_finish(l2h_topk *t, int32_t *dist, l2h_id *ids)
{
    reduce(t, 1);
    const size_t m = t->n < t->k ? t->n : t->k;
    /* after reduce, m <= k <= cap / 2: the upper half of the buffer is free scratch */
    l2h_hits_sort(t->buf, m, t->max_d, t->hist, t->buf + t->k);
    for (size_t i = 0; i < m; i++) {
        dist[i] = t->buf[i].d;
        ids[i] = t->buf[i].id;
    }
    for (size_t i = m; i < t->k; i++) {
        dist[i] = -1;
        ids[i] = -1;
    }
    memset(t->cnt, 0, ((size_t)t->top + 1) * sizeof *t->cnt);
    t->n = 0;
    t->thr = t->top = t->max_d;
    return m;
}
