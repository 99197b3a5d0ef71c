/* train_loop.c -- the mini-batch loop of train.h: seeded shuffling, gathering, forward, loss,
 * backward, NaN/Inf checks naming the place, one optimiser step per batch. */
#include "train_loop.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

l2h_loop_params l2h_loop_default_params(void)
{
    l2h_loop_params p;
    memset(&p, 0, sizeof p);
    p.epochs = 100;
    p.batch = 100;
    p.seed = 1;
    p.optim = l2h_optim_default_params(L2H_OPTIM_SGD);
    p.optim.weight_decay = 5e-4f;
    p.lr = (l2h_lr_schedule){.kind = L2H_LR_STEP, .lr0 = 0.1f, .gamma = 0.5f, .step = 10};
    p.lr_unit = L2H_LR_PER_EPOCH;
    return p;
}

l2h_status l2h_loop_params_check(const l2h_loop_params *p)
{
    L2H_FAIL_IF(p == NULL, L2H_ERR_ARG, "train: NULL parameters");
    L2H_FAIL_IF(p->epochs == 0, L2H_ERR_ARG, "train: epochs must be >= 1");
    L2H_FAIL_IF(p->batch < 2, L2H_ERR_ARG, "train: batch %zu, need at least 2 items", p->batch);
    L2H_FAIL_IF(p->lr_unit != L2H_LR_PER_EPOCH && p->lr_unit != L2H_LR_PER_STEP, L2H_ERR_ARG,
                "train: unknown learning-rate unit %d", (int)p->lr_unit);
    L2H_TRY(l2h_optim_params_check(&p->optim));
    return l2h_lr_schedule_check(&p->lr);
}

/* Index of the first non-finite value in v[n], or n. Blocks of 1024 are screened with an
 * integer test of the exponent bits that vectorises (an early-exit loop does not); only a
 * block that holds an Inf/NaN is searched element by element. */
size_t l2h_train_first_nonfinite(const float *v, size_t n)
{
    for (size_t b = 0; b < n; b += 1024) {
        const size_t e = n - b < 1024 ? n : b + 1024;
        uint32_t bad = 0;
        for (size_t i = b; i < e; i++) {
            uint32_t u;
            memcpy(&u, &v[i], sizeof u);
            bad |= (uint32_t)((u & 0x7f800000u) == 0x7f800000u);
        }
        if (bad)
            for (size_t i = b; i < e; i++)
                if (!isfinite(v[i])) return i;
    }
    return n;
}

l2h_status l2h_train_check_arena(const l2h_nn *net, const float *arena, const char *what,
                                 size_t epoch, size_t batch)
{
    size_t nt;
    const l2h_nn_tensor *t = l2h_nn_tensors(net, &nt);
    for (size_t k = 0; k < nt; k++) {
        const size_t i = l2h_train_first_nonfinite(arena + t[k].offset, t[k].count);
        L2H_FAIL_IF(i < t[k].count, L2H_ERR_NUMERIC,
                    "epoch %zu, batch %zu: non-finite %s in tensor '%s' (element %zu: %g)", epoch,
                    batch, what, t[k].name, i, (double)arena[t[k].offset + i]);
    }
    return L2H_OK;
}

typedef struct train_buf {
    size_t *perm;         /* [n]                    */
    float *xb;            /* [batch, in_dim]        */
    float *z, *dz;        /* [batch, out_dim]       */
    float *state;         /* optimiser state        */
    float *ostate;        /* optimiser state of the objective's own parameters */
    void *sup;            /* gathered supervision   */
    l2h_param_range *rng; /* one range per tensor   */
} train_buf;

static void buf_free(train_buf *b)
{
    l2h_free(b->perm);
    l2h_free(b->xb);
    l2h_free(b->z);
    l2h_free(b->dz);
    l2h_free(b->state);
    l2h_free(b->ostate);
    l2h_free(b->sup);
    l2h_free(b->rng);
}

static l2h_status buf_alloc(train_buf *b, const l2h_nn *net, const l2h_objective *obj, size_t n,
                            const l2h_supervision *s, const l2h_loop_params *p, size_t *n_ranges)
{
    const size_t din = l2h_nn_in_dim(net), dout = l2h_nn_out_dim(net);
    size_t nt;
    const l2h_nn_tensor *t = l2h_nn_tensors(net, &nt);
    const size_t ns = l2h_optim_state_floats(p->optim.kind, l2h_nn_n_params(net));
    b->perm = l2h_malloc_array(n, sizeof *b->perm);
    b->xb = l2h_malloc_array(p->batch, din * sizeof *b->xb);
    b->z = l2h_malloc_array(p->batch, dout * sizeof *b->z);
    b->dz = l2h_malloc_array(p->batch, dout * sizeof *b->dz);
    b->state = l2h_calloc(ns ? ns : 1, sizeof *b->state);
    const size_t nos = l2h_optim_state_floats(p->optim.kind, obj->n_params);
    b->ostate = l2h_calloc(nos ? nos : 1, sizeof *b->ostate);
    b->sup = l2h_malloc(l2h_sup_gather_bytes(s, p->batch) + 8);
    b->rng = l2h_malloc_array(nt ? nt : 1, sizeof *b->rng);
    L2H_FAIL_IF(!b->perm || !b->xb || !b->z || !b->dz || !b->state || !b->ostate || !b->sup ||
                    !b->rng,
                L2H_ERR_NOMEM, "train: out of memory for batch buffers");
    for (size_t k = 0; k < nt; k++)
        b->rng[k] = (l2h_param_range){t[k].offset, t[k].count, t[k].lr_mult, t[k].decay_mult};
    *n_ranges = nt;
    for (size_t i = 0; i < n; i++)
        b->perm[i] = i;
    return L2H_OK;
}

/* One mini-batch: rows idx[0..m) of x. */
static l2h_status train_step(l2h_nn *net, l2h_objective *obj, const float *x,
                             const l2h_supervision *s, const size_t *idx, size_t m,
                             const l2h_loop_params *p, train_buf *b, size_t n_ranges, size_t step,
                             float lr, size_t epoch, size_t batch, float *loss)
{
    const size_t din = l2h_nn_in_dim(net);
    for (size_t i = 0; i < m; i++)
        memcpy(b->xb + i * din, x + idx[i] * din, din * sizeof *b->xb);
    l2h_supervision sb;
    if (p->augment) L2H_TRY(p->augment(p->user, b->xb, m, step));
    L2H_TRY(l2h_sup_gather(s, idx, m, b->sup, &sb));
    l2h_nn_zero_grads(net);
    L2H_TRY(l2h_objective_begin_step(obj, step, epoch, p->epochs));
    L2H_TRY(l2h_nn_forward(net, b->xb, m, b->z));
    const l2h_status st = l2h_objective_loss_grad(obj, b->z, m, &sb, b->dz, loss);
    if (st != L2H_OK) {
        char why[256];
        snprintf(why, sizeof why, "%s", l2h_last_error());
        return l2h_set_error(st, "epoch %zu, batch %zu: %s", epoch, batch, why);
    }
    L2H_FAIL_IF(!isfinite(*loss), L2H_ERR_NUMERIC, "epoch %zu, batch %zu: loss is %g", epoch, batch,
                (double)*loss);
    L2H_TRY(l2h_nn_backward(net, b->dz, m, NULL));
    L2H_TRY(l2h_train_check_arena(net, l2h_nn_grads(net), "gradient", epoch, batch));
    L2H_TRY(l2h_optim_step(&p->optim, l2h_nn_n_params(net), l2h_nn_params(net), l2h_nn_grads(net),
                           b->state, step, lr, b->rng, n_ranges));
    if (obj->n_params) {
        const size_t i = l2h_train_first_nonfinite(obj->grads, obj->n_params);
        L2H_FAIL_IF(i < obj->n_params, L2H_ERR_NUMERIC,
                    "epoch %zu, batch %zu: non-finite gradient of the %s objective's parameter %zu",
                    epoch, batch, obj->ops->name, i);
        const l2h_param_range all = {0, obj->n_params, 1.0f, 1.0f};
        L2H_TRY(l2h_optim_step(&p->optim, obj->n_params, obj->params, obj->grads, b->ostate, step,
                               lr, &all, 1));
        const size_t k = l2h_train_first_nonfinite(obj->params, obj->n_params);
        L2H_FAIL_IF(k < obj->n_params, L2H_ERR_NUMERIC,
                    "epoch %zu, batch %zu: non-finite %s objective parameter %zu after the step",
                    epoch, batch, obj->ops->name, k);
    }
    return l2h_train_check_arena(net, l2h_nn_params(net), "parameter after the step", epoch, batch);
}

l2h_status l2h_train_run(l2h_nn *net, l2h_objective *obj, const float *x, size_t n,
                         const l2h_supervision *s, const l2h_loop_params *p, float *epoch_loss)
{
    L2H_FAIL_IF(net == NULL || obj == NULL || x == NULL, L2H_ERR_ARG, "train: NULL argument");
    L2H_TRY(l2h_loop_params_check(p));
    L2H_TRY(l2h_sup_check(s, n));
    L2H_FAIL_IF(n < 2, L2H_ERR_ARG, "train: %zu items, need at least 2", n);
    L2H_FAIL_IF(obj->bits != l2h_nn_out_dim(net), L2H_ERR_ARG,
                "train: objective for %zu bits on a network with %zu outputs", obj->bits,
                l2h_nn_out_dim(net));
    L2H_FAIL_IF(p->batch > l2h_nn_max_batch(net), L2H_ERR_ARG,
                "train: batch %zu larger than the network's max_batch %zu", p->batch,
                l2h_nn_max_batch(net));
    train_buf b = {0};
    size_t n_ranges = 0;
    l2h_status st = buf_alloc(&b, net, obj, n, s, p, &n_ranges);
    if (st != L2H_OK) {
        buf_free(&b);
        return st;
    }
    l2h_rng rng;
    l2h_rng_seed(&rng, p->seed);
    size_t step = 0;
    for (size_t e = 0; e < p->epochs && st == L2H_OK; e++) {
        l2h_rng_shuffle(&rng, b.perm, n);
        double sum = 0.0, aux = 0.0;
        size_t batches = 0;
        for (size_t b0 = 0; b0 < n && st == L2H_OK; b0 += p->batch) {
            const size_t m = n - b0 < p->batch ? n - b0 : p->batch;
            if (m < 2) continue;
            const float lr = l2h_lr_at(&p->lr, p->lr_unit == L2H_LR_PER_EPOCH ? e : step);
            float loss = 0.0f;
            st = train_step(net, obj, x, s, b.perm + b0, m, p, &b, n_ranges, ++step, lr, e, batches,
                            &loss);
            sum += (double)loss;
            aux += (double)obj->aux_loss; /* NAN stays NAN: the objective has none */
            batches++;
        }
        const float el = batches ? (float)(sum / (double)batches) : 0.0f;
        const float ea = batches ? (float)(aux / (double)batches) : NAN;
        if (epoch_loss) epoch_loss[e] = el;
        if (st == L2H_OK && p->on_epoch) st = p->on_epoch(p->user, e, el, ea);
    }
    buf_free(&b);
    return st;
}
