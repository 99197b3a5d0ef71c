/* cnn_dwconv.c -- quantised DEPTHWISE_CONV_2D: the plain reference (TFLite's
 * reference_ops::DepthwiseConv for uint8) and a fast form that keeps one int32 accumulator row
 * per output pixel and adds whole channel vectors per tap (contiguous in NHWC, vectorised). */
#include "cnn_internal.h"

void cnn_dwconv_ref(const cnn_layer *L, const uint8_t *in, uint8_t *out)
{
    for (int oy = 0; oy < L->oh; oy++)
        for (int ox = 0; ox < L->ow; ox++)
            for (int c = 0; c < L->ic; c++)
                for (int m = 0; m < L->depth_mult; m++) {
                    const int o = c * L->depth_mult + m;
                    int32_t acc = 0;
                    for (int ky = 0; ky < L->kh; ky++) {
                        const int iy = oy * L->sh - L->pad_t + ky;
                        if (iy < 0 || iy >= L->ih) continue;
                        for (int kx = 0; kx < L->kw; kx++) {
                            const int ix = ox * L->sw - L->pad_l + kx;
                            if (ix < 0 || ix >= L->iw) continue;
                            const int32_t xv = in[((size_t)iy * L->iw + ix) * L->ic + c];
                            const int32_t wv = L->w[((size_t)ky * L->kw + kx) * L->oc + o];
                            acc += (xv - L->in_zp) * (wv - L->w_zp[o]);
                        }
                    }
                    acc += L->bias[o];
                    out[((size_t)oy * L->ow + ox) * L->oc + o] = cnn_out(L, acc, (size_t)o);
                }
}

/* scratch: oc int32 accumulators. Depth multiplier 1 only; others use the reference. */
void cnn_dwconv_fast(const cnn_layer *L, const uint8_t *in, uint8_t *out, int32_t *scratch)
{
    if (cnn_dwconv_avx512(L, in, out, scratch)) return;
    if (L->depth_mult != 1) {
        cnn_dwconv_ref(L, in, out);
        return;
    }
    const int C = L->oc;
    int32_t *acc = scratch;
    const int32_t zp = L->in_zp;
    for (int oy = 0; oy < L->oh; oy++)
        for (int ox = 0; ox < L->ow; ox++) {
            for (int c = 0; c < C; c++) acc[c] = L->bias[c];
            for (int ky = 0; ky < L->kh; ky++) {
                const int iy = oy * L->sh - L->pad_t + ky;
                if (iy < 0 || iy >= L->ih) continue;
                for (int kx = 0; kx < L->kw; kx++) {
                    const int ix = ox * L->sw - L->pad_l + kx;
                    if (ix < 0 || ix >= L->iw) continue;
                    const uint8_t *xp = in + ((size_t)iy * L->iw + ix) * C;
                    const int16_t *wp = L->w16 + ((size_t)ky * L->kw + kx) * C;
                    for (int c = 0; c < C; c++) acc[c] += ((int32_t)xp[c] - zp) * wp[c];
                }
            }
            cnn_requant_row(L, acc, out + ((size_t)oy * L->ow + ox) * C);
        }
}
