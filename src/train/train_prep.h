/* train_prep.h -- what l2h_train does before and after its mini-batch loop, for the step-level
 * trainer of l2h/train_step.h (train_step.c): the validation split, the preprocessing
 * statistics, the initialised network, the method's objective and the loop settings -- the same
 * calls in the same order as l2h_train, so that a stepped run starts from the identical state --
 * and, after training, the model with the method's metadata.
 *
 * Defined at the end of train_api.c, next to the helpers l2h_train uses. */
#ifndef L2H_TRAIN_PREP_H
#define L2H_TRAIN_PREP_H

#include "l2h/train.h"
#include "nn.h"
#include "objective.h"
#include "train_loop.h"
#include "train_methods.h"

typedef struct train_prep_priv train_prep_priv;

typedef struct l2h_train_prep {
    l2h_nn *nn;                 /* initialised network (owned)                               */
    l2h_objective *obj;         /* the method's objective (owned)                            */
    const float *x;             /* rows batches are gathered from: [n, in_dim] (raw pixels when
                                 * the loop's augment hook preprocesses them)                */
    size_t n;                   /* training rows                                             */
    const l2h_supervision *sup; /* of those rows                                             */
    l2h_loop_params lp;         /* the loop settings of l2h_train (on_epoch, augment set)    */
    train_prep_priv *priv;
} l2h_train_prep;

/* Everything l2h_train does before l2h_train_run, into *pr (zeroed on failure, nothing owned).
 * p and the method's options are copied. Errors as l2h_train's; L2H_ERR_ARG for a method
 * fitted in closed form (no steps). */
l2h_status l2h_train_prepare(l2h_train_prep *pr, const l2h_dataset *train,
                             const l2h_train_params *p, const l2h_train_method *method,
                             const void *opts);
/* The model of the network's current parameters with l2h_train's metadata (seed, epochs,
 * train_rows and the method's). The network is copied, pr stays usable. */
l2h_status l2h_train_prep_model(const l2h_train_prep *pr, l2h_model **out);
void l2h_train_prep_free(l2h_train_prep *pr); /* zeroes *pr; NULL or a zeroed prep: no-op */

#endif
