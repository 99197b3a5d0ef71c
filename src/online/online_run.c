/* online_run.c -- the online protocol of MIHash §4.2 / methods.md §1.3 over in-memory datasets:
 * seeded initial items and stream order over a training pool, the table of a retrieval set,
 * and the mAP of a query set against the table at checkpoints spread evenly over the learning
 * steps (the first and the last always included). Curve, its mean (AUC) and final value go to
 * the handle's stats. */
#include "online_engine.h"

#include "l2h/codes.h"
#include "l2h/eval.h"

#include <math.h>
#include <string.h>

#define STREAM_SALT 0x5eed0f57aea3ULL

typedef struct run_ctx {
    float *xb;       /* [batch, dim]                              */
    int32_t *yb;     /* [batch]                                   */
    uint8_t *qcodes; /* [nq, bytes] queries under the snapshot    */
    uint64_t qversion; /* snapshot the qcodes were encoded with   */
    l2h_groundtruth *gt;
} run_ctx;

static l2h_status check_inputs(const l2h_online *o, const l2h_dataset *pool, const l2h_dataset *db,
                               const l2h_dataset *q, size_t n_items, bool *labelled)
{
    L2H_FAIL_IF(pool == NULL || db == NULL || q == NULL, L2H_ERR_ARG,
                "l2h_online_run: pool, retrieval set and queries are required");
    L2H_FAIL_IF(l2h_dataset_dim(pool) != o->dim || l2h_dataset_dim(db) != o->dim ||
                    l2h_dataset_dim(q) != o->dim,
                L2H_ERR_ARG, "l2h_online_run: dimensions %zu/%zu/%zu, the run expects %zu",
                l2h_dataset_dim(pool), l2h_dataset_dim(db), l2h_dataset_dim(q), o->dim);
    L2H_FAIL_IF(l2h_dataset_n(pool) == 0 || l2h_dataset_n(db) == 0 || l2h_dataset_n(q) == 0,
                L2H_ERR_ARG, "l2h_online_run: empty pool, retrieval set or query set");
    L2H_FAIL_IF(n_items == 0, L2H_ERR_ARG, "l2h_online_run: n_items is 0");
    const l2h_label_kind kp = l2h_dataset_label_kind(pool), kd = l2h_dataset_label_kind(db),
                         kq = l2h_dataset_label_kind(q);
    L2H_FAIL_IF(kp == L2H_LABELS_MULTI || kd == L2H_LABELS_MULTI || kq == L2H_LABELS_MULTI,
                L2H_ERR_UNSUPPORTED, "l2h_online_run: multi-label data is not supported yet");
    *labelled = kp == L2H_LABELS_SINGLE;
    L2H_FAIL_IF(*labelled && (kd != L2H_LABELS_SINGLE || kq != L2H_LABELS_SINGLE), L2H_ERR_ARG,
                "l2h_online_run: labelled pool but unlabelled retrieval or query set");
    L2H_FAIL_IF(o->ops->needs_labels && !*labelled, L2H_ERR_ARG,
                "l2h_online_run: %s needs class labels", o->method);
    return L2H_OK;
}

static void gather(const l2h_dataset *ds, const size_t *rows, size_t n, float *x, int32_t *y)
{
    const size_t dim = l2h_dataset_dim(ds);
    const float *f = l2h_dataset_features(ds);
    const int32_t *lab = l2h_dataset_labels(ds);
    for (size_t i = 0; i < n; i++) {
        memcpy(x + i * dim, f + rows[i] * dim, dim * sizeof *x);
        if (y) y[i] = lab ? lab[rows[i]] : -1;
    }
}

/* Initialises the method from min(n_init, n_pool) distinct pool rows drawn with the seed. */
static l2h_status begin_from_pool(l2h_online *o, const l2h_dataset *pool, const l2h_dataset *db,
                                  bool labelled)
{
    l2h_online_runpos *c = &o->run;
    l2h_rng *rng = &c->rng;
    const size_t n_pool = l2h_dataset_n(pool);
    const size_t n_init = o->p.n_init < n_pool ? o->p.n_init : n_pool;
    for (size_t i = 0; i < n_pool; i++)
        c->perm[i] = i;
    for (size_t i = 0; i < n_init; i++) { /* partial Fisher-Yates: first n_init are the draw */
        const size_t j = i + (size_t)l2h_rng_below(rng, n_pool - i);
        const size_t t = c->perm[i];
        c->perm[i] = c->perm[j];
        c->perm[j] = t;
    }
    float *ix = l2h_malloc_array(n_init ? n_init * o->dim : 1, sizeof *ix);
    int32_t *iy = l2h_malloc_array(n_init ? n_init : 1, sizeof *iy);
    l2h_status st = L2H_OK;
    if (ix == NULL || iy == NULL) L2H_FAIL_GOTO(L2H_ERR_NOMEM, "l2h_online_run: out of memory");
    gather(pool, c->perm, n_init, ix, iy);
    st = l2h_online_begin(o, ix, labelled ? iy : NULL, n_init, db);
done:
    l2h_free(ix);
    l2h_free(iy);
    return st;
}

static l2h_status evaluate(l2h_online *o, const l2h_dataset *q, run_ctx *c)
{
    const size_t nq = l2h_dataset_n(q);
    if (c->qversion != o->snap_version) { /* queries are encoded with the snapshot */
        L2H_TRY(l2h_online_encode(o, l2h_dataset_features(q), nq, c->qcodes));
        c->qversion = o->snap_version;
    }
    const l2h_eval_params ep = l2h_eval_default_params();
    l2h_eval_result r;
    L2H_TRY(l2h_eval_codes(c->qcodes, nq, o->table, o->n_db, o->bits, c->gt, &ep, &r));
    return l2h_online_record(o, r.map);
}

/* Streams until `stop` items are consumed or the run ends. The position lives in o->run. */
static l2h_status stream(l2h_online *o, const l2h_dataset *pool, const l2h_dataset *db,
                         const l2h_dataset *q, size_t stop, run_ctx *c)
{
    l2h_online_runpos *r = &o->run;
    const size_t n_pool = l2h_dataset_n(pool), batch = o->batch, n_items = r->n_items;
    const size_t steps = n_items / batch + (n_items % batch != 0);
    size_t n_cp = o->p.n_checkpoints ? o->p.n_checkpoints : 1;
    if (n_cp > steps) n_cp = steps;
    /* checkpoint i at step round(i (S − 1) / (C − 1)) */
    for (; r->step < steps && r->consumed < stop; r->step++) {
        const size_t s = r->step;
        const size_t m = n_items - r->consumed < batch ? n_items - r->consumed : batch;
        size_t rows[64], done_rows = 0;
        while (done_rows < m) {
            if (r->pos == n_pool) {
                for (size_t i = 0; i < n_pool; i++)
                    r->perm[i] = i;
                l2h_rng_shuffle(&r->rng, r->perm, n_pool);
                r->pos = 0;
            }
            size_t k = 0;
            while (k < 64 && done_rows + k < m && r->pos < n_pool)
                rows[k++] = r->perm[r->pos++];
            gather(pool, rows, k, c->xb + done_rows * o->dim, c->yb + done_rows);
            done_rows += k;
        }
        L2H_TRY(l2h_online_step(o, c->xb, o->labelled == 1 ? c->yb : NULL, m, db));
        r->consumed += m;
        if (s == r->next_cp) {
            L2H_TRY(evaluate(o, q, c));
            r->cp_index++;
            if (r->cp_index < n_cp)
                r->next_cp =
                    (size_t)llround((double)r->cp_index * (double)(steps - 1) / (double)(n_cp - 1));
            if (r->next_cp <= s) r->next_cp = s + 1;
        }
    }
    if (r->step >= steps) r->active = false;
    return L2H_OK;
}

/* dist_threshold := the dist_percentile-th percentile of distances among preprocessed pool
 * items (the run's feature space). */
static l2h_status pool_percentile(l2h_online *o, const l2h_dataset *pool)
{
    l2h_dataset *pp = NULL;
    L2H_TRY(l2h_dataset_create(&pp, l2h_dataset_n(pool), o->dim, l2h_dataset_features(pool)));
    l2h_preprocess_rows(o->mean, o->p.l2_normalize, o->dim, l2h_dataset_features(pp),
                        l2h_dataset_n(pp), l2h_dataset_features_mut(pp));
    float thr = 0.0f;
    const l2h_status st = l2h_distance_percentile(pp, 2000, o->p.dist_percentile, o->p.seed, &thr);
    l2h_dataset_free(pp);
    L2H_TRY(st);
    o->p.dist_threshold = thr;
    return L2H_OK;
}

/* Starts a run: the pool mean (if centring), the initialisation, a fresh stream position. */
static l2h_status start_run(l2h_online *o, const l2h_dataset *pool, const l2h_dataset *db,
                            size_t n_items, bool labelled)
{
    const size_t n_pool = l2h_dataset_n(pool);
    l2h_online_runpos *r = &o->run;
    l2h_free(r->perm);
    memset(r, 0, sizeof *r);
    r->perm = l2h_malloc_array(n_pool, sizeof *r->perm);
    L2H_NOMEM_IF_NULL(r->perm);
    r->n_items = n_items;
    r->n_pool = n_pool;
    r->pos = n_pool; /* forces a fresh permutation at the first item */
    l2h_rng_seed(&r->rng, o->p.seed ^ STREAM_SALT);
    o->mean_given = false;
    if (o->p.center) { /* statistics from the whole stream pool */
        float *mean = l2h_malloc_array(o->dim, sizeof *mean);
        L2H_NOMEM_IF_NULL(mean);
        const float *x = l2h_dataset_features(pool);
        double *acc = l2h_calloc(o->dim, sizeof *acc);
        if (acc == NULL) {
            l2h_free(mean);
            L2H_FAIL(L2H_ERR_NOMEM, "l2h_online_run: out of memory");
        }
        for (size_t i = 0; i < n_pool; i++)
            for (size_t j = 0; j < o->dim; j++)
                acc[j] += (double)x[i * o->dim + j];
        for (size_t j = 0; j < o->dim; j++)
            mean[j] = (float)(acc[j] / (double)n_pool);
        l2h_free(acc);
        const l2h_status st = l2h_online_set_mean(o, mean);
        l2h_free(mean);
        L2H_TRY(st);
        o->mean_given = true;
    }
    if (!labelled && o->p.dist_threshold == 0.0f && o->p.dist_percentile > 0.0)
        L2H_TRY(pool_percentile(o, pool));
    const l2h_status st = begin_from_pool(o, pool, db, labelled);
    o->mean_given = false;
    L2H_TRY(st);
    r->active = true;
    return L2H_OK;
}

/* Ground truth of the queries against the retrieval set, in the run's feature space. */
static l2h_status ground_truth(l2h_online *o, const l2h_dataset *db, const l2h_dataset *q,
                               bool labelled, l2h_groundtruth **gt)
{
    if (labelled) return l2h_groundtruth_from_labels(gt, q, db);
    if (o->mean == NULL && !o->p.l2_normalize)
        return l2h_groundtruth_euclidean(gt, q, db, o->dist_threshold);
    /* unlabelled: distances between preprocessed items */
    l2h_dataset *pq = NULL, *pd = NULL;
    l2h_status st = l2h_dataset_create(&pq, l2h_dataset_n(q), o->dim, l2h_dataset_features(q));
    if (st == L2H_OK)
        st = l2h_dataset_create(&pd, l2h_dataset_n(db), o->dim, l2h_dataset_features(db));
    if (st == L2H_OK) {
        l2h_preprocess_rows(o->mean, o->p.l2_normalize, o->dim, l2h_dataset_features(pq),
                            l2h_dataset_n(pq), l2h_dataset_features_mut(pq));
        l2h_preprocess_rows(o->mean, o->p.l2_normalize, o->dim, l2h_dataset_features(pd),
                            l2h_dataset_n(pd), l2h_dataset_features_mut(pd));
        st = l2h_groundtruth_euclidean(gt, pq, pd, o->dist_threshold);
    }
    l2h_dataset_free(pq);
    l2h_dataset_free(pd);
    return st;
}

l2h_status l2h_online_run_part(l2h_online *o, const l2h_dataset *pool, const l2h_dataset *db,
                               const l2h_dataset *queries, size_t n_items, size_t stop)
{
    L2H_FAIL_IF(o == NULL, L2H_ERR_ARG, "l2h_online_run: NULL handle");
    bool labelled = false;
    L2H_TRY(check_inputs(o, pool, db, queries, n_items, &labelled));
    const size_t n_pool = l2h_dataset_n(pool), nq = l2h_dataset_n(queries);
    if (o->run.active) {
        L2H_FAIL_IF(o->run.n_items != n_items || o->run.n_pool != n_pool ||
                        o->n_db != l2h_dataset_n(db) || o->labelled != (labelled ? 1 : 0),
                    L2H_ERR_ARG,
                    "l2h_online_run: the run under way has %zu items over a pool of %zu and a "
                    "table of %zu; got %zu, %zu and %zu",
                    o->run.n_items, o->run.n_pool, o->n_db, n_items, n_pool, l2h_dataset_n(db));
    }
    run_ctx c = {0};
    c.qversion = UINT64_MAX;
    l2h_status st = L2H_OK;
    c.xb = l2h_malloc_array(o->batch * o->dim, sizeof *c.xb);
    c.yb = l2h_malloc_array(o->batch, sizeof *c.yb);
    c.qcodes = l2h_malloc_array(nq, o->bytes);
    if (!c.xb || !c.yb || !c.qcodes)
        L2H_FAIL_GOTO(L2H_ERR_NOMEM, "l2h_online_run: out of memory");
    if (!o->run.active) L2H_CHECK_GOTO(start_run(o, pool, db, n_items, labelled));
    L2H_CHECK_GOTO(ground_truth(o, db, queries, labelled, &c.gt));
    L2H_CHECK_GOTO(stream(o, pool, db, queries, stop, &c));
done:
    l2h_groundtruth_free(c.gt);
    l2h_free(c.xb);
    l2h_free(c.yb);
    l2h_free(c.qcodes);
    return st;
}

l2h_status l2h_online_run(l2h_online *o, const l2h_dataset *pool, const l2h_dataset *db,
                          const l2h_dataset *queries, size_t n_items)
{
    if (o != NULL) o->run.active = false; /* always a fresh run */
    return l2h_online_run_part(o, pool, db, queries, n_items, n_items);
}
