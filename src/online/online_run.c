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
    size_t *perm;    /* [n_pool] stream order of the current pass */
    float *xb;       /* [batch, dim]                              */
    int32_t *yb;     /* [batch]                                   */
    uint8_t *qcodes; /* [nq, bytes] queries under the snapshot    */
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
                                  bool labelled, run_ctx *c, l2h_rng *rng)
{
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

static l2h_status evaluate(l2h_online *o, const l2h_dataset *q, run_ctx *c, uint64_t *qversion)
{
    const size_t nq = l2h_dataset_n(q);
    if (*qversion != o->snap_version) { /* queries are encoded with the snapshot */
        L2H_TRY(o->ops->encode(o->snap, l2h_dataset_features(q), nq, c->qcodes));
        *qversion = o->snap_version;
    }
    const l2h_eval_params ep = l2h_eval_default_params();
    l2h_eval_result r;
    L2H_TRY(l2h_eval_codes(c->qcodes, nq, o->table, o->n_db, o->bits, c->gt, &ep, &r));
    return l2h_online_record(o, r.map);
}

static l2h_status stream(l2h_online *o, const l2h_dataset *pool, const l2h_dataset *db,
                         const l2h_dataset *q, size_t n_items, run_ctx *c, l2h_rng *rng)
{
    const size_t n_pool = l2h_dataset_n(pool), batch = o->batch;
    const size_t steps = n_items / batch + (n_items % batch != 0);
    size_t n_cp = o->p.n_checkpoints ? o->p.n_checkpoints : 1;
    if (n_cp > steps) n_cp = steps;
    size_t next_cp = 0, cp_index = 0; /* checkpoint i at step round(i (S − 1) / (C − 1)) */
    uint64_t qversion = UINT64_MAX;
    size_t pos = n_pool; /* forces a fresh permutation at the first item */
    size_t consumed = 0;
    for (size_t s = 0; s < steps; s++) {
        const size_t m = n_items - consumed < batch ? n_items - consumed : batch;
        size_t rows[64], done_rows = 0;
        while (done_rows < m) {
            if (pos == n_pool) {
                for (size_t i = 0; i < n_pool; i++)
                    c->perm[i] = i;
                l2h_rng_shuffle(rng, c->perm, n_pool);
                pos = 0;
            }
            size_t k = 0;
            while (k < 64 && done_rows + k < m && pos < n_pool)
                rows[k++] = c->perm[pos++];
            gather(pool, rows, k, c->xb + done_rows * o->dim, c->yb + done_rows);
            done_rows += k;
        }
        L2H_TRY(l2h_online_step(o, c->xb, o->labelled == 1 ? c->yb : NULL, m, db));
        consumed += m;
        if (s == next_cp) {
            L2H_TRY(evaluate(o, q, c, &qversion));
            cp_index++;
            if (cp_index < n_cp)
                next_cp =
                    (size_t)llround((double)cp_index * (double)(steps - 1) / (double)(n_cp - 1));
            if (next_cp <= s) next_cp = s + 1;
        }
    }
    return L2H_OK;
}

l2h_status l2h_online_run(l2h_online *o, const l2h_dataset *pool, const l2h_dataset *db,
                          const l2h_dataset *queries, size_t n_items)
{
    L2H_FAIL_IF(o == NULL, L2H_ERR_ARG, "l2h_online_run: NULL handle");
    bool labelled = false;
    L2H_TRY(check_inputs(o, pool, db, queries, n_items, &labelled));
    const size_t n_pool = l2h_dataset_n(pool), nq = l2h_dataset_n(queries);
    run_ctx c = {0};
    l2h_status st = L2H_OK;
    l2h_rng rng;
    l2h_rng_seed(&rng, o->p.seed ^ STREAM_SALT);
    c.perm = l2h_malloc_array(n_pool, sizeof *c.perm);
    c.xb = l2h_malloc_array(o->batch * o->dim, sizeof *c.xb);
    c.yb = l2h_malloc_array(o->batch, sizeof *c.yb);
    c.qcodes = l2h_malloc_array(nq, o->bytes);
    if (!c.perm || !c.xb || !c.yb || !c.qcodes)
        L2H_FAIL_GOTO(L2H_ERR_NOMEM, "l2h_online_run: out of memory");
    L2H_CHECK_GOTO(begin_from_pool(o, pool, db, labelled, &c, &rng));
    if (labelled)
        L2H_CHECK_GOTO(l2h_groundtruth_from_labels(&c.gt, queries, db));
    else
        L2H_CHECK_GOTO(l2h_groundtruth_euclidean(&c.gt, queries, db, o->dist_threshold));
    L2H_CHECK_GOTO(stream(o, pool, db, queries, n_items, &c, &rng));
done:
    l2h_groundtruth_free(c.gt);
    l2h_free(c.perm);
    l2h_free(c.xb);
    l2h_free(c.yb);
    l2h_free(c.qcodes);
    return st;
}
