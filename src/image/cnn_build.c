/* cnn_build.c -- turns a parsed .tflite graph into a checked chain of quantised layers.
 *
 * Accepted graphs: one uint8 NHWC input [1,H,W,C]; a chain of CONV_2D, DEPTHWISE_CONV_2D,
 * AVERAGE_POOL_2D and RESHAPE/SQUEEZE operators, each reading the previous one's output; uint8
 * activations and weights, int32 biases, no dilation. Every shape, buffer size and quantisation
 * count is checked here, so the kernels can index without checks. */
#include "cnn_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void cnn_quantize_multiplier(double real, int32_t *mult, int *shift)
{
    if (real == 0.0) {
        *mult = 0;
        *shift = 0;
        return;
    }
    int e;
    const double q = frexp(real, &e);
    int64_t qf = (int64_t)llround(q * (double)(1ll << 31));
    if (qf == (1ll << 31)) {
        qf /= 2;
        e++;
    }
    if (e < -31) {
        e = 0;
        qf = 0;
    }
    *mult = (int32_t)qf;
    *shift = e;
}

static void layer_free(cnn_layer *L)
{
    l2h_free(L->w_zp);
    l2h_free(L->bias);
    l2h_free(L->mult);
    l2h_free(L->shift);
    l2h_free(L->real_mult);
    l2h_free(L->w_scale);
    l2h_free(L->fmult);
    l2h_aligned_free(L->wpack);
    l2h_free(L->corr);
    l2h_free(L->rshift);
    l2h_free(L->w16);
    l2h_free(L->w16t);
}

void l2h_cnn_free(l2h_cnn *net)
{
    if (net == NULL) return;
    for (size_t i = 0; i < net->n_layers; i++) layer_free(&net->layers[i]);
    l2h_free(net->layers);
    l2h_free(net->file);
    l2h_free(net);
}

/* Quantisation of a tensor: exactly one pair (activations) or `per` pairs / one pair. */
static int quant_ok(const tfl_tensor *t, size_t per)
{
    if (t->n_quant != 1 && !(per > 0 && t->n_quant == per)) return 0;
    for (size_t i = 0; i < t->n_quant; i++)
        if (!(t->scale[i] > 0.0f) || !isfinite(t->scale[i])) return 0;
    return 1;
}

/* SAME / VALID output size and leading padding, TensorFlow's rule (extra at bottom/right). */
static int out_dim(int in, int k, int s, int padding, int *out, int *pad)
{
    if (s <= 0 || k <= 0 || in <= 0) return 0;
    if (padding == TFL_PAD_SAME) *out = (in + s - 1) / s;
    else if (padding == TFL_PAD_VALID) {
        if (in < k) return 0;
        *out = (in - k) / s + 1;
    } else return 0;
    const int total = (*out - 1) * s + k - in;
    *pad = total > 0 ? total / 2 : 0;
    return 1;
}

static int shifts_nonpositive(const cnn_layer *L)
{
    for (int o = 0; o < L->oc; o++)
        if (L->shift[o] > 0) return 0;
    return 1;
}

static l2h_status build_layer(const char *name, const tfl_model *m, const tfl_op *op, size_t oi,
                              const tfl_tensor *x, const tfl_tensor *y, cnn_layer *L)
{
    memset(L, 0, sizeof *L);
    L->ih = x->shape[1];
    L->iw = x->shape[2];
    L->ic = x->shape[3];
    L->oh = y->shape[1];
    L->ow = y->shape[2];
    L->oc = y->shape[3];
    L->in_zp = (int32_t)x->zero_point[0];
    L->out_zp = (int32_t)y->zero_point[0];
    L->depth_mult = 1;
    L->in_scale = (double)x->scale[0];
    L->out_scale = (double)y->scale[0];
    L2H_FAIL_IF(L->in_zp < 0 || L->in_zp > 255 || L->out_zp < 0 || L->out_zp > 255,
                L2H_ERR_FORMAT, "%s: operator %zu: zero point outside 0..255", name, oi);
    /* activation range, as CalculateActivationRangeQuantized */
    L->act_min = 0;
    L->act_max = 255;
    const double ys = (double)y->scale[0];
    if (op->act == TFL_ACT_RELU || op->act == TFL_ACT_RELU6) {
        const int32_t lo = L->out_zp + (int32_t)lround(0.0 / ys);
        if (lo > L->act_min) L->act_min = lo;
    }
    if (op->act == TFL_ACT_RELU6) {
        const double hi = (double)L->out_zp + round(6.0 / ys);
        if (hi < L->act_max) L->act_max = (int32_t)hi;
    } else if (op->act != TFL_ACT_NONE && op->act != TFL_ACT_RELU) {
        L2H_FAIL(L2H_ERR_UNSUPPORTED, "%s: operator %zu: fused activation %d not supported", name,
                 oi, op->act);
    }
    if (op->code == TFL_OP_AVERAGE_POOL_2D) {
        L->kind = CNN_AVGPOOL;
        L->kh = op->filter_h;
        L->kw = op->filter_w;
        L->sh = op->stride_h;
        L->sw = op->stride_w;
        int oh, ow;
        L2H_FAIL_IF(!out_dim(L->ih, L->kh, L->sh, op->padding, &oh, &L->pad_t) ||
                        !out_dim(L->iw, L->kw, L->sw, op->padding, &ow, &L->pad_l) ||
                        oh != L->oh || ow != L->ow || L->oc != L->ic,
                    L2H_ERR_FORMAT, "%s: operator %zu: pooling shapes do not agree", name, oi);
        L2H_FAIL_IF(x->scale[0] != y->scale[0] || L->in_zp != L->out_zp, L2H_ERR_UNSUPPORTED,
                    "%s: operator %zu: average pool that rescales is not supported", name, oi);
        return L2H_OK;
    }
    const int dw = op->code == TFL_OP_DEPTHWISE_CONV_2D;
    L->kind = dw ? CNN_DWCONV : CNN_CONV;
    L2H_FAIL_IF(op->n_in < 2 || op->in[1] < 0, L2H_ERR_FORMAT, "%s: operator %zu: no weights",
                name, oi);
    const tfl_tensor *w = &m->tensors[op->in[1]];
    const tfl_tensor *b = op->n_in >= 3 && op->in[2] >= 0 ? &m->tensors[op->in[2]] : NULL;
    L2H_FAIL_IF(w->type != TFL_UINT8 || w->ndim != 4 || w->data == NULL, L2H_ERR_UNSUPPORTED,
                "%s: operator %zu: weights must be constant uint8 [O,H,W,I]", name, oi);
    L2H_FAIL_IF(op->dilation_w != 1 || op->dilation_h != 1, L2H_ERR_UNSUPPORTED,
                "%s: operator %zu: dilated convolution not supported", name, oi);
    L->kh = w->shape[1];
    L->kw = w->shape[2];
    L->sh = op->stride_h;
    L->sw = op->stride_w;
    if (dw) {
        L->depth_mult = op->depth_multiplier;
        L2H_FAIL_IF(w->shape[0] != 1 || w->shape[3] != L->oc || L->depth_mult <= 0 ||
                        (int64_t)L->ic * L->depth_mult != L->oc,
                    L2H_ERR_FORMAT, "%s: operator %zu: depthwise weight shape mismatch", name, oi);
    } else {
        L2H_FAIL_IF(w->shape[0] != L->oc || w->shape[3] != L->ic, L2H_ERR_FORMAT,
                    "%s: operator %zu: weight shape mismatch", name, oi);
    }
    int oh, ow;
    L2H_FAIL_IF(!out_dim(L->ih, L->kh, L->sh, op->padding, &oh, &L->pad_t) ||
                    !out_dim(L->iw, L->kw, L->sw, op->padding, &ow, &L->pad_l) || oh != L->oh ||
                    ow != L->ow,
                L2H_ERR_FORMAT, "%s: operator %zu: output shape does not follow from the input",
                name, oi);
    const size_t welems = tfl_elems(w);
    L2H_FAIL_IF(welems == 0 || w->data_len != welems, L2H_ERR_FORMAT,
                "%s: operator %zu: weight buffer has %zu bytes, expected %zu", name, oi,
                w->data_len, welems);
    L2H_FAIL_IF(!quant_ok(w, (size_t)L->oc), L2H_ERR_FORMAT,
                "%s: operator %zu: bad weight quantisation", name, oi);
    L->w = w->data;
    const size_t oc = (size_t)L->oc;
    L->w_zp = l2h_malloc_array(oc, sizeof *L->w_zp);
    L->bias = l2h_calloc(oc, sizeof *L->bias);
    L->mult = l2h_malloc_array(oc, sizeof *L->mult);
    L->shift = l2h_malloc_array(oc, sizeof *L->shift);
    L->real_mult = l2h_malloc_array(oc, sizeof *L->real_mult);
    L->fmult = l2h_malloc_array(oc, sizeof *L->fmult);
    L->w_scale = l2h_malloc_array(oc, sizeof *L->w_scale);
    L2H_FAIL_IF(!L->w_zp || !L->bias || !L->mult || !L->shift || !L->real_mult || !L->fmult ||
                    !L->w_scale,
                L2H_ERR_NOMEM,
                "%s: out of memory", name);
    if (b != NULL) {
        L2H_FAIL_IF(b->type != TFL_INT32 || b->data == NULL || tfl_elems(b) != oc ||
                        b->data_len != 4 * oc,
                    L2H_ERR_FORMAT, "%s: operator %zu: bias must be %zu constant int32", name, oi,
                    oc);
        for (size_t i = 0; i < oc; i++) {
            const uint8_t *p = b->data + 4 * i;
            L->bias[i] = (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                                   (uint32_t)p[3] << 24);
        }
    }
    /* Every partial sum of the int32 accumulator (also the VNNI form, whose two terms are each
     * bounded by taps * 255 * 255) must fit: refuse biases that could overflow it. */
    const int64_t taps = (int64_t)L->kh * L->kw * (dw ? 1 : L->ic);
    for (size_t i = 0; i < oc; i++)
        L2H_FAIL_IF(llabs((long long)L->bias[i]) + 2 * taps * 255 * 255 > INT32_MAX,
                    L2H_ERR_UNSUPPORTED,
                    "%s: operator %zu: bias %d with %lld taps could overflow the int32 accumulator",
                    name, oi, (int)L->bias[i], (long long)taps);
    for (size_t i = 0; i < oc; i++) {
        const size_t q = w->n_quant == 1 ? 0 : i;
        L2H_FAIL_IF(w->zero_point[q] < 0 || w->zero_point[q] > 255, L2H_ERR_FORMAT,
                    "%s: operator %zu: weight zero point outside 0..255", name, oi);
        L->w_zp[i] = (int32_t)w->zero_point[q];
        L->w_scale[i] = w->scale[q];
        /* as TFLite's GetQuantizedConvolutionMultipler: in double from float scales */
        L->real_mult[i] = (double)x->scale[0] * (double)w->scale[q] / (double)y->scale[0];
        L->fmult[i] = (float)L->real_mult[i];
        cnn_quantize_multiplier(L->real_mult[i], &L->mult[i], &L->shift[i]);
        L2H_FAIL_IF(L->shift[i] > 30, L2H_ERR_UNSUPPORTED,
                    "%s: operator %zu: output multiplier %g too large", name, oi, L->real_mult[i]);
    }
    L->macs = (double)L->oh * L->ow * L->oc * L->kh * L->kw * (dw ? 1 : L->ic);
    /* fast-path weight forms */
    if (!dw && L->kh == 1 && L->kw == 1 && L->sh == 1 && L->sw == 1 && L->ic % 4 == 0 &&
        L->oc % 16 == 0 && L->in_zp == 0 && shifts_nonpositive(L)) { /* after the multipliers */
        const size_t ic = (size_t)L->ic;
        L->wpack = l2h_aligned_alloc(64, oc * ic);
        L->corr = l2h_malloc_array(oc, sizeof *L->corr);
        L2H_FAIL_IF(!L->wpack || !L->corr, L2H_ERR_NOMEM, "%s: out of memory", name);
        for (size_t o = 0; o < oc; o++) {
            L->corr[o] = 128 - L->w_zp[o];
            for (size_t k = 0; k < ic; k++) {
                const size_t blk = o / 16, lane = o % 16, kq = k / 4, kr = k % 4;
                L->wpack[((blk * (ic / 4) + kq) * 16 + lane) * 4 + kr] =
                    (int8_t)((int)L->w[o * ic + k] - 128);
            }
        }
    }
    if (shifts_nonpositive(L)) {
        L->rshift = l2h_malloc_array(oc, sizeof *L->rshift);
        L2H_NOMEM_IF_NULL(L->rshift);
        for (size_t o = 0; o < oc; o++) L->rshift[o] = -L->shift[o];
    }
    L->w16 = l2h_malloc_array(welems, sizeof *L->w16);
    L2H_NOMEM_IF_NULL(L->w16);
    for (size_t i = 0; i < welems; i++) {
        const size_t o = dw ? i % oc : i / (welems / oc);
        L->w16[i] = (int16_t)((int)L->w[i] - L->w_zp[o]);
    }
    if (!dw) {
        const size_t K = welems / oc;
        L->w16t = l2h_malloc_array(welems, sizeof *L->w16t);
        L2H_NOMEM_IF_NULL(L->w16t);
        for (size_t o = 0; o < oc; o++)
            for (size_t k = 0; k < K; k++) L->w16t[k * oc + o] = L->w16[o * K + k];
    }
    return L2H_OK;
}

static int act_tensor_ok(const tfl_tensor *t)
{
    return t->type == TFL_UINT8 && t->ndim == 4 && t->shape[0] == 1 && t->shape[1] > 0 &&
           t->shape[2] > 0 && t->shape[3] > 0 && t->shape[1] <= 4096 && t->shape[2] <= 4096 &&
           t->shape[3] <= 65536 && t->n_quant == 1 && t->scale[0] > 0.0f &&
           isfinite(t->scale[0]) && tfl_elems(t) <= (size_t)1 << 28;
}

static l2h_status cnn_build(const char *name, const tfl_model *m, l2h_cnn *net)
{
    const tfl_tensor *x = &m->tensors[m->input];
    L2H_FAIL_IF(!act_tensor_ok(x) || x->shape[3] != 3 || x->shape[1] != x->shape[2],
                L2H_ERR_UNSUPPORTED, "%s: the input must be uint8 [1,S,S,3] with one scale", name);
    net->in_size = x->shape[1];
    net->layers = l2h_calloc(m->n_ops, sizeof *net->layers);
    L2H_NOMEM_IF_NULL(net->layers);
    int32_t cur = m->input;
    net->max_act = tfl_elems(x);
    for (size_t i = 0; i < m->n_ops; i++) {
        const tfl_op *op = &m->ops[i];
        L2H_FAIL_IF(op->n_in < 1 || op->in[0] != cur || op->n_out != 1 || op->out[0] < 0,
                    L2H_ERR_UNSUPPORTED,
                    "%s: operator %zu does not continue a single chain of layers", name, i);
        const tfl_tensor *y = &m->tensors[op->out[0]];
        x = &m->tensors[cur];
        cnn_layer *L = &net->layers[net->n_layers];
        if (op->code == TFL_OP_RESHAPE || op->code == TFL_OP_SQUEEZE) {
            L2H_FAIL_IF(y->type != TFL_UINT8 || tfl_elems(y) != tfl_elems(x) || y->n_quant != 1 ||
                            y->scale[0] != x->scale[0] || y->zero_point[0] != x->zero_point[0],
                        L2H_ERR_UNSUPPORTED, "%s: operator %zu: reshape changes data", name, i);
            cur = op->out[0];
            continue; /* a no-op on NHWC bytes */
        }
        L2H_FAIL_IF(op->code != TFL_OP_CONV_2D && op->code != TFL_OP_DEPTHWISE_CONV_2D &&
                        op->code != TFL_OP_AVERAGE_POOL_2D,
                    L2H_ERR_UNSUPPORTED, "%s: operator %zu: builtin operator %d not supported",
                    name, i, op->code);
        L2H_FAIL_IF(!act_tensor_ok(y), L2H_ERR_UNSUPPORTED,
                    "%s: operator %zu: output must be a uint8 [1,H,W,C] tensor", name, i);
        const l2h_status st = build_layer(name, m, op, i, x, y, L);
        net->n_layers++; /* owned now, freed with the net even on failure */
        L2H_TRY(st);
        if (tfl_elems(y) > net->max_act) net->max_act = tfl_elems(y);
        net->macs += L->macs;
        cur = op->out[0];
    }
    L2H_FAIL_IF(cur != m->output || net->n_layers == 0, L2H_ERR_UNSUPPORTED,
                "%s: the chain of layers does not end at the graph output", name);
    const tfl_tensor *o = &m->tensors[cur];
    net->feature_dim = tfl_elems(o);
    net->out_scale = (double)o->scale[0];
    net->out_zp = (int)o->zero_point[0];
    return L2H_OK;
}

l2h_status l2h_cnn_load_memory(const void *data, size_t size, const char *name, l2h_cnn **out)
{
    L2H_FAIL_IF(out == NULL || (data == NULL && size > 0), L2H_ERR_ARG, "l2h_cnn_load: NULL");
    *out = NULL;
    if (name == NULL) name = "(memory)";
    l2h_cnn *net = l2h_calloc(1, sizeof *net);
    L2H_NOMEM_IF_NULL(net);
    net->file = l2h_malloc(size > 0 ? size : 1);
    if (net->file == NULL) {
        l2h_free(net);
        L2H_FAIL(L2H_ERR_NOMEM, "%s: out of memory", name);
    }
    if (size > 0) memcpy(net->file, data, size);
    net->file_len = size;
    tfl_model m;
    l2h_status st = tfl_parse(net->file, size, name, &m);
    if (st == L2H_OK) {
        st = cnn_build(name, &m, net);
        tfl_free(&m);
    }
    if (st != L2H_OK) {
        l2h_cnn_free(net);
        return st;
    }
    *out = net;
    return L2H_OK;
}

l2h_status l2h_cnn_load(const char *path, l2h_cnn **out)
{
    L2H_FAIL_IF(path == NULL || out == NULL, L2H_ERR_ARG, "l2h_cnn_load: NULL argument");
    *out = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    L2H_TRY(l2h_image_read_file(path, (size_t)1 << 30, &buf, &len));
    const l2h_status st = l2h_cnn_load_memory(buf, len, path, out);
    l2h_free(buf);
    return st;
}

size_t l2h_cnn_input_size(const l2h_cnn *net) { return net ? (size_t)net->in_size : 0; }
size_t l2h_cnn_feature_dim(const l2h_cnn *net) { return net ? net->feature_dim : 0; }
double l2h_cnn_macs(const l2h_cnn *net) { return net ? net->macs : 0; }
void l2h_cnn_output_quant(const l2h_cnn *net, double *scale, int *zero_point)
{
    if (scale) *scale = net ? net->out_scale : 0;
    if (zero_point) *zero_point = net ? net->out_zp : 0;
}

l2h_status l2h_cnn_set_arithmetic(l2h_cnn *net, l2h_cnn_arithmetic a)
{
    L2H_FAIL_IF(net == NULL, L2H_ERR_ARG, "l2h_cnn_set_arithmetic: NULL network");
    L2H_FAIL_IF(a != L2H_CNN_TFLITE && a != L2H_CNN_FLOAT_REQUANT, L2H_ERR_ARG,
                "l2h_cnn_set_arithmetic: unknown arithmetic %d", (int)a);
    for (size_t i = 0; i < net->n_layers; i++) net->layers[i].rq_float = a == L2H_CNN_FLOAT_REQUANT;
    return L2H_OK;
}
