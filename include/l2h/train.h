/* SPDX-License-Identifier: MIT (see LICENSE) */
/* l2h/train.h -- learned hash functions: MIHash (Cakir et al.) on a linear layer, an MLP or a
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

/* HashNet (Cao et al., ICCV 2017): weighted pairwise likelihood, continuation tanh(βz) -> sign.
 * Filled in by l2h_train_default_params; see docs/hashnet.md. */
typedef enum l2h_hashnet_weighting {
    L2H_HASHNET_WEIGHT_BATCH = 0, /* c_ij = |S|/|S1| (similar), |S|/|S0| (dissimilar) per batch */
    L2H_HASHNET_WEIGHT_NONE = 1,  /* c_ij = 1 (HashNet-W)                                       */
    L2H_HASHNET_WEIGHT_CONST = 2  /* similar pairs weigh `weight`, dissimilar pairs 1           */
} l2h_hashnet_weighting;

typedef struct l2h_hashnet_options {
    double alpha;                  /* sigmoid parameter α of θ = α⟨u_i, u_j⟩; 0 = 10 / bits  */
    l2h_hashnet_weighting weighting; /* default BATCH                                         */
    double weight;                 /* CONST: weight of a similar pair (thuml's class_num)   */
    int self_pairs;                /* 1: also the pairs (i, i), similar (swuxyj); default 0 */
    int continuation;              /* 1: β grows (HashNet); 0: β = 1 throughout (HashNet-C) */
    double beta_gamma, beta_power; /* β = (1 + gamma·t)^power, t = iterations done rounded  */
    size_t beta_step;              /*   down to a multiple of beta_step (0.005, 0.5, 200)   */
    double beta_stages[16];        /* explicit stages, each for an equal share of epochs;  */
    size_t n_beta_stages;          /*   used instead of the formula when n_beta_stages > 0 */
} l2h_hashnet_options;

/* JMLH (Shen et al., ICCV workshops 2019): a classifier on a stochastic binary bottleneck with
 * a KL prior on the bits. Filled in by l2h_train_default_params (gamma 0.1, KL, stochastic,
 * binary); see docs/jmlh.md. The method's reference optimiser is Adam with a constant rate and
 * no weight decay, which l2h_train_method_params("jmlh", bits) selects (lr 1e-3); with
 * l2h_train_default_params set them yourself. The classifier is kept in the model file as "jmlh.classifier.weight" [C, bits]
 * and "jmlh.classifier.bias" [C]; encoding does not use it. Needs labels or multi-labels. */
typedef enum l2h_jmlh_regularizer {
    L2H_JMLH_REG_KL = 0,  /* gamma · KL(q(b|x) || Bernoulli(0.5)) per bit (JMLH)            */
    L2H_JMLH_REG_QR = 1,  /* gamma · (1[z > 0] − σ(z))² per bit (JMLH-QR)                     */
    L2H_JMLH_REG_NONE = 2 /* no regulariser (JMLH-NR)                                       */
} l2h_jmlh_regularizer;

typedef struct l2h_jmlh_options {
    double gamma;                   /* regulariser weight, finite, >= 0 (0.1)               */
    l2h_jmlh_regularizer regularizer;
    int deterministic;              /* ε = 0.5 while training instead of ε ~ U(0, 1)        */
    int continuous;                 /* sigmoid bottleneck, no binarisation (JMLH-Cont)      */
} l2h_jmlh_options;

typedef struct l2h_train_params {
    const char *method;     /* "mihash", "hashnet" or "jmlh"                                */
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
    double last_lr_mult;    /* lr multiplier of the last layer (1; the CLI uses 10 for hashnet) */
    size_t bins;            /* MIHash K (0 = min(16, bits))                                 */
    double scale;           /* sigmoid scale a; 0 = auto: 2 / rms of the initial outputs    */
    l2h_hashnet_options hashnet; /* method "hashnet"                                         */
    l2h_jmlh_options jmlh;       /* method "jmlh"                                            */
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
    size_t mi_grades;       /* MIHash: 0 = neighbour / non-neighbour; G >= 2 = MI between the
                             * distance and min(shared labels, G - 1) (graded relevance)     */
} l2h_train_params;

/* Defaults shared by every method (SGD as MIHash's reference; method "mihash"). */
L2H_API l2h_train_params l2h_train_default_params(size_t bits);
/* The defaults of one learned method, as its reference trains it: "mihash" = the above;
 * "hashnet": the last layer at 10x the learning rate; "jmlh": Adam, lr 1e-3, constant rate,
 * no weight decay. An unknown method gets the shared defaults with that name (l2h_train then
 * refuses it). */
L2H_API l2h_train_params l2h_train_method_params(const char *method, size_t bits);

/* Trains a model on the labelled rows of `train` (single labels or multi-labels; neighbours
 * share a label). With val_fraction > 0 a seeded random part of the rows is held out and never
 * trained on: validation mAP = those rows as queries against the other rows as database.
 * Errors: L2H_ERR_ARG (parameters, unlabelled data, CNN with dim != 784), L2H_ERR_NUMERIC
 * (NaN/Inf in data, loss or parameters; the message says where), L2H_ERR_NOMEM,
 * L2H_ERR_STATE (cancelled by the callback). *out is NULL on failure. */
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
