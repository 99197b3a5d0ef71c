/* SPDX-License-Identifier: MIT (see LICENSE) */
/* l2h/train_step.h -- l2h_train one optimiser step at a time, with the batch outputs, their
 * gradients and the parameter gradients in the caller's hands: what data-parallel training needs
 * (l2h-mpi train: every process forwards its share of a mini-batch, the objective sees the whole
 * batch's outputs, the parameter gradients are summed over the processes before the update).
 *
 * A session makes exactly the setup of l2h_train (validation split, preprocessing, network
 * initialisation, the method's objective, the learning-rate schedule) and walks the same
 * mini-batches in the same order. One step:
 *
 *   l2h_train_session_next(s, &m)            the next mini-batch of m items (m = 0: finished)
 *   l2h_train_session_forward(s, a, c, z)    outputs z[c, bits] of items [a, a + c) of the batch
 *   l2h_train_session_objective(s, Z, dZ, &loss)
 *                                            the objective on the outputs Z[m, bits] of the WHOLE
 *                                            batch: dZ[m, bits] = dloss/dZ (and the gradient of
 *                                            the objective's own parameters, e.g. JMLH's classifier)
 *   l2h_train_session_backward(s, dz)        dz[c, bits] for the items of the last forward:
 *                                            adds their parameter gradients
 *   l2h_train_session_grads(s)               the network's parameter gradients (sum them over
 *                                            processes here, in place)
 *   l2h_train_session_update(s)              the optimiser step; after an epoch's last batch the
 *                                            params' callback (progress, validation mAP)
 *
 * One process calling forward(0, m), objective, backward, update on every batch produces
 * l2h_train's model bit for bit (l2h_train_session_model). Splitting a batch over processes
 * changes only the rounding of the sums over items. A process may own no item of a small batch:
 * it calls next, objective and update only (its gradients stay zero).
 * Batch normalisation and dropout need the whole batch in one forward (L2H_ERR_ARG otherwise).
 *
 * Checkpoints: l2h_train_session_save writes the whole training state between steps (network
 * parameters, optimiser state, the objective's parameters and state, the shuffle and the epoch's
 * running loss) to a file, atomically; l2h_train_session_resume loads it into a session created
 * from the same data and parameters, which then continues exactly as the saved one would have.
 * Not supported (L2H_ERR_STATE): JMLH with random thresholds and dropout, whose random streams
 * live inside the objective / network. */
#ifndef L2H_TRAIN_STEP_H
#define L2H_TRAIN_STEP_H

#include "l2h/train.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct l2h_train_session l2h_train_session;

/* Errors as l2h_train's; *out is NULL on failure. */
L2H_API L2H_NODISCARD l2h_status l2h_train_session_create(l2h_train_session **out,
                                                          const l2h_dataset *train,
                                                          const l2h_train_params *p);
/* The same from a training handle (l2h_train_create + l2h_train_set_option): the method's own
 * options as set there (copied; the handle may be freed afterwards). L2H_ERR_ARG for a method
 * fitted in closed form (lsh, itq, pcah), which has no steps. */
L2H_API L2H_NODISCARD l2h_status l2h_train_session_create_ctx(l2h_train_session **out,
                                                              const l2h_dataset *train,
                                                              const l2h_train_ctx *c);
L2H_API void l2h_train_session_free(l2h_train_session *s); /* NULL is a no-op */

L2H_API size_t l2h_train_session_bits(const l2h_train_session *s);
/* Network parameters: the length of params and grads. */
L2H_API size_t l2h_train_session_n_params(const l2h_train_session *s);
L2H_API const float *l2h_train_session_params(const l2h_train_session *s);
L2H_API float *l2h_train_session_grads(l2h_train_session *s);
/* Optimiser steps taken and epochs completed so far. */
L2H_API size_t l2h_train_session_steps(const l2h_train_session *s);
L2H_API size_t l2h_train_session_epochs_done(const l2h_train_session *s);

/* Starts the next step: *m = items of its mini-batch (>= 2), or 0 when every epoch is done.
 * L2H_ERR_STATE if the previous step was not updated. */
L2H_API L2H_NODISCARD l2h_status l2h_train_session_next(l2h_train_session *s, size_t *m);
/* Training forward of the batch items [first, first + count), count >= 1: z[count, bits]. */
L2H_API L2H_NODISCARD l2h_status l2h_train_session_forward(l2h_train_session *s, size_t first,
                                                           size_t count, float *z);
/* The objective on z[m, bits] (the whole batch, in batch order): dz[m, bits], *loss. Once per
 * step. L2H_ERR_NUMERIC for non-finite outputs or loss ("epoch E, batch B: ..."). */
L2H_API L2H_NODISCARD l2h_status l2h_train_session_objective(l2h_train_session *s, const float *z,
                                                             float *dz, float *loss);
/* Backward of the last forward from dz[count, bits]: adds to the parameter gradients. */
L2H_API L2H_NODISCARD l2h_status l2h_train_session_backward(l2h_train_session *s,
                                                            const float *dz);
/* The optimiser step from the current gradients (network and objective); after the last batch
 * of an epoch, the epoch's mean loss goes to the callback of the parameters. L2H_ERR_NUMERIC
 * names the tensor with a non-finite gradient or parameter; L2H_ERR_STATE if the objective was
 * not evaluated in this step or the callback cancelled. */
L2H_API L2H_NODISCARD l2h_status l2h_train_session_update(l2h_train_session *s);

/* The model of the current parameters, with l2h_train's metadata (the session stays usable). */
L2H_API L2H_NODISCARD l2h_status l2h_train_session_model(const l2h_train_session *s,
                                                         l2h_model **out);

/* Checkpoint between steps (see above). save: L2H_ERR_IO (file), L2H_ERR_STATE (mid-step or
 * unsupported). resume: L2H_ERR_FORMAT for a truncated, corrupt or foreign file or one from
 * other parameters / data, L2H_ERR_IO if it cannot be read; the session is unchanged then. */
L2H_API L2H_NODISCARD l2h_status l2h_train_session_save(const l2h_train_session *s,
                                                       const char *path);
L2H_API L2H_NODISCARD l2h_status l2h_train_session_resume(l2h_train_session *s, const char *path);

#ifdef __cplusplus
}
#endif
#endif
