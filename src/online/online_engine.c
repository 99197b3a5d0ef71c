/* online_engine.c -- the stream engine: a method's current mapping Φ_t and snapshot Φˢ, the
 * reservoir, the hash table of the retrieval set, the update policy (FIXED / TRIGGER) checked
 * every `interval` items, and the counters. It knows methods only through l2h_online_ops.
 * Both mappings are l2h_models over one parameter span each: the table update copies the span,
 * the "mapping unchanged" test compares spans, and every code is computed by the model, so a
 * saved model (l2h_online_model) encodes exactly like the run. The table is also an l2h_index
 * (ids 0..n_db-1), kept current with l2h_index_replace.
 *
 * Per learning step (docs/online.md):
 *   0. the batch is preprocessed with the models' preprocessing (centring, L2 normalisation)
 *   1. ops->learn(Φ_t, batch, reservoir before insertion)
 *   2. every item is offered to the reservoir; kept items get their code under Φˢ, so the
 *      reservoir codes always mirror the table
 *   3. if the step crossed a multiple of U items: check. No update if Σ|Φ_t − Φˢ| < 1e-6;
 *      FIXED updates; TRIGGER updates iff Q_R(Φ_t) − Q_R(Φˢ) > θ (Q_R on hard reservoir codes)
 *   4. update: Φˢ := Φ_t, reservoir codes and table recomputed, n_db × bits bits counted. */
#include "online_engine.h"

#include "l2h/codes.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SNAPSHOT_EPS 1e-6

l2h_online_params l2h_online_default_params(void)
{
    l2h_online_params p;
    memset(&p, 0, sizeof p);
    p.method = "okh";
    p.bits = 32;
    p.reservoir = 200;
    p.interval = 100;
    p.policy = L2H_ONLINE_POLICY_TRIGGER;
    p.theta = 0.0;
    p.confidence = 0.95;
    p.seed = 12345;
    p.n_checkpoints = 50;
    p.n_init = 2000;
    p.batch = 0;
    p.dist_threshold = 0.0f;
    p.okh_c = 0.1;
    p.okh_alpha = 0.2;
    p.okh_anchors = 300;
    p.osh_eta = 0.1;
    p.osh_boost = 0;
    p.adapt_alpha = 0.9;
    p.adapt_beta = 0.01;
    p.adapt_step = 1.0;
    p.sketch_size = 200;
    p.mihash_bins = 0;
    p.mihash_scale = 10.0;
    p.mihash_step = 1.0;
    p.mihash_decay = 0.0;
    p.mihash_reference_grad = 0;
    p.center = 0;
    p.l2_normalize = 0;
    return p;
}

static void free_methods(l2h_online *o)
{
    if (o->ops != NULL && o->cur != NULL) o->ops->destroy(o->cur);
    o->cur = NULL;
    l2h_model_free(o->cur_map);
    l2h_model_free(o->snap_map);
    o->cur_map = o->snap_map = NULL;
    o->cur_span = o->snap_span = NULL;
    o->n_span = 0;
}

void l2h_online_free(l2h_online *o)
{
    if (o == NULL) return;
    free_methods(o);
    l2h_reservoir_release(&o->res);
    l2h_free(o->res_cur);
    l2h_trigger_release(&o->trig);
    l2h_free(o->pend_x);
    l2h_free(o->pend_l);
    l2h_free(o->pend_codes);
    l2h_free(o->xprep);
    l2h_free(o->table);
    l2h_free(o->ids);
    l2h_index_free(o->index);
    l2h_free(o->mean);
    l2h_free(o->opts);
    l2h_free(o->curve_items);
    l2h_free(o->curve_map);
    l2h_free(o->curve_updates);
    l2h_free(o->run.perm);
    l2h_free(o);
}

l2h_status l2h_online_check_params(const l2h_online_params *p, size_t dim)
{
    L2H_FAIL_IF(p->method == NULL, L2H_ERR_ARG, "online: no method given");
    if (l2h_online_find_ops(p->method) == NULL) {
        char list[256] = "";
        size_t len = 0;
        for (size_t i = 0; i < l2h_online_method_count() && len < sizeof list; i++)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "",
                                    l2h_online_method_info(i)->name);
        L2H_FAIL(L2H_ERR_ARG, "online: unknown method '%.40s' (%s)", p->method, list);
    }
    L2H_FAIL_IF(strlen(p->method) >= 32, L2H_ERR_ARG, "online: method name too long");
    L2H_FAIL_IF(dim == 0, L2H_ERR_ARG, "online: dimension is 0");
    L2H_FAIL_IF(dim > L2H_MODEL_MAX_DIM, L2H_ERR_ARG, "online: dimension %zu too large", dim);
    L2H_FAIL_IF(p->bits == 0 || p->bits > L2H_MAX_BITS, L2H_ERR_ARG,
                "online: bits=%zu outside 1..%d", p->bits, L2H_MAX_BITS);
    L2H_FAIL_IF(p->interval == 0, L2H_ERR_ARG, "online: interval must be > 0");
    L2H_FAIL_IF((unsigned)p->policy >= L2H_ONLINE_POLICY_COUNT, L2H_ERR_ARG,
                "online: unknown policy %d", (int)p->policy);
    L2H_FAIL_IF(p->policy != L2H_ONLINE_POLICY_FIXED && p->reservoir < 2, L2H_ERR_ARG,
                "online: the trigger policy needs a reservoir of at least 2 items (got %zu)",
                p->reservoir);
    L2H_FAIL_IF(!isfinite(p->theta), L2H_ERR_ARG, "online: theta must be finite");
    L2H_FAIL_IF(!(p->dist_threshold >= 0.0f) || !isfinite(p->dist_threshold), L2H_ERR_ARG,
                "online: dist_threshold must be finite and >= 0");
    L2H_FAIL_IF((p->policy == L2H_ONLINE_POLICY_TRIGGER_SE ||
                 p->policy == L2H_ONLINE_POLICY_TRIGGER_UNPAIRED) &&
                    !(p->confidence > 0.0 && p->confidence < 1.0),
                L2H_ERR_ARG, "online: confidence must be in (0, 1)");
    L2H_FAIL_IF(p->reservoir > ((size_t)1 << 16), L2H_ERR_ARG,
                "online: reservoir %zu too large (the trigger check is O(R² b))", p->reservoir);
    L2H_FAIL_IF(p->batch > ((size_t)1 << 16), L2H_ERR_ARG, "online: batch %zu too large",
                p->batch);
    L2H_FAIL_IF(!(p->dist_percentile >= 0.0 && p->dist_percentile <= 100.0), L2H_ERR_ARG,
                "online: dist_percentile outside 0..100");
    L2H_FAIL_IF((p->center != 0 && p->center != 1) ||
                    (p->l2_normalize != 0 && p->l2_normalize != 1),
                L2H_ERR_ARG, "online: center and l2_normalize must be 0 or 1");
    return L2H_OK;
}

l2h_status l2h_online_alloc(l2h_online **out, const l2h_online_params *p, size_t dim)
{
    *out = NULL;
    L2H_TRY(l2h_online_check_params(p, dim));
    l2h_online *o = l2h_calloc(1, sizeof *o);
    L2H_NOMEM_IF_NULL(o);
    o->p = *p;
    memcpy(o->method, p->method, strlen(p->method) + 1);
    o->p.method = o->method;
    o->ops = l2h_online_find_ops(p->method);
    o->dim = dim;
    o->bits = p->bits;
    o->bytes = l2h_code_bytes(p->bits);
    o->batch = p->batch ? p->batch : o->ops->batch;
    o->labelled = -1;
    o->su = (l2h_online_setup){.dim = dim, .bits = o->bits, .p = &o->p, .seed = p->seed};
    l2h_status st = L2H_OK;
    if (o->ops->opts_size > 0) { /* the method's own options at their defaults */
        o->opts = l2h_calloc(1, o->ops->opts_size);
        if (!o->opts) L2H_FAIL_GOTO(L2H_ERR_NOMEM, "online: out of memory");
        o->su.opts = o->opts;
        for (size_t i = 0; i < o->ops->info.n_options; i++) {
            const l2h_option_info *opt = &o->ops->info.options[i];
            if (opt->storage == 1)
                L2H_CHECK_GOTO(l2h_option_parse(opt, opt->def, (char *)o->opts + opt->offset));
        }
    }
    if (o->batch < o->ops->min_batch)
        L2H_FAIL_GOTO(L2H_ERR_ARG, "online: %s needs batches of at least %zu items", o->method,
                      o->ops->min_batch);
    L2H_CHECK_GOTO(l2h_reservoir_init(&o->res, p->reservoir, dim, o->bytes));
    o->res_cur = l2h_calloc(p->reservoir ? p->reservoir : 1, o->bytes);
    L2H_CHECK_GOTO(l2h_trigger_init(&o->trig, p->reservoir, dim, p->bits));
    if (p->policy == L2H_ONLINE_POLICY_TRIGGER_SE || p->policy == L2H_ONLINE_POLICY_TRIGGER_UNPAIRED)
        o->trig_z = l2h_online_normal_quantile(p->confidence);
    o->pend_x = l2h_malloc_array(o->batch * dim, sizeof *o->pend_x);
    o->pend_l = l2h_malloc_array(o->batch, sizeof *o->pend_l);
    o->pend_codes = l2h_malloc_array(o->batch, o->bytes);
    o->xprep = l2h_malloc_array(o->batch * dim, sizeof *o->xprep);
    if (!o->res_cur || !o->pend_x || !o->pend_l || !o->pend_codes || !o->xprep)
        L2H_FAIL_GOTO(L2H_ERR_NOMEM, "online: out of memory");
    *out = o;
    return L2H_OK;
done:
    l2h_online_free(o);
    return st;
}

l2h_status l2h_online_create(l2h_online **out, const l2h_online_params *p, size_t dim)
{
    L2H_FAIL_IF(out == NULL || p == NULL, L2H_ERR_ARG, "l2h_online_create: NULL argument");
    return l2h_online_alloc(out, p, dim);
}

/* The option `name` ("c" or "okh.c") of the handle's method and where it is stored. */
static l2h_status find_option(const l2h_online *o, const char *name, const l2h_option_info **opt,
                              char **where)
{
    L2H_FAIL_IF(o == NULL || name == NULL, L2H_ERR_ARG, "online option: NULL argument");
    const l2h_method_info *mi = &o->ops->info;
    const size_t ml = strlen(mi->name);
    if (strncmp(name, mi->name, ml) == 0 && name[ml] == '.') name += ml + 1;
    for (size_t i = 0; i < mi->n_options; i++)
        if (strcmp(mi->options[i].name, name) == 0) {
            *opt = &mi->options[i];
            *where = (mi->options[i].storage == 1 ? (char *)o->opts : (char *)(uintptr_t)&o->p) +
                     mi->options[i].offset;
            return L2H_OK;
        }
    char list[256] = "";
    size_t len = 0;
    for (size_t i = 0; i < mi->n_options && len < sizeof list; i++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "",
                                mi->options[i].name);
    L2H_FAIL(L2H_ERR_ARG, "online: %s has no option '%.40s' (options: %s)", mi->name, name,
             mi->n_options ? list : "none");
}

l2h_status l2h_online_set_option(l2h_online *o, const char *name, const char *value)
{
    const l2h_option_info *opt;
    char *where;
    L2H_TRY(find_option(o, name, &opt, &where));
    L2H_FAIL_IF(o->begun || o->run.active, L2H_ERR_STATE,
                "online: option %s must be set before the run begins", opt->name);
    return l2h_option_parse(opt, value, where);
}

l2h_status l2h_online_get_option(const l2h_online *o, const char *name, char *buf, size_t cap)
{
    const l2h_option_info *opt;
    char *where;
    L2H_TRY(find_option(o, name, &opt, &where));
    L2H_FAIL_IF(buf == NULL || cap == 0, L2H_ERR_ARG, "l2h_online_get_option: no buffer");
    l2h_option_format(opt, where, buf, cap);
    return L2H_OK;
}

l2h_status l2h_online_set_mean(l2h_online *o, const float *mean)
{
    l2h_free(o->mean);
    o->mean = NULL;
    o->su.mean = NULL;
    if (mean == NULL) return L2H_OK;
    o->mean = l2h_malloc_array(o->dim, sizeof *o->mean);
    L2H_NOMEM_IF_NULL(o->mean);
    memcpy(o->mean, mean, o->dim * sizeof *mean);
    o->su.mean = o->mean;
    return L2H_OK;
}

l2h_status l2h_online_attach_maps(l2h_online *o)
{
    l2h_model_free(o->snap_map);
    o->snap_map = NULL;
    L2H_TRY(l2h_model_clone(&o->snap_map, o->cur_map));
    size_t n_cur, n_snap;
    o->cur_span = l2h_model_params(o->cur_map, &n_cur);
    o->snap_span = l2h_model_params(o->snap_map, &n_snap);
    L2H_FAIL_IF(n_cur != n_snap, L2H_ERR_STATE, "online: snapshot of another shape");
    o->n_span = n_cur;
    return L2H_OK;
}

l2h_status l2h_online_table_alloc(l2h_online *o, size_t n_db)
{
    l2h_free(o->table);
    l2h_free(o->ids);
    l2h_index_free(o->index);
    o->table = NULL;
    o->ids = NULL;
    o->index = NULL;
    o->n_db = 0;
    if (n_db == 0) return L2H_OK;
    o->table = l2h_calloc(n_db, o->bytes);
    o->ids = l2h_malloc_array(n_db, sizeof *o->ids);
    L2H_NOMEM_IF_NULL(o->table);
    L2H_NOMEM_IF_NULL(o->ids);
    for (size_t i = 0; i < n_db; i++)
        o->ids[i] = (l2h_id)i;
    l2h_index_params ip = l2h_index_default_params(o->bits);
    ip.kind = L2H_INDEX_MIH;
    L2H_TRY(l2h_index_create(&o->index, &ip));
    o->n_db = n_db;
    return L2H_OK;
}

l2h_status l2h_online_index_sync(l2h_online *o)
{
    if (o->index == NULL) return L2H_OK;
    if (l2h_index_size(o->index) == 0) return l2h_index_add(o->index, o->table, o->ids, o->n_db);
    return l2h_index_replace(o->index, o->ids, o->table, o->n_db);
}

size_t l2h_online_bits(const l2h_online *o)
{
    return o ? o->bits : 0;
}

l2h_status l2h_online_get_params(const l2h_online *o, l2h_online_params *out)
{
    L2H_FAIL_IF(o == NULL || out == NULL, L2H_ERR_ARG, "l2h_online_get_params: NULL argument");
    *out = o->p;
    return L2H_OK;
}

size_t l2h_online_dim(const l2h_online *o)
{
    return o ? o->dim : 0;
}

static int cmp_float(const void *a, const void *b)
{
    const float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

l2h_status l2h_online_default_threshold(const float *x, size_t n, size_t dim, float *thr)
{
    const size_t m = n < 2000 ? n : 2000;
    L2H_FAIL_IF(m < 2, L2H_ERR_ARG, "online: need at least 2 items for a distance threshold");
    const size_t np = m * (m - 1) / 2;
    float *d = l2h_malloc_array(np, sizeof *d);
    L2H_NOMEM_IF_NULL(d);
    size_t q = 0;
    for (size_t i = 0; i < m; i++)
        for (size_t j = i + 1; j < m; j++) {
            double s = 0.0;
            for (size_t t = 0; t < dim; t++) {
                const double e = (double)x[i * dim + t] - (double)x[j * dim + t];
                s += e * e;
            }
            d[q++] = (float)sqrt(s);
        }
    qsort(d, np, sizeof *d, cmp_float);
    *thr = d[(size_t)floor(0.05 * (double)(np - 1))];
    l2h_free(d);
    return L2H_OK;
}

/* Fixes supervised / unsupervised mode on the first data seen. */
static l2h_status set_mode(l2h_online *o, bool has_labels, const float *x, size_t n)
{
    const int want = has_labels ? 1 : 0;
    if (o->labelled == -1) {
        L2H_FAIL_IF(o->ops->needs_labels && !has_labels, L2H_ERR_ARG,
                    "online: %s needs class labels", o->method);
        o->labelled = want;
        if (!has_labels && o->dist_threshold <= 0.0f) {
            L2H_FAIL_IF(n < 2, L2H_ERR_ARG,
                        "online: unlabelled stream: give dist_threshold or initial items");
            L2H_TRY(l2h_online_default_threshold(x, n, o->dim, &o->dist_threshold));
        }
        return L2H_OK;
    }
    L2H_FAIL_IF(o->labelled != want, L2H_ERR_ARG,
                "online: labelled and unlabelled items mixed in one stream");
    return L2H_OK;
}

/* Φˢ := Φ_t; reservoir codes, table and index recomputed. */
static l2h_status table_update(l2h_online *o, const l2h_dataset *db, bool count)
{
    memcpy(o->snap_span, o->cur_span, o->n_span * sizeof *o->cur_span);
    if (o->res.n > 0)
        L2H_TRY(l2h_model_encode_prepped(o->snap_map, o->res.x, o->res.n, o->res.codes));
    if (db != NULL && o->n_db > 0) {
        L2H_TRY(l2h_model_encode(o->snap_map, l2h_dataset_features(db), o->n_db, o->table));
        L2H_TRY(l2h_online_index_sync(o));
    }
    o->snap_version++;
    l2h_trigger_snapshot_changed(&o->trig);
    if (count) {
        o->st.updates++;
        o->st.bits_recomputed += (uint64_t)o->n_db * (uint64_t)o->bits;
    }
    return L2H_OK;
}

/* The models' preprocessing applied to x[n, dim] into out (out may be x when not needed). */
static const float *prep(const l2h_online *o, const float *x, size_t n, float *out)
{
    if (o->mean == NULL && !o->p.l2_normalize) return x;
    l2h_preprocess_rows(o->mean, o->p.l2_normalize, o->dim, x, n, out);
    return out;
}

static l2h_status mean_of(const float *x, size_t n, size_t dim, float *mean)
{
    double *acc = l2h_calloc(dim, sizeof *acc);
    L2H_NOMEM_IF_NULL(acc);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < dim; j++)
            acc[j] += (double)x[i * dim + j];
    for (size_t j = 0; j < dim; j++)
        mean[j] = (float)(acc[j] / (double)n);
    l2h_free(acc);
    return L2H_OK;
}

static l2h_status begin_prepped(l2h_online *o, const float *init_x, const int32_t *init_labels,
                                size_t n_init, const l2h_dataset *db)
{
    if (n_init > 0) L2H_TRY(set_mode(o, init_labels != NULL, init_x, n_init));
    L2H_TRY(o->ops->create(&o->cur, &o->cur_map, &o->su, init_x, init_labels, n_init));
    L2H_TRY(l2h_online_attach_maps(o));
    L2H_TRY(l2h_online_table_alloc(o, db ? l2h_dataset_n(db) : 0));
    L2H_TRY(table_update(o, db, false)); /* the initial table is not counted as an update */
    /* optional pre-fill of the reservoir with initial items (codes under the snapshot) */
    const size_t n_pre = o->p.reservoir_prefill < n_init ? o->p.reservoir_prefill : n_init;
    for (size_t i = 0; i < n_pre; i += o->batch) {
        const size_t m = n_pre - i < o->batch ? n_pre - i : o->batch;
        L2H_TRY(l2h_model_encode_prepped(o->snap_map, init_x + i * o->dim, m, o->pend_codes));
        for (size_t j = 0; j < m; j++) {
            const size_t k = l2h_reservoir_offer(&o->res, &o->rng, init_x + (i + j) * o->dim,
                                                 o->labelled == 1 ? init_labels + i + j : NULL,
                                                 o->pend_codes + j * o->bytes);
            if (k != (size_t)-1)
                l2h_trigger_slot_changed(&o->trig, &o->res, k, o->labelled == 1,
                                         o->dist_threshold);
        }
    }
    return L2H_OK;
}

l2h_status l2h_online_begin(l2h_online *o, const float *init_x, const int32_t *init_labels,
                            size_t n_init, const l2h_dataset *db)
{
    L2H_FAIL_IF(o == NULL, L2H_ERR_ARG, "l2h_online_begin: NULL handle");
    L2H_FAIL_IF(n_init > 0 && init_x == NULL, L2H_ERR_ARG, "l2h_online_begin: NULL init_x");
    if (db != NULL)
        L2H_FAIL_IF(l2h_dataset_dim(db) != o->dim, L2H_ERR_ARG,
                    "online: retrieval set has dimension %zu, expected %zu", l2h_dataset_dim(db),
                    o->dim);
    free_methods(o);
    o->begun = false;
    if (!o->mean_given) o->run.active = false; /* a direct begin ends a driver's run */
    l2h_reservoir_clear(&o->res);
    l2h_trigger_reset(&o->trig, o->p.policy != L2H_ONLINE_POLICY_FIXED);
    memset(&o->st, 0, sizeof o->st);
    o->n_pend = 0;
    o->snap_version = 0;
    o->labelled = -1;
    o->dist_threshold = o->p.dist_threshold;
    l2h_rng_seed(&o->rng, o->p.seed ^ 0x7e5e7a0151ULL);
    if (o->p.center && !o->mean_given) { /* statistics from the initial items */
        L2H_FAIL_IF(n_init == 0, L2H_ERR_ARG,
                    "l2h_online_begin: centring needs initial items for the mean");
        float *mean = l2h_malloc_array(o->dim, sizeof *mean);
        L2H_NOMEM_IF_NULL(mean);
        l2h_status ms = mean_of(init_x, n_init, o->dim, mean);
        if (ms == L2H_OK) ms = l2h_online_set_mean(o, mean);
        l2h_free(mean);
        L2H_TRY(ms);
    }
    if (!o->p.center) L2H_TRY(l2h_online_set_mean(o, NULL));
    o->su.l2_normalize = o->p.l2_normalize;
    float *xp = NULL;
    const float *ix = init_x;
    if (n_init > 0 && (o->mean != NULL || o->p.l2_normalize)) {
        xp = l2h_malloc_array(n_init * o->dim, sizeof *xp);
        L2H_NOMEM_IF_NULL(xp);
        ix = prep(o, init_x, n_init, xp);
    }
    const l2h_status st = begin_prepped(o, ix, init_labels, n_init, db);
    l2h_free(xp);
    L2H_TRY(st);
    o->begun = true;
    return L2H_OK;
}

/* The policy check after a crossed multiple of the interval. */
static l2h_status policy_check(l2h_online *o, const l2h_dataset *db)
{
    o->st.checks++;
    if (l2h_online_l1(o->cur_span, o->snap_span, o->n_span) < SNAPSHOT_EPS) return L2H_OK;
    if (o->p.policy == L2H_ONLINE_POLICY_FIXED) return table_update(o, db, true);
    if (o->res.n < 2) return L2H_OK; /* trigger: nothing to judge by */
    const size_t r = o->res.n;
    L2H_TRY(l2h_model_encode_prepped(o->cur_map, o->res.x, r, o->res_cur));
    int fire = 0;
    L2H_TRY(l2h_trigger_decide(&o->trig, &o->res, o->res_cur, o->p.policy, o->p.theta, o->trig_z,
                               &fire, NULL));
    if (!fire) return L2H_OK;
    L2H_TRY(table_update(o, db, true));
    l2h_trigger_adopt_current(&o->trig, o->res.codes, o->res_cur, r);
    return L2H_OK;
}

l2h_status l2h_online_step(l2h_online *o, const float *x_raw, const int32_t *labels, size_t n,
                           const l2h_dataset *db)
{
    if (n == 0) return L2H_OK;
    const float *x = prep(o, x_raw, n, o->xprep);
    const l2h_online_batch b = {
        .x = x,
        .labels = o->labelled == 1 ? labels : NULL,
        .n = n,
        .dist_threshold = o->dist_threshold,
        .res_x = o->res.x,
        .res_labels = o->labelled == 1 ? o->res.labels : NULL,
        .n_res = o->res.n,
    };
    if (n >= o->ops->min_batch) {
        L2H_TRY(o->ops->learn(o->cur, &b));
        o->st.steps++;
    }
    /* reservoir insertion with codes under the snapshot */
    L2H_TRY(l2h_model_encode_prepped(o->snap_map, x, n, o->pend_codes));
    for (size_t i = 0; i < n; i++) {
        const size_t k = l2h_reservoir_offer(&o->res, &o->rng, x + i * o->dim,
                                             o->labelled == 1 ? labels + i : NULL,
                                             o->pend_codes + i * o->bytes);
        if (k != (size_t)-1)
            l2h_trigger_slot_changed(&o->trig, &o->res, k, o->labelled == 1, o->dist_threshold);
    }
    const size_t before = o->st.items;
    o->st.items += n;
    if (before / o->p.interval != o->st.items / o->p.interval) L2H_TRY(policy_check(o, db));
    return L2H_OK;
}

static l2h_status check_db(const l2h_online *o, const l2h_dataset *db)
{
    const size_t n_db = db ? l2h_dataset_n(db) : 0;
    L2H_FAIL_IF(n_db != o->n_db, L2H_ERR_ARG,
                "online: retrieval set of %zu items, the table has %zu (pass the same db as to "
                "l2h_online_begin)",
                n_db, o->n_db);
    return L2H_OK;
}

l2h_status l2h_online_push(l2h_online *o, const float *x, const int32_t *labels, size_t n,
                           const l2h_dataset *db)
{
    L2H_FAIL_IF(o == NULL, L2H_ERR_ARG, "l2h_online_push: NULL handle");
    L2H_FAIL_IF(!o->begun, L2H_ERR_STATE, "l2h_online_push: call l2h_online_begin first");
    if (n == 0) return L2H_OK;
    L2H_FAIL_IF(x == NULL, L2H_ERR_ARG, "l2h_online_push: NULL x");
    L2H_TRY(check_db(o, db));
    L2H_TRY(set_mode(o, labels != NULL, x, n));
    for (size_t i = 0; i < n; i++)
        for (size_t t = 0; t < o->dim; t++)
            L2H_FAIL_IF(!isfinite(x[i * o->dim + t]), L2H_ERR_NUMERIC,
                        "l2h_online_push: non-finite feature at item %zu", i);
    size_t i = 0;
    /* complete a pending partial batch first */
    while (i < n && o->n_pend > 0) {
        memcpy(o->pend_x + o->n_pend * o->dim, x + i * o->dim, o->dim * sizeof *x);
        o->pend_l[o->n_pend] = labels ? labels[i] : -1;
        o->n_pend++;
        i++;
        if (o->n_pend == o->batch) {
            o->n_pend = 0;
            L2H_TRY(l2h_online_step(o, o->pend_x, o->pend_l, o->batch, db));
        }
    }
    for (; i + o->batch <= n; i += o->batch)
        L2H_TRY(l2h_online_step(o, x + i * o->dim, labels ? labels + i : NULL, o->batch, db));
    for (; i < n; i++) {
        memcpy(o->pend_x + o->n_pend * o->dim, x + i * o->dim, o->dim * sizeof *x);
        o->pend_l[o->n_pend] = labels ? labels[i] : -1;
        o->n_pend++;
    }
    return L2H_OK;
}

l2h_status l2h_online_flush(l2h_online *o, const l2h_dataset *db)
{
    L2H_FAIL_IF(o == NULL, L2H_ERR_ARG, "l2h_online_flush: NULL handle");
    L2H_FAIL_IF(!o->begun, L2H_ERR_STATE, "l2h_online_flush: call l2h_online_begin first");
    L2H_TRY(check_db(o, db));
    const size_t n = o->n_pend;
    o->n_pend = 0;
    return l2h_online_step(o, o->pend_x, o->pend_l, n, db);
}

l2h_status l2h_online_encode(const l2h_online *o, const float *x, size_t n, uint8_t *codes)
{
    L2H_FAIL_IF(o == NULL || !o->begun, L2H_ERR_STATE, "l2h_online_encode: nothing learned yet");
    return l2h_model_encode(o->snap_map, x, n, codes);
}

l2h_status l2h_online_encode_current(const l2h_online *o, const float *x, size_t n, uint8_t *codes)
{
    L2H_FAIL_IF(o == NULL || !o->begun, L2H_ERR_STATE,
                "l2h_online_encode_current: nothing learned yet");
    return l2h_model_encode(o->cur_map, x, n, codes);
}

l2h_status l2h_online_model(const l2h_online *o, l2h_online_mapping which, l2h_model **out)
{
    L2H_FAIL_IF(out == NULL, L2H_ERR_ARG, "l2h_online_model: NULL output");
    *out = NULL;
    L2H_FAIL_IF(o == NULL || !o->begun, L2H_ERR_STATE, "l2h_online_model: nothing learned yet");
    L2H_FAIL_IF(which != L2H_ONLINE_CURRENT && which != L2H_ONLINE_SNAPSHOT, L2H_ERR_ARG,
                "l2h_online_model: unknown mapping %d", (int)which);
    return l2h_model_clone(out, which == L2H_ONLINE_CURRENT ? o->cur_map : o->snap_map);
}

const l2h_index *l2h_online_index(const l2h_online *o)
{
    return o != NULL && o->begun ? o->index : NULL;
}

l2h_status l2h_online_table(const l2h_online *o, uint8_t *out, size_t n_db)
{
    L2H_FAIL_IF(o == NULL || !o->begun, L2H_ERR_STATE, "l2h_online_table: no table yet");
    L2H_FAIL_IF(n_db != o->n_db, L2H_ERR_ARG, "l2h_online_table: table has %zu items, not %zu",
                o->n_db, n_db);
    L2H_FAIL_IF(out == NULL && n_db > 0, L2H_ERR_ARG, "l2h_online_table: NULL out");
    if (n_db > 0) memcpy(out, o->table, n_db * o->bytes);
    return L2H_OK;
}

l2h_status l2h_online_get_stats(const l2h_online *o, l2h_online_stats *out)
{
    L2H_FAIL_IF(o == NULL || out == NULL, L2H_ERR_ARG, "l2h_online_get_stats: NULL argument");
    *out = o->st;
    return L2H_OK;
}

l2h_status l2h_online_record(l2h_online *o, double map)
{
    const size_t k = o->st.n_checkpoints;
    if (k == o->cap_curve) {
        const size_t cap = o->cap_curve ? 2 * o->cap_curve : 64;
        size_t *it = l2h_realloc(o->curve_items, cap * sizeof *it);
        if (it) o->curve_items = it;
        double *mp = l2h_realloc(o->curve_map, cap * sizeof *mp);
        if (mp) o->curve_map = mp;
        size_t *up = l2h_realloc(o->curve_updates, cap * sizeof *up);
        if (up) o->curve_updates = up;
        L2H_FAIL_IF(!it || !mp || !up, L2H_ERR_NOMEM, "online: out of memory (curve)");
        o->cap_curve = cap;
    }
    o->curve_items[k] = o->st.items;
    o->curve_map[k] = map;
    o->curve_updates[k] = o->st.updates;
    o->st.n_checkpoints = k + 1;
    o->st.map_final = map;
    double s = 0.0;
    for (size_t i = 0; i <= k; i++)
        s += o->curve_map[i];
    o->st.map_auc = s / (double)(k + 1);
    return L2H_OK;
}

l2h_status l2h_online_curve(const l2h_online *o, size_t n, size_t *items, double *map,
                            size_t *updates)
{
    L2H_FAIL_IF(o == NULL, L2H_ERR_ARG, "l2h_online_curve: NULL handle");
    L2H_FAIL_IF(n > o->st.n_checkpoints, L2H_ERR_ARG,
                "l2h_online_curve: %zu points asked, %zu recorded", n, o->st.n_checkpoints);
    for (size_t i = 0; i < n; i++) {
        if (items) items[i] = o->curve_items[i];
        if (map) map[i] = o->curve_map[i];
        if (updates) updates[i] = o->curve_updates[i];
    }
    return L2H_OK;
}
