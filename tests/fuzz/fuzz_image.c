/* fuzz_image.c -- libFuzzer target for the image decoder through l2h_image_decode (what
 * l2h_image_load runs on the file's bytes), then the resize to the network's input size. Any
 * input must be refused cleanly (no image, a message naming the buffer) or give an image whose
 * size is within the limit and which resizes. */
#include "l2h/image.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    l2h_image *img = NULL;
    if (l2h_image_decode(data, size, "fuzz", &img) != L2H_OK) {
        if (img != NULL) abort();
        if (strncmp(l2h_last_error(), "fuzz", 4) != 0 &&
            strncmp(l2h_last_error(), "out of memory", 13) != 0)
            abort();
        return 0;
    }
    const size_t w = l2h_image_width(img), h = l2h_image_height(img);
    if (w == 0 || h == 0 || w > L2H_IMAGE_MAX_PIXELS / h || !l2h_image_pixels(img)) abort();
    if (w * h <= 1u << 20) { /* keep each run fast */
        uint8_t out[16 * 16 * 3];
        if (l2h_image_resize_bilinear(l2h_image_pixels(img), w, h, out, 16, 16) != L2H_OK) abort();
    }
    l2h_image_free(img);
    return 0;
}
