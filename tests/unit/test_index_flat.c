/* test_index_flat.c -- the flat index against brute force: k-NN (ties, duplicate codes and ids,
 * ids not in insertion order, k > n, 1 and 2 threads, every kernel, sharded and batched scan
 * paths), radius search, incremental adds, and the file format (round trip, every corrupted
 * byte and every truncation refused, newer version refused). */
#include "check.h"

#include "../../src/index/index_internal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static l2h_rng rng;

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

/* All (d, id) of one query, sorted by (d, id). */
static hit *ref_all(const uint8_t *codes, const l2h_id *ids, size_t n, size_t bits,
                    const uint8_t *q)
{
    const size_t bytes = l2h_code_bytes(bits);
    hit *h = malloc((n + 1) * sizeof *h);
    for (size_t i = 0; i < n; i++) {
        h[i].d = ref_dist(q, codes + i * bytes, bits);
        h[i].id = ids ? ids[i] : (l2h_id)i;
    }
    qsort(h, n, sizeof *h, cmp_hit);
    return h;
}

static void random_codes(uint8_t *c, size_t n, size_t bits, int pool)
{
    const size_t bytes = l2h_code_bytes(bits);
    for (size_t i = 0; i < n * bytes; i++) c[i] = (uint8_t)l2h_rng_next(&rng);
    if (pool > 0) /* only `pool` distinct codes: many exact duplicates and ties */
        for (size_t i = 0; i < n; i++)
            memmove(c + i * bytes, c + (l2h_rng_below(&rng, (uint64_t)pool) % n) * bytes, bytes);
    if (bits % 8)
        for (size_t i = 0; i < n; i++) c[i * bytes + bytes - 1] &= (uint8_t)((1u << (bits % 8)) - 1);
}

static void make_ids(l2h_id *ids, size_t n, int mode)
{
    for (size_t i = 0; i < n; i++) ids[i] = (l2h_id)i;
    if (mode == 1) /* a permutation: ids not in insertion order */
        for (size_t i = n; i > 1; i--) {
            const size_t j = (size_t)l2h_rng_below(&rng, i);
            const l2h_id t = ids[i - 1];
            ids[i - 1] = ids[j];
            ids[j] = t;
        }
    if (mode == 2) /* large, duplicated ids */
        for (size_t i = 0; i < n; i++)
            ids[i] = INT64_MAX - (l2h_id)l2h_rng_below(&rng, n / 2 + 1);
    if (mode == 3) /* non-decreasing with repeats: the scan meets ids in order */
        for (size_t i = 1; i < n; i++) ids[i] = ids[i - 1] + (l2h_id)l2h_rng_below(&rng, 3);
}

/* Builds an index (added in random pieces), runs k-NN and range, compares with brute force. */
static int run_case(size_t bits, size_t n, size_t nq, size_t k, int id_mode, int pool,
                    uint32_t radius)
{
    const size_t bytes = l2h_code_bytes(bits);
    uint8_t *codes = malloc(n * bytes + 1), *q = malloc(nq * bytes + 1);
    l2h_id *ids = malloc((n + 1) * sizeof *ids);
    random_codes(codes, n, bits, pool);
    random_codes(q, nq, bits, 0);
    for (size_t i = 0; i < nq && n > 0; i += 2) /* half the queries are database codes */
        memcpy(q + i * bytes, codes + l2h_rng_below(&rng, n) * bytes, bytes);
    make_ids(ids, n, id_mode);

    l2h_index_params p = l2h_index_default_params(bits);
    l2h_index *ix = NULL;
    int ok = 1;
    if (l2h_index_create(&ix, &p) != L2H_OK) return 0;
    for (size_t done = 0; done < n;) {
        const size_t m = 1 + (size_t)l2h_rng_below(&rng, n - done);
        if (l2h_index_add(ix, codes + done * bytes, id_mode ? ids + done : NULL, m) != L2H_OK)
            ok = 0;
        done += m;
    }
    if (l2h_index_size(ix) != n) ok = 0;

    int32_t *d = malloc((nq * k + 1) * sizeof *d);
    l2h_id *id = malloc((nq * k + 1) * sizeof *id);
    l2h_range_result *rr = NULL;
    if (l2h_index_search(ix, q, nq, k, d, id) != L2H_OK) ok = 0;
    if (l2h_index_range_search(ix, q, nq, radius, &rr) != L2H_OK) ok = 0;
    for (size_t i = 0; ok && i < nq; i++) {
        hit *h = ref_all(codes, id_mode ? ids : NULL, n, bits, q + i * bytes);
        for (size_t j = 0; j < k; j++) {
            const int32_t wd = j < n ? h[j].d : -1;
            const l2h_id wi = j < n ? h[j].id : -1;
            if (d[i * k + j] != wd || id[i * k + j] != wi) {
                fprintf(stderr, "knn mismatch bits=%zu n=%zu k=%zu q=%zu rank=%zu: got (%d,%lld) "
                        "want (%d,%lld)\n", bits, n, k, i, j, d[i * k + j],
                        (long long)id[i * k + j], wd, (long long)wi);
                ok = 0;
                break;
            }
        }
        /* range: every hit with d <= radius, in (d, id) order */
        const size_t *lims = l2h_range_result_lims(rr);
        size_t want = 0;
        while (want < n && (uint32_t)h[want].d <= radius) want++;
        if (lims[i + 1] - lims[i] != want) {
            fprintf(stderr, "range count bits=%zu n=%zu r=%u q=%zu: %zu vs %zu\n", bits, n, radius,
                    i, lims[i + 1] - lims[i], want);
            ok = 0;
        } else {
            for (size_t j = 0; j < want; j++)
                if (l2h_range_result_dists(rr)[lims[i] + j] != h[j].d ||
                    l2h_range_result_ids(rr)[lims[i] + j] != h[j].id)
                    ok = 0;
        }
        free(h);
    }
    if (rr && l2h_range_result_nq(rr) != nq) ok = 0;
    l2h_range_result_free(rr);
    l2h_index_free(ix);
    free(codes), free(q), free(ids), free(d), free(id);
    return ok;
}

static void test_random_vs_bruteforce(void)
{
    const size_t bitss[] = {1, 3, 8, 13, 24, 63, 64, 65, 100, 128, 192, 256, 300, 512, 1024};
    const size_t nb = sizeof bitss / sizeof bitss[0];
    /* small blocks, small batches and small shards reach the blocked, batched and sharded
     * paths on small data */
    const l2h_scan_tuning small = {.block_bytes = 512, .query_batch = 3, .min_shard_rows = 40};
    int fails = 0, cases = 0;
    for (int iter = 0; iter < 240; iter++) {
        const size_t bits = bitss[iter % nb];
        const int threads = 1 + (iter / nb) % 2;
        const int tuned = (iter / (2 * nb)) % 2;
        const size_t n = (size_t)l2h_rng_below(&rng, iter % 3 == 0 ? 3000 : 300);
        const size_t nq = 1 + (size_t)l2h_rng_below(&rng, iter % 4 == 0 ? 40 : 6);
        size_t k = 1 + (size_t)l2h_rng_below(&rng, 30);
        if (iter % 5 == 0) k = n + 3; /* k larger than the index */
        if (iter % 7 == 0) k = 100;
        const int id_mode = iter % 4;
        const int pool = iter % 4 == 1 ? 5 : 0; /* duplicates */
        uint32_t radius = (uint32_t)l2h_rng_below(&rng, bits + 1);
        if (iter % 6 == 0) radius = (uint32_t)bits + 7; /* everything */
        if (iter % 6 == 1) radius = 0;
        l2h_set_threads(threads);
        l2h_scan_set_tuning(tuned ? &small : NULL);
        /* every supported kernel, in turn */
        const l2h_hamming_kernels *kt = l2h_hamming_kernel_at(iter % l2h_hamming_kernel_count());
        if (!kt->supported()) kt = l2h_hamming_kernel_at(0);
        CHECK_OK(l2h_hamming_set_kernel(kt->name));
        const int ok = run_case(bits, n, nq, k, id_mode, pool, radius);
        if (!ok) {
            fprintf(stderr, "case failed: bits=%zu n=%zu nq=%zu k=%zu ids=%d pool=%d r=%u "
                            "threads=%d tuned=%d kernel=%s\n",
                    bits, n, nq, k, id_mode, pool, radius, threads, tuned, kt->name);
            fails++;
        }
        cases++;
    }
    CHECK_EQ_I(fails, 0);
    CHECK(cases == 240);
    l2h_scan_set_tuning(NULL);
    CHECK_OK(l2h_hamming_set_kernel(NULL));
}

/* Larger case where the default (untuned) sharded path runs: 1 query, 2 threads, n >= 64 Ki. */
static void test_default_sharding(void)
{
    l2h_set_threads(2);
    CHECK(run_case(64, 70000, 1, 50, 1, 0, 20));
    CHECK(run_case(256, 66000, 3, 10, 0, 200, 100));
    l2h_set_threads(1);
    CHECK(run_case(64, 70000, 2, 50, 1, 0, 20));
    l2h_set_threads(0);
}

/* Heavy ties: every code equal (or one of two), ids shuffled, so the top-k keeps cutting ties
 * at its threshold by id (the quickselect path) many times per query. */
static void test_ties(void)
{
    for (int threads = 1; threads <= 2; threads++) {
        l2h_set_threads(threads);
        CHECK(run_case(64, 5000, 3, 100, 1, 1, 0));
        CHECK(run_case(64, 5000, 3, 37, 2, 2, 0));
        CHECK(run_case(20, 3000, 2, 1, 1, 1, 0));
        CHECK(run_case(8, 4000, 4, 250, 1, 3, 1));
        CHECK(run_case(64, 5000, 3, 100, 3, 1, 0));
        CHECK(run_case(16, 5000, 3, 100, 3, 0, 0));
        CHECK(run_case(16, 5000, 3, 100, 0, 2, 0));
    }
    l2h_set_threads(0);
}

static void test_api_edges(void)
{
    l2h_index *ix = NULL;
    l2h_index_params p = l2h_index_default_params(64);
    CHECK_EQ_I(p.kind, L2H_INDEX_FLAT);
    p.kind = L2H_INDEX_MIH; /* available since multi-index hashing (test_index_mih.c) */
    CHECK_OK(l2h_index_create(&ix, &p));
    l2h_index_free(ix);
    ix = NULL;
    p.kind = (l2h_index_kind)7;
    CHECK_STATUS(l2h_index_create(&ix, &p), L2H_ERR_ARG);
    CHECK(ix == NULL);
    p = l2h_index_default_params(0);
    CHECK_STATUS(l2h_index_create(&ix, &p), L2H_ERR_ARG);
    p = l2h_index_default_params(L2H_MAX_BITS + 1);
    CHECK_STATUS(l2h_index_create(&ix, &p), L2H_ERR_ARG);
    p = l2h_index_default_params(12);
    CHECK_OK(l2h_index_create(&ix, &p));
    CHECK_EQ_I(l2h_index_bits(ix), 12);
    CHECK_EQ_I(l2h_index_size(ix), 0);

    /* empty index: every result is padding */
    uint8_t q[4] = {0xff, 0x0f, 0x00, 0x00};
    int32_t d[6];
    l2h_id id[6];
    CHECK_OK(l2h_index_search(ix, q, 2, 3, d, id));
    for (int i = 0; i < 6; i++) CHECK(d[i] == -1 && id[i] == -1);
    CHECK_OK(l2h_index_search(ix, q, 2, 0, NULL, NULL)); /* k = 0: nothing to do */

    /* bits beyond the code length are ignored, in the index and in queries */
    uint8_t c[4] = {0x01, 0xf0, 0x03, 0x00}; /* code 0 = bit 0 (+ junk above bit 11), code 1 =
                                                 bits 0 and 1 */
    const l2h_id neg = -5;
    CHECK_STATUS(l2h_index_add(ix, c, &neg, 1), L2H_ERR_ARG);
    CHECK_EQ_I(l2h_index_size(ix), 0);
    CHECK_STATUS(l2h_index_add(ix, NULL, NULL, 1), L2H_ERR_ARG);
    CHECK_OK(l2h_index_add(ix, c, NULL, 2));
    const uint8_t q2[2] = {0x01, 0x00};
    CHECK_OK(l2h_index_search(ix, q2, 1, 3, d, id));
    CHECK_EQ_I(d[0], 0);
    CHECK_EQ_I(id[0], 0);
    CHECK_EQ_I(d[1], 1);
    CHECK_EQ_I(id[1], 1);
    CHECK_EQ_I(d[2], -1);
    CHECK_STATUS(l2h_index_search(NULL, q2, 1, 1, d, id), L2H_ERR_ARG);
    CHECK_STATUS(l2h_index_search(ix, NULL, 1, 1, d, id), L2H_ERR_ARG);

    l2h_range_result *r = NULL;
    CHECK_OK(l2h_index_range_search(ix, q2, 1, 0, &r));
    CHECK_EQ_I(l2h_range_result_lims(r)[1], 1);
    l2h_range_result_free(r);
    CHECK_OK(l2h_index_range_search(ix, q2, 0, 3, &r));
    CHECK_EQ_I(l2h_range_result_nq(r), 0);
    CHECK_EQ_I(l2h_range_result_lims(r)[0], 0);
    l2h_range_result_free(r);
    CHECK_STATUS(l2h_index_range_search(ix, q2, 1, 3, NULL), L2H_ERR_ARG);
    l2h_index_free(ix);
    l2h_index_free(NULL);
    l2h_range_result_free(NULL);
}

/* ---- file format ------------------------------------------------------------------------ */

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(*len + 1);
    if (fread(b, 1, *len, f) != *len) *len = 0;
    fclose(f);
    return b;
}

static int same_results(const l2h_index *a, const l2h_index *b, const uint8_t *q, size_t nq,
                        size_t k)
{
    int32_t *d1 = malloc(nq * k * 4), *d2 = malloc(nq * k * 4);
    l2h_id *i1 = malloc(nq * k * 8), *i2 = malloc(nq * k * 8);
    int ok = l2h_index_search(a, q, nq, k, d1, i1) == L2H_OK &&
             l2h_index_search(b, q, nq, k, d2, i2) == L2H_OK && memcmp(d1, d2, nq * k * 4) == 0 &&
             memcmp(i1, i2, nq * k * 8) == 0;
    free(d1), free(d2), free(i1), free(i2);
    return ok;
}

static void fix_crc(uint8_t *b, size_t len)
{
    const uint32_t c = (uint32_t)crc32(0L, b, (uInt)(len - 4));
    for (int i = 0; i < 4; i++) b[len - 4 + i] = (uint8_t)(c >> (8 * i));
}

/* A version-1 file (rows of id + code, as written before distinct codes were stored once;
 * ids omitted when sequential) loads, without a fingerprint, and answers like the index it
 * was made from; saving it again writes version 2. */
static void write_v1(uint8_t *b, size_t *len, size_t bits, const uint8_t *codes,
                     const l2h_id *ids, size_t n)
{
    const size_t bytes = l2h_code_bytes(bits);
    memset(b, 0, 64);
    memcpy(b, "L2HINDEX", 8);
    const uint32_t h32[4] = {1, 64, 0, (uint32_t)bits};
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) b[8 + 4 * i + j] = (uint8_t)(h32[i] >> (8 * j));
    for (int j = 0; j < 8; j++) b[24 + j] = (uint8_t)((uint64_t)n >> (8 * j));
    b[32] = ids ? 0 : 1;
    size_t o = 64;
    if (ids)
        for (size_t i = 0; i < n; i++, o += 8)
            for (int j = 0; j < 8; j++) b[o + (size_t)j] = (uint8_t)((uint64_t)ids[i] >> (8 * j));
    memcpy(b + o, codes, n * bytes);
    o += n * bytes;
    *len = o + 4;
    fix_crc(b, *len);
}

static void test_v1_files(const char *path)
{
    const size_t bits = 20, n = 300, bytes = l2h_code_bytes(bits), nq = 6;
    uint8_t *codes = malloc(n * bytes), *q = malloc(nq * bytes), *file = malloc(64 + n * 16 + 4);
    random_codes(codes, n, bits, 40); /* many repeats */
    random_codes(q, nq, bits, 0);
    l2h_id ids[300];
    make_ids(ids, n, 2);
    for (int with_ids = 0; with_ids < 2; with_ids++) {
        size_t len = 0;
        write_v1(file, &len, bits, codes, with_ids ? ids : NULL, n);
        l2h_index *v1 = NULL, *ref = NULL, *again = NULL;
        CHECK_OK(l2h_index_load_mem(&v1, file, len, "v1.l2hi"));
        l2h_index_params p = l2h_index_default_params(bits);
        CHECK_OK(l2h_index_create(&ref, &p));
        CHECK_OK(l2h_index_add(ref, codes, with_ids ? ids : NULL, n));
        CHECK_EQ_I(l2h_index_size(v1), n);
        CHECK(!l2h_index_fingerprint(v1, NULL));
        CHECK(same_results(v1, ref, q, nq, 50));
        CHECK_OK(l2h_index_save(v1, path));
        CHECK_OK(l2h_index_load(&again, path));
        CHECK(same_results(again, ref, q, nq, 50));
        size_t l2 = 0;
        uint8_t *f2 = slurp(path, &l2);
        CHECK(f2 && l2 > 8 && f2[8] == 2);
        free(f2);
        /* v1 readers never saw fingerprint flags: flag bit 1 in a v1 file is refused */
        file[32] |= 2;
        fix_crc(file, len);
        l2h_index *bad = NULL;
        CHECK_STATUS(l2h_index_load_mem(&bad, file, len, "v1flag.l2hi"), L2H_ERR_FORMAT);
        l2h_index_free(v1);
        l2h_index_free(ref);
        l2h_index_free(again);
    }
    free(codes), free(q), free(file);
}

static void test_file_format(void)
{
    char path[256];
    snprintf(path, sizeof path, "test_index_flat_%d.l2hi", (int)getpid());
    const size_t bitss[2] = {13, 64};
    for (int v = 0; v < 2; v++) {
        const size_t bits = bitss[v], n = 37, bytes = l2h_code_bytes(bits), nq = 5;
        uint8_t *codes = malloc(n * bytes), *q = malloc(nq * bytes);
        random_codes(codes, n, bits, 0);
        random_codes(q, nq, bits, 0);
        l2h_id ids[37];
        make_ids(ids, n, 1);
        l2h_index_params p = l2h_index_default_params(bits);
        l2h_index *ix = NULL, *back = NULL;
        CHECK_OK(l2h_index_create(&ix, &p));
        CHECK_OK(l2h_index_add(ix, codes, v ? ids : NULL, n)); /* sequential, then explicit */
        CHECK_OK(l2h_index_save(ix, path));
        CHECK_OK(l2h_index_load(&back, path));
        CHECK_EQ_I(l2h_index_bits(back), bits);
        CHECK_EQ_I(l2h_index_size(back), n);
        CHECK(same_results(ix, back, q, nq, 10));
        l2h_index_free(back);

        size_t len = 0;
        uint8_t *file = slurp(path, &len);
        /* version 2: counts per distinct code, ids, distinct codes (random codes: n distinct) */
        l2h_index_info inf;
        CHECK_OK(l2h_index_describe(ix, &inf));
        const size_t nd = inf.distinct;
        CHECK_EQ_I(len, 64 + 4 * nd + 8 * n + nd * bytes + 4);
        CHECK(memcmp(file, "L2HINDEX", 8) == 0);
        CHECK_EQ_I(file[8], 2);
        /* loading from memory gives the same index */
        CHECK_OK(l2h_index_load_mem(&back, file, len, "mem"));
        CHECK(same_results(ix, back, q, nq, 40));
        l2h_index_free(back);

        /* every single corrupted byte is refused */
        int refused = 0, checksum_msgs = 0;
        for (size_t i = 0; i < len; i++) {
            uint8_t *c = malloc(len);
            memcpy(c, file, len);
            c[i] ^= (uint8_t)(1u << (i % 8));
            back = NULL;
            const l2h_status st = l2h_index_load_mem(&back, c, len, "corrupt.l2hi");
            if (st != L2H_OK && back == NULL) refused++;
            if (st == L2H_ERR_FORMAT && strstr(l2h_last_error(), "checksum mismatch")) checksum_msgs++;
            if (st != L2H_OK && strncmp(l2h_last_error(), "corrupt.l2hi: ", 14) != 0) refused--;
            l2h_index_free(back);
            free(c);
        }
        CHECK_EQ_I(refused, len);
        CHECK(checksum_msgs >= (int)(n * bytes)); /* payload flips are caught by the CRC */

        /* every truncation is refused, and so is trailing data */
        int trunc = 0;
        for (size_t l = 0; l < len; l++) {
            back = NULL;
            if (l2h_index_load_mem(&back, file, l, "t.l2hi") == L2H_ERR_FORMAT && !back) trunc++;
            l2h_index_free(back);
        }
        CHECK_EQ_I(trunc, len);
        uint8_t *longer = calloc(len + 3, 1);
        memcpy(longer, file, len);
        CHECK_STATUS(l2h_index_load_mem(&back, longer, len + 3, "long.l2hi"), L2H_ERR_FORMAT);
        free(longer);

        /* a newer format version is L2H_ERR_VERSION even with a valid checksum */
        uint8_t *newer = malloc(len);
        memcpy(newer, file, len);
        newer[8] = 3;
        fix_crc(newer, len);
        CHECK_STATUS(l2h_index_load_mem(&back, newer, len, "new.l2hi"), L2H_ERR_VERSION);
        CHECK(strstr(l2h_last_error(), "new.l2hi: format version 3") != NULL);
        /* valid checksum but set padding bits / unknown flags / negative ids: refused */
        memcpy(newer, file, len);
        newer[32] |= 4;
        fix_crc(newer, len);
        CHECK_STATUS(l2h_index_load_mem(&back, newer, len, "flags.l2hi"), L2H_ERR_FORMAT);
        if (bits % 8) {
            memcpy(newer, file, len);
            newer[len - 5] |= 0x80; /* high, unused bit of the last code */
            fix_crc(newer, len);
            CHECK_STATUS(l2h_index_load_mem(&back, newer, len, "pad.l2hi"), L2H_ERR_FORMAT);
        }
        memcpy(newer, file, len);
        newer[64 + 4 * nd + 7] |= 0x80; /* id 0 negative */
        fix_crc(newer, len);
        CHECK_STATUS(l2h_index_load_mem(&back, newer, len, "neg.l2hi"), L2H_ERR_FORMAT);
        memcpy(newer, file, len);
        newer[64] = 0; /* a code with no id: the counts no longer sum to n */
        newer[65] = 0;
        fix_crc(newer, len);
        CHECK_STATUS(l2h_index_load_mem(&back, newer, len, "count.l2hi"), L2H_ERR_FORMAT);
        memcpy(newer, file, len);
        newer[48] = 1; /* a fingerprint byte without the fingerprint flag */
        fix_crc(newer, len);
        CHECK_STATUS(l2h_index_load_mem(&back, newer, len, "fp.l2hi"), L2H_ERR_FORMAT);
        memcpy(newer, file, len);
        newer[16] = 1; /* the same data as an MIH index: loads, answers the same */
        fix_crc(newer, len);
        CHECK_OK(l2h_index_load_mem(&back, newer, len, "mih.l2hi"));
        if (back) CHECK(same_results(ix, back, q, nq, 7));
        l2h_index_free(back);
        back = NULL;
        free(newer);
        free(file);
        l2h_index_free(ix);
        free(codes), free(q);
    }
    test_v1_files(path);
    l2h_index *none = NULL;
    CHECK_STATUS(l2h_index_load(&none, "/nonexistent/dir/x.l2hi"), L2H_ERR_IO);
    CHECK_STATUS(l2h_index_load_mem(&none, "", 0, "empty"), L2H_ERR_FORMAT);
    CHECK_STATUS(l2h_index_load_mem(&none, "L2HINDEY", 8, "magic"), L2H_ERR_FORMAT);
    CHECK(strstr(l2h_last_error(), "bad magic") != NULL);
    /* an empty index round-trips too */
    l2h_index_params p = l2h_index_default_params(200);
    l2h_index *ix = NULL;
    CHECK_OK(l2h_index_create(&ix, &p));
    CHECK_OK(l2h_index_save(ix, path));
    l2h_index_free(ix);
    CHECK_OK(l2h_index_load(&ix, path));
    CHECK_EQ_I(l2h_index_size(ix), 0);
    CHECK_EQ_I(l2h_index_bits(ix), 200);
    l2h_index_free(ix);
    remove(path);
}

int main(void)
{
    l2h_rng_seed(&rng, test_seed());
    test_api_edges();
    test_random_vs_bruteforce();
    test_ties();
    test_default_sharding();
    test_file_format();
    return check_report();
}
