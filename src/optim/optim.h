/* optim.h -- optimisers on flat float spans (n, params, grads, state) and learning-rate
 * schedules. Nothing here knows about layers: per-tensor learning-rate and weight-decay
 * multipliers arrive as a table of parameter ranges (Caffe's lr_mult / decay_mult), which the
 * trainer builds from the network's tensor view.
 *
 * Update rules (g = gradient, wd = weight_decay · decay_mult, η = lr · lr_mult, t = 1, 2, ...):
 *   SGD (PyTorch's form; v starts at 0):
 *     g' = g + wd·θ;  v = μ·v + g';  θ -= η · (nesterov ? g' + μ·v : v)
 *     (μ = 0: plain SGD, v is still written and equals g')
 *   Adam (Kingma & Ba, bias-corrected; m, v start at 0):
 *     g' = g + wd·θ (L2) or g' = g with θ -= η·wd·θ first (decoupled, AdamW)
 *     m = β1·m + (1-β1)·g';  v = β2·v + (1-β2)·g'²
 *     θ -= η · (m / (1-β1^t)) / (sqrt(v / (1-β2^t)) + ε)
 * All arithmetic in float except the bias corrections (double); element order is fixed, so a
 * step is bit-for-bit repeatable. */
#ifndef L2H_OPTIM_H
#define L2H_OPTIM_H

#include "core.h"

/* A parameter range [begin, begin + count) with its multipliers. Ranges passed to a step must
 * be sorted by begin, disjoint and inside [0, n); parameters outside every range use
 * lr_mult = decay_mult = 1. A NULL table (n_ranges 0) means all multipliers 1. */
typedef struct l2h_param_range {
    size_t begin, count;
    float lr_mult, decay_mult;
} l2h_param_range;

/* L2H_ERR_ARG unless ranges are sorted, disjoint, within n, multipliers finite and >= 0. */
l2h_status l2h_param_ranges_check(size_t n, const l2h_param_range *ranges, size_t n_ranges);

typedef enum l2h_optim_kind { L2H_OPTIM_SGD = 0, L2H_OPTIM_ADAM = 1 } l2h_optim_kind;

typedef struct l2h_optim_params {
    l2h_optim_kind kind;
    float momentum;     /* SGD μ in [0, 1) (default 0.9)                        */
    int nesterov;       /* SGD: Nesterov momentum (needs momentum > 0)           */
    float weight_decay; /* L2 coefficient >= 0 (default 0)                      */
    float beta1, beta2; /* Adam (0.9, 0.999), each in [0, 1)                     */
    float eps;          /* Adam ε > 0 (1e-8)                                     */
    int decoupled;      /* Adam: decoupled weight decay (AdamW) instead of L2    */
} l2h_optim_params;

l2h_optim_params l2h_optim_default_params(l2h_optim_kind kind);
l2h_status l2h_optim_params_check(const l2h_optim_params *p);
/* Floats of optimiser state for n parameters: SGD n (velocity), Adam 2n (m then v). The
 * state starts zeroed (caller allocates and zeroes it). */
size_t l2h_optim_state_floats(l2h_optim_kind kind, size_t n);

/* One step: params[n] updated from grads[n] with state[l2h_optim_state_floats] at learning
 * rate lr (finite, >= 0); t = number of this step, 1-based (Adam's bias correction).
 * Errors: L2H_ERR_ARG (bad parameters, ranges, t = 0, NULL spans with n > 0). */
l2h_status l2h_optim_step(const l2h_optim_params *p, size_t n, float *params, const float *grads,
                          float *state, size_t t, float lr, const l2h_param_range *ranges,
                          size_t n_ranges);

/* The same rules called directly (no argument checks beyond what the step needs). */
void l2h_sgd_update(size_t n, float *params, const float *grads, float *velocity, float lr,
                    float momentum, int nesterov, float weight_decay, const l2h_param_range *ranges,
                    size_t n_ranges);
void l2h_adam_update(size_t n, float *params, const float *grads, float *m, float *v, size_t t,
                     float lr, float beta1, float beta2, float eps, float weight_decay,
                     int decoupled, const l2h_param_range *ranges, size_t n_ranges);

/* ---- learning-rate schedules (optim_sched.c) ---------------------------------------------- */
typedef enum l2h_lr_kind {
    L2H_LR_CONSTANT = 0, /* lr0                                                   */
    L2H_LR_STEP = 1,     /* lr0 · gamma^floor(t / step)                           */
    L2H_LR_INV = 2       /* lr0 / (1 + decay · t)^power  (Caffe's "inv")          */
} l2h_lr_kind;

typedef struct l2h_lr_schedule {
    l2h_lr_kind kind;
    float lr0;   /* > 0                                        */
    float gamma; /* STEP: factor in (0, 1]                     */
    size_t step; /* STEP: period >= 1                          */
    float decay; /* INV: >= 0                                  */
    float power; /* INV: >= 0                                  */
} l2h_lr_schedule;

l2h_status l2h_lr_schedule_check(const l2h_lr_schedule *s);
/* Learning rate at t = 0, 1, 2, ... (the caller decides whether t counts epochs or steps). */
float l2h_lr_at(const l2h_lr_schedule *s, size_t t);

#endif
