/* layer_conv.c -- 2-D convolution (cross-correlation, as every deep-learning library defines
 * it) through im2col + sgemm, NCHW, one stride and one zero padding for both axes.
 *
 *   x_i [C, H, W], W [OC, C, KH, KW] viewed as [OC, CKK] (CKK = C·KH·KW), b [OC],
 *   OH = (H + 2·pad − KH) / stride + 1, OW likewise (floor), P = OH·OW.
 *   im2col: cols[CKK, P], row r = (c·KH + u)·KW + v, column p = oh·OW + ow holds
 *           x_i[c, oh·stride − pad + u, ow·stride − pad + v] (0 outside the image).
 *   forward:  y_i[OC, P] = W · cols + b
 *   backward: dW += dy_i · colsᵀ, db += Σ_p dy_i, dcols = Wᵀ · dy_i, dx_i = col2im(dcols)
 *             (col2im adds every column entry back to the pixel it was copied from).
 * One item at a time: the scratch holds one item's cols and dcols (2·CKK·P floats), and
 * backward recomputes cols from the saved input instead of keeping a whole batch of them
 * (im2col is a copy, negligible next to the two products). */
#include "nn_internal.h"

#include "linalg.h"

#include <string.h>

static l2h_status conv_setup(l2h_layer *l)
{
    const l2h_layer_spec *s = &l->spec;
    L2H_FAIL_IF(s->out == 0 || s->kh == 0 || s->kw == 0, L2H_ERR_ARG,
                "conv needs output channels and a kernel size (got %zu, %zux%zu)", s->out, s->kh,
                s->kw);
    L2H_FAIL_IF(s->stride == 0, L2H_ERR_ARG, "conv stride 0");
    L2H_FAIL_IF(s->pad > (size_t)1 << 20 || s->kh > (size_t)1 << 20 || s->kw > (size_t)1 << 20,
                L2H_ERR_ARG, "conv: kernel or padding too large");
    const size_t ph = l->in_h + 2 * s->pad, pw = l->in_w + 2 * s->pad;
    L2H_FAIL_IF(s->kh > ph || s->kw > pw, L2H_ERR_ARG,
                "conv kernel %zux%zu larger than the padded input %zux%zu", s->kh, s->kw, ph, pw);
    l->out_c = s->out;
    l->out_h = (ph - s->kh) / s->stride + 1;
    l->out_w = (pw - s->kw) / s->stride + 1;
    size_t ckk, wc, p, cols;
    L2H_FAIL_IF(!l2h_mul_ok(l->in_c, s->kh * s->kw, &ckk) || !l2h_mul_ok(ckk, s->out, &wc) ||
                    !l2h_mul_ok(l->out_h, l->out_w, &p) || !l2h_mul_ok(ckk, p, &cols) ||
                    cols > SIZE_MAX / 2,
                L2H_ERR_ARG, "conv: size overflow");
    l->w_count = wc;
    l->b_count = s->out;
    l->fan_in = ckk;
    l->fan_out = s->out * s->kh * s->kw;
    l->scratch = 2 * cols;
    return L2H_OK;
}

/* cols[CKK, P] from one item x[C, H, W]. */
static void im2col(const l2h_layer *l, const float *x, float *cols)
{
    const size_t kh = l->spec.kh, kw = l->spec.kw, st = l->spec.stride;
    const size_t oh = l->out_h, ow = l->out_w, H = l->in_h, W = l->in_w;
    const long pad = (long)l->spec.pad;
    for (size_t c = 0; c < l->in_c; c++)
        for (size_t u = 0; u < kh; u++)
            for (size_t v = 0; v < kw; v++) {
                float *row = cols + ((c * kh + u) * kw + v) * oh * ow;
                for (size_t r = 0; r < oh; r++) {
                    const long iy = (long)(r * st + u) - pad;
                    float *dst = row + r * ow;
                    if (iy < 0 || iy >= (long)H) {
                        memset(dst, 0, ow * sizeof *dst);
                        continue;
                    }
                    const float *src = x + (c * H + (size_t)iy) * W;
                    for (size_t q = 0; q < ow; q++) {
                        const long ix = (long)(q * st + v) - pad;
                        dst[q] = (ix < 0 || ix >= (long)W) ? 0.0f : src[ix];
                    }
                }
            }
}

/* dx[C, H, W] = Σ of dcols[CKK, P] entries over the positions im2col copied them from. */
static void col2im(const l2h_layer *l, const float *dcols, float *dx)
{
    const size_t kh = l->spec.kh, kw = l->spec.kw, st = l->spec.stride;
    const size_t oh = l->out_h, ow = l->out_w, H = l->in_h, W = l->in_w;
    const long pad = (long)l->spec.pad;
    memset(dx, 0, l->in_dim * sizeof *dx);
    for (size_t c = 0; c < l->in_c; c++)
        for (size_t u = 0; u < kh; u++)
            for (size_t v = 0; v < kw; v++) {
                const float *row = dcols + ((c * kh + u) * kw + v) * oh * ow;
                for (size_t r = 0; r < oh; r++) {
                    const long iy = (long)(r * st + u) - pad;
                    if (iy < 0 || iy >= (long)H) continue;
                    float *dst = dx + (c * H + (size_t)iy) * W;
                    const float *src = row + r * ow;
                    for (size_t q = 0; q < ow; q++) {
                        const long ix = (long)(q * st + v) - pad;
                        if (ix >= 0 && ix < (long)W) dst[ix] += src[q];
                    }
                }
            }
}

static void conv_forward(const l2h_layer *l, const float *params, const float *x, size_t n,
                         float *y, float *scratch, int32_t *saved)
{
    (void)saved;
    const size_t oc = l->out_c, ckk = l->in_c * l->spec.kh * l->spec.kw, p = l->out_h * l->out_w;
    const float *w = params + l->w_off; /* [OC, CKK] */
    const float *b = params + l->b_off; /* [OC]      */
    float *cols = scratch;              /* [CKK, P]  */
    for (size_t i = 0; i < n; i++) {
        float *yi = y + i * l->out_dim; /* [OC, P] */
        im2col(l, x + i * l->in_dim, cols);
        for (size_t o = 0; o < oc; o++)
            for (size_t q = 0; q < p; q++)
                yi[o * p + q] = b[o];
        /* y_i[OC,P] += W[OC,CKK] · cols[CKK,P] */
        l2h_sgemm(false, false, oc, p, ckk, 1.0f, w, ckk, cols, p, 1.0f, yi, p);
    }
}

static void conv_backward(const l2h_layer *l, const float *params, const float *x, const float *y,
                          const float *dy, size_t n, float *dx, float *dparams, float *scratch,
                          const int32_t *saved)
{
    (void)y;
    (void)saved;
    const size_t oc = l->out_c, ckk = l->in_c * l->spec.kh * l->spec.kw, p = l->out_h * l->out_w;
    const float *w = params + l->w_off; /* [OC, CKK] */
    float *dw = dparams + l->w_off;     /* [OC, CKK] */
    float *db = dparams + l->b_off;     /* [OC]      */
    float *cols = scratch;              /* [CKK, P]  */
    float *dcols = scratch + ckk * p;   /* [CKK, P]  */
    for (size_t i = 0; i < n; i++) {
        const float *dyi = dy + i * l->out_dim; /* [OC, P] */
        im2col(l, x + i * l->in_dim, cols);
        /* dW[OC,CKK] += dy_i[OC,P] · colsᵀ[P,CKK] */
        l2h_sgemm(false, true, oc, ckk, p, 1.0f, dyi, p, cols, p, 1.0f, dw, ckk);
        for (size_t o = 0; o < oc; o++) {
            float s = 0.0f;
            for (size_t q = 0; q < p; q++)
                s += dyi[o * p + q];
            db[o] += s;
        }
        if (dx != NULL) {
            /* dcols[CKK,P] = Wᵀ[CKK,OC] · dy_i[OC,P] */
            l2h_sgemm(true, false, ckk, p, oc, 1.0f, w, ckk, dyi, p, 0.0f, dcols, p);
            col2im(l, dcols, dx + i * l->in_dim);
        }
    }
}

const l2h_layer_ops l2h_layer_conv_ops = {
    .kind = L2H_LAYER_CONV2D,
    .name = "conv",
    .setup = conv_setup,
    .forward = conv_forward,
    .backward = conv_backward,
};
