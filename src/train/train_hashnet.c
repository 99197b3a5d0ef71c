/* train_hashnet.c -- HashNet in l2h_train: the weighted pairwise likelihood of obj_hashnet.c
 * with α resolved (0 = 10 / bits) and β moved along the schedule by the loop's begin_step hook.
 * The model records the settings and the final β (the scale of tanh(β·z) at the end of
 * training, which the histogram of |outputs| uses). */
#include "obj_hashnet.h"
#include "train_methods.h"

#include <stdio.h>
#include <string.h>

_Static_assert((int)L2H_HN_WEIGHT_BATCH == (int)L2H_HASHNET_WEIGHT_BATCH &&
                   (int)L2H_HN_WEIGHT_NONE == (int)L2H_HASHNET_WEIGHT_NONE &&
                   (int)L2H_HN_WEIGHT_CONST == (int)L2H_HASHNET_WEIGHT_CONST,
               "HashNet weighting values of train.h and obj_hashnet.h");

/* The objective's settings from the public options (α resolved). */
static l2h_hashnet_params hashnet_settings(const l2h_train_params *p)
{
    const l2h_hashnet_options *h = &p->hashnet;
    l2h_hashnet_params o = {
        .alpha = h->alpha == 0 ? l2h_hashnet_default_alpha(p->bits) : h->alpha,
        .weighting = (l2h_hn_weighting)h->weighting,
        .weight = h->weight,
        .self_pairs = h->self_pairs,
        .continuation = h->continuation,
        .beta_gamma = h->beta_gamma,
        .beta_power = h->beta_power,
        .beta_step = h->beta_step,
        .n_beta_stages = h->n_beta_stages,
    };
    _Static_assert(sizeof o.beta_stages == sizeof h->beta_stages, "stage arrays");
    memcpy(o.beta_stages, h->beta_stages, sizeof o.beta_stages);
    return o;
}

static l2h_status hashnet_check(const l2h_train_params *p)
{
    const l2h_hashnet_params o = hashnet_settings(p);
    return l2h_hashnet_params_check(&o, p->bits);
}

static l2h_status hashnet_create(const l2h_trainer *t, l2h_objective **obj)
{
    const l2h_hashnet_params o = hashnet_settings(t->p);
    return l2h_hashnet_create(obj, t->p->bits, &o);
}

static const char *weighting_name(l2h_hn_weighting w)
{
    switch (w) {
    case L2H_HN_WEIGHT_BATCH:
        return "batch";
    case L2H_HN_WEIGHT_NONE:
        return "none";
    case L2H_HN_WEIGHT_CONST:
        return "const";
    }
    return "?";
}

static l2h_status hashnet_finish(const l2h_trainer *t, const l2h_objective *obj, l2h_model *m)
{
    const l2h_hashnet_params o = hashnet_settings(t->p);
    L2H_TRY(l2h_train_set_meta_num(m, "hashnet_alpha", o.alpha));
    L2H_TRY(l2h_model_set_meta(m, "hashnet_weighting", weighting_name(o.weighting)));
    if (o.weighting == L2H_HN_WEIGHT_CONST)
        L2H_TRY(l2h_train_set_meta_num(m, "hashnet_weight", o.weight));
    L2H_TRY(l2h_train_set_meta_num(m, "hashnet_self_pairs", o.self_pairs ? 1 : 0));
    char sched[400] = "none";
    if (o.continuation && o.n_beta_stages) {
        size_t len = (size_t)snprintf(sched, sizeof sched, "stages");
        for (size_t k = 0; k < o.n_beta_stages && len < sizeof sched; k++)
            len += (size_t)snprintf(sched + len, sizeof sched - len, "%s%.6g", k ? "," : ":",
                                    o.beta_stages[k]);
    } else if (o.continuation) {
        snprintf(sched, sizeof sched, "(1+%.6g*t)^%.6g, t stepped every %zu iterations",
                 o.beta_gamma, o.beta_power, o.beta_step);
    }
    L2H_TRY(l2h_model_set_meta(m, "hashnet_beta_schedule", sched));
    return l2h_train_set_meta_num(m, "hashnet_beta_final", l2h_hashnet_objective_beta(obj));
}

const l2h_train_method l2h_train_hashnet = {
    .name = "hashnet",
    .check = hashnet_check,
    .create = hashnet_create,
    .finish = hashnet_finish,
};
