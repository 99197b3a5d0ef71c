/* online_internal.h -- what the online stream engine knows about an online hashing method: an
 * ops table (create / bind a learner over the mapping's parameter span, learn, checkpoint
 * visitor), and the few helpers the method files share (linear hash W stored row-wise,
 * affinity between stream items, the reservoir). The engine never looks inside a method's state.
 *
 * Shapes: a linear method keeps W as [bits, dim] row-major (row k = w_k, the k-th hash
 * hyperplane), so that per-bit updates touch one contiguous row. Codes are packed with
 * l2h_codes_pack: bit k = 1 iff w_kᵀx > 0, bit k in byte k/8 at position k%8. */
#ifndef L2H_ONLINE_INTERNAL_H
#define L2H_ONLINE_INTERNAL_H

#include "core.h"
#include "l2h/online.h"
#include "model_internal.h"
#include "mi_codes.h"

#include <stdbool.h>
#include <stddef.h>

/* One learning step's input: n stream items (n = the method's batch size, except possibly a
 * shorter last batch) with their supervision, and the reservoir as it was BEFORE these items
 * were inserted (for methods that learn against it; the baselines ignore it). */
typedef struct l2h_online_batch {
    const float *x;        /* [n, dim]                                              */
    const int32_t *labels; /* [n] class ids, or NULL (unsupervised)                  */
    size_t n;
    float dist_threshold;      /* unsupervised affinity: similar iff ‖xi − xj‖ <= this   */
    const float *res_x;        /* [n_res, dim] reservoir features, may be NULL           */
    const int32_t *res_labels; /* [n_res] or NULL                                      */
    size_t n_res;
} l2h_online_batch;

/* Similarity of two items: same label if labelled, else Euclidean distance <= threshold. */
bool l2h_online_similar(const float *xa, const float *xb, size_t dim, const int32_t *la,
                        const int32_t *lb, float dist_threshold);

/* What a method is created from. The mapping Φ is an l2h_model (preprocessing + network +
 * sign) whose network parameter arena is the method's parameter span: the engine keeps Φ_t and
 * Φˢ as two such models, copies the span on a table update, compares spans for the "mapping
 * unchanged" test, encodes through the model and hands out copies of it (l2h_online_model).
 * A method never owns the span; its state borrows it from the current model. */
typedef struct l2h_online_setup {
    size_t dim, bits;
    const l2h_online_params *p;
    uint64_t seed;
    const float *mean; /* [dim] preprocessing mean the models carry, or NULL */
    int l2_normalize;  /* preprocessing flag the models carry                */
    const void *opts;  /* the method's own options (ops->opts_size bytes), or NULL */
} l2h_online_setup;

/* Checkpoint visitor: one call per named array of the method's learner state (everything that
 * is not in the parameter span: optimiser state, codewords, RNG, counters). Saving copies the
 * values into the file; loading reads them back and fails with L2H_ERR_FORMAT if the file's
 * array has another length. */
typedef struct l2h_online_io l2h_online_io;
bool l2h_online_io_loading(const l2h_online_io *io);
l2h_status l2h_online_io_f64(l2h_online_io *io, const char *name, double *v, size_t n);
l2h_status l2h_online_io_u64(l2h_online_io *io, const char *name, uint64_t *v, size_t n);
l2h_status l2h_online_io_i32(l2h_online_io *io, const char *name, int32_t *v, size_t n);
l2h_status l2h_online_io_i8(l2h_online_io *io, const char *name, int8_t *v, size_t n);
l2h_status l2h_online_io_size(l2h_online_io *io, const char *name, size_t *v);
l2h_status l2h_online_io_rng(l2h_online_io *io, const char *name, l2h_rng *r);
/* Loading: the element count of the array `name` in the file (0 if absent), bounded by the
 * file's real size, so a method can size a variable array before reading it. */
size_t l2h_online_io_count(const l2h_online_io *io, const char *name);

typedef struct l2h_online_ops {
    l2h_method_info info; /* name, summary, batch, needs_labels, option table */
    size_t opts_size;     /* bytes of the method's own option struct (0: none)   */
    size_t batch;         /* items per learn call in the reference protocol (1, 2 or 50)   */
    size_t min_batch;     /* the fewest items a learn call accepts (pairs need 2)          */
    bool needs_labels;    /* OSH: class labels are its supervision                         */
    bool needs_init_data; /* OKH: anchors come from the initial data                       */
    /* Creates the mapping Φ_0 (*map, a new model) and a learner state bound to its span.
     * init_x [n_init, dim] (+ labels, may be NULL) are preprocessed training items the method
     * may use for data-dependent initialisation (OKH anchors); n_init may be 0. */
    l2h_status (*create)(void **state, l2h_model **map, const l2h_online_setup *su,
                         const float *init_x, const int32_t *init_labels, size_t n_init);
    /* A learner state bound to an existing mapping (a checkpoint's); learner arrays are then
     * filled by visit. L2H_ERR_FORMAT if map does not have this method's network shape. */
    l2h_status (*bind)(void **state, l2h_model *map, const l2h_online_setup *su);
    void (*destroy)(void *state);
    /* Learns one batch, updating the bound span. */
    l2h_status (*learn)(void *state, const l2h_online_batch *b);
    /* Saves / loads the learner state beyond the span (may be NULL: nothing else). */
    l2h_status (*visit)(void *state, l2h_online_io *io);
} l2h_online_ops;

/* Method by name; NULL if unknown. */
const l2h_online_ops *l2h_online_find_ops(const char *name);
/* Option table helpers for the method files: an entry stored in l2h_online_params / in the
 * method's own option struct. */
#define L2H_OPT_PARAM(nm, ty, df, field, hp)                                                       \
    {.name = (nm), .type = (ty), .def = (df), .help = (hp), .storage = 0,                          \
     .offset = offsetof(l2h_online_params, field)}
#define L2H_OPT_OWN(nm, ty, df, st, field, hp)                                                     \
    {.name = (nm), .type = (ty), .def = (df), .help = (hp), .storage = 1, .offset = offsetof(st, field)}
#define L2H_OPT_COUNT(table) (sizeof(table) / sizeof((table)[0]))
/* l2h_option_parse / l2h_option_format: model_internal.h */

/* A new mapping model of the method `name` over `net` (TAKEN, freed on failure too) with the
 * setup's preprocessing. */
l2h_status l2h_online_new_model(l2h_model **out, const char *name, l2h_net *net,
                                const l2h_online_setup *su);
/* The linear mapping z = x · Wᵀ + b, W [bits, dim] zero, b zero, as a new model; *w / *b point
 * at its span (W then b). */
l2h_status l2h_online_linear_model(l2h_model **out, const char *name, const l2h_online_setup *su,
                                   float **w, float **b);
/* The create of a linear method that starts from LSH: a linear model with W drawn by
 * l2h_online_lsh_init (seeded by su->seed), b zero, bound to the method's learner by bind. */
l2h_status l2h_online_create_lsh_linear(void **state, l2h_model **map, const char *name,
                                        const l2h_online_setup *su,
                                        l2h_status (*bind)(void **state, l2h_model *map,
                                                           const l2h_online_setup *su));
/* The span of a linear mapping model, checking its shape [bits, dim] (+ bias [bits]):
 * L2H_ERR_FORMAT otherwise. */
l2h_status l2h_online_linear_bind(l2h_model *map, const l2h_online_setup *su, float **w,
                                  float **b);

/* ---- linear hash helpers (online_linear.c) ------------------------------------------------ */

/* LSH initialisation: w[bits, dim] Gaussian, each row scaled to unit L2 norm. */
void l2h_online_lsh_init(float *w, size_t bits, size_t dim, l2h_rng *rng);
/* Rescales every row of w[bits, dim] to unit length (rows of norm 0 left as they are). */
void l2h_online_normalize_rows(float *w, size_t bits, size_t dim);
/* Σ |a − b| over n floats, in double. */
double l2h_online_l1(const float *a, const float *b, size_t n);

/* ---- reservoir (reservoir.c) --------------------------------------------------------------
 * Uniform reservoir sampling in priority form (methods.md §1.4): each stored item carries a
 * priority u ~ U(0,1); while fewer than `cap` items are stored, new items are appended with a
 * fresh priority; when full, a new item draws r ~ U(0,1) and replaces the item of largest
 * priority iff r is smaller (its priority becomes r). The stored set is then the `cap` items of
 * smallest priority seen so far, a uniform sample of the stream. Codes are kept per item. */
typedef struct l2h_reservoir {
    size_t cap, n, dim, bytes;
    float *x;        /* [cap, dim]   */
    int32_t *labels; /* [cap]        */
    uint8_t *codes;  /* [cap, bytes] */
    double *prio;    /* [cap]        */
} l2h_reservoir;

l2h_status l2h_reservoir_init(l2h_reservoir *r, size_t cap, size_t dim, size_t bytes);
void l2h_reservoir_release(l2h_reservoir *r);
void l2h_reservoir_clear(l2h_reservoir *r);
/* Offers one item; returns the slot it went to, or (size_t)-1 if it was not kept. code may be
 * NULL (slot code left to the caller); label may be NULL (stored as -1). */
size_t l2h_reservoir_offer(l2h_reservoir *r, l2h_rng *rng, const float *x, const int32_t *label,
                           const uint8_t *code);

/* ---- trigger quality Q_R and the Trigger Update's decision (online_trigger.c) -------------
 * Q_R of hard codes [n, bytes] (methods.md §1.5, the reference's conventions): neighbours from
 * labels[n] (same label) if given, else from the 0/1 affinity matrix aff[n, n]. */
l2h_status l2h_online_quality(const uint8_t *codes, size_t n, size_t bits, const uint8_t *aff,
                              const int32_t *labels, double *q);
/* Φ⁻¹(p), the standard normal quantile, 0 < p < 1. */
double l2h_online_normal_quantile(double p);

/* The trigger's caches (docs/online.md §4): the snapshot's per-anchor histograms, kept up to
 * date as reservoir slots change; the current mapping's (rebuilt per check); the reservoir's
 * R × R affinity for unlabelled data, kept up to date row by row. */
typedef struct l2h_trigger {
    size_t cap, dim, bits, bytes;
    int active;         /* maintained only for the trigger policies                      */
    int mode;           /* -1 unknown yet, 1 labels, 0 Euclidean affinity                */
    size_t n_aff;       /* reservoir items the caches have seen                          */
    uint8_t *aff;       /* [cap, cap] affinity (mode 0)                                  */
    l2h_mi_codes snap;  /* histograms of the snapshot codes of the reservoir             */
    l2h_mi_codes cur;   /* histograms of the current codes (last check)                  */
    int snap_valid;     /* snap mirrors the reservoir's snapshot codes                   */
    int cur_valid;      /* cur's histograms match its own codes and the reservoir's items
                           (labels / affinity), so a check updates only the changed codes */
    double *mi_snap;    /* [cap] per-anchor MI                                           */
    double *mi_cur;     /* [cap]                                                         */
} l2h_trigger;

typedef struct l2h_trigger_eval {
    double q_cur, q_snap, se; /* Q_R(Φ_t), Q_R(Φˢ), SE of their difference (TRIGGER_SE, _UNPAIRED) */
} l2h_trigger_eval;

l2h_status l2h_trigger_init(l2h_trigger *t, size_t cap, size_t dim, size_t bits);
void l2h_trigger_release(l2h_trigger *t);
/* The reservoir was emptied (l2h_online_begin); active = a trigger policy is in use. */
void l2h_trigger_reset(l2h_trigger *t, int active);
/* The reservoir's snapshot codes were recomputed with a new mapping. */
void l2h_trigger_snapshot_changed(l2h_trigger *t);
/* Slot k of r now holds a new item (appended or replacing): call after every kept offer. */
void l2h_trigger_slot_changed(l2h_trigger *t, const l2h_reservoir *r, size_t k, int labelled,
                              float thr);
/* The decision for the current reservoir codes cur_codes[r->n, bytes] (under Φ_t) against the
 * snapshot codes r->codes: *fire = 1 to update. z = the TRIGGER_SE quantile. ev may be NULL. */
l2h_status l2h_trigger_decide(l2h_trigger *t, const l2h_reservoir *r, const uint8_t *cur_codes,
                              l2h_online_policy policy, double theta, double z, int *fire,
                              l2h_trigger_eval *ev);
/* After an update Φˢ := Φ_t: if the new snapshot codes equal the current codes of the last
 * check, the current histograms become the snapshot's (no rebuild); otherwise invalidate. */
void l2h_trigger_adopt_current(l2h_trigger *t, const uint8_t *snap_codes, const uint8_t *cur_codes,
                               size_t n);

#endif
