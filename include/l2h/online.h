/* SPDX-License-Identifier: MIT (see LICENSE) */
/* l2h/online.h -- online hashing: a hash mapping learned from a stream, a hash table (the packed
 * codes of a retrieval set) that is recomputed only when the update policy says so, and the
 * Trigger Update of MIHash (Cakir et al., ICCV 2017). docs/online.md describes the loop exactly.
 *
 * The loop, per learning step t (one batch of the method's batch size):
 *   1. the method learns from the next stream item(s);
 *   2. the items are offered to a uniform reservoir of R items; the codes of kept items are
 *      computed with the SNAPSHOT mapping Φˢ (the one that built the table);
 *   3. every `interval` U stream items the policy decides whether to recompute the table:
 *      FIXED always (unless the mapping has not changed), TRIGGER iff
 *      Q_R(Φ_t) − Q_R(Φˢ) > theta, Q_R the mutual-information quality on the reservoir;
 *   4. on an update Φˢ := Φ_t, the reservoir codes and the whole table are recomputed
 *      (n_db × bits bits counted).
 * Queries are always encoded with Φˢ. At checkpoints the engine evaluates the mAP of the table.
 *
 * Methods: "okh" (Online Kernel Hashing), "osh" (Online Supervised Hashing, needs labels),
 * "adapthash" (Adaptive Hashing), "sketchhash" (Online Sketching Hashing), "mihash" (online
 * MIHash: SGD on the mutual information against the reservoir).
 *
 * Thread safety: a handle is used by one thread at a time. */
#ifndef L2H_ONLINE_H
#define L2H_ONLINE_H

#include "l2h/index.h"
#include "l2h/io.h"
#include "l2h/model.h"
#include "l2h/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct l2h_online l2h_online;

typedef enum l2h_online_policy {
    L2H_ONLINE_POLICY_FIXED = 0,   /* recompute the table every `interval` items            */
    L2H_ONLINE_POLICY_TRIGGER = 1, /* recompute only if the reservoir MI quality improves   */
    L2H_ONLINE_POLICY_TRIGGER_SE = 2, /* ... by more than its estimation noise: the paired
                                       * standard error of the per-anchor MI gain times the
                                       * normal quantile of `confidence`                      */
    L2H_ONLINE_POLICY_TRIGGER_UNPAIRED = 3, /* ... by more than z(confidence) times the
                                             * unpaired standard error of the two Q_R: the
                                             * noise the gain shows across checks (reservoir
                                             * turnover, learner jitter), not only across
                                             * anchors (docs/online.md §4.2)               */
    L2H_ONLINE_POLICY_COUNT
} l2h_online_policy;

typedef struct l2h_online_params {
    const char *method;       /* "okh" | "osh" | "adapthash" | "sketchhash" | "mihash"      */
    size_t bits;              /* code length, 1..L2H_MAX_BITS; default 32                   */
    size_t reservoir;         /* R, reservoir size; default 200 (TRIGGER needs R >= 2)      */
    size_t interval;          /* U, stream items between policy checks; default 100         */
    l2h_online_policy policy; /* default TRIGGER                                            */
    double theta;             /* TRIGGER threshold θ; default 0                              */
    double confidence;        /* TRIGGER_SE: one-sided confidence level in (0, 1) that the
                               * MI gain is real; default 0.95 (z = 1.645)                  */
    uint64_t seed;            /* stream order, reservoir, initialisations; default 12345    */
    size_t n_checkpoints;     /* evaluations evenly spaced over the run (incl. first and
                               * last learning step); default 50                            */
    size_t n_init;            /* training items given to the method's initialisation (OKH
                               * anchors and kernel width); default 2000                    */
    size_t reservoir_prefill; /* initial items put into the reservoir at the start (the
                               * reference's MIHash uses R/10); default 0                   */
    size_t batch;             /* items per learning step; 0 = the method's default          */
    float dist_threshold;     /* unlabelled data: neighbours iff Euclidean distance <= this;
                               * 0 = 5th percentile of distances among 2,000 pool items    */
    /* method hyper-parameters (defaults in brackets, methods.md §1.8) */
    double okh_c;              /* OKH aggressiveness C [0.1]                                  */
    double okh_alpha;          /* OKH dissimilar margin as a fraction of bits [0.2]           */
    size_t okh_anchors;        /* OKH kernel anchors [300]                                    */
    double osh_eta;            /* OSH step size [0.1]                                         */
    int osh_boost;             /* OSH: 0 = hinge per bit [default], 1 = online boosting       */
    double adapt_alpha;        /* AdaptHash margin α [0.9]                                    */
    double adapt_beta;         /* AdaptHash orthogonality weight β [0.01]                     */
    double adapt_step;         /* AdaptHash step size [1]                                     */
    size_t sketch_size;        /* SketchHash Frequent-Directions rows l [200]                 */
    size_t mihash_bins;        /* MIHash histogram bins K; 0 = min(16, bits)               */
    double mihash_scale;       /* MIHash sigmoid scale s in σ(s·wᵀx) [10]                  */
    double mihash_step;        /* MIHash SGD step [1]                                      */
    double mihash_decay;       /* MIHash step decay: step / (1 + decay·t) [0]              */
    int mihash_reference_grad; /* 1: the reference's ∂d/∂φ = −φ_r/2, not the exact one     */
    /* preprocessing, part of the mapping (the saved models carry it): centre by a mean taken
     * from the pool (l2h_online_run) or the initial items (l2h_online_begin), then scale rows
     * to unit length. Pushed items are given raw. Default 0 / 0. */
    int center;
    int l2_normalize;
    /* unlabelled l2h_online_run with dist_threshold 0: if > 0, the threshold is this
     * percentile of distances among 2,000 preprocessed pool items (l2h_distance_percentile,
     * seeded with `seed`); 0 = the 5th percentile among the initial items. Default 0. */
    double dist_percentile;
} l2h_online_params;

/* Counters and summary of a run (or of the items pushed so far). */
typedef struct l2h_online_stats {
    size_t items;             /* stream items consumed                                      */
    size_t steps;             /* learning steps (learn calls)                               */
    size_t checks;            /* policy checks (every `interval` items)                     */
    size_t updates;           /* hash table recomputations (the initial build not counted)  */
    uint64_t bits_recomputed; /* updates × n_db × bits                                      */
    size_t n_checkpoints;     /* curve points recorded                                      */
    double map_auc;           /* mean of the mAP curve over the checkpoints                 */
    double map_final;         /* mAP at the last checkpoint                                 */
} l2h_online_stats;

/* ---- the method registry ----------------------------------------------------------------
 * Every online method registers itself (one file + one line in the method table) with a name,
 * a summary and an option table. Options are set by name on a handle (zstd's
 * ZSTD_CCtx_setParameter route), so a new method or option never changes a public struct: the
 * method_* fields of l2h_online_params above are the options of the five original methods,
 * kept for source compatibility; l2h_online_set_option reaches those and every newer one. The
 * option and method records (l2h_option_info, l2h_method_info) are in model.h, shared with the
 * batch registry of train.h. */
/* Number of registered online methods; the i-th (NULL if out of range). */
L2H_API size_t l2h_online_method_count(void);
L2H_API const l2h_method_info *l2h_online_method_info(size_t i);
/* The method of that name, NULL if unknown. */
L2H_API const l2h_method_info *l2h_online_method_find(const char *name);
/* Sets one option of the handle's method by name ("c" or "okh.c") from text, before
 * l2h_online_begin / l2h_online_run (L2H_ERR_STATE afterwards). L2H_ERR_ARG for an unknown
 * option (the message lists the method's options) or a value that does not parse as its type;
 * range checks happen when the method starts. */
L2H_API L2H_NODISCARD l2h_status l2h_online_set_option(l2h_online *o, const char *name,
                                                       const char *value);
/* The option's current value as text into buf[cap]. */
L2H_API L2H_NODISCARD l2h_status l2h_online_get_option(const l2h_online *o, const char *name,
                                                       char *buf, size_t cap);

/* Defaults for every field; method = "okh". */
L2H_API l2h_online_params l2h_online_default_params(void);

/* Names of the available methods, NULL-terminated (static). */
L2H_API const char *const *l2h_online_methods(void);

/* Creates a stream run for dim-dimensional features. Nothing is learned until
 * l2h_online_begin or l2h_online_run. L2H_ERR_ARG for an unknown method or invalid setting. */
L2H_API L2H_NODISCARD l2h_status l2h_online_create(l2h_online **out, const l2h_online_params *p,
                                                   size_t dim);
L2H_API void l2h_online_free(l2h_online *o);

/* ---- artefacts: models, index, checkpoints --------------------------------------------------
 * The current mapping Φ_t is the one being learned; the snapshot Φˢ built the table and
 * encodes queries. */
typedef enum l2h_online_mapping { L2H_ONLINE_CURRENT = 0, L2H_ONLINE_SNAPSHOT = 1 } l2h_online_mapping;
/* A new l2h_model (caller frees) of the current or snapshot mapping; savable with
 * l2h_model_save, usable by encode/eval/index/mi. Its codes equal the run's codes bit for bit.
 * L2H_ERR_STATE before l2h_online_begin. */
L2H_API L2H_NODISCARD l2h_status l2h_online_model(const l2h_online *o, l2h_online_mapping which,
                                                  l2h_model **out);
/* Checkpoints the whole run state (learner parameters, optimiser / learner state, reservoir
 * items + codes + RNG, counters, curve, snapshot mapping, table, and the position of an
 * l2h_online_run_part stream) atomically to a file (temporary file, fsync, rename); a handle
 * loaded from it continues bit for bit like the uninterrupted run. The retrieval set itself is
 * not stored: pass the same db to later pushes. */
L2H_API L2H_NODISCARD l2h_status l2h_online_save(const l2h_online *o, const char *path);
/* Loads a checkpoint into a new handle. L2H_ERR_FORMAT for a malformed or inconsistent file,
 * L2H_ERR_VERSION for a newer format, L2H_ERR_IO if unreadable. *out is NULL on failure. The
 * _mem variant parses buf[len] (borrowed). */
L2H_API L2H_NODISCARD l2h_status l2h_online_load(l2h_online **out, const char *path);
L2H_API L2H_NODISCARD l2h_status l2h_online_load_mem(l2h_online **out, const void *buf,
                                                     size_t len, const char *name);
/* The run's hash table as an l2h_index (ids = rows of the retrieval set; MIH), kept current with
 * l2h_index_replace at every table update; NULL before begin or without a db. Valid until the
 * next call that changes the handle. */
L2H_API const l2h_index *l2h_online_index(const l2h_online *o);

/* ---- the whole protocol in one call -------------------------------------------------------
 * Resets the run, initialises the method from n_init items of `pool` drawn with the seed,
 * builds the table of `db` with the initial mapping, then streams n_items items of `pool` in a
 * seeded random order (a new permutation for every pass if n_items exceeds the pool), and at
 * every checkpoint evaluates the mAP of the `queries` (encoded with the snapshot) against the
 * table. Ground truth: shared label if pool, db and queries carry single labels, otherwise
 * Euclidean distance <= dist_threshold. The datasets are borrowed for the call only. */
L2H_API L2H_NODISCARD l2h_status l2h_online_run(l2h_online *o, const l2h_dataset *pool,
                                                const l2h_dataset *db, const l2h_dataset *queries,
                                                size_t n_items);
/* The same protocol in parts: runs until `stop` of the n_items stream items are consumed
 * (stop >= n_items: to the end) and returns; the handle remembers where the stream is, so a
 * later call with the same datasets and n_items (on this handle or on one loaded from an
 * l2h_online_save checkpoint) continues it. A handle with no run under way starts one. The
 * stop is rounded up to whole learning steps. */
L2H_API L2H_NODISCARD l2h_status l2h_online_run_part(l2h_online *o, const l2h_dataset *pool,
                                                     const l2h_dataset *db,
                                                     const l2h_dataset *queries, size_t n_items,
                                                     size_t stop);

/* ---- feeding a stream yourself ------------------------------------------------------------
 * l2h_online_begin resets the run and initialises the method from init_x[n_init, dim] (labels
 * may be NULL; n_init may be 0 except for OKH, which needs at least okh_anchors items). If db
 * is not NULL, its table is built with the initial mapping and maintained by later pushes
 * (db must then be passed, unchanged, to every push). */
L2H_API L2H_NODISCARD l2h_status l2h_online_begin(l2h_online *o, const float *init_x,
                                                  const int32_t *init_labels, size_t n_init,
                                                  const l2h_dataset *db);
/* Consumes x[n, dim] (labels[n] or NULL) in order. Items are learned in batches of the
 * method's batch size; a partial batch waits for the next push (l2h_online_flush learns it). */
L2H_API L2H_NODISCARD l2h_status l2h_online_push(l2h_online *o, const float *x,
                                                 const int32_t *labels, size_t n,
                                                 const l2h_dataset *db);
L2H_API L2H_NODISCARD l2h_status l2h_online_flush(l2h_online *o, const l2h_dataset *db);

/* ---- read-out ----------------------------------------------------------------------------- */
L2H_API size_t l2h_online_bits(const l2h_online *o);
/* The run's settings (e.g. of a loaded checkpoint); out->method points into the handle. */
L2H_API L2H_NODISCARD l2h_status l2h_online_get_params(const l2h_online *o,
                                                       l2h_online_params *out);
L2H_API size_t l2h_online_dim(const l2h_online *o);
/* Encodes x[n, dim] with the snapshot mapping (the table's): codes[n, l2h_code_bytes(bits)]. */
L2H_API L2H_NODISCARD l2h_status l2h_online_encode(const l2h_online *o, const float *x, size_t n,
                                                   uint8_t *codes);
/* Encodes with the current (possibly newer) mapping Φ_t. */
L2H_API L2H_NODISCARD l2h_status l2h_online_encode_current(const l2h_online *o, const float *x,
                                                           size_t n, uint8_t *codes);
/* Copies the hash table: out[n_db, l2h_code_bytes(bits)]; n_db must match the table. */
L2H_API L2H_NODISCARD l2h_status l2h_online_table(const l2h_online *o, uint8_t *out, size_t n_db);
L2H_API L2H_NODISCARD l2h_status l2h_online_get_stats(const l2h_online *o, l2h_online_stats *out);
/* The curve of the last run: for i < n (n <= stats.n_checkpoints), items[i] = stream items
 * consumed at checkpoint i, map[i] its mAP, updates[i] table updates so far. Any output may be
 * NULL. */
L2H_API L2H_NODISCARD l2h_status l2h_online_curve(const l2h_online *o, size_t n, size_t *items,
                                                  double *map, size_t *updates);

#ifdef __cplusplus
}
#endif
#endif
