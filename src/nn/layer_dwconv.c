/* layer_dwconv.c -- depthwise 2-D convolution (one k x k filter per channel, channel
 * multiplier 1; PyTorch's Conv2d(C, C, k, groups=C)), NCHW, one stride and one zero padding for
 * both axes. MobileNet's separable blocks are this layer followed by a 1 x 1 conv.
 *
 *   x_i [C, H, W], W [C, 1, KH, KW], b [C], OH = (H + 2·pad − KH) / stride + 1, OW likewise.
 *   forward:  y_i[c, r, q] = b[c] + Σ_{u,v} W[c, u, v] · x_i[c, r·stride − pad + u, q·stride − pad + v]
 *             (terms outside the image are 0)
 *   backward: dW[c, u, v] += Σ_{r,q} dy_i[c, r, q] · x_i[c, r·s − pad + u, q·s − pad + v],
 *             db[c] += Σ_{r,q} dy_i[c, r, q],
 *             dx_i[c, r·s − pad + u, q·s − pad + v] += W[c, u, v] · dy_i[c, r, q].
 * Plain loops: a 3 x 3 depthwise layer costs 9 multiply-adds per output, negligible next to the
 * 1 x 1 conv after it. */
#include "nn_internal.h"

#include <string.h>

static l2h_status dwconv_setup(l2h_layer *l)
{
    const l2h_layer_spec *s = &l->spec;
    L2H_FAIL_IF(s->out != 0, L2H_ERR_ARG, "dwconv keeps the channel count (out must be 0)");
    L2H_FAIL_IF(s->kh == 0 || s->kw == 0, L2H_ERR_ARG, "dwconv needs a kernel size");
    L2H_FAIL_IF(s->stride == 0, L2H_ERR_ARG, "dwconv stride 0");
    L2H_FAIL_IF(s->pad > (size_t)1 << 20 || s->kh > (size_t)1 << 20 || s->kw > (size_t)1 << 20,
                L2H_ERR_ARG, "dwconv: kernel or padding too large");
    const size_t ph = l->in_h + 2 * s->pad, pw = l->in_w + 2 * s->pad;
    L2H_FAIL_IF(s->kh > ph || s->kw > pw, L2H_ERR_ARG,
                "dwconv kernel %zux%zu larger than the padded input %zux%zu", s->kh, s->kw, ph,
                pw);
    l->out_c = l->in_c;
    l->out_h = (ph - s->kh) / s->stride + 1;
    l->out_w = (pw - s->kw) / s->stride + 1;
    size_t kk, wc;
    L2H_FAIL_IF(!l2h_mul_ok(s->kh, s->kw, &kk) || !l2h_mul_ok(kk, l->in_c, &wc), L2H_ERR_ARG,
                "dwconv: size overflow");
    l->w_count = wc;
    l->b_count = l->in_c;
    l->fan_in = kk;
    l->fan_out = kk;
    return L2H_OK;
}

static void dwconv_forward(const l2h_layer *l, const float *params, const float *x, size_t n,
                           float *y, float *scratch, int32_t *saved)
{
    (void)scratch;
    (void)saved;
    const size_t kh = l->spec.kh, kw = l->spec.kw, st = l->spec.stride;
    const size_t H = l->in_h, W = l->in_w, oh = l->out_h, ow = l->out_w;
    const long pad = (long)l->spec.pad;
    const float *w = params + l->w_off, *b = params + l->b_off;
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < l->in_c; c++) {
            const float *xc = x + i * l->in_dim + c * H * W;
            const float *wc = w + c * kh * kw;
            float *yc = y + i * l->out_dim + c * oh * ow;
            for (size_t r = 0; r < oh; r++)
                for (size_t q = 0; q < ow; q++) {
                    float s = b[c];
                    for (size_t u = 0; u < kh; u++) {
                        const long iy = (long)(r * st + u) - pad;
                        if (iy < 0 || iy >= (long)H) continue;
                        for (size_t v = 0; v < kw; v++) {
                            const long ix = (long)(q * st + v) - pad;
                            if (ix >= 0 && ix < (long)W)
                                s += wc[u * kw + v] * xc[(size_t)iy * W + (size_t)ix];
                        }
                    }
                    yc[r * ow + q] = s;
                }
        }
}

static void dwconv_backward(const l2h_layer *l, const float *params, const float *x,
                            const float *y, const float *dy, size_t n, float *dx, float *dparams,
                            float *scratch, const int32_t *saved)
{
    (void)y;
    (void)scratch;
    (void)saved;
    const size_t kh = l->spec.kh, kw = l->spec.kw, st = l->spec.stride;
    const size_t H = l->in_h, W = l->in_w, oh = l->out_h, ow = l->out_w;
    const long pad = (long)l->spec.pad;
    const float *w = params + l->w_off;
    float *dw = dparams + l->w_off, *db = dparams + l->b_off;
    if (dx) memset(dx, 0, n * l->in_dim * sizeof *dx);
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < l->in_c; c++) {
            const float *xc = x + i * l->in_dim + c * H * W;
            const float *dyc = dy + i * l->out_dim + c * oh * ow;
            const float *wc = w + c * kh * kw;
            float *dwc = dw + c * kh * kw;
            float *dxc = dx ? dx + i * l->in_dim + c * H * W : NULL;
            float sb = 0.0f;
            for (size_t r = 0; r < oh; r++)
                for (size_t q = 0; q < ow; q++) {
                    const float g = dyc[r * ow + q];
                    sb += g;
                    for (size_t u = 0; u < kh; u++) {
                        const long iy = (long)(r * st + u) - pad;
                        if (iy < 0 || iy >= (long)H) continue;
                        for (size_t v = 0; v < kw; v++) {
                            const long ix = (long)(q * st + v) - pad;
                            if (ix < 0 || ix >= (long)W) continue;
                            const size_t k = (size_t)iy * W + (size_t)ix;
                            dwc[u * kw + v] += g * xc[k];
                            if (dxc) dxc[k] += g * wc[u * kw + v];
                        }
                    }
                }
            db[c] += sb;
        }
}

const l2h_layer_ops l2h_layer_dwconv_ops = {
    .kind = L2H_LAYER_DWCONV,
    .name = "dwconv",
    .setup = dwconv_setup,
    .forward = dwconv_forward,
    .backward = dwconv_backward,
};
