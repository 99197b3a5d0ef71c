/* online_engine.h -- the state of a stream run (struct l2h_online), shared by the engine
 * (online_engine.c: begin, push, policy, read-out), the protocol driver (online_run.c: seeded
 * stream over a pool, checkpoints, mAP curve) and the checkpoint file (online_checkpoint.c). */
#ifndef L2H_ONLINE_ENGINE_H
#define L2H_ONLINE_ENGINE_H

#include "l2h/index.h"
#include "online_internal.h"

/* Where l2h_online_run is in its protocol, kept in the handle so a checkpoint taken between two
 * calls of l2h_online_run_part resumes the same stream. */
typedef struct l2h_online_runpos {
    bool active;       /* a run is under way (begun, not finished)                   */
    size_t n_items;    /* the run's total stream items                               */
    size_t n_pool;     /* pool rows (checked on resume)                              */
    size_t step;       /* learning steps done by the driver                          */
    size_t consumed;   /* stream items consumed by the driver                        */
    size_t pos;        /* position in perm                                           */
    size_t next_cp;    /* step of the next mAP checkpoint                            */
    size_t cp_index;   /* checkpoints recorded                                       */
    size_t *perm;      /* [n_pool] stream order of the current pass                  */
    l2h_rng rng;       /* stream order draws                                         */
} l2h_online_runpos;

struct l2h_online {
    l2h_online_params p;
    char method[32];
    const l2h_online_ops *ops;
    size_t dim, bits, bytes, batch;
    l2h_online_setup su; /* su.p = &p, su.mean = mean, su.opts = opts                 */
    void *opts;          /* the method's own options (ops->opts_size bytes)            */
    float *mean;         /* [dim] preprocessing mean, NULL = no centring               */
    bool mean_given;     /* set by the run driver (pool mean) before begin             */
    l2h_model *cur_map;  /* Φ_t, the mapping being learned                            */
    l2h_model *snap_map; /* Φˢ, the mapping that built the table                      */
    float *cur_span, *snap_span; /* their parameter spans, n_span floats each          */
    size_t n_span;
    void *cur; /* the method's learner state, bound to cur_span                        */
    bool begun;
    int labelled;         /* -1 unknown yet, 0 unsupervised, 1 single labels       */
    float dist_threshold; /* unsupervised affinity radius (resolved)               */
    l2h_rng rng;          /* reservoir draws                                       */
    l2h_reservoir res;    /* preprocessed items, codes under Φˢ                    */
    uint8_t *res_cur;    /* [R, bytes] reservoir codes under Φ_t (trigger check)  */
    l2h_trigger trig;    /* trigger caches (online_trigger.c)                    */
    double trig_z;       /* TRIGGER_SE/_UNPAIRED: normal quantile of confidence   */
    float *pend_x;       /* [batch, dim] raw items waiting for a full batch       */
    int32_t *pend_l;     /* [batch]                                               */
    uint8_t *pend_codes; /* [batch, bytes]                                        */
    float *xprep;        /* [batch, dim] the preprocessed batch being learned     */
    size_t n_pend;
    uint8_t *table; /* [n_db, bytes] codes of the retrieval set under Φˢ     */
    size_t n_db;
    l2h_index *index; /* the table as an index (ids 0..n_db-1), NULL without a db */
    l2h_id *ids;      /* [n_db] 0..n_db-1                                        */
    uint64_t snap_version; /* incremented on every table update                     */
    l2h_online_stats st;
    /* curve */
    size_t cap_curve;
    size_t *curve_items;
    double *curve_map;
    size_t *curve_updates;
    l2h_online_runpos run;
};

/* Allocates the handle's buffers for its params and dim (shared by create and load). */
l2h_status l2h_online_alloc(l2h_online **out, const l2h_online_params *p, size_t dim);
/* Sets the preprocessing mean (copied; NULL = none) used by the next begin. */
l2h_status l2h_online_set_mean(l2h_online *o, const float *mean);
/* Allocates the table [n_db, bytes] and the index with ids 0..n_db-1 (no codes yet). */
l2h_status l2h_online_table_alloc(l2h_online *o, size_t n_db);
/* (Re)fills the index from the table: add on first fill, replace afterwards. */
l2h_status l2h_online_index_sync(l2h_online *o);
/* After the current mapping model is set: the snapshot as its copy and the span views. */
l2h_status l2h_online_attach_maps(l2h_online *o);
/* Learns one batch of n raw items (n <= batch) and offers them to the reservoir, then runs the
 * policy check if a multiple of the interval was crossed. db: retrieval set or NULL. */
l2h_status l2h_online_step(l2h_online *o, const float *x, const int32_t *labels, size_t n,
                           const l2h_dataset *db);
/* Records a curve point (allocating on demand). */
l2h_status l2h_online_record(l2h_online *o, double map);
/* The 5th percentile of pairwise Euclidean distances among min(n, 2000) rows of x. */
l2h_status l2h_online_default_threshold(const float *x, size_t n, size_t dim, float *thr);
/* Checks params for a run over dim-dimensional features. */
l2h_status l2h_online_check_params(const l2h_online_params *p, size_t dim);

#endif
