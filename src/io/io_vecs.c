/* io_vecs.c -- the TEXMEX .fvecs / .ivecs / .bvecs formats (SIFT1M, GIST1M, BIGANN).
 *
 * Layout, per row, no file header:
 *   int32 d (little endian, the same in every row, > 0)
 *   d elements: float32 (fvecs), int32 (ivecs) or uint8 (bvecs), little endian
 * The file is a whole number of rows. A row whose dimension differs from row 0's, a file that
 * ends inside a row, and an empty file are L2H_ERR_FORMAT. */
#include "io_read.h"

#include <string.h>

/* Refuse dimensions whose row size would overflow, and absurd ones: 2^28 elements per row is far
 * above any real vecs file and keeps every product far below SIZE_MAX on 64-bit hosts. */
#define VECS_MAX_DIM ((size_t)1 << 28)

static const char *vecs_kind(l2h_elem e)
{
    return e == L2H_ELEM_F32 ? "fvecs" : e == L2H_ELEM_I32 ? "ivecs" : "bvecs";
}

l2h_status l2h_vecs_view(const uint8_t *buf, size_t len, const char *name, l2h_elem elem,
                         size_t max_rows, l2h_mat_view *v)
{
    memset(v, 0, sizeof *v);
    L2H_FAIL_IF(elem != L2H_ELEM_F32 && elem != L2H_ELEM_I32 && elem != L2H_ELEM_U8, L2H_ERR_ARG,
                "%s: vecs element type must be float32, int32 or uint8", name);
    const char *kind = vecs_kind(elem);
    L2H_FAIL_IF(len == 0, L2H_ERR_FORMAT, "%s: empty %s file (no rows)", name, kind);
    L2H_FAIL_IF(len < 4, L2H_ERR_FORMAT,
                "%s: truncated: %zu bytes, a %s row starts with a 4-byte dimension", name, len,
                kind);
    const int32_t d0 = (int32_t)l2h_rd_le32(buf);
    L2H_FAIL_IF(d0 <= 0, L2H_ERR_FORMAT, "%s: row 0: dimension %d is not positive", name,
                (int)d0);
    const size_t dim = (size_t)d0;
    L2H_FAIL_IF(dim > VECS_MAX_DIM, L2H_ERR_FORMAT, "%s: row 0: dimension %zu is implausibly large",
                name, dim);
    const size_t row_bytes = 4 + dim * l2h_elem_size(elem);
    L2H_FAIL_IF(row_bytes > len, L2H_ERR_FORMAT,
                "%s: truncated: row 0 declares %zu values (%zu bytes) but the file has %zu bytes",
                name, dim, row_bytes, len);
    /* Walk the rows so the first inconsistent one is named; stop after max_rows. */
    size_t rows = 0, off = 0;
    while (off < len && (max_rows == 0 || rows < max_rows)) {
        L2H_FAIL_IF(len - off < 4, L2H_ERR_FORMAT,
                    "%s: truncated: %zu stray bytes after row %zu (a row is %zu bytes)", name,
                    len - off, rows - 1, row_bytes);
        const int32_t d = (int32_t)l2h_rd_le32(buf + off);
        L2H_FAIL_IF(d != d0, L2H_ERR_FORMAT,
                    "%s: row %zu has dimension %d but row 0 has %zu (rows must agree)", name, rows,
                    (int)d, dim);
        L2H_FAIL_IF(len - off < row_bytes, L2H_ERR_FORMAT,
                    "%s: truncated: row %zu has %zu of its %zu bytes", name, rows, len - off,
                    row_bytes);
        off += row_bytes;
        rows++;
    }
    v->data = buf + 4;
    v->rows = rows;
    v->cols = dim;
    v->stride = row_bytes;
    v->elem = elem;
    v->one_d = 0;
    return L2H_OK;
}
