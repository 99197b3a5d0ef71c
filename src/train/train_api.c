/* train_api.c -- the public trainer of l2h/train.h: validation split of the training rows,
 * preprocessing statistics, network construction and initialisation, automatic sigmoid scale,
 * the mini-batch loop of train_loop.h with per-epoch progress and validation mAP, and the
 * conversion of the trained network into an l2h_model. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "l2h/train.h"

#include "l2h/codes.h"
#include "l2h/eval.h"
#include "model_internal.h"
#include "train_loop.h"
#include "train_methods.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define VAL_SALT 0x7a11da7e5eedull

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The shared settings of a method trained by SGD, without the data. */
l2h_status l2h_train_check_sgd(const l2h_train_params *p)
{
    L2H_FAIL_IF(p->net != L2H_NET_LINEAR && p->net != L2H_NET_MLP && p->net != L2H_NET_CNN,
                L2H_ERR_ARG, "l2h_train: unknown network kind %d", (int)p->net);
    L2H_FAIL_IF(p->net == L2H_NET_MLP && (p->n_hidden < 1 || p->n_hidden > 4), L2H_ERR_ARG,
                "l2h_train: MLP needs 1..4 hidden layers, got %zu", p->n_hidden);
    for (size_t i = 0; p->net == L2H_NET_MLP && i < p->n_hidden; i++)
        L2H_FAIL_IF(p->hidden[i] == 0, L2H_ERR_ARG, "l2h_train: hidden layer %zu has 0 units", i);
    L2H_FAIL_IF(p->batch < 2, L2H_ERR_ARG, "l2h_train: need batch >= 2 (got %zu)", p->batch);
    L2H_FAIL_IF(!(p->lr > 0) || !isfinite(p->lr) || !(p->last_lr_mult >= 0) ||
                    !isfinite(p->last_lr_mult),
                L2H_ERR_ARG, "l2h_train: learning rate %g / last-layer multiplier %g invalid",
                p->lr, p->last_lr_mult);
    L2H_FAIL_IF(!(p->val_fraction >= 0 && p->val_fraction < 1), L2H_ERR_ARG,
                "l2h_train: validation fraction %g outside [0, 1)", p->val_fraction);
    L2H_FAIL_IF(!(p->dropout >= 0 && p->dropout <= 0.99), L2H_ERR_ARG,
                "l2h_train: dropout %g outside [0, 0.99]", p->dropout);
    L2H_FAIL_IF(p->dropout > 0 && p->net == L2H_NET_LINEAR, L2H_ERR_ARG,
                "l2h_train: dropout needs a hidden layer (mlp or cnn)");
    L2H_FAIL_IF(p->batch_norm && p->net == L2H_NET_LINEAR, L2H_ERR_ARG,
                "l2h_train: batch norm of hidden layers needs mlp or cnn (out_bn normalises the "
                "outputs)");
    L2H_FAIL_IF(p->shift > 8, L2H_ERR_ARG,
                "l2h_train: translations (shift %zu) need 28x28 images and shift <= 8", p->shift);
    return L2H_OK;
}

/* The checks that need the data (the settings were checked by l2h_train_check_sgd). */
static l2h_status check_data(const l2h_train_params *p, const l2h_dataset *ds)
{
    L2H_FAIL_IF(ds == NULL, L2H_ERR_ARG, "l2h_train: NULL argument");
    L2H_FAIL_IF(p->net == L2H_NET_CNN && l2h_dataset_dim(ds) != 784, L2H_ERR_ARG,
                "l2h_train: the CNN takes 1x28x28 images (dim 784), the data has dim %zu",
                l2h_dataset_dim(ds));
    L2H_FAIL_IF(p->shift > 0 && l2h_dataset_dim(ds) != 784, L2H_ERR_ARG,
                "l2h_train: translations (shift %zu) need 28x28 images (dim 784) and shift <= 8",
                p->shift);
    const l2h_label_kind lk = l2h_dataset_label_kind(ds);
    L2H_FAIL_IF(lk != L2H_LABELS_SINGLE && lk != L2H_LABELS_MULTI, L2H_ERR_ARG,
                "l2h_train: %s needs labelled training rows", p->method);
    return L2H_OK;
}

static l2h_status build_nn(l2h_nn **out, const l2h_train_params *p, size_t dim)
{
    const l2h_nn_reg reg = {.bn = p->batch_norm,
                            .out_bn = p->out_bn,
                            .dropout_pct = (size_t)floor(100.0 * p->dropout + 0.5)};
    switch (p->net) {
    case L2H_NET_LINEAR:
        if (p->out_bn) /* linear:bits,bn -- an "mlp" without hidden layers for the model file */
            L2H_TRY(l2h_nn_create_mlp_reg(out, dim, NULL, 0, p->bits, &reg, p->batch));
        else
            L2H_TRY(l2h_nn_create_linear(out, dim, p->bits, p->batch));
        break;
    case L2H_NET_MLP:
        L2H_TRY(l2h_nn_create_mlp_reg(out, dim, p->hidden, p->n_hidden, p->bits, &reg, p->batch));
        break;
    case L2H_NET_CNN: {
        const l2h_cnn_params cp = l2h_cnn_default_params();
        L2H_TRY(l2h_nn_create_cnn_reg(out, &cp, p->bits, &reg, p->batch));
        break;
    }
    }
    l2h_status st = l2h_nn_init(*out, L2H_INIT_HE, 0.0f, p->seed);
    size_t nt;
    const l2h_nn_tensor *t = l2h_nn_tensors(*out, &nt);
    /* the last linear layer (and an output batch norm after it) */
    size_t first = nt >= 2 ? nt - 2 : 0;
    if (p->out_bn && nt >= 4) first = nt - 4;
    for (size_t k = first; st == L2H_OK && k < nt; k++)
        st = l2h_nn_set_mult(*out, k, (float)p->last_lr_mult, t[k].decay_mult);
    if (st != L2H_OK) {
        l2h_nn_free(*out);
        *out = NULL;
    }
    return st;
}

typedef struct trainer {
    const l2h_train_params *p;
    l2h_nn *nn;
    size_t dim, n_tr, n_val;
    float *mean;                /* [dim] or NULL                    */
    float *xraw;                /* raw training rows (shift > 0)    */
    float *xp;                  /* preprocessed training rows       */
    float *xv;                  /* preprocessed validation rows     */
    l2h_groundtruth *gt;        /* validation vs training rows      */
    size_t *tr, *val;           /* rows of the two parts            */
    l2h_dataset *dtr, *dval;    /* those rows as datasets           */
    double t0, t_epoch;
    const l2h_train_method *method; /* its before_infer runs before every validation */
    const l2h_trainer *tc;
    l2h_objective *obj;
} trainer;

static l2h_status validate(trainer *t, double *map, double *map_tie)
{
    const size_t bits = t->p->bits, bytes = l2h_code_bytes(bits);
    const size_t nz = t->n_tr > t->n_val ? t->n_tr : t->n_val;
    float *z = l2h_malloc_array(nz, bits * sizeof *z);
    uint8_t *cq = l2h_malloc_array(t->n_val, bytes), *cd = l2h_malloc_array(t->n_tr, bytes);
    l2h_status st = L2H_OK;
    if (!z || !cq || !cd) L2H_FAIL_GOTO(L2H_ERR_NOMEM, "out of memory in %s", __func__);
    L2H_CHECK_GOTO(l2h_nn_infer(t->nn, t->xv, t->n_val, z));
    L2H_CHECK_GOTO(l2h_codes_pack(z, t->n_val, bits, cq));
    L2H_CHECK_GOTO(l2h_nn_infer(t->nn, t->xp, t->n_tr, z));
    L2H_CHECK_GOTO(l2h_codes_pack(z, t->n_tr, bits, cd));
    l2h_eval_params ep = l2h_eval_default_params();
    l2h_eval_result r;
    L2H_CHECK_GOTO(l2h_eval_codes(cq, t->n_val, cd, t->n_tr, bits, t->gt, &ep, &r));
    *map = r.map;
    *map_tie = r.map_tie;
done:
    l2h_free(z);
    l2h_free(cq);
    l2h_free(cd);
    return st;
}

/* The loop's augment hook (shift > 0): every row of the batch, raw 28x28 pixels, is translated
 * by (dy, dx) uniform in [-shift, shift]² with zero fill, then centred / normalised exactly as
 * the stored rows. The draws come from (seed, step), so a run is repeatable. */
static l2h_status augment_shift(void *user, float *xb, size_t m, size_t step)
{
    const trainer *t = user;
    const long s = (long)t->p->shift, w = 2 * s + 1;
    float img[784];
    l2h_rng rng;
    l2h_rng_seed(&rng, t->p->seed * 0x9e3779b97f4a7c15ull + step);
    for (size_t i = 0; i < m; i++) {
        float *x = xb + i * 784;
        const long dy = (long)(l2h_rng_next(&rng) % (uint64_t)w) - s;
        const long dx = (long)(l2h_rng_next(&rng) % (uint64_t)w) - s;
        for (long r = 0; r < 28; r++)
            for (long c = 0; c < 28; c++) {
                const long sr = r - dy, sc = c - dx;
                img[r * 28 + c] = sr >= 0 && sr < 28 && sc >= 0 && sc < 28 ? x[sr * 28 + sc] : 0.0f;
            }
        memcpy(x, img, sizeof img);
    }
    l2h_preprocess_rows(t->mean, t->p->l2_normalize, 784, xb, m, xb);
    return L2H_OK;
}

static l2h_status on_epoch(void *user, size_t epoch, float loss, float aux_loss)
{
    trainer *t = user;
    const double t1 = now_s();
    l2h_train_progress pr = {.epoch = epoch + 1,
                             .epochs = t->p->epochs,
                             .loss = loss,
                             .loss_aux = aux_loss,
                             .val_map = -1,
                             .val_map_tie = -1};
    pr.examples_per_s = t1 > t->t_epoch ? (double)t->n_tr / (t1 - t->t_epoch) : 0.0;
    const size_t every = t->p->val_every ? t->p->val_every : 1;
    if (t->gt && ((epoch + 1) % every == 0 || epoch + 1 == t->p->epochs)) {
        if (t->method->before_infer) L2H_TRY(t->method->before_infer(t->tc, t->obj));
        L2H_TRY(validate(t, &pr.val_map, &pr.val_map_tie));
    }
    pr.seconds = now_s() - t->t0;
    if (t->p->callback && t->p->callback(&pr, t->p->user))
        L2H_FAIL(L2H_ERR_STATE, "training cancelled after epoch %zu", epoch + 1);
    t->t_epoch = now_s();
    return L2H_OK;
}

l2h_status l2h_train_split_rows(const l2h_train_params *p, size_t n, uint64_t salt, size_t **tr,
                                size_t *n_tr, size_t **val, size_t *n_val)
{
    size_t nv = 0;
    if (p->val_fraction > 0) {
        nv = (size_t)floor(p->val_fraction * (double)n + 0.5);
        if (nv < 1) nv = 1;
    }
    L2H_FAIL_IF(n < nv + 2, L2H_ERR_ARG, "l2h_train: %zu rows, %zu held out: need 2 to train", n,
                nv);
    size_t *perm = l2h_malloc_array(n, sizeof *perm);
    uint8_t *is_val = l2h_calloc(n, 1);
    *tr = l2h_malloc_array(n - nv, sizeof **tr);
    *val = l2h_malloc_array(nv ? nv : 1, sizeof **val);
    if (!perm || !is_val || !*tr || !*val) {
        l2h_free(perm);
        l2h_free(is_val);
        l2h_free(*tr);
        l2h_free(*val);
        *tr = *val = NULL;
        L2H_FAIL(L2H_ERR_NOMEM, "out of memory in %s", __func__);
    }
    for (size_t i = 0; i < n; i++) perm[i] = i;
    l2h_rng rng;
    l2h_rng_seed(&rng, p->seed ^ salt);
    if (nv) l2h_rng_shuffle(&rng, perm, n);
    for (size_t i = 0; i < nv; i++) is_val[perm[i]] = 1;
    size_t a = 0, b = 0;
    for (size_t i = 0; i < n; i++) {
        if (is_val[i]) (*val)[b++] = i;
        else (*tr)[a++] = i;
    }
    *n_tr = a;
    *n_val = b;
    l2h_free(perm);
    l2h_free(is_val);
    return L2H_OK;
}

l2h_status l2h_train_gather_rows(const l2h_dataset *ds, const size_t *rows, size_t n, float **out)
{
    const size_t dim = l2h_dataset_dim(ds);
    const float *x = l2h_dataset_features(ds);
    float *o = l2h_malloc_array(n ? n : 1, dim * sizeof *o);
    L2H_NOMEM_IF_NULL(o);
    for (size_t i = 0; i < n; i++) {
        const float *r = x + rows[i] * dim;
        for (size_t j = 0; j < dim; j++)
            if (!isfinite(r[j])) {
                l2h_free(o);
                L2H_FAIL(L2H_ERR_NUMERIC, "l2h_train: non-finite feature in row %zu, column %zu",
                         rows[i], j);
            }
        memcpy(o + i * dim, r, dim * sizeof *o);
    }
    *out = o;
    return L2H_OK;
}

l2h_status l2h_train_set_meta_num(l2h_model *m, const char *key, double v)
{
    char buf[48];
    snprintf(buf, sizeof buf, "%.9g", v);
    return l2h_model_set_meta(m, key, buf);
}

/* Classes of single-label rows (max label + 1) or columns of multi-labels. */
static size_t n_labels(const l2h_dataset *ds)
{
    if (l2h_dataset_label_kind(ds) == L2H_LABELS_MULTI) return l2h_dataset_n_labels(ds);
    const int32_t *y = l2h_dataset_labels(ds);
    size_t c = 0;
    for (size_t i = 0; i < l2h_dataset_n(ds); i++)
        if (y[i] >= 0 && (size_t)y[i] + 1 > c) c = (size_t)y[i] + 1;
    return c;
}

/* Phase 1: the training and validation rows, preprocessed with the training statistics, their
 * datasets and the validation ground truth. */
static l2h_status prepare_rows(trainer *t, const l2h_dataset *train)
{
    const l2h_train_params *p = t->p;
    const size_t dim = t->dim;
    L2H_TRY(l2h_train_split_rows(p, l2h_dataset_n(train), VAL_SALT, &t->tr, &t->n_tr, &t->val,
                                 &t->n_val));
    L2H_TRY(l2h_train_gather_rows(train, t->tr, t->n_tr, &t->xp));
    if (p->shift) {
        t->xraw = l2h_malloc_array(t->n_tr, dim * sizeof *t->xraw);
        L2H_NOMEM_IF_NULL(t->xraw);
        memcpy(t->xraw, t->xp, t->n_tr * dim * sizeof *t->xraw);
    }
    if (p->center) {
        t->mean = l2h_malloc_array(dim, sizeof *t->mean);
        L2H_NOMEM_IF_NULL(t->mean);
        L2H_TRY(l2h_rows_mean(l2h_dataset_features(train), dim, t->tr, t->n_tr, t->mean));
    }
    l2h_preprocess_rows(t->mean, p->l2_normalize, dim, t->xp, t->n_tr, t->xp);
    L2H_TRY(l2h_dataset_subset(&t->dtr, train, t->tr, t->n_tr));
    if (t->n_val) {
        L2H_TRY(l2h_train_gather_rows(train, t->val, t->n_val, &t->xv));
        l2h_preprocess_rows(t->mean, p->l2_normalize, dim, t->xv, t->n_val, t->xv);
        L2H_TRY(l2h_dataset_subset(&t->dval, train, t->val, t->n_val));
        L2H_TRY(l2h_groundtruth_from_labels(&t->gt, t->dval, t->dtr));
    }
    return L2H_OK;
}

/* Phase 2: the supervision of the training rows (labels or multi-labels). */
static l2h_supervision supervision_of(const l2h_dataset *dtr, size_t n)
{
    l2h_supervision sup = {.n = n};
    if (l2h_dataset_label_kind(dtr) == L2H_LABELS_SINGLE) {
        sup.kind = L2H_SUP_LABELS;
        sup.labels = l2h_dataset_labels(dtr);
    } else {
        sup.kind = L2H_SUP_MULTILABELS;
        sup.multilabels = l2h_dataset_multilabels(dtr);
        sup.n_labels = l2h_dataset_n_labels(dtr);
    }
    return sup;
}

l2h_loop_params l2h_train_loop_settings(const l2h_train_params *p)
{
    l2h_loop_params lp = l2h_loop_default_params();
    lp.epochs = p->epochs;
    lp.batch = p->batch;
    lp.seed = p->seed;
    lp.optim = l2h_optim_default_params(p->optimizer == L2H_OPT_ADAM ? L2H_OPTIM_ADAM
                                                                      : L2H_OPTIM_SGD);
    lp.optim.weight_decay = (float)p->weight_decay;
    if (p->optimizer == L2H_OPT_SGD) {
        lp.optim.momentum = (float)p->momentum;
        lp.optim.nesterov = p->nesterov;
    }
    lp.lr = (l2h_lr_schedule){.kind = L2H_LR_CONSTANT, .lr0 = (float)p->lr};
    if (p->schedule == L2H_SCHED_STEP) {
        lp.lr.kind = L2H_LR_STEP;
        lp.lr.gamma = (float)p->lr_gamma;
        lp.lr.step = p->lr_step ? p->lr_step : 1;
    } else if (p->schedule == L2H_SCHED_INV) {
        lp.lr.kind = L2H_LR_INV;
        lp.lr.decay = (float)p->lr_gamma;
        lp.lr.power = (float)p->lr_power;
    }
    lp.lr_unit = L2H_LR_PER_EPOCH;
    return lp;
}

/* Phase 3: the loop's settings (optimiser, schedule) and hooks from the shared parameters. */
static l2h_loop_params loop_params(trainer *t)
{
    l2h_loop_params lp = l2h_train_loop_settings(t->p);
    lp.on_epoch = on_epoch;
    lp.user = t;
    if (t->p->shift) lp.augment = augment_shift;
    return lp;
}

/* Phase 4: the trained network (taken from t) as a model with the run's metadata. */
static l2h_status make_model(l2h_model **out, trainer *t, const l2h_train_method *method,
                             const l2h_trainer *tc, const l2h_objective *obj)
{
    l2h_net *net;
    const l2h_status st = l2h_net_from_nn(&net, t->nn);
    t->nn = NULL; /* taken */
    L2H_TRY(st);
    L2H_TRY(l2h_model_create(out, method->info.name, net, t->mean, t->p->l2_normalize));
    L2H_TRY(l2h_train_set_meta_num(*out, "seed", (double)t->p->seed));
    L2H_TRY(l2h_train_set_meta_num(*out, "epochs", (double)t->p->epochs));
    L2H_TRY(l2h_train_set_meta_num(*out, "train_rows", (double)t->n_tr));
    return method->finish ? method->finish(tc, obj, *out) : L2H_OK;
}

static void trainer_free(trainer *t)
{
    l2h_nn_free(t->nn);
    l2h_groundtruth_free(t->gt);
    l2h_dataset_free(t->dtr);
    l2h_dataset_free(t->dval);
    l2h_free(t->mean);
    l2h_free(t->xp);
    l2h_free(t->xraw);
    l2h_free(t->xv);
    l2h_free(t->tr);
    l2h_free(t->val);
}

l2h_status l2h_train_sgd(l2h_model **out, const l2h_dataset *train, const l2h_train_params *p,
                         const l2h_train_method *method, const void *opts)
{
    *out = NULL;
    L2H_TRY(check_data(p, train));
    trainer t = {.p = p, .dim = l2h_dataset_dim(train)};
    l2h_objective *obj = NULL;
    l2h_status st = L2H_OK;
    L2H_CHECK_GOTO(prepare_rows(&t, train));
    const l2h_supervision sup = supervision_of(t.dtr, t.n_tr);
    L2H_CHECK_GOTO(build_nn(&t.nn, p, t.dim));
    const l2h_trainer tc = {.p = p,
                            .opts = opts,
                            .nn = t.nn,
                            .dim = t.dim,
                            .n_tr = t.n_tr,
                            .n_val = t.n_val,
                            .xp = t.xp,
                            .sup = &sup,
                            .n_labels = n_labels(t.dtr)};
    L2H_CHECK_GOTO(method->create(&tc, &obj));
    t.method = method;
    t.tc = &tc;
    t.obj = obj;
    const l2h_loop_params lp = loop_params(&t);
    t.t0 = t.t_epoch = now_s();
    if (p->epochs > 0) /* 0: the initialised, untrained network (e.g. the "before" of a plot) */
        L2H_CHECK_GOTO(l2h_train_run(t.nn, obj, p->shift ? t.xraw : t.xp, t.n_tr, &sup, &lp, NULL));
    if (method->before_infer) L2H_CHECK_GOTO(method->before_infer(&tc, obj));
    st = make_model(out, &t, method, &tc, obj);
done:
    if (st != L2H_OK) {
        l2h_model_free(*out);
        *out = NULL;
    }
    l2h_objective_free(obj);
    trainer_free(&t);
    return st;
}

l2h_status l2h_mi_quality_codes(const uint8_t *codes, size_t n, size_t bits,
                                const l2h_dataset *labelled, double *q, double *hist)
{
    L2H_FAIL_IF(codes == NULL || labelled == NULL || q == NULL, L2H_ERR_ARG,
                "l2h_mi_quality_codes: NULL argument");
    L2H_FAIL_IF(l2h_dataset_n(labelled) != n, L2H_ERR_ARG,
                "l2h_mi_quality_codes: %zu codes, %zu labelled rows", n, l2h_dataset_n(labelled));
    L2H_FAIL_IF(bits == 0 || bits > L2H_MAX_BITS, L2H_ERR_ARG,
                "l2h_mi_quality_codes: bits %zu outside 1..%d", bits, L2H_MAX_BITS);
    l2h_supervision s = {.n = n};
    switch (l2h_dataset_label_kind(labelled)) {
    case L2H_LABELS_SINGLE:
        s.kind = L2H_SUP_LABELS;
        s.labels = l2h_dataset_labels(labelled);
        break;
    case L2H_LABELS_MULTI:
        s.kind = L2H_SUP_MULTILABELS;
        s.multilabels = l2h_dataset_multilabels(labelled);
        s.n_labels = l2h_dataset_n_labels(labelled);
        break;
    default:
        L2H_FAIL(L2H_ERR_ARG, "l2h_mi_quality_codes: the rows have no labels");
    }
    const l2h_mi_quality_params mp = l2h_mi_quality_default_params();
    L2H_TRY(l2h_mi_quality(codes, n, bits, &s, &mp, q, NULL));
    if (!hist) return L2H_OK;
    memset(hist, 0, 2 * (bits + 1) * sizeof *hist);
    const size_t bytes = l2h_code_bytes(bits);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            if (i == j) continue;
            const uint32_t d = l2h_hamming(codes + i * bytes, codes + j * bytes, bits);
            hist[(l2h_sup_similar(&s, i, j) ? 0 : bits + 1) + d] += 1.0;
        }
    return L2H_OK;
}

/* ---- l2h_train's setup and model for the step-level trainer (train_prep.h, train_step.c) ----
 * The same calls in the same order as l2h_train above (test_train_step checks that a stepped
 * run gives l2h_train's model bit for bit). */
#include "train_prep.h"

struct train_prep_priv {
    l2h_train_params p;               /* copy; p.method is the method's static name          */
    const l2h_train_method *method;
    void *opts;                       /* copy of the method's own options                    */
    trainer t;                        /* t.nn is borrowed from pr->nn                        */
    l2h_supervision sup;
    l2h_trainer tc;
};

void l2h_train_prep_free(l2h_train_prep *pr)
{
    if (!pr) return;
    train_prep_priv *v = pr->priv;
    l2h_objective_free(pr->obj);
    if (v) {
        v->t.nn = NULL; /* pr's */
        trainer_free(&v->t);
        l2h_free(v->opts);
        l2h_free(v);
    }
    l2h_nn_free(pr->nn);
    memset(pr, 0, sizeof *pr);
}

/* The same phases as l2h_train_sgd, in the same order, stopping before the loop. */
l2h_status l2h_train_prepare(l2h_train_prep *pr, const l2h_dataset *train,
                             const l2h_train_params *p, const l2h_train_method *method,
                             const void *opts)
{
    L2H_FAIL_IF(pr == NULL || train == NULL || p == NULL || method == NULL, L2H_ERR_ARG,
                "l2h_train: NULL argument");
    memset(pr, 0, sizeof *pr);
    L2H_FAIL_IF(method->create == NULL, L2H_ERR_ARG,
                "l2h_train: method %s is fitted in closed form, it has no training steps",
                method->info.name);
    L2H_TRY(check_data(p, train));
    train_prep_priv *v = l2h_calloc(1, sizeof *v);
    L2H_NOMEM_IF_NULL(v);
    pr->priv = v;
    l2h_status st = L2H_OK;
    v->p = *p;
    v->p.method = method->info.name;
    v->method = method;
    v->opts = l2h_calloc(1, method->opts_size ? method->opts_size : 1);
    if (!v->opts) L2H_FAIL_GOTO(L2H_ERR_NOMEM, "out of memory in %s", __func__);
    if (method->opts_size) memcpy(v->opts, opts, method->opts_size);
    trainer *t = &v->t;
    t->p = &v->p;
    t->dim = l2h_dataset_dim(train);
    L2H_CHECK_GOTO(prepare_rows(t, train));
    v->sup = supervision_of(t->dtr, t->n_tr);
    L2H_CHECK_GOTO(build_nn(&pr->nn, &v->p, t->dim));
    t->nn = pr->nn; /* borrowed by validate(); pr owns it */
    v->tc = (l2h_trainer){.p = &v->p,
                          .opts = v->opts,
                          .nn = pr->nn,
                          .dim = t->dim,
                          .n_tr = t->n_tr,
                          .n_val = t->n_val,
                          .xp = t->xp,
                          .sup = &v->sup,
                          .n_labels = n_labels(t->dtr)};
    L2H_CHECK_GOTO(method->create(&v->tc, &pr->obj));
    t->method = method;
    t->tc = &v->tc;
    t->obj = pr->obj;
    pr->lp = loop_params(t);
    pr->x = v->p.shift ? t->xraw : t->xp;
    pr->n = t->n_tr;
    pr->sup = &v->sup;
    t->t0 = t->t_epoch = now_s();
done:
    if (st != L2H_OK) l2h_train_prep_free(pr);
    return st;
}

l2h_status l2h_train_prep_model(const l2h_train_prep *pr, l2h_model **out)
{
    L2H_FAIL_IF(pr == NULL || pr->priv == NULL || out == NULL, L2H_ERR_ARG,
                "l2h_train: NULL argument");
    *out = NULL;
    const train_prep_priv *v = pr->priv;
    size_t c, h, w, ns;
    l2h_nn_in_shape(pr->nn, &c, &h, &w);
    const l2h_layer_spec *specs = l2h_nn_specs(pr->nn, &ns);
    if (v->method->before_infer) /* changes no later training step (train_methods.h) */
        L2H_TRY(v->method->before_infer(&v->tc, pr->obj));
    trainer tt = v->t;
    tt.nn = NULL;
    L2H_TRY(l2h_nn_create(&tt.nn, l2h_nn_arch(pr->nn), c, h, w, specs, ns, 0));
    memcpy(l2h_nn_params(tt.nn), l2h_nn_params_const(pr->nn),
           l2h_nn_n_params(pr->nn) * sizeof(float));
    const l2h_status st = make_model(out, &tt, v->method, &v->tc, pr->obj); /* takes tt.nn */
    if (st != L2H_OK) {
        l2h_model_free(*out);
        *out = NULL;
    }
    return st;
}
