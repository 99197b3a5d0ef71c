/* tflite_writer.h -- a minimal TensorFlow Lite flatbuffer writer for tests: builds small
 * quantised graphs (CONV_2D, DEPTHWISE_CONV_2D, AVERAGE_POOL_2D, RESHAPE) so the reader and the
 * network can be tested without the shared model file. Written front to back: each offset field
 * is a placeholder patched once its target is written (uoffsets point forward). Header-only, for
 * the tests that include it. */
#ifndef L2H_TFLITE_WRITER_H
#define L2H_TFLITE_WRITER_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct tflw_tensor {
    int ndim;
    int32_t shape[4];
    int type;             /* 3 = uint8, 2 = int32 */
    const void *data;     /* NULL for activations */
    size_t len;
    float scale;
    int64_t zp;
} tflw_tensor;

typedef struct tflw_op {
    int code;             /* 1 avg pool, 3 conv, 4 depthwise, 22 reshape */
    int n_in;
    int32_t in[3], out;
    int padding, stride, act, filter, depth_mult;
} tflw_op;

typedef struct fbw {
    uint8_t *b;
    size_t n, cap;
} fbw;

static inline size_t fbw_put(fbw *w, const void *p, size_t len)
{
    while (w->n + len > w->cap) {
        w->cap = w->cap ? 2 * w->cap : 1024;
        w->b = realloc(w->b, w->cap);
    }
    if (p) memcpy(w->b + w->n, p, len);
    else memset(w->b + w->n, 0, len);
    w->n += len;
    return w->n - len;
}
static inline void fbw_align(fbw *w, size_t a)
{
    while (w->n % a) fbw_put(w, NULL, 1);
}
static inline void fbw_u32_at(fbw *w, size_t at, uint32_t v)
{
    for (int i = 0; i < 4; i++) w->b[at + i] = (uint8_t)(v >> (8 * i));
}
static inline void fbw_patch(fbw *w, size_t at, size_t target)
{
    fbw_u32_at(w, at, (uint32_t)(target - at));
}

/* A table with nf fields: sz[i] bytes (0 = absent), val[i] its value (offset fields: 4 bytes,
 * patched later). fpos[i] receives each field's position. Returns the table position. */
static inline size_t fbw_table(fbw *w, int nf, const int *sz, const int64_t *val, size_t *fpos)
{
    uint16_t vt[2 + 16];
    size_t off = 4;
    for (int i = 0; i < nf; i++) {
        vt[2 + i] = (uint16_t)(sz[i] ? off : 0);
        off += (size_t)sz[i];
    }
    vt[0] = (uint16_t)(4 + 2 * nf);
    vt[1] = (uint16_t)off;
    fbw_align(w, 4);
    const size_t vpos = fbw_put(w, vt, 4 + 2 * (size_t)nf);
    fbw_align(w, 4);
    const size_t tab = fbw_put(w, NULL, off);
    fbw_u32_at(w, tab, (uint32_t)(int32_t)(tab - vpos));
    for (int i = 0; i < nf; i++) {
        if (!sz[i]) continue;
        fpos[i] = tab + vt[2 + i];
        for (int k = 0; k < sz[i]; k++) w->b[fpos[i] + k] = (uint8_t)((uint64_t)val[i] >> (8 * k));
    }
    return tab;
}

static inline size_t fbw_vec(fbw *w, const void *el, uint32_t count, size_t esz)
{
    fbw_align(w, 8);
    uint8_t c[4];
    for (int i = 0; i < 4; i++) c[i] = (uint8_t)(count >> (8 * i));
    const size_t pos = fbw_put(w, c, 4);
    fbw_put(w, el, count * esz);
    return pos;
}

static inline size_t tflw_options(fbw *w, const tflw_op *op, int *type)
{
    size_t fp[8];
    if (op->code == 3) {
        const int sz[4] = {1, 4, 4, 1};
        const int64_t v[4] = {op->padding, op->stride, op->stride, op->act};
        *type = 1;
        return fbw_table(w, 4, sz, v, fp);
    }
    if (op->code == 4) {
        const int sz[5] = {1, 4, 4, 4, 1};
        const int64_t v[5] = {op->padding, op->stride, op->stride, op->depth_mult, op->act};
        *type = 2;
        return fbw_table(w, 5, sz, v, fp);
    }
    if (op->code == 1) {
        const int sz[6] = {1, 4, 4, 4, 4, 1};
        const int64_t v[6] = {op->padding, op->stride, op->stride, op->filter, op->filter, op->act};
        *type = 5;
        return fbw_table(w, 6, sz, v, fp);
    }
    *type = 0;
    return 0;
}

/* Serialises the graph; *len receives the size. free() the result. */
static inline uint8_t *tflw_write(const tflw_tensor *t, size_t nt, const tflw_op *o, size_t no,
                                  int32_t input, int32_t output, size_t *len)
{
    fbw w = {0};
    fbw_put(&w, NULL, 4);
    fbw_put(&w, "TFL3", 4);
    size_t fp[8], sp[8];
    const int msz[5] = {4, 4, 4, 0, 4};
    const int64_t mv[5] = {3, 0, 0, 0, 0};
    const size_t root = fbw_table(&w, 5, msz, mv, fp);
    fbw_patch(&w, 0, root);
    /* operator codes: one per operator */
    fbw_patch(&w, fp[1], fbw_vec(&w, NULL, (uint32_t)no, 4));
    const size_t codes = w.n - 4 * no;
    for (size_t i = 0; i < no; i++) {
        size_t cp[4];
        const int sz[4] = {1, 0, 0, 4};
        const int64_t v[4] = {o[i].code, 0, 0, o[i].code};
        fbw_patch(&w, codes + 4 * i, fbw_table(&w, 4, sz, v, cp));
    }
    /* buffers: 0 empty, then one per tensor */
    fbw_patch(&w, fp[4], fbw_vec(&w, NULL, (uint32_t)(nt + 1), 4));
    const size_t bufs = w.n - 4 * (nt + 1);
    {
        size_t bp[1];
        const int sz[1] = {0};
        const int64_t v[1] = {0};
        fbw_patch(&w, bufs, fbw_table(&w, 1, sz, v, bp));
    }
    for (size_t i = 0; i < nt; i++) {
        size_t bp[1] = {0};
        const int sz[1] = {t[i].data ? 4 : 0};
        const int64_t v[1] = {0};
        const size_t bt = fbw_table(&w, 1, sz, v, bp);
        fbw_patch(&w, bufs + 4 * (i + 1), bt);
        if (t[i].data) fbw_patch(&w, bp[0], fbw_vec(&w, t[i].data, (uint32_t)t[i].len, 1));
    }
    /* the subgraph */
    fbw_patch(&w, fp[2], fbw_vec(&w, NULL, 1, 4));
    const size_t sgv = w.n - 4;
    const int ssz[4] = {4, 4, 4, 4};
    const int64_t sv[4] = {0, 0, 0, 0};
    fbw_patch(&w, sgv, fbw_table(&w, 4, ssz, sv, sp));
    fbw_patch(&w, sp[1], fbw_vec(&w, &input, 1, 4));
    fbw_patch(&w, sp[2], fbw_vec(&w, &output, 1, 4));
    fbw_patch(&w, sp[0], fbw_vec(&w, NULL, (uint32_t)nt, 4));
    const size_t tv = w.n - 4 * nt;
    for (size_t i = 0; i < nt; i++) {
        size_t tp[5], qp[4];
        const int sz[5] = {4, 1, 4, 0, 4};
        const int64_t v[5] = {0, t[i].type, t[i].data ? (int64_t)i + 1 : 0, 0, 0};
        fbw_patch(&w, tv + 4 * i, fbw_table(&w, 5, sz, v, tp));
        fbw_patch(&w, tp[0], fbw_vec(&w, t[i].shape, (uint32_t)t[i].ndim, 4));
        const int qsz[4] = {0, 0, 4, 4};
        const int64_t qv[4] = {0, 0, 0, 0};
        fbw_patch(&w, tp[4], fbw_table(&w, 4, qsz, qv, qp));
        fbw_patch(&w, qp[2], fbw_vec(&w, &t[i].scale, 1, 4));
        fbw_patch(&w, qp[3], fbw_vec(&w, &t[i].zp, 1, 8));
    }
    fbw_patch(&w, sp[3], fbw_vec(&w, NULL, (uint32_t)no, 4));
    const size_t ov = w.n - 4 * no;
    for (size_t i = 0; i < no; i++) {
        size_t op[5];
        const int has_opt = o[i].code == 1 || o[i].code == 3 || o[i].code == 4;
        const int sz[5] = {4, 4, 4, 1, has_opt ? 4 : 0};
        const int64_t v[5] = {(int64_t)i, 0, 0, 0, 0};
        const size_t ot = fbw_table(&w, 5, sz, v, op);
        fbw_patch(&w, ov + 4 * i, ot);
        fbw_patch(&w, op[1], fbw_vec(&w, o[i].in, (uint32_t)o[i].n_in, 4));
        fbw_patch(&w, op[2], fbw_vec(&w, &o[i].out, 1, 4));
        int type;
        const size_t opt = tflw_options(&w, &o[i], &type);
        w.b[op[3]] = (uint8_t)type;
        if (opt) fbw_patch(&w, op[4], opt);
    }
    *len = w.n;
    return w.b;
}

#endif
