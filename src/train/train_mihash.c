/* train_mihash.c -- MIHash in l2h_train: the batch MI objective (obj_mihash.c) with K bins and
 * a sigmoid scale chosen from the initial network's outputs unless given.
 *
 * Deep networks (a last linear layer after hidden layers) are trained on batch-centred outputs
 * (obj_mihash.c, p.centre): the output bias starts at minus the mean initial output (every bit
 * balanced), the MI is taken of z − mean_batch(z), and after training the bias is set again so
 * that the training rows' mean output is 0 -- the threshold the codes are cut at is the one
 * training used (the population version of the batch mean, as batch norm's running mean).
 * Why: docs/mihash.md "Output centring". */
#include "train_methods.h"

#include <math.h>

#define SCALE_ROWS 2000

typedef struct mihash_opts {
    size_t bins;   /* K, 0 = min(16, bits)                         */
    double scale;  /* sigmoid scale a, 0 = auto 2 / rms             */
    size_t grades; /* 0 = binary relevance, G >= 2 graded           */
} mihash_opts;

static const l2h_option_info k_options[] = {
    L2H_TRAIN_OPT("bins", L2H_OPT_SIZE, "0", mihash_opts, bins,
                  "histogram bins K of the distance distributions (0 = min(16, bits))"),
    L2H_TRAIN_OPT("scale", L2H_OPT_DOUBLE, "0", mihash_opts, scale,
                  "sigmoid scale a (0 = auto: 2 / rms of the initial outputs)"),
    L2H_TRAIN_OPT("mi-grades", L2H_OPT_SIZE, "0", mihash_opts, grades,
                  "MI with graded relevance min(shared labels, G-1); 0 = binary"),
};

static int has_batch_stats(const l2h_nn *nn)
{
    size_t n;
    const l2h_layer_spec *s = l2h_nn_specs(nn, &n);
    for (size_t i = 0; i < n; i++)
        if (s[i].kind == L2H_LAYER_BATCHNORM) return 1;
    return 0;
}

static l2h_status mihash_check(const l2h_train_params *p, const void *opts)
{
    const mihash_opts *o = opts;
    L2H_FAIL_IF(o->grades == 1 || o->grades > 64, L2H_ERR_ARG,
                "l2h_train: MIHash grades %zu (0 = binary, else 2..64)", o->grades);
    L2H_FAIL_IF(o->bins > p->bits, L2H_ERR_ARG, "l2h_train: MIHash bins %zu > bits %zu", o->bins,
                p->bits);
    L2H_FAIL_IF(!(o->scale >= 0) || !isfinite(o->scale), L2H_ERR_ARG,
                "l2h_train: sigmoid scale %g (0 = auto, else > 0)", o->scale);
    return L2H_OK;
}

static l2h_mihash_params mihash_settings(const l2h_trainer *t, float auto_scale, int centre)
{
    const mihash_opts *o = t->opts;
    l2h_mihash_params mp = l2h_mihash_default_params(t->p->bits);
    if (o->bins) mp.bins = o->bins;
    mp.grades = o->grades;
    mp.scale = o->scale > 0 ? (float)o->scale : auto_scale;
    mp.centre = centre;
    return mp;
}

static l2h_status mihash_create(const l2h_trainer *t, l2h_objective **obj)
{
    /* the initial outputs on up to SCALE_ROWS rows: centring, and the auto scale 2 / rms */
    const size_t ns = t->n_tr < SCALE_ROWS ? t->n_tr : SCALE_ROWS;
    float *z = l2h_malloc_array(ns, t->p->bits * sizeof *z);
    L2H_NOMEM_IF_NULL(z);
    l2h_status st = L2H_OK;
    if (has_batch_stats(t->nn)) {
        /* batch norm: the outputs training sees are those of the training forward (batch
         * statistics), not of inference with the initial running statistics */
        const size_t mb = l2h_nn_max_batch(t->nn);
        for (size_t r = 0; st == L2H_OK && r < ns; r += mb)
            st = l2h_nn_forward(t->nn, t->xp + r * t->dim, ns - r < mb ? ns - r : mb,
                                z + r * t->p->bits);
    } else {
        st = l2h_nn_infer(t->nn, t->xp, ns, z);
    }
    int centred = 0; /* every bit balanced at the start; the scale then reads the item-to-item
                        spread, not a shared offset */
    if (st == L2H_OK) st = l2h_nn_centre_output(t->nn, z, ns, &centred);
    const float scale = 2.0f * l2h_mihash_suggest_scale(z, ns, t->p->bits);
    l2h_free(z);
    L2H_TRY(st);
    const l2h_mihash_params mp = mihash_settings(t, scale, centred);
    L2H_TRY(l2h_mihash_params_check(&mp, t->p->bits));
    return l2h_mihash_create(obj, t->p->bits, &mp);
}

/* Centred training: the output bias again so that the training rows' mean output (inference
 * mode, as codes are made) is 0. The centred objective does not depend on the bias, so this
 * changes no later training step. */
static l2h_status mihash_before_infer(const l2h_trainer *t, l2h_objective *obj)
{
    if (!l2h_mihash_objective_params(obj).centre) return L2H_OK;
    float *z = l2h_malloc_array(t->n_tr, t->p->bits * sizeof *z);
    L2H_NOMEM_IF_NULL(z);
    l2h_status st = l2h_nn_infer(t->nn, t->xp, t->n_tr, z);
    int centred = 0;
    if (st == L2H_OK) st = l2h_nn_centre_output(t->nn, z, t->n_tr, &centred);
    l2h_free(z);
    return st;
}

static l2h_status mihash_finish(const l2h_trainer *t, const l2h_objective *obj, l2h_model *m)
{
    const l2h_mihash_params mp = l2h_mihash_objective_params(obj);
    (void)t;
    L2H_TRY(l2h_train_set_meta_num(m, "mihash_bins", (double)mp.bins));
    L2H_TRY(l2h_train_set_meta_num(m, "mihash_centred", (double)mp.centre));
    return l2h_train_set_meta_num(m, "mihash_scale", (double)mp.scale);
}

const l2h_train_method l2h_train_mihash = {
    .info = {.name = "mihash",
             .summary = "MIHash (Cakir et al.): mutual information of neighbour / non-neighbour "
                        "Hamming distance distributions",
             .batch = 100,
             .needs_labels = 1,
             .n_options = L2H_TRAIN_N_OPTS(k_options),
             .options = k_options},
    .opts_size = sizeof(mihash_opts),
    .check = mihash_check,
    .create = mihash_create,
    .before_infer = mihash_before_infer,
    .finish = mihash_finish,
};
