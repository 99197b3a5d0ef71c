/* obj_hashnet.h -- HashNet (Cao et al., ICCV 2017; methods.md §3): weighted pairwise logistic
 * likelihood on the inner products of u = tanh(β·z), with β raised by continuation. Kept out of
 * objective.h so that each method's declarations live next to its one file. The maths and the
 * choices among the reference implementations: docs/hashnet.md. */
#ifndef L2H_OBJ_HASHNET_H
#define L2H_OBJ_HASHNET_H

#include "objective.h"

/* The objective's own settings (train_hashnet.c fills them from the public
 * l2h_hashnet_params of train.h, so objective/ does not depend on the train API). */
typedef enum l2h_hn_weighting {
    L2H_HN_WEIGHT_BATCH = 0, /* w = 1/|S1| similar, 1/|S0| dissimilar            */
    L2H_HN_WEIGHT_NONE = 1,  /* w = 1/|S|                                        */
    L2H_HN_WEIGHT_CONST = 2  /* similar pairs weigh `weight`, dissimilar pairs 1 */
} l2h_hn_weighting;

typedef struct l2h_hashnet_params {
    double alpha;                  /* α of θ = α⟨u_i, u_j⟩ (resolved, > 0)                    */
    l2h_hn_weighting weighting;
    double weight;                 /* CONST: weight of a similar pair                         */
    int self_pairs;                /* 1: also the pairs (i, i), similar                       */
    int continuation;              /* 1: β grows; 0: β = 1 throughout                         */
    double beta_gamma, beta_power; /* β = (1 + gamma·t)^power, t rounded down to beta_step    */
    size_t beta_step;
    double beta_stages[16];        /* explicit stages (used when n_beta_stages > 0)           */
    size_t n_beta_stages;
} l2h_hashnet_params;

/* α = 10 / bits (thuml's sigmoid_param): |α⟨u_i, u_j⟩| <= 10 for any code length. */
double l2h_hashnet_default_alpha(size_t bits);
/* L2H_ERR_ARG naming the option unless o is usable for `bits` (α must be resolved, > 0). */
l2h_status l2h_hashnet_params_check(const l2h_hashnet_params *o, size_t bits);
/* β before optimiser step `step` (1-based) of epoch `epoch` (0-based) of `epochs`:
 *   continuation off: 1;
 *   stages b_0..b_{K-1}: b_k with k = floor(epoch·K / epochs) (equal shares of the epochs);
 *   formula: (1 + γ·t)^p with t = s·floor((step − 1) / s), the iterations done rounded down to
 *   a multiple of the stage length s (thuml: γ 0.005, p 0.5, s 200). */
double l2h_hashnet_beta(const l2h_hashnet_params *o, size_t step, size_t epoch, size_t epochs);

/* The computation in double (exposed for the gradient checks). Outputs z[n, bits], codes
 * u = tanh(β·z); pairs (i, j), i != j (and i == j with o->self_pairs), ordered, similarity
 * l2h_sup_similar(s, i, j) (self pairs similar); θ_ij = α⟨u_i, u_j⟩;
 *   ℓ_ij = softplus(θ_ij) − s_ij·θ_ij,   loss = Σ w_ij ℓ_ij   with
 *   BATCH: w = 1/|S1| (similar), 1/|S0| (dissimilar)  = mean ℓ over S1 + mean ℓ over S0
 *          (= (1/|S|) Σ c_ij ℓ_ij with the paper's c = |S|/|S1|, |S|/|S0|);
 *   NONE:  w = 1/|S|;   CONST: w = c/(c|S1| + |S0|) similar, 1/(c|S1| + |S0|) dissimilar.
 * dz[n, bits] = dloss/dz (NULL: not computed); *loss_codes (may be NULL) = the same loss with
 * u replaced by the sign codes h = ±1 (+1 iff z > 0, as l2h_codes_pack); *n_pairs (may be
 * NULL) = |S|. No pairs (n = 1 without self pairs): loss 0, dz 0. */
l2h_status l2h_hashnet_loss_f64(size_t bits, const l2h_hashnet_params *o, double beta,
                                const double *z, size_t n, const l2h_supervision *s, double *dz,
                                double *loss, double *loss_codes, size_t *n_pairs);

/* The float objective: loss_grad at the current β, aux_loss = the loss of the sign codes;
 * begin_step moves β along the schedule. */
l2h_status l2h_hashnet_create(l2h_objective **out, size_t bits, const l2h_hashnet_params *o);
/* Current β of an objective made by l2h_hashnet_create (1 before the first step). */
double l2h_hashnet_objective_beta(const l2h_objective *obj);

#endif
