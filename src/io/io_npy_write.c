/* io_npy_write.c -- .npy output (packed codes as uint8, float32 matrices) and the codes reader
 * used by `l2h search`.
 *
 * Written files are .npy version 1.0, as numpy.save writes them: magic "\x93NUMPY", 1, 0, a
 * uint16 header length, then "{'descr': '|u1', 'fortran_order': False, 'shape': (n, B), }"
 * padded with spaces and ended by '\n' so that the data starts at a multiple of 64 bytes, then
 * the data in C order, little endian. Files go through l2h_write_atomic. */
#include "io_read.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define NPY_ALIGN 64

/* Writes the version 1.0 header into out (>= 256 bytes); returns its size. */
static size_t npy_header(uint8_t *out, const char *descr, size_t rows, size_t cols)
{
    char dict[160];
    const int n = snprintf(dict, sizeof dict,
                           "{'descr': '%s', 'fortran_order': False, 'shape': (%zu, %zu), }",
                           descr, rows, cols);
    L2H_ASSERT(n > 0 && (size_t)n < sizeof dict);
    const size_t total = (10 + (size_t)n + 1 + NPY_ALIGN - 1) / NPY_ALIGN * NPY_ALIGN;
    const size_t hlen = total - 10;
    memcpy(out, "\x93NUMPY\x01\x00", 8);
    out[8] = (uint8_t)(hlen & 0xff);
    out[9] = (uint8_t)(hlen >> 8);
    memcpy(out + 10, dict, (size_t)n);
    memset(out + 10 + n, ' ', hlen - (size_t)n - 1);
    out[total - 1] = '\n';
    return total;
}

typedef struct codes_ctx {
    const uint8_t *codes;
    size_t n, bytes;
} codes_ctx;

static l2h_status write_codes(FILE *f, const char *path, void *vctx)
{
    const codes_ctx *c = vctx;
    uint8_t hdr[256];
    const size_t h = npy_header(hdr, "|u1", c->n, c->bytes);
    L2H_TRY(l2h_fwrite_all(f, hdr, h, path));
    return l2h_fwrite_all(f, c->codes, c->n * c->bytes, path);
}

l2h_status l2h_codes_write_npy(const char *path, const uint8_t *codes, size_t n, size_t bits)
{
    L2H_FAIL_IF(path == NULL, L2H_ERR_ARG, "codes: NULL path");
    L2H_FAIL_IF(bits == 0, L2H_ERR_ARG, "%s: code length must be at least 1 bit", path);
    L2H_FAIL_IF(codes == NULL && n > 0, L2H_ERR_ARG, "%s: NULL codes", path);
    codes_ctx c = {codes, n, (bits + 7) / 8};
    size_t total;
    L2H_FAIL_IF(!l2h_mul_ok(c.n, c.bytes, &total), L2H_ERR_ARG, "%s: %zu codes too large", path,
                n);
    return l2h_write_atomic(path, write_codes, &c);
}

typedef struct f32_ctx {
    const float *x;
    size_t rows, cols;
} f32_ctx;

static l2h_status write_f32(FILE *f, const char *path, void *vctx)
{
    const f32_ctx *c = vctx;
    uint8_t hdr[256];
    const size_t h = npy_header(hdr, "<f4", c->rows, c->cols);
    L2H_TRY(l2h_fwrite_all(f, hdr, h, path));
    /* little endian whatever the host, in chunks */
    uint8_t chunk[4096];
    const size_t total = c->rows * c->cols;
    for (size_t i = 0; i < total;) {
        size_t k = 0;
        for (; k < sizeof chunk / 4 && i < total; k++, i++) {
            uint32_t b;
            memcpy(&b, &c->x[i], sizeof b);
            l2h_wr_le32(chunk + 4 * k, b);
        }
        L2H_TRY(l2h_fwrite_all(f, chunk, 4 * k, path));
    }
    return L2H_OK;
}

l2h_status l2h_write_npy_f32(const char *path, const float *x, size_t rows, size_t cols)
{
    L2H_FAIL_IF(path == NULL, L2H_ERR_ARG, "npy: NULL path");
    size_t count;
    L2H_FAIL_IF(!l2h_mul_ok(rows, cols, &count) || count > SIZE_MAX / 4, L2H_ERR_ARG,
                "%s: %zu x %zu is too large", path, rows, cols);
    L2H_FAIL_IF(x == NULL && count > 0, L2H_ERR_ARG, "%s: NULL data", path);
    f32_ctx c = {x, rows, cols};
    return l2h_write_atomic(path, write_f32, &c);
}

/* ---- reading packed codes --------------------------------------------------------------- */

/* Opens a codes file (header and size validated by l2h_npy_open), checks that it holds packed
 * codes, leaves *f at the first data byte. */
static l2h_status open_codes(const char *path, FILE **out, l2h_npy_header *h)
{
    L2H_TRY(l2h_npy_open(path, out, h));
    l2h_status st = L2H_OK;
    if (h->elem != L2H_ELEM_U8 || h->ndim != 2)
        st = l2h_set_error(L2H_ERR_FORMAT,
                           "%s: not packed codes: expected a 2-D uint8 array, found %zu-D %s", path,
                           h->ndim, l2h_elem_name(h->elem));
    else if (h->cols == 0)
        st = l2h_set_error(L2H_ERR_FORMAT, "%s: codes of 0 bytes", path);
    if (st != L2H_OK) {
        fclose(*out);
        *out = NULL;
    }
    return st;
}

l2h_status l2h_codes_npy_shape(const char *path, size_t *n, size_t *bytes)
{
    L2H_FAIL_IF(path == NULL || n == NULL || bytes == NULL, L2H_ERR_ARG, "codes: NULL argument");
    FILE *f;
    l2h_npy_header h;
    L2H_TRY(open_codes(path, &f, &h));
    fclose(f);
    *n = h.rows;
    *bytes = h.cols;
    return L2H_OK;
}

l2h_status l2h_codes_read_npy(const char *path, uint8_t *out, size_t n, size_t bytes)
{
    L2H_FAIL_IF(path == NULL || (out == NULL && n * bytes > 0), L2H_ERR_ARG,
                "codes: NULL argument");
    FILE *f;
    l2h_npy_header h;
    L2H_TRY(open_codes(path, &f, &h));
    l2h_status st = L2H_OK;
    if (h.rows != n || h.cols != bytes)
        st = l2h_set_error(L2H_ERR_ARG, "%s: holds %zu x %zu bytes of codes, expected %zu x %zu",
                           path, h.rows, h.cols, n, bytes);
    else if (fread(out, 1, h.data_bytes, f) != h.data_bytes)
        st = l2h_set_error(L2H_ERR_IO, "%s: read failed", path);
    fclose(f);
    return st;
}
