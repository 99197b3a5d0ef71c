/* proto.c -- JSON and .npy request-body parsers (see proto.h). */
#include "proto.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(proto_error *e, int http, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    e->http = http;
    return http;
}

void proto_batch_free(proto_batch *b)
{
    if (!b) return;
    free(b->x);
    free(b->ids);
    free(b->labels);
    free(b->codes);
    memset(b, 0, sizeof *b);
}

int proto_valid_name(const char *s, size_t len)
{
    if (len == 0 || len > 64 || s[0] == '.') return 0;
    for (size_t i = 0; i < len; i++) {
        const char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return 0;
    }
    return 1;
}

void proto_hex(const uint8_t *code, size_t bytes, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < bytes; i++) {
        out[2 * i] = digits[code[i] >> 4];
        out[2 * i + 1] = digits[code[i] & 15];
    }
    out[2 * bytes] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Unique non-negative ids: sort a copy and look for neighbours. */
static int cmp_i64(const void *a, const void *b)
{
    const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int check_ids(const int64_t *ids, size_t n, proto_error *e)
{
    int64_t *c = malloc((n ? n : 1) * sizeof *c);
    if (!c) return fail(e, 413, "out of memory for %zu ids", n);
    memcpy(c, ids, n * sizeof *c);
    qsort(c, n, sizeof *c, cmp_i64);
    int r = 0;
    for (size_t i = 1; i < n && !r; i++)
        if (c[i] == c[i - 1]) r = fail(e, 400, "id %lld repeats within the batch", (long long)c[i]);
    free(c);
    return r;
}

/* A JSON number that is an integer in [lo, hi]. */
static int json_int(const cJSON *v, double lo, double hi, int64_t *out)
{
    if (!cJSON_IsNumber(v)) return 0;
    const double d = v->valuedouble;
    if (!(d >= lo && d <= hi) || d != floor(d)) return 0;
    *out = (int64_t)d;
    return 1;
}

static int parse_int_array(const cJSON *a, size_t n, const char *what, double lo, double hi,
                           int64_t *out, proto_error *e)
{
    if (!cJSON_IsArray(a)) return fail(e, 400, "\"%s\" must be an array", what);
    if ((size_t)cJSON_GetArraySize(a) != n)
        return fail(e, 400, "\"%s\" has %d entries for %zu rows", what, cJSON_GetArraySize(a), n);
    size_t i = 0;
    for (const cJSON *v = a->child; v; v = v->next, i++)
        if (!json_int(v, lo, hi, &out[i]))
            return fail(e, 400, "\"%s\"[%zu] must be an integer in [%.0f, %.0f]", what, i, lo, hi);
    return 0;
}

static int parse_code(const cJSON *v, size_t i, size_t code_bytes, uint8_t *out, proto_error *e)
{
    if (cJSON_IsString(v)) {
        const char *s = v->valuestring;
        if (strlen(s) != 2 * code_bytes)
            return fail(e, 400, "codes[%zu]: expected %zu hex digits", i, 2 * code_bytes);
        for (size_t b = 0; b < code_bytes; b++) {
            const int hi = hexval(s[2 * b]), lo = hexval(s[2 * b + 1]);
            if (hi < 0 || lo < 0) return fail(e, 400, "codes[%zu]: not a hex string", i);
            out[b] = (uint8_t)(hi * 16 + lo);
        }
        return 0;
    }
    if (!cJSON_IsArray(v) || (size_t)cJSON_GetArraySize(v) != code_bytes)
        return fail(e, 400, "codes[%zu]: expected a hex string or %zu byte values", i, code_bytes);
    size_t b = 0;
    for (const cJSON *x = v->child; x; x = x->next, b++) {
        int64_t byte;
        if (!json_int(x, 0, 255, &byte))
            return fail(e, 400, "codes[%zu][%zu] must be an integer 0..255", i, b);
        out[b] = (uint8_t)byte;
    }
    return 0;
}

int proto_parse_batch_json(const char *body, size_t len, size_t dim, size_t code_bytes,
                           size_t max_rows, proto_batch *out, proto_error *e)
{
    memset(out, 0, sizeof *out);
    cJSON *root = cJSON_ParseWithLength(body, len);
    if (!root) return fail(e, 400, "malformed JSON body");
    int r = 0;
    if (!cJSON_IsObject(root)) {
        r = fail(e, 400, "the body must be a JSON object");
        goto done;
    }
    const cJSON *feat = cJSON_GetObjectItemCaseSensitive(root, "features");
    const cJSON *codes = cJSON_GetObjectItemCaseSensitive(root, "codes");
    if (feat && codes) {
        r = fail(e, 400, "give \"features\" or \"codes\", not both");
        goto done;
    }
    if (!feat && !codes) {
        r = fail(e, 400, "the body needs \"features\" (or \"codes\" for a search)");
        goto done;
    }
    const cJSON *rows = feat ? feat : codes;
    if (!cJSON_IsArray(rows)) {
        r = fail(e, 400, "\"%s\" must be an array of rows", feat ? "features" : "codes");
        goto done;
    }
    const size_t n = (size_t)cJSON_GetArraySize(rows);
    if (n == 0) {
        r = fail(e, 400, "empty batch");
        goto done;
    }
    if (n > max_rows) {
        r = fail(e, 413, "batch of %zu rows exceeds the limit of %zu", n, max_rows);
        goto done;
    }
    out->n = n;
    if (feat) {
        /* A 1-D array of numbers is one row. */
        const int one_row = rows->child && cJSON_IsNumber(rows->child);
        if (one_row) out->n = 1;
        const cJSON *first = one_row ? rows : rows->child;
        const size_t d = (size_t)cJSON_GetArraySize(first);
        if (!cJSON_IsArray(first) || d == 0) {
            r = fail(e, 400, "features[0] must be a non-empty array of numbers");
            goto done;
        }
        if (dim && d != dim) {
            r = fail(e, 400, "features have %zu columns, the collection has dim %zu", d, dim);
            goto done;
        }
        out->dim = d;
        out->x = malloc(out->n * d * sizeof *out->x);
        if (!out->x) {
            r = fail(e, 413, "out of memory");
            goto done;
        }
        size_t i = 0;
        for (const cJSON *row = one_row ? rows : rows->child; row && i < out->n;
             row = one_row ? NULL : row->next, i++) {
            if (!cJSON_IsArray(row) || (size_t)cJSON_GetArraySize(row) != d) {
                r = fail(e, 400, "features[%zu] must be an array of %zu numbers", i, d);
                goto done;
            }
            size_t j = 0;
            for (const cJSON *v = row->child; v; v = v->next, j++) {
                if (!cJSON_IsNumber(v)) {
                    r = fail(e, 400, "features[%zu][%zu] is not a number", i, j);
                    goto done;
                }
                const float f = (float)v->valuedouble;
                if (!isfinite(f)) {
                    r = fail(e, 400, "features[%zu][%zu] is not finite", i, j);
                    goto done;
                }
                out->x[i * d + j] = f;
            }
        }
    } else {
        if (code_bytes == 0) {
            r = fail(e, 400, "\"codes\" are not accepted here");
            goto done;
        }
        out->code_bytes = code_bytes;
        out->codes = malloc(n * code_bytes);
        if (!out->codes) {
            r = fail(e, 413, "out of memory");
            goto done;
        }
        size_t i = 0;
        for (const cJSON *v = rows->child; v; v = v->next, i++)
            if ((r = parse_code(v, i, code_bytes, out->codes + i * code_bytes, e)) != 0) goto done;
    }
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(root, "ids");
    if (ids && !cJSON_IsNull(ids)) {
        out->ids = malloc(out->n * sizeof *out->ids);
        if (!out->ids) {
            r = fail(e, 413, "out of memory");
            goto done;
        }
        if ((r = parse_int_array(ids, out->n, "ids", 0, 9007199254740991.0, out->ids, e)) != 0)
            goto done;
        if ((r = check_ids(out->ids, out->n, e)) != 0) goto done;
    }
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(root, "labels");
    if (labels && !cJSON_IsNull(labels)) {
        int64_t *tmp = malloc(out->n * sizeof *tmp);
        out->labels = malloc(out->n * sizeof *out->labels);
        if (!tmp || !out->labels) {
            free(tmp);
            r = fail(e, 413, "out of memory");
            goto done;
        }
        r = parse_int_array(labels, out->n, "labels", 0, 2147483647.0, tmp, e);
        for (size_t i = 0; r == 0 && i < out->n; i++) out->labels[i] = (int32_t)tmp[i];
        free(tmp);
        if (r) goto done;
    }
done:
    cJSON_Delete(root);
    if (r) proto_batch_free(out);
    return r;
}

/* ---- .npy -------------------------------------------------------------------------------- */

/* Value of key 'name' in the header dict text h[0..n): pointer just after "'name':" and
 * spaces, or NULL. */
static const char *dict_value(const char *h, size_t n, const char *name)
{
    char key[32];
    const int kl = snprintf(key, sizeof key, "'%s'", name);
    for (size_t i = 0; i + (size_t)kl <= n; i++) {
        if (memcmp(h + i, key, (size_t)kl) != 0) continue;
        size_t j = i + (size_t)kl;
        while (j < n && h[j] == ' ') j++;
        if (j >= n || h[j] != ':') return NULL;
        j++;
        while (j < n && h[j] == ' ') j++;
        return j < n ? h + j : NULL;
    }
    return NULL;
}

int proto_npy_header(const uint8_t *buf, size_t len, proto_npy *out, proto_error *e)
{
    memset(out, 0, sizeof *out);
    if (len < 10 || memcmp(buf, "\x93NUMPY", 6) != 0) return fail(e, 400, "npy: bad magic");
    const unsigned major = buf[6];
    size_t hlen, pre;
    if (major == 1) {
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
        pre = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12) return fail(e, 400, "npy: truncated header");
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 |
               (size_t)buf[11] << 24;
        pre = 12;
    } else {
        return fail(e, 400, "npy: unsupported version %u", major);
    }
    if (hlen > 65536 || hlen > len - pre) return fail(e, 400, "npy: truncated header");
    const char *h = (const char *)buf + pre;
    const char *descr = dict_value(h, hlen, "descr");
    const char *fo = dict_value(h, hlen, "fortran_order");
    const char *shape = dict_value(h, hlen, "shape");
    if (!descr || !fo || !shape) return fail(e, 400, "npy: header lacks descr/fortran_order/shape");
    const size_t rest = hlen - (size_t)(descr - h);
    if (rest < 5 || descr[0] != '\'') return fail(e, 400, "npy: bad descr");
    const char endian = descr[1], kind = descr[2];
    if (endian != '<' && endian != '|') return fail(e, 400, "npy: only little-endian data");
    size_t item = 0;
    size_t k = 3;
    while (k < rest && descr[k] >= '0' && descr[k] <= '9' && item < 100)
        item = item * 10 + (size_t)(descr[k++] - '0');
    if (k >= rest || descr[k] != '\'') return fail(e, 400, "npy: bad descr");
    if (!((kind == 'f' && (item == 4 || item == 8)) || (kind == 'i' && (item == 4 || item == 8)) ||
          (kind == 'u' && item == 1) || (kind == 'b' && item == 1)))
        return fail(e, 400, "npy: unsupported dtype (use <f4, <f8, <i4, <i8 or |u1)");
    if ((size_t)(h + hlen - fo) < 5 || memcmp(fo, "False", 5) != 0)
        return fail(e, 400, "npy: Fortran order is not supported");
    if (shape[0] != '(') return fail(e, 400, "npy: bad shape");
    size_t i = 1, nd = 0;
    const size_t srest = hlen - (size_t)(shape - h);
    size_t dims[3] = {0, 0, 0};
    for (;;) {
        while (i < srest && shape[i] == ' ') i++;
        if (i >= srest) return fail(e, 400, "npy: bad shape");
        if (shape[i] == ')') break;
        if (shape[i] < '0' || shape[i] > '9') return fail(e, 400, "npy: bad shape");
        if (nd >= 2) return fail(e, 400, "npy: more than 2 dimensions");
        size_t v = 0;
        while (i < srest && shape[i] >= '0' && shape[i] <= '9') {
            if (v > ((size_t)1 << 40)) return fail(e, 400, "npy: shape too large");
            v = v * 10 + (size_t)(shape[i++] - '0');
        }
        dims[nd++] = v;
        while (i < srest && shape[i] == ' ') i++;
        if (i < srest && shape[i] == ',') i++;
    }
    if (nd == 0) return fail(e, 400, "npy: scalar arrays are not accepted");
    out->kind = kind;
    out->itemsize = item;
    out->ndim = nd;
    out->shape[0] = dims[0];
    out->shape[1] = nd == 2 ? dims[1] : 1;
    out->data_off = pre + hlen;
    const size_t avail = len - out->data_off;
    /* shape values are < 2^41, so the product of two cannot overflow only if checked */
    if (out->shape[1] && out->shape[0] > avail / out->shape[1] / item)
        return fail(e, 400, "npy: data truncated (shape larger than the body)");
    out->data_len = out->shape[0] * out->shape[1] * item;
    return 0;
}

static double rd_f(const uint8_t *p, size_t item)
{
    if (item == 4) {
        float f;
        memcpy(&f, p, 4);
        return (double)f;
    }
    double d;
    memcpy(&d, p, 8);
    return d;
}

static int64_t rd_i(const uint8_t *p, char kind, size_t item)
{
    if (kind == 'u' || kind == 'b') return p[0];
    if (item == 4) {
        int32_t v;
        memcpy(&v, p, 4);
        return v;
    }
    int64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Reads a 1-D integer array of exactly n entries into out[n] (each in [lo, hi]). */
static int npy_ints(const uint8_t *body, size_t len, size_t *pos, size_t n, const char *what,
                    int64_t lo, int64_t hi, int64_t *out, proto_error *e)
{
    proto_npy h;
    int r = proto_npy_header(body + *pos, len - *pos, &h, e);
    if (r) return fail(e, r, "%s: %s", what, e->msg);
    if (h.kind == 'f') return fail(e, 400, "%s: must be an integer array", what);
    if (h.shape[0] * h.shape[1] != n)
        return fail(e, 400, "%s: %zu entries for %zu rows", what, h.shape[0] * h.shape[1], n);
    const uint8_t *d = body + *pos + h.data_off;
    for (size_t i = 0; i < n; i++) {
        out[i] = rd_i(d + i * h.itemsize, h.kind, h.itemsize);
        if (out[i] < lo || out[i] > hi) return fail(e, 400, "%s[%zu] out of range", what, i);
    }
    *pos += h.data_off + h.data_len;
    return 0;
}

int proto_parse_batch_npy(const uint8_t *body, size_t len, size_t dim, size_t code_bytes,
                          int as_codes, int want_ids, int want_labels, size_t max_rows,
                          proto_batch *out, proto_error *e)
{
    memset(out, 0, sizeof *out);
    proto_npy h;
    int r = proto_npy_header(body, len, &h, e);
    if (r) return r;
    const size_t n = h.ndim == 1 ? 1 : h.shape[0];
    const size_t cols = h.ndim == 1 ? h.shape[0] : h.shape[1];
    if (n == 0 || cols == 0) return fail(e, 400, "npy: empty array");
    if (n > max_rows) return fail(e, 413, "batch of %zu rows exceeds the limit of %zu", n, max_rows);
    const uint8_t *d = body + h.data_off;
    out->n = n;
    if (as_codes) {
        if (code_bytes == 0) return fail(e, 400, "codes are not accepted here");
        if (h.kind != 'u' || cols != code_bytes)
            return fail(e, 400, "npy codes: expected uint8 n x %zu", code_bytes);
        out->code_bytes = code_bytes;
        out->codes = malloc(n * code_bytes);
        if (!out->codes) return fail(e, 413, "out of memory");
        memcpy(out->codes, d, n * code_bytes);
    } else {
        if (h.kind != 'f') {
            r = fail(e, 400, "npy features: expected float32 or float64");
            goto done;
        }
        if (dim && cols != dim) {
            r = fail(e, 400, "features have %zu columns, the collection has dim %zu", cols, dim);
            goto done;
        }
        out->dim = cols;
        out->x = malloc(n * cols * sizeof *out->x);
        if (!out->x) {
            r = fail(e, 413, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < n * cols; i++) {
            const float f = (float)rd_f(d + i * h.itemsize, h.itemsize);
            if (!isfinite(f)) {
                r = fail(e, 400, "features[%zu][%zu] is not finite", i / cols, i % cols);
                goto done;
            }
            out->x[i] = f;
        }
    }
    size_t pos = h.data_off + h.data_len;
    if (want_ids && !as_codes) {
        out->ids = malloc(n * sizeof *out->ids);
        if (!out->ids) {
            r = fail(e, 413, "out of memory");
            goto done;
        }
        if ((r = npy_ints(body, len, &pos, n, "ids", 0, INT64_C(9007199254740991), out->ids, e)))
            goto done;
        if ((r = check_ids(out->ids, n, e))) goto done;
    }
    if (want_labels && !as_codes) {
        int64_t *tmp = malloc(n * sizeof *tmp);
        out->labels = malloc(n * sizeof *out->labels);
        if (!tmp || !out->labels) {
            free(tmp);
            r = fail(e, 413, "out of memory");
            goto done;
        }
        r = npy_ints(body, len, &pos, n, "labels", 0, INT32_MAX, tmp, e);
        for (size_t i = 0; r == 0 && i < n; i++) out->labels[i] = (int32_t)tmp[i];
        free(tmp);
        if (r) goto done;
    }
    if (pos != len) r = fail(e, 400, "npy: %zu unexpected bytes after the arrays", len - pos);
done:
    if (r) proto_batch_free(out);
    return r;
}

size_t proto_npy_write_header(char *hdr, const char *descr, size_t rows, size_t cols)
{
    char dict[96];
    int dl;
    if (cols)
        dl = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%zu, %zu), }",
                      descr, rows, cols);
    else
        dl = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%zu,), }",
                      descr, rows);
    size_t total = 10 + (size_t)dl + 1;
    total = (total + 63) / 64 * 64;
    memcpy(hdr, "\x93NUMPY\x01\x00", 8);
    const size_t hl = total - 10;
    hdr[8] = (char)(hl & 255);
    hdr[9] = (char)(hl >> 8);
    memcpy(hdr + 10, dict, (size_t)dl);
    memset(hdr + 10 + dl, ' ', total - 10 - (size_t)dl - 1);
    hdr[total - 1] = '\n';
    return total;
}
