/* test_index_store.c -- indexes that store each distinct code once, against a plain reference
 * (a list of (code, id) pairs searched by brute force): random add / remove / replace / save /
 * load sequences on clustered and duplicated codes for both kinds, k-NN and radius answers
 * element for element, the exact-duplicate shortcut, the MIH tables answering after a remove
 * followed by a small add (issue 14 item 15: stale tables must not hide behind the scan
 * fallback), the cost model's choice, and model fingerprints (set, check, persist, refuse). */
#include "check.h"

#include "../../src/index/index_mih.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static l2h_rng rng;

/* ---- the reference: pairs, brute force ---------------------------------------------------- */

typedef struct ref {
    uint8_t *codes;
    l2h_id *ids;
    size_t n, cap, bytes, bits;
} ref;

typedef struct hit {
    int32_t d;
    l2h_id id;
} hit;

static int cmp_hit(const void *a, const void *b)
{
    const hit *x = a, *y = b;
    if (x->d != y->d) return x->d < y->d ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

static int32_t ref_dist(const uint8_t *a, const uint8_t *b, size_t bits)
{
    int32_t d = 0;
    for (size_t j = 0; j < bits; j++) d += ((a[j / 8] ^ b[j / 8]) >> (j % 8)) & 1;
    return d;
}

static void ref_add(ref *r, const uint8_t *c, const l2h_id *ids, size_t n)
{
    if (r->n + n > r->cap) {
        r->cap = 2 * (r->n + n);
        r->codes = realloc(r->codes, r->cap * r->bytes);
        r->ids = realloc(r->ids, r->cap * sizeof *r->ids);
    }
    memcpy(r->codes + r->n * r->bytes, c, n * r->bytes);
    memcpy(r->ids + r->n, ids, n * sizeof *ids);
    r->n += n;
}

static int in_list(l2h_id id, const l2h_id *ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id) return 1;
    return 0;
}

static size_t ref_remove(ref *r, const l2h_id *ids, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (in_list(r->ids[i], ids, n)) continue;
        memmove(r->codes + w * r->bytes, r->codes + i * r->bytes, r->bytes);
        r->ids[w++] = r->ids[i];
    }
    const size_t removed = r->n - w;
    r->n = w;
    return removed;
}

static void ref_replace(ref *r, const l2h_id *ids, const uint8_t *codes, size_t n)
{
    for (size_t i = 0; i < r->n; i++)
        for (size_t j = 0; j < n; j++)
            if (r->ids[i] == ids[j]) memcpy(r->codes + i * r->bytes, codes + j * r->bytes, r->bytes);
}

/* Every (d, id) for query q, sorted. */
static hit *ref_all(const ref *r, const uint8_t *q)
{
    hit *h = malloc((r->n + 1) * sizeof *h);
    for (size_t i = 0; i < r->n; i++) {
        h[i].d = ref_dist(q, r->codes + i * r->bytes, r->bits);
        h[i].id = r->ids[i];
    }
    qsort(h, r->n, sizeof *h, cmp_hit);
    return h;
}

/* k-NN and radius answers of ix equal the reference's, element for element. */
static int check_against_ref(const l2h_index *ix, const ref *r, const uint8_t *q, size_t nq,
                             size_t k, uint32_t radius, const char *what)
{
    int ok = 1;
    int32_t *d = malloc((nq * k + 1) * sizeof *d);
    l2h_id *id = malloc((nq * k + 1) * sizeof *id);
    l2h_range_result *rr = NULL;
    if (l2h_index_search(ix, q, nq, k, d, id) != L2H_OK) ok = 0;
    if (l2h_index_range_search(ix, q, nq, radius, &rr) != L2H_OK) ok = 0;
    for (size_t i = 0; ok && i < nq; i++) {
        hit *h = ref_all(r, q + i * r->bytes);
        for (size_t j = 0; ok && j < k; j++) {
            const int32_t wd = j < r->n ? h[j].d : -1;
            const l2h_id wi = j < r->n ? h[j].id : -1;
            if (d[i * k + j] != wd || id[i * k + j] != wi) {
                fprintf(stderr, "%s: knn q=%zu rank=%zu k=%zu: (%d,%lld) want (%d,%lld)\n", what,
                        i, j, k, d[i * k + j], (long long)id[i * k + j], wd, (long long)wi);
                ok = 0;
            }
        }
        size_t want = 0;
        while (want < r->n && h[want].d <= (int32_t)radius) want++;
        const size_t *lims = l2h_range_result_lims(rr);
        if (lims[i + 1] - lims[i] != want) {
            fprintf(stderr, "%s: range q=%zu r=%u: %zu results, want %zu\n", what, i, radius,
                    lims[i + 1] - lims[i], want);
            ok = 0;
        }
        for (size_t j = 0; ok && j < want; j++)
            if (l2h_range_result_dists(rr)[lims[i] + j] != h[j].d ||
                l2h_range_result_ids(rr)[lims[i] + j] != h[j].id) {
                fprintf(stderr, "%s: range q=%zu r=%u differs at %zu\n", what, i, radius, j);
                ok = 0;
            }
        free(h);
    }
    l2h_range_result_free(rr);
    free(d), free(id);
    return ok;
}

/* ---- data ------------------------------------------------------------------------------------ */

static void random_codes(uint8_t *c, size_t n, size_t bits)
{
    const size_t bytes = l2h_code_bytes(bits);
    for (size_t i = 0; i < n * bytes; i++) c[i] = (uint8_t)l2h_rng_next(&rng);
    if (bits % 8)
        for (size_t i = 0; i < n; i++) c[i * bytes + bytes - 1] &= (uint8_t)((1u << (bits % 8)) - 1);
}

static void flip_bits(uint8_t *code, size_t bits, size_t nflip)
{
    for (size_t f = 0; f < nflip; f++) {
        const size_t b = (size_t)l2h_rng_below(&rng, bits);
        code[b / 8] ^= (uint8_t)(1u << (b % 8));
    }
}

/* Clustered like a supervised hash: `centres` codes, most items an exact copy of one (skewed:
 * centre 0 takes about half), the rest 1-2 flips away. */
static void clustered(uint8_t *c, size_t n, size_t bits, const uint8_t *centres, size_t nc)
{
    const size_t bytes = l2h_code_bytes(bits);
    for (size_t i = 0; i < n; i++) {
        const size_t j = l2h_rng_below(&rng, 2) ? 0 : (size_t)l2h_rng_below(&rng, nc);
        memcpy(c + i * bytes, centres + j * bytes, bytes);
        if (l2h_rng_below(&rng, 3) == 0) flip_bits(c + i * bytes, bits, 1 + l2h_rng_below(&rng, 2));
    }
}

static void queries_from(uint8_t *q, size_t nq, const ref *r, size_t bits)
{
    random_codes(q, nq, bits);
    for (size_t i = 0; i < nq && r->n > 0; i++)
        if (i % 5 != 4) {
            memcpy(q + i * r->bytes, r->codes + l2h_rng_below(&rng, r->n) * r->bytes, r->bytes);
            flip_bits(q + i * r->bytes, bits, (size_t)l2h_rng_below(&rng, 3));
        }
}

static l2h_index *new_index(l2h_index_kind kind, size_t bits)
{
    l2h_index_params p = l2h_index_default_params(bits);
    p.kind = kind;
    l2h_index *ix = NULL;
    CHECK_OK(l2h_index_create(&ix, &p));
    return ix;
}

/* ---- random living sequences ------------------------------------------------------------------ */

static void test_sequences(l2h_index_kind kind, size_t bits, int threads)
{
    const size_t bytes = l2h_code_bytes(bits), nq = 7, nc = 12;
    l2h_set_threads(threads);
    const l2h_mih_tuning t = {.min_rows = 16, .budget_scale = 20, .tail_min = 8};
    l2h_mih_set_tuning(&t);
    char path[64];
    snprintf(path, sizeof path, "store_seq_%d.l2hi", (int)getpid());
    ref r = {NULL, NULL, 0, 0, bytes, bits};
    uint8_t *centres = malloc(nc * bytes), *buf = malloc(500 * bytes), *q = malloc(nq * bytes);
    l2h_id *ids = malloc(500 * sizeof *ids);
    random_codes(centres, nc, bits);
    l2h_index *ix = new_index(kind, bits);
    int fails = 0;
    for (int step = 0; step < 50; step++) {
        const int op = step < 4 ? 0 : (int)l2h_rng_below(&rng, 5);
        const size_t cnt = 1 + (size_t)l2h_rng_below(&rng, step % 6 == 0 ? 400 : 30);
        if (op <= 1) { /* add, ids out of order and repeated */
            clustered(buf, cnt, bits, centres, nc);
            for (size_t i = 0; i < cnt; i++) ids[i] = (l2h_id)l2h_rng_below(&rng, 3000);
            CHECK_OK(l2h_index_add(ix, buf, ids, cnt));
            ref_add(&r, buf, ids, cnt);
        } else if (op == 2) { /* remove present and absent ids */
            for (size_t i = 0; i < cnt; i++)
                ids[i] = r.n && i % 4 ? r.ids[l2h_rng_below(&rng, r.n)]
                                      : (l2h_id)l2h_rng_below(&rng, 3000);
            size_t removed = 0;
            CHECK_OK(l2h_index_remove(ix, ids, cnt, &removed));
            CHECK_EQ_I(removed, ref_remove(&r, ids, cnt));
        } else if (op == 3 && r.n > 0) { /* replace distinct present ids */
            size_t m = 0;
            for (size_t i = 0; i < cnt; i++) {
                const l2h_id id = r.ids[l2h_rng_below(&rng, r.n)];
                if (!in_list(id, ids, m)) ids[m++] = id;
            }
            clustered(buf, m, bits, centres, nc);
            CHECK_OK(l2h_index_replace(ix, ids, buf, m));
            ref_replace(&r, ids, buf, m);
        } else { /* persistence round trip */
            l2h_index *back = NULL;
            CHECK_OK(l2h_index_save(ix, path));
            CHECK_OK(l2h_index_load(&back, path));
            if (back) {
                l2h_index_free(ix);
                ix = back;
            }
        }
        CHECK_EQ_I(l2h_index_size(ix), r.n);
        queries_from(q, nq, &r, bits);
        char what[96];
        snprintf(what, sizeof what, "sequence kind=%d bits=%zu threads=%d step=%d", (int)kind, bits,
                 threads, step);
        const size_t k = (size_t[]){1, 3, 10, 40, 200}[step % 5];
        if (!check_against_ref(ix, &r, q, nq, k, (uint32_t)(step % 7), what)) fails++;
    }
    CHECK_EQ_I(fails, 0);
    l2h_index_info info;
    CHECK_OK(l2h_index_describe(ix, &info));
    CHECK(info.distinct <= info.size);
    CHECK(info.size == 0 || info.distinct < info.size); /* clustered codes repeat */
    l2h_index_free(ix);
    remove(path);
    free(r.codes), free(r.ids), free(centres), free(buf), free(q), free(ids);
    l2h_mih_set_tuning(NULL);
    l2h_set_threads(0);
}

/* ---- exact duplicates ------------------------------------------------------------------------- */

/* k smaller and larger than a code's id list, the list's ids added out of order, both kinds:
 * the k nearest are the code's k smallest ids (the shortcut), then its neighbours. */
static void test_duplicates(void)
{
    for (int kind = 0; kind < 2; kind++) {
        const size_t bits = 64, bytes = 8, n = 6000;
        const l2h_mih_tuning t = {.min_rows = 16, .budget_scale = 20};
        l2h_mih_set_tuning(&t);
        ref r = {NULL, NULL, 0, 0, bytes, bits};
        uint8_t centres[3 * 8], *buf = malloc(n * bytes), q[4 * 8];
        l2h_id *ids = malloc(n * sizeof *ids);
        random_codes(centres, 3, bits);
        for (size_t i = 0; i < n; i++) {
            memcpy(buf + i * bytes, centres + (i % 3) * bytes, bytes);
            if (i % 7 == 0) flip_bits(buf + i * bytes, bits, 1);
            ids[i] = (l2h_id)((i * 7919) % n);
        }
        l2h_index *ix = new_index((l2h_index_kind)kind, bits);
        CHECK_OK(l2h_index_add(ix, buf, ids, n));
        ref_add(&r, buf, ids, n);
        memcpy(q, centres, 8);
        memcpy(q + 8, centres + 8, 8);
        memcpy(q + 16, centres, 8);
        flip_bits(q + 16, bits, 1);
        random_codes(q + 24, 1, bits);
        for (size_t k = 1; k <= 2100; k = k * 3 + 1)
            CHECK(check_against_ref(ix, &r, q, 4, k, 2, kind ? "dup mih" : "dup flat"));
        l2h_index_info info;
        CHECK_OK(l2h_index_describe(ix, &info));
        CHECK(info.distinct < 3 + n / 7 + 1);
        l2h_index_free(ix);
        free(r.codes), free(r.ids), free(buf), free(ids);
        l2h_mih_set_tuning(NULL);
    }
}

/* ---- MIH tables after a remove (issue 14 item 15) --------------------------------------------- */

/* Clustered codes, a remove that empties many codes (the rows move), then a small add (a tail
 * shorter than the rebuild limit): with a budget that lets the tables answer, every k-NN and
 * radius query must be answered by the tables (no fallback, probes made) and equal the
 * reference. Stale tables (rows that moved, or nb > nd after the remove) would give wrong ids
 * here instead of hiding behind the scan. */
static void test_mih_after_remove(void)
{
    const size_t bits = 64, bytes = 8, n = 4000, nq = 40, nc = 300;
    const l2h_mih_tuning t = {.min_rows = 64, .budget_scale = 1e3, .tail_min = 512};
    l2h_mih_set_tuning(&t);
    ref r = {NULL, NULL, 0, 0, bytes, bits};
    uint8_t *centres = malloc(nc * bytes), *buf = malloc(n * bytes), *q = malloc(nq * bytes);
    l2h_id *ids = malloc(n * sizeof *ids);
    random_codes(centres, nc, bits);
    for (size_t i = 0; i < n; i++) {
        memcpy(buf + i * bytes, centres + (i % nc) * bytes, bytes);
        flip_bits(buf + i * bytes, bits, l2h_rng_below(&rng, 3));
        ids[i] = (l2h_id)i;
    }
    l2h_index *ix = new_index(L2H_INDEX_MIH, bits);
    CHECK_OK(l2h_index_add(ix, buf, ids, n));
    ref_add(&r, buf, ids, n);
    /* remove every id of the first 100 centres' items: whole codes disappear, rows move */
    size_t nrm = 0;
    for (size_t i = 0; i < n; i++)
        if (i % nc < 100) ids[nrm++] = (l2h_id)i;
    size_t removed = 0;
    CHECK_OK(l2h_index_remove(ix, ids, nrm, &removed));
    CHECK_EQ_I(removed, ref_remove(&r, ids, nrm));
    /* a small add: new codes near the remaining centres, the tail stays below the limit */
    const size_t na = 50;
    for (size_t i = 0; i < na; i++) {
        memcpy(buf + i * bytes, centres + (100 + i) * bytes, bytes);
        flip_bits(buf + i * bytes, bits, 1 + l2h_rng_below(&rng, 2));
        ids[i] = (l2h_id)(n + i);
    }
    CHECK_OK(l2h_index_add(ix, buf, ids, na));
    ref_add(&r, buf, ids, na);
    for (size_t i = 0; i < nq; i++) { /* queries near the surviving codes: near neighbours */
        memcpy(q + i * bytes, centres + (100 + i * 7 % (nc - 100)) * bytes, bytes);
        flip_bits(q + i * bytes, bits, l2h_rng_below(&rng, 3));
    }
    l2h_index_info a, b;
    CHECK_OK(l2h_index_describe(ix, &a));
    CHECK(a.n_tables > 0);
    CHECK(check_against_ref(ix, &r, q, nq, 5, 3, "mih after remove + add"));
    CHECK_OK(l2h_index_describe(ix, &b));
    CHECK_EQ_I(b.queries - a.queries, 2 * nq);
    CHECK_EQ_I(b.fallbacks - a.fallbacks, 0); /* the tables answered, all of them */
    CHECK(b.probes > a.probes);
    /* near the removed codes the nearest ids are far: exact either way */
    for (size_t i = 0; i < nq; i++) {
        memcpy(q + i * bytes, centres + (i % 100) * bytes, bytes);
        flip_bits(q + i * bytes, bits, l2h_rng_below(&rng, 2));
    }
    CHECK(check_against_ref(ix, &r, q, nq, 5, 3, "mih near removed codes"));
    l2h_index_free(ix);
    free(r.codes), free(r.ids), free(centres), free(buf), free(q), free(ids);
    l2h_mih_set_tuning(NULL);
}

/* ---- the cost model ----------------------------------------------------------------------------- */

/* Near-duplicate queries on clustered codes are answered by the tables; k = 100 on uniform
 * random codes (the 100th neighbour ~15 bits away) goes to the scan. Exact either way. (The
 * unit costs are calibrated for 1M codes, where a scan is worth thousands of lookups; on 30k
 * codes the budget is scaled up like a 1M-code index's.) */
static void test_cost_model(void)
{
    const l2h_mih_tuning t = {.budget_scale = 40};
    l2h_mih_set_tuning(&t);
    const size_t bits = 64, bytes = 8, n = 30000, nq = 50;
    ref r = {NULL, NULL, 0, 0, bytes, bits};
    uint8_t *codes = malloc(n * bytes), *q = malloc(nq * bytes), *centres = malloc(3000 * bytes);
    l2h_id *ids = malloc(n * sizeof *ids);
    for (size_t i = 0; i < n; i++) ids[i] = (l2h_id)i;
    for (int data = 0; data < 2; data++) {
        if (data == 0) {
            random_codes(centres, 300, bits); /* ~50 items per code family */
            clustered(codes, n, bits, centres, 300);
        } else {
            random_codes(codes, n, bits);
        }
        r.n = 0;
        ref_add(&r, codes, ids, n);
        l2h_index *ix = new_index(L2H_INDEX_MIH, bits);
        CHECK_OK(l2h_index_add(ix, codes, NULL, n));
        for (size_t i = 0; i < nq; i++) {
            memcpy(q + i * bytes, codes + l2h_rng_below(&rng, n) * bytes, bytes);
            flip_bits(q + i * bytes, bits, 1);
        }
        l2h_index_info a, b;
        CHECK_OK(l2h_index_describe(ix, &a));
        CHECK(check_against_ref(ix, &r, q, nq, data ? 100 : 10, 1, "cost model"));
        CHECK_OK(l2h_index_describe(ix, &b));
        if (data == 0) CHECK(b.fallbacks - a.fallbacks <= nq / 10); /* tables */
        else CHECK(b.fallbacks - a.fallbacks >= nq / 2);           /* k = 100: the scan */
        l2h_index_free(ix);
    }
    free(r.codes), free(r.ids), free(codes), free(q), free(centres), free(ids);
    l2h_mih_set_tuning(NULL);
}

/* ---- model fingerprints ----------------------------------------------------------------------- */

static void test_fingerprints(void)
{
    uint8_t fa[L2H_FINGERPRINT_BYTES], fb[L2H_FINGERPRINT_BYTES], got[L2H_FINGERPRINT_BYTES];
    for (int i = 0; i < L2H_FINGERPRINT_BYTES; i++) {
        fa[i] = (uint8_t)(i * 17 + 3);
        fb[i] = fa[i];
    }
    fb[5] ^= 0x40;
    char path[64];
    snprintf(path, sizeof path, "store_fp_%d.l2hi", (int)getpid());
    for (int kind = 0; kind < 2; kind++) {
        l2h_index *ix = new_index((l2h_index_kind)kind, 32);
        CHECK(!l2h_index_fingerprint(ix, got));
        CHECK_OK(l2h_index_check_fingerprint(ix, fb, "queries")); /* none recorded: accepted */
        CHECK_OK(l2h_index_set_fingerprint(ix, fa));
        CHECK_OK(l2h_index_set_fingerprint(ix, fa)); /* the same again: fine */
        CHECK_STATUS(l2h_index_set_fingerprint(ix, fb), L2H_ERR_ARG);
        CHECK(l2h_index_fingerprint(ix, got) && memcmp(got, fa, sizeof fa) == 0);
        CHECK_OK(l2h_index_check_fingerprint(ix, fa, "queries"));
        CHECK_STATUS(l2h_index_check_fingerprint(ix, fb, "queries"), L2H_ERR_ARG);
        char ha[33], hb[33];
        l2h_fingerprint_hex(fa, ha);
        l2h_fingerprint_hex(fb, hb);
        CHECK(strstr(l2h_last_error(), "queries come from model") != NULL);
        CHECK(strstr(l2h_last_error(), ha) != NULL && strstr(l2h_last_error(), hb) != NULL);
        uint8_t c[8] = {1, 2, 3, 4, 1, 2, 3, 4};
        CHECK_OK(l2h_index_add(ix, c, NULL, 2));
        CHECK_OK(l2h_index_save(ix, path));
        l2h_index *back = NULL;
        CHECK_OK(l2h_index_load(&back, path));
        CHECK(l2h_index_fingerprint(back, got) && memcmp(got, fa, sizeof fa) == 0);
        CHECK_STATUS(l2h_index_check_fingerprint(back, fb, "codes to add"), L2H_ERR_ARG);
        l2h_index_free(back);
        l2h_index_free(ix);
    }
    remove(path);
}

int main(void)
{
    l2h_rng_seed(&rng, test_seed());
    test_duplicates();
    test_mih_after_remove();
    test_cost_model();
    test_fingerprints();
    test_sequences(L2H_INDEX_FLAT, 64, 1);
    test_sequences(L2H_INDEX_MIH, 64, 1);
    test_sequences(L2H_INDEX_MIH, 64, 2);
    test_sequences(L2H_INDEX_MIH, 130, 2);
    test_sequences(L2H_INDEX_FLAT, 13, 2);
    test_sequences(L2H_INDEX_MIH, 20, 1);
    return check_report();
}
