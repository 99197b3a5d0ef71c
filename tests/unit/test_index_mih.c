/* test_index_mih.c -- multi-index hashing against the flat index (itself tested against brute
 * force): k-NN and radius results identical element for element on random, clustered and
 * duplicated codes, many (bits, n, k, r, m), k >= n, ties, ids out of order; the table path, the
 * tail path and the scan fallback all reached; candidates sublinear on near neighbours; removal
 * and bulk replacement by id for both kinds against a rebuilt reference; argument errors; file
 * round trip of the MIH kind (memory-mapped and from memory). */
#include "check.h"

#include "../../src/index/index_mih.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static l2h_rng rng;

static void random_codes(uint8_t *c, size_t n, size_t bits)
{
    const size_t bytes = l2h_code_bytes(bits);
    for (size_t i = 0; i < n * bytes; i++)
        c[i] = (uint8_t)l2h_rng_next(&rng);
    if (bits % 8)
        for (size_t i = 0; i < n; i++)
            c[i * bytes + bytes - 1] &= (uint8_t)((1u << (bits % 8)) - 1);
}

static void flip_bits(uint8_t *code, size_t bits, size_t nflip)
{
    for (size_t f = 0; f < nflip; f++) {
        const size_t b = (size_t)l2h_rng_below(&rng, bits);
        code[b / 8] ^= (uint8_t)(1u << (b % 8));
    }
}

/* mode 0: uniform; 1: clusters of near-duplicates (0..3 flips of a few centres); 2: only a few
 * distinct codes (exact duplicates, heavy ties). */
static void make_codes(uint8_t *c, size_t n, size_t bits, int mode)
{
    const size_t bytes = l2h_code_bytes(bits);
    random_codes(c, n, bits);
    if (mode == 0 || n == 0) return;
    const size_t centres = mode == 1 ? 1 + n / 50 : 3;
    for (size_t i = centres; i < n; i++) {
        memcpy(c + i * bytes, c + l2h_rng_below(&rng, centres) * bytes, bytes);
        if (mode == 1) flip_bits(c + i * bytes, bits, (size_t)l2h_rng_below(&rng, 4));
    }
}

static void make_queries(uint8_t *q, size_t nq, const uint8_t *codes, size_t n, size_t bits)
{
    const size_t bytes = l2h_code_bytes(bits);
    random_codes(q, nq, bits);
    for (size_t i = 0; i < nq && n > 0; i++)
        if (i % 4 != 3) { /* most queries: a database code with a few flips */
            memcpy(q + i * bytes, codes + l2h_rng_below(&rng, n) * bytes, bytes);
            flip_bits(q + i * bytes, bits, (size_t)l2h_rng_below(&rng, 5));
        }
}

/* k-NN and range results of a and b identical, element for element. */
static int same_results(const l2h_index *a, const l2h_index *b, const uint8_t *q, size_t nq,
                        size_t k, uint32_t radius, const char *what)
{
    int ok = 1;
    int32_t *da = malloc((nq * k + 1) * sizeof *da), *db = malloc((nq * k + 1) * sizeof *db);
    l2h_id *ia = malloc((nq * k + 1) * sizeof *ia), *ib = malloc((nq * k + 1) * sizeof *ib);
    if (l2h_index_search(a, q, nq, k, da, ia) != L2H_OK) ok = 0;
    if (l2h_index_search(b, q, nq, k, db, ib) != L2H_OK) ok = 0;
    for (size_t i = 0; ok && i < nq * k; i++)
        if (da[i] != db[i] || ia[i] != ib[i]) {
            fprintf(stderr, "%s: knn differs at q=%zu rank=%zu (k=%zu): (%d,%lld) vs (%d,%lld)\n",
                    what, i / k, i % k, k, da[i], (long long)ia[i], db[i], (long long)ib[i]);
            ok = 0;
        }
    l2h_range_result *ra = NULL, *rb = NULL;
    if (l2h_index_range_search(a, q, nq, radius, &ra) != L2H_OK) ok = 0;
    if (l2h_index_range_search(b, q, nq, radius, &rb) != L2H_OK) ok = 0;
    if (ok) {
        const size_t *la = l2h_range_result_lims(ra), *lb = l2h_range_result_lims(rb);
        for (size_t i = 0; ok && i <= nq; i++)
            if (la[i] != lb[i]) {
                fprintf(stderr, "%s: range r=%u lims[%zu] %zu vs %zu\n", what, radius, i, la[i],
                        lb[i]);
                ok = 0;
            }
        for (size_t i = 0; ok && i < la[nq]; i++)
            if (l2h_range_result_ids(ra)[i] != l2h_range_result_ids(rb)[i] ||
                l2h_range_result_dists(ra)[i] != l2h_range_result_dists(rb)[i]) {
                fprintf(stderr, "%s: range r=%u differs at %zu\n", what, radius, i);
                ok = 0;
            }
    }
    l2h_range_result_free(ra);
    l2h_range_result_free(rb);
    free(da), free(db), free(ia), free(ib);
    return ok;
}

static int path0_cases, path0_answered; /* run_case: clustered cases, tables used */

static l2h_index *make_index(l2h_index_kind kind, size_t bits, size_t m)
{
    l2h_index_params p = l2h_index_default_params(bits);
    p.kind = kind;
    p.n_tables = m;
    l2h_index *ix = NULL;
    CHECK_OK(l2h_index_create(&ix, &p));
    return ix;
}

/* One random configuration: MIH (added in pieces) vs flat. path: 0 = tables used even on tiny
 * data with a generous work budget, 1 = default tuning, 2 = budget so small every query falls back.
 */
static int run_case(size_t bits, size_t n, size_t nq, size_t k, size_t m, int data, int id_mode,
                    uint32_t radius, int path)
{
    const size_t bytes = l2h_code_bytes(bits);
    uint8_t *codes = malloc(n * bytes + 1), *q = malloc(nq * bytes + 1);
    l2h_id *ids = malloc((n + 1) * sizeof *ids);
    make_codes(codes, n, bits, data);
    make_queries(q, nq, codes, n, bits);
    for (size_t i = 0; i < n; i++)
        ids[i] = id_mode == 0 ? (l2h_id)i
                              : (l2h_id)l2h_rng_below(&rng, id_mode == 1 ? 4 * n + 1 : n / 3 + 1);
    l2h_mih_tuning t = {0};
    if (path == 0) t.budget_scale = 1e4; /* probing up to 5000 scans' worth */
    if (path == 2) t.budget_scale = 1e-9;
    if (path != 1) t.min_rows = 1;
    t.tail_min = 1 + (size_t)l2h_rng_below(&rng, 64); /* rebuilds and tails on small data */
    l2h_mih_set_tuning(&t);
    l2h_index *mih = make_index(L2H_INDEX_MIH, bits, m),
              *flat = make_index(L2H_INDEX_FLAT, bits, 0);
    int ok = mih && flat;
    for (size_t done = 0; ok && done < n;) {
        const size_t piece = 1 + (size_t)l2h_rng_below(&rng, n - done);
        if (l2h_index_add(mih, codes + done * bytes, id_mode ? ids + done : NULL, piece) !=
                L2H_OK ||
            l2h_index_add(flat, codes + done * bytes, id_mode ? ids + done : NULL, piece) != L2H_OK)
            ok = 0;
        done += piece;
    }
    char what[160];
    snprintf(what, sizeof what, "bits=%zu n=%zu nq=%zu k=%zu m=%zu data=%d ids=%d r=%u path=%d",
             bits, n, nq, k, m, data, id_mode, radius, path);
    if (ok) ok = same_results(mih, flat, q, nq, k, radius, what);
    l2h_index_info info;
    if (ok && l2h_index_describe(mih, &info) == L2H_OK && n > 0) {
        /* the intended path really ran */
        if (info.queries != 2 * nq) ok = 0;
        /* near-duplicate data: count the cases where the tables answered (checked overall) */
        if (path == 0 && k < n && data != 0) {
            path0_cases++;
            path0_answered += info.fallbacks < 2 * nq;
        }
        if (path == 0 && info.n_tables == 0) ok = 0;
        /* every query the scan's, but for k-NN queries whose own code holds >= k ids */
        if (path == 2 && info.fallbacks + info.exact != 2 * nq) ok = 0;
        if (!ok)
            fprintf(stderr, "%s: counters queries=%llu fallbacks=%llu tables=%zu\n", what,
                    (unsigned long long)info.queries, (unsigned long long)info.fallbacks,
                    info.n_tables);
    }
    if (!ok) fprintf(stderr, "case failed: %s\n", what);
    l2h_index_free(mih);
    l2h_index_free(flat);
    l2h_mih_set_tuning(NULL);
    free(codes), free(q), free(ids);
    return ok;
}

static void test_equal_to_flat(void)
{
    const size_t bitss[] = {8, 12, 16, 31, 32, 48, 64, 65, 100, 128, 200, 256};
    const size_t nbits = sizeof bitss / sizeof bitss[0];
    int fails = 0, cases = 0;
    for (int iter = 0; iter < 300; iter++) {
        const size_t bits = bitss[iter % nbits];
        const size_t n = (size_t)l2h_rng_below(&rng, iter % 5 == 0 ? 4000 : 600);
        const size_t nq = 1 + (size_t)l2h_rng_below(&rng, 12);
        size_t k = 1 + (size_t)l2h_rng_below(&rng, iter % 3 ? 12 : 80);
        if (iter % 11 == 0) k = n + 3;
        if (iter % 13 == 0) k = n;
        const size_t mlo = (bits + 63) / 64;
        size_t m = 0; /* automatic */
        if (iter % 3 == 1) m = mlo + (size_t)l2h_rng_below(&rng, bits < 12 ? bits - mlo + 1 : 12);
        if (iter % 17 == 5) m = mlo; /* longest substrings: sparse tables */
        uint32_t radius = (uint32_t)l2h_rng_below(&rng, iter % 4 == 0 ? bits + 3 : 10);
        const int data = iter % 3, id_mode = (iter / 3) % 3;
        const int path = iter % 10 == 9 ? 2 : (iter % 10 == 8 ? 1 : 0);
        l2h_set_threads(1 + iter % 2);
        if (!run_case(bits, n, nq, k, m, data, id_mode, radius, path)) fails++;
        cases++;
    }
    l2h_set_threads(0);
    CHECK_EQ_I(fails, 0);
    CHECK_EQ_I(cases, 300);
    /* many queries that all run out of budget: after 16 the rest skip the tables */
    CHECK(run_case(64, 500, 40, 5, 0, 1, 0, 3, 2));
    CHECK(run_case(128, 3000, 100, 1, 3, 0, 1, 2, 2));
    CHECK(path0_cases > 50);
    CHECK(path0_answered * 10 > path0_cases * 9); /* not a disguised scan */
}

/* Near-duplicate queries on 20k random 64-bit codes: MIH verifies a small fraction of the
 * codes (it is sublinear, not a disguised scan), and agrees with the flat index. */
static void test_candidates_sublinear(void)
{
    const size_t n = 20000, nq = 50, bits = 64;
    uint8_t *codes = malloc(n * 8), *q = malloc(nq * 8);
    make_codes(codes, n, bits, 0);
    for (size_t i = 0; i < nq; i++) {
        memcpy(q + i * 8, codes + l2h_rng_below(&rng, n) * 8, 8);
        flip_bits(q + i * 8, bits, 1 + i % 3);
    }
    /* the default budget is calibrated for 1M codes; on 20k it sends queries to the scan */
    const l2h_mih_tuning t = {.budget_scale = 50};
    l2h_mih_set_tuning(&t);
    l2h_index *mih = make_index(L2H_INDEX_MIH, bits, 0),
              *flat = make_index(L2H_INDEX_FLAT, bits, 0);
    CHECK_OK(l2h_index_add(mih, codes, NULL, n));
    CHECK_OK(l2h_index_add(flat, codes, NULL, n));
    CHECK(same_results(mih, flat, q, nq, 1, 3, "sublinear"));
    l2h_index_info info;
    CHECK_OK(l2h_index_describe(mih, &info));
    CHECK_EQ_I(info.n_tables, l2h_mih_auto_tables(64, n)); /* ceil(64 / log2 20000) = 5 */
    CHECK_EQ_I(info.n_tables, 5);
    CHECK_EQ_I(info.fallbacks, 0);
    CHECK(info.candidates < 2 * nq * n / 50);
    CHECK(info.probes > 0);
    CHECK(info.memory_bytes > n * 8 + n * (8 + 4) * 5);
    l2h_index_free(mih);
    l2h_index_free(flat);
    l2h_mih_set_tuning(NULL);
    free(codes), free(q);
}

/* ---- living data ---------------------------------------------------------------------------- */

typedef struct model {
    uint8_t *codes;
    l2h_id *ids;
    size_t n, cap, bytes;
} model;

static void model_add(model *md, const uint8_t *c, const l2h_id *ids, size_t n)
{
    if (md->n + n > md->cap) {
        md->cap = 2 * (md->n + n);
        md->codes = realloc(md->codes, md->cap * md->bytes);
        md->ids = realloc(md->ids, md->cap * sizeof *md->ids);
    }
    memcpy(md->codes + md->n * md->bytes, c, n * md->bytes);
    memcpy(md->ids + md->n, ids, n * sizeof *ids);
    md->n += n;
}

static l2h_index *model_flat(const model *md, size_t bits)
{
    l2h_index *f = make_index(L2H_INDEX_FLAT, bits, 0);
    CHECK_OK(l2h_index_add(f, md->codes, md->ids, md->n));
    return f;
}

static void test_living(l2h_index_kind kind, size_t bits)
{
    const size_t bytes = l2h_code_bytes(bits), nq = 6;
    l2h_mih_tuning t = {.min_rows = 1, .budget_scale = 50, .tail_min = 8};
    l2h_mih_set_tuning(&t);
    model md = {NULL, NULL, 0, 0, bytes};
    l2h_index *ix = make_index(kind, bits, 0);
    uint8_t *buf = malloc(400 * bytes), *q = malloc(nq * bytes);
    l2h_id *ids = malloc(400 * sizeof *ids);
    int fails = 0;
    for (int step = 0; step < 60; step++) {
        const int op = step < 3 ? 0 : (int)l2h_rng_below(&rng, 3);
        const size_t cnt = 1 + (size_t)l2h_rng_below(&rng, step % 7 == 0 ? 300 : 40);
        if (op == 0) { /* add with ids (some repeated) */
            make_codes(buf, cnt, bits, 1);
            for (size_t i = 0; i < cnt; i++)
                ids[i] = (l2h_id)l2h_rng_below(&rng, 2000);
            CHECK_OK(l2h_index_add(ix, buf, ids, cnt));
            model_add(&md, buf, ids, cnt);
        } else if (op == 1) { /* remove: present and absent ids */
            for (size_t i = 0; i < cnt; i++)
                ids[i] = md.n && i % 3 ? md.ids[l2h_rng_below(&rng, md.n)]
                                       : (l2h_id)l2h_rng_below(&rng, 2000);
            size_t removed = 0, want = 0, w = 0;
            for (size_t r = 0; r < md.n; r++) {
                int hit = 0;
                for (size_t i = 0; i < cnt && !hit; i++)
                    hit = md.ids[r] == ids[i];
                if (hit) {
                    want++;
                    continue;
                }
                memmove(md.codes + w * bytes, md.codes + r * bytes, bytes);
                md.ids[w++] = md.ids[r];
            }
            md.n = w;
            CHECK_OK(l2h_index_remove(ix, ids, cnt, &removed));
            CHECK_EQ_I(removed, want);
        } else if (md.n > 0) { /* replace distinct present ids */
            size_t m = 0;
            for (size_t i = 0; i < cnt; i++) {
                const l2h_id id = md.ids[l2h_rng_below(&rng, md.n)];
                int dup = 0;
                for (size_t j = 0; j < m && !dup; j++)
                    dup = ids[j] == id;
                if (!dup) ids[m++] = id;
            }
            make_codes(buf, m, bits, 0);
            for (size_t r = 0; r < md.n; r++)
                for (size_t j = 0; j < m; j++)
                    if (md.ids[r] == ids[j]) memcpy(md.codes + r * bytes, buf + j * bytes, bytes);
            CHECK_OK(l2h_index_replace(ix, ids, buf, m));
        }
        CHECK_EQ_I(l2h_index_size(ix), md.n);
        l2h_index *ref = model_flat(&md, bits);
        make_queries(q, nq, md.codes, md.n, bits);
        char what[64];
        snprintf(what, sizeof what, "living kind=%d bits=%zu step=%d", (int)kind, bits, step);
        if (!same_results(ix, ref, q, nq, 1 + (size_t)step % 20, (uint32_t)(step % 9), what))
            fails++;
        l2h_index_free(ref);
    }
    CHECK_EQ_I(fails, 0);

    /* errors leave the index as it was */
    l2h_index *ref = model_flat(&md, bits);
    const l2h_id neg = -4, absent = 5000;
    l2h_id two[2] = {md.ids[0], md.ids[0]};
    size_t removed = 99;
    CHECK_STATUS(l2h_index_remove(ix, &neg, 1, &removed), L2H_ERR_ARG);
    CHECK_EQ_I(removed, 0);
    CHECK_STATUS(l2h_index_remove(NULL, &neg, 1, NULL), L2H_ERR_ARG);
    CHECK_STATUS(l2h_index_remove(ix, NULL, 1, NULL), L2H_ERR_ARG);
    CHECK_OK(l2h_index_remove(ix, &absent, 1, &removed));
    CHECK_EQ_I(removed, 0);
    CHECK_OK(l2h_index_remove(ix, NULL, 0, NULL));
    random_codes(buf, 2, bits);
    CHECK_STATUS(l2h_index_replace(ix, &absent, buf, 1), L2H_ERR_ARG);
    CHECK_STATUS(l2h_index_replace(ix, &neg, buf, 1), L2H_ERR_ARG);
    CHECK_STATUS(l2h_index_replace(ix, two, buf, 2), L2H_ERR_ARG);
    CHECK_STATUS(l2h_index_replace(ix, two, NULL, 1), L2H_ERR_ARG);
    l2h_id mixed[2] = {md.ids[0], absent}; /* one valid id does not get applied either */
    CHECK_STATUS(l2h_index_replace(ix, mixed, buf, 2), L2H_ERR_ARG);
    make_queries(q, nq, md.codes, md.n, bits);
    CHECK(same_results(ix, ref, q, nq, 7, 4, "after errors"));
    /* remove everything, then search an empty index */
    CHECK_OK(l2h_index_remove(ix, md.ids, md.n, &removed));
    CHECK_EQ_I(removed, md.n);
    CHECK_EQ_I(l2h_index_size(ix), 0);
    int32_t d[3];
    l2h_id id[3];
    CHECK_OK(l2h_index_search(ix, q, 1, 3, d, id));
    CHECK(d[0] == -1 && id[2] == -1);
    l2h_index_free(ref);
    l2h_index_free(ix);
    free(md.codes), free(md.ids), free(buf), free(q), free(ids);
    l2h_mih_set_tuning(NULL);
}

static void test_params(void)
{
    l2h_index_params p = l2h_index_default_params(128);
    l2h_index *ix = NULL;
    p.kind = L2H_INDEX_MIH;
    p.n_tables = 1; /* a 128-bit substring is too long */
    CHECK_STATUS(l2h_index_create(&ix, &p), L2H_ERR_ARG);
    CHECK(ix == NULL);
    p.n_tables = 129;
    CHECK_STATUS(l2h_index_create(&ix, &p), L2H_ERR_ARG);
    p.n_tables = 2;
    CHECK_OK(l2h_index_create(&ix, &p));
    l2h_index_free(ix);
    CHECK_EQ_I(l2h_mih_auto_tables(64, 1000000), 4); /* ceil(64 / 19.93) */
    CHECK_EQ_I(l2h_mih_auto_tables(256, 1000000), 13);
    CHECK_EQ_I(l2h_mih_auto_tables(64, 1), 64);
    CHECK_EQ_I(l2h_mih_auto_tables(1024, 2), 1024);
    CHECK_EQ_I(l2h_mih_auto_tables(1024, 1 << 20), 52);
    l2h_index_info info;
    CHECK_STATUS(l2h_index_describe(NULL, &info), L2H_ERR_ARG);
}

static void test_file_round_trip(void)
{
    const size_t bits = 100, n = 5000, nq = 20, bytes = l2h_code_bytes(bits);
    uint8_t *codes = malloc(n * bytes), *q = malloc(nq * bytes);
    l2h_id *ids = malloc(n * sizeof *ids);
    make_codes(codes, n, bits, 1);
    make_queries(q, nq, codes, n, bits);
    for (size_t i = 0; i < n; i++)
        ids[i] = (l2h_id)(7 * i + 3);
    l2h_index *ix = make_index(L2H_INDEX_MIH, bits, 6);
    CHECK_OK(l2h_index_add(ix, codes, ids, n));
    char path[64];
    snprintf(path, sizeof path, "mih_rt_%d.l2hi", (int)getpid());
    CHECK_OK(l2h_index_save(ix, path));
    l2h_index *back = NULL;
    CHECK_OK(l2h_index_load(&back, path)); /* memory-mapped */
    l2h_index_info a, b;
    CHECK_OK(l2h_index_describe(ix, &a));
    CHECK_OK(l2h_index_describe(back, &b));
    CHECK_EQ_I(b.kind, L2H_INDEX_MIH);
    CHECK_EQ_I(b.n_tables, 6);
    CHECK_EQ_I(b.size, n);
    CHECK(same_results(ix, back, q, nq, 9, 6, "loaded"));
    /* the same bytes from memory */
    FILE *f = fopen(path, "rb");
    uint8_t *file = malloc(1 << 20);
    const size_t len = f ? fread(file, 1, 1 << 20, f) : 0;
    if (f) fclose(f);
    l2h_index *mem = NULL, *bad = NULL;
    CHECK_OK(l2h_index_load_mem(&mem, file, len, "mem"));
    CHECK(same_results(ix, mem, q, nq, 9, 6, "loaded from memory"));
    /* an n_tables the constructor refuses (7 substrings of 100 bits is fine, 101 is not) */
    uint8_t *odd = malloc(len);
    memcpy(odd, file, len);
    odd[36] = 101;
    const uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), odd, (uInt)(len - 4));
    for (int i = 0; i < 4; i++) odd[len - 4 + (size_t)i] = (uint8_t)(crc >> (8 * i));
    CHECK_STATUS(l2h_index_load_mem(&bad, odd, len, "odd.l2hi"), L2H_ERR_FORMAT);
    CHECK(bad == NULL);
    CHECK(strncmp(l2h_last_error(), "odd.l2hi: ", 10) == 0);
    free(odd);
    file[len / 2] ^= 1; /* corruption still caught through the mapping */
    f = fopen(path, "wb");
    if (f) {
        fwrite(file, 1, len, f);
        fclose(f);
    }
    CHECK_STATUS(l2h_index_load(&bad, path), L2H_ERR_FORMAT);
    CHECK(bad == NULL);
    CHECK_STATUS(l2h_index_load(&bad, "no_such_dir/x.l2hi"), L2H_ERR_IO);
    remove(path);
    l2h_index_free(ix);
    l2h_index_free(back);
    l2h_index_free(mem);
    free(codes), free(q), free(ids), free(file);
}

/* With L2H_FAULT_INJECTION, failing each allocation in turn: every call returns OK or
 * L2H_ERR_NOMEM, a failed create leaves no handle, a failed add leaves the size as it was, and
 * (under ASan) nothing leaks. In other builds the first attempt succeeds. */
static void test_nomem(void)
{
    const size_t bits = 64, n = 300, nq = 4;
    uint8_t *codes = malloc(n * 8), *q = malloc(nq * 8);
    make_codes(codes, n, bits, 1);
    make_queries(q, nq, codes, n, bits);
    const l2h_mih_tuning t = {.min_rows = 1, .budget_scale = 1e4, .tail_min = 8};
    l2h_mih_set_tuning(&t);
    int bad = 0;
    long k = 0;
    for (; k < 20000; k++) {
        l2h_index_params p = l2h_index_default_params(bits);
        p.kind = L2H_INDEX_MIH;
        l2h_index *ix = NULL;
        int32_t d[4 * 5];
        l2h_id id[4 * 5];
        const l2h_id rm[3] = {1, 2, 3}, rp[2] = {10, 11};
        l2h_range_result *rr = NULL;
        size_t removed = 0;
        l2h_fault_inject_after(k);
        l2h_status st[7];
        st[0] = l2h_index_create(&ix, &p);
        const int created = st[0] == L2H_OK;
        st[1] = created ? l2h_index_add(ix, codes, NULL, n / 2) : L2H_OK;
        const size_t half = created ? l2h_index_size(ix) : 0;
        st[2] = created ? l2h_index_add(ix, codes + n / 2 * 8, NULL, n - n / 2) : L2H_OK;
        const size_t full = created ? l2h_index_size(ix) : 0;
        st[3] = created ? l2h_index_search(ix, q, nq, 5, d, id) : L2H_OK;
        st[4] = created ? l2h_index_range_search(ix, q, nq, 4, &rr) : L2H_OK;
        st[5] = created ? l2h_index_remove(ix, rm, 3, &removed) : L2H_OK;
        st[6] = created ? l2h_index_replace(ix, rp, codes, 2) : L2H_OK;
        l2h_fault_inject_after(-1);
        int all_ok = 1;
        for (int i = 0; i < 7; i++) {
            if (st[i] != L2H_OK && st[i] != L2H_ERR_NOMEM) bad++;
            all_ok &= st[i] == L2H_OK;
        }
        if (!created && ix != NULL) bad++;
        if (created && half != (st[1] == L2H_OK ? n / 2 : 0)) bad++;
        if (created && st[2] != L2H_OK && full != half) bad++;
        if (st[4] != L2H_OK && rr != NULL) bad++;
        l2h_range_result_free(rr);
        l2h_index_free(ix);
        if (all_ok) break;
    }
    CHECK_EQ_I(bad, 0);
    CHECK(k < 20000);
    l2h_mih_set_tuning(NULL);
    free(codes), free(q);
}

int main(void)
{
    l2h_rng_seed(&rng, test_seed());
    test_params();
    test_equal_to_flat();
    test_candidates_sublinear();
    test_living(L2H_INDEX_FLAT, 64);
    test_living(L2H_INDEX_MIH, 64);
    test_living(L2H_INDEX_MIH, 130);
    test_living(L2H_INDEX_FLAT, 13);
    test_file_round_trip();
    test_nomem();
    return check_report();
}
