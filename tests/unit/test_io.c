/* test_io.c -- the binary data readers and the .npy writers: round trips for every format,
 * hand-made malformed inputs (each must fail with the right status and a message that starts
 * with the file name), exact float16 decoding, and numpy interoperability through
 * /usr/bin/python3. ARFF, label files and named datasets are in test_io_datasets.c. */
#include "io_test_util.h"

/* ---- formats and halves ------------------------------------------------------------------ */

static void test_format_names(void)
{
    l2h_format f;
    for (int i = 0; i < L2H_FORMAT_COUNT; i++) {
        CHECK_OK(l2h_format_parse(l2h_format_name((l2h_format)i), &f));
        CHECK_EQ_I(f, i);
    }
    CHECK_OK(l2h_format_parse("NPY", &f));
    CHECK_EQ_I(f, L2H_FORMAT_NPY);
    CHECK_STATUS(l2h_format_parse("csv", &f), L2H_ERR_ARG);
    CHECK(strcmp(l2h_format_name((l2h_format)99), "unknown") == 0);
    const struct {
        const char *name;
        l2h_format f;
    } cases[] = {
        {"a.fvecs", L2H_FORMAT_FVECS}, {"a.IVECS", L2H_FORMAT_IVECS},
        {"x/y.bvecs", L2H_FORMAT_BVECS}, {"a.npy", L2H_FORMAT_NPY},
        {"s.arff", L2H_FORMAT_ARFF}, {"g.f32", L2H_FORMAT_F32}, {"g.f16", L2H_FORMAT_F16},
        {"c.u8", L2H_FORMAT_U8}, {"train-images-idx3-ubyte", L2H_FORMAT_IDX},
        {"train-labels-idx1-ubyte.gz", L2H_FORMAT_IDX}, {"m.idx", L2H_FORMAT_IDX},
        {"m.IDX.GZ", L2H_FORMAT_IDX},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK_OK(l2h_format_from_name(cases[i].name, &f));
        CHECK_EQ_I(f, cases[i].f);
    }
    EXPECT_ERR(l2h_format_from_name("data.txt", &f), L2H_ERR_ARG, "data.txt", "extension");
    EXPECT_ERR(l2h_format_from_name("a.npy.gz", &f), L2H_ERR_UNSUPPORTED, "a.npy.gz", "gzip");
    const l2h_read_params p = l2h_read_default_params();
    CHECK(p.format == L2H_FORMAT_AUTO && p.dim == 0 && p.n_labels == 0 && p.max_rows == 0);
}

static void test_half(void)
{
    CHECK(l2h_half_to_float(0x0000) == 0.0f && !signbit(l2h_half_to_float(0x0000)));
    CHECK(l2h_half_to_float(0x8000) == 0.0f && signbit(l2h_half_to_float(0x8000)));
    CHECK(l2h_half_to_float(0x3c00) == 1.0f);
    CHECK(l2h_half_to_float(0xc000) == -2.0f);
    CHECK(l2h_half_to_float(0x7bff) == 65504.0f);
    CHECK(l2h_half_to_float(0x0001) == 0x1p-24f);            /* smallest subnormal */
    CHECK(l2h_half_to_float(0x03ff) == 1023.0f * 0x1p-24f);  /* largest subnormal */
    CHECK(l2h_half_to_float(0x0400) == 0x1p-14f);            /* smallest normal */
    CHECK(isinf(l2h_half_to_float(0x7c00)) && l2h_half_to_float(0x7c00) > 0);
    CHECK(isinf(l2h_half_to_float(0xfc00)) && l2h_half_to_float(0xfc00) < 0);
    CHECK(isnan(l2h_half_to_float(0x7e00)) && isnan(l2h_half_to_float(0xfc01)));
    /* every finite half against the definition */
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        const uint32_t e = (h >> 10) & 31, m = h & 1023;
        if (e == 31) continue;
        double v = e == 0 ? ldexp((double)m, -24) : ldexp(1.0 + m / 1024.0, (int)e - 15);
        if (h & 0x8000) v = -v;
        bad += (double)l2h_half_to_float((uint16_t)h) != v;
    }
    CHECK_EQ_I(bad, 0);
}

/* ---- vecs ------------------------------------------------------------------------------- */

static void test_vecs(void)
{
    enum { N = 7, D = 5 };
    float x[N * D];
    bytes b = {0};
    for (size_t i = 0; i < N * D; i++) x[i] = (float)(l2h_rng_normal(&rng));
    for (size_t i = 0; i < N; i++) {
        put_le32(&b, D);
        for (size_t j = 0; j < D; j++) put_f32(&b, x[i * D + j]);
    }
    l2h_dataset *ds = NULL;
    CHECK_OK(rd(&ds, &b, "a.fvecs", L2H_FORMAT_AUTO, 0, 0));
    if (ds) {
        CHECK_EQ_I(l2h_dataset_n(ds), N);
        CHECK_EQ_I(l2h_dataset_dim(ds), D);
        CHECK_ALL_NEAR(N * D, l2h_dataset_features(ds), x, 0, 0);
        CHECK_EQ_I(l2h_dataset_label_kind(ds), L2H_LABELS_NONE);
        l2h_dataset_free(ds);
    }
    CHECK_OK(rd(&ds, &b, "a.fvecs", L2H_FORMAT_FVECS, 0, 3));
    if (ds) CHECK_EQ_I(l2h_dataset_n(ds), 3);
    l2h_dataset_free(ds);
    EXPECT_ERR(rd(&ds, &b, "a.fvecs", L2H_FORMAT_FVECS, 4, 0), L2H_ERR_FORMAT, "a.fvecs", "dim");
    CHECK(ds == NULL);

    /* the same bytes through a file and AUTO */
    char path[512];
    tmp_path(path, "a.fvecs");
    write_file(path, b.p, b.n);
    CHECK_OK(l2h_dataset_read(&ds, path, NULL));
    if (ds) CHECK_ALL_NEAR(N * D, l2h_dataset_features(ds), x, 0, 0);
    l2h_dataset_free(ds);
    tmp_path(path, "missing.fvecs");
    EXPECT_ERR(l2h_dataset_read(&ds, path, NULL), L2H_ERR_IO, path, "cannot open");

    /* malformed */
    bytes t = {0};
    EXPECT_ERR(rd(&ds, &t, "e.fvecs", L2H_FORMAT_FVECS, 0, 0), L2H_ERR_FORMAT, "e.fvecs", "empty");
    put(&t, b.p, 3);
    EXPECT_ERR(rd(&ds, &t, "t.fvecs", L2H_FORMAT_FVECS, 0, 0), L2H_ERR_FORMAT, "t.fvecs",
               "truncated");
    reset(&t);
    put(&t, b.p, b.n - 2);
    EXPECT_ERR(rd(&ds, &t, "t.fvecs", L2H_FORMAT_FVECS, 0, 0), L2H_ERR_FORMAT, "t.fvecs",
               "row 6");
    reset(&t);
    put(&t, b.p, b.n);
    l2h_wr_le32(t.p + 2 * (4 + 4 * D), D + 1);
    EXPECT_ERR(rd(&ds, &t, "m.fvecs", L2H_FORMAT_FVECS, 0, 0), L2H_ERR_FORMAT, "m.fvecs",
               "row 2 has dimension 6");
    l2h_wr_le32(t.p, 0);
    EXPECT_ERR(rd(&ds, &t, "z.fvecs", L2H_FORMAT_FVECS, 0, 0), L2H_ERR_FORMAT, "z.fvecs",
               "not positive");
    l2h_wr_le32(t.p, 0x80000000u);
    EXPECT_ERR(rd(&ds, &t, "z.fvecs", L2H_FORMAT_FVECS, 0, 0), L2H_ERR_FORMAT, "z.fvecs",
               "not positive");
    l2h_wr_le32(t.p, 0x7fffffffu);
    EXPECT_ERR(rd(&ds, &t, "h.fvecs", L2H_FORMAT_FVECS, 0, 0), L2H_ERR_FORMAT, "h.fvecs", NULL);
    l2h_wr_le32(t.p, 1000);
    EXPECT_ERR(rd(&ds, &t, "h.fvecs", L2H_FORMAT_FVECS, 0, 0), L2H_ERR_FORMAT, "h.fvecs",
               "truncated");
    /* NaN names file, row and column */
    reset(&t);
    put(&t, b.p, b.n);
    const float nan = NAN;
    memcpy(t.p + 3 * (4 + 4 * D) + 4 + 4 * 2, &nan, 4);
    EXPECT_ERR(rd(&ds, &t, "n.fvecs", L2H_FORMAT_FVECS, 0, 0), L2H_ERR_NUMERIC, "n.fvecs",
               "row 3, column 2 is NaN");

    /* ivecs and bvecs */
    reset(&t);
    for (int i = 0; i < 3; i++) {
        put_le32(&t, 2);
        put_le32(&t, (uint32_t)(i - 1));
        put_le32(&t, (uint32_t)(100 * i));
    }
    CHECK_OK(rd(&ds, &t, "i.ivecs", L2H_FORMAT_AUTO, 0, 0));
    if (ds) {
        const float want[6] = {-1, 0, 0, 100, 1, 200};
        CHECK_ALL_NEAR(6, l2h_dataset_features(ds), want, 0, 0);
    }
    l2h_dataset_free(ds);
    reset(&t);
    for (int i = 0; i < 2; i++) {
        const uint8_t row[3] = {(uint8_t)(i * 200), 7, 255};
        put_le32(&t, 3);
        put(&t, row, 3);
    }
    CHECK_OK(rd(&ds, &t, "b.bvecs", L2H_FORMAT_AUTO, 0, 0));
    if (ds) {
        const float want[6] = {0, 7, 255, 200, 7, 255};
        CHECK_ALL_NEAR(6, l2h_dataset_features(ds), want, 0, 0);
    }
    l2h_dataset_free(ds);
    put(&t, "\x03\x00\x00\x00\x01", 5);
    EXPECT_ERR(rd(&ds, &t, "b.bvecs", L2H_FORMAT_AUTO, 0, 0), L2H_ERR_FORMAT, "b.bvecs",
               "truncated");
    free(b.p);
    free(t.p);
}

/* ---- npy -------------------------------------------------------------------------------- */

/* Reads b as npy and checks it is rows x cols equal to want. */
static void npy_ok(const bytes *b, size_t rows, size_t cols, const float *want, int line)
{
    l2h_dataset *ds = NULL;
    const l2h_status st = rd(&ds, b, "ok.npy", L2H_FORMAT_AUTO, 0, 0);
    if (st != L2H_OK || l2h_dataset_n(ds) != rows || l2h_dataset_dim(ds) != cols ||
        memcmp(l2h_dataset_features(ds), want, rows * cols * sizeof(float)) != 0) {
        check_failed++;
        fprintf(stderr, "%s:%d: npy read failed: %s %s\n", __FILE__, line, l2h_status_str(st),
                l2h_last_error());
    } else {
        check_passed++;
    }
    l2h_dataset_free(ds);
}

static void test_npy_read(void)
{
    bytes b = {0};
    const char *std = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    for (int v = 1; v <= 3; v++) {
        make_npy(&b, v, std, npy_f, sizeof npy_f);
        npy_ok(&b, 2, 3, npy_f, __LINE__);
    }
    const char *variants[] = {
        "{\"shape\":(2,3),\"fortran_order\":False,\"descr\":\"<f4\"}",
        "{ 'descr' : '<f4' ,\n\t'fortran_order' : False , 'shape' : ( 2 , 3 , ) , }   ",
        "{'fortran_order': False, 'shape': (2L, 3L), 'descr': '=f4'}",
        "{'descr': '|f4', 'shape': (2, 3), 'fortran_order': False,}",
    };
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        make_npy(&b, 1, variants[i], npy_f, sizeof npy_f);
        npy_ok(&b, 2, 3, npy_f, __LINE__);
    }
    make_npy(&b, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", npy_f, 24);
    npy_ok(&b, 6, 1, npy_f, __LINE__);
    make_npy(&b, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3), }", npy_f, 24);
    npy_ok(&b, 1, 6, npy_f, __LINE__);
    /* other dtypes */
    double d[6];
    int32_t i4[6];
    int64_t i8[6];
    uint8_t u1[6];
    uint16_t f2[6];
    for (int k = 0; k < 6; k++) {
        d[k] = npy_f[k];
        i4[k] = (int32_t)(k * 3 - 5);
        i8[k] = (int64_t)k * 1000 - 1;
        u1[k] = (uint8_t)(k * 50);
        f2[k] = (uint16_t)(0x3c00 + k); /* 1 + k/1024 */
    }
    float want[6];
    make_npy(&b, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }", d, sizeof d);
    npy_ok(&b, 3, 2, npy_f, __LINE__);
    for (int k = 0; k < 6; k++) want[k] = (float)i4[k];
    make_npy(&b, 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }", i4, 24);
    npy_ok(&b, 2, 3, want, __LINE__);
    for (int k = 0; k < 6; k++) want[k] = (float)i8[k];
    make_npy(&b, 2, "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 3), }", i8, 48);
    npy_ok(&b, 2, 3, want, __LINE__);
    for (int k = 0; k < 6; k++) want[k] = (float)u1[k];
    make_npy(&b, 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3), }", u1, 6);
    npy_ok(&b, 2, 3, want, __LINE__);
    for (int k = 0; k < 6; k++) want[k] = 1.0f + (float)k / 1024.0f;
    make_npy(&b, 3, "{'descr': '<f2', 'fortran_order': False, 'shape': (2, 3), }", f2, 12);
    npy_ok(&b, 2, 3, want, __LINE__);

    /* rejected headers */
    l2h_dataset *ds = NULL;
    const struct {
        int major;
        const char *dict;
        l2h_status want;
        const char *part;
    } bad[] = {
        {1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", L2H_ERR_UNSUPPORTED,
         "Fortran"},
        {1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", L2H_ERR_UNSUPPORTED,
         "big-endian"},
        {1, "{'descr': '|O', 'fortran_order': False, 'shape': (2, 3), }", L2H_ERR_UNSUPPORTED,
         "object"},
        {1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (6,), }",
         L2H_ERR_UNSUPPORTED, "structured"},
        {1, "{'descr': '<c8', 'fortran_order': False, 'shape': (2, 3), }", L2H_ERR_UNSUPPORTED,
         "not supported"},
        {1, "{'descr': '<i2', 'fortran_order': False, 'shape': (2, 3), }", L2H_ERR_UNSUPPORTED,
         "not supported"},
        {1, "{'descr': '<x4', 'fortran_order': False, 'shape': (2, 3), }", L2H_ERR_FORMAT,
         "unknown dtype"},
        {1, "{'descr': '<f4', 'fortran_order': False}", L2H_ERR_FORMAT, "missing key 'shape'"},
        {1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}",
         L2H_ERR_FORMAT, "twice"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}", L2H_ERR_FORMAT,
         "unexpected key"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (6)}", L2H_ERR_FORMAT,
         "not a tuple"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3]}", L2H_ERR_FORMAT, "tuple"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': ()}", L2H_ERR_FORMAT, "0-d"},
        {1, "{'descr': '<f4', 'fortran_order': false, 'shape': (2, 3)}", L2H_ERR_FORMAT,
         "True or False"},
        {1, "{'descr': '<f4, 'fortran_order': False, 'shape': (2, 3)}", L2H_ERR_FORMAT, NULL},
        {1, "{'descr': '<f4' 'fortran_order': False, 'shape': (2, 3)}", L2H_ERR_FORMAT,
         "expected ','"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)} x", L2H_ERR_FORMAT,
         "after the dictionary"},
        {1, "['descr', '<f4']", L2H_ERR_FORMAT, "expected '{'"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3)}", L2H_ERR_FORMAT,
         "non-negative"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999, 1)}",
         L2H_ERR_FORMAT, "too large"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4)}",
         L2H_ERR_FORMAT, "overflow"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000, 1)}",
         L2H_ERR_FORMAT, "truncated"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2)}", L2H_ERR_FORMAT,
         "unexpected bytes"},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3)}", L2H_ERR_FORMAT,
         "no rows"},
        {4, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", L2H_ERR_VERSION,
         "version 4.0"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        make_npy(&b, bad[i].major, bad[i].dict, npy_f, sizeof npy_f);
        if (strstr(bad[i].dict, "(0, 3)")) b.n -= sizeof npy_f;
        EXPECT_ERR(rd(&ds, &b, "bad.npy", L2H_FORMAT_NPY, 0, 0), bad[i].want, "bad.npy",
                   bad[i].part);
        CHECK(ds == NULL);
    }
    /* prefix damage */
    make_npy(&b, 1, std, npy_f, sizeof npy_f);
    b.p[0] = 0x92;
    EXPECT_ERR(rd(&ds, &b, "m.npy", L2H_FORMAT_NPY, 0, 0), L2H_ERR_FORMAT, "m.npy", "magic");
    make_npy(&b, 1, std, npy_f, sizeof npy_f);
    b.n = 9;
    EXPECT_ERR(rd(&ds, &b, "t.npy", L2H_FORMAT_NPY, 0, 0), L2H_ERR_FORMAT, "t.npy", "truncated");
    make_npy(&b, 1, std, npy_f, sizeof npy_f);
    b.n = 40;
    EXPECT_ERR(rd(&ds, &b, "t.npy", L2H_FORMAT_NPY, 0, 0), L2H_ERR_FORMAT, "t.npy", "truncated");
    make_npy(&b, 1, std, npy_f, sizeof npy_f);
    b.n -= 1;
    EXPECT_ERR(rd(&ds, &b, "t.npy", L2H_FORMAT_NPY, 0, 0), L2H_ERR_FORMAT, "t.npy", "truncated");
    make_npy(&b, 2, std, npy_f, sizeof npy_f);
    l2h_wr_le32(b.p + 8, 0xfffffff0u); /* header length far beyond the file */
    EXPECT_ERR(rd(&ds, &b, "h.npy", L2H_FORMAT_NPY, 0, 0), L2H_ERR_FORMAT, "h.npy", "truncated");
    /* non-finite values */
    float f[6];
    memcpy(f, npy_f, sizeof f);
    f[4] = -INFINITY;
    make_npy(&b, 1, std, f, sizeof f);
    EXPECT_ERR(rd(&ds, &b, "inf.npy", L2H_FORMAT_NPY, 0, 0), L2H_ERR_NUMERIC, "inf.npy",
               "row 1, column 1 is infinite");
    d[5] = 1e300;
    make_npy(&b, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }", d, sizeof d);
    EXPECT_ERR(rd(&ds, &b, "big.npy", L2H_FORMAT_NPY, 0, 0), L2H_ERR_NUMERIC, "big.npy",
               "overflows float32");
    /* max_rows */
    make_npy(&b, 1, std, npy_f, sizeof npy_f);
    CHECK_OK(rd(&ds, &b, "ok.npy", L2H_FORMAT_NPY, 0, 1));
    if (ds) CHECK_EQ_I(l2h_dataset_n(ds), 1);
    l2h_dataset_free(ds);
    free(b.p);
}

/* ---- npy writers, codes, numpy interoperability ------------------------------------------ */

static const char numpy_script[] =
    "import sys, numpy as np\n"
    "d = sys.argv[1]\n"
    "a = np.load(d + '/w_f32.npy')\n"
    "assert a.dtype == np.float32 and a.shape == (3, 5), (a.dtype, a.shape)\n"
    "assert np.array_equal(a, np.arange(15, dtype=np.float32).reshape(3, 5) * 0.25 - 1)\n"
    "c = np.load(d + '/w_codes.npy')\n"
    "assert c.dtype == np.uint8 and c.shape == (4, 2), (c.dtype, c.shape)\n"
    "assert c.tolist() == [[i * 16 + j for j in range(2)] for i in range(4)], c\n"
    "np.save(d + '/p_f32.npy', np.arange(12, dtype=np.float32).reshape(3, 4) / 4)\n"
    "np.save(d + '/p_f16.npy', np.array([[0.5, -2, 6e-8], [65504, 1, 0]], np.float16))\n"
    "np.save(d + '/p_lab.npy', np.array([3, 1, 4], np.int64))\n"
    "np.save(d + '/p_multi.npy', np.array([[True, False], [False, False], [True, True]]))\n"
    "np.save(d + '/p_fortran.npy', np.asfortranarray(np.ones((3, 4), np.float32)))\n"
    "np.save(d + '/p_be.npy', np.ones((3, 4), '>f4'))\n"
    "np.save(d + '/p_img.npy', np.arange(24, dtype=np.uint8).reshape(2, 3, 4))\n";

static int have_numpy(void)
{
    return system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") == 0;
}

static void test_npy_write(void)
{
    char path[512], cpath[512];
    float x[15];
    for (int i = 0; i < 15; i++) x[i] = (float)i * 0.25f - 1.0f;
    tmp_path(path, "w_f32.npy");
    CHECK_OK(l2h_write_npy_f32(path, x, 3, 5));
    struct stat sb;
    CHECK(stat(path, &sb) == 0 && (sb.st_size - 15 * 4) % 64 == 0); /* header padded to 64 */
    l2h_dataset *ds = NULL;
    CHECK_OK(l2h_dataset_read(&ds, path, NULL));
    if (ds) CHECK_ALL_NEAR(15, l2h_dataset_features(ds), x, 0, 0);
    l2h_dataset_free(ds);

    uint8_t codes[8], back[8];
    for (int i = 0; i < 8; i++) codes[i] = (uint8_t)((i / 2) * 16 + i % 2);
    tmp_path(cpath, "w_codes.npy");
    CHECK_OK(l2h_codes_write_npy(cpath, codes, 4, 13)); /* 13 bits -> 2 bytes */
    size_t n = 0, nb = 0;
    CHECK_OK(l2h_codes_npy_shape(cpath, &n, &nb));
    CHECK(n == 4 && nb == 2);
    CHECK_OK(l2h_codes_read_npy(cpath, back, 4, 2));
    CHECK(memcmp(back, codes, 8) == 0);
    CHECK(stat(cpath, &sb) == 0 && (sb.st_size - 8) % 64 == 0);
    EXPECT_ERR(l2h_codes_read_npy(cpath, back, 3, 2), L2H_ERR_ARG, cpath, "expected 3 x 2");
    EXPECT_ERR(l2h_codes_npy_shape(path, &n, &nb), L2H_ERR_FORMAT, path, "not packed codes");
    CHECK_STATUS(l2h_codes_write_npy(cpath, codes, 4, 0), L2H_ERR_ARG);
    char tpath[512];
    tmp_path(tpath, "t_codes.npy");
    uint8_t raw[200];
    FILE *f = fopen(cpath, "rb");
    const size_t len = f ? fread(raw, 1, sizeof raw, f) : 0;
    if (f) fclose(f);
    write_file(tpath, raw, len - 1);
    EXPECT_ERR(l2h_codes_npy_shape(tpath, &n, &nb), L2H_ERR_FORMAT, tpath, "truncated");
    write_file(tpath, raw, 9);
    EXPECT_ERR(l2h_codes_npy_shape(tpath, &n, &nb), L2H_ERR_FORMAT, tpath, "truncated");
    write_file(tpath, raw, 40);
    EXPECT_ERR(l2h_codes_npy_shape(tpath, &n, &nb), L2H_ERR_FORMAT, tpath, "truncated");
    tmp_path(tpath, "none.npy");
    EXPECT_ERR(l2h_codes_npy_shape(tpath, &n, &nb), L2H_ERR_IO, tpath, "cannot open");
    CHECK_OK(l2h_codes_write_npy(cpath, codes, 0, 64)); /* an empty code set is valid */
    CHECK_OK(l2h_codes_npy_shape(cpath, &n, &nb));
    CHECK(n == 0 && nb == 8);

    if (!have_numpy()) {
        printf("note: /usr/bin/python3 with numpy not found; numpy interoperability skipped\n");
        return;
    }
    CHECK_OK(l2h_codes_write_npy(cpath, codes, 4, 16));
    char script[512], cmd[1200];
    tmp_path(script, "interop.py");
    write_file(script, numpy_script, strlen(numpy_script));
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s", script, tmpdir);
    CHECK_EQ_I(system(cmd), 0);

    const float p_f32[12] = {0, 0.25f, 0.5f, 0.75f, 1, 1.25f, 1.5f, 1.75f, 2, 2.25f, 2.5f, 2.75f};
    tmp_path(path, "p_f32.npy");
    CHECK_OK(l2h_dataset_read(&ds, path, NULL));
    if (ds) CHECK(l2h_dataset_n(ds) == 3 && l2h_dataset_dim(ds) == 4);
    if (ds) CHECK_ALL_NEAR(12, l2h_dataset_features(ds), p_f32, 0, 0);
    l2h_dataset_free(ds);
    tmp_path(path, "p_f16.npy");
    const float p_f16[6] = {0.5f, -2.0f, 0x1p-24f, 65504.0f, 1.0f, 0.0f};
    CHECK_OK(l2h_dataset_read(&ds, path, NULL));
    if (ds) CHECK_ALL_NEAR(6, l2h_dataset_features(ds), p_f16, 0, 0);
    l2h_dataset_free(ds);
    tmp_path(path, "p_img.npy");
    CHECK_OK(l2h_dataset_read(&ds, path, NULL));
    if (ds) CHECK(l2h_dataset_n(ds) == 2 && l2h_dataset_dim(ds) == 12 &&
                  l2h_dataset_features(ds)[23] == 23.0f);
    l2h_dataset_free(ds);
    tmp_path(path, "p_fortran.npy");
    EXPECT_ERR(l2h_dataset_read(&ds, path, NULL), L2H_ERR_UNSUPPORTED, path, "Fortran");
    tmp_path(path, "p_be.npy");
    EXPECT_ERR(l2h_dataset_read(&ds, path, NULL), L2H_ERR_UNSUPPORTED, path, "big-endian");
    CHECK_OK(l2h_dataset_create(&ds, 3, 2, NULL));
    tmp_path(path, "p_lab.npy");
    CHECK_OK(l2h_dataset_read_labels(ds, path, NULL));
    CHECK(l2h_dataset_label_kind(ds) == L2H_LABELS_SINGLE && l2h_dataset_n_labels(ds) == 5 &&
          l2h_dataset_labels(ds)[2] == 4);
    tmp_path(path, "p_multi.npy");
    CHECK_OK(l2h_dataset_read_labels(ds, path, NULL));
    const uint8_t multi[6] = {1, 0, 0, 0, 1, 1};
    CHECK(l2h_dataset_label_kind(ds) == L2H_LABELS_MULTI && l2h_dataset_n_labels(ds) == 2 &&
          memcmp(l2h_dataset_multilabels(ds), multi, 6) == 0);
    l2h_dataset_free(ds);
}

/* ---- IDX -------------------------------------------------------------------------------- */

static void test_idx(void)
{
    bytes b = {0}, g = {0};
    l2h_dataset *ds = NULL;
    const uint32_t img_dims[3] = {3, 2, 4};
    make_idx(&b, 3, img_dims, 0);
    CHECK_OK(rd(&ds, &b, "i-ubyte", L2H_FORMAT_AUTO, 0, 0));
    if (ds) {
        CHECK(l2h_dataset_n(ds) == 3 && l2h_dataset_dim(ds) == 8);
        CHECK(l2h_dataset_features(ds)[23] == (float)(uint8_t)(23 * 7));
    }
    l2h_dataset_free(ds);
    /* gzip: same content, also split into two concatenated members */
    gzip_into(&g, b.p, b.n);
    CHECK_OK(rd(&ds, &g, "i-ubyte.gz", L2H_FORMAT_AUTO, 0, 0));
    if (ds) CHECK(l2h_dataset_n(ds) == 3 && l2h_dataset_features(ds)[23] == (float)(uint8_t)161);
    l2h_dataset_free(ds);
    CHECK_OK(rd(&ds, &g, "i-ubyte.gz", L2H_FORMAT_AUTO, 0, 2));
    if (ds) CHECK_EQ_I(l2h_dataset_n(ds), 2);
    l2h_dataset_free(ds);
    reset(&g);
    gzip_into(&g, b.p, 10);
    gzip_into(&g, b.p + 10, b.n - 10);
    CHECK_OK(rd(&ds, &g, "two.idx.gz", L2H_FORMAT_AUTO, 0, 0));
    if (ds) CHECK(l2h_dataset_n(ds) == 3 && l2h_dataset_features(ds)[23] == (float)(uint8_t)161);
    l2h_dataset_free(ds);

    /* plain malformed */
    const uint32_t lab_dims[1] = {5};
    make_idx(&b, 1, lab_dims, 1);
    EXPECT_ERR(rd(&ds, &b, "x.idx", L2H_FORMAT_IDX, 0, 0), L2H_ERR_FORMAT, "x.idx",
               "1 unexpected bytes");
    b.n -= 2;
    EXPECT_ERR(rd(&ds, &b, "x.idx", L2H_FORMAT_IDX, 0, 0), L2H_ERR_FORMAT, "x.idx", "truncated");
    b.n = 6;
    EXPECT_ERR(rd(&ds, &b, "x.idx", L2H_FORMAT_IDX, 0, 0), L2H_ERR_FORMAT, "x.idx", "truncated");
    b.n = 3;
    EXPECT_ERR(rd(&ds, &b, "x.idx", L2H_FORMAT_IDX, 0, 0), L2H_ERR_FORMAT, "x.idx", "truncated");
    make_idx(&b, 1, lab_dims, 0);
    b.p[0] = 1;
    EXPECT_ERR(rd(&ds, &b, "x.idx", L2H_FORMAT_IDX, 0, 0), L2H_ERR_FORMAT, "x.idx", "magic");
    b.p[0] = 0;
    b.p[2] = 0x0D;
    EXPECT_ERR(rd(&ds, &b, "x.idx", L2H_FORMAT_IDX, 0, 0), L2H_ERR_UNSUPPORTED, "x.idx",
               "unsigned byte");
    b.p[2] = 0x07;
    EXPECT_ERR(rd(&ds, &b, "x.idx", L2H_FORMAT_IDX, 0, 0), L2H_ERR_FORMAT, "x.idx", "type");
    b.p[2] = 8;
    b.p[3] = 4;
    EXPECT_ERR(rd(&ds, &b, "x.idx", L2H_FORMAT_IDX, 0, 0), L2H_ERR_UNSUPPORTED, "x.idx",
               "dimensions");
    b.p[3] = 0;
    EXPECT_ERR(rd(&ds, &b, "x.idx", L2H_FORMAT_IDX, 0, 0), L2H_ERR_FORMAT, "x.idx", "0 dim");
    const uint32_t huge[3] = {0xffffffffu, 0xffffffffu, 0xffffffffu};
    reset(&b);
    put(&b, "\0\0\x08\x03", 4);
    for (int i = 0; i < 3; i++) put_be32(&b, huge[i]);
    EXPECT_ERR(rd(&ds, &b, "x.idx", L2H_FORMAT_IDX, 0, 0), L2H_ERR_FORMAT, "x.idx", "overflow");

    /* gzip malformed */
    make_idx(&b, 3, img_dims, 0);
    reset(&g);
    gzip_into(&g, b.p, b.n);
    bytes t = {0};
    put(&t, g.p, g.n - 6);
    EXPECT_ERR(rd(&ds, &t, "t.gz", L2H_FORMAT_IDX, 0, 0), L2H_ERR_FORMAT, "t.gz", "truncated gzip");
    reset(&t);
    put(&t, g.p, g.n);
    t.p[g.n - 8] ^= 0xff; /* CRC */
    EXPECT_ERR(rd(&ds, &t, "c.gz", L2H_FORMAT_IDX, 0, 0), L2H_ERR_FORMAT, "c.gz", "corrupt gzip");
    reset(&t);
    put(&t, g.p, g.n);
    put(&t, "junk", 4);
    EXPECT_ERR(rd(&ds, &t, "j.gz", L2H_FORMAT_IDX, 0, 0), L2H_ERR_FORMAT, "j.gz", "garbage");
    make_idx(&b, 3, img_dims, 5); /* 5 bytes more than declared */
    reset(&g);
    gzip_into(&g, b.p, b.n);
    EXPECT_ERR(rd(&ds, &g, "l.gz", L2H_FORMAT_IDX, 0, 0), L2H_ERR_FORMAT, "l.gz", "larger");
    make_idx(&b, 3, img_dims, 0);
    reset(&g);
    gzip_into(&g, b.p, b.n - 5); /* 5 bytes fewer */
    EXPECT_ERR(rd(&ds, &g, "s.gz", L2H_FORMAT_IDX, 0, 0), L2H_ERR_FORMAT, "s.gz", "smaller");
    reset(&g);
    gzip_into(&g, b.p, 6);
    EXPECT_ERR(rd(&ds, &g, "h.gz", L2H_FORMAT_IDX, 0, 0), L2H_ERR_FORMAT, "h.gz", "smaller");
    /* a tiny stream claiming 4 GB x 4 GB: refused before any large allocation */
    reset(&b);
    put(&b, "\0\0\x08\x02", 4);
    put_be32(&b, 0xffffffffu);
    put_be32(&b, 0xffffffffu);
    reset(&g);
    gzip_into(&g, b.p, b.n);
    EXPECT_ERR(rd(&ds, &g, "b.gz", L2H_FORMAT_IDX, 0, 0), L2H_ERR_FORMAT, "b.gz", "smaller");
    /* 64 MB claimed (within deflate's ratio), 64 KB of random bytes supplied: fails after
     * inflating what is there */
    reset(&b);
    put(&b, "\0\0\x08\x02", 4);
    put_be32(&b, 65536);
    put_be32(&b, 1024);
    for (int i = 0; i < 65536; i++) {
        const uint8_t r = (uint8_t)l2h_rng_next(&rng);
        put(&b, &r, 1);
    }
    reset(&g);
    gzip_into(&g, b.p, b.n);
    EXPECT_ERR(rd(&ds, &g, "z.gz", L2H_FORMAT_IDX, 0, 0), L2H_ERR_FORMAT, "z.gz", "smaller");
    free(b.p);
    free(g.p);
    free(t.p);
}

/* ---- headerless matrices ---------------------------------------------------------------- */

static void test_raw(void)
{
    bytes b = {0};
    l2h_dataset *ds = NULL;
    for (int i = 0; i < 6; i++) put_f32(&b, npy_f[i]);
    CHECK_OK(rd(&ds, &b, "m.f32", L2H_FORMAT_AUTO, 3, 0));
    if (ds) CHECK(l2h_dataset_n(ds) == 2 && memcmp(l2h_dataset_features(ds), npy_f, 24) == 0);
    l2h_dataset_free(ds);
    CHECK_OK(rd(&ds, &b, "m.f32", L2H_FORMAT_AUTO, 2, 2));
    if (ds) CHECK(l2h_dataset_n(ds) == 2 && l2h_dataset_features(ds)[3] == 3.25f);
    l2h_dataset_free(ds);
    EXPECT_ERR(rd(&ds, &b, "m.f32", L2H_FORMAT_AUTO, 4, 0), L2H_ERR_FORMAT, "m.f32",
               "not a whole number");
    EXPECT_ERR(rd(&ds, &b, "m.f32", L2H_FORMAT_AUTO, 0, 0), L2H_ERR_ARG, "m.f32", "dim");
    b.p[3 * 4 + 3] = 0x7f; /* row 1 col 0: 0x7f..... -> NaN/Inf */
    b.p[3 * 4 + 2] = 0xc0;
    EXPECT_ERR(rd(&ds, &b, "m.f32", L2H_FORMAT_AUTO, 3, 0), L2H_ERR_NUMERIC, "m.f32",
               "row 1, column 0 is NaN");
    reset(&b);
    EXPECT_ERR(rd(&ds, &b, "e.f32", L2H_FORMAT_AUTO, 3, 0), L2H_ERR_FORMAT, "e.f32", "empty");
    /* float16: a normal, a subnormal, max, negative zero */
    const uint16_t h[4] = {0x3555, 0x0200, 0x7bff, 0x8000};
    for (int i = 0; i < 4; i++) put(&b, (const uint8_t[2]){(uint8_t)h[i], (uint8_t)(h[i] >> 8)}, 2);
    CHECK_OK(rd(&ds, &b, "h.f16", L2H_FORMAT_AUTO, 2, 0));
    if (ds) {
        const float *x = l2h_dataset_features(ds);
        CHECK(x[0] == 0.333251953125f && x[1] == 0x1p-15f && x[2] == 65504.0f && x[3] == 0.0f);
    }
    l2h_dataset_free(ds);
    b.p[5] = 0x7c; /* row 1, column 0 = +inf */
    b.p[4] = 0x00;
    EXPECT_ERR(rd(&ds, &b, "h.f16", L2H_FORMAT_AUTO, 2, 0), L2H_ERR_NUMERIC, "h.f16",
               "row 1, column 0 is infinite");
    b.n = 7;
    EXPECT_ERR(rd(&ds, &b, "h.f16", L2H_FORMAT_AUTO, 2, 0), L2H_ERR_FORMAT, "h.f16",
               "3 bytes left over");
    reset(&b);
    put(&b, "\x00\x10\xff\x80\x01\x02", 6);
    CHECK_OK(rd(&ds, &b, "c.u8", L2H_FORMAT_AUTO, 3, 0));
    if (ds) {
        const float want[6] = {0, 16, 255, 128, 1, 2};
        CHECK_ALL_NEAR(6, l2h_dataset_features(ds), want, 0, 0);
    }
    l2h_dataset_free(ds);
    free(b.p);
}

int main(void)
{
    if (!io_test_setup()) return 1;
    test_format_names();
    test_half();
    test_vecs();
    test_npy_read();
    test_npy_write();
    test_idx();
    test_raw();
    io_test_teardown();
    return check_report();
}
