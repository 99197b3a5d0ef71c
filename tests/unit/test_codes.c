/* test_codes.c -- packing, padding and every Hamming kernel this CPU can run, against a
 * bit-by-bit oracle on every code length 1..1024 and on code counts that are and are not
 * multiples of the kernels' batch widths. */
#include "check.h"

#include "../../src/codes/hamming_internal.h"

#include <stdlib.h>
#include <string.h>

static l2h_rng rng;

static uint32_t oracle(const uint8_t *a, const uint8_t *b, size_t bits)
{
    uint32_t d = 0;
    for (size_t j = 0; j < bits; j++) d += ((a[j / 8] ^ b[j / 8]) >> (j % 8)) & 1u;
    return d;
}

static void random_codes(uint8_t *c, size_t n, size_t bits, int dirty_tail)
{
    const size_t bytes = l2h_code_bytes(bits);
    for (size_t i = 0; i < n * bytes; i++) c[i] = (uint8_t)l2h_rng_next(&rng);
    if (!dirty_tail && bits % 8)
        for (size_t i = 0; i < n; i++) c[i * bytes + bytes - 1] &= (uint8_t)((1u << (bits % 8)) - 1);
}

static void test_sizes(void)
{
    CHECK_EQ_I(l2h_code_bytes(1), 1);
    CHECK_EQ_I(l2h_code_bytes(8), 1);
    CHECK_EQ_I(l2h_code_bytes(9), 2);
    CHECK_EQ_I(l2h_code_bytes(1024), 128);
    CHECK_EQ_I(l2h_code_words(1), 1);
    CHECK_EQ_I(l2h_code_words(64), 1);
    CHECK_EQ_I(l2h_code_words(65), 2);
    CHECK_EQ_I(l2h_code_words(1024), 16);
}

static void test_pack_fixed(void)
{
    /* 10 bits: positives at 0, 3, 4, 7, 8 -> byte0 = 1 + 8 + 16 + 128 = 0x99, byte1 = 0x01.
     * Zero and negative values give 0 bits. */
    const float z[2 * 10] = {1, -1, -1, 1, 1, 0, -2, 1, 3, -1,  /* row 0 */
                             -1, 1, 0, 0, 0, 0, 0, 0, 0, 0.5f}; /* row 1: bits 1 and 9 */
    uint8_t out[4] = {0xaa, 0xaa, 0xaa, 0xaa};
    CHECK_OK(l2h_codes_pack(z, 2, 10, out));
    CHECK_EQ_I(out[0], 0x99);
    CHECK_EQ_I(out[1], 0x01);
    CHECK_EQ_I(out[2], 0x02);
    CHECK_EQ_I(out[3], 0x02);
    float back[20];
    CHECK_OK(l2h_codes_unpack(out, 2, 10, back));
    for (size_t j = 0; j < 20; j++) CHECK_EQ_I(back[j] > 0, z[j] > 0);
    for (size_t j = 0; j < 20; j++) CHECK(back[j] == 1.0f || back[j] == -1.0f);

    /* 64 bits: a fixed word, LSB first within each byte. */
    float z64[64];
    for (size_t j = 0; j < 64; j++) z64[j] = (j % 3 == 0) ? 1.0f : -1.0f;
    uint8_t c64[8];
    CHECK_OK(l2h_codes_pack(z64, 1, 64, c64));
    const uint8_t want64[8] = {0x49, 0x92, 0x24, 0x49, 0x92, 0x24, 0x49, 0x92};
    CHECK(memcmp(c64, want64, 8) == 0);

    const float bad[3] = {1.0f, NAN, -1.0f};
    CHECK_STATUS(l2h_codes_pack(bad, 1, 3, out), L2H_ERR_NUMERIC);
    CHECK_STATUS(l2h_codes_pack(z, 1, 0, out), L2H_ERR_ARG);
    CHECK_STATUS(l2h_codes_pack(z, 1, L2H_MAX_BITS + 1, out), L2H_ERR_ARG);
    CHECK_STATUS(l2h_codes_unpack(out, 1, 0, back), L2H_ERR_ARG);
}

static void test_pack_roundtrip(void)
{
    for (size_t bits = 1; bits <= 200; bits += 7) {
        const size_t n = 5, bytes = l2h_code_bytes(bits);
        uint8_t *c = malloc(n * bytes), *c2 = malloc(n * bytes);
        float *u = malloc(n * bits * sizeof(float));
        random_codes(c, n, bits, 0);
        CHECK_OK(l2h_codes_unpack(c, n, bits, u));
        CHECK_OK(l2h_codes_pack(u, n, bits, c2));
        CHECK(memcmp(c, c2, n * bytes) == 0);
        /* padded words: round trip, and dirty tail bits are cleared */
        const size_t words = l2h_code_words(bits);
        uint64_t *pad = malloc(n * words * 8);
        random_codes(c2, n, bits, 1);
        l2h_codes_pad(c2, n, bits, pad);
        uint8_t *c3 = malloc(n * bytes);
        l2h_codes_unpad(pad, n, bits, c3);
        int ok = 1;
        for (size_t i = 0; i < n; i++) {
            if ((pad[i * words + words - 1] & ~l2h_last_word_mask(bits)) != 0) ok = 0;
            for (size_t j = 0; j < bits; j++)
                if (((c3[i * bytes + j / 8] ^ c2[i * bytes + j / 8]) >> (j % 8)) & 1u) ok = 0;
            if (bits % 8 && (c3[i * bytes + bytes - 1] >> (bits % 8)) != 0) ok = 0;
        }
        CHECK(ok);
        /* group layout round trip at an offset that is not a multiple of 8 */
        const size_t first = 3, ng = (first + n + 7) / 8;
        uint64_t *grp = calloc(ng * words * 8, 8);
        l2h_codes_to_groups(c, n, bits, grp, first);
        l2h_codes_from_groups(grp, first, n, bits, c3);
        CHECK(memcmp(c, c3, n * bytes) == 0);
        free(c), free(c2), free(c3), free(u), free(pad), free(grp);
    }
}

/* Checks one kernel on one width: row-major scan, group filter with several thresholds and a
 * minimal output capacity (forcing early stops and resumption). */
static int check_kernel_width(const l2h_hamming_kernels *kt, size_t bits, size_t n,
                              const uint8_t *q, const uint8_t *c, const uint32_t *want)
{
    const size_t words = l2h_code_words(bits), bytes = l2h_code_bytes(bits);
    uint64_t qp[L2H_MAX_WORDS];
    l2h_codes_pad(q, 1, bits, qp);
    uint64_t *rows = malloc((n + 1) * words * 8);
    l2h_codes_pad(c, n, bits, rows);
    int32_t *d = malloc((n + 1) * sizeof(int32_t));
    int ok = 1;
    kt->scan(qp, rows, n, words, d);
    for (size_t i = 0; i < n; i++)
        if ((uint32_t)d[i] != want[i]) ok = 0;

    const size_t ng = (n + 7) / 8;
    uint64_t *grp = calloc(ng ? ng * words * 8 : 1, 8);
    l2h_codes_to_groups(c, n, bits, grp, 0);
    const int32_t thrs[4] = {-1, (int32_t)(bits / 2), (int32_t)(bits / 2 + bits / 8),
                             (int32_t)bits};
    l2h_cand *cand = malloc((n + L2H_FILTER_MIN_CAP) * sizeof *cand);
    for (int t = 0; t < 4; t++) {
        /* capacity: either roomy or the minimum, which forces stops */
        for (int small = 0; small < 2; small++) {
            const size_t cap = small ? L2H_FILTER_MIN_CAP : n + L2H_FILTER_MIN_CAP;
            size_t got = 0, pos = 0, total = 0;
            l2h_cand *all = malloc((n + 1) * sizeof *all);
            int rounds = 0;
            while (pos < n && rounds++ < 100000) {
                size_t no = 0;
                const size_t next = kt->filter(qp, grp, words, pos, n, thrs[t], cand, cap, &no);
                if (next % 8 && next != n) ok = 0; /* stops only at group boundaries */
                if (next <= pos && no == 0) {
                    ok = 0;
                    break;
                }
                for (size_t i = 0; i < no; i++) all[total++] = cand[i];
                got += no;
                pos = next;
            }
            size_t e = 0;
            for (size_t i = 0; i < n; i++) {
                if ((int32_t)want[i] > thrs[t]) continue;
                if (e >= total || all[e].j != i || all[e].d != (int32_t)want[i]) ok = 0;
                e++;
            }
            if (e != total || got != total) ok = 0;
            free(all);
        }
    }
    (void)bytes;
    free(rows), free(d), free(grp), free(cand);
    return ok;
}

static void test_kernels(void)
{
    const size_t nk = l2h_hamming_kernel_count();
    CHECK(nk >= 1);
    size_t tested = 0;
    for (size_t bits = 1; bits <= L2H_MAX_BITS; bits++) {
        /* random n, including 0, non-multiples of 8 and of 32, and a larger one sometimes */
        size_t n = (size_t)l2h_rng_below(&rng, 72);
        if (bits % 64 == 0 || bits % 97 == 0) n = 200 + (size_t)l2h_rng_below(&rng, 64);
        const size_t bytes = l2h_code_bytes(bits);
        uint8_t *q = malloc(bytes), *c = malloc((n + 1) * bytes);
        uint32_t *want = malloc((n + 1) * sizeof(uint32_t));
        random_codes(q, 1, bits, 0);
        random_codes(c, n, bits, 0);
        /* a few exact duplicates and complements of the query */
        if (n > 2) memcpy(c + bytes, q, bytes);
        for (size_t i = 0; i < n; i++) want[i] = oracle(q, c + i * bytes, bits);
        for (size_t k = 0; k < nk; k++) {
            const l2h_hamming_kernels *kt = l2h_hamming_kernel_at(k);
            if (!kt->supported()) continue;
            const int ok = check_kernel_width(kt, bits, n, q, c, want);
            if (!ok) fprintf(stderr, "kernel %s wrong at bits=%zu n=%zu\n", kt->name, bits, n);
            CHECK(ok);
            tested++;
        }
        free(q), free(c), free(want);
    }
    CHECK(tested >= L2H_MAX_BITS);
    for (size_t k = 0; k < nk; k++)
        printf("kernel %-18s %s\n", l2h_hamming_kernel_at(k)->name,
               l2h_hamming_kernel_at(k)->supported() ? "tested" : "not supported by this CPU");
}

static void test_public_many(void)
{
    const size_t widths[] = {1, 7, 8, 16, 24, 32, 48, 63, 64, 65, 96, 100, 128, 192, 200, 256,
                             511, 512, 1000, 1024};
    for (size_t k = 0; k < l2h_hamming_kernel_count(); k++) {
        const l2h_hamming_kernels *kt = l2h_hamming_kernel_at(k);
        if (!kt->supported()) {
            CHECK_STATUS(l2h_hamming_set_kernel(kt->name), L2H_ERR_UNSUPPORTED);
            continue;
        }
        CHECK_OK(l2h_hamming_set_kernel(kt->name));
        CHECK(strcmp(l2h_hamming_kernel(), kt->name) == 0);
        for (size_t wi = 0; wi < sizeof widths / sizeof widths[0]; wi++) {
            const size_t bits = widths[wi], bytes = l2h_code_bytes(bits);
            const size_t n = 1000 + (size_t)l2h_rng_below(&rng, 40); /* > one internal chunk */
            uint8_t *q = malloc(bytes), *c = malloc(n * bytes);
            int32_t *d = malloc(n * sizeof(int32_t));
            random_codes(q, 1, bits, 1); /* dirty unused bits must be ignored */
            random_codes(c, n, bits, 1);
            CHECK_OK(l2h_hamming_many(q, c, n, bits, d));
            int ok = 1, ok1 = 1;
            for (size_t i = 0; i < n; i++) {
                const uint32_t o = oracle(q, c + i * bytes, bits);
                if ((uint32_t)d[i] != o) ok = 0;
                if (l2h_hamming(q, c + i * bytes, bits) != o) ok1 = 0;
            }
            CHECK(ok);
            CHECK(ok1);
            free(q), free(c), free(d);
        }
    }
    /* cross distances */
    {
        const size_t bits = 130, nq = 5, n = 3000, bytes = l2h_code_bytes(bits), w = 3;
        uint8_t *q = malloc(nq * bytes), *c = malloc(n * bytes);
        random_codes(q, nq, bits, 0);
        random_codes(c, n, bits, 0);
        uint64_t *qp = malloc(nq * w * 8), *cp = malloc(n * w * 8);
        l2h_codes_pad(q, nq, bits, qp);
        l2h_codes_pad(c, n, bits, cp);
        int32_t *d = malloc(nq * n * sizeof(int32_t));
        const l2h_hamming_kernels *kt = NULL;
        CHECK_OK(l2h_hamming_active(&kt));
        l2h_hamming_cross(kt, qp, nq, cp, n, w, d);
        int ok = 1;
        for (size_t i = 0; i < nq; i++)
            for (size_t j = 0; j < n; j++)
                if ((uint32_t)d[i * n + j] != oracle(q + i * bytes, c + j * bytes, bits)) ok = 0;
        CHECK(ok);
        free(q), free(c), free(qp), free(cp), free(d);
    }
    uint8_t a[2] = {0}, b[2] = {0};
    int32_t d1;
    CHECK_STATUS(l2h_hamming_many(a, b, 1, 0, &d1), L2H_ERR_ARG);
    CHECK_STATUS(l2h_hamming_many(a, b, 1, 2000, &d1), L2H_ERR_ARG);
    CHECK_OK(l2h_hamming_many(a, b, 0, 8, NULL));
    CHECK_EQ_I(l2h_hamming(a, b, 0), 0);
}

static void test_selection(void)
{
    CHECK_STATUS(l2h_hamming_set_kernel("no-such-kernel"), L2H_ERR_ARG);
    CHECK(strstr(l2h_last_error(), "no-such-kernel") != NULL);
    CHECK_OK(l2h_hamming_set_kernel("portable"));
    CHECK(strcmp(l2h_hamming_kernel(), "portable") == 0);
    CHECK_OK(l2h_hamming_set_kernel(NULL));
    const char *best = l2h_hamming_kernel();
    /* the best supported kernel is chosen automatically */
    const char *want = "portable";
    for (size_t k = 0; k < l2h_hamming_kernel_count(); k++)
        if (l2h_hamming_kernel_at(k)->supported()) want = l2h_hamming_kernel_at(k)->name;
    CHECK(strcmp(best, want) == 0);

    /* $L2H_KERNEL is honoured, and a bad value is an error, not a silent fallback */
    const char *saved = getenv("L2H_KERNEL");
    char keep[64] = "";
    if (saved) snprintf(keep, sizeof keep, "%s", saved);
    setenv("L2H_KERNEL", "portable", 1);
    CHECK_OK(l2h_hamming_set_kernel(NULL));
    CHECK(strcmp(l2h_hamming_kernel(), "portable") == 0);
    setenv("L2H_KERNEL", "bogus", 1);
    CHECK_OK(l2h_hamming_set_kernel(NULL));
    uint8_t a[1] = {1}, b[1] = {2};
    int32_t d;
    CHECK_STATUS(l2h_hamming_many(a, b, 1, 8, &d), L2H_ERR_ARG);
    CHECK(strstr(l2h_last_error(), "L2H_KERNEL=bogus") != NULL);
    CHECK_EQ_I(l2h_hamming(a, b, 8), 2); /* the infallible pair function still works */
    /* an explicit choice overrides the bad environment */
    CHECK_OK(l2h_hamming_set_kernel("portable"));
    CHECK_OK(l2h_hamming_many(a, b, 1, 8, &d));
    CHECK_EQ_I(d, 2);
    if (saved) setenv("L2H_KERNEL", keep, 1);
    else unsetenv("L2H_KERNEL");
    CHECK_OK(l2h_hamming_set_kernel(NULL));
}

int main(void)
{
    l2h_rng_seed(&rng, test_seed());
    test_sizes();
    test_pack_fixed();
    test_pack_roundtrip();
    test_kernels();
    test_public_many();
    test_selection();
    return check_report();
}
