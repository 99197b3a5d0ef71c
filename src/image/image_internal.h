/* image_internal.h -- shared pieces of the image module (decoding, resizing, the .tflite
 * reader and the quantised network). */
#ifndef L2H_IMAGE_INTERNAL_H
#define L2H_IMAGE_INTERNAL_H

#include "core.h"
#include "l2h/image.h"

/* Reads a whole file (at most max_len bytes). */
l2h_status l2h_image_read_file(const char *path, size_t max_len, uint8_t **buf, size_t *len);

/* Plain reference of l2h_image_resize_bilinear: the same filter in double precision without
 * the fixed-point weights and the 8-bit intermediate (the fast form stays within 1 of it). */
l2h_status image_resize_reference(const uint8_t *src, size_t sw, size_t sh, float *dst, size_t dw,
                                  size_t dh);

#endif
