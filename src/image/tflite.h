/* tflite.h -- a small reader for the subset of the TensorFlow Lite flatbuffer format that a
 * quantised convolutional network needs: the first subgraph's tensors (shape, type, buffer,
 * quantisation) and operators (builtin code, inputs, outputs, conv/pool options).
 *
 * Every offset read from the file is bounds-checked before use; the parsed model points into
 * the caller's byte buffer (which must outlive it) for weight data, and owns everything else. */
#ifndef L2H_TFLITE_H
#define L2H_TFLITE_H

#include "core.h"

enum { TFL_FLOAT32 = 0, TFL_INT32 = 2, TFL_UINT8 = 3, TFL_INT64 = 4, TFL_INT8 = 9 };
enum { TFL_OP_AVERAGE_POOL_2D = 1, TFL_OP_CONV_2D = 3, TFL_OP_DEPTHWISE_CONV_2D = 4,
       TFL_OP_RESHAPE = 22, TFL_OP_SQUEEZE = 43 };
enum { TFL_PAD_SAME = 0, TFL_PAD_VALID = 1 };
enum { TFL_ACT_NONE = 0, TFL_ACT_RELU = 1, TFL_ACT_RELU6 = 3 };

#define TFL_MAX_DIMS 6

typedef struct tfl_tensor {
    int ndim;
    int32_t shape[TFL_MAX_DIMS];
    int type;
    const uint8_t *data; /* NULL for activations */
    size_t data_len;
    size_t n_quant;      /* number of (scale, zero point) pairs; 0 = not quantised */
    float *scale;        /* n_quant */
    int64_t *zero_point; /* n_quant */
    int quant_dim;
} tfl_tensor;

typedef struct tfl_op {
    int code; /* TFL_OP_* (builtin code) */
    int n_in, n_out;
    int32_t in[4], out[2];
    int padding, stride_w, stride_h, dilation_w, dilation_h, act, depth_multiplier;
    int filter_w, filter_h;
} tfl_op;

typedef struct tfl_model {
    size_t n_tensors, n_ops;
    tfl_tensor *tensors;
    tfl_op *ops;
    int32_t input, output; /* the subgraph's single input and output tensor */
} tfl_model;

/* Parses buf (len bytes). `name` is for error messages. */
l2h_status tfl_parse(const uint8_t *buf, size_t len, const char *name, tfl_model *out);
void tfl_free(tfl_model *m);
/* Elements of a tensor (product of its shape), 0 on overflow. */
size_t tfl_elems(const tfl_tensor *t);

#endif
