/* io_npy_rows.c -- opening an .npy file with its header checked against the file size, and
 * reading a row range of an .npy matrix without reading the rest of the file.
 *
 * A process that holds one shard of a large matrix (sharded encoding and search, mpi/) reads the
 * header, checks that the file is exactly as large as the header says, then seeks to its first
 * row and reads only its rows. Memory is bounded by the rows asked for, not by the file. */
#include "io_read.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* Largest header accepted (numpy itself refuses more than 10,000 bytes). */
#define NPY_MAX_HEADER ((size_t)1 << 20)

l2h_status l2h_npy_open(const char *path, FILE **out, l2h_npy_header *h)
{
    l2h_status st = L2H_OK;
    uint8_t *hdr = NULL;
    *out = NULL;
    FILE *f = fopen(path, "rb");
    L2H_FAIL_IF(!f, L2H_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode))
        L2H_FAIL_GOTO(L2H_ERR_IO, "%s: not a regular file", path);
    const size_t size = (size_t)sb.st_size;
    uint8_t head[12];
    const size_t n0 = size < sizeof head ? size : sizeof head;
    if (fread(head, 1, n0, f) != n0) L2H_FAIL_GOTO(L2H_ERR_IO, "%s: read failed", path);
    size_t total;
    L2H_CHECK_GOTO(l2h_npy_header_size(head, n0, path, &total));
    if (total > size)
        L2H_FAIL_GOTO(L2H_ERR_FORMAT, "%s: truncated: the header declares %zu bytes, file has %zu",
                      path, total, size);
    if (total > NPY_MAX_HEADER)
        L2H_FAIL_GOTO(L2H_ERR_FORMAT, "%s: .npy header of %zu bytes is implausibly large", path,
                      total);
    /* The declared header may be shorter than the bytes already read (a header length of 0
     * or 1): the buffer holds at least what was read, and only the missing part is read. */
    hdr = l2h_malloc(total > n0 ? total : n0);
    if (!hdr) L2H_FAIL_GOTO(L2H_ERR_NOMEM, "%s: out of memory", path);
    memcpy(hdr, head, n0);
    if (total > n0 && fread(hdr + n0, 1, total - n0, f) != total - n0)
        L2H_FAIL_GOTO(L2H_ERR_IO, "%s: read failed", path);
    if (fseek(f, (long)total, SEEK_SET) != 0)
        L2H_FAIL_GOTO(L2H_ERR_IO, "%s: seek failed: %s", path, strerror(errno));
    L2H_CHECK_GOTO(l2h_npy_parse_header(hdr, total, path, h));
    if (size - total < h->data_bytes)
        L2H_FAIL_GOTO(L2H_ERR_FORMAT, "%s: truncated: shape needs %zu data bytes, file has %zu",
                      path, h->data_bytes, size - total);
    if (size - total > h->data_bytes)
        L2H_FAIL_GOTO(L2H_ERR_FORMAT, "%s: %zu unexpected bytes after the data", path,
                      size - total - h->data_bytes);
    *out = f;
    f = NULL;
done:
    l2h_free(hdr);
    if (f) fclose(f);
    return st;
}

l2h_status l2h_npy_shape(const char *path, size_t *rows, size_t *cols)
{
    L2H_FAIL_IF(path == NULL || rows == NULL || cols == NULL, L2H_ERR_ARG, "npy: NULL argument");
    FILE *f;
    l2h_npy_header h;
    L2H_TRY(l2h_npy_open(path, &f, &h));
    fclose(f);
    *rows = h.rows;
    *cols = h.cols;
    return L2H_OK;
}

/* Reads rows [first, first + count) of an open file into a new buffer and a view over it. */
static l2h_status read_rows(FILE *f, const char *path, const l2h_npy_header *h, size_t first,
                            size_t count, l2h_mat_view *v)
{
    memset(v, 0, sizeof *v);
    L2H_FAIL_IF(first > h->rows || count > h->rows - first, L2H_ERR_ARG,
                "%s: rows %zu..%zu asked, the file has %zu", path, first, first + count, h->rows);
    const size_t stride = h->cols * l2h_elem_size(h->elem); /* <= data_bytes: no overflow */
    size_t len;
    L2H_FAIL_IF(!l2h_mul_ok(count, stride, &len), L2H_ERR_ARG, "%s: row range too large", path);
    const size_t off = first * stride; /* <= data_bytes */
    L2H_FAIL_IF(off > (size_t)INT64_MAX || fseeko(f, (off_t)off, SEEK_CUR) != 0, L2H_ERR_IO,
                "%s: seek failed: %s", path, strerror(errno));
    uint8_t *buf = l2h_malloc(len ? len : 1);
    L2H_FAIL_IF(!buf, L2H_ERR_NOMEM, "%s: out of memory for %zu bytes", path, len);
    if (fread(buf, 1, len, f) != len) {
        l2h_free(buf);
        L2H_FAIL(L2H_ERR_IO, "%s: read failed", path);
    }
    v->data = buf;
    v->owned = buf;
    v->rows = count;
    v->cols = h->cols;
    v->stride = stride;
    v->elem = h->elem;
    v->one_d = h->ndim == 1;
    return L2H_OK;
}

l2h_status l2h_dataset_read_npy_rows(l2h_dataset **out, const char *path, size_t first,
                                     size_t count)
{
    L2H_FAIL_IF(out == NULL, L2H_ERR_ARG, "read: NULL output");
    *out = NULL;
    L2H_FAIL_IF(path == NULL, L2H_ERR_ARG, "read: NULL path");
    FILE *f;
    l2h_npy_header h;
    L2H_TRY(l2h_npy_open(path, &f, &h));
    l2h_mat_view v;
    l2h_status st = read_rows(f, path, &h, first, count, &v);
    fclose(f);
    L2H_TRY(st);
    l2h_dataset *ds = NULL;
    st = h.cols == 0 ? l2h_set_error(L2H_ERR_FORMAT, "%s: rows of 0 columns", path)
                     : l2h_dataset_create(&ds, count, h.cols, NULL);
    if (st == L2H_OK) st = l2h_view_to_float(&v, path, l2h_dataset_features_mut(ds));
    l2h_view_free(&v);
    if (st != L2H_OK) {
        l2h_dataset_free(ds);
        return st;
    }
    *out = ds;
    return L2H_OK;
}

l2h_status l2h_codes_read_npy_rows(const char *path, size_t first, size_t count, size_t bytes,
                                   uint8_t *out)
{
    L2H_FAIL_IF(path == NULL || (out == NULL && count > 0), L2H_ERR_ARG, "codes: NULL argument");
    FILE *f;
    l2h_npy_header h;
    L2H_TRY(l2h_npy_open(path, &f, &h));
    l2h_status st = L2H_OK;
    if (h.elem != L2H_ELEM_U8 || h.ndim != 2)
        st = l2h_set_error(L2H_ERR_FORMAT,
                           "%s: not packed codes: expected a 2-D uint8 array, found %zu-D %s",
                           path, h.ndim, l2h_elem_name(h.elem));
    else if (h.cols != bytes)
        st = l2h_set_error(L2H_ERR_ARG, "%s: holds codes of %zu bytes, expected %zu", path, h.cols,
                           bytes);
    l2h_mat_view v = {0};
    if (st == L2H_OK) st = read_rows(f, path, &h, first, count, &v);
    fclose(f);
    if (st == L2H_OK && count) memcpy(out, v.data, count * bytes);
    l2h_view_free(&v);
    return st;
}
