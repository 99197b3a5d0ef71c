/* test_io_datasets.c -- dense ARFF, label files (single and multi-label from ivecs, u8, IDX,
 * npy), and the named datasets: from folders of tiny hand-made files (always) and from the real
 * files when they are installed (scene, Fashion-MNIST, CIFAR-10 features; a note otherwise). */
#include "io_test_util.h"

/* ---- ARFF ------------------------------------------------------------------------------- */

static const char arff_ok[] = "% a comment\n"
                              "@RELATION 'test set'\n"
                              "\n"
                              "@attribute a1 NUMERIC\r\n"
                              "@Attribute 'second att' real\n"
                              "  @attribute a3 integer\n"
                              "@attribute bin {1, 0}\n"
                              "@attribute L1 {0,1}\n"
                              "@attribute \"L 2\" { '0' , '1' }\n"
                              "@DATA\n"
                              "% rows follow\n"
                              "0.5, -1e-2, 3, 1, 0, 1\r\n"
                              "\n"
                              "+.25,2.5E+1,-4,0,1,'1'\n"
                              "7,8,9,0,0,0";

static l2h_status rd_arff(l2h_dataset **ds, const char *text, size_t n_labels, size_t max_rows)
{
    l2h_read_params p = l2h_read_default_params();
    p.n_labels = n_labels;
    p.max_rows = max_rows;
    return l2h_dataset_read_mem(ds, text, strlen(text), "bad.arff", &p);
}

static void test_arff(void)
{
    l2h_dataset *ds = NULL;
    CHECK_OK(rd_arff(&ds, arff_ok, 2, 0));
    if (ds) {
        const float x[12] = {0.5f, -0.01f, 3, 1, 0.25f, 25, -4, 0, 7, 8, 9, 0};
        const uint8_t y[6] = {0, 1, 1, 1, 0, 0};
        CHECK(l2h_dataset_n(ds) == 3 && l2h_dataset_dim(ds) == 4);
        CHECK_ALL_NEAR(12, l2h_dataset_features(ds), x, 0, 0);
        CHECK(l2h_dataset_label_kind(ds) == L2H_LABELS_MULTI && l2h_dataset_n_labels(ds) == 2);
        CHECK(memcmp(l2h_dataset_multilabels(ds), y, 6) == 0);
    }
    l2h_dataset_free(ds);
    /* trailing {0,1} attributes read as features only when asked (L2H_ARFF_NO_LABELS) */
    CHECK_STATUS(rd_arff(&ds, arff_ok, 0, 2), L2H_ERR_ARG);
    l2h_dataset_free(ds);
    ds = NULL;
    CHECK_OK(rd_arff(&ds, arff_ok, L2H_ARFF_NO_LABELS, 2));
    if (ds) CHECK(l2h_dataset_n(ds) == 2 && l2h_dataset_dim(ds) == 6 &&
                  l2h_dataset_label_kind(ds) == L2H_LABELS_NONE);
    l2h_dataset_free(ds);

    const char *hdr = "@relation r\n@attribute a numeric\n@attribute b numeric\n"
                      "@attribute y {0,1}\n@data\n"; /* data starts on line 6 */
    const struct {
        const char *data;
        l2h_status want;
        const char *part;
    } bad[] = {
        {"{0 1, 2 1}\n", L2H_ERR_UNSUPPORTED, "bad.arff:6: sparse"},
        {"1,2\n", L2H_ERR_FORMAT, "bad.arff:6: 2 values, expected 3"},
        {"1,2,0\n\n1,2,0,\n", L2H_ERR_FORMAT, "bad.arff:8: 4 values, expected 3"},
        {"1,x,0\n", L2H_ERR_FORMAT, "bad.arff:6: value 'x' of attribute b is not a number"},
        {"1,2,2\n", L2H_ERR_FORMAT, "bad.arff:6: label y is '2', not 0 or 1"},
        {"1,2,0.5\n", L2H_ERR_FORMAT, "not 0 or 1"},
        {"1,?,0\n", L2H_ERR_FORMAT, "bad.arff:6: missing value"},
        {"nan,1,0\n", L2H_ERR_FORMAT, "not a number"},
        {"0x10,1,0\n", L2H_ERR_FORMAT, "not a number"},
        {"1.,1e,0\n", L2H_ERR_FORMAT, "'1e'"},
        {"1e39,1,0\n", L2H_ERR_NUMERIC, "bad.arff:6: value '1e39'"},
        {"% only a comment\n", L2H_ERR_FORMAT, "no data rows"},
    };
    char text[512];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, "%s%s", hdr, bad[i].data);
        EXPECT_ERR(rd_arff(&ds, text, 1, 0), bad[i].want, "bad.arff", bad[i].part);
    }
    const struct {
        const char *text;
        size_t n_labels;
        l2h_status want;
        const char *part;
    } bad_hdr[] = {
        {"@relation r\n@attribute a numeric\n1,2\n", 0, L2H_ERR_FORMAT, "bad.arff:3: expected"},
        {"@relation r\n@attribute a numeric\n", 0, L2H_ERR_FORMAT, "no @data"},
        {"@attribute a numeric\n@data\n1\n", 0, L2H_ERR_FORMAT, "before @relation"},
        {"@relation r\n@relation s\n", 0, L2H_ERR_FORMAT, "bad.arff:2: second @relation"},
        {"@relation r\n@data\n", 0, L2H_ERR_FORMAT, "without any @attribute"},
        {"@relation r\n@attribute s string\n@data\nx\n", 0, L2H_ERR_UNSUPPORTED, "string"},
        {"@relation r\n@attribute d date 'yyyy'\n@data\nx\n", 0, L2H_ERR_UNSUPPORTED, "date"},
        {"@relation r\n@attribute c {a,b}\n@data\na\n", 0, L2H_ERR_UNSUPPORTED, "nominal"},
        {"@relation r\n@attribute c {0,1,2}\n@data\n0\n", 0, L2H_ERR_UNSUPPORTED, "nominal"},
        {"@relation r\n@attribute c {0,1\n@data\n0\n", 0, L2H_ERR_FORMAT, "closing"},
        {"@relation r\n@attribute a float\n@data\n0\n", 0, L2H_ERR_FORMAT, "unknown type"},
        {"@relation r\n@attribute a\n@data\n0\n", 0, L2H_ERR_FORMAT, "no type"},
        {"@relation r\n@attribute 'a numeric\n@data\n0\n", 0, L2H_ERR_FORMAT, "unterminated"},
        {"@relation r\n@foo bar\n", 0, L2H_ERR_FORMAT, "bad.arff:2: unknown declaration"},
        {"@relation r\n@attribute a numeric\n@attribute b {0,1}\n@data\n1,2\n", L2H_ARFF_NO_LABELS,
         L2H_ERR_FORMAT, "attribute b is {0,1}"},
        {"@relation r\n@attribute a numeric\n@attribute y {0,1}\n@data\n1,1\n", 2, L2H_ERR_ARG,
         "2 label attributes"},
    };
    for (size_t i = 0; i < sizeof bad_hdr / sizeof bad_hdr[0]; i++)
        EXPECT_ERR(rd_arff(&ds, bad_hdr[i].text, bad_hdr[i].n_labels, 0), bad_hdr[i].want,
                   "bad.arff", bad_hdr[i].part);
    /* numeric label attributes are accepted when their values are 0/1 */
    CHECK_OK(rd_arff(&ds, "@relation r\n@attribute a numeric\n@attribute y numeric\n@data\n"
                          "3,1.0\n4,0\n",
                     1, 0));
    if (ds) CHECK(l2h_dataset_multilabels(ds)[0] == 1 && l2h_dataset_multilabels(ds)[1] == 0);
    l2h_dataset_free(ds);
}

/* ---- label files ------------------------------------------------------------------------ */

static l2h_status rd_labels(l2h_dataset *ds, const bytes *b, const char *name, size_t dim,
                            size_t max_rows)
{
    l2h_read_params p = l2h_read_default_params();
    p.dim = dim;
    p.max_rows = max_rows;
    return l2h_dataset_read_labels_mem(ds, b->p, b->n, name, &p);
}

static void test_labels(void)
{
    l2h_dataset *ds = NULL;
    CHECK_OK(l2h_dataset_create(&ds, 4, 2, NULL));
    if (!ds) return;
    bytes b = {0};
    const int32_t cls[4] = {2, 0, 1, 2};
    for (int i = 0; i < 4; i++) {
        put_le32(&b, 1);
        put_le32(&b, (uint32_t)cls[i]);
    }
    CHECK_OK(rd_labels(ds, &b, "l.ivecs", 0, 0));
    CHECK(l2h_dataset_label_kind(ds) == L2H_LABELS_SINGLE && l2h_dataset_n_labels(ds) == 3);
    CHECK(memcmp(l2h_dataset_labels(ds), cls, sizeof cls) == 0);
    l2h_wr_le32(b.p + 12, 0xffffffffu);
    EXPECT_ERR(rd_labels(ds, &b, "l.ivecs", 0, 0), L2H_ERR_FORMAT, "l.ivecs", "row 1: class -1");
    reset(&b);
    const uint8_t y[12] = {1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1};
    for (int i = 0; i < 4; i++) {
        put_le32(&b, 3);
        for (int j = 0; j < 3; j++) put_le32(&b, y[i * 3 + j]);
    }
    CHECK_OK(rd_labels(ds, &b, "m.ivecs", 0, 0));
    CHECK(l2h_dataset_label_kind(ds) == L2H_LABELS_MULTI && l2h_dataset_n_labels(ds) == 3);
    CHECK(memcmp(l2h_dataset_multilabels(ds), y, 12) == 0);
    l2h_wr_le32(b.p + 4 + 4, 2);
    EXPECT_ERR(rd_labels(ds, &b, "m.ivecs", 0, 0), L2H_ERR_FORMAT, "m.ivecs",
               "row 0, column 1: label 2 is not 0 or 1");
    /* u8: row length inferred from the size */
    reset(&b);
    put(&b, y, 12);
    CHECK_OK(rd_labels(ds, &b, "m.u8", 0, 0));
    CHECK(l2h_dataset_label_kind(ds) == L2H_LABELS_MULTI && l2h_dataset_n_labels(ds) == 3);
    b.n = 4;
    CHECK_OK(rd_labels(ds, &b, "s.u8", 0, 0));
    CHECK(l2h_dataset_label_kind(ds) == L2H_LABELS_SINGLE && l2h_dataset_n_labels(ds) == 2);
    b.n = 5;
    EXPECT_ERR(rd_labels(ds, &b, "s.u8", 1, 0), L2H_ERR_ARG, "s.u8",
               "5 label rows but the dataset has 4");
    CHECK_OK(rd_labels(ds, &b, "s.u8", 1, 4)); /* max_rows: the first 4 of 5 */
    /* IDX labels */
    const uint32_t d4[1] = {4};
    make_idx(&b, 1, d4, 0);
    CHECK_OK(rd_labels(ds, &b, "train-labels-idx1-ubyte", 0, 0));
    CHECK(l2h_dataset_label_kind(ds) == L2H_LABELS_SINGLE && l2h_dataset_labels(ds)[3] == 21);
    /* npy */
    const int64_t i8[4] = {5, 0, 0, 1};
    make_npy(&b, 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (4,), }", i8, 32);
    CHECK_OK(rd_labels(ds, &b, "l.npy", 0, 0));
    CHECK(l2h_dataset_n_labels(ds) == 6 && l2h_dataset_labels(ds)[0] == 5);
    make_npy(&b, 1, "{'descr': '|b1', 'fortran_order': False, 'shape': (4,), }", y, 4);
    CHECK_OK(rd_labels(ds, &b, "b.npy", 0, 0));
    CHECK(l2h_dataset_label_kind(ds) == L2H_LABELS_MULTI && l2h_dataset_n_labels(ds) == 1);
    make_npy(&b, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", npy_f, 16);
    EXPECT_ERR(rd_labels(ds, &b, "f.npy", 0, 0), L2H_ERR_FORMAT, "f.npy", "integers");
    EXPECT_ERR(rd_labels(ds, &b, "f.f32", 1, 0), L2H_ERR_UNSUPPORTED, "f.f32", "cannot be read");
    char path[512];
    tmp_path(path, "none.ivecs");
    EXPECT_ERR(l2h_dataset_read_labels(ds, path, NULL), L2H_ERR_IO, path, "cannot open");
    l2h_dataset_free(ds);
    free(b.p);
}

/* ---- named datasets --------------------------------------------------------------------- */

static void write_idx(const char *dir, const char *file, int k, const uint32_t *dims, int gz)
{
    bytes b = {0}, g = {0};
    char path[600];
    make_idx(&b, k, dims, 0);
    if (gz) gzip_into(&g, b.p, b.n);
    snprintf(path, sizeof path, "%s/%s", dir, file);
    write_file(path, gz ? g.p : b.p, gz ? g.n : b.n);
    free(b.p);
    free(g.p);
}

static void test_named_fake(void)
{
    l2h_dataset *ds = NULL;
    size_t n_train = 99;
    EXPECT_ERR(l2h_dataset_load_named(&ds, "mnist", &n_train), L2H_ERR_ARG, "unknown dataset",
               "fashion-mnist");
    CHECK(n_train == 0);
    /* fashion-mnist from a folder of tiny files, one of them not compressed */
    char dir[512];
    tmp_path(dir, "fm");
    mkdir(dir, 0755);
    const uint32_t tr[3] = {3, 2, 2}, te[3] = {2, 2, 2}, trl[1] = {3}, tel[1] = {2};
    setenv("L2H_FASHION_MNIST_DIR", dir, 1);
    EXPECT_ERR(l2h_dataset_load_named(&ds, "fashion-mnist", &n_train), L2H_ERR_IO,
               "fashion-mnist", "apt-get install dataset-fashion-mnist");
    write_idx(dir, "train-images-idx3-ubyte.gz", 3, tr, 1);
    write_idx(dir, "train-labels-idx1-ubyte.gz", 1, trl, 1);
    write_idx(dir, "t10k-images-idx3-ubyte", 3, te, 0);
    write_idx(dir, "t10k-labels-idx1-ubyte.gz", 1, tel, 1);
    CHECK_OK(l2h_dataset_load_named(&ds, "fashion-mnist", &n_train));
    if (ds) {
        CHECK(l2h_dataset_n(ds) == 5 && l2h_dataset_dim(ds) == 4 && n_train == 3);
        CHECK(l2h_dataset_features(ds)[11] == (float)(11 * 7) / 255.0f); /* train row 2 */
        CHECK(l2h_dataset_features(ds)[12 + 5] == 35.0f / 255.0f);      /* test row 1 */
        CHECK(l2h_dataset_labels(ds)[2] == 14 && l2h_dataset_labels(ds)[4] == 7);
    }
    l2h_dataset_free(ds);
    write_idx(dir, "t10k-labels-idx1-ubyte.gz", 1, trl, 1); /* 3 labels for 2 images */
    EXPECT_ERR(l2h_dataset_load_named(&ds, "fashion-mnist", &n_train), L2H_ERR_FORMAT, dir,
               "expected 2 labels");
    unsetenv("L2H_FASHION_MNIST_DIR");

    /* scene and cifar10 under $L2H_DATA_DIR */
    char data[512], sub[600], path[700];
    tmp_path(data, "data");
    mkdir(data, 0755);
    snprintf(sub, sizeof sub, "%s/scene", data);
    mkdir(sub, 0755);
    const char *att = "@relation s\n@attribute a numeric\n@attribute b numeric\n"
                      "@attribute L1 {0,1}\n@attribute L2 {0,1}\n@attribute L3 {0,1}\n"
                      "@attribute L4 {0,1}\n@attribute L5 {0,1}\n@attribute L6 {0,1}\n@data\n";
    char train[512], test[512], trpath[700];
    snprintf(train, sizeof train, "%s1,2,1,0,0,0,0,0\n3,4,0,0,0,0,0,1\n", att);
    snprintf(test, sizeof test, "%s5,6,0,1,1,0,0,0\n", att);
    setenv("L2H_DATA_DIR", data, 1);
    EXPECT_ERR(l2h_dataset_load_named(&ds, "scene", &n_train), L2H_ERR_IO, "scene",
               "scene/scene-train.arff");
    snprintf(trpath, sizeof trpath, "%s/scene-train.arff", sub);
    write_file(trpath, "@relation s\n@attribute a numeric\n@data\n1\n", 41);
    snprintf(path, sizeof path, "%s/scene-test.arff", sub);
    write_file(path, test, strlen(test));
    EXPECT_ERR(l2h_dataset_load_named(&ds, "scene", &n_train), L2H_ERR_ARG, trpath, "6 label");
    write_file(trpath, train, strlen(train));
    CHECK_OK(l2h_dataset_load_named(&ds, "scene", &n_train));
    if (ds) {
        const uint8_t y[18] = {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 0, 0, 0};
        const float x[6] = {1, 2, 3, 4, 5, 6};
        CHECK(l2h_dataset_n(ds) == 3 && l2h_dataset_dim(ds) == 2 && n_train == 2);
        CHECK(l2h_dataset_n_labels(ds) == 6 && memcmp(l2h_dataset_multilabels(ds), y, 18) == 0);
        CHECK_ALL_NEAR(6, l2h_dataset_features(ds), x, 0, 0);
    }
    l2h_dataset_free(ds);
    EXPECT_ERR(l2h_dataset_load_named(&ds, "cifar10-gist", &n_train), L2H_ERR_IO, "cifar10-gist",
               "/data/cifar10/cifar10_gist512.f16");
    unsetenv("L2H_DATA_DIR");
}

static void test_named_real(void)
{
    l2h_dataset *ds = NULL;
    size_t n_train = 0;
    l2h_status st = l2h_dataset_load_named(&ds, "scene", &n_train);
    if (st == L2H_ERR_IO) {
        printf("note: scene ARFF files not found, skipped (%s)\n", l2h_last_error());
    } else {
        CHECK_OK(st);
        CHECK(ds && l2h_dataset_n(ds) == 2407 && l2h_dataset_dim(ds) == 294 && n_train == 1211);
        CHECK(ds && l2h_dataset_label_kind(ds) == L2H_LABELS_MULTI &&
              l2h_dataset_n_labels(ds) == 6);
        if (ds && l2h_dataset_n(ds) == 2407) {
            const long want[2][6] = {{227, 165, 197, 196, 277, 224},
                                     {200, 199, 200, 237, 256, 207}};
            long got[2][6] = {{0}};
            for (size_t i = 0; i < 2407; i++)
                for (int j = 0; j < 6; j++)
                    got[i >= 1211][j] += l2h_dataset_multilabels(ds)[i * 6 + j];
            CHECK(memcmp(got, want, sizeof got) == 0);
            CHECK_NEAR(l2h_dataset_features(ds)[0], 0.646467, 1e-6, 0);
        }
    }
    l2h_dataset_free(ds);
    ds = NULL;

    st = l2h_dataset_load_named(&ds, "fashion-mnist", &n_train);
    if (st == L2H_ERR_IO) {
        printf("note: fashion-mnist not installed, skipped (%s)\n", l2h_last_error());
    } else {
        CHECK_OK(st);
        CHECK(ds && l2h_dataset_n(ds) == 70000 && l2h_dataset_dim(ds) == 784 && n_train == 60000);
        CHECK(ds && l2h_dataset_label_kind(ds) == L2H_LABELS_SINGLE &&
              l2h_dataset_n_labels(ds) == 10);
        if (ds && l2h_dataset_n(ds) == 70000) {
            long count[10] = {0};
            for (size_t i = 0; i < 70000; i++) count[l2h_dataset_labels(ds)[i]]++;
            int ok = 1;
            for (int c = 0; c < 10; c++) ok &= count[c] == 7000;
            CHECK(ok);
            float lo = 1, hi = 0;
            const float *x = l2h_dataset_features(ds);
            for (size_t i = 0; i < 70000 * 784; i++) {
                lo = x[i] < lo ? x[i] : lo;
                hi = x[i] > hi ? x[i] : hi;
            }
            CHECK(lo == 0.0f && hi == 1.0f);
        }
    }
    l2h_dataset_free(ds);

    for (int cnn = 0; cnn < 2; cnn++) {
        ds = NULL;
        st = l2h_dataset_load_named(&ds, cnn ? "cifar10-cnn" : "cifar10-gist", &n_train);
        if (st == L2H_ERR_IO) {
            printf("note: CIFAR-10 features not found, skipped (%s)\n", l2h_last_error());
            continue;
        }
        CHECK_OK(st);
        CHECK(ds && l2h_dataset_n(ds) == 60000 && l2h_dataset_dim(ds) == (cnn ? 1024u : 512u) &&
              n_train == 50000);
        if (ds && l2h_dataset_n(ds) == 60000) {
            long count[10] = {0};
            for (size_t i = 0; i < 60000; i++) count[l2h_dataset_labels(ds)[i] % 10]++;
            CHECK(count[0] == 6000 && count[9] == 6000 && l2h_dataset_n_labels(ds) == 10);
            /* the first row's first value, decoded by hand from the file */
            char fpath[4096];
            const char *root = getenv("L2H_DATA_DIR");
            snprintf(fpath, sizeof fpath, "%s/cifar10/%s", root && *root ? root : "../shared/data",
                     cnn ? "cifar10_mobilenetv1_1024.u8" : "cifar10_gist512.f16");
            FILE *f = fopen(fpath, "rb");
            uint8_t head[2] = {0, 0};
            if (f && fread(head, 1, 2, f) == 2) {
                const float want = cnn ? (float)head[0] * 0.023528f
                                       : l2h_half_to_float((uint16_t)(head[0] | head[1] << 8));
                CHECK(l2h_dataset_features(ds)[0] == want);
            }
            if (f) fclose(f);
        }
        l2h_dataset_free(ds);
    }
}

int main(void)
{
    if (!io_test_setup()) return 1;
    test_arff();
    test_labels();
    test_named_fake();
    test_named_real();
    io_test_teardown();
    return check_report();
}
