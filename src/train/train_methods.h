/* train_methods.h -- how l2h_train (train_api.c) builds the objective of each learned method.
 *
 * Adding a method is one file src/train/train_<method>.c defining a l2h_train_method and one
 * line in the table of train_api.c; the objective itself lives in src/objective/obj_<method>.c.
 * The trainer has prepared the preprocessed training rows, their supervision and the
 * initialised network before `create` is called. */
#ifndef L2H_TRAIN_METHODS_H
#define L2H_TRAIN_METHODS_H

#include "l2h/train.h"
#include "model_internal.h"
#include "nn.h"
#include "objective.h"

typedef struct l2h_trainer {
    const l2h_train_params *p;
    l2h_nn *nn;                /* initialised network (dim -> bits)            */
    size_t dim, n_tr, n_val;
    const float *xp;           /* preprocessed training rows [n_tr, dim]       */
    const l2h_supervision *sup;/* of those rows                                */
    size_t n_labels;           /* classes (single labels: max label + 1) or labels (multi) */
} l2h_trainer;

typedef struct l2h_train_method {
    const char *name; /* the method name of l2h_train_params and of the model file */
    /* Checks the method's own options (L2H_ERR_ARG with a message naming the option). */
    l2h_status (*check)(const l2h_train_params *p);
    /* The objective for this run. */
    l2h_status (*create)(const l2h_trainer *t, l2h_objective **obj);
    /* Optional: before the network is used for inference (every validation, and after the last
     * epoch while the network is still t->nn), e.g. MIHash's output centring. Must not change
     * what training computes next. NULL: nothing. */
    l2h_status (*before_infer)(const l2h_trainer *t, l2h_objective *obj);
    /* After training: method metadata (and any tensors to keep) added to the model. */
    l2h_status (*finish)(const l2h_trainer *t, const l2h_objective *obj, l2h_model *m);
} l2h_train_method;

extern const l2h_train_method l2h_train_mihash;
extern const l2h_train_method l2h_train_hashnet;
extern const l2h_train_method l2h_train_jmlh;

/* A metadata entry with a number (%.9g). */
l2h_status l2h_train_set_meta_num(l2h_model *m, const char *key, double v);

#endif
