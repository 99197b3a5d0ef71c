/* train_loop.h -- the minimal internal mini-batch training loop: a network (src/nn), an objective
 * on its outputs (src/objective) and an optimiser (src/optim) over the network's parameter
 * arena, with per-tensor learning-rate / weight-decay multipliers taken from the network.
 *
 * Per epoch e = 0, 1, ...: the item order is a fresh Fisher-Yates shuffle drawn from one RNG
 * seeded with params.seed; consecutive chunks of `batch` items form the mini-batches (the
 * last may be shorter; a chunk of fewer than 2 items is skipped, MI needs pairs). Per batch:
 * gather rows and supervision, zero the gradients, the objective's begin_step, forward,
 * loss_grad, backward, one optimiser step over the network's parameters and, with the same
 * optimiser settings and its own state, one over the objective's own parameters (if any).
 * The loss of an epoch is the mean of its batch losses. The run is bit-for-bit repeatable for
 * a seed, BLAS thread count and l2h_threads() (all loops here are sequential).
 *
 * Numerical failures stop the run with L2H_ERR_NUMERIC and say where: "epoch 3, batch 17:"
 * followed by the objective's message (non-finite output z[i, k]), or "non-finite gradient
 * in tensor 'cnn.0.weight'" / "non-finite parameter in tensor ... after the step". */
#ifndef L2H_TRAIN_LOOP_H
#define L2H_TRAIN_LOOP_H

#include "nn.h"
#include "objective.h"
#include "optim.h"

typedef enum l2h_lr_unit {
    L2H_LR_PER_EPOCH = 0, /* schedule t = epoch index (MatConvNet style)        */
    L2H_LR_PER_STEP = 1   /* schedule t = optimiser steps taken so far (online) */
} l2h_lr_unit;

typedef struct l2h_loop_params {
    size_t epochs;          /* >= 1                                          */
    size_t batch;           /* 2 .. l2h_nn_max_batch(net)                    */
    uint64_t seed;          /* shuffling                                     */
    l2h_optim_params optim; /* optimiser and weight decay                    */
    l2h_lr_schedule lr;     /* learning rate                                 */
    l2h_lr_unit lr_unit;
    /* Called after every epoch with its index, mean batch loss and mean of the objective's
     * aux_loss (NAN if it has none) (may be NULL); a status other than L2H_OK stops the run
     * and is returned (validation, progress, cancelling). */
    l2h_status (*on_epoch)(void *user, size_t epoch, float loss, float aux_loss);
    void *user;
    /* Called on every gathered batch xb[m, in_dim] before the forward (may be NULL): data
     * augmentation and any preprocessing that must follow it; step counts from 1. */
    l2h_status (*augment)(void *user, float *xb, size_t m, size_t step);
} l2h_loop_params;

/* batch-MIHash reference settings (methods.md §1.7): 100 epochs, batch 100, SGD momentum 0.9,
 * weight decay 5e-4, lr 0.1 halved every 10 epochs. */
l2h_loop_params l2h_loop_default_params(void);
l2h_status l2h_loop_params_check(const l2h_loop_params *p);

/* Trains net in place on x[n, l2h_nn_in_dim(net)] (already preprocessed) with supervision s
 * of the same n items and objective obj (obj->bits must equal l2h_nn_out_dim(net)).
 * epoch_loss[p->epochs] receives the loss per epoch (may be NULL). The network's current
 * parameters are the starting point (initialise them first). Errors: L2H_ERR_ARG (shapes,
 * parameters), L2H_ERR_NOMEM, L2H_ERR_NUMERIC (see above); on error the parameters are those
 * of the failing step. */
l2h_status l2h_train_run(l2h_nn *net, l2h_objective *obj, const float *x, size_t n,
                         const l2h_supervision *s, const l2h_loop_params *p, float *epoch_loss);

/* Index of the first non-finite value in v[n], or n (a vectorised screen, then a search). */
size_t l2h_train_first_nonfinite(const float *v, size_t n);
/* L2H_ERR_NUMERIC naming the tensor of net holding a non-finite value of arena (its parameters
 * or gradients), with the epoch and batch in the message; L2H_OK if all are finite. */
l2h_status l2h_train_check_arena(const l2h_nn *net, const float *arena, const char *what,
                                 size_t epoch, size_t batch);

#endif
