/* train_step.c -- l2h/train_step.h: l2h_train's mini-batch loop (train_loop.c) one step at a time
 * with the outputs, output gradients and parameter gradients exposed, and checkpoints of the
 * whole loop state. The setup and the model come from l2h_train's own code (train_prep.h); the
 * step follows train_loop.c call for call (test_train_step checks the bit-for-bit equality). */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "l2h/train_step.h"

#include "train_prep.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef enum phase { PH_IDLE = 0, PH_BATCH, PH_FWD, PH_BWD } phase;

struct l2h_train_session {
    l2h_train_prep pr;
    size_t din, bits, epochs, batch;
    int has_bn, has_dropout, jmlh_random;
    /* loop state (train_loop.c's locals) */
    l2h_rng rng;
    size_t *perm;
    size_t step, epoch, pos, batches; /* steps done; epoch index; batch start; batches this epoch */
    int shuffled;                     /* perm drawn for this epoch */
    double sum, aux;                  /* of this epoch's batch losses */
    /* the current step */
    phase ph;
    size_t m, fwd_count;
    int obj_done;
    float loss;
    float *xb;                  /* [batch, din]  */
    void *supbuf;
    l2h_supervision sb;
    float *state, *ostate;      /* optimiser states of the network / objective parameters */
    size_t n_state, n_ostate;
    l2h_param_range *rng_ranges;
    size_t n_ranges;
};

l2h_status l2h_train_session_create(l2h_train_session **out, const l2h_dataset *train,
                                    const l2h_train_params *p)
{
    L2H_FAIL_IF(out == NULL, L2H_ERR_ARG, "l2h_train_session_create: NULL output");
    *out = NULL;
    L2H_FAIL_IF(p == NULL, L2H_ERR_ARG, "l2h_train_session_create: NULL parameters");
    l2h_train_ctx *c;
    L2H_TRY(l2h_train_create(&c, p));
    const l2h_status st = l2h_train_session_create_ctx(out, train, c);
    l2h_train_free(c);
    return st;
}

/* JMLH with random thresholds draws from a stream inside its objective (not checkpointed). */
static int jmlh_random(const l2h_train_ctx *c, const l2h_train_method *m)
{
    char det[16], variant[32];
    if (strcmp(m->info.name, "jmlh")) return 0;
    if (l2h_train_get_option(c, "deterministic", det, sizeof det) != L2H_OK ||
        l2h_train_get_option(c, "variant", variant, sizeof variant) != L2H_OK)
        return 1; /* unknown: treated as random (saving refuses) */
    return strcmp(det, "1") && strcmp(variant, "cont");
}

l2h_status l2h_train_session_create_ctx(l2h_train_session **out, const l2h_dataset *train,
                                        const l2h_train_ctx *c)
{
    L2H_FAIL_IF(out == NULL || c == NULL, L2H_ERR_ARG, "l2h_train_session_create: NULL argument");
    *out = NULL;
    L2H_TRY(l2h_train_check(c));
    const l2h_train_params *p;
    const l2h_train_method *m;
    const void *opts;
    l2h_train_ctx_parts(c, &p, &m, &opts);
    l2h_train_session *s = l2h_calloc(1, sizeof *s);
    L2H_NOMEM_IF_NULL(s);
    l2h_status st = l2h_train_prepare(&s->pr, train, p, m, opts);
    if (st != L2H_OK) {
        l2h_free(s);
        return st;
    }
    const l2h_train_prep *pr = &s->pr;
    s->din = l2h_nn_in_dim(pr->nn);
    s->bits = l2h_nn_out_dim(pr->nn);
    s->epochs = p->epochs;
    s->batch = p->batch;
    size_t nspec;
    const l2h_layer_spec *spec = l2h_nn_specs(pr->nn, &nspec);
    for (size_t i = 0; i < nspec; i++) {
        s->has_bn |= spec[i].kind == L2H_LAYER_BATCHNORM;
        s->has_dropout |= spec[i].kind == L2H_LAYER_DROPOUT;
    }
    s->jmlh_random = jmlh_random(c, m);
    size_t nt;
    const l2h_nn_tensor *t = l2h_nn_tensors(pr->nn, &nt);
    s->n_state = l2h_optim_state_floats(pr->lp.optim.kind, l2h_nn_n_params(pr->nn));
    s->n_ostate = l2h_optim_state_floats(pr->lp.optim.kind, pr->obj->n_params);
    s->perm = l2h_malloc_array(pr->n, sizeof *s->perm);
    s->xb = l2h_malloc_array(s->batch, s->din * sizeof *s->xb);
    s->supbuf = l2h_malloc(l2h_sup_gather_bytes(pr->sup, s->batch) + 8);
    s->state = l2h_calloc(s->n_state ? s->n_state : 1, sizeof *s->state);
    s->ostate = l2h_calloc(s->n_ostate ? s->n_ostate : 1, sizeof *s->ostate);
    s->rng_ranges = l2h_malloc_array(nt ? nt : 1, sizeof *s->rng_ranges);
    if (!s->perm || !s->xb || !s->supbuf || !s->state || !s->ostate || !s->rng_ranges) {
        l2h_train_session_free(s);
        L2H_FAIL(L2H_ERR_NOMEM, "l2h_train_session_create: out of memory for batch buffers");
    }
    for (size_t k = 0; k < nt; k++)
        s->rng_ranges[k] = (l2h_param_range){t[k].offset, t[k].count, t[k].lr_mult, t[k].decay_mult};
    s->n_ranges = nt;
    for (size_t i = 0; i < pr->n; i++)
        s->perm[i] = i;
    l2h_rng_seed(&s->rng, pr->lp.seed);
    *out = s;
    return L2H_OK;
}

void l2h_train_session_free(l2h_train_session *s)
{
    if (!s) return;
    l2h_train_prep_free(&s->pr);
    l2h_free(s->perm);
    l2h_free(s->xb);
    l2h_free(s->supbuf);
    l2h_free(s->state);
    l2h_free(s->ostate);
    l2h_free(s->rng_ranges);
    l2h_free(s);
}

size_t l2h_train_session_bits(const l2h_train_session *s) { return s ? s->bits : 0; }
size_t l2h_train_session_n_params(const l2h_train_session *s)
{
    return s ? l2h_nn_n_params(s->pr.nn) : 0;
}
const float *l2h_train_session_params(const l2h_train_session *s)
{
    return s ? l2h_nn_params_const(s->pr.nn) : NULL;
}
float *l2h_train_session_grads(l2h_train_session *s) { return s ? l2h_nn_grads(s->pr.nn) : NULL; }
size_t l2h_train_session_steps(const l2h_train_session *s) { return s ? s->step : 0; }
size_t l2h_train_session_epochs_done(const l2h_train_session *s) { return s ? s->epoch : 0; }

l2h_status l2h_train_session_next(l2h_train_session *s, size_t *m)
{
    L2H_FAIL_IF(s == NULL || m == NULL, L2H_ERR_ARG, "l2h_train_session_next: NULL argument");
    L2H_FAIL_IF(s->ph != PH_IDLE, L2H_ERR_STATE,
                "l2h_train_session_next: the previous step was not updated");
    *m = 0;
    const l2h_train_prep *pr = &s->pr;
    if (s->epoch >= s->epochs) return L2H_OK;
    if (!s->shuffled) {
        l2h_rng_shuffle(&s->rng, s->perm, pr->n);
        s->shuffled = 1;
    }
    const size_t mb = pr->n - s->pos < s->batch ? pr->n - s->pos : s->batch; /* >= 2, see update */
    const size_t *idx = s->perm + s->pos;
    for (size_t i = 0; i < mb; i++)
        memcpy(s->xb + i * s->din, pr->x + idx[i] * s->din, s->din * sizeof *s->xb);
    if (pr->lp.augment) L2H_TRY(pr->lp.augment(pr->lp.user, s->xb, mb, s->step + 1));
    L2H_TRY(l2h_sup_gather(pr->sup, idx, mb, s->supbuf, &s->sb));
    l2h_nn_zero_grads(pr->nn);
    L2H_TRY(l2h_objective_begin_step(pr->obj, s->step + 1, s->epoch, s->epochs));
    s->m = mb;
    s->fwd_count = 0;
    s->obj_done = 0;
    s->ph = PH_BATCH;
    *m = mb;
    return L2H_OK;
}

l2h_status l2h_train_session_forward(l2h_train_session *s, size_t first, size_t count, float *z)
{
    L2H_FAIL_IF(s == NULL || z == NULL, L2H_ERR_ARG, "l2h_train_session_forward: NULL argument");
    L2H_FAIL_IF(s->ph != PH_BATCH, L2H_ERR_STATE,
                "l2h_train_session_forward: one forward per step, after next");
    L2H_FAIL_IF(count == 0 || first > s->m || count > s->m - first, L2H_ERR_ARG,
                "l2h_train_session_forward: items [%zu, %zu) outside the batch of %zu", first,
                first + count, s->m);
    L2H_FAIL_IF((s->has_bn || s->has_dropout) && count != s->m, L2H_ERR_ARG,
                "l2h_train_session_forward: batch normalisation and dropout need the whole "
                "batch (%zu items) in one forward, got %zu",
                s->m, count);
    L2H_TRY(l2h_nn_forward(s->pr.nn, s->xb + first * s->din, count, z));
    s->fwd_count = count;
    s->ph = PH_FWD;
    return L2H_OK;
}

l2h_status l2h_train_session_objective(l2h_train_session *s, const float *z, float *dz,
                                       float *loss)
{
    L2H_FAIL_IF(s == NULL || z == NULL || dz == NULL || loss == NULL, L2H_ERR_ARG,
                "l2h_train_session_objective: NULL argument");
    L2H_FAIL_IF(s->ph == PH_IDLE || s->obj_done, L2H_ERR_STATE,
                "l2h_train_session_objective: once per step, after next");
    const l2h_status st = l2h_objective_loss_grad(s->pr.obj, z, s->m, &s->sb, dz, loss);
    if (st != L2H_OK) {
        char why[256];
        snprintf(why, sizeof why, "%s", l2h_last_error());
        return l2h_set_error(st, "epoch %zu, batch %zu: %s", s->epoch, s->batches, why);
    }
    L2H_FAIL_IF(!isfinite(*loss), L2H_ERR_NUMERIC, "epoch %zu, batch %zu: loss is %g", s->epoch,
                s->batches, (double)*loss);
    s->loss = *loss;
    s->obj_done = 1;
    return L2H_OK;
}

l2h_status l2h_train_session_backward(l2h_train_session *s, const float *dz)
{
    L2H_FAIL_IF(s == NULL || dz == NULL, L2H_ERR_ARG, "l2h_train_session_backward: NULL argument");
    L2H_FAIL_IF(s->ph != PH_FWD, L2H_ERR_STATE,
                "l2h_train_session_backward: one backward per step, after the forward");
    L2H_TRY(l2h_nn_backward(s->pr.nn, dz, s->fwd_count, NULL));
    s->ph = PH_BWD;
    return L2H_OK;
}

l2h_status l2h_train_session_update(l2h_train_session *s)
{
    L2H_FAIL_IF(s == NULL, L2H_ERR_ARG, "l2h_train_session_update: NULL session");
    L2H_FAIL_IF(s->ph == PH_IDLE || !s->obj_done || s->ph == PH_FWD, L2H_ERR_STATE,
                "l2h_train_session_update: after next, objective and (with a forward) backward");
    l2h_train_prep *pr = &s->pr;
    const l2h_loop_params *lp = &pr->lp;
    l2h_nn *net = pr->nn;
    l2h_objective *obj = pr->obj;
    const size_t step = s->step + 1;
    const float lr = l2h_lr_at(&lp->lr, lp->lr_unit == L2H_LR_PER_EPOCH ? s->epoch : s->step);
    L2H_TRY(l2h_train_check_arena(net, l2h_nn_grads(net), "gradient", s->epoch, s->batches));
    L2H_TRY(l2h_optim_step(&lp->optim, l2h_nn_n_params(net), l2h_nn_params(net),
                           l2h_nn_grads(net), s->state, step, lr, s->rng_ranges, s->n_ranges));
    if (obj->n_params) {
        const size_t i = l2h_train_first_nonfinite(obj->grads, obj->n_params);
        L2H_FAIL_IF(i < obj->n_params, L2H_ERR_NUMERIC,
                    "epoch %zu, batch %zu: non-finite gradient of the %s objective's parameter %zu",
                    s->epoch, s->batches, obj->ops->name, i);
        const l2h_param_range all = {0, obj->n_params, 1.0f, 1.0f};
        L2H_TRY(l2h_optim_step(&lp->optim, obj->n_params, obj->params, obj->grads, s->ostate, step,
                               lr, &all, 1));
        const size_t k = l2h_train_first_nonfinite(obj->params, obj->n_params);
        L2H_FAIL_IF(k < obj->n_params, L2H_ERR_NUMERIC,
                    "epoch %zu, batch %zu: non-finite %s objective parameter %zu after the step",
                    s->epoch, s->batches, obj->ops->name, k);
    }
    L2H_TRY(l2h_train_check_arena(net, l2h_nn_params(net), "parameter after the step", s->epoch,
                                  s->batches));
    s->step = step;
    s->sum += (double)s->loss;
    s->aux += (double)obj->aux_loss;
    s->batches++;
    s->pos += s->batch;
    s->ph = PH_IDLE;
    if (s->pos < pr->n && pr->n - s->pos >= 2) return L2H_OK;
    /* the epoch's last batch (a final chunk of one item is skipped, as by the loop) */
    const float el = (float)(s->sum / (double)s->batches);
    const float ea = (float)(s->aux / (double)s->batches);
    const size_t e = s->epoch;
    s->epoch++;
    s->pos = 0;
    s->batches = 0;
    s->shuffled = 0;
    s->sum = s->aux = 0.0;
    return lp->on_epoch ? lp->on_epoch(lp->user, e, el, ea) : L2H_OK;
}

l2h_status l2h_train_session_model(const l2h_train_session *s, l2h_model **out)
{
    L2H_FAIL_IF(s == NULL || out == NULL, L2H_ERR_ARG, "l2h_train_session_model: NULL argument");
    return l2h_train_prep_model(&s->pr, out);
}

/* ---- checkpoints -------------------------------------------------------------------------
 * "L2HTRCK1", then u64 words: byte-order mark, version, the fingerprint of the run (rows,
 * input dim, bits, network / objective parameters, optimiser state sizes, batch, epochs, seed,
 * optimiser kind, hash of the training rows and labels), the loop state (steps, epoch, batch
 * start, batches, shuffled, running sums as f64 bits, the RNG, the permutation), then f32
 * arrays (network parameters, optimiser state, objective parameters, its optimiser state) and
 * a final 64-bit hash of every byte before it. Native byte order (the mark refuses others). */
#define CK_MAGIC "L2HTRCK1"
#define CK_BOM 0x0102030405060708ull
#define CK_VERSION 1u
#define CK_FP 12 /* fingerprint words */

static uint64_t hash_bytes(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* Hash of the training rows the loop reads and of their supervision (same data check). */
static uint64_t data_hash(const l2h_train_session *s)
{
    const l2h_train_prep *pr = &s->pr;
    uint64_t h = hash_bytes(0xcbf29ce484222325ull, pr->x, pr->n * s->din * sizeof(float));
    const l2h_supervision *sup = pr->sup;
    if (sup->kind == L2H_SUP_LABELS) h = hash_bytes(h, sup->labels, sup->n * sizeof *sup->labels);
    else if (sup->kind == L2H_SUP_MULTILABELS)
        h = hash_bytes(h, sup->multilabels, sup->n * sup->n_labels);
    return h;
}

static void fingerprint(const l2h_train_session *s, uint64_t fp[CK_FP])
{
    const l2h_train_prep *pr = &s->pr;
    const uint64_t v[CK_FP] = {pr->n,          s->din,     s->bits,
                               l2h_nn_n_params(pr->nn), pr->obj->n_params, s->n_state,
                               s->n_ostate,    s->batch,   s->epochs,
                               pr->lp.seed,    (uint64_t)pr->lp.optim.kind, data_hash(s)};
    memcpy(fp, v, sizeof v);
}

static size_t ck_size(const l2h_train_session *s)
{
    const l2h_train_prep *pr = &s->pr;
    return 8 + 8 * (2 + CK_FP + 5 + 2 + 6) + 8 * pr->n +
           4 * (l2h_nn_n_params(pr->nn) + s->n_state + pr->obj->n_params + s->n_ostate) + 8;
}

static unsigned char *put(unsigned char *w, const void *v, size_t n)
{
    if (n) memcpy(w, v, n);
    return w + n;
}

static unsigned char *put_u64(unsigned char *w, uint64_t v) { return put(w, &v, 8); }

static unsigned char *put_f64(unsigned char *w, double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    return put_u64(w, u);
}

static l2h_status write_all(const char *path, const unsigned char *buf, size_t n)
{
    const size_t len = strlen(path);
    char *tmp = l2h_malloc(len + 5);
    L2H_NOMEM_IF_NULL(tmp);
    memcpy(tmp, path, len);
    memcpy(tmp + len, ".tmp", 5);
    l2h_status st = L2H_OK;
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        st = l2h_set_error(L2H_ERR_IO, "%s: %s", tmp, strerror(errno));
    } else {
        int bad = fwrite(buf, 1, n, f) != n || fflush(f) != 0 || fsync(fileno(f)) != 0;
        const int err = errno;
        bad |= fclose(f) != 0;
        if (bad) st = l2h_set_error(L2H_ERR_IO, "%s: write failed: %s", tmp, strerror(err));
        else if (rename(tmp, path) != 0)
            st = l2h_set_error(L2H_ERR_IO, "%s: rename from %s: %s", path, tmp, strerror(errno));
        if (st != L2H_OK) remove(tmp);
    }
    l2h_free(tmp);
    return st;
}

l2h_status l2h_train_session_save(const l2h_train_session *s, const char *path)
{
    L2H_FAIL_IF(s == NULL || path == NULL, L2H_ERR_ARG, "l2h_train_session_save: NULL argument");
    L2H_FAIL_IF(s->ph != PH_IDLE, L2H_ERR_STATE,
                "l2h_train_session_save: between steps only (after update)");
    L2H_FAIL_IF(s->jmlh_random || s->has_dropout, L2H_ERR_STATE,
                "l2h_train_session_save: %s keeps a random stream the checkpoint cannot hold "
                "(JMLH: use deterministic thresholds)",
                s->has_dropout ? "dropout" : "JMLH with random thresholds");
    const l2h_train_prep *pr = &s->pr;
    const size_t size = ck_size(s);
    unsigned char *buf = l2h_malloc(size), *w = buf;
    L2H_NOMEM_IF_NULL(buf);
    uint64_t fp[CK_FP];
    fingerprint(s, fp);
    w = put(w, CK_MAGIC, 8);
    w = put_u64(w, CK_BOM);
    w = put_u64(w, CK_VERSION);
    for (size_t i = 0; i < CK_FP; i++)
        w = put_u64(w, fp[i]);
    w = put_u64(w, s->step);
    w = put_u64(w, s->epoch);
    w = put_u64(w, s->pos);
    w = put_u64(w, s->batches);
    w = put_u64(w, (uint64_t)s->shuffled);
    w = put_f64(w, s->sum);
    w = put_f64(w, s->aux);
    for (size_t i = 0; i < 4; i++)
        w = put_u64(w, s->rng.s[i]);
    w = put_f64(w, s->rng.spare);
    w = put_u64(w, (uint64_t)s->rng.has_spare);
    for (size_t i = 0; i < pr->n; i++)
        w = put_u64(w, s->perm[i]);
    w = put(w, l2h_nn_params_const(pr->nn), 4 * l2h_nn_n_params(pr->nn));
    w = put(w, s->state, 4 * s->n_state);
    w = put(w, pr->obj->params, 4 * pr->obj->n_params);
    w = put(w, s->ostate, 4 * s->n_ostate);
    const uint64_t h = hash_bytes(0xcbf29ce484222325ull, buf, (size_t)(w - buf));
    w = put_u64(w, h);
    const l2h_status st = (size_t)(w - buf) == size
                              ? write_all(path, buf, size)
                              : l2h_set_error(L2H_ERR_STATE, "checkpoint size mismatch");
    l2h_free(buf);
    return st;
}

static const unsigned char *get_u64(const unsigned char *r, uint64_t *v)
{
    memcpy(v, r, 8);
    return r + 8;
}

static const unsigned char *get_f64(const unsigned char *r, double *d)
{
    memcpy(d, r, 8);
    return r + 8;
}

static l2h_status read_file(const char *path, size_t want, unsigned char **out)
{
    FILE *f = fopen(path, "rb");
    L2H_FAIL_IF(f == NULL, L2H_ERR_IO, "%s: %s", path, strerror(errno));
    unsigned char *buf = l2h_malloc(want + 1);
    if (!buf) {
        fclose(f);
        L2H_FAIL(L2H_ERR_NOMEM, "out of memory reading %s", path);
    }
    const size_t got = fread(buf, 1, want + 1, f); /* one more: a longer file is refused too */
    const int err = ferror(f);
    fclose(f);
    if (err) {
        l2h_free(buf);
        L2H_FAIL(L2H_ERR_IO, "%s: read error", path);
    }
    if (got != want) {
        l2h_free(buf);
        L2H_FAIL(L2H_ERR_FORMAT, "%s: %zu%s bytes, a checkpoint of this run has %zu", path,
                 got > want ? want : got, got > want ? "+" : "", want);
    }
    *out = buf;
    return L2H_OK;
}

l2h_status l2h_train_session_resume(l2h_train_session *s, const char *path)
{
    L2H_FAIL_IF(s == NULL || path == NULL, L2H_ERR_ARG, "l2h_train_session_resume: NULL argument");
    L2H_FAIL_IF(s->ph != PH_IDLE, L2H_ERR_STATE, "l2h_train_session_resume: between steps only");
    l2h_train_prep *pr = &s->pr;
    const size_t size = ck_size(s);
    unsigned char *buf = NULL;
    L2H_TRY(read_file(path, size, &buf));
    l2h_status st = L2H_OK;
    const unsigned char *r = buf;
    uint64_t u, fp[CK_FP], h;
    get_u64(buf + size - 8, &h);
    if (memcmp(r, CK_MAGIC, 8) != 0)
        L2H_FAIL_GOTO(L2H_ERR_FORMAT, "%s: not an l2h training checkpoint", path);
    r += 8;
    r = get_u64(r, &u);
    if (u != CK_BOM) L2H_FAIL_GOTO(L2H_ERR_FORMAT, "%s: written on another byte order", path);
    r = get_u64(r, &u);
    if (u != CK_VERSION)
        L2H_FAIL_GOTO(L2H_ERR_FORMAT, "%s: checkpoint version %llu, this library reads %u", path,
                      (unsigned long long)u, CK_VERSION);
    if (hash_bytes(0xcbf29ce484222325ull, buf, size - 8) != h)
        L2H_FAIL_GOTO(L2H_ERR_FORMAT, "%s: checksum mismatch (corrupt checkpoint)", path);
    fingerprint(s, fp);
    static const char *const fp_names[CK_FP] = {
        "training rows", "input dim",     "bits",  "network parameters", "objective parameters",
        "optimiser state", "objective optimiser state", "batch", "epochs", "seed",
        "optimiser",     "training data"};
    for (size_t i = 0; i < CK_FP; i++) {
        r = get_u64(r, &u);
        if (u != fp[i])
            L2H_FAIL_GOTO(L2H_ERR_FORMAT, "%s: saved by a run with other %s", path, fp_names[i]);
    }
    uint64_t step, epoch, pos, batches, shuffled, rs[4], has_spare;
    double sum, aux, spare;
    r = get_u64(r, &step);
    r = get_u64(r, &epoch);
    r = get_u64(r, &pos);
    r = get_u64(r, &batches);
    r = get_u64(r, &shuffled);
    r = get_f64(r, &sum);
    r = get_f64(r, &aux);
    for (size_t i = 0; i < 4; i++)
        r = get_u64(r, &rs[i]);
    r = get_f64(r, &spare);
    r = get_u64(r, &has_spare);
    if (epoch > s->epochs || pos >= pr->n || shuffled > 1 || has_spare > 1 ||
        batches > step)
        L2H_FAIL_GOTO(L2H_ERR_FORMAT, "%s: inconsistent loop state", path);
    /* the permutation must be one: every row exactly once */
    size_t *perm = l2h_malloc_array(pr->n, sizeof *perm);
    uint8_t *seen = l2h_calloc(pr->n ? pr->n : 1, 1);
    if (!perm || !seen) {
        l2h_free(perm);
        l2h_free(seen);
        L2H_FAIL_GOTO(L2H_ERR_NOMEM, "out of memory in %s", __func__);
    }
    int ok = 1;
    for (size_t i = 0; i < pr->n; i++) {
        r = get_u64(r, &u);
        if (u >= pr->n || seen[u]) ok = 0;
        else seen[u] = 1;
        perm[i] = (size_t)u;
    }
    l2h_free(seen);
    if (!ok) {
        l2h_free(perm);
        L2H_FAIL_GOTO(L2H_ERR_FORMAT, "%s: the saved item order is not a permutation", path);
    }
    memcpy(s->perm, perm, pr->n * sizeof *perm);
    l2h_free(perm);
    memcpy(l2h_nn_params(pr->nn), r, 4 * l2h_nn_n_params(pr->nn));
    r += 4 * l2h_nn_n_params(pr->nn);
    memcpy(s->state, r, 4 * s->n_state);
    r += 4 * s->n_state;
    if (pr->obj->n_params) memcpy(pr->obj->params, r, 4 * pr->obj->n_params);
    r += 4 * pr->obj->n_params;
    memcpy(s->ostate, r, 4 * s->n_ostate);
    s->step = step;
    s->epoch = epoch;
    s->pos = pos;
    s->batches = batches;
    s->shuffled = (int)shuffled;
    s->sum = sum;
    s->aux = aux;
    memcpy(s->rng.s, rs, sizeof rs);
    s->rng.spare = spare;
    s->rng.has_spare = (int)has_spare;
done:
    l2h_free(buf);
    return st;
}
