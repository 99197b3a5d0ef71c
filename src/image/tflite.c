/* tflite.c -- bounds-checked reading of a TensorFlow Lite flatbuffer (schema version 3).
 *
 * FlatBuffers in brief: the file starts with a uint32 offset to the root table; a table starts
 * with an int32 that, subtracted from the table's position, gives its vtable; the vtable is
 * uint16 [vtable bytes, table bytes, field offsets...], a field offset of 0 meaning "absent,
 * use the default". Offsets to sub-objects (tables, vectors, strings) are uint32 relative to
 * where they are stored; a vector is a uint32 count followed by its elements. Everything is
 * little-endian. Each read below checks its position against the buffer length first. */
#include "tflite.h"

#include <string.h>

typedef struct fb {
    const uint8_t *b;
    size_t n;
    const char *name;
    l2h_status st; /* first error; later reads return zeros */
} fb;

static int fb_bad(fb *f, const char *what, size_t pos)
{
    if (f->st == L2H_OK)
        f->st = l2h_set_error(L2H_ERR_FORMAT, "%s: corrupt TFLite file: %s at byte %zu", f->name,
                              what, pos);
    return 0;
}

static int fb_has(fb *f, size_t pos, size_t bytes)
{
    if (f->st != L2H_OK) return 0;
    if (pos > f->n || bytes > f->n - pos) return fb_bad(f, "read past the end", pos);
    return 1;
}

static uint32_t rd32(fb *f, size_t pos)
{
    if (!fb_has(f, pos, 4)) return 0;
    const uint8_t *p = f->b + pos;
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint16_t rd16(fb *f, size_t pos)
{
    if (!fb_has(f, pos, 2)) return 0;
    return (uint16_t)(f->b[pos] | f->b[pos + 1] << 8);
}
static uint64_t rd64(fb *f, size_t pos)
{
    return (uint64_t)rd32(f, pos) | (uint64_t)rd32(f, pos + 4) << 32;
}

/* Follows the uint32 offset stored at pos; returns the target position (0 on error). */
static size_t fb_deref(fb *f, size_t pos)
{
    const uint32_t off = rd32(f, pos);
    if (f->st != L2H_OK) return 0;
    if (off == 0 || off > f->n - pos) return (size_t)fb_bad(f, "offset out of range", pos);
    return pos + off;
}

/* A table at `tab`: position of field `idx`, or 0 if absent (or on error). */
static size_t fb_field(fb *f, size_t tab, unsigned idx)
{
    if (tab == 0 || !fb_has(f, tab, 4)) return 0;
    const int32_t so = (int32_t)rd32(f, tab);
    const int64_t vt = (int64_t)tab - so;
    if (vt < 0 || (uint64_t)vt > f->n) return fb_bad(f, "vtable out of range", tab);
    const uint16_t vsize = rd16(f, (size_t)vt), tsize = rd16(f, (size_t)vt + 2);
    if (f->st != L2H_OK) return 0;
    if (vsize < 4 || (vsize & 1) || !fb_has(f, (size_t)vt, vsize))
        return fb_bad(f, "bad vtable", (size_t)vt);
    if (!fb_has(f, tab, tsize)) return 0;
    if (4 + 2 * (size_t)idx + 2 > vsize) return 0; /* field newer than the writer: absent */
    const uint16_t fo = rd16(f, (size_t)vt + 4 + 2 * idx);
    if (fo == 0) return 0;
    if (fo >= tsize) return fb_bad(f, "field outside its table", tab);
    return tab + fo;
}

static int64_t fb_int(fb *f, size_t tab, unsigned idx, unsigned bytes, int64_t dflt)
{
    const size_t p = fb_field(f, tab, idx);
    if (p == 0) return dflt;
    switch (bytes) {
    case 1: return fb_has(f, p, 1) ? (int8_t)f->b[p] : 0;
    case 4: return (int32_t)rd32(f, p);
    default: return (int64_t)rd64(f, p);
    }
}
static uint8_t fb_u8(fb *f, size_t tab, unsigned idx)
{
    const size_t p = fb_field(f, tab, idx);
    return p != 0 && fb_has(f, p, 1) ? f->b[p] : 0;
}

/* Sub-table in field idx (0 if absent). */
static size_t fb_table(fb *f, size_t tab, unsigned idx)
{
    const size_t p = fb_field(f, tab, idx);
    return p == 0 ? 0 : fb_deref(f, p);
}

/* Vector in field idx: *start = first element, return count (0 if absent). elem = element size
 * in bytes, so that the whole vector is checked to lie inside the buffer. */
static size_t fb_vector(fb *f, size_t tab, unsigned idx, size_t elem, size_t *start)
{
    *start = 0;
    const size_t p = fb_field(f, tab, idx);
    if (p == 0) return 0;
    const size_t v = fb_deref(f, p);
    if (v == 0) return 0;
    const size_t count = rd32(f, v);
    if (f->st != L2H_OK) return 0;
    if (count > (f->n - v - 4) / elem) return fb_bad(f, "vector longer than the file", v);
    *start = v + 4;
    return count;
}

/* Element i of a vector of tables. */
static size_t fb_vec_table(fb *f, size_t start, size_t i) { return fb_deref(f, start + 4 * i); }

size_t tfl_elems(const tfl_tensor *t)
{
    size_t n = 1;
    for (int i = 0; i < t->ndim; i++) {
        if (t->shape[i] < 0 || !l2h_mul_ok(n, (size_t)t->shape[i], &n)) return 0;
    }
    return n;
}

void tfl_free(tfl_model *m)
{
    if (m == NULL) return;
    for (size_t i = 0; i < m->n_tensors && m->tensors; i++) {
        l2h_free(m->tensors[i].scale);
        l2h_free(m->tensors[i].zero_point);
    }
    l2h_free(m->tensors);
    l2h_free(m->ops);
    memset(m, 0, sizeof *m);
}

static void read_quant(fb *f, size_t q, tfl_tensor *t)
{
    size_t sp, zp;
    const size_t ns = fb_vector(f, q, 2, 4, &sp);
    const size_t nz = fb_vector(f, q, 3, 8, &zp);
    if (f->st != L2H_OK || ns == 0) return;
    if (nz != ns) {
        fb_bad(f, "quantisation scale/zero-point counts differ", q);
        return;
    }
    t->scale = l2h_malloc_array(ns, sizeof *t->scale);
    t->zero_point = l2h_malloc_array(ns, sizeof *t->zero_point);
    if (t->scale == NULL || t->zero_point == NULL) {
        if (f->st == L2H_OK) f->st = l2h_set_error(L2H_ERR_NOMEM, "%s: out of memory", f->name);
        return;
    }
    for (size_t i = 0; i < ns; i++) {
        const uint32_t bits = rd32(f, sp + 4 * i);
        memcpy(&t->scale[i], &bits, 4);
        t->zero_point[i] = (int64_t)rd64(f, zp + 8 * i);
    }
    t->n_quant = ns;
    t->quant_dim = (int)fb_int(f, q, 6, 4, 0);
}

static void read_options(fb *f, size_t opts, tfl_op *op)
{
    op->dilation_w = op->dilation_h = 1;
    op->depth_multiplier = 1;
    if (opts == 0) return;
    switch (op->code) {
    case TFL_OP_CONV_2D:
        op->padding = (int)fb_int(f, opts, 0, 1, 0);
        op->stride_w = (int)fb_int(f, opts, 1, 4, 0);
        op->stride_h = (int)fb_int(f, opts, 2, 4, 0);
        op->act = (int)fb_int(f, opts, 3, 1, 0);
        op->dilation_w = (int)fb_int(f, opts, 4, 4, 1);
        op->dilation_h = (int)fb_int(f, opts, 5, 4, 1);
        break;
    case TFL_OP_DEPTHWISE_CONV_2D:
        op->padding = (int)fb_int(f, opts, 0, 1, 0);
        op->stride_w = (int)fb_int(f, opts, 1, 4, 0);
        op->stride_h = (int)fb_int(f, opts, 2, 4, 0);
        op->depth_multiplier = (int)fb_int(f, opts, 3, 4, 1);
        op->act = (int)fb_int(f, opts, 4, 1, 0);
        op->dilation_w = (int)fb_int(f, opts, 5, 4, 1);
        op->dilation_h = (int)fb_int(f, opts, 6, 4, 1);
        break;
    case TFL_OP_AVERAGE_POOL_2D:
        op->padding = (int)fb_int(f, opts, 0, 1, 0);
        op->stride_w = (int)fb_int(f, opts, 1, 4, 0);
        op->stride_h = (int)fb_int(f, opts, 2, 4, 0);
        op->filter_w = (int)fb_int(f, opts, 3, 4, 0);
        op->filter_h = (int)fb_int(f, opts, 4, 4, 0);
        op->act = (int)fb_int(f, opts, 5, 1, 0);
        break;
    default: break;
    }
}

/* Reads a vector of int32 tensor indices into dst (at most max), each checked < n_tensors. */
static int read_indices(fb *f, size_t tab, unsigned idx, int32_t *dst, int max, size_t n_tensors,
                        const char *what)
{
    size_t s;
    const size_t n = fb_vector(f, tab, idx, 4, &s);
    if (n > (size_t)max) return fb_bad(f, what, tab), 0;
    for (size_t i = 0; i < n; i++) {
        dst[i] = (int32_t)rd32(f, s + 4 * i);
        if (dst[i] < -1 || (dst[i] >= 0 && (size_t)dst[i] >= n_tensors))
            return fb_bad(f, "tensor index out of range", s + 4 * i), 0;
    }
    return (int)n;
}

l2h_status tfl_parse(const uint8_t *buf, size_t len, const char *name, tfl_model *out)
{
    memset(out, 0, sizeof *out);
    fb f = {buf, len, name ? name : "(memory)", L2H_OK};
    L2H_FAIL_IF(len < 8 || memcmp(buf + 4, "TFL3", 4) != 0, L2H_ERR_FORMAT,
                "%s: not a TensorFlow Lite model (no TFL3 identifier)", f.name);
    const size_t root = fb_deref(&f, 0);
    size_t ocs, sgs, bufs;
    const size_t n_codes = fb_vector(&f, root, 1, 4, &ocs);
    const size_t n_sub = fb_vector(&f, root, 2, 4, &sgs);
    const size_t n_bufs = fb_vector(&f, root, 4, 4, &bufs);
    if (f.st == L2H_OK && n_sub == 0) fb_bad(&f, "no subgraph", root);
    const size_t sg = f.st == L2H_OK ? fb_vec_table(&f, sgs, 0) : 0;
    size_t tens, ops;
    const size_t n_t = fb_vector(&f, sg, 0, 4, &tens);
    const size_t n_o = fb_vector(&f, sg, 3, 4, &ops);
    l2h_status st = f.st;
    if (st != L2H_OK) return st;
    L2H_FAIL_IF(n_t == 0 || n_o == 0, L2H_ERR_FORMAT, "%s: empty graph", f.name);
    out->tensors = l2h_calloc(n_t, sizeof *out->tensors);
    out->ops = l2h_calloc(n_o, sizeof *out->ops);
    if (out->tensors == NULL || out->ops == NULL) {
        tfl_free(out);
        L2H_FAIL(L2H_ERR_NOMEM, "%s: out of memory", f.name);
    }
    out->n_tensors = n_t;
    out->n_ops = n_o;
    for (size_t i = 0; i < n_t && f.st == L2H_OK; i++) {
        tfl_tensor *t = &out->tensors[i];
        const size_t tt = fb_vec_table(&f, tens, i);
        size_t sp;
        const size_t nd = fb_vector(&f, tt, 0, 4, &sp);
        if (nd > TFL_MAX_DIMS) {
            fb_bad(&f, "tensor with too many dimensions", tt);
            break;
        }
        t->ndim = (int)nd;
        for (size_t d = 0; d < nd; d++) {
            t->shape[d] = (int32_t)rd32(&f, sp + 4 * d);
            if (t->shape[d] < 0) fb_bad(&f, "negative dimension", sp + 4 * d);
        }
        t->type = fb_u8(&f, tt, 1);
        const int64_t b = fb_int(&f, tt, 2, 4, 0);
        if (b < 0 || (uint64_t)b >= (n_bufs > 0 ? n_bufs : 1)) {
            fb_bad(&f, "buffer index out of range", tt);
            break;
        }
        if (b > 0) {
            const size_t bt = fb_vec_table(&f, bufs, (size_t)b);
            size_t dp;
            const size_t dl = fb_vector(&f, bt, 0, 1, &dp);
            const uint64_t off = (uint64_t)fb_int(&f, bt, 1, 8, 0);
            const uint64_t size = (uint64_t)fb_int(&f, bt, 2, 8, 0);
            if (dl > 0) {
                t->data = buf + dp;
                t->data_len = dl;
            } else if (off > 1) { /* data appended after the flatbuffer */
                if (off > len || size > len - off) fb_bad(&f, "buffer data out of range", bt);
                else {
                    t->data = buf + off;
                    t->data_len = (size_t)size;
                }
            }
        }
        read_quant(&f, fb_table(&f, tt, 4), t);
    }
    for (size_t i = 0; i < n_o && f.st == L2H_OK; i++) {
        tfl_op *op = &out->ops[i];
        const size_t ot = fb_vec_table(&f, ops, i);
        const int64_t ci = fb_int(&f, ot, 0, 4, 0);
        if (ci < 0 || (uint64_t)ci >= n_codes) {
            fb_bad(&f, "operator code index out of range", ot);
            break;
        }
        const size_t oc = fb_vec_table(&f, ocs, (size_t)ci);
        const int64_t dep = fb_int(&f, oc, 0, 1, 0), code = fb_int(&f, oc, 3, 4, 0);
        op->code = (int)(code > dep ? code : dep);
        op->n_in = read_indices(&f, ot, 1, op->in, 4, n_t, "operator with too many inputs");
        op->n_out = read_indices(&f, ot, 2, op->out, 2, n_t, "operator with too many outputs");
        read_options(&f, fb_table(&f, ot, 4), op);
    }
    int32_t io[2];
    if (f.st == L2H_OK && read_indices(&f, sg, 1, io, 1, n_t, "more than one graph input") == 1)
        out->input = io[0];
    else fb_bad(&f, "graph needs exactly one input", sg);
    if (f.st == L2H_OK && read_indices(&f, sg, 2, io, 1, n_t, "more than one graph output") == 1)
        out->output = io[0];
    else fb_bad(&f, "graph needs exactly one output", sg);
    if (f.st == L2H_OK && (out->input < 0 || out->output < 0))
        fb_bad(&f, "graph input/output missing", sg);
    st = f.st;
    if (st != L2H_OK) tfl_free(out);
    return st;
}
