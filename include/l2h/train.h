/* SPDX-License-Identifier: MIT (see LICENSE) */
/* l2h/train.h -- batch hash functions from a registry of methods: the closed-form baselines
 * (LSH, ITQ) and the learned methods (MIHash, HashNet, JMLH) on a linear layer, an MLP or a
 * small CNN, trained by mini-batch SGD / Adam on the labelled training rows.
 *
 * The result is an ordinary l2h_model (model.h): preprocessing (centring by the training mean,
 * then optional L2 normalisation; statistics from the rows actually trained on), the network,
 * and the sign. Training is bit-for-bit repeatable for a seed and thread count. Conventions
 * and the reasons behind the defaults: docs/mihash.md. */
#ifndef L2H_TRAIN_H
#define L2H_TRAIN_H

#include "l2h/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum l2h_net_kind {
    L2H_NET_LINEAR = 0, /* one linear layer dim -> bits (the papers' shallow setting)     */
    L2H_NET_MLP = 1,    /* dim -> hidden... (ReLU) -> bits                                  */
    L2H_NET_CNN = 2     /* LeNet-sized CNN on 1x28x28 images (dim must be 784)              */
} l2h_net_kind;

typedef enum l2h_optimizer {
    L2H_OPT_SGD = 0, /* momentum, optional Nesterov, L2 weight decay */
    L2H_OPT_ADAM = 1 /* bias-corrected, L2 weight decay              */
} l2h_optimizer;

typedef enum l2h_schedule {
    L2H_SCHED_CONST = 0, /* lr                                   */
    L2H_SCHED_STEP = 1,  /* lr * gamma^floor(epoch / step)       */
    L2H_SCHED_INV = 2    /* lr * (1 + gamma * epoch)^(-power)    */
} l2h_schedule;

/* Reported after every epoch. */
typedef struct l2h_train_progress {
    size_t epoch;       /* 1-based epochs done                                       */
    size_t epochs;      /* total                                                     */
    double loss;        /* mean mini-batch loss of the epoch (-mean MI for MIHash)   */
    double loss_aux;    /* the method's second loss (HashNet: of the sign codes, L(h)), NaN if none */
    double val_map;     /* validation mAP measured after this epoch, or -1 if none   */
    double val_map_tie; /* tie-aware validation mAP, or -1                            */
    double examples_per_s; /* training examples per second over this epoch            */
    double seconds;     /* since training started                                    */
} l2h_train_progress;

/* Return nonzero to stop training (l2h_train then fails with L2H_ERR_STATE, "cancelled"). */
typedef int (*l2h_train_callback)(const l2h_train_progress *p, void *user);

typedef struct l2h_train_params {
    const char *method;     /* a registered batch method (l2h_train_methods): "lsh", "itq",
                             * "mihash", "hashnet", "jmlh", ...                              */
    l2h_net_kind net;       /* default LINEAR                                               */
    size_t bits;            /* 1..L2H_MAX_BITS                                              */
    size_t hidden[4];       /* MLP hidden sizes (default one layer of 1024)                 */
    size_t n_hidden;        /* 1..4                                                         */
    size_t epochs;          /* default 50; 0 = the initialised network, untrained           */
    size_t batch;           /* mini-batch size, >= 2 (default 100)                          */
    l2h_optimizer optimizer;/* default SGD                                                  */
    double lr;              /* initial learning rate (default 0.1 SGD; set 1e-3 for Adam)   */
    double momentum;        /* SGD (0.9)                                                    */
    int nesterov;           /* SGD (0)                                                      */
    double weight_decay;    /* L2 decay on weights, not biases (5e-4)                       */
    l2h_schedule schedule;  /* default STEP                                                 */
    size_t lr_step;         /* STEP: epochs per decay (default 10)                          */
    double lr_gamma;        /* STEP: factor (0.5); INV: gamma                               */
    double lr_power;        /* INV: power (0.75)                                            */
    double last_lr_mult;    /* lr multiplier of the last layer (1; hashnet's default 10)    */
    uint64_t seed;          /* initialisation, shuffling, validation split                  */
    int center;             /* subtract the training mean (1)                               */
    int l2_normalize;       /* scale rows to unit length after centring (1)                 */
    double val_fraction;    /* hold out this fraction of the TRAINING rows (0 = none)       */
    size_t val_every;       /* measure validation mAP every N epochs (default 1)            */
    l2h_train_callback callback; /* may be NULL                                             */
    void *user;
    /* Deep-network regularisation and graded supervision (issue 16, docs/mihash.md §8); all
     * off by default. */
    int batch_norm;         /* MLP/CNN: batch norm after every hidden linear / conv layer   */
    int out_bn;             /* batch norm of the hash layer's outputs (before the relaxation) */
    double dropout;         /* MLP/CNN: dropout rate in [0, 0.99] after every hidden fc layer */
    size_t shift;           /* 28x28 images (dim 784): random translations by up to this many
                             * pixels (zero fill) of every training batch, before preprocessing */
} l2h_train_params;
/* The fields above are the settings every method shares (the network, optimiser and schedule
 * apply to the methods trained by SGD, l2h_method_info.batch > 0; closed-form methods such as
 * lsh and itq use bits, seed, center and l2_normalize). A method's own settings are options on
 * a training handle (below), so adding a method or an option never changes this struct. */

/* Defaults shared by every method (SGD as MIHash's reference; method "mihash"). */
L2H_API l2h_train_params l2h_train_default_params(size_t bits);
/* The defaults of one method, as its reference trains it: "mihash" = the above; "hashnet": the
 * last layer at 10x the learning rate; "jmlh": Adam, lr 1e-3, constant rate, no weight decay;
 * "lsh", "itq": no L2 normalisation. An unknown method gets the shared defaults with that name
 * (l2h_train then refuses it). */
L2H_API l2h_train_params l2h_train_method_params(const char *method, size_t bits);

/* ---- the batch method registry -------------------------------------------------------------
 * Every batch method (lsh, itq, mihash, hashnet, jmlh, ...) registers itself with a name, a
 * summary and its option table (l2h_method_info, model.h; info->batch is its default mini-batch
 * size, 0 for a method fitted in closed form). */
L2H_API size_t l2h_train_method_count(void);
L2H_API const l2h_method_info *l2h_train_method_info(size_t i); /* NULL if out of range */
L2H_API const l2h_method_info *l2h_train_method_find(const char *name); /* NULL if unknown */
/* Names of the registered batch methods, NULL-terminated (static). */
L2H_API const char *const *l2h_train_methods(void);

/* A training handle: the shared settings plus the method's own options, set by name (zstd's
 * ZSTD_CCtx_setParameter route), e.g.
 *     l2h_train_params p = l2h_train_method_params("mihash", 32);
 *     l2h_train_ctx *c;  l2h_train_create(&c, &p);
 *     l2h_train_set_option(c, "bins", "8");       (or "mihash.bins")
 *     l2h_train_fit(c, train, &model);  l2h_train_free(c);
 * Options start at the defaults of the method's table. */
typedef struct l2h_train_ctx l2h_train_ctx;
/* L2H_ERR_ARG for an unknown p->method (the message lists the methods). p is copied. */
L2H_API L2H_NODISCARD l2h_status l2h_train_create(l2h_train_ctx **out, const l2h_train_params *p);
L2H_API void l2h_train_free(l2h_train_ctx *c); /* NULL is a no-op */
/* Sets one option of the handle's method from text. L2H_ERR_ARG for an unknown option (the
 * message lists the method's options) or a value that does not parse as its type; the method's
 * range checks run in l2h_train_check / l2h_train_fit. */
L2H_API L2H_NODISCARD l2h_status l2h_train_set_option(l2h_train_ctx *c, const char *name,
                                                      const char *value);
/* The option's current value as text into buf[cap]. */
L2H_API L2H_NODISCARD l2h_status l2h_train_get_option(const l2h_train_ctx *c, const char *name,
                                                      char *buf, size_t cap);
/* Checks every setting that does not depend on the data (a caller validates before loading
 * it); L2H_ERR_ARG with a message naming the setting. */
L2H_API L2H_NODISCARD l2h_status l2h_train_check(const l2h_train_ctx *c);
/* Trains (or fits) the handle's method on `train`; see l2h_train. The handle may be reused. */
L2H_API L2H_NODISCARD l2h_status l2h_train_fit(l2h_train_ctx *c, const l2h_dataset *train,
                                               l2h_model **out);

/* Trains a model with the method's options at their defaults (l2h_train_create + fit). The
 * methods trained by SGD need the labelled rows of `train` (single labels or multi-labels;
 * neighbours share a label). With val_fraction > 0 a seeded random part of the rows is held out
 * and never trained on: validation mAP = those rows as queries against the other rows as
 * database. Errors: L2H_ERR_ARG (parameters, unlabelled data, CNN with dim != 784),
 * L2H_ERR_NUMERIC (NaN/Inf in data, loss or parameters; the message says where),
 * L2H_ERR_NOMEM, L2H_ERR_STATE (cancelled by the callback). *out is NULL on failure. */
L2H_API L2H_NODISCARD l2h_status l2h_train(l2h_model **out, const l2h_dataset *train,
                                           const l2h_train_params *p);

/* MI quality (seed eqs. 2-6) of packed codes[n, l2h_code_bytes(bits)] whose neighbours are
 * given by the labels of `labelled` (n rows): mean over anchors of I(D; C) in bits, self pair
 * excluded. hist (may be NULL) receives [2, bits + 1] counts of the Hamming distances of all
 * ordered neighbour pairs (row 0) and non-neighbour pairs (row 1). */
L2H_API L2H_NODISCARD l2h_status l2h_mi_quality_codes(const uint8_t *codes, size_t n, size_t bits,
                                                      const l2h_dataset *labelled, double *q,
                                                      double *hist);

#ifdef __cplusplus
}
#endif
#endif
