/* cnn_internal.h -- the quantised network: layers built from a .tflite graph, TensorFlow Lite's
 * integer requantisation, and the kernels (each with a plain reference next to its fast form). */
#ifndef L2H_CNN_INTERNAL_H
#define L2H_CNN_INTERNAL_H

#include "image_internal.h"
#include "tflite.h"

#include <math.h>

typedef enum cnn_kind { CNN_CONV, CNN_DWCONV, CNN_AVGPOOL, CNN_RESHAPE } cnn_kind;

typedef struct cnn_layer {
    cnn_kind kind;
    int ih, iw, ic, oh, ow, oc;  /* NHWC shapes (batch 1) */
    int kh, kw, sh, sw, pad_t, pad_l, depth_mult;
    int32_t in_zp, out_zp, act_min, act_max;
    const uint8_t *w;            /* conv: [oc][kh][kw][ic]; depthwise: [kh][kw][oc]       */
    int32_t *w_zp;               /* per output channel                                    */
    int32_t *bias;               /* per output channel (zeros when the graph has none)    */
    int32_t *mult;               /* fixed-point multiplier per output channel (Q31)       */
    int *shift;                  /* its power-of-two exponent (>0 left, <0 right)         */
    double *real_mult;           /* in_scale * w_scale / out_scale                        */
    double in_scale, out_scale;  /* real activation = (byte - zero point) * scale         */
    float *w_scale;              /* per output channel (dequantising for fine-tuning)     */
    float *fmult;                /* the same in float (L2H_CNN_FLOAT_REQUANT)             */
    int rq_float;                /* requantise with fmult instead of the fixed point      */
    /* fast-path forms, built at load time */
    int8_t *wpack;               /* 1x1 conv, VNNI layout: [oc/16][ic/4][16][4] of (w-128) */
    int32_t *corr;               /* 1x1 conv: per oc, (128 - w_zp): times sum(x) per pixel */
    int32_t *rshift;             /* per oc, -shift; NULL unless every shift is <= 0         */
    int16_t *w16;                /* (w - w_zp) as int16, same layout as w                  */
    int16_t *w16t;               /* conv: the same transposed, [kh*kw*ic][oc]              */
    double macs;
} cnn_layer;

struct l2h_cnn {
    uint8_t *file;  /* the model bytes (weights point into them) */
    size_t file_len;
    cnn_layer *layers;
    size_t n_layers;
    int in_size;
    size_t max_act; /* largest activation, bytes */
    size_t feature_dim;
    double out_scale;
    int out_zp;
    double macs;
};

/* TensorFlow Lite's QuantizeMultiplier: real = mult * 2^(shift - 31), mult in [2^30, 2^31). */
void cnn_quantize_multiplier(double real, int32_t *mult, int *shift);
/* TensorFlow Lite's MultiplyByQuantizedMultiplier (rounding doubling high multiply, then a
 * rounding right shift). */
static inline int32_t cnn_requant(int32_t x, int32_t mult, int shift)
{
    const int left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
    const int64_t xs = (int64_t)x * ((int64_t)1 << left);
    const int32_t a = xs > INT32_MAX ? INT32_MAX : xs < INT32_MIN ? INT32_MIN : (int32_t)xs;
    int32_t hi;
    if (a == INT32_MIN && mult == INT32_MIN) hi = INT32_MAX;
    else {
        const int64_t ab = (int64_t)a * mult;
        const int64_t nudge = ab >= 0 ? ((int64_t)1 << 30) : 1 - ((int64_t)1 << 30);
        hi = (int32_t)((ab + nudge) / ((int64_t)1 << 31));
    }
    if (right == 0) return hi;
    const int32_t mask = (int32_t)(((int64_t)1 << right) - 1);
    const int32_t rem = hi & mask, thr = (mask >> 1) + (hi < 0 ? 1 : 0);
    return (hi >> right) + (rem > thr ? 1 : 0);
}

/* Kernels. in/out are one image's activations. Reference forms are plain loops. */
void cnn_conv_ref(const cnn_layer *L, const uint8_t *in, uint8_t *out);
void cnn_dwconv_ref(const cnn_layer *L, const uint8_t *in, uint8_t *out);
void cnn_avgpool_ref(const cnn_layer *L, const uint8_t *in, uint8_t *out);
void cnn_conv_fast(const cnn_layer *L, const uint8_t *in, uint8_t *out, int32_t *scratch);
void cnn_dwconv_fast(const cnn_layer *L, const uint8_t *in, uint8_t *out, int32_t *scratch);
/* 1x1 stride-1 convolution with AVX-512 VNNI; false if the CPU lacks it (nothing written). */
int cnn_pointwise_vnni(const cnn_layer *L, const uint8_t *in, uint8_t *out, int32_t *scratch);
/* Requantises one output pixel's accumulators (bias included) into out[0..oc): 16 lanes at a
 * time with AVX-512 where available, else cnn_out per channel. Same results either way. */
int cnn_requant_row(const cnn_layer *L, const int32_t *acc, uint8_t *out);
/* Depthwise 3x3-style kernel with AVX-512; 0 if not applicable (nothing written). */
int cnn_dwconv_avx512(const cnn_layer *L, const uint8_t *in, uint8_t *out, int32_t *scratch);
/* Index of the last block's depthwise layer (cnn_block.c); L2H_ERR_UNSUPPORTED with the
 * reason when the network does not end in a depthwise-separable ReLU6 block + global pool. */
l2h_status cnn_find_last_block(const l2h_cnn *net, size_t *dw_index);
/* Disable the VNNI path (tests compare both paths). */
extern int cnn_disable_vnni;

/* Final clamp + zero point of a requantised accumulator. */
static inline uint8_t cnn_out(const cnn_layer *L, int32_t acc, size_t oc)
{
    int32_t v;
    if (L->rq_float) {
        v = (int32_t)lrintf((float)acc * L->fmult[oc]);
    } else {
        v = cnn_requant(acc, L->mult[oc], L->shift[oc]);
    }
    v += L->out_zp;
    if (v < L->act_min) v = L->act_min;
    if (v > L->act_max) v = L->act_max;
    return (uint8_t)v;
}

#endif
