/* train_jmlh.c -- JMLH in l2h_train: the classifier-on-a-binary-bottleneck objective
 * (obj_jmlh.c) with C = the number of classes / labels of the training rows. The classifier is
 * the objective's own parameter block, stepped by the loop's optimiser; after training it is
 * kept in the model file as the extra tensors "jmlh.classifier.weight" [C, bits] and
 * "jmlh.classifier.bias" [C], which encoding never reads (docs/jmlh.md). */
#include "train_methods.h"

#include <math.h>
#include <string.h>

typedef struct jmlh_opts {
    double gamma;
    char variant[L2H_OPT_TEXT_CAP]; /* full | cont | qr | nr */
    int deterministic;
} jmlh_opts;

static const l2h_option_info k_options[] = {
    L2H_TRAIN_OPT("gamma", L2H_OPT_DOUBLE, "0.1", jmlh_opts, gamma,
                  "regulariser weight, finite, >= 0"),
    L2H_TRAIN_OPT("variant", L2H_OPT_TEXT, "full", jmlh_opts, variant,
                  "full (KL prior) | cont (sigmoid bottleneck) | qr (quantisation) | nr (none)"),
    L2H_TRAIN_OPT("deterministic", L2H_OPT_FLAG, "0", jmlh_opts, deterministic,
                  "threshold 0.5 in training instead of U(0,1)"),
};

/* The objective's settings from the options; L2H_ERR_ARG for a bad value. */
static l2h_status jmlh_settings(const jmlh_opts *o, size_t n_labels, l2h_jmlh_params *jp)
{
    L2H_FAIL_IF(!isfinite(o->gamma) || o->gamma < 0, L2H_ERR_ARG,
                "l2h_train: JMLH gamma %g must be finite and >= 0", o->gamma);
    *jp = l2h_jmlh_default_params(n_labels);
    jp->gamma = o->gamma;
    jp->deterministic = o->deterministic != 0;
    if (!strcmp(o->variant, "full")) jp->reg = L2H_JMLH_KL;
    else if (!strcmp(o->variant, "qr")) jp->reg = L2H_JMLH_QR;
    else if (!strcmp(o->variant, "nr")) jp->reg = L2H_JMLH_NONE;
    else if (!strcmp(o->variant, "cont")) jp->continuous = 1;
    else L2H_FAIL(L2H_ERR_ARG, "l2h_train: JMLH variant '%s' (full, cont, qr or nr)", o->variant);
    return L2H_OK;
}

static void jmlh_defaults(l2h_train_params *p)
{
    p->optimizer = L2H_OPT_ADAM;
    p->lr = 1e-3;
    p->schedule = L2H_SCHED_CONST;
    p->weight_decay = 0.0;
}

static l2h_status jmlh_check(const l2h_train_params *p, const void *opts)
{
    (void)p;
    l2h_jmlh_params jp;
    return jmlh_settings(opts, 1, &jp);
}

static l2h_status jmlh_create(const l2h_trainer *t, l2h_objective **obj)
{
    L2H_FAIL_IF(t->n_labels == 0, L2H_ERR_ARG,
                "l2h_train: JMLH needs labels 0..C-1 (found no non-negative label)");
    l2h_jmlh_params jp;
    L2H_TRY(jmlh_settings(t->opts, t->n_labels, &jp));
    jp.seed = t->p->seed;
    return l2h_jmlh_create(obj, t->p->bits, &jp);
}

static const char *variant_name(const l2h_jmlh_params *jp)
{
    if (jp->continuous) return "cont";
    return jp->reg == L2H_JMLH_QR ? "qr" : jp->reg == L2H_JMLH_NONE ? "nr" : "full";
}

static l2h_status jmlh_finish(const l2h_trainer *t, const l2h_objective *obj, l2h_model *m)
{
    const l2h_jmlh_params jp = l2h_jmlh_objective_params(obj);
    const size_t bits = t->p->bits, C = jp.n_labels;
    L2H_TRY(l2h_train_set_meta_num(m, "jmlh_gamma", jp.gamma));
    L2H_TRY(l2h_model_set_meta(m, "jmlh_variant", variant_name(&jp)));
    L2H_TRY(l2h_model_set_meta(m, "jmlh_epsilon", jp.deterministic ? "0.5" : "uniform"));
    L2H_TRY(l2h_model_set_meta(m, "jmlh_classifier",
                               t->sup->kind == L2H_SUP_MULTILABELS ? "sigmoid" : "softmax"));
    const size_t wshape[2] = {C, bits}, bshape[1] = {C};
    L2H_TRY(l2h_model_add_tensor(m, "jmlh.classifier.weight", 2, wshape, obj->params));
    return l2h_model_add_tensor(m, "jmlh.classifier.bias", 1, bshape, obj->params + C * bits);
}

const l2h_train_method l2h_train_jmlh = {
    .info = {.name = "jmlh",
             .summary = "JMLH (Shen et al.): a classifier on a stochastic binary bottleneck with "
                        "a KL prior on the bits",
             .batch = 100,
             .needs_labels = 1,
             .n_options = L2H_TRAIN_N_OPTS(k_options),
             .options = k_options},
    .opts_size = sizeof(jmlh_opts),
    .defaults = jmlh_defaults,
    .check = jmlh_check,
    .create = jmlh_create,
    .finish = jmlh_finish,
};
