/* SPDX-License-Identifier: MIT (see LICENSE) */
/* l2h/finetune.h -- deep hashing end to end (issue 17): a learned method (MIHash, HashNet,
 * JMLH) trains the last depthwise-separable block of a CNN together with the hash layer, the
 * way the seeds fine-tune an ImageNet network, from cached inputs of that block.
 *
 * The network trained is, over inputs of shape [C, H, W] (channel-major, the layout
 * l2h_cnn_features_files_tap writes):
 *     dwconv k x k (stride, pad) -> relu6 -> conv 1 x 1 (OC) -> relu6 -> global avgpool
 *     -> flatten -> linear (bits)
 * in float, the block starting from the given weights (l2h_cnn_last_block dequantises them)
 * and the hash layer from He initialisation. Everything before the block stays frozen: its
 * output was computed once and cached. The result is an ordinary model file (architecture
 * "cnn") that l2h_model_encode, `l2h encode` and `l2h eval` apply to such cached rows. */
#ifndef L2H_FINETUNE_H
#define L2H_FINETUNE_H

#include "l2h/train.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct l2h_finetune_block {
    size_t channels, height, width; /* input shape; rows have channels*height*width values */
    double in_scale;                /* real input = in_scale * stored value (> 0; folded into
                                     * the depthwise weights, so the model reads the stored
                                     * bytes as they are)                                    */
    size_t kernel, stride, pad;     /* depthwise convolution                                */
    size_t out_channels;            /* 1 x 1 convolution                                    */
    const float *dw_weight;         /* [C][1][k][k]                                          */
    const float *dw_bias;           /* [C]                                                   */
    const float *pw_weight;         /* [OC][C][1][1]                                         */
    const float *pw_bias;           /* [OC]                                                  */
    double block_lr_mult;           /* learning-rate multiplier of the block's tensors
                                     * (1 = the base rate; 0 freezes the block, which trains
                                     * the hash layer alone on the frozen features)         */
} l2h_finetune_block;

/* Trains p->method ("mihash", "hashnet" or "jmlh") on the labelled rows of `train` as
 * l2h_train does (mini-batches, optimiser, schedule, validation split and progress callback
 * of p; the hash layer's rate is p->lr * p->last_lr_mult, the block's p->lr *
 * block_lr_mult), with the network above instead of p->net. p->center and p->l2_normalize
 * are ignored (the block expects the raw cached activations); p->shift, batch_norm, out_bn and
 * dropout must be 0. Deterministic for p->seed and a thread count. Errors: L2H_ERR_ARG
 * (shapes, options), L2H_ERR_NOMEM, L2H_ERR_NUMERIC, L2H_ERR_STATE (cancelled). */
L2H_API L2H_NODISCARD l2h_status l2h_train_finetune(l2h_model **out, const l2h_dataset *train,
                                                    const l2h_train_params *p,
                                                    const l2h_finetune_block *block);

#ifdef __cplusplus
}
#endif
#endif
