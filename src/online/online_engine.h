/* online_engine.h -- the state of a stream run (struct l2h_online), shared by the engine
 * (online_engine.c: begin, push, policy, read-out) and the protocol driver (online_run.c:
 * seeded stream over a pool, checkpoints, mAP curve). */
#ifndef L2H_ONLINE_ENGINE_H
#define L2H_ONLINE_ENGINE_H

#include "online_internal.h"

struct l2h_online {
    l2h_online_params p;
    char method[32];
    const l2h_online_ops *ops;
    size_t dim, bits, bytes, batch;
    void *cur;  /* Φ_t, the mapping being learned                       */
    void *snap; /* Φˢ, the mapping that built the table                 */
    bool begun;
    int labelled;         /* -1 unknown yet, 0 unsupervised, 1 single labels       */
    float dist_threshold; /* unsupervised affinity radius (resolved)               */
    l2h_rng rng;          /* reservoir draws                                       */
    l2h_reservoir res;
    uint8_t *res_cur;    /* [R, bytes] reservoir codes under Φ_t (trigger check)  */
    l2h_trigger trig;    /* trigger caches (online_trigger.c)                    */
    double trig_z;       /* TRIGGER_SE: normal quantile of params.confidence      */
    float *pend_x;       /* [batch, dim] items waiting for a full batch           */
    int32_t *pend_l;     /* [batch]                                               */
    uint8_t *pend_codes; /* [batch, bytes]                                        */
    size_t n_pend;
    uint8_t *table; /* [n_db, bytes] codes of the retrieval set under Φˢ     */
    size_t n_db;
    uint64_t snap_version; /* incremented on every table update                     */
    l2h_online_stats st;
    /* curve */
    size_t cap_curve;
    size_t *curve_items;
    double *curve_map;
    size_t *curve_updates;
};

/* Learns one batch of n items (n <= batch) and offers them to the reservoir, then runs the
 * policy check if a multiple of the interval was crossed. db: retrieval set or NULL. */
l2h_status l2h_online_step(l2h_online *o, const float *x, const int32_t *labels, size_t n,
                           const l2h_dataset *db);
/* Records a curve point (allocating on demand). */
l2h_status l2h_online_record(l2h_online *o, double map);
/* The 5th percentile of pairwise Euclidean distances among min(n, 2000) rows of x. */
l2h_status l2h_online_default_threshold(const float *x, size_t n, size_t dim, float *thr);

#endif
