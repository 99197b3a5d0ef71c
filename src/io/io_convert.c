/* io_convert.c -- element types and the conversion of a parsed matrix view to float features,
 * class ids or 0/1 label rows. All reads are byte-wise little endian, so views may be unaligned
 * and the code does not depend on the host's byte order. */
#include "io_read.h"

#include <math.h>
#include <string.h>

static const struct {
    size_t size;
    const char *name;
} elems[] = {
    [L2H_ELEM_U8] = {1, "uint8"},   [L2H_ELEM_B1] = {1, "bool"},
    [L2H_ELEM_I32] = {4, "int32"},  [L2H_ELEM_I64] = {8, "int64"},
    [L2H_ELEM_F16] = {2, "float16"}, [L2H_ELEM_F32] = {4, "float32"},
    [L2H_ELEM_F64] = {8, "float64"},
};
/* sized by the initialiser and pinned, so a new element type fails here until it has an entry */
_Static_assert(sizeof elems / sizeof elems[0] == L2H_ELEM_COUNT, "one entry per element type");
_Static_assert(L2H_ELEM_COUNT == 7, "an element type was added: give it an entry above");

size_t l2h_elem_size(l2h_elem e)
{
    return elems[e].size;
}

const char *l2h_elem_name(l2h_elem e)
{
    return elems[e].name;
}

void l2h_view_free(l2h_mat_view *v)
{
    if (!v) return;
    l2h_free(v->owned);
    memset(v, 0, sizeof *v);
}

float l2h_half_to_float(uint16_t h)
{
    const uint32_t sign = (uint32_t)(h >> 15) << 31;
    const uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0) {
        /* zero or subnormal: m * 2^-24, exact in float */
        const float f = (float)m * 0x1p-24f;
        return sign ? -f : f;
    }
    uint32_t bits;
    if (e == 31) bits = sign | 0x7f800000u | (m << 13); /* inf, or NaN keeping its payload */
    else bits = sign | ((e + 112u) << 23) | (m << 13);  /* rebias 15 -> 127 */
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static float rd_f32(const uint8_t *p)
{
    const uint32_t b = l2h_rd_le32(p);
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

static double rd_f64(const uint8_t *p)
{
    const uint64_t b = l2h_rd_le64(p);
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

/* Element j of a row as a signed integer (integer and bool types only). */
static int64_t rd_int(const uint8_t *row, l2h_elem e, size_t j)
{
    switch (e) {
    case L2H_ELEM_U8:
    case L2H_ELEM_B1: return row[j];
    case L2H_ELEM_I32: return (int32_t)l2h_rd_le32(row + 4 * j);
    case L2H_ELEM_I64: return (int64_t)l2h_rd_le64(row + 8 * j);
    default: return 0;
    }
}

static void row_to_float(const uint8_t *src, l2h_elem e, size_t cols, float *dst)
{
    switch (e) {
    case L2H_ELEM_U8:
    case L2H_ELEM_B1:
        for (size_t j = 0; j < cols; j++) dst[j] = (float)src[j];
        break;
    case L2H_ELEM_I32:
        for (size_t j = 0; j < cols; j++) dst[j] = (float)(int32_t)l2h_rd_le32(src + 4 * j);
        break;
    case L2H_ELEM_I64:
        for (size_t j = 0; j < cols; j++) dst[j] = (float)(int64_t)l2h_rd_le64(src + 8 * j);
        break;
    case L2H_ELEM_F16:
        for (size_t j = 0; j < cols; j++)
            dst[j] = l2h_half_to_float((uint16_t)(src[2 * j] | src[2 * j + 1] << 8));
        break;
    case L2H_ELEM_F32:
        for (size_t j = 0; j < cols; j++) dst[j] = rd_f32(src + 4 * j);
        break;
    case L2H_ELEM_F64:
        for (size_t j = 0; j < cols; j++) dst[j] = (float)rd_f64(src + 8 * j);
        break;
    default: break;
    }
}

static int is_float_elem(l2h_elem e)
{
    return e == L2H_ELEM_F16 || e == L2H_ELEM_F32 || e == L2H_ELEM_F64;
}

l2h_status l2h_view_to_float(const l2h_mat_view *v, const char *name, float *dst)
{
    const int check = is_float_elem(v->elem);
    const size_t es = l2h_elem_size(v->elem);
    for (size_t i = 0; i < v->rows; i++) {
        const uint8_t *src = v->data + i * v->stride;
        float *row = dst + i * v->cols;
        row_to_float(src, v->elem, v->cols, row);
        if (!check) continue;
        for (size_t j = 0; j < v->cols; j++) {
            if (isfinite(row[j])) continue;
            if (v->elem == L2H_ELEM_F64 && isfinite(rd_f64(src + es * j)))
                L2H_FAIL(L2H_ERR_NUMERIC, "%s: row %zu, column %zu: %g overflows float32", name, i,
                         j, rd_f64(src + es * j));
            L2H_FAIL(L2H_ERR_NUMERIC, "%s: row %zu, column %zu is %s", name, i, j,
                     isnan(row[j]) ? "NaN" : "infinite");
        }
    }
    return L2H_OK;
}

static l2h_status check_int_type(const l2h_mat_view *v, const char *name)
{
    L2H_FAIL_IF(is_float_elem(v->elem), L2H_ERR_FORMAT,
                "%s: labels must be integers or booleans, not %s", name, l2h_elem_name(v->elem));
    return L2H_OK;
}

l2h_status l2h_view_to_classes(const l2h_mat_view *v, const char *name, int32_t *dst)
{
    L2H_TRY(check_int_type(v, name));
    L2H_FAIL_IF(v->cols != 1, L2H_ERR_FORMAT,
                "%s: single labels need one value per row, rows have %zu", name, v->cols);
    L2H_FAIL_IF(v->elem == L2H_ELEM_B1, L2H_ERR_FORMAT,
                "%s: a bool array holds 0/1 labels, not class ids", name);
    for (size_t i = 0; i < v->rows; i++) {
        const int64_t c = rd_int(v->data + i * v->stride, v->elem, 0);
        L2H_FAIL_IF(c < 0 || c > INT32_MAX, L2H_ERR_FORMAT,
                    "%s: row %zu: class %lld is outside [0, 2^31)", name, i, (long long)c);
        dst[i] = (int32_t)c;
    }
    return L2H_OK;
}

l2h_status l2h_view_to_multi(const l2h_mat_view *v, const char *name, uint8_t *dst)
{
    L2H_TRY(check_int_type(v, name));
    for (size_t i = 0; i < v->rows; i++) {
        const uint8_t *row = v->data + i * v->stride;
        for (size_t j = 0; j < v->cols; j++) {
            const int64_t x = rd_int(row, v->elem, j);
            L2H_FAIL_IF(x != 0 && x != 1, L2H_ERR_FORMAT,
                        "%s: row %zu, column %zu: label %lld is not 0 or 1", name, i, j,
                        (long long)x);
            dst[i * v->cols + j] = (uint8_t)x;
        }
    }
    return L2H_OK;
}
