/* cnn_block.c -- the network's last depthwise-separable block, as fine-tuning needs it: where it
 * starts (the layer whose input the feature extractor caches) and its weights dequantised to
 * float in PyTorch's layout.
 *
 * The block is the last DEPTHWISE_CONV_2D (channel multiplier 1, square kernel, one stride, the
 * same padding on every side) followed by a 1 x 1 stride-1 CONV_2D, both with a fused ReLU6,
 * followed by nothing but a global average pool and reshapes. Real values (TFLite's
 * quantisation): weight = (q − zero point) · scale of its output channel; bias = q_bias ·
 * input scale · weight scale; activation = (byte − zero point) · scale. */
#include "cnn_internal.h"

#include <string.h>

/* ReLU6 fused into L: the clamp is [zero point, zero point + round(6 / scale)]. */
static int is_relu6(const cnn_layer *L)
{
    return L->act_min == L->out_zp && L->act_max == L->out_zp + (int32_t)lround(6.0 / L->out_scale) &&
           L->act_max <= 255;
}

l2h_status cnn_find_last_block(const l2h_cnn *net, size_t *dw_index)
{
    L2H_FAIL_IF(net == NULL, L2H_ERR_ARG, "l2h_cnn_last_block: NULL network");
    size_t d = net->n_layers;
    for (size_t i = net->n_layers; i-- > 0;)
        if (net->layers[i].kind == CNN_DWCONV) {
            d = i;
            break;
        }
    L2H_FAIL_IF(d + 1 >= net->n_layers, L2H_ERR_UNSUPPORTED,
                "the network has no depthwise convolution followed by another layer");
    const cnn_layer *dw = &net->layers[d], *pw = &net->layers[d + 1];
    const int pad_ok = dw->kh == dw->kw && dw->sh == dw->sw && dw->pad_t == dw->pad_l &&
                       (dw->ih + 2 * dw->pad_t - dw->kh) / dw->sh + 1 == dw->oh &&
                       (dw->iw + 2 * dw->pad_l - dw->kw) / dw->sw + 1 == dw->ow;
    L2H_FAIL_IF(dw->depth_mult != 1 || !pad_ok || dw->in_zp != 0 || !is_relu6(dw),
                L2H_ERR_UNSUPPORTED,
                "the last depthwise convolution is not a square, symmetric-padded, ReLU6 one "
                "over zero-point-0 input");
    L2H_FAIL_IF(pw->kind != CNN_CONV || pw->kh != 1 || pw->kw != 1 || pw->sh != 1 ||
                    pw->sw != 1 || !is_relu6(pw) || pw->in_zp != dw->out_zp,
                L2H_ERR_UNSUPPORTED,
                "the last depthwise convolution is not followed by a 1x1 ReLU6 convolution");
    for (size_t i = d + 2; i < net->n_layers; i++) {
        const cnn_layer *L = &net->layers[i];
        L2H_FAIL_IF(L->kind != CNN_AVGPOOL || L->kh != L->ih || L->kw != L->iw || L->oh != 1 ||
                        L->ow != 1,
                    L2H_ERR_UNSUPPORTED,
                    "the last block is not followed by a global average pool only");
    }
    *dw_index = d;
    return L2H_OK;
}

l2h_status l2h_cnn_last_block(const l2h_cnn *net, l2h_cnn_block *info, float *dw_weight,
                              float *dw_bias, float *pw_weight, float *pw_bias)
{
    size_t d;
    L2H_TRY(cnn_find_last_block(net, &d));
    const cnn_layer *dw = &net->layers[d], *pw = &net->layers[d + 1];
    const size_t C = (size_t)dw->ic, K = (size_t)dw->kh, OC = (size_t)pw->oc;
    if (info) {
        memset(info, 0, sizeof *info);
        info->channels = C;
        info->height = (size_t)dw->ih;
        info->width = (size_t)dw->iw;
        info->kernel = K;
        info->stride = (size_t)dw->sh;
        info->pad = (size_t)dw->pad_t;
        info->out_channels = OC;
        info->in_scale = dw->in_scale;
        info->in_zero_point = (int)dw->in_zp;
        info->mid_scale = dw->out_scale;
        info->out_scale = pw->out_scale;
    }
    /* depthwise: TFLite [1][KH][KW][C] -> [C][1][KH][KW] */
    for (size_t c = 0; dw_weight && c < C; c++)
        for (size_t k = 0; k < K * K; k++)
            dw_weight[c * K * K + k] =
                (float)(((int)dw->w[k * C + c] - dw->w_zp[c]) * (double)dw->w_scale[c]);
    for (size_t c = 0; dw_bias && c < C; c++)
        dw_bias[c] = (float)((double)dw->bias[c] * dw->in_scale * (double)dw->w_scale[c]);
    /* 1 x 1: TFLite [OC][1][1][C] -> [OC][C][1][1], the same order */
    for (size_t o = 0; pw_weight && o < OC; o++)
        for (size_t c = 0; c < C; c++)
            pw_weight[o * C + c] =
                (float)(((int)pw->w[o * C + c] - pw->w_zp[o]) * (double)pw->w_scale[o]);
    for (size_t o = 0; pw_bias && o < OC; o++)
        pw_bias[o] = (float)((double)pw->bias[o] * pw->in_scale * (double)pw->w_scale[o]);
    return L2H_OK;
}
