/* obj_hashnet.c -- HashNet's weighted pairwise likelihood (seed eqs. 1-4) with the scaled tanh
 * of continuation (seed §3.2, Algorithm 1); declarations and the exact loss in obj_hashnet.h.
 *
 *   U = tanh(β·Z) [n, b];  Θ = α·U·Uᵀ [n, n];
 *   ℓ_ij = softplus(θ_ij) − s_ij θ_ij, softplus(θ) = max(θ, 0) + log1p(exp(−|θ|)) (finite for
 *   any θ, so for any α and code length);
 * Gradient (exact): G_ij = ∂loss/∂θ_ij = w_ij (σ(θ_ij) − s_ij) (0 off the pair set);
 *   θ_ij = α u_i·u_j is read by pair (i, j) and pair (j, i), so dL/dU = α (G + Gᵀ) U
 *   (a self pair's θ_ii = α|u_i|² gives 2α G_ii u_i, which the same formula contains);
 *   dL/dZ = dL/dU ⊙ β(1 − U²).
 * All arithmetic in double; the float entry converts at the boundary. */
#include "obj_hashnet.h"

#include "l2h/codes.h"
#include "linalg.h"

#include <math.h>
#include <string.h>

double l2h_hashnet_default_alpha(size_t bits)
{
    return bits ? 10.0 / (double)bits : 1.0;
}

l2h_status l2h_hashnet_params_check(const l2h_hashnet_params *o, size_t bits)
{
    L2H_FAIL_IF(o == NULL, L2H_ERR_ARG, "hashnet: NULL options");
    L2H_FAIL_IF(bits == 0 || bits > L2H_MAX_BITS, L2H_ERR_ARG, "hashnet: bits %zu outside 1..%d",
                bits, L2H_MAX_BITS);
    L2H_FAIL_IF(!isfinite(o->alpha) || o->alpha <= 0, L2H_ERR_ARG,
                "hashnet: alpha %g must be finite and > 0", o->alpha);
    L2H_FAIL_IF(o->weighting != L2H_HN_WEIGHT_BATCH &&
                    o->weighting != L2H_HN_WEIGHT_NONE &&
                    o->weighting != L2H_HN_WEIGHT_CONST,
                L2H_ERR_ARG, "hashnet: unknown weighting %d", (int)o->weighting);
    L2H_FAIL_IF(o->weighting == L2H_HN_WEIGHT_CONST &&
                    (!isfinite(o->weight) || o->weight <= 0),
                L2H_ERR_ARG, "hashnet: constant weight %g must be finite and > 0", o->weight);
    if (!o->continuation) return L2H_OK;
    L2H_FAIL_IF(o->n_beta_stages > sizeof o->beta_stages / sizeof o->beta_stages[0], L2H_ERR_ARG,
                "hashnet: %zu beta stages, at most 16", o->n_beta_stages);
    for (size_t k = 0; k < o->n_beta_stages; k++)
        L2H_FAIL_IF(!isfinite(o->beta_stages[k]) || o->beta_stages[k] <= 0, L2H_ERR_ARG,
                    "hashnet: beta stage %zu is %g, must be finite and > 0", k, o->beta_stages[k]);
    if (o->n_beta_stages) return L2H_OK;
    L2H_FAIL_IF(!isfinite(o->beta_gamma) || o->beta_gamma < 0 || !isfinite(o->beta_power),
                L2H_ERR_ARG, "hashnet: beta schedule gamma %g (>= 0) / power %g invalid",
                o->beta_gamma, o->beta_power);
    L2H_FAIL_IF(o->beta_step == 0, L2H_ERR_ARG, "hashnet: beta step must be >= 1 iteration");
    return L2H_OK;
}

double l2h_hashnet_beta(const l2h_hashnet_params *o, size_t step, size_t epoch, size_t epochs)
{
    if (!o->continuation) return 1.0;
    if (o->n_beta_stages) {
        size_t k = epochs ? (size_t)((double)epoch * (double)o->n_beta_stages / (double)epochs) : 0;
        if (k >= o->n_beta_stages) k = o->n_beta_stages - 1;
        return o->beta_stages[k];
    }
    const size_t s = o->beta_step ? o->beta_step : 1;
    const size_t iter = step ? step - 1 : 0;
    const double t = (double)(s * (iter / s));
    return pow(1.0 + o->beta_gamma * t, o->beta_power);
}

/* softplus(t) = log(1 + e^t) and σ(t) from one exp and one log1p; exact for any t. */
static void softplus_sigmoid(double t, double *sp, double *sg)
{
    const double e = exp(-fabs(t));
    *sp = (t > 0 ? t : 0.0) + log1p(e);
    *sg = t >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
}

/* Pair weights for |S1| = n1 similar and |S0| = n0 dissimilar pairs. */
static void pair_weights(const l2h_hashnet_params *o, size_t n1, size_t n0, double *w1, double *w0)
{
    const double a = (double)n1, b = (double)n0;
    switch (o->weighting) {
    case L2H_HN_WEIGHT_BATCH:
        *w1 = n1 ? 1.0 / a : 0.0;
        *w0 = n0 ? 1.0 / b : 0.0;
        return;
    case L2H_HN_WEIGHT_CONST:
        *w1 = o->weight / (o->weight * a + b);
        *w0 = 1.0 / (o->weight * a + b);
        return;
    case L2H_HN_WEIGHT_NONE:
        break;
    }
    *w1 = *w0 = 1.0 / (a + b);
}

/* Σ w_ij ℓ_ij over the pair set given Θ [n, n] (overwritten with G when grad is set) and the
 * similarity flags sim [n, n] (2 = not a pair). Θ is symmetric, so softplus and σ are
 * evaluated once per unordered pair and used by both orders (whose flags may differ). */
static double pair_loss(double *theta, const uint8_t *sim, size_t n, double w1, double w0, int grad)
{
    double l = 0.0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i; j < n; j++) {
            const size_t ij = i * n + j, ji = j * n + i;
            const double t = theta[ij];
            double sp, sg, gij = 0.0, gji = 0.0;
            softplus_sigmoid(t, &sp, &sg);
            if (sim[ij] == 1) {
                l += w1 * (sp - t);
                gij = w1 * (sg - 1.0);
            } else if (sim[ij] == 0) {
                l += w0 * sp;
                gij = w0 * sg;
            }
            if (j != i && sim[ji] == 1) {
                l += w1 * (sp - t);
                gji = w1 * (sg - 1.0);
            } else if (j != i && sim[ji] == 0) {
                l += w0 * sp;
                gji = w0 * sg;
            }
            if (grad) {
                theta[ij] = gij;
                if (j != i) theta[ji] = gji;
            }
        }
    return l;
}

/* The same sum for sign codes: θ = α·k with k = ⟨h_i, h_j⟩ an integer in [−b, b], so the
 * loss of a similar / dissimilar pair is read from tables of the 2b + 1 values (tab[2, 2b+1]). */
static double pair_loss_codes(const double *dot, const uint8_t *sim, size_t n, size_t bits,
                              double alpha, double w1, double w0, double *tab)
{
    const size_t m = 2 * bits + 1;
    for (size_t k = 0; k < m; k++) {
        const double t = alpha * ((double)k - (double)bits);
        double sp, sg;
        softplus_sigmoid(t, &sp, &sg);
        tab[k] = w1 * (sp - t);
        tab[m + k] = w0 * sp;
    }
    double l = 0.0;
    for (size_t k = 0; k < n * n; k++) {
        if (sim[k] == 2) continue;
        const size_t v = (size_t)(dot[k] + (double)bits + 0.5); /* dot is an exact integer */
        l += tab[(sim[k] == 1 ? 0 : m) + v];
    }
    return l;
}

l2h_status l2h_hashnet_loss_f64(size_t bits, const l2h_hashnet_params *o, double beta,
                                const double *z, size_t n, const l2h_supervision *s, double *dz,
                                double *loss, double *loss_codes, size_t *n_pairs)
{
    L2H_TRY(l2h_hashnet_params_check(o, bits));
    L2H_FAIL_IF(!isfinite(beta) || beta <= 0, L2H_ERR_ARG, "hashnet: beta %g must be > 0", beta);
    L2H_FAIL_IF(z == NULL || loss == NULL, L2H_ERR_ARG, "hashnet: NULL argument");
    L2H_FAIL_IF(n == 0, L2H_ERR_ARG, "hashnet: empty batch");
    L2H_TRY(l2h_sup_check(s, n));
    size_t nb, nn;
    L2H_FAIL_IF(!l2h_mul_ok(n, bits, &nb) || !l2h_mul_ok(n, n, &nn), L2H_ERR_ARG,
                "hashnet: batch of %zu too large", n);
    for (size_t k = 0; k < nb; k++)
        L2H_FAIL_IF(!isfinite(z[k]), L2H_ERR_NUMERIC, "hashnet: output z[%zu, %zu] is %g", k / bits,
                    k % bits, z[k]);

    l2h_status st = L2H_OK;
    double *u = l2h_malloc_array(nb, sizeof *u);         /* [n, b] U, then codes H */
    double *theta = l2h_malloc_array(nn, sizeof *theta); /* [n, n] Θ, then G + Gᵀ */
    uint8_t *sim = l2h_malloc(nn);
    double *tab = l2h_malloc_array(2 * (2 * bits + 1), sizeof *tab);
    if (!u || !theta || !sim || !tab)
        L2H_FAIL_GOTO(L2H_ERR_NOMEM, "hashnet: out of memory (batch %zu)", n);

    size_t n1 = 0, n0 = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            uint8_t f = 2;
            if (i != j)
                f = (uint8_t)l2h_sup_similar(s, i, j);
            else if (o->self_pairs)
                f = 1;
            sim[i * n + j] = f;
            n1 += f == 1;
            n0 += f == 0;
        }
    if (n_pairs) *n_pairs = n1 + n0;
    double w1, w0;
    pair_weights(o, n1, n0, &w1, &w0);
    const double a = o->alpha;

    if (loss_codes) {
        for (size_t k = 0; k < nb; k++)
            u[k] = z[k] > 0 ? 1.0 : -1.0;
        l2h_dgemm(false, true, n, n, bits, 1.0, u, bits, u, bits, 0.0, theta, n);
        *loss_codes = n1 + n0 ? pair_loss_codes(theta, sim, n, bits, a, w1, w0, tab) : 0.0;
    }
    for (size_t k = 0; k < nb; k++)
        u[k] = tanh(beta * z[k]);
    l2h_dgemm(false, true, n, n, bits, a, u, bits, u, bits, 0.0, theta, n);
    *loss = n1 + n0 ? pair_loss(theta, sim, n, w1, w0, dz != NULL) : 0.0;
    if (dz == NULL) goto done;
    if (n1 + n0 == 0) {
        memset(dz, 0, nb * sizeof *dz);
        goto done;
    }
    for (size_t i = 0; i < n; i++) /* G + Gᵀ in place */
        for (size_t j = i; j < n; j++) {
            const double g = theta[i * n + j] + theta[j * n + i];
            theta[i * n + j] = theta[j * n + i] = g;
        }
    l2h_dgemm(false, false, n, bits, n, a, theta, n, u, bits, 0.0, dz, bits);
    for (size_t k = 0; k < nb; k++)
        dz[k] *= beta * (1.0 - u[k] * u[k]);
done:
    l2h_free(u);
    l2h_free(theta);
    l2h_free(sim);
    l2h_free(tab);
    return st;
}

/* ---- the float objective ------------------------------------------------------------------ */
typedef struct obj_hashnet {
    l2h_objective base;
    l2h_hashnet_params o;
    double beta;
    l2h_f64_stage f64; /* the batch in double */
} obj_hashnet;

static void hashnet_free(l2h_objective *obj)
{
    obj_hashnet *h = (obj_hashnet *)obj;
    l2h_f64_stage_free(&h->f64);
    l2h_free(h);
}

static l2h_status hashnet_loss_grad(l2h_objective *obj, const float *z, size_t n,
                                    const l2h_supervision *s, float *dz, float *loss)
{
    obj_hashnet *h = (obj_hashnet *)obj;
    const size_t bits = obj->bits;
    size_t nb;
    L2H_TRY(l2h_f64_stage_load(&h->f64, z, n, bits, "hashnet", &nb));
    double l = 0.0, lc = 0.0;
    size_t pairs = 0;
    L2H_TRY(l2h_hashnet_loss_f64(bits, &h->o, h->beta, h->f64.z, n, s, dz ? h->f64.dz : NULL, &l,
                                 &lc, &pairs));
    *loss = (float)l;
    obj->aux_loss = (float)lc;
    obj->n_anchors = pairs;
    l2h_f64_stage_store(&h->f64, nb, dz);
    return L2H_OK;
}

static l2h_status hashnet_begin_step(l2h_objective *obj, size_t step, size_t epoch, size_t epochs)
{
    obj_hashnet *h = (obj_hashnet *)obj;
    h->beta = l2h_hashnet_beta(&h->o, step, epoch, epochs);
    return L2H_OK;
}

static const l2h_objective_ops hashnet_ops = {
    .name = "hashnet",
    .loss_grad = hashnet_loss_grad,
    .begin_step = hashnet_begin_step,
    .free = hashnet_free,
};

l2h_status l2h_hashnet_create(l2h_objective **out, size_t bits, const l2h_hashnet_params *o)
{
    L2H_FAIL_IF(out == NULL, L2H_ERR_ARG, "hashnet: NULL output");
    *out = NULL;
    L2H_TRY(l2h_hashnet_params_check(o, bits));
    obj_hashnet *h = l2h_calloc(1, sizeof *h);
    L2H_NOMEM_IF_NULL(h);
    h->base.ops = &hashnet_ops;
    h->base.bits = bits;
    h->base.aux_loss = NAN;
    h->o = *o;
    h->beta = l2h_hashnet_beta(o, 1, 0, 1);
    *out = &h->base;
    return L2H_OK;
}

double l2h_hashnet_objective_beta(const l2h_objective *obj)
{
    return ((const obj_hashnet *)obj)->beta;
}
