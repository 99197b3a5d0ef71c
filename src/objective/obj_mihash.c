/* obj_mihash.c -- MIHash, batch form (Cakir et al. ICCV 2017 §3.2; methods.md §1.7): every
 * item of the mini-batch is an anchor, its neighbours and non-neighbours are the other items
 * of the batch, and the loss is minus the mean soft-histogram MI (mi_soft.c).
 *
 *   z [n, b] network outputs; φ = 2σ(a·z) − 1 [n, b] (a·z clamped to ±42);
 *   D = (b − Φ·Φᵀ) / 2 [n, n] relaxed Hamming distances (clamped to [0, b]);
 *   anchor i: items j ≠ i, neighbours by the supervision; A = anchors with at least one
 *   neighbour and one non-neighbour; loss = −(1/|A|) Σ_{i∈A} MI_i (0 if A is empty).
 * Gradient (exact chain rule, docs/mihash.md):
 *   G[i, j] = −(1/|A|) ∂MI_i/∂D_ij for i ∈ A (row 0 otherwise, G[i, i] = 0);
 *   D_ij = D_ji is one number read by anchor i's AND anchor j's histograms, and
 *   ∂D_ij/∂φ_i = −φ_j/2, so dL/dΦ = −½ (G + Gᵀ) · Φ;
 *   dL/dz = dL/dφ ⊙ a(1 − φ²)/2   (= 2a σ(1−σ); 0 where a·z was clamped).
 * Centred (p->centre): z is replaced by z − mean_batch(z) per bit before φ, and the gradient
 * goes back through that centring, i.e. each column of dL/dz loses its batch mean. The MI
 * gradient's per-bit common mode (a push of every item of the batch the same way, which makes a
 * still-uninformative bit constant and removes its noise from the distances) is then zero; see
 * docs/mihash.md "Output centring".
 * All arithmetic in double; the float entry converts at the boundary. */
#include "mi_internal.h"

#include "l2h/codes.h"
#include "linalg.h"

#include <math.h>
#include <string.h>

l2h_mihash_params l2h_mihash_default_params(size_t bits)
{
    return (l2h_mihash_params){.bins = bits < 16 ? (bits ? bits : 1) : 16, .scale = 40.0f};
}

l2h_status l2h_mihash_params_check(const l2h_mihash_params *p, size_t bits)
{
    L2H_FAIL_IF(p == NULL, L2H_ERR_ARG, "mihash: NULL parameters");
    L2H_FAIL_IF(bits == 0 || bits > L2H_MAX_BITS, L2H_ERR_ARG, "mihash: bits %zu outside 1..%d",
                bits, L2H_MAX_BITS);
    L2H_FAIL_IF(p->bins < 1 || p->bins > bits, L2H_ERR_ARG, "mihash: bins K = %zu outside 1..%zu",
                p->bins, bits);
    L2H_FAIL_IF(!isfinite(p->scale) || p->scale <= 0.0f, L2H_ERR_ARG,
                "mihash: sigmoid scale %g must be finite and > 0", (double)p->scale);
    L2H_FAIL_IF(p->grades == 1 || p->grades > 64, L2H_ERR_ARG,
                "mihash: %zu relevance grades (0 = binary, else 2..64)", p->grades);
    return L2H_OK;
}

float l2h_mihash_suggest_scale(const float *z, size_t n, size_t bits)
{
    double s2 = 0.0;
    for (size_t k = 0; k < n * bits; k++)
        s2 += (double)z[k] * (double)z[k];
    const double rms = (n > 0 && bits > 0) ? sqrt(s2 / (double)(n * bits)) : 0.0;
    if (!isfinite(rms) || rms <= 0.0) return 1.0f;
    const double a = 1.0 / rms;
    return a < 1e30 ? (float)a : 1e30f;
}

/* φ = 2σ(a·z) − 1 and dφ/dz = a(1 − φ²)/2 (0 where clamped), n·b entries. */
static void relax_pm1(const double *z, size_t m, double a, double *phi, double *dphi)
{
    for (size_t k = 0; k < m; k++) {
        double v = a * z[k];
        const int clamped = v > L2H_MI_SIG_CLAMP || v < -L2H_MI_SIG_CLAMP;
        if (clamped) v = v > 0.0 ? L2H_MI_SIG_CLAMP : -L2H_MI_SIG_CLAMP;
        /* 2σ(v) − 1 = tanh(v/2), accurate near 0 */
        const double f = tanh(0.5 * v);
        phi[k] = f;
        if (dphi) dphi[k] = clamped ? 0.0 : 0.5 * a * (1.0 - f * f);
    }
}

/* v[n, bits] -= the mean of each column. */
static void centre_columns(double *v, size_t n, size_t bits)
{
    for (size_t k = 0; k < bits; k++) {
        double m = 0.0;
        for (size_t i = 0; i < n; i++) m += v[i * bits + k];
        m /= (double)n;
        for (size_t i = 0; i < n; i++) v[i * bits + k] -= m;
    }
}

/* Graded relevance of j to anchor i: min(shared labels, G − 1) (labels and affinity: 0/1). */
static size_t sup_grade(const l2h_supervision *s, size_t i, size_t j, size_t G)
{
    size_t r;
    if (s->kind == L2H_SUP_MULTILABELS) {
        const uint8_t *a = s->multilabels + i * s->n_labels, *b = s->multilabels + j * s->n_labels;
        r = 0;
        for (size_t k = 0; k < s->n_labels; k++) r += (a[k] != 0) & (b[k] != 0);
    } else {
        r = (size_t)l2h_sup_similar(s, i, j);
    }
    return r < G - 1 ? r : G - 1;
}

l2h_status l2h_mihash_batch_f64(size_t bits, const l2h_mihash_params *p, const double *z, size_t n,
                                const l2h_supervision *s, double *dz, double *loss,
                                size_t *n_anchors)
{
    L2H_TRY(l2h_mihash_params_check(p, bits));
    L2H_FAIL_IF(z == NULL || loss == NULL, L2H_ERR_ARG, "mihash: NULL argument");
    L2H_FAIL_IF(n == 0, L2H_ERR_ARG, "mihash: empty batch");
    L2H_TRY(l2h_sup_check(s, n));
    size_t nb, nn;
    L2H_FAIL_IF(!l2h_mul_ok(n, bits, &nb) || !l2h_mul_ok(n, n, &nn), L2H_ERR_ARG,
                "mihash: batch of %zu too large", n);
    for (size_t k = 0; k < nb; k++)
        L2H_FAIL_IF(!isfinite(z[k]), L2H_ERR_NUMERIC, "mihash: output z[%zu, %zu] is %g", k / bits,
                    k % bits, z[k]);

    const size_t K = p->bins;
    const double b = (double)bits, delta = b / (double)K, a = (double)p->scale;
    l2h_status st = L2H_OK;
    double *phi = l2h_malloc_array(nb, sizeof *phi);   /* [n, b] */
    double *dphi = l2h_malloc_array(nb, sizeof *dphi); /* [n, b] dφ/dz, then dL/dφ */
    double *dist = l2h_malloc_array(nn, sizeof *dist); /* [n, n] D */
    double *gmat = l2h_calloc(nn, sizeof *gmat);       /* [n, n] G */
    const size_t G = p->grades;
    double *work = l2h_malloc_array(G ? (G + 1) * (K + 1) + G : 4 * (K + 1), sizeof *work);
    uint8_t *flag = l2h_malloc(n);
    if (!phi || !dphi || !dist || !gmat || !work || !flag)
        L2H_FAIL_GOTO(L2H_ERR_NOMEM, "mihash: out of memory for a batch of %zu", n);

    if (p->centre) { /* φ of the batch-centred outputs; phi holds z − mean(z) until relaxed */
        memcpy(phi, z, nb * sizeof *phi);
        centre_columns(phi, n, bits);
        relax_pm1(phi, nb, a, phi, dphi);
    } else {
        relax_pm1(z, nb, a, phi, dphi);
    }
    /* D[n,n] = Φ[n,b] · Φᵀ[b,n], then (b − D)/2 */
    l2h_dgemm(false, true, n, n, bits, 1.0, phi, bits, phi, bits, 0.0, dist, n);
    for (size_t k = 0; k < nn; k++)
        dist[k] = 0.5 * (b - dist[k]);

    size_t used = 0;
    double mi_sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (G) { /* graded: an anchor needs two different grades among the others */
            uint64_t seen = 0;
            for (size_t j = 0; j < n; j++) {
                flag[j] = j == i ? 0xff : (uint8_t)sup_grade(s, i, j, G);
                if (j != i) seen |= (uint64_t)1 << flag[j];
            }
            if ((seen & (seen - 1)) == 0) continue;
            used++;
            mi_sum += l2h_mi_soft_anchor_graded(dist + i * n, flag, n, G, K, delta,
                                                dz ? gmat + i * n : NULL, work);
            continue;
        }
        size_t npos = 0;
        for (size_t j = 0; j < n; j++) {
            flag[j] = j == i ? L2H_MI_SKIP : (uint8_t)l2h_sup_similar(s, i, j);
            npos += flag[j] == L2H_MI_POS;
        }
        if (npos == 0 || npos == n - 1) continue;
        used++;
        mi_sum +=
            l2h_mi_soft_anchor(dist + i * n, flag, n, K, delta, dz ? gmat + i * n : NULL, work);
    }
    *loss = used ? -mi_sum / (double)used : 0.0;
    if (n_anchors) *n_anchors = used;
    if (dz == NULL) goto done;
    if (used == 0) {
        memset(dz, 0, nb * sizeof *dz);
        goto done;
    }
    /* G = −(1/|A|) ∂MI/∂D, then S = G + Gᵀ in place (upper triangle computed once) */
    const double c = -1.0 / (double)used;
    for (size_t i = 0; i < n; i++) {
        gmat[i * n + i] = 0.0;
        for (size_t j = i + 1; j < n; j++) {
            const double sij = c * (gmat[i * n + j] + gmat[j * n + i]);
            gmat[i * n + j] = sij;
            gmat[j * n + i] = sij;
        }
    }
    /* phi is still needed: dL/dΦ[n,b] = −½ S[n,n] · Φ[n,b], written over dz, then ⊙ dφ/dz */
    l2h_dgemm(false, false, n, bits, n, -0.5, gmat, n, phi, bits, 0.0, dz, bits);
    for (size_t k = 0; k < nb; k++)
        dz[k] *= dphi[k];
    if (p->centre) /* through z − mean(z): P = I − 11ᵀ/n on each column, symmetric */
        centre_columns(dz, n, bits);
done:
    l2h_free(phi);
    l2h_free(dphi);
    l2h_free(dist);
    l2h_free(gmat);
    l2h_free(work);
    l2h_free(flag);
    return st;
}

/* ---- the float objective ------------------------------------------------------------------ */
typedef struct obj_mihash {
    l2h_objective base;
    l2h_mihash_params p;
    l2h_f64_stage f64; /* the batch in double */
} obj_mihash;

static void mihash_free(l2h_objective *obj)
{
    obj_mihash *o = (obj_mihash *)obj;
    l2h_f64_stage_free(&o->f64);
    l2h_free(o);
}

static l2h_status mihash_loss_grad(l2h_objective *obj, const float *z, size_t n,
                                   const l2h_supervision *s, float *dz, float *loss)
{
    obj_mihash *o = (obj_mihash *)obj;
    const size_t bits = obj->bits;
    size_t nb;
    L2H_TRY(l2h_f64_stage_load(&o->f64, z, n, bits, "mihash", &nb));
    double l = 0.0;
    L2H_TRY(l2h_mihash_batch_f64(bits, &o->p, o->f64.z, n, s, dz ? o->f64.dz : NULL, &l,
                                 &obj->n_anchors));
    *loss = (float)l;
    l2h_f64_stage_store(&o->f64, nb, dz);
    return L2H_OK;
}

static const l2h_objective_ops mihash_ops = {
    .name = "mihash",
    .loss_grad = mihash_loss_grad,
    .free = mihash_free,
};

l2h_status l2h_mihash_create(l2h_objective **out, size_t bits, const l2h_mihash_params *p)
{
    L2H_FAIL_IF(out == NULL, L2H_ERR_ARG, "mihash: NULL output");
    *out = NULL;
    L2H_TRY(l2h_mihash_params_check(p, bits));
    obj_mihash *o = l2h_calloc(1, sizeof *o);
    L2H_NOMEM_IF_NULL(o);
    o->base.ops = &mihash_ops;
    o->base.bits = bits;
    o->base.aux_loss = NAN;
    o->p = *p;
    *out = &o->base;
    return L2H_OK;
}

l2h_mihash_params l2h_mihash_objective_params(const l2h_objective *obj)
{
    return ((const obj_mihash *)obj)->p;
}
