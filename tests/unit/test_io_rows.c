/* test_io_rows.c -- the row-range .npy readers (l2h_npy_shape, l2h_dataset_read_npy_rows,
 * l2h_codes_read_npy_rows) that sharded jobs use: every range equals the same rows of the whole
 * file read by the ordinary readers, out-of-range and malformed files are refused, and every
 * truncation of a valid file is refused through the file entry point. */
#include "io_test_util.h"

#include "l2h/codes.h"
#include "l2h/io.h"

#include <string.h>

static void test_features(void)
{
    char path[512];
    tmp_path(path, "rows_f32.npy");
    enum { R = 37, C = 5 };
    float x[R * C];
    for (size_t i = 0; i < R * C; i++) x[i] = (float)i * 0.25f - 3.0f;
    CHECK_OK(l2h_write_npy_f32(path, x, R, C));
    size_t rows = 0, cols = 0;
    CHECK_OK(l2h_npy_shape(path, &rows, &cols));
    CHECK_EQ_I(rows, R);
    CHECK_EQ_I(cols, C);
    const size_t ranges[][2] = {{0, R}, {0, 1}, {36, 1}, {5, 17}, {20, 0}, {37, 0}};
    for (size_t t = 0; t < sizeof ranges / sizeof ranges[0]; t++) {
        l2h_dataset *ds = NULL;
        const size_t first = ranges[t][0], count = ranges[t][1];
        const l2h_status st = l2h_dataset_read_npy_rows(&ds, path, first, count);
        if (count == 0) { /* a dataset needs rows: an empty range is fine for codes only */
            CHECK(st == L2H_OK || st == L2H_ERR_ARG);
            l2h_dataset_free(ds);
            continue;
        }
        CHECK_OK(st);
        if (!ds) continue;
        CHECK_EQ_I(l2h_dataset_n(ds), count);
        CHECK(memcmp(l2h_dataset_features(ds), x + first * C, count * C * sizeof(float)) == 0);
        l2h_dataset_free(ds);
    }
    l2h_dataset *ds = NULL;
    EXPECT_ERR(l2h_dataset_read_npy_rows(&ds, path, 30, 8), L2H_ERR_ARG, path, "rows 30..38");
    CHECK(ds == NULL);
}

static void test_codes(void)
{
    char path[512];
    tmp_path(path, "rows_codes.npy");
    enum { N = 50, B = 3 };
    uint8_t codes[N * B], out[N * B];
    for (size_t i = 0; i < sizeof codes; i++) codes[i] = (uint8_t)(i * 37 + 11);
    CHECK_OK(l2h_codes_write_npy(path, codes, N, 8 * B));
    for (size_t first = 0; first <= N; first += 7)
        for (size_t count = 0; first + count <= N; count += 9) {
            memset(out, 0xAA, sizeof out);
            CHECK_OK(l2h_codes_read_npy_rows(path, first, count, B, out));
            CHECK(memcmp(out, codes + first * B, count * B) == 0);
        }
    EXPECT_ERR(l2h_codes_read_npy_rows(path, 49, 2, B, out), L2H_ERR_ARG, path, "rows 49..51");
    EXPECT_ERR(l2h_codes_read_npy_rows(path, 0, 1, 4, out), L2H_ERR_ARG, path, "holds codes of 3");
    /* a float file is not codes */
    char fpath[512];
    tmp_path(fpath, "rows_not_codes.npy");
    const float x[4] = {1, 2, 3, 4};
    CHECK_OK(l2h_write_npy_f32(fpath, x, 2, 2));
    EXPECT_ERR(l2h_codes_read_npy_rows(fpath, 0, 1, 8, out), L2H_ERR_FORMAT, fpath,
               "not packed codes");
}

/* Every prefix of a valid file, and a header whose length field is too small or too large, is
 * refused with the file named (never read past a buffer: run under ASan). */
static void test_damaged(void)
{
    char path[512], bad[512];
    tmp_path(path, "rows_src.npy");
    tmp_path(bad, "rows_bad.npy");
    uint8_t codes[10 * 2];
    for (size_t i = 0; i < sizeof codes; i++) codes[i] = (uint8_t)i;
    CHECK_OK(l2h_codes_write_npy(path, codes, 10, 16));
    FILE *f = fopen(path, "rb");
    uint8_t file[256];
    const size_t len = f ? fread(file, 1, sizeof file, f) : 0;
    if (f) fclose(f);
    CHECK(len > sizeof codes && len < sizeof file);
    uint8_t out[sizeof codes];
    size_t refused = 0;
    for (size_t cut = 0; cut < len; cut++) {
        write_file(bad, file, cut);
        size_t r, c;
        refused += l2h_npy_shape(bad, &r, &c) != L2H_OK &&
                   l2h_codes_read_npy_rows(bad, 0, 1, 2, out) != L2H_OK;
    }
    CHECK_EQ_I(refused, len);
    uint8_t tiny[16] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0, 0, 'A', 'A', 'A', 'A', 'A', 'A'};
    write_file(bad, tiny, sizeof tiny);
    size_t r, c;
    CHECK(l2h_npy_shape(bad, &r, &c) != L2H_OK);
    tiny[8] = 0xFF;
    tiny[9] = 0xFF;
    write_file(bad, tiny, sizeof tiny);
    CHECK(l2h_npy_shape(bad, &r, &c) != L2H_OK);
    EXPECT_ERR(l2h_npy_shape("no/such/file.npy", &r, &c), L2H_ERR_IO, "no/such/file.npy",
               "cannot open");
}

int main(void)
{
    if (!io_test_setup()) return 1;
    test_features();
    test_codes();
    test_damaged();
    io_test_teardown();
    return check_report();
}
