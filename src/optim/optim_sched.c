/* optim_sched.c -- optimiser parameters, argument checks, the step dispatcher and the
 * learning-rate schedules (constant, step, inverse decay). */
#include "optim.h"

#include <math.h>

l2h_optim_params l2h_optim_default_params(l2h_optim_kind kind)
{
    return (l2h_optim_params){
        .kind = kind,
        .momentum = kind == L2H_OPTIM_SGD ? 0.9f : 0.0f,
        .nesterov = 0,
        .weight_decay = 0.0f,
        .beta1 = 0.9f,
        .beta2 = 0.999f,
        .eps = 1e-8f,
        .decoupled = 0,
    };
}

static int unit_interval(float x) /* [0, 1) */
{
    return isfinite(x) && x >= 0.0f && x < 1.0f;
}

l2h_status l2h_optim_params_check(const l2h_optim_params *p)
{
    L2H_FAIL_IF(p == NULL, L2H_ERR_ARG, "optimiser: NULL parameters");
    L2H_FAIL_IF(!isfinite(p->weight_decay) || p->weight_decay < 0.0f, L2H_ERR_ARG,
                "optimiser: weight decay %g must be finite and >= 0", (double)p->weight_decay);
    switch (p->kind) {
    case L2H_OPTIM_SGD:
        L2H_FAIL_IF(!unit_interval(p->momentum), L2H_ERR_ARG, "SGD: momentum %g outside [0, 1)",
                    (double)p->momentum);
        L2H_FAIL_IF(p->nesterov && p->momentum == 0.0f, L2H_ERR_ARG,
                    "SGD: Nesterov needs momentum > 0");
        return L2H_OK;
    case L2H_OPTIM_ADAM:
        L2H_FAIL_IF(!unit_interval(p->beta1) || !unit_interval(p->beta2), L2H_ERR_ARG,
                    "Adam: beta1 %g and beta2 %g must be in [0, 1)", (double)p->beta1,
                    (double)p->beta2);
        L2H_FAIL_IF(!isfinite(p->eps) || p->eps <= 0.0f, L2H_ERR_ARG, "Adam: eps %g must be > 0",
                    (double)p->eps);
        return L2H_OK;
    }
    L2H_FAIL(L2H_ERR_ARG, "optimiser: unknown kind %d", (int)p->kind);
}

size_t l2h_optim_state_floats(l2h_optim_kind kind, size_t n)
{
    return kind == L2H_OPTIM_ADAM ? 2 * n : n;
}

l2h_status l2h_param_ranges_check(size_t n, const l2h_param_range *ranges, size_t n_ranges)
{
    L2H_FAIL_IF(n_ranges > 0 && ranges == NULL, L2H_ERR_ARG, "parameter ranges: NULL table");
    size_t end = 0;
    for (size_t r = 0; r < n_ranges; r++) {
        const l2h_param_range *q = &ranges[r];
        L2H_FAIL_IF(q->begin < end || q->begin > n || q->count > n - q->begin, L2H_ERR_ARG,
                    "parameter range %zu [%zu, +%zu) unsorted, overlapping or beyond %zu", r,
                    q->begin, q->count, n);
        L2H_FAIL_IF(!isfinite(q->lr_mult) || !isfinite(q->decay_mult) || q->lr_mult < 0.0f ||
                        q->decay_mult < 0.0f,
                    L2H_ERR_ARG, "parameter range %zu: multipliers must be finite and >= 0", r);
        end = q->begin + q->count;
    }
    return L2H_OK;
}

l2h_status l2h_optim_step(const l2h_optim_params *p, size_t n, float *params, const float *grads,
                          float *state, size_t t, float lr, const l2h_param_range *ranges,
                          size_t n_ranges)
{
    L2H_TRY(l2h_optim_params_check(p));
    L2H_TRY(l2h_param_ranges_check(n, ranges, n_ranges));
    L2H_FAIL_IF(n > 0 && (params == NULL || grads == NULL || state == NULL), L2H_ERR_ARG,
                "optimiser step: NULL span");
    L2H_FAIL_IF(t == 0, L2H_ERR_ARG, "optimiser step: step number t is 1-based");
    L2H_FAIL_IF(!isfinite(lr) || lr < 0.0f, L2H_ERR_ARG, "optimiser step: learning rate %g",
                (double)lr);
    if (p->kind == L2H_OPTIM_SGD)
        l2h_sgd_update(n, params, grads, state, lr, p->momentum, p->nesterov, p->weight_decay,
                       ranges, n_ranges);
    else
        l2h_adam_update(n, params, grads, state, state + n, t, lr, p->beta1, p->beta2, p->eps,
                        p->weight_decay, p->decoupled, ranges, n_ranges);
    return L2H_OK;
}

l2h_status l2h_lr_schedule_check(const l2h_lr_schedule *s)
{
    L2H_FAIL_IF(s == NULL, L2H_ERR_ARG, "learning rate: NULL schedule");
    L2H_FAIL_IF(!isfinite(s->lr0) || s->lr0 <= 0.0f, L2H_ERR_ARG,
                "learning rate %g must be finite and > 0", (double)s->lr0);
    switch (s->kind) {
    case L2H_LR_CONSTANT:
        return L2H_OK;
    case L2H_LR_STEP:
        L2H_FAIL_IF(s->step == 0, L2H_ERR_ARG, "step schedule: step must be >= 1");
        L2H_FAIL_IF(!isfinite(s->gamma) || s->gamma <= 0.0f || s->gamma > 1.0f, L2H_ERR_ARG,
                    "step schedule: gamma %g outside (0, 1]", (double)s->gamma);
        return L2H_OK;
    case L2H_LR_INV:
        L2H_FAIL_IF(!isfinite(s->decay) || s->decay < 0.0f || !isfinite(s->power) ||
                        s->power < 0.0f,
                    L2H_ERR_ARG, "inverse schedule: decay %g and power %g must be >= 0",
                    (double)s->decay, (double)s->power);
        return L2H_OK;
    }
    L2H_FAIL(L2H_ERR_ARG, "learning rate: unknown schedule %d", (int)s->kind);
}

float l2h_lr_at(const l2h_lr_schedule *s, size_t t)
{
    switch (s->kind) {
    case L2H_LR_STEP:
        if (s->step == 0) return s->lr0; /* invalid; l2h_lr_schedule_check rejects it */
        return (float)((double)s->lr0 * pow((double)s->gamma, (double)(t / s->step)));
    case L2H_LR_INV:
        return (float)((double)s->lr0 / pow(1.0 + (double)s->decay * (double)t, (double)s->power));
    case L2H_LR_CONSTANT:
    default:
        return s->lr0;
    }
}
