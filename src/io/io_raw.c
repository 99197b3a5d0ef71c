/* io_raw.c -- headerless row-major matrices: float32 (.f32), IEEE half (.f16) or uint8 (.u8),
 * little endian, `dim` values per row given by the caller. The file must be a whole, non-zero
 * number of rows. */
#include "io_read.h"

#include <string.h>

l2h_status l2h_raw_view(const uint8_t *buf, size_t len, const char *name, l2h_elem elem,
                        size_t dim, size_t max_rows, l2h_mat_view *v)
{
    memset(v, 0, sizeof *v);
    L2H_FAIL_IF(elem != L2H_ELEM_F32 && elem != L2H_ELEM_F16 && elem != L2H_ELEM_U8, L2H_ERR_ARG,
                "%s: headerless matrices are float32, float16 or uint8", name);
    L2H_FAIL_IF(dim == 0, L2H_ERR_ARG,
                "%s: a headerless %s matrix needs its row length (dim) to be given", name,
                l2h_elem_name(elem));
    size_t row_bytes;
    L2H_FAIL_IF(!l2h_mul_ok(dim, l2h_elem_size(elem), &row_bytes), L2H_ERR_ARG,
                "%s: dim %zu is too large", name, dim);
    L2H_FAIL_IF(len == 0, L2H_ERR_FORMAT, "%s: empty file (no rows)", name);
    L2H_FAIL_IF(len % row_bytes != 0, L2H_ERR_FORMAT,
                "%s: truncated or wrong dim: %zu bytes is not a whole number of %zu-byte rows "
                "(%zu x %s); %zu bytes left over",
                name, len, row_bytes, dim, l2h_elem_name(elem), len % row_bytes);
    const size_t rows = len / row_bytes;
    v->data = buf;
    v->rows = (max_rows && max_rows < rows) ? max_rows : rows;
    v->cols = dim;
    v->stride = row_bytes;
    v->elem = elem;
    v->one_d = 0;
    return L2H_OK;
}
