/* cnn_pool.c -- quantised AVERAGE_POOL_2D (TFLite reference_ops::AveragePool for uint8): the
 * sum over the taps inside the image, divided by their count with rounding to nearest. Cheap
 * (one pass over the last activation), so the reference is also the fast form. */
#include "cnn_internal.h"

void cnn_avgpool_ref(const cnn_layer *L, const uint8_t *in, uint8_t *out)
{
    for (int oy = 0; oy < L->oh; oy++)
        for (int ox = 0; ox < L->ow; ox++)
            for (int c = 0; c < L->oc; c++) {
                int32_t acc = 0, count = 0;
                for (int ky = 0; ky < L->kh; ky++) {
                    const int iy = oy * L->sh - L->pad_t + ky;
                    if (iy < 0 || iy >= L->ih) continue;
                    for (int kx = 0; kx < L->kw; kx++) {
                        const int ix = ox * L->sw - L->pad_l + kx;
                        if (ix < 0 || ix >= L->iw) continue;
                        acc += in[((size_t)iy * L->iw + ix) * L->ic + c];
                        count++;
                    }
                }
                int32_t v = count > 0 ? (acc + count / 2) / count : 0;
                if (v < L->act_min) v = L->act_min;
                if (v > L->act_max) v = L->act_max;
                out[((size_t)oy * L->ow + ox) * L->oc + c] = (uint8_t)v;
            }
}
