/* cnn_conv.c -- quantised CONV_2D: the plain reference (TFLite's reference_ops::Conv for
 * uint8, taps outside the image skipped, which equals padding with the input zero point) and a
 * portable fast form with the zero points folded into int16 weights. */
#include "cnn_internal.h"

void cnn_conv_ref(const cnn_layer *L, const uint8_t *in, uint8_t *out)
{
    for (int oy = 0; oy < L->oh; oy++)
        for (int ox = 0; ox < L->ow; ox++)
            for (int o = 0; o < L->oc; o++) {
                int32_t acc = 0;
                for (int ky = 0; ky < L->kh; ky++) {
                    const int iy = oy * L->sh - L->pad_t + ky;
                    if (iy < 0 || iy >= L->ih) continue;
                    for (int kx = 0; kx < L->kw; kx++) {
                        const int ix = ox * L->sw - L->pad_l + kx;
                        if (ix < 0 || ix >= L->iw) continue;
                        const uint8_t *xp = in + ((size_t)iy * L->iw + ix) * L->ic;
                        const uint8_t *wp = L->w + (((size_t)o * L->kh + ky) * L->kw + kx) * L->ic;
                        for (int c = 0; c < L->ic; c++)
                            acc += ((int32_t)xp[c] - L->in_zp) * ((int32_t)wp[c] - L->w_zp[o]);
                    }
                }
                acc += L->bias[o];
                out[((size_t)oy * L->ow + ox) * L->oc + o] = cnn_out(L, acc, (size_t)o);
            }
}

/* Fast form: for each output pixel, gather the receptive field once as int16 (x - x_zp, zero
 * outside the image), then accumulate all output channels at once over the transposed int16
 * weights (the inner loop runs over contiguous output channels, so GCC vectorises it), and
 * requantise the row. scratch: kh*kw*ic int16 then oc int32 (64-byte aligned offsets). */
void cnn_conv_fast(const cnn_layer *L, const uint8_t *in, uint8_t *out, int32_t *scratch)
{
    if (L->wpack != NULL && cnn_pointwise_vnni(L, in, out, scratch)) return;
    const int K = L->kh * L->kw * L->ic, OC = L->oc;
    int16_t *col = (int16_t *)scratch;
    int32_t *acc = scratch + ((size_t)K / 2 + 16) / 16 * 16;
    for (int oy = 0; oy < L->oh; oy++)
        for (int ox = 0; ox < L->ow; ox++) {
            int16_t *cp = col;
            for (int ky = 0; ky < L->kh; ky++) {
                const int iy = oy * L->sh - L->pad_t + ky;
                for (int kx = 0; kx < L->kw; kx++, cp += L->ic) {
                    const int ix = ox * L->sw - L->pad_l + kx;
                    if (iy < 0 || iy >= L->ih || ix < 0 || ix >= L->iw) {
                        for (int c = 0; c < L->ic; c++) cp[c] = 0;
                        continue;
                    }
                    const uint8_t *xp = in + ((size_t)iy * L->iw + ix) * L->ic;
                    for (int c = 0; c < L->ic; c++) cp[c] = (int16_t)(xp[c] - L->in_zp);
                }
            }
            for (int o = 0; o < OC; o++) acc[o] = L->bias[o];
            for (int k = 0; k < K; k++) {
                const int32_t xv = col[k];
                if (xv == 0) continue;
                const int16_t *wp = L->w16t + (size_t)k * OC;
                for (int o = 0; o < OC; o++) acc[o] += xv * wp[o];
            }
            cnn_requant_row(L, acc, out + ((size_t)oy * L->ow + ox) * OC);
        }
}
