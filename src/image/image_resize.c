/* image_resize.c -- bilinear (triangle-filter) resizing of 8-bit RGB images.
 *
 * The filter is the separable one Pillow's Image.resize(BILINEAR) applies, re-implemented from
 * its description, because that is what made the shared CIFAR-10 MobileNet features (checked
 * in docs/images.md: a plain floating-point bilinear upsampling moves the features four times
 * further from the shared rows). For output pixel i the sample centre is (i + 0.5) * s with
 * s = in/out; the filter is the triangle 1 - |t| stretched by max(s, 1) (so shrinking averages,
 * enlarging interpolates), truncated to the image and renormalised. The weights are rounded to
 * 22-bit fixed point; the horizontal pass runs first into an 8-bit intermediate, then the
 * vertical pass, each rounding to nearest. */
#include "image_internal.h"

#include <math.h>
#include <string.h>

#define RS_BITS 22

typedef struct rs_coeffs {
    size_t ksize;
    size_t *first; /* out: first source index   */
    size_t *count; /* out: number of taps        */
    double *w;     /* out * ksize, normalised    */
    int32_t *wq;   /* out * ksize, fixed point   */
} rs_coeffs;

static void coeffs_free(rs_coeffs *c)
{
    l2h_free(c->first);
    l2h_free(c->count);
    l2h_free(c->w);
    l2h_free(c->wq);
}

static l2h_status coeffs_make(size_t in, size_t out, rs_coeffs *c)
{
    memset(c, 0, sizeof *c);
    const double scale = (double)in / (double)out;
    const double fscale = scale > 1.0 ? scale : 1.0;
    const double support = fscale; /* triangle support 1, stretched */
    c->ksize = (size_t)ceil(support) * 2 + 1;
    c->first = l2h_malloc_array(out, sizeof *c->first);
    c->count = l2h_malloc_array(out, sizeof *c->count);
    c->w = l2h_calloc(out * c->ksize, sizeof *c->w);
    c->wq = l2h_calloc(out * c->ksize, sizeof *c->wq);
    if (!c->first || !c->count || !c->w || !c->wq) {
        coeffs_free(c);
        L2H_FAIL(L2H_ERR_NOMEM, "image resize: out of memory");
    }
    for (size_t i = 0; i < out; i++) {
        const double centre = ((double)i + 0.5) * scale;
        double lo = centre - support + 0.5, hi = centre + support + 0.5;
        size_t a = lo > 0 ? (size_t)lo : 0, b = hi > 0 ? (size_t)hi : 0;
        if (b > in) b = in;
        if (b - a > c->ksize) b = a + c->ksize;
        double *w = c->w + i * c->ksize, sum = 0;
        for (size_t x = a; x < b; x++) {
            double t = fabs(((double)x - centre + 0.5) / fscale);
            w[x - a] = t < 1.0 ? 1.0 - t : 0.0;
            sum += w[x - a];
        }
        for (size_t k = 0; k < b - a; k++) {
            if (sum != 0) w[k] /= sum;
            const double q = w[k] * (double)(1 << RS_BITS);
            c->wq[i * c->ksize + k] = (int32_t)(q < 0 ? q - 0.5 : q + 0.5);
        }
        c->first[i] = a;
        c->count[i] = b - a;
    }
    return L2H_OK;
}

static inline uint8_t clip8(int64_t acc)
{
    const int64_t v = acc >> RS_BITS;
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

static l2h_status check_args(const uint8_t *src, size_t sw, size_t sh, const void *dst, size_t dw,
                             size_t dh)
{
    L2H_FAIL_IF(src == NULL || dst == NULL, L2H_ERR_ARG, "image resize: NULL buffer");
    L2H_FAIL_IF(sw == 0 || sh == 0 || dw == 0 || dh == 0, L2H_ERR_ARG,
                "image resize: empty image (%zux%zu -> %zux%zu)", sw, sh, dw, dh);
    L2H_FAIL_IF(dw > L2H_IMAGE_MAX_PIXELS / dh || sw > L2H_IMAGE_MAX_PIXELS / sh, L2H_ERR_ARG,
                "image resize: image larger than the pixel limit");
    return L2H_OK;
}

l2h_status l2h_image_resize_bilinear(const uint8_t *src, size_t sw, size_t sh, uint8_t *dst,
                                     size_t dw, size_t dh)
{
    L2H_TRY(check_args(src, sw, sh, dst, dw, dh));
    rs_coeffs cx, cy;
    L2H_TRY(coeffs_make(sw, dw, &cx));
    l2h_status st = coeffs_make(sh, dh, &cy);
    uint8_t *tmp = st == L2H_OK ? l2h_malloc_array(sh * dw, 3) : NULL;
    if (st == L2H_OK && tmp == NULL) st = l2h_set_error(L2H_ERR_NOMEM, "image resize: out of memory");
    if (st == L2H_OK) {
        for (size_t y = 0; y < sh; y++) /* horizontal pass: sh x dw */
            for (size_t x = 0; x < dw; x++) {
                const uint8_t *s = src + (y * sw + cx.first[x]) * 3;
                const int32_t *w = cx.wq + x * cx.ksize;
                for (size_t ch = 0; ch < 3; ch++) {
                    int64_t acc = (int64_t)1 << (RS_BITS - 1);
                    for (size_t k = 0; k < cx.count[x]; k++) acc += (int64_t)s[3 * k + ch] * w[k];
                    tmp[(y * dw + x) * 3 + ch] = clip8(acc);
                }
            }
        for (size_t y = 0; y < dh; y++) { /* vertical pass: dh x dw */
            const int32_t *w = cy.wq + y * cy.ksize;
            const uint8_t *s = tmp + cy.first[y] * dw * 3;
            for (size_t i = 0; i < dw * 3; i++) {
                int64_t acc = (int64_t)1 << (RS_BITS - 1);
                for (size_t k = 0; k < cy.count[y]; k++) acc += (int64_t)s[k * dw * 3 + i] * w[k];
                dst[y * dw * 3 + i] = clip8(acc);
            }
        }
    }
    l2h_free(tmp);
    coeffs_free(&cx);
    coeffs_free(&cy);
    return st;
}

/* Plain reference: the same filter in double precision, no intermediate rounding. */
l2h_status image_resize_reference(const uint8_t *src, size_t sw, size_t sh, float *dst, size_t dw,
                                  size_t dh)
{
    L2H_TRY(check_args(src, sw, sh, dst, dw, dh));
    rs_coeffs cx, cy;
    L2H_TRY(coeffs_make(sw, dw, &cx));
    l2h_status st = coeffs_make(sh, dh, &cy);
    if (st == L2H_OK)
        for (size_t y = 0; y < dh; y++)
            for (size_t x = 0; x < dw; x++)
                for (size_t ch = 0; ch < 3; ch++) {
                    double acc = 0;
                    for (size_t j = 0; j < cy.count[y]; j++)
                        for (size_t k = 0; k < cx.count[x]; k++)
                            acc += cy.w[y * cy.ksize + j] * cx.w[x * cx.ksize + k] *
                                   src[((cy.first[y] + j) * sw + cx.first[x] + k) * 3 + ch];
                    dst[(y * dw + x) * 3 + ch] = (float)acc;
                }
    coeffs_free(&cx);
    coeffs_free(&cy);
    return st;
}
