/* train_methods.h -- the batch method registry behind l2h_train (train.h).
 *
 * Adding a batch method is one file src/train/train_<name>.c defining
 * `const l2h_train_method l2h_train_<name>` and one line L2H_TRAIN_METHOD(<name>) in
 * train_methods.def. A method is either fitted in closed form (info.batch == 0: `fit`, e.g. LSH,
 * ITQ) or trained by the shared mini-batch trainer (info.batch > 0: `create` returns its
 * objective, whose loss the trainer minimises over the network, then `finish` adds its metadata);
 * the objective itself lives in src/objective/obj_<name>.c. Its own options are the entries of
 * info.options (L2H_TRAIN_OPT: name, type, default text, help, offset in its own option struct
 * of opts_size bytes), set by name with l2h_train_set_option. */
#ifndef L2H_TRAIN_METHODS_H
#define L2H_TRAIN_METHODS_H

#include "l2h/train.h"
#include "model_internal.h"
#include "nn.h"
#include "objective.h"
#include "train_loop.h"

#include <stddef.h>

typedef struct l2h_trainer {
    const l2h_train_params *p;
    const void *opts;          /* the method's own options (its struct)        */
    l2h_nn *nn;                /* initialised network (dim -> bits)            */
    size_t dim, n_tr, n_val;
    const float *xp;           /* preprocessed training rows [n_tr, dim]       */
    const l2h_supervision *sup;/* of those rows                                */
    size_t n_labels;           /* classes (single labels: max label + 1) or labels (multi) */
} l2h_trainer;

typedef struct l2h_train_method {
    l2h_method_info info; /* name (of l2h_train_params and of the model file), summary, batch
                           * (default mini-batch; 0 = closed form), needs_labels, options */
    size_t opts_size;     /* bytes of the method's own option struct                     */
    /* The method's shared defaults over l2h_train_default_params (may be NULL). */
    void (*defaults)(l2h_train_params *p);
    /* Checks its own options against the shared settings, before any data (may be NULL);
     * L2H_ERR_ARG with a message naming the option. */
    l2h_status (*check)(const l2h_train_params *p, const void *opts);
    /* closed form: the model from the training rows */
    l2h_status (*fit)(l2h_model **out, const l2h_dataset *train, const l2h_train_params *p,
                      const void *opts);
    /* trained: the objective for this run, and after training the method's metadata (and any
     * tensors to keep) added to the model */
    l2h_status (*create)(const l2h_trainer *t, l2h_objective **obj);
    /* Optional: before the network is used for inference (every validation, and after the last
     * epoch while the network is still t->nn), e.g. MIHash's output centring. Must not change
     * what training computes next. NULL: nothing. */
    l2h_status (*before_infer)(const l2h_trainer *t, l2h_objective *obj);
    /* After training: method metadata (and any tensors to keep) added to the model. */
    l2h_status (*finish)(const l2h_trainer *t, const l2h_objective *obj, l2h_model *m);
} l2h_train_method;

/* An option stored in the method's own struct `st`. */
#define L2H_TRAIN_OPT(nm, ty, df, st, field, hp)                                                   \
    {.name = (nm), .type = (ty), .def = (df), .help = (hp), .storage = 1,                          \
     .offset = offsetof(st, field)}
#define L2H_TRAIN_N_OPTS(table) (sizeof(table) / sizeof((table)[0]))

#define L2H_TRAIN_METHOD(x) extern const l2h_train_method l2h_train_##x;
#include "train_methods.def"
#undef L2H_TRAIN_METHOD

/* The parts of a training handle (train_registry.c): its shared settings, method and options. */
void l2h_train_ctx_parts(const l2h_train_ctx *c, const l2h_train_params **p,
                         const l2h_train_method **m, const void **opts);

/* The registered method of that name, NULL if unknown. */
const l2h_train_method *l2h_train_find(const char *name);

/* The shared settings of a method trained by SGD (no data needed), and the trainer itself
 * (train_api.c): split, preprocessing, network, the method's objective, the loop, the model. */
l2h_status l2h_train_check_sgd(const l2h_train_params *p);
l2h_status l2h_train_sgd(l2h_model **out, const l2h_dataset *train, const l2h_train_params *p,
                         const l2h_train_method *method, const void *opts);

/* Rows of the training part and of the validation part (both ascending): round(val_fraction·n)
 * (at least 1 when > 0) drawn by p->seed ^ salt; L2H_ERR_ARG when fewer than 2 rows are left. */
l2h_status l2h_train_split_rows(const l2h_train_params *p, size_t n, uint64_t salt, size_t **tr,
                                size_t *n_tr, size_t **val, size_t *n_val);
/* Those rows of ds as one [n, dim] array; L2H_ERR_NUMERIC for a non-finite value. */
l2h_status l2h_train_gather_rows(const l2h_dataset *ds, const size_t *rows, size_t n, float **out);

/* The loop's epochs, batch, seed, optimiser and learning-rate schedule from p (no hooks). */
l2h_loop_params l2h_train_loop_settings(const l2h_train_params *p);

/* A metadata entry with a number (%.9g). */
l2h_status l2h_train_set_meta_num(l2h_model *m, const char *key, double v);

#endif
