/* SPDX-License-Identifier: MIT (see LICENSE) */
/* l2h/image.h -- images in: JPEG/PNG decoding, bilinear resizing, and the uint8 MobileNet-v1
 * network (a TensorFlow Lite model file) that turns a photo into a 1024-byte CNN feature.
 *
 * Decoding goes through Debian's libjpeg-turbo and libpng. Every image comes out as 8-bit RGB,
 * row-major, 3 bytes per pixel (grey images are replicated to three channels, alpha is dropped,
 * 16-bit samples are reduced to 8 bits, palettes are expanded). Images larger than
 * L2H_IMAGE_MAX_PIXELS are refused, so memory stays bounded whatever a header claims.
 *
 * The network reader understands exactly the subset of the .tflite format a quantised
 * MobileNet-style graph needs (uint8 CONV_2D, DEPTHWISE_CONV_2D, AVERAGE_POOL_2D, RESHAPE) and
 * refuses anything else with L2H_ERR_UNSUPPORTED. Inference follows TensorFlow Lite's integer
 * arithmetic: int32 accumulators, fixed-point output multipliers, per-tensor or per-channel
 * weight scales, fused ReLU/ReLU6 clamps. */
#ifndef L2H_IMAGE_H
#define L2H_IMAGE_H

#include "l2h/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define L2H_IMAGE_MAX_PIXELS (64u * 1024u * 1024u)

/* ---- decoded images ------------------------------------------------------------------- */
typedef struct l2h_image l2h_image;

/* Decodes a JPEG or PNG file (recognised by its first bytes, not its name). Errors:
 * L2H_ERR_IO (cannot read), L2H_ERR_FORMAT (corrupt or truncated), L2H_ERR_UNSUPPORTED (not a
 * JPEG/PNG, e.g. GIF, or a JPEG colour space other than grey/YCbCr/RGB, such as CMYK). */
L2H_API L2H_NODISCARD l2h_status l2h_image_load(const char *path, l2h_image **out);
/* The same from bytes in memory; `name` is used in error messages only. */
L2H_API L2H_NODISCARD l2h_status l2h_image_decode(const void *data, size_t size, const char *name,
                                                  l2h_image **out);
L2H_API void l2h_image_free(l2h_image *img);
L2H_API size_t l2h_image_width(const l2h_image *img);
L2H_API size_t l2h_image_height(const l2h_image *img);
/* width * height * 3 bytes, RGB, row-major. */
L2H_API const uint8_t *l2h_image_pixels(const l2h_image *img);

/* Bilinear resize of 3-channel 8-bit pixels, src (sw x sh) -> dst (dw x dh), both caller-owned:
 * the separable triangle filter of Pillow's resize(BILINEAR) (pixel-centre sampling; when
 * shrinking, the filter widens by the scale factor, so it also antialiases), 22-bit fixed-point
 * weights, horizontal pass first through an 8-bit intermediate. This is the preprocessing of the
 * shared CIFAR-10 MobileNet features. */
L2H_API L2H_NODISCARD l2h_status l2h_image_resize_bilinear(const uint8_t *src, size_t sw, size_t sh,
                                                           uint8_t *dst, size_t dw, size_t dh);

/* ---- the CNN -------------------------------------------------------------------------- */
typedef struct l2h_cnn l2h_cnn;

/* Reads a quantised .tflite model (e.g. ../shared/data/mobilenet-v1/). */
L2H_API L2H_NODISCARD l2h_status l2h_cnn_load(const char *path, l2h_cnn **out);
L2H_API L2H_NODISCARD l2h_status l2h_cnn_load_memory(const void *data, size_t size,
                                                     const char *name, l2h_cnn **out);
L2H_API void l2h_cnn_free(l2h_cnn *net);
/* Input side (224 for MobileNet v1 1.0/224; the input is side x side x 3 RGB bytes). */
L2H_API size_t l2h_cnn_input_size(const l2h_cnn *net);
/* Bytes of the output feature (1024 for the embedding extractor). */
L2H_API size_t l2h_cnn_feature_dim(const l2h_cnn *net);
/* Real value of an output byte: (byte - zero_point) * scale. */
L2H_API void l2h_cnn_output_quant(const l2h_cnn *net, double *scale, int *zero_point);
/* How int32 accumulators become the next layer's bytes. L2H_CNN_TFLITE (the default) is the
 * format's specification: a Q31 fixed-point multiplier and a rounding shift, bit-exact with the
 * TensorFlow Lite reference kernels. L2H_CNN_FLOAT_REQUANT multiplies by the real multiplier in
 * float32 and rounds to nearest, which is how the shared CIFAR-10 features were emulated; it
 * reproduces them about four times more closely (docs/images.md). Set before running, not while
 * another thread runs the network. */
typedef enum l2h_cnn_arithmetic { L2H_CNN_TFLITE = 0, L2H_CNN_FLOAT_REQUANT = 1 } l2h_cnn_arithmetic;
L2H_API L2H_NODISCARD l2h_status l2h_cnn_set_arithmetic(l2h_cnn *net, l2h_cnn_arithmetic a);
/* Number of multiply-adds of one forward pass. */
L2H_API double l2h_cnn_macs(const l2h_cnn *net);

/* Runs the network on n images already at the input size (n x side x side x 3 bytes) into
 * out (n x feature_dim bytes). Images are spread over l2h_threads() threads. */
L2H_API L2H_NODISCARD l2h_status l2h_cnn_run(const l2h_cnn *net, const uint8_t *input, size_t n,
                                             uint8_t *out);
/* Same with the plain reference kernels (slow; for tests). */
L2H_API L2H_NODISCARD l2h_status l2h_cnn_run_reference(const l2h_cnn *net, const uint8_t *input,
                                                       size_t n, uint8_t *out);

/* Decodes each file, resizes it bilinearly to the input size and runs the network: out is
 * n x feature_dim bytes. Files are processed in parallel. `progress`, when not NULL, is called
 * from one thread with the number of finished images. On a failing file the call stops and
 * returns its status; *failed (when not NULL) receives its index. */
typedef void (*l2h_image_progress_fn)(size_t done, size_t total, void *ctx);
L2H_API L2H_NODISCARD l2h_status l2h_cnn_features_files(const l2h_cnn *net,
                                                        const char *const *paths, size_t n,
                                                        uint8_t *out, l2h_image_progress_fn progress,
                                                        void *ctx, size_t *failed);

/* ---- the last block, for fine-tuning (issue 17) --------------------------------------------
 * The network's last depthwise-separable block: a k x k depthwise convolution and a 1 x 1
 * convolution, each followed by ReLU6, then the global average pool that gives the feature.
 * Fine-tuning trains it in float together with a hash layer, from cached block inputs
 * (l2h_cnn_features_files_tap); everything before it stays frozen. */
typedef struct l2h_cnn_block {
    size_t channels, height, width; /* shape of the block's input (C, H, W)                   */
    size_t kernel, stride, pad;     /* of the depthwise convolution                           */
    size_t out_channels;            /* of the 1 x 1 convolution (= the feature length)        */
    double in_scale;                /* input real value = (byte - in_zero_point) * in_scale   */
    int in_zero_point;              /* 0 (ReLU6 output); other networks are refused           */
    double mid_scale, out_scale;    /* scales of the depthwise and 1 x 1 outputs              */
} l2h_cnn_block;

/* Describes the block (info may be NULL) and writes its weights dequantised to float, each
 * pointer may be NULL: dw_weight [C][1][k][k], dw_bias [C], pw_weight [OC][C][1][1], pw_bias
 * [OC] (PyTorch's layouts). L2H_ERR_UNSUPPORTED, saying why, for a network that does not end
 * in such a block. */
L2H_API L2H_NODISCARD l2h_status l2h_cnn_last_block(const l2h_cnn *net, l2h_cnn_block *info,
                                                    float *dw_weight, float *dw_bias,
                                                    float *pw_weight, float *pw_bias);

/* l2h_cnn_run that also writes, when tap is not NULL, each image's input of the last block as
 * C x H x W bytes, channel-major (n x C*H*W bytes). */
L2H_API L2H_NODISCARD l2h_status l2h_cnn_run_tap(const l2h_cnn *net, const uint8_t *input,
                                                 size_t n, uint8_t *out, uint8_t *tap);
/* l2h_cnn_features_files that also writes, when tap is not NULL, each image's input of the
 * last block as C x H x W bytes in channel-major order (n x C*H*W bytes; the layout of the nn
 * module's image tensors), the cache fine-tuning starts from. */
L2H_API L2H_NODISCARD l2h_status l2h_cnn_features_files_tap(
    const l2h_cnn *net, const char *const *paths, size_t n, uint8_t *out, uint8_t *tap,
    l2h_image_progress_fn progress, void *ctx, size_t *failed);

#ifdef __cplusplus
}
#endif
#endif
