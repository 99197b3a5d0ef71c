/* train_jmlh.c -- JMLH in l2h_train: the classifier-on-a-binary-bottleneck objective
 * (obj_jmlh.c) with C = the number of classes / labels of the training rows. The classifier is
 * the objective's own parameter block, stepped by the loop's optimiser; after training it is
 * kept in the model file as the extra tensors "jmlh.classifier.weight" [C, bits] and
 * "jmlh.classifier.bias" [C], which encoding never reads (docs/jmlh.md). */
#include "train_methods.h"

#include <math.h>

static l2h_status jmlh_check(const l2h_train_params *p)
{
    const l2h_jmlh_options *o = &p->jmlh;
    L2H_FAIL_IF(!isfinite(o->gamma) || o->gamma < 0, L2H_ERR_ARG,
                "l2h_train: JMLH gamma %g must be finite and >= 0", o->gamma);
    L2H_FAIL_IF(o->regularizer != L2H_JMLH_REG_KL && o->regularizer != L2H_JMLH_REG_QR &&
                    o->regularizer != L2H_JMLH_REG_NONE,
                L2H_ERR_ARG, "l2h_train: unknown JMLH regulariser %d", (int)o->regularizer);
    return L2H_OK;
}

static l2h_status jmlh_create(const l2h_trainer *t, l2h_objective **obj)
{
    const l2h_jmlh_options *o = &t->p->jmlh;
    L2H_FAIL_IF(t->n_labels == 0, L2H_ERR_ARG,
                "l2h_train: JMLH needs labels 0..C-1 (found no non-negative label)");
    l2h_jmlh_params jp = l2h_jmlh_default_params(t->n_labels);
    jp.gamma = o->gamma;
    jp.reg = o->regularizer == L2H_JMLH_REG_QR     ? L2H_JMLH_QR
             : o->regularizer == L2H_JMLH_REG_NONE ? L2H_JMLH_NONE
                                                   : L2H_JMLH_KL;
    jp.deterministic = o->deterministic != 0;
    jp.continuous = o->continuous != 0;
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
    .name = "jmlh",
    .check = jmlh_check,
    .create = jmlh_create,
    .finish = jmlh_finish,
};
