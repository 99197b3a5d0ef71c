/* objective.h -- learning objectives on the real outputs z of a hash network and the
 * mini-batch helpers of the supervision they read.
 *
 * Objective contract (style.md 7.6): an objective is an ops table with one function
 *   loss_grad(obj, z[n, bits], n, supervision of those n items, dz[n, bits], &loss)
 * that overwrites dz with dL/dz (dz NULL: loss only). Adding a method (HashNet, JMLH, ...) is one
 * file obj_<method>.c exporting its constructor and keeping everything else static.
 *
 * Supervision: who is whose neighbour among n items, from
 *   - single labels: i ~ j iff labels[i] == labels[j] (any int32 values),
 *   - multi-labels: i ~ j iff rows i and j of the 0/1 matrix share at least one 1,
 *   - an affinity matrix: i ~ j iff affinity[i·n + j] != 0 (row i = anchor i; need not be
 *     symmetric; the diagonal is never read).
 * An item is never its own neighbour here; the quality measure's reference mode adds the self
 * pair explicitly (src/eval/mi_quality.c). The type and the quality measure are declared in
 * src/eval/eval_mi.h. The maths and conventions are in docs/mihash.md. */
#ifndef L2H_OBJECTIVE_H
#define L2H_OBJECTIVE_H

#include "core.h"
#include "eval_mi.h" /* the supervision type and the MI quality live with the evaluation code */

/* Supervision of the m items idx[0..m) of src (a mini-batch), built in buf, which must hold
 * l2h_sup_gather_bytes(src, m) bytes (8-byte aligned); dst views buf. Indices must be < src->n
 * (L2H_ERR_ARG otherwise). */
size_t l2h_sup_gather_bytes(const l2h_supervision *src, size_t m);
l2h_status l2h_sup_gather(const l2h_supervision *src, const size_t *idx, size_t m, void *buf,
                          l2h_supervision *dst);

/* ---- objectives --------------------------------------------------------------------------- */
typedef struct l2h_objective l2h_objective;

typedef struct l2h_objective_ops {
    const char *name; /* "mihash", ... */
    /* See the header comment. Called through l2h_objective_loss_grad, which has checked the
     * arguments (z, loss non-NULL; n >= 1; s describes n items). */
    l2h_status (*loss_grad)(l2h_objective *obj, const float *z, size_t n, const l2h_supervision *s,
                            float *dz, float *loss);
    /* Optional (NULL = nothing to do): called by the training loop before optimiser step
     * `step` (1-based, counted over the whole run) of epoch `epoch` (0-based) of `epochs`, for
     * objectives whose shape changes during training (HashNet's continuation raises β). */
    l2h_status (*begin_step)(l2h_objective *obj, size_t step, size_t epoch, size_t epochs);
    void (*free)(l2h_objective *obj);
} l2h_objective_ops;

/* The first member of every objective's own struct. */
struct l2h_objective {
    const l2h_objective_ops *ops;
    size_t bits;      /* width of z                                                    */
    size_t n_anchors; /* after a call: items that contributed to the loss (diagnostic) */
    /* Parameters the objective owns (JMLH's classifier on the bits), trained by the loop with
     * the network's optimiser, learning rate and weight decay (multipliers 1). loss_grad
     * OVERWRITES grads[n_params] when dz is non-NULL. n_params = 0: none (params/grads NULL). */
    size_t n_params;
    float *params, *grads;
    /* After a call: a second loss the objective reports for diagnostics (HashNet: the loss of
     * the sign codes, L(h)); NAN when the objective has none. */
    float aux_loss;
};

l2h_status l2h_objective_loss_grad(l2h_objective *obj, const float *z, size_t n,
                                   const l2h_supervision *s, float *dz, float *loss);
/* Double-precision staging of a batch's outputs z and gradients dz, grown on demand: the float
 * objectives run their maths in double on these. */
typedef struct l2h_f64_stage {
    size_t cap; /* entries of z and dz */
    double *z, *dz;
} l2h_f64_stage;
/* Makes room for n·bits entries (*nb receives n·bits) and copies z[n, bits] into st->z.
 * L2H_ERR_ARG (size overflow) or L2H_ERR_NOMEM, the message starting with `who`. */
l2h_status l2h_f64_stage_load(l2h_f64_stage *st, const float *z, size_t n, size_t bits,
                              const char *who, size_t *nb);
/* dz[k] = (float)st->dz[k] for k < nb; dz NULL: nothing. */
void l2h_f64_stage_store(const l2h_f64_stage *st, size_t nb, float *dz);
void l2h_f64_stage_free(l2h_f64_stage *st);

/* obj->ops->begin_step if it has one, else L2H_OK. */
l2h_status l2h_objective_begin_step(l2h_objective *obj, size_t step, size_t epoch, size_t epochs);
void l2h_objective_free(l2h_objective *obj); /* NULL is a no-op */

/* ---- MIHash, batch form (obj_mihash.c; seed §3.2, methods.md §1.7) ------------------------ */
typedef struct l2h_mihash_params {
    size_t bins; /* K: K + 1 triangular bins of width b/K centred on 0, b/K, ..., b; 1..bits */
    float scale; /* a in φ = 2σ(a·z) − 1; finite, > 0                                       */
    size_t grades; /* 0: neighbour / non-neighbour (the paper). G in 2..64: MI between the
                    * distance and the graded relevance min(shared labels, G − 1) (class labels:
                    * 0/1, i.e. the paper's objective); mi_graded.c, docs/mihash.md §8         */
    int centre;    /* 1: the MI of the batch-centred outputs z − mean_batch(z) (mean-only batch
                    * normalisation of the outputs; its gradient has zero batch mean per bit).
                    * 0 (default): the paper's objective on z                               */
} l2h_mihash_params;

/* K = min(16, bits), a = 40 (methods.md §1.7: linear layer on centred, L2-normalised
 * features). For deep networks whose outputs are not that small, a = 1..30 (deep-mihash). */
l2h_mihash_params l2h_mihash_default_params(size_t bits);
l2h_status l2h_mihash_params_check(const l2h_mihash_params *p, size_t bits);
/* A sigmoid scale for outputs z[n, bits] that are not in the regime the default assumes:
 * 1 / rms(z), so a·z has unit RMS and φ = 2σ(a·z) − 1 is neither saturated nor linear (the
 * default a = 40 gives a·rms(z) ≈ 0.9 for the reference's linear layer on 4096-d normalised
 * features, initialised with variance 2/4096). Returns 1 for all-zero or non-finite z. */
float l2h_mihash_suggest_scale(const float *z, size_t n, size_t bits);
/* A batch MIHash objective for outputs of width bits (1..L2H_MAX_BITS). */
l2h_status l2h_mihash_create(l2h_objective **out, size_t bits, const l2h_mihash_params *p);
/* The parameters of an objective made by l2h_mihash_create. */
l2h_mihash_params l2h_mihash_objective_params(const l2h_objective *obj);
/* The double-precision computation behind it (exposed for the gradient checks): loss =
 * −mean MI over anchors with both neighbours and non-neighbours in the batch (0 if none);
 * dz[n, bits] (NULL: not computed); *n_anchors (may be NULL) = anchors used. */
l2h_status l2h_mihash_batch_f64(size_t bits, const l2h_mihash_params *p, const double *z, size_t n,
                                const l2h_supervision *s, double *dz, double *loss,
                                size_t *n_anchors);

/* ---- MIHash, online form (obj_mihash_online.c; seed §4.3, methods.md §1.6) ----------------- */
typedef struct l2h_mihash_online_params {
    size_t bins;        /* K, as above                                                     */
    float scale;        /* s in φ = σ(s·y)                                                 */
    int reference_grad; /* 1: the reference code's ∂d/∂φ_k = −φ_rk / 2 (not the gradient) */
} l2h_mihash_online_params;

/* K = min(16, bits), s = 10 (release defaults), exact gradient. */
l2h_mihash_online_params l2h_mihash_online_default_params(size_t bits);
/* rc[n, bits] = σ(clamp(scale · y[n, bits], ±42)): relaxed codes in (0, 1) of reservoir items
 * (hard codes are 0/1 and may be given directly). */
void l2h_mihash_relax(const float *y, size_t n, size_t bits, float scale, float *rc);
/* One item with outputs y[bits] against R reservoir codes rc[R, bits] in [0, 1] (constants),
 * sim[R] nonzero = neighbour of the item. loss = −MI (0 with no neighbours or no
 * non-neighbours); dy[bits] = dloss/dy, or NULL. L2H_ERR_ARG for bad sizes / parameters. */
l2h_status l2h_mihash_online_loss_grad(const l2h_mihash_online_params *p, size_t bits,
                                       const float *y, const float *rc, const uint8_t *sim,
                                       size_t R, float *dy, float *loss);
l2h_status l2h_mihash_online_f64(const l2h_mihash_online_params *p, size_t bits, const double *y,
                                 const float *rc, const uint8_t *sim, size_t R, double *dy,
                                 double *loss);

/* ---- JMLH (obj_jmlh.c; Shen et al. 2019 §2.1, methods.md §4.2-4.3, docs/jmlh.md) ----------- */
typedef enum l2h_jmlh_reg {
    L2H_JMLH_KL = 0,  /* γ · Σ_bits KL(Bernoulli(q) ‖ Bernoulli(½)), q = σ(z)  (JMLH)      */
    L2H_JMLH_QR = 1,  /* γ · Σ_bits (1[z > 0] − q)²: distance of q to its code (JMLH-QR)  */
    L2H_JMLH_NONE = 2 /* no regulariser (JMLH-NR)                                        */
} l2h_jmlh_reg;

typedef struct l2h_jmlh_params {
    size_t n_labels;   /* C: classes (labels in 0..C-1) or multi-label columns; >= 1          */
    double gamma;      /* regulariser weight, finite, >= 0                                    */
    l2h_jmlh_reg reg;
    int deterministic; /* ε = 0.5 while training (TBH) instead of ε ~ U(0, 1) (paper, FIRe)   */
    int continuous;    /* b = q, no binarisation (JMLH-Cont)                                  */
    uint64_t seed;     /* classifier initialisation and the ε stream                          */
} l2h_jmlh_params;

/* C classes, γ = 0.1 (cisip-FIRe; TBH uses 0.2), KL, stochastic, binary, seed 1. */
l2h_jmlh_params l2h_jmlh_default_params(size_t n_labels);
l2h_status l2h_jmlh_params_check(const l2h_jmlh_params *p);

/* The classifier on codes b[n, bits] (any real values; {0,1} in JMLH): a = b·Wᵀ + c with
 * W[C, bits], c[C]. Single labels: loss = mean_i (logsumexp(a_i) − a_i,y_i); multi-labels
 * (s->n_labels must be C): loss = mean_i Σ_k (softplus(a_ik) − y_ik a_ik). Outputs (each may be
 * NULL): db[n, bits], dW[C, bits], dc[C] = gradients of that loss. Affinity supervision and
 * labels outside 0..C-1 are L2H_ERR_ARG. */
l2h_status l2h_jmlh_classifier_f64(size_t C, size_t bits, const double *W, const double *c,
                                   const double *b, size_t n, const l2h_supervision *s,
                                   double *loss, double *db, double *dW, double *dc);
/* The regulariser of `reg` (without γ) summed over z[m] and its gradient dz[m] (may be NULL),
 * computed from the logits so that it is finite for any finite z (q = 0 or 1 in floating
 * point): KL = log 2 − H(q) with log q = −softplus(−z), dKL/dz = z·q(1−q); QR's target 1[z > 0]
 * is piecewise constant, so dQR/dz = −2(1[z > 0] − q)·q(1−q). */
double l2h_jmlh_reg_f64(l2h_jmlh_reg reg, const double *z, size_t m, double *dz);
/* The whole objective in double for logits z[n, bits] with thresholds eps[n, bits] in [0, 1]
 * (bit = 1 iff σ(z) > ε; eps NULL: the continuous bottleneck b = σ(z)):
 *   loss = classifier loss of b + γ · (1/n) Σ_i Σ_bits reg(z_i),
 *   dz = σ'(z) ⊙ (dL/db + γ/n · dreg/dq)  -- the distributional-derivative estimator of SGH as
 *        TBH and FIRe apply it (the gradient at the code passed to q = σ(z)); for eps NULL the
 *        exact gradient.
 * dz, dW, dc, db (dL/db of the classifier part) may be NULL; cls_loss (may be NULL) = the
 * classifier part alone. */
l2h_status l2h_jmlh_f64(const l2h_jmlh_params *p, size_t bits, const double *W, const double *c,
                        const double *z, const double *eps, size_t n, const l2h_supervision *s,
                        double *loss, double *cls_loss, double *dz, double *dW, double *dc,
                        double *db);
/* A JMLH objective for logits of width bits. It owns the classifier: params = [W (C·bits, row
 * major) | c (C)], initialised Glorot-uniform from the seed with c = 0. In training the
 * thresholds ε come from its own RNG seeded with p->seed (one draw per item and bit, in item
 * order), so a run is repeatable. aux_loss = the classifier loss of the batch's ENCODING codes
 * 1[z > 0] (what the saved model produces), NAN never. */
l2h_status l2h_jmlh_create(l2h_objective **out, size_t bits, const l2h_jmlh_params *p);
l2h_jmlh_params l2h_jmlh_objective_params(const l2h_objective *obj);

#endif
