/* obj_jmlh.c -- JMLH (Shen et al., "Embarrassingly simple binary representation learning",
 * ICCVW 2019; seed §2.1, methods.md §4): the hash network's b logits z pass a stochastic binary
 * bottleneck, and a linear classifier on the {0,1} code predicts the labels.
 *
 *   q = σ(z) [n, b];  bit = 1[q > ε], ε ~ U(0,1) per item and bit in training (paper, FIRe),
 *   ε = 0.5 with `deterministic` (TBH) and when encoding (bit = 1 iff z > 0: the model's sign);
 *   JMLH-Cont: b = q.
 *   a = b·Wᵀ + c [n, C]; single labels: softmax cross-entropy; multi-labels: per-label sigmoid
 *   and binary cross-entropy (summed over labels); both averaged over the batch.
 *   loss = classifier loss + γ · (1/n) Σ_i Σ_bits reg(z_i)   (seed eq. 3)
 * Backward through the bottleneck (seed eqs. 5-6, SGH's distributional derivative as TBH/FIRe
 * code it): dL/dq := dL/db (the gradient at the sampled code), then dL/dz = q(1−q)·(dL/dq +
 * dreg/dq). KL, QR and their derivatives are computed from the logits (safe at q = 0 or 1).
 * All arithmetic in double; the float entry converts at the boundary. docs/jmlh.md. */
#include "objective.h"

#include "l2h/codes.h"

#include <math.h>
#include <string.h>

#define JMLH_INIT_SALT 0x6a6d6c68c1a55ull /* classifier initialisation stream */

l2h_jmlh_params l2h_jmlh_default_params(size_t n_labels)
{
    return (l2h_jmlh_params){.n_labels = n_labels, .gamma = 0.1, .reg = L2H_JMLH_KL, .seed = 1};
}

l2h_status l2h_jmlh_params_check(const l2h_jmlh_params *p)
{
    L2H_FAIL_IF(p == NULL, L2H_ERR_ARG, "jmlh: NULL parameters");
    L2H_FAIL_IF(p->n_labels == 0, L2H_ERR_ARG, "jmlh: the classifier needs at least 1 label");
    L2H_FAIL_IF(!isfinite(p->gamma) || p->gamma < 0, L2H_ERR_ARG,
                "jmlh: regulariser weight gamma %g must be finite and >= 0", p->gamma);
    L2H_FAIL_IF(p->reg != L2H_JMLH_KL && p->reg != L2H_JMLH_QR && p->reg != L2H_JMLH_NONE,
                L2H_ERR_ARG, "jmlh: unknown regulariser %d", (int)p->reg);
    return L2H_OK;
}

/* log(1 + e^x) without overflow or cancellation. */
static double softplus(double x)
{
    return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}

static double sigmoid(double x)
{
    if (x >= 0) return 1.0 / (1.0 + exp(-x));
    const double e = exp(x);
    return e / (1.0 + e);
}

static l2h_status check_sup(size_t C, size_t n, const l2h_supervision *s)
{
    L2H_TRY(l2h_sup_check(s, n));
    L2H_FAIL_IF(s->kind == L2H_SUP_AFFINITY, L2H_ERR_ARG,
                "jmlh: needs class labels or multi-labels for its classifier; affinity "
                "(pairwise) supervision has none");
    if (s->kind == L2H_SUP_MULTILABELS)
        L2H_FAIL_IF(s->n_labels != C, L2H_ERR_ARG,
                    "jmlh: multi-labels with %zu columns, classifier built for %zu", s->n_labels,
                    C);
    else
        for (size_t i = 0; i < n; i++)
            L2H_FAIL_IF(s->labels[i] < 0 || (size_t)s->labels[i] >= C, L2H_ERR_ARG,
                        "jmlh: label %d of item %zu outside the classifier's 0..%zu",
                        (int)s->labels[i], i, C - 1);
    return L2H_OK;
}

/* Classifier loss and gradients; arguments already checked. a is scratch [C]. */
static double classifier(size_t C, size_t bits, const double *W, const double *c, const double *b,
                         size_t n, const l2h_supervision *s, double *db, double *dW, double *dc,
                         double *a)
{
    const double inv_n = 1.0 / (double)n;
    double loss = 0.0;
    if (dW) memset(dW, 0, C * bits * sizeof *dW);
    if (dc) memset(dc, 0, C * sizeof *dc);
    for (size_t i = 0; i < n; i++) {
        const double *bi = b + i * bits;
        for (size_t k = 0; k < C; k++) {
            double v = c[k];
            const double *wk = W + k * bits;
            for (size_t j = 0; j < bits; j++)
                v += wk[j] * bi[j];
            a[k] = v;
        }
        if (s->kind == L2H_SUP_LABELS) {
            const size_t y = (size_t)s->labels[i];
            double mx = a[0];
            for (size_t k = 1; k < C; k++)
                mx = a[k] > mx ? a[k] : mx;
            double se = 0.0;
            for (size_t k = 0; k < C; k++)
                se += exp(a[k] - mx);
            loss += mx + log(se) - a[y];
            for (size_t k = 0; k < C; k++) /* a := dL/da = (softmax − onehot) / n */
                a[k] = (exp(a[k] - mx) / se - (k == y)) * inv_n;
        } else {
            const uint8_t *yi = s->multilabels + i * C;
            for (size_t k = 0; k < C; k++) {
                const double y = yi[k] ? 1.0 : 0.0;
                loss += softplus(a[k]) - y * a[k];
                a[k] = (sigmoid(a[k]) - y) * inv_n;
            }
        }
        if (dc)
            for (size_t k = 0; k < C; k++)
                dc[k] += a[k];
        if (dW)
            for (size_t k = 0; k < C; k++)
                for (size_t j = 0; j < bits; j++)
                    dW[k * bits + j] += a[k] * bi[j];
        if (db) {
            double *g = db + i * bits;
            memset(g, 0, bits * sizeof *g);
            for (size_t k = 0; k < C; k++)
                for (size_t j = 0; j < bits; j++)
                    g[j] += a[k] * W[k * bits + j];
        }
    }
    return loss * inv_n;
}

l2h_status l2h_jmlh_classifier_f64(size_t C, size_t bits, const double *W, const double *c,
                                   const double *b, size_t n, const l2h_supervision *s,
                                   double *loss, double *db, double *dW, double *dc)
{
    L2H_FAIL_IF(W == NULL || c == NULL || b == NULL || loss == NULL, L2H_ERR_ARG,
                "jmlh: NULL argument");
    L2H_FAIL_IF(C == 0 || bits == 0 || n == 0, L2H_ERR_ARG,
                "jmlh: empty classifier or batch (C %zu, bits %zu, n %zu)", C, bits, n);
    L2H_TRY(check_sup(C, n, s));
    double *a = l2h_malloc_array(C, sizeof *a);
    L2H_NOMEM_IF_NULL(a);
    *loss = classifier(C, bits, W, c, b, n, s, db, dW, dc, a);
    l2h_free(a);
    return L2H_OK;
}

double l2h_jmlh_reg_f64(l2h_jmlh_reg reg, const double *z, size_t m, double *dz)
{
    double r = 0.0;
    for (size_t k = 0; k < m; k++) {
        const double x = z[k], q = sigmoid(x), dq = q * (1.0 - q);
        double g = 0.0;
        if (reg == L2H_JMLH_KL) {
            /* KL(q ‖ ½) = log 2 + q log q + (1−q) log(1−q), log q = −softplus(−x) */
            r += 0.69314718055994530942 - q * softplus(-x) - (1.0 - q) * softplus(x);
            g = x * dq; /* dKL/dq = log(q / (1−q)) = x */
        } else if (reg == L2H_JMLH_QR) {
            const double t = x > 0 ? 1.0 : 0.0;
            r += (t - q) * (t - q);
            g = -2.0 * (t - q) * dq;
        }
        if (dz) dz[k] = g;
    }
    return r;
}

l2h_status l2h_jmlh_f64(const l2h_jmlh_params *p, size_t bits, const double *W, const double *c,
                        const double *z, const double *eps, size_t n, const l2h_supervision *s,
                        double *loss, double *cls_loss, double *dz, double *dW, double *dc,
                        double *db)
{
    L2H_TRY(l2h_jmlh_params_check(p));
    L2H_FAIL_IF(W == NULL || c == NULL || z == NULL || loss == NULL, L2H_ERR_ARG,
                "jmlh: NULL argument");
    L2H_FAIL_IF(bits == 0 || bits > L2H_MAX_BITS, L2H_ERR_ARG, "jmlh: bits %zu outside 1..%d", bits,
                L2H_MAX_BITS);
    L2H_FAIL_IF(n == 0, L2H_ERR_ARG, "jmlh: empty batch");
    L2H_TRY(check_sup(p->n_labels, n, s));
    size_t nb;
    L2H_FAIL_IF(!l2h_mul_ok(n, bits, &nb), L2H_ERR_ARG, "jmlh: batch of %zu too large", n);
    for (size_t k = 0; k < nb; k++)
        L2H_FAIL_IF(!isfinite(z[k]), L2H_ERR_NUMERIC, "jmlh: logit z[%zu, %zu] is %g", k / bits,
                    k % bits, z[k]);
    const size_t C = p->n_labels;
    double *b = l2h_malloc_array(nb, sizeof *b);
    double *g = dz ? l2h_malloc_array(nb, sizeof *g) : NULL;
    double *a = l2h_malloc_array(C, sizeof *a);
    if (!b || !a || (dz && !g)) {
        l2h_free(b);
        l2h_free(g);
        l2h_free(a);
        L2H_FAIL(L2H_ERR_NOMEM, "jmlh: out of memory for a batch of %zu", n);
    }
    for (size_t k = 0; k < nb; k++) {
        const double q = sigmoid(z[k]);
        b[k] = eps == NULL ? q : (q > eps[k] ? 1.0 : 0.0);
    }
    const double lc =
        classifier(C, bits, W, c, b, n, s, dz || db ? (db ? db : g) : NULL, dW, dc, a);
    if (db && dz) memcpy(g, db, nb * sizeof *g);
    const double wr = p->reg == L2H_JMLH_NONE ? 0.0 : p->gamma / (double)n;
    /* the regulariser's dz goes to b temporarily (b is no longer needed) */
    const double lr = wr > 0 ? l2h_jmlh_reg_f64(p->reg, z, nb, dz ? b : NULL) : 0.0;
    *loss = lc + wr * lr;
    if (cls_loss) *cls_loss = lc;
    if (dz)
        for (size_t k = 0; k < nb; k++) {
            const double q = sigmoid(z[k]);
            dz[k] = q * (1.0 - q) * g[k] + (wr > 0 ? wr * b[k] : 0.0);
        }
    l2h_free(b);
    l2h_free(g);
    l2h_free(a);
    return L2H_OK;
}

/* ---- the float objective ------------------------------------------------------------------ */
typedef struct obj_jmlh {
    l2h_objective base;
    l2h_jmlh_params p;
    l2h_rng rng; /* ε stream */
    size_t cap;  /* entries of zd, dzd, eps */
    double *zd, *dzd, *eps;
    double *wd; /* [C·bits + C] classifier parameters as double */
    double *gd; /* [C·bits + C] their gradient                   */
} obj_jmlh;

static void jmlh_free(l2h_objective *obj)
{
    obj_jmlh *o = (obj_jmlh *)obj;
    l2h_free(o->zd);
    l2h_free(o->dzd);
    l2h_free(o->eps);
    l2h_free(o->wd);
    l2h_free(o->gd);
    l2h_free(o->base.params);
    l2h_free(o->base.grads);
    l2h_free(o);
}

static l2h_status jmlh_reserve(obj_jmlh *o, size_t nb)
{
    if (nb <= o->cap) return L2H_OK;
    double *zd = l2h_malloc_array(nb, sizeof *zd), *dzd = l2h_malloc_array(nb, sizeof *dzd);
    double *eps = l2h_malloc_array(nb, sizeof *eps);
    if (!zd || !dzd || !eps) {
        l2h_free(zd);
        l2h_free(dzd);
        l2h_free(eps);
        L2H_FAIL(L2H_ERR_NOMEM, "jmlh: out of memory for %zu outputs", nb);
    }
    l2h_free(o->zd);
    l2h_free(o->dzd);
    l2h_free(o->eps);
    o->zd = zd;
    o->dzd = dzd;
    o->eps = eps;
    o->cap = nb;
    return L2H_OK;
}

static l2h_status jmlh_loss_grad(l2h_objective *obj, const float *z, size_t n,
                                 const l2h_supervision *s, float *dz, float *loss)
{
    obj_jmlh *o = (obj_jmlh *)obj;
    const size_t bits = obj->bits, C = o->p.n_labels, np = obj->n_params;
    size_t nb;
    L2H_FAIL_IF(!l2h_mul_ok(n, bits, &nb), L2H_ERR_ARG, "jmlh: batch of %zu too large", n);
    L2H_TRY(jmlh_reserve(o, nb));
    for (size_t k = 0; k < nb; k++)
        o->zd[k] = (double)z[k];
    for (size_t k = 0; k < np; k++)
        o->wd[k] = (double)obj->params[k];
    const double *W = o->wd, *c = o->wd + C * bits;
    /* ε: U(0,1) draws only when a gradient is asked for (a training step); a loss-only call
     * and the deterministic variant use 0.5 (the encoding threshold) and consume nothing */
    const int sample = dz && !o->p.deterministic && !o->p.continuous;
    for (size_t k = 0; k < nb; k++)
        o->eps[k] = sample ? l2h_rng_uniform(&o->rng) : 0.5;
    double l = 0.0;
    L2H_TRY(l2h_jmlh_f64(&o->p, bits, W, c, o->zd, o->p.continuous ? NULL : o->eps, n, s, &l, NULL,
                         dz ? o->dzd : NULL, dz ? o->gd : NULL, dz ? o->gd + C * bits : NULL,
                         NULL));
    *loss = (float)l;
    obj->n_anchors = n;
    if (dz) {
        for (size_t k = 0; k < nb; k++)
            dz[k] = (float)o->dzd[k];
        for (size_t k = 0; k < np; k++)
            obj->grads[k] = (float)o->gd[k];
    }
    /* aux: the classifier loss of the encoding codes 1[z > 0] */
    for (size_t k = 0; k < nb; k++)
        o->dzd[k] = o->zd[k] > 0 ? 1.0 : 0.0;
    double la = NAN;
    L2H_TRY(l2h_jmlh_classifier_f64(C, bits, W, c, o->dzd, n, s, &la, NULL, NULL, NULL));
    obj->aux_loss = (float)la;
    return L2H_OK;
}

static const l2h_objective_ops jmlh_ops = {
    .name = "jmlh",
    .loss_grad = jmlh_loss_grad,
    .free = jmlh_free,
};

l2h_status l2h_jmlh_create(l2h_objective **out, size_t bits, const l2h_jmlh_params *p)
{
    L2H_FAIL_IF(out == NULL, L2H_ERR_ARG, "jmlh: NULL output");
    *out = NULL;
    L2H_TRY(l2h_jmlh_params_check(p));
    L2H_FAIL_IF(bits == 0 || bits > L2H_MAX_BITS, L2H_ERR_ARG, "jmlh: bits %zu outside 1..%d", bits,
                L2H_MAX_BITS);
    const size_t C = p->n_labels;
    size_t np;
    L2H_FAIL_IF(!l2h_mul_ok(C, bits + 1, &np), L2H_ERR_ARG, "jmlh: %zu labels too many", C);
    obj_jmlh *o = l2h_calloc(1, sizeof *o);
    L2H_NOMEM_IF_NULL(o);
    o->base.ops = &jmlh_ops;
    o->base.bits = bits;
    o->base.aux_loss = NAN;
    o->base.n_params = np;
    o->base.params = l2h_malloc_array(np, sizeof(float));
    o->base.grads = l2h_calloc(np, sizeof(float));
    o->wd = l2h_malloc_array(np, sizeof *o->wd);
    o->gd = l2h_malloc_array(np, sizeof *o->gd);
    if (!o->base.params || !o->base.grads || !o->wd || !o->gd) {
        jmlh_free(&o->base);
        L2H_FAIL(L2H_ERR_NOMEM, "jmlh: out of memory for a %zu x %zu classifier", C, bits);
    }
    o->p = *p;
    /* Glorot uniform W (the Keras Dense default of the TBH code), zero bias */
    l2h_rng init;
    l2h_rng_seed(&init, p->seed ^ JMLH_INIT_SALT);
    const double lim = sqrt(6.0 / (double)(bits + C));
    for (size_t k = 0; k < C * bits; k++)
        o->base.params[k] = (float)(lim * (2.0 * l2h_rng_uniform(&init) - 1.0));
    for (size_t k = C * bits; k < np; k++)
        o->base.params[k] = 0.0f;
    l2h_rng_seed(&o->rng, p->seed);
    *out = &o->base;
    return L2H_OK;
}

l2h_jmlh_params l2h_jmlh_objective_params(const l2h_objective *obj)
{
    return ((const obj_jmlh *)obj)->p;
}
