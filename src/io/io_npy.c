/* io_npy.c -- the numpy .npy reader (format versions 1.0, 2.0 and 3.0).
 *
 * Layout:
 *   [0, 6)    magic "\x93NUMPY"
 *   6, 7      major, minor version (1.0, 2.0 or 3.0)
 *   [8, 10)   v1: uint16 little-endian header length HLEN
 *   [8, 12)   v2/v3: uint32 little-endian HLEN
 *   then      HLEN bytes: a Python dict literal, ASCII (v1, v2) or UTF-8 (v3), padded with
 *             spaces and ended by '\n', e.g. {'descr': '<f4', 'fortran_order': False,
 *             'shape': (60000, 784), }
 *   then      the array data, shape[0] * ... * shape[k-1] elements, C order
 *
 * The dictionary parser accepts what Python's ast.literal_eval accepts for these headers: keys
 * in any order, single or double quotes, any whitespace, a trailing comma, tuples "()" "(n,)"
 * "(n, d)" with optional Python 2 "L" suffixes. It requires exactly the three keys descr,
 * fortran_order and shape. Supported dtypes: <f2 <f4 <f8 |u1 <i4 <i8 |b1 ('=' and '|' read as
 * little endian; this reader does not depend on the host's order). Fortran order, big-endian,
 * object, string and structured dtypes are L2H_ERR_UNSUPPORTED; everything malformed is
 * L2H_ERR_FORMAT. The data must fill the rest of the input exactly. */
#include "io_read.h"

#include <string.h>

#define NPY_MAGIC "\x93NUMPY"

l2h_status l2h_npy_header_size(const uint8_t *buf, size_t len, const char *name, size_t *size)
{
    L2H_FAIL_IF(len < 8, L2H_ERR_FORMAT, "%s: truncated: %zu bytes, an .npy header needs >= 10",
                name, len);
    L2H_FAIL_IF(memcmp(buf, NPY_MAGIC, 6) != 0, L2H_ERR_FORMAT,
                "%s: not an .npy file (bad magic, expected \\x93NUMPY)", name);
    const unsigned major = buf[6], minor = buf[7];
    L2H_FAIL_IF(major == 0, L2H_ERR_FORMAT, "%s: invalid .npy version %u.%u", name, major, minor);
    L2H_FAIL_IF(major > 3 || minor != 0, L2H_ERR_VERSION,
                "%s: .npy format version %u.%u is not supported (1.0, 2.0, 3.0)", name, major,
                minor);
    const size_t prefix = major == 1 ? 10 : 12;
    L2H_FAIL_IF(len < prefix, L2H_ERR_FORMAT, "%s: truncated: %zu bytes, header prefix needs %zu",
                name, len, prefix);
    const size_t hlen = major == 1 ? (size_t)(buf[8] | buf[9] << 8) : (size_t)l2h_rd_le32(buf + 8);
    /* The shortest dictionary with the three required keys is well above 16 bytes; a smaller
     * length cannot be a header (and would end the header before its own prefix). */
    L2H_FAIL_IF(hlen < 16, L2H_ERR_FORMAT,
                "%s: bad .npy header: declared header length %zu is too small", name, hlen);
    *size = prefix + hlen;
    return L2H_OK;
}

/* ---- a tiny parser for the header's Python dict literal ---------------------------------- */

typedef struct cursor {
    const char *p, *end;
    const char *name;
} cursor;

static void skip_ws(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int peek(const cursor *c)
{
    return c->p < c->end ? (unsigned char)*c->p : -1;
}

static l2h_status expect(cursor *c, char ch, const char *what)
{
    skip_ws(c);
    L2H_FAIL_IF(peek(c) != (unsigned char)ch, L2H_ERR_FORMAT,
                "%s: bad .npy header: expected '%c' %s", c->name, ch, what);
    c->p++;
    return L2H_OK;
}

static l2h_status parse_string(cursor *c, const char **s, size_t *n)
{
    skip_ws(c);
    const int q = peek(c);
    L2H_FAIL_IF(q != '\'' && q != '"', L2H_ERR_FORMAT, "%s: bad .npy header: expected a string",
                c->name);
    c->p++;
    *s = c->p;
    while (c->p < c->end && *c->p != q) {
        L2H_FAIL_IF(*c->p == '\\', L2H_ERR_FORMAT,
                    "%s: bad .npy header: escape sequences are not allowed in strings", c->name);
        L2H_FAIL_IF(*c->p == '\n', L2H_ERR_FORMAT, "%s: bad .npy header: unterminated string",
                    c->name);
        c->p++;
    }
    L2H_FAIL_IF(c->p >= c->end, L2H_ERR_FORMAT, "%s: bad .npy header: unterminated string",
                c->name);
    *n = (size_t)(c->p - *s);
    c->p++;
    return L2H_OK;
}

static int is_ident_char(int ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_';
}

static l2h_status parse_bool(cursor *c, int *v)
{
    skip_ws(c);
    const char *s = c->p;
    while (c->p < c->end && is_ident_char((unsigned char)*c->p)) c->p++;
    const size_t n = (size_t)(c->p - s);
    if (n == 4 && memcmp(s, "True", 4) == 0) *v = 1;
    else if (n == 5 && memcmp(s, "False", 5) == 0) *v = 0;
    else L2H_FAIL(L2H_ERR_FORMAT, "%s: bad .npy header: fortran_order must be True or False",
                  c->name);
    return L2H_OK;
}

static l2h_status parse_uint(cursor *c, size_t *v)
{
    skip_ws(c);
    L2H_FAIL_IF(peek(c) < '0' || peek(c) > '9', L2H_ERR_FORMAT,
                "%s: bad .npy header: shape entries must be non-negative integers", c->name);
    size_t x = 0;
    while (peek(c) >= '0' && peek(c) <= '9') {
        const size_t digit = (size_t)(*c->p - '0');
        L2H_FAIL_IF(x > (SIZE_MAX - digit) / 10, L2H_ERR_FORMAT,
                    "%s: bad .npy header: shape entry too large", c->name);
        x = x * 10 + digit;
        c->p++;
    }
    if (peek(c) == 'L' || peek(c) == 'l') c->p++; /* Python 2 long literal */
    *v = x;
    return L2H_OK;
}

static l2h_status parse_shape(cursor *c, l2h_npy_header *h)
{
    skip_ws(c);
    L2H_FAIL_IF(peek(c) != '(', L2H_ERR_FORMAT, "%s: bad .npy header: shape must be a tuple",
                c->name);
    c->p++;
    h->ndim = 0;
    int trailing_comma = 0;
    for (;;) {
        skip_ws(c);
        if (peek(c) == ')') break;
        L2H_FAIL_IF(h->ndim == L2H_NPY_MAX_DIMS, L2H_ERR_FORMAT,
                    "%s: bad .npy header: more than %d dimensions", c->name, L2H_NPY_MAX_DIMS);
        L2H_TRY(parse_uint(c, &h->shape[h->ndim]));
        h->ndim++;
        skip_ws(c);
        trailing_comma = 0;
        if (peek(c) == ',') {
            c->p++;
            trailing_comma = 1;
            continue;
        }
        L2H_FAIL_IF(peek(c) != ')', L2H_ERR_FORMAT,
                    "%s: bad .npy header: expected ',' or ')' in shape", c->name);
    }
    c->p++;
    /* Python: "(5)" is the integer 5, not a tuple */
    L2H_FAIL_IF(h->ndim == 1 && !trailing_comma, L2H_ERR_FORMAT,
                "%s: bad .npy header: shape (%zu) is not a tuple; a 1-D shape is written (%zu,)",
                c->name, h->shape[0], h->shape[0]);
    return L2H_OK;
}

static int in_set(char ch, const char *set)
{
    return ch != '\0' && strchr(set, ch) != NULL;
}

static const char supported_dtypes[] = "<f2 <f4 <f8 |u1 <i4 <i8 |b1";

static l2h_status parse_descr(const char *s, size_t n, const char *name, l2h_elem *e)
{
    const char *const full = s;
    const size_t full_n = n;
    char order = '|';
    if (n > 0 && (s[0] == '<' || s[0] == '>' || s[0] == '|' || s[0] == '=')) {
        order = s[0];
        s++;
        n--;
    }
    L2H_FAIL_IF(n == 0, L2H_ERR_FORMAT, "%s: bad .npy header: empty dtype", name);
    const char t = s[0];
    size_t size = 0, k = 1;
    for (; k < n && s[k] >= '0' && s[k] <= '9' && size < 1000; k++)
        size = size * 10 + (size_t)(s[k] - '0');
    if (in_set(t, "OVUSacMm"))
        L2H_FAIL(L2H_ERR_UNSUPPORTED,
                 "%s: dtype '%.*s' (object, string, void or date) is not supported; use %s", name,
                 (int)full_n, full, supported_dtypes);
    L2H_FAIL_IF(k != n || k == 1 || !in_set(t, "fuib"), L2H_ERR_FORMAT,
                "%s: bad .npy header: unknown dtype '%.*s'", name, (int)full_n, full);
    L2H_FAIL_IF(order == '>' && size > 1, L2H_ERR_UNSUPPORTED,
                "%s: big-endian dtype '%.*s' is not supported; convert with "
                "a.astype(a.dtype.newbyteorder('<'))",
                name, (int)full_n, full);
    l2h_elem r = L2H_ELEM_COUNT;
    if (t == 'f' && size == 2) r = L2H_ELEM_F16;
    else if (t == 'f' && size == 4) r = L2H_ELEM_F32;
    else if (t == 'f' && size == 8) r = L2H_ELEM_F64;
    else if (t == 'u' && size == 1) r = L2H_ELEM_U8;
    else if (t == 'i' && size == 4) r = L2H_ELEM_I32;
    else if (t == 'i' && size == 8) r = L2H_ELEM_I64;
    else if (t == 'b' && size == 1) r = L2H_ELEM_B1;
    L2H_FAIL_IF(r == L2H_ELEM_COUNT, L2H_ERR_UNSUPPORTED,
                "%s: dtype '%.*s' is not supported (supported: %s)", name, (int)full_n, full,
                supported_dtypes);
    *e = r;
    return L2H_OK;
}

enum { KEY_DESCR = 1, KEY_FORTRAN = 2, KEY_SHAPE = 4 };

static l2h_status parse_entry(cursor *c, l2h_npy_header *h, unsigned *seen, int *fortran)
{
    const char *key;
    size_t klen;
    L2H_TRY(parse_string(c, &key, &klen));
    L2H_TRY(expect(c, ':', "after a key"));
    unsigned bit = 0;
    if (klen == 5 && memcmp(key, "descr", 5) == 0) bit = KEY_DESCR;
    else if (klen == 13 && memcmp(key, "fortran_order", 13) == 0) bit = KEY_FORTRAN;
    else if (klen == 5 && memcmp(key, "shape", 5) == 0) bit = KEY_SHAPE;
    L2H_FAIL_IF(bit == 0, L2H_ERR_FORMAT, "%s: bad .npy header: unexpected key '%.*s'", c->name,
                (int)(klen > 40 ? 40 : klen), key);
    L2H_FAIL_IF(*seen & bit, L2H_ERR_FORMAT, "%s: bad .npy header: key '%.*s' appears twice",
                c->name, (int)klen, key);
    *seen |= bit;
    if (bit == KEY_SHAPE) return parse_shape(c, h);
    if (bit == KEY_FORTRAN) return parse_bool(c, fortran);
    skip_ws(c);
    L2H_FAIL_IF(peek(c) == '[', L2H_ERR_UNSUPPORTED,
                "%s: structured dtypes (record arrays) are not supported; use a plain %s array",
                c->name, supported_dtypes);
    const char *d;
    size_t dlen;
    L2H_TRY(parse_string(c, &d, &dlen));
    return parse_descr(d, dlen, c->name, &h->elem);
}

static l2h_status parse_dict(cursor *c, l2h_npy_header *h, int *fortran)
{
    L2H_TRY(expect(c, '{', "at the start of the header dictionary"));
    unsigned seen = 0;
    for (;;) {
        skip_ws(c);
        if (peek(c) == '}') break;
        L2H_TRY(parse_entry(c, h, &seen, fortran));
        skip_ws(c);
        if (peek(c) == ',') {
            c->p++;
            continue;
        }
        L2H_FAIL_IF(peek(c) != '}', L2H_ERR_FORMAT,
                    "%s: bad .npy header: expected ',' or '}' after a value", c->name);
    }
    c->p++;
    skip_ws(c);
    L2H_FAIL_IF(c->p != c->end, L2H_ERR_FORMAT,
                "%s: bad .npy header: unexpected characters after the dictionary", c->name);
    L2H_FAIL_IF(seen != (KEY_DESCR | KEY_FORTRAN | KEY_SHAPE), L2H_ERR_FORMAT,
                "%s: bad .npy header: missing key '%s'", c->name,
                !(seen & KEY_DESCR) ? "descr" : !(seen & KEY_SHAPE) ? "shape" : "fortran_order");
    return L2H_OK;
}

l2h_status l2h_npy_parse_header(const uint8_t *buf, size_t len, const char *name,
                                l2h_npy_header *h)
{
    memset(h, 0, sizeof *h);
    size_t total;
    L2H_TRY(l2h_npy_header_size(buf, len, name, &total));
    L2H_FAIL_IF(total > len, L2H_ERR_FORMAT,
                "%s: truncated: the header declares %zu bytes, only %zu present", name, total, len);
    const size_t prefix = buf[6] == 1 ? 10 : 12;
    cursor c = {(const char *)buf + prefix, (const char *)buf + total, name};
    int fortran = 0;
    L2H_TRY(parse_dict(&c, h, &fortran));
    L2H_FAIL_IF(fortran, L2H_ERR_UNSUPPORTED,
                "%s: Fortran-order arrays are not supported; save numpy.ascontiguousarray(a)",
                name);
    L2H_FAIL_IF(h->ndim == 0, L2H_ERR_FORMAT,
                "%s: a 0-d array (scalar) is not a matrix; expected shape (n,) or (n, d)", name);
    h->rows = h->shape[0];
    h->cols = 1;
    for (size_t k = 1; k < h->ndim; k++)
        L2H_FAIL_IF(!l2h_mul_ok(h->cols, h->shape[k], &h->cols), L2H_ERR_FORMAT,
                    "%s: shape too large (size overflow)", name);
    size_t count;
    L2H_FAIL_IF(!l2h_mul_ok(h->rows, h->cols, &count) ||
                    !l2h_mul_ok(count, l2h_elem_size(h->elem), &h->data_bytes),
                L2H_ERR_FORMAT, "%s: shape too large (size overflow)", name);
    h->data_off = total;
    return L2H_OK;
}

l2h_status l2h_npy_view(const uint8_t *buf, size_t len, const char *name, size_t max_rows,
                        l2h_mat_view *v)
{
    memset(v, 0, sizeof *v);
    l2h_npy_header h;
    L2H_TRY(l2h_npy_parse_header(buf, len, name, &h));
    const size_t have = len - h.data_off;
    L2H_FAIL_IF(have < h.data_bytes, L2H_ERR_FORMAT,
                "%s: truncated: shape needs %zu data bytes, the file has %zu", name, h.data_bytes,
                have);
    L2H_FAIL_IF(have > h.data_bytes, L2H_ERR_FORMAT,
                "%s: %zu unexpected bytes after the %zu data bytes the shape declares", name,
                have - h.data_bytes, h.data_bytes);
    v->data = buf + h.data_off;
    v->rows = (max_rows && max_rows < h.rows) ? max_rows : h.rows;
    v->cols = h.cols;
    v->stride = h.cols * l2h_elem_size(h.elem);
    v->elem = h.elem;
    v->one_d = h.ndim == 1;
    return L2H_OK;
}
