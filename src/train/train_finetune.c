/* train_finetune.c -- l2h_train_finetune (l2h/finetune.h): a learned method trains MobileNet's
 * last depthwise-separable block with the hash layer from cached block inputs (issue 17).
 *
 * The same pieces as l2h_train (train_api.c): the method's objective (train_methods.h), the
 * mini-batch loop (train_loop.h), a validation split of the training rows and per-epoch
 * progress; only the network differs: the block (dwconv, relu6, 1x1 conv, relu6, global
 * avgpool; src/nn) starts from the given float weights, with the input scale folded into the
 * depthwise weights, and the hash layer from He initialisation. No preprocessing: the model
 * reads the cached bytes as they are. This file is the whole fine-tuning entry point of
 * src/train (it touches no other file of the module). */
#include "l2h/finetune.h"

#include "l2h/codes.h"
#include "l2h/eval.h"
#include "model_internal.h"
#include "train_loop.h"
#include "train_methods.h"

#include <math.h>
#include <string.h>
#include <time.h>

#define FT_VAL_SALT 0xf17e7a11da7eull

static const l2h_train_method *const ft_methods[] = {&l2h_train_mihash, &l2h_train_hashnet,
                                                     &l2h_train_jmlh};

static double ft_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static l2h_status ft_check(const l2h_train_params *p, const l2h_dataset *ds,
                           const l2h_finetune_block *b, const l2h_train_method **m,
                           const void *opts)
{
    L2H_FAIL_IF(p == NULL || ds == NULL || b == NULL, L2H_ERR_ARG,
                "l2h_train_finetune: NULL argument");
    *m = NULL;
    for (size_t i = 0; p->method && i < sizeof ft_methods / sizeof ft_methods[0]; i++)
        if (!strcmp(ft_methods[i]->info.name, p->method)) *m = ft_methods[i];
    L2H_FAIL_IF(*m == NULL, L2H_ERR_ARG,
                "l2h_train_finetune: unknown method '%s' (mihash, hashnet, jmlh)",
                p->method ? p->method : "(null)");
    L2H_FAIL_IF(!b->dw_weight || !b->dw_bias || !b->pw_weight || !b->pw_bias, L2H_ERR_ARG,
                "l2h_train_finetune: the block's weights are missing");
    L2H_FAIL_IF(b->channels == 0 || b->height == 0 || b->width == 0 || b->kernel == 0 ||
                    b->out_channels == 0 || b->channels > 65536 || b->out_channels > 65536 ||
                    b->height > 4096 || b->width > 4096 || b->kernel > 64 || b->pad > 64,
                L2H_ERR_ARG, "l2h_train_finetune: block shape %zux%zux%zu, kernel %zu, out %zu",
                b->channels, b->height, b->width, b->kernel, b->out_channels);
    L2H_FAIL_IF(l2h_dataset_dim(ds) != b->channels * b->height * b->width, L2H_ERR_ARG,
                "l2h_train_finetune: rows have %zu values, the block takes %zu x %zu x %zu",
                l2h_dataset_dim(ds), b->channels, b->height, b->width);
    L2H_FAIL_IF(!(b->in_scale > 0) || !isfinite(b->in_scale) || !(b->block_lr_mult >= 0) ||
                    !isfinite(b->block_lr_mult),
                L2H_ERR_ARG, "l2h_train_finetune: input scale %g / block rate multiplier %g",
                b->in_scale, b->block_lr_mult);
    L2H_FAIL_IF(p->bits == 0 || p->bits > L2H_MAX_BITS, L2H_ERR_ARG,
                "l2h_train_finetune: bits %zu outside 1..%d", p->bits, L2H_MAX_BITS);
    L2H_FAIL_IF(p->batch < 2, L2H_ERR_ARG, "l2h_train_finetune: need batch >= 2");
    L2H_FAIL_IF(!(p->lr > 0) || !isfinite(p->lr) || !(p->last_lr_mult >= 0) ||
                    !isfinite(p->last_lr_mult),
                L2H_ERR_ARG, "l2h_train_finetune: learning rate %g / last-layer multiplier %g",
                p->lr, p->last_lr_mult);
    L2H_FAIL_IF(!(p->val_fraction >= 0 && p->val_fraction < 1), L2H_ERR_ARG,
                "l2h_train_finetune: validation fraction %g outside [0, 1)", p->val_fraction);
    L2H_FAIL_IF(p->shift || p->batch_norm || p->out_bn || p->dropout > 0, L2H_ERR_ARG,
                "l2h_train_finetune: shift, batch norm and dropout do not apply");
    const l2h_label_kind lk = l2h_dataset_label_kind(ds);
    L2H_FAIL_IF(lk != L2H_LABELS_SINGLE && lk != L2H_LABELS_MULTI, L2H_ERR_ARG,
                "l2h_train_finetune: %s needs labelled training rows", p->method);
    return (*m)->check ? (*m)->check(p, opts) : L2H_OK;
}

/* The network, the block's weights copied in (input scale folded into the depthwise weights),
 * per-tensor rate multipliers. */
static l2h_status ft_build(l2h_nn **out, const l2h_train_params *p, const l2h_finetune_block *b)
{
    const l2h_layer_spec specs[] = {
        {.kind = L2H_LAYER_DWCONV, .kh = b->kernel, .kw = b->kernel, .stride = b->stride,
         .pad = b->pad},
        {.kind = L2H_LAYER_RELU6},
        {.kind = L2H_LAYER_CONV2D, .out = b->out_channels, .kh = 1, .kw = 1, .stride = 1},
        {.kind = L2H_LAYER_RELU6},
        {.kind = L2H_LAYER_AVGPOOL},
        {.kind = L2H_LAYER_FLATTEN},
        {.kind = L2H_LAYER_LINEAR, .out = p->bits},
    };
    L2H_TRY(l2h_nn_create(out, "cnn", b->channels, b->height, b->width, specs,
                          sizeof specs / sizeof specs[0], p->batch));
    l2h_nn *nn = *out;
    l2h_status st = l2h_nn_init(nn, L2H_INIT_HE, 0.0f, p->seed);
    size_t nt;
    const l2h_nn_tensor *t = l2h_nn_tensors(nn, &nt);
    if (st == L2H_OK && nt != 6)
        st = l2h_set_error(L2H_ERR_STATE, "l2h_train_finetune: %zu tensors, expected 6", nt);
    if (st == L2H_OK) {
        float *w = l2h_nn_params(nn);
        const float s = (float)b->in_scale;
        for (size_t i = 0; i < t[0].count; i++) w[t[0].offset + i] = b->dw_weight[i] * s;
        memcpy(w + t[1].offset, b->dw_bias, t[1].count * sizeof *w);
        memcpy(w + t[2].offset, b->pw_weight, t[2].count * sizeof *w);
        memcpy(w + t[3].offset, b->pw_bias, t[3].count * sizeof *w);
        for (size_t k = 0; st == L2H_OK && k < nt; k++)
            st = l2h_nn_set_mult(nn, k, (float)(k < 4 ? b->block_lr_mult : p->last_lr_mult),
                                 t[k].decay_mult);
    }
    if (st != L2H_OK) {
        l2h_nn_free(nn);
        *out = NULL;
    }
    return st;
}

/* Data-dependent start of the hash layer: each output standardised over (up to) the first
 * INIT_ROWS training rows, z_k <- (z_k - mean_k) / std_k, by scaling its weights and setting
 * its bias. The cached activations are all non-negative with a large common mean, so a plain
 * He start gives every row nearly the same signs (and saturates HashNet's tanh); this plays the
 * part of l2h_train's centring and normalisation of the features, inside the network. */
#define INIT_ROWS 1000
static l2h_status ft_standardise(l2h_nn *nn, const float *x, size_t n, size_t bits)
{
    if (n > INIT_ROWS) n = INIT_ROWS;
    float *z = l2h_malloc_array(n, bits * sizeof *z);
    L2H_NOMEM_IF_NULL(z);
    const l2h_status st = l2h_nn_infer(nn, x, n, z);
    size_t nt;
    const l2h_nn_tensor *t = l2h_nn_tensors(nn, &nt);
    float *w = l2h_nn_params(nn) + t[nt - 2].offset, *b = l2h_nn_params(nn) + t[nt - 1].offset;
    const size_t in = t[nt - 2].shape[1];
    for (size_t k = 0; st == L2H_OK && k < bits; k++) {
        double m = 0, v = 0;
        for (size_t i = 0; i < n; i++) m += (double)z[i * bits + k];
        m /= (double)n;
        for (size_t i = 0; i < n; i++) {
            const double e = (double)z[i * bits + k] - m;
            v += e * e;
        }
        const double sd = sqrt(v / (double)n);
        const double s = sd > 1e-12 ? 1.0 / sd : 1.0;
        for (size_t j = 0; j < in; j++) w[k * in + j] = (float)((double)w[k * in + j] * s);
        b[k] = (float)(((double)b[k] - m) * s);
    }
    l2h_free(z);
    return st;
}

typedef struct ft_state {
    const l2h_train_params *p;
    l2h_nn *nn;
    const float *xtr, *xval;
    size_t n_tr, n_val;
    l2h_groundtruth *gt;
    double t0, t_epoch;
} ft_state;

static l2h_status ft_validate(ft_state *t, double *map, double *map_tie)
{
    const size_t bits = t->p->bits, bytes = l2h_code_bytes(bits);
    const size_t nz = t->n_tr > t->n_val ? t->n_tr : t->n_val;
    float *z = l2h_malloc_array(nz, bits * sizeof *z);
    uint8_t *cq = l2h_malloc_array(t->n_val, bytes), *cd = l2h_malloc_array(t->n_tr, bytes);
    l2h_status st = L2H_OK;
    if (!z || !cq || !cd) L2H_FAIL_GOTO(L2H_ERR_NOMEM, "out of memory in %s", __func__);
    L2H_CHECK_GOTO(l2h_nn_infer(t->nn, t->xval, t->n_val, z));
    L2H_CHECK_GOTO(l2h_codes_pack(z, t->n_val, bits, cq));
    L2H_CHECK_GOTO(l2h_nn_infer(t->nn, t->xtr, t->n_tr, z));
    L2H_CHECK_GOTO(l2h_codes_pack(z, t->n_tr, bits, cd));
    const l2h_eval_params ep = l2h_eval_default_params();
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

static l2h_status ft_on_epoch(void *user, size_t epoch, float loss, float aux_loss)
{
    ft_state *t = user;
    const double t1 = ft_now();
    l2h_train_progress pr = {.epoch = epoch + 1,
                             .epochs = t->p->epochs,
                             .loss = loss,
                             .loss_aux = aux_loss,
                             .val_map = -1,
                             .val_map_tie = -1};
    pr.examples_per_s = t1 > t->t_epoch ? (double)t->n_tr / (t1 - t->t_epoch) : 0.0;
    const size_t every = t->p->val_every ? t->p->val_every : 1;
    if (t->gt && ((epoch + 1) % every == 0 || epoch + 1 == t->p->epochs))
        L2H_TRY(ft_validate(t, &pr.val_map, &pr.val_map_tie));
    pr.seconds = ft_now() - t->t0;
    if (t->p->callback && t->p->callback(&pr, t->p->user))
        L2H_FAIL(L2H_ERR_STATE, "training cancelled after epoch %zu", epoch + 1);
    t->t_epoch = ft_now();
    return L2H_OK;
}

/* The fine-tuning run with the method's own options `opts` (its registry struct). */
static l2h_status ft_train(l2h_model **out, const l2h_dataset *train, const l2h_train_params *p,
                           const l2h_finetune_block *block, const void *opts)
{
    const l2h_train_method *method = NULL;
    L2H_TRY(ft_check(p, train, block, &method, opts));
    const size_t dim = l2h_dataset_dim(train);
    ft_state t = {.p = p};
    size_t *tr = NULL, *val = NULL;
    l2h_dataset *dtr = NULL, *dval = NULL;
    l2h_objective *obj = NULL;
    float *xtr = NULL, *xval = NULL; /* copies (only with a validation part) */
    L2H_TRY(l2h_train_split_rows(p, l2h_dataset_n(train), FT_VAL_SALT, &tr, &t.n_tr, &val,
                                 &t.n_val));
    l2h_status st = L2H_OK;
    /* without a validation part the training rows are all rows, in order: used in place */
    if (t.n_val) L2H_CHECK_GOTO(l2h_train_gather_rows(train, tr, t.n_tr, &xtr));
    L2H_CHECK_GOTO(l2h_dataset_subset(&dtr, train, tr, t.n_tr));
    const float *xt = t.n_val ? xtr : l2h_dataset_features(train);
    for (size_t i = 0; !t.n_val && i < t.n_tr * dim; i++)
        if (!isfinite(xt[i]))
            L2H_FAIL_GOTO(L2H_ERR_NUMERIC, "l2h_train_finetune: non-finite value in row %zu",
                          i / dim);
    if (t.n_val) {
        L2H_CHECK_GOTO(l2h_train_gather_rows(train, val, t.n_val, &xval));
        L2H_CHECK_GOTO(l2h_dataset_subset(&dval, train, val, t.n_val));
        L2H_CHECK_GOTO(l2h_groundtruth_from_labels(&t.gt, dval, dtr));
    }
    l2h_supervision sup = {.n = t.n_tr};
    size_t n_labels = 0;
    if (l2h_dataset_label_kind(dtr) == L2H_LABELS_SINGLE) {
        sup.kind = L2H_SUP_LABELS;
        sup.labels = l2h_dataset_labels(dtr);
        for (size_t i = 0; i < t.n_tr; i++)
            if (sup.labels[i] >= 0 && (size_t)sup.labels[i] + 1 > n_labels)
                n_labels = (size_t)sup.labels[i] + 1;
    } else {
        sup.kind = L2H_SUP_MULTILABELS;
        sup.multilabels = l2h_dataset_multilabels(dtr);
        sup.n_labels = n_labels = l2h_dataset_n_labels(dtr);
    }
    L2H_CHECK_GOTO(ft_build(&t.nn, p, block));
    L2H_CHECK_GOTO(ft_standardise(t.nn, xt, t.n_tr, p->bits));
    t.xtr = xt;
    t.xval = xval;
    const l2h_trainer tc = {.p = p,
                            .opts = opts,
                            .nn = t.nn,
                            .dim = dim,
                            .n_tr = t.n_tr,
                            .n_val = t.n_val,
                            .xp = xt,
                            .sup = &sup,
                            .n_labels = n_labels};
    L2H_CHECK_GOTO(method->create(&tc, &obj));
    l2h_loop_params lp = l2h_train_loop_settings(p);
    lp.on_epoch = ft_on_epoch;
    lp.user = &t;
    t.t0 = t.t_epoch = ft_now();
    if (p->epochs > 0) L2H_CHECK_GOTO(l2h_train_run(t.nn, obj, xt, t.n_tr, &sup, &lp, NULL));
    if (method->before_infer) /* e.g. MIHash's centred bias, as l2h_train does */
        L2H_CHECK_GOTO(method->before_infer(&tc, obj));
    l2h_net *net;
    st = l2h_net_from_nn(&net, t.nn);
    t.nn = NULL; /* taken */
    if (st != L2H_OK) goto done;
    L2H_CHECK_GOTO(l2h_model_create(out, method->info.name, net, NULL, 0));
    L2H_CHECK_GOTO(l2h_model_set_meta(*out, "finetune", "last depthwise-separable block"));
    L2H_CHECK_GOTO(l2h_train_set_meta_num(*out, "finetune_block_lr_mult", block->block_lr_mult));
    L2H_CHECK_GOTO(l2h_train_set_meta_num(*out, "seed", (double)p->seed));
    L2H_CHECK_GOTO(l2h_train_set_meta_num(*out, "epochs", (double)p->epochs));
    L2H_CHECK_GOTO(l2h_train_set_meta_num(*out, "train_rows", (double)t.n_tr));
    if (method->finish) L2H_CHECK_GOTO(method->finish(&tc, obj, *out));
done:
    if (st != L2H_OK) {
        l2h_model_free(*out);
        *out = NULL;
    }
    l2h_nn_free(t.nn);
    l2h_objective_free(obj);
    l2h_groundtruth_free(t.gt);
    l2h_dataset_free(dtr);
    l2h_dataset_free(dval);
    l2h_free(xtr);
    l2h_free(xval);
    l2h_free(tr);
    l2h_free(val);
    return st;
}

l2h_status l2h_train_finetune(l2h_model **out, const l2h_dataset *train,
                              const l2h_train_params *p, const l2h_finetune_block *block)
{
    L2H_FAIL_IF(out == NULL, L2H_ERR_ARG, "l2h_train_finetune: NULL output");
    *out = NULL;
    L2H_FAIL_IF(p == NULL, L2H_ERR_ARG, "l2h_train_finetune: NULL argument");
    l2h_train_ctx *c;
    L2H_TRY(l2h_train_create(&c, p)); /* the method's own options at their defaults */
    const l2h_train_params *cp;
    const l2h_train_method *m;
    const void *opts;
    l2h_train_ctx_parts(c, &cp, &m, &opts);
    const l2h_status st = ft_train(out, train, p, block, opts);
    l2h_train_free(c);
    return st;
}
