/* test_safetensors.c -- the safetensors container: writer/reader round trip for every dtype we
 * write (values, alignment, padding, metadata), a file laid out the way other writers do it
 * (unsorted keys, no padding, metadata last, whitespace), one malformed header per validation
 * rule, every truncation refused, writer argument errors. */
#include "check.h"

#include "io_internal.h"
#include "safetensors.h"

#include <string.h>
#include <unistd.h>

/* A file from a header text and `data_len` bytes of data (byte i = i & 0xff). */
static uint8_t *make_raw(const char *header, size_t data_len, size_t *len)
{
    const size_t n = strlen(header);
    *len = 8 + n + data_len;
    uint8_t *b = malloc(*len);
    l2h_wr_le64(b, n);
    memcpy(b + 8, header, n);
    for (size_t i = 0; i < data_len; i++) b[8 + n + i] = (uint8_t)i;
    return b;
}

static l2h_status parse_raw(const char *header, size_t data_len)
{
    size_t len;
    uint8_t *b = make_raw(header, data_len, &len);
    l2h_st_file *f = (l2h_st_file *)b; /* must be reset to NULL on failure */
    const l2h_status st = l2h_st_parse(&f, b, len, "bad.safetensors");
    if (st != L2H_OK) {
        CHECK(f == NULL);
        CHECK(strncmp(l2h_last_error(), "bad.safetensors: ", 17) == 0);
    }
    l2h_st_file_free(f);
    free(b);
    return st;
}

static void test_round_trip(void)
{
    const float f32[6] = {1.5f, -2.0f, 3.25f, 0.0f, -0.0f, 1e30f};
    const double f64[2] = {3.141592653589793, -1e-300};
    const int32_t i32[3] = {-7, 0, 2147483647};
    const int64_t i64[1] = {-9007199254740993LL};
    const uint8_t u8[5] = {0, 1, 127, 128, 255};
    const float scalar = 42.0f;
    l2h_st_writer *w;
    CHECK_OK(l2h_st_writer_create(&w));
    const size_t s23[2] = {2, 3}, s2 = 2, s3 = 3, s1 = 1, s5 = 5, s0 = 0;
    /* U8 first and an odd-length name: the writer must still align the wider types. */
    CHECK_OK(l2h_st_writer_add(w, "u8", L2H_ST_U8, 1, &s5, u8));
    CHECK_OK(l2h_st_writer_add(w, "a.f32", L2H_ST_F32, 2, s23, f32));
    CHECK_OK(l2h_st_writer_add(w, "f64", L2H_ST_F64, 1, &s2, f64));
    CHECK_OK(l2h_st_writer_add(w, "i32", L2H_ST_I32, 1, &s3, i32));
    CHECK_OK(l2h_st_writer_add(w, "i64", L2H_ST_I64, 1, &s1, i64));
    CHECK_OK(l2h_st_writer_add(w, "scalar", L2H_ST_F32, 0, NULL, &scalar));
    CHECK_OK(l2h_st_writer_add(w, "empty", L2H_ST_U8, 1, &s0, NULL));
    CHECK_OK(l2h_st_writer_set_meta(w, "k", "old"));
    CHECK_OK(l2h_st_writer_set_meta(w, "format", "test"));
    CHECK_OK(l2h_st_writer_set_meta(w, "k", "v \"quoted\" é"));

    uint8_t *buf;
    size_t len;
    CHECK_OK(l2h_st_writer_to_mem(w, &buf, &len));
    const uint64_t hlen = l2h_rd_le64(buf);
    CHECK_EQ_I(hlen % 8, 0);
    CHECK(buf[8] == '{');
    CHECK(buf[8 + hlen - 1] == ' ' || buf[8 + hlen - 1] == '}');

    l2h_st_file *f;
    CHECK_OK(l2h_st_parse(&f, buf, len, "rt.safetensors"));
    CHECK_EQ_I(l2h_st_n_tensors(f), 7);
    CHECK_EQ_I(l2h_st_n_meta(f), 2);
    CHECK(strcmp(l2h_st_meta(f, "k"), "v \"quoted\" é") == 0);
    CHECK(strcmp(l2h_st_meta(f, "format"), "test") == 0);
    CHECK(l2h_st_meta(f, "absent") == NULL);
    for (size_t i = 0; i < l2h_st_n_tensors(f); i++) {
        const l2h_st_tensor *t = l2h_st_tensor_at(f, i);
        CHECK_EQ_I(t->begin % l2h_st_dtype_size(t->dtype), 0); /* aligned in the file */
        CHECK_EQ_I((size_t)(t->data - buf) % l2h_st_dtype_size(t->dtype), 0);
    }
    float g32[6];
    double g64[2];
    int32_t g_i32[3];
    int64_t g_i64[1];
    uint8_t g_u8[5];
    float gs = 0;
    CHECK_OK(l2h_st_read(f, "a.f32", L2H_ST_F32, 2, s23, g32));
    CHECK(memcmp(g32, f32, sizeof f32) == 0);
    CHECK_OK(l2h_st_read(f, "f64", L2H_ST_F64, 1, &s2, g64));
    CHECK(memcmp(g64, f64, sizeof f64) == 0);
    CHECK_OK(l2h_st_read(f, "i32", L2H_ST_I32, 1, &s3, g_i32));
    CHECK(memcmp(g_i32, i32, sizeof i32) == 0);
    CHECK_OK(l2h_st_read(f, "i64", L2H_ST_I64, 1, &s1, g_i64));
    CHECK(g_i64[0] == i64[0]);
    CHECK_OK(l2h_st_read(f, "u8", L2H_ST_U8, 1, &s5, g_u8));
    CHECK(memcmp(g_u8, u8, sizeof u8) == 0);
    CHECK_OK(l2h_st_read(f, "scalar", L2H_ST_F32, 0, NULL, &gs));
    CHECK(gs == 42.0f);
    CHECK_OK(l2h_st_read(f, "empty", L2H_ST_U8, 1, &s0, NULL));
    const l2h_st_tensor *e = l2h_st_find(f, "empty");
    CHECK(e != NULL && e->numel == 0 && e->ndim == 1);

    /* lookups with the wrong expectations */
    const size_t s32[2] = {3, 2};
    CHECK_STATUS(l2h_st_read(f, "a.f32", L2H_ST_F32, 2, s32, g32), L2H_ERR_FORMAT);
    CHECK(strstr(l2h_last_error(), "shape [2, 3], expected [3, 2]") != NULL);
    CHECK_STATUS(l2h_st_read(f, "a.f32", L2H_ST_F64, 2, s23, g32), L2H_ERR_FORMAT);
    CHECK(strstr(l2h_last_error(), "dtype F32, expected F64") != NULL);
    CHECK_STATUS(l2h_st_read(f, "a.f32", L2H_ST_F32, 1, &s3, g32), L2H_ERR_FORMAT);
    CHECK_STATUS(l2h_st_read(f, "nope", L2H_ST_F32, 1, &s3, g32), L2H_ERR_FORMAT);
    CHECK(strncmp(l2h_last_error(), "rt.safetensors: tensor 'nope' is missing", 40) == 0);
    l2h_st_file_free(f);

    /* the file on disk holds the same bytes */
    char path[] = "/tmp/l2h_st_XXXXXX";
    const int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    CHECK_OK(l2h_st_writer_save(w, path));
    uint8_t *disk;
    size_t dlen;
    CHECK_OK(l2h_read_file(path, 1 << 20, &disk, &dlen));
    CHECK(dlen == len && memcmp(disk, buf, len) == 0);
    l2h_free(disk);
    unlink(path);

    /* every truncation is refused */
    int refused = 0;
    for (size_t cut = 0; cut < len; cut++) {
        l2h_st_file *t = NULL;
        if (l2h_st_parse(&t, buf, cut, "cut") != L2H_OK && t == NULL) refused++;
        l2h_st_file_free(t);
    }
    CHECK_EQ_I(refused, len);
    /* one byte of extra data is refused too */
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, buf, len);
    longer[len] = 0;
    l2h_st_file *t = NULL;
    CHECK_STATUS(l2h_st_parse(&t, longer, len + 1, "long"), L2H_ERR_FORMAT);
    CHECK(strstr(l2h_last_error(), "1 trailing bytes") != NULL);
    free(longer);
    l2h_free(buf);
    l2h_st_writer_free(w);
}

/* What Python writers produce: keys in any order, metadata last, no padding, spaces and
 * newlines, offsets not in key order. */
static void test_foreign_layout(void)
{
    const char *hdr = "{\n  \"zeta\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [8, 16]},"
                      "\n  \"alpha\": {\"shape\": [1], \"data_offsets\": [0, 8], \"dtype\": \"I64\"},"
                      "\n  \"half\": {\"dtype\": \"F16\", \"shape\": [1, 1], \"data_offsets\": "
                      "[16, 18]},"
                      "\n  \"__metadata__\": {\"format\": \"pt\"}\n}\t\r\n ";
    size_t len;
    uint8_t *b = make_raw(hdr, 18, &len);
    const float zeta[2] = {0.5f, -4.0f};
    const int64_t alpha = 123456789012345LL;
    memcpy(b + len - 18, &alpha, 8);
    memcpy(b + len - 10, zeta, 8);
    l2h_st_file *f;
    CHECK_OK(l2h_st_parse(&f, b, len, "py.safetensors"));
    CHECK_EQ_I(l2h_st_n_tensors(f), 3);
    CHECK(strcmp(l2h_st_tensor_at(f, 0)->name, "zeta") == 0); /* header order kept */
    CHECK(strcmp(l2h_st_meta(f, "format"), "pt") == 0);
    float gz[2];
    int64_t ga;
    const size_t s2 = 2, s1 = 1;
    CHECK_OK(l2h_st_read(f, "zeta", L2H_ST_F32, 1, &s2, gz));
    CHECK(gz[0] == 0.5f && gz[1] == -4.0f);
    CHECK_OK(l2h_st_read(f, "alpha", L2H_ST_I64, 1, &s1, &ga));
    CHECK(ga == alpha);
    CHECK(l2h_st_find(f, "half")->dtype == L2H_ST_F16);
    l2h_st_file_free(f);
    free(b);

    /* no tensors at all, only metadata; and an empty object */
    CHECK_OK(parse_raw("{\"__metadata__\":{}}", 0));
    CHECK_OK(parse_raw("{}", 0));
}

static void test_malformed(void)
{
    static const struct {
        const char *header;
        size_t data;
        const char *why; /* a piece of the expected message */
    } bad[] = {
        {"[]", 0, "must start with '{'"},
        {" {}", 0, "must start with '{'"},
        {"{\"a\": ", 0, "not valid JSON"},
        {"{} x", 0, "after the JSON header"},
        {"{}{}", 0, "after the JSON header"},
        {"{\"__metadata__\": []}", 0, "not an object of strings"},
        {"{\"__metadata__\": {\"k\": 1}}", 0, "is not a string"},
        {"{\"__metadata__\": {\"k\": \"a\", \"k\": \"b\"}}", 0, "duplicate metadata key"},
        {"{\"__metadata__\": {}, \"__metadata__\": {}}", 0, "duplicate \"__metadata__\""},
        {"{\"t\": 5}", 0, "is not an object"},
        {"{\"t\": {\"shape\": [1], \"data_offsets\": [0, 4]}}", 4, "needs a string \"dtype\""},
        {"{\"t\": {\"dtype\": \"F32\", \"data_offsets\": [0, 4]}}", 4, "needs a string"},
        {"{\"t\": {\"dtype\": \"F32\", \"shape\": [1]}}", 4, "needs a string"},
        {"{\"t\": {\"dtype\": \"Q4\", \"shape\": [1], \"data_offsets\": [0, 1]}}", 1,
         "unknown dtype"},
        {"{\"t\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}", 4,
         "integers >= 0"},
        {"{\"t\": {\"dtype\": \"F32\", \"shape\": [1.5], \"data_offsets\": [0, 4]}}", 4,
         "integers >= 0"},
        {"{\"t\": {\"dtype\": \"F32\", \"shape\": [\"1\"], \"data_offsets\": [0, 4]}}", 4,
         "integers >= 0"},
        {"{\"t\": {\"dtype\": \"F32\", \"shape\": [1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1], "
         "\"data_offsets\": [0, 4]}}",
         4, "more than 16 dimensions"},
        {"{\"t\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296, 16], "
         "\"data_offsets\": [0, 4]}}",
         4, "shape overflows"},
        {"{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0]}}", 4,
         "must be [begin, end]"},
        {"{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4, 8]}}", 8,
         "must be [begin, end]"},
        {"{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 1e300]}}", 4,
         "must be [begin, end]"},
        {"{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 0]}}", 4,
         "hold 0 bytes"},
        {"{\"t\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 4]}}", 4,
         "shape needs 8"},
        {"{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}", 8,
         "belong to no tensor"},
        {"{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},"
         " \"u\": {\"dtype\": \"U8\", \"shape\": [2], \"data_offsets\": [2, 4]}}",
         4, "overlaps"},
        {"{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},"
         " \"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}",
         8, "duplicate tensor 't'"},
        {"{\"t\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", 4,
         "truncated"},
        {"{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 5,
         "trailing bytes"},
        {"{}", 3, "no tensor describes them"},
        {"{\"t\xff\": {}}", 0, "not valid UTF-8"},
        {"{\"t\xc0\xaf\": {}}", 0, "not valid UTF-8"},  /* overlong '/' */
        {"{\"t\xed\xa0\x80\": {}}", 0, "not valid UTF-8"}, /* surrogate */
        {"{\"t\x01\": {}}", 0, "not valid UTF-8"},         /* raw control byte */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const l2h_status st = parse_raw(bad[i].header, bad[i].data);
        CHECK_STATUS(st, L2H_ERR_FORMAT);
        if (st != L2H_OK && !strstr(l2h_last_error(), bad[i].why)) {
            fprintf(stderr, "case %zu: message '%s' lacks '%s'\n", i, l2h_last_error(),
                    bad[i].why);
            CHECK(0);
        }
    }

    /* length field problems */
    uint8_t small[12] = {0};
    l2h_st_file *f = NULL;
    CHECK_STATUS(l2h_st_parse(&f, small, 7, "s"), L2H_ERR_FORMAT);
    CHECK(strstr(l2h_last_error(), "not even the 8-byte header length") != NULL);
    l2h_wr_le64(small, 5);
    CHECK_STATUS(l2h_st_parse(&f, small, 12, "s"), L2H_ERR_FORMAT);
    CHECK(strstr(l2h_last_error(), "only 4 bytes follow") != NULL);
    l2h_wr_le64(small, (uint64_t)200 * 1000 * 1000);
    CHECK_STATUS(l2h_st_parse(&f, small, 12, "s"), L2H_ERR_FORMAT);
    CHECK(strstr(l2h_last_error(), "limit") != NULL);
    l2h_wr_le64(small, UINT64_MAX);
    CHECK_STATUS(l2h_st_parse(&f, small, 12, "s"), L2H_ERR_FORMAT);
    l2h_wr_le64(small, 0);
    CHECK_STATUS(l2h_st_parse(&f, small, 8, "s"), L2H_ERR_FORMAT);
    CHECK(f == NULL);
}

static void test_writer_errors(void)
{
    l2h_st_writer *w;
    CHECK_OK(l2h_st_writer_create(&w));
    const float x[2] = {1, 2};
    const size_t s2 = 2;
    size_t big[L2H_ST_MAX_DIMS + 1];
    for (size_t i = 0; i <= L2H_ST_MAX_DIMS; i++) big[i] = 1;
    CHECK_OK(l2h_st_writer_add(w, "x", L2H_ST_F32, 1, &s2, x));
    CHECK_STATUS(l2h_st_writer_add(w, "x", L2H_ST_F32, 1, &s2, x), L2H_ERR_ARG);
    CHECK_STATUS(l2h_st_writer_add(w, "__metadata__", L2H_ST_F32, 1, &s2, x), L2H_ERR_ARG);
    CHECK_STATUS(l2h_st_writer_add(w, "", L2H_ST_F32, 1, &s2, x), L2H_ERR_ARG);
    CHECK_STATUS(l2h_st_writer_add(w, "y", L2H_ST_F32, 1, &s2, NULL), L2H_ERR_ARG);
    CHECK_STATUS(l2h_st_writer_add(w, "z", L2H_ST_F32, L2H_ST_MAX_DIMS + 1, big, x), L2H_ERR_ARG);
    CHECK_STATUS(l2h_st_writer_add(w, "q", L2H_ST_DTYPE_COUNT, 1, &s2, x), L2H_ERR_ARG);
    CHECK_STATUS(l2h_st_writer_add(w, "bad\xff", L2H_ST_F32, 1, &s2, x), L2H_ERR_ARG);
    CHECK_STATUS(l2h_st_writer_set_meta(w, "k", "\xc3"), L2H_ERR_ARG);
    CHECK_STATUS(l2h_st_writer_save(w, ""), L2H_ERR_ARG);
    CHECK_STATUS(l2h_st_writer_save(w, "/nonexistent-dir/x.safetensors"), L2H_ERR_IO);
    /* a control character in metadata is escaped by the writer and read back intact */
    CHECK_OK(l2h_st_writer_set_meta(w, "ctl", "a\tb\001c"));
    uint8_t *buf;
    size_t len;
    CHECK_OK(l2h_st_writer_to_mem(w, &buf, &len));
    l2h_st_file *f;
    CHECK_OK(l2h_st_parse(&f, buf, len, "ctl"));
    CHECK(f && strcmp(l2h_st_meta(f, "ctl"), "a\tb\001c") == 0);
    CHECK_EQ_I(l2h_st_n_tensors(f), 1);
    l2h_st_file_free(f);
    l2h_free(buf);
    l2h_st_writer_free(w);
    l2h_st_writer_free(NULL);
    l2h_st_file_free(NULL);
    CHECK(strcmp(l2h_st_dtype_name(L2H_ST_BF16), "BF16") == 0);
    CHECK(l2h_st_dtype_name(L2H_ST_DTYPE_COUNT) == NULL);
    CHECK_EQ_I(l2h_st_dtype_size(L2H_ST_U64), 8);
}

int main(void)
{
    test_round_trip();
    test_foreign_layout();
    test_malformed();
    test_writer_errors();
    return check_report();
}
