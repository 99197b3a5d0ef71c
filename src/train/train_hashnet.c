/* train_hashnet.c -- HashNet in l2h_train: the weighted pairwise likelihood of obj_hashnet.c
 * with α resolved (0 = 10 / bits) and β moved along the schedule by the loop's begin_step hook.
 * The model records the settings and the final β (the scale of tanh(β·z) at the end of
 * training, which the histogram of |outputs| uses). */
#include "obj_hashnet.h"
#include "train_methods.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SCHEDULE "0.005,0.5,200"

typedef struct hashnet_opts {
    double alpha;                           /* 0 = 10 / bits                         */
    char weighting[L2H_OPT_TEXT_CAP];       /* batch | none | a weight C > 0          */
    int self_pairs, no_continuation;
    char beta_schedule[L2H_OPT_TEXT_CAP];   /* gamma,power,step                      */
    char beta_stages[L2H_OPT_TEXT_CAP];     /* B1,B2,... or empty                     */
} hashnet_opts;

static const l2h_option_info k_options[] = {
    L2H_TRAIN_OPT("alpha", L2H_OPT_DOUBLE, "0", hashnet_opts, alpha,
                  "sigmoid parameter α (0 = 10/bits)"),
    L2H_TRAIN_OPT("weighting", L2H_OPT_TEXT, "batch", hashnet_opts, weighting,
                  "pair weights: batch (|S|/|S1|, |S|/|S0| per batch), none (HashNet-W), or a "
                  "weight C > 0 of similar pairs"),
    L2H_TRAIN_OPT("self-pairs", L2H_OPT_FLAG, "0", hashnet_opts, self_pairs,
                  "include the pairs (i, i)"),
    L2H_TRAIN_OPT("no-continuation", L2H_OPT_FLAG, "0", hashnet_opts, no_continuation,
                  "β = 1 throughout (HashNet-C)"),
    L2H_TRAIN_OPT("beta-schedule", L2H_OPT_TEXT, DEFAULT_SCHEDULE, hashnet_opts, beta_schedule,
                  "β = (1 + G·t)^P, t stepped every S iterations: G,P,S"),
    L2H_TRAIN_OPT("beta-stages", L2H_OPT_TEXT, "", hashnet_opts, beta_stages,
                  "explicit β stages B1,B2,.. for equal shares of the epochs"),
};

/* Up to max numbers separated by commas. */
static l2h_status parse_list(const char *what, const char *s, double *v, size_t max, size_t *n)
{
    *n = 0;
    for (const char *q = s; *q;) {
        char *end;
        const double x = strtod(q, &end);
        L2H_FAIL_IF(end == q || *n >= max || (*end && *end != ',') || !isfinite(x), L2H_ERR_ARG,
                    "l2h_train: hashnet %s: bad list '%s' (at most %zu numbers)", what, s, max);
        v[(*n)++] = x;
        q = *end ? end + 1 : end;
    }
    L2H_FAIL_IF(*n == 0, L2H_ERR_ARG, "l2h_train: hashnet %s: empty list", what);
    return L2H_OK;
}

/* The objective's settings from the options (α resolved); L2H_ERR_ARG for a bad value. */
static l2h_status hashnet_settings(const l2h_train_params *p, const hashnet_opts *h,
                                   l2h_hashnet_params *o)
{
    *o = (l2h_hashnet_params){.alpha = h->alpha == 0 ? l2h_hashnet_default_alpha(p->bits)
                                                     : h->alpha,
                              .weighting = L2H_HN_WEIGHT_BATCH,
                              .weight = 1.0,
                              .self_pairs = h->self_pairs,
                              .continuation = !h->no_continuation};
    if (!strcmp(h->weighting, "none")) {
        o->weighting = L2H_HN_WEIGHT_NONE;
    } else if (strcmp(h->weighting, "batch") != 0) {
        char *end;
        o->weighting = L2H_HN_WEIGHT_CONST;
        o->weight = strtod(h->weighting, &end);
        L2H_FAIL_IF(end == h->weighting || *end || !(o->weight > 0) || !isfinite(o->weight),
                    L2H_ERR_ARG, "l2h_train: hashnet weighting must be batch, none or a weight "
                    "> 0, not '%s'", h->weighting);
    }
    L2H_FAIL_IF(h->beta_stages[0] && strcmp(h->beta_schedule, DEFAULT_SCHEDULE) != 0,
                L2H_ERR_ARG, "l2h_train: hashnet: give beta-schedule or beta-stages, not both");
    double v[3];
    size_t n;
    L2H_TRY(parse_list("beta-schedule", h->beta_schedule, v, 3, &n));
    L2H_FAIL_IF(n != 3 || !(v[2] >= 1) || v[2] != floor(v[2]) || v[2] > 1e12, L2H_ERR_ARG,
                "l2h_train: hashnet beta-schedule needs gamma,power,step (step >= 1)");
    o->beta_gamma = v[0];
    o->beta_power = v[1];
    o->beta_step = (size_t)v[2];
    if (h->beta_stages[0])
        L2H_TRY(parse_list("beta-stages", h->beta_stages, o->beta_stages,
                           sizeof o->beta_stages / sizeof o->beta_stages[0], &o->n_beta_stages));
    return L2H_OK;
}

static void hashnet_defaults(l2h_train_params *p) { p->last_lr_mult = 10.0; }

static l2h_status hashnet_check(const l2h_train_params *p, const void *opts)
{
    l2h_hashnet_params o;
    L2H_TRY(hashnet_settings(p, opts, &o));
    return l2h_hashnet_params_check(&o, p->bits);
}

static l2h_status hashnet_create(const l2h_trainer *t, l2h_objective **obj)
{
    l2h_hashnet_params o;
    L2H_TRY(hashnet_settings(t->p, t->opts, &o));
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
    l2h_hashnet_params o;
    L2H_TRY(hashnet_settings(t->p, t->opts, &o));
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
    .info = {.name = "hashnet",
             .summary = "HashNet (Cao et al.): weighted pairwise likelihood, continuation "
                        "tanh(βz) -> sign",
             .batch = 100,
             .needs_labels = 1,
             .n_options = L2H_TRAIN_N_OPTS(k_options),
             .options = k_options},
    .opts_size = sizeof(hashnet_opts),
    .defaults = hashnet_defaults,
    .check = hashnet_check,
    .create = hashnet_create,
    .finish = hashnet_finish,
};
