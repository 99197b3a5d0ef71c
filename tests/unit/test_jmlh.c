/* test_jmlh.c -- the JMLH objective (obj_jmlh.c): central differences in double for every
 * deterministic part (the classifier's cross-entropy / binary cross-entropy w.r.t. its weights,
 * its bias and the code; KL and QR w.r.t. the logits; the continuous bottleneck end to end;
 * linear and MLP networks with the float objective on top); the statistics of the stochastic
 * estimator on a 3-bit case enumerated exactly; safety at q = 0 / 1; repeatability for a seed;
 * argument errors; and l2h_train + model files (the classifier is kept in the file, encoding
 * does not use it). */
#include "check.h"
#include "gradcheck.h"
#include "shadow_nn.h"

#include "core.h"
#include "l2h/l2h.h"
#include "model_internal.h"
#include "nn_internal.h"
#include "objective.h"
#include "safetensors.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static l2h_rng g_rng;

static void normal(double *x, size_t n, double s)
{
    for (size_t i = 0; i < n; i++)
        x[i] = s * l2h_rng_normal(&g_rng);
}

static double sigm(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

/* ---- the classifier ----------------------------------------------------------------------- */
enum { CN = 6, CC = 4, CB = 5 };

typedef struct cls_ctx {
    double W[CC * CB], c[CC], b[CN * CB];
    const l2h_supervision *s;
} cls_ctx;

static double cls_loss(void *vc)
{
    cls_ctx *k = vc;
    double l = NAN;
    if (l2h_jmlh_classifier_f64(CC, CB, k->W, k->c, k->b, CN, k->s, &l, NULL, NULL, NULL) != L2H_OK)
        return NAN;
    return l;
}

/* The loss from the definitions: −log softmax, or Σ −y log σ(a) − (1−y) log(1−σ(a)). */
static double plain_cls(const cls_ctx *k)
{
    double sum = 0;
    for (size_t i = 0; i < CN; i++) {
        double a[CC], se = 0;
        for (size_t r = 0; r < CC; r++) {
            a[r] = k->c[r];
            for (size_t j = 0; j < CB; j++)
                a[r] += k->W[r * CB + j] * k->b[i * CB + j];
            se += exp(a[r]);
        }
        if (k->s->kind == L2H_SUP_LABELS)
            sum -= log(exp(a[k->s->labels[i]]) / se);
        else
            for (size_t r = 0; r < CC; r++) {
                const double p = sigm(a[r]);
                sum -= k->s->multilabels[i * CC + r] ? log(p) : log(1 - p);
            }
    }
    return sum / CN;
}

static void test_classifier(void)
{
    int32_t lab[CN];
    uint8_t ml[CN * CC];
    for (size_t i = 0; i < CN; i++) {
        lab[i] = (int32_t)(i % CC);
        for (size_t r = 0; r < CC; r++)
            ml[i * CC + r] = (uint8_t)((i + r) % 3 == 0);
    }
    const l2h_supervision sups[2] = {
        {.kind = L2H_SUP_LABELS, .n = CN, .labels = lab},
        {.kind = L2H_SUP_MULTILABELS, .n = CN, .multilabels = ml, .n_labels = CC}};
    for (int t = 0; t < 2; t++) {
        cls_ctx k = {.s = &sups[t]};
        normal(k.W, CC * CB, 0.8);
        normal(k.c, CC, 0.5);
        for (size_t q = 0; q < CN * CB; q++) /* codes and real values alike */
            k.b[q] = q % 2 ? (double)(l2h_rng_next(&g_rng) & 1) : l2h_rng_uniform(&g_rng);
        double l, db[CN * CB], dW[CC * CB], dc[CC];
        CHECK_OK(l2h_jmlh_classifier_f64(CC, CB, k.W, k.c, k.b, CN, k.s, &l, db, dW, dc));
        CHECK_NEAR(l, plain_cls(&k), 1e-12, 1e-12);
        const gc_opts o = {.h = 1e-5, .rtol = 1e-6, .atol = 1e-9, .max_coords = 1000};
        CHECK(gc_check_f64(t ? "bce dW" : "ce dW", cls_loss, &k, k.W, CC * CB, dW, &o).bad == 0);
        CHECK(gc_check_f64(t ? "bce dc" : "ce dc", cls_loss, &k, k.c, CC, dc, &o).bad == 0);
        CHECK(gc_check_f64(t ? "bce db" : "ce db", cls_loss, &k, k.b, CN * CB, db, &o).bad == 0);
        /* zero classifier: log C per item, or C log 2 */
        memset(k.W, 0, sizeof k.W);
        memset(k.c, 0, sizeof k.c);
        CHECK_OK(l2h_jmlh_classifier_f64(CC, CB, k.W, k.c, k.b, CN, k.s, &l, NULL, NULL, NULL));
        CHECK_NEAR(l, t ? CC * log(2.0) : log((double)CC), 1e-14, 0);
        /* huge logits stay finite (log-sum-exp, softplus) */
        for (size_t r = 0; r < CC; r++)
            k.c[r] = r % 2 ? 800.0 : -800.0;
        CHECK_OK(l2h_jmlh_classifier_f64(CC, CB, k.W, k.c, k.b, CN, k.s, &l, db, dW, dc));
        CHECK(isfinite(l) && l > 100);
        for (size_t r = 0; r < CC; r++)
            CHECK(isfinite(dc[r]));
    }
}

/* ---- regularisers ------------------------------------------------------------------------- */
typedef struct reg_ctx {
    l2h_jmlh_reg reg;
    double z[16];
} reg_ctx;

static double reg_loss(void *vc)
{
    reg_ctx *r = vc;
    return l2h_jmlh_reg_f64(r->reg, r->z, 16, NULL);
}

static void test_regularisers(void)
{
    reg_ctx r = {.reg = L2H_JMLH_KL};
    normal(r.z, 16, 2.0);
    for (size_t k = 0; k < 16; k++) /* QR has a jump at 0: keep away from it */
        if (fabs(r.z[k]) < 0.1) r.z[k] = 0.3;
    double dz[16], kl = 0;
    for (size_t k = 0; k < 16; k++) {
        const double q = sigm(r.z[k]);
        kl += q * log(q / 0.5) + (1 - q) * log((1 - q) / 0.5);
    }
    CHECK_NEAR(l2h_jmlh_reg_f64(L2H_JMLH_KL, r.z, 16, dz), kl, 1e-12, 1e-14);
    const gc_opts o = {.h = 1e-5, .rtol = 1e-6, .atol = 1e-10, .max_coords = 16};
    CHECK(gc_check_f64("kl dz", reg_loss, &r, r.z, 16, dz, &o).bad == 0);
    r.reg = L2H_JMLH_QR;
    double qr = 0;
    for (size_t k = 0; k < 16; k++) {
        const double q = sigm(r.z[k]), t = r.z[k] > 0;
        qr += (t - q) * (t - q);
    }
    CHECK_NEAR(l2h_jmlh_reg_f64(L2H_JMLH_QR, r.z, 16, dz), qr, 1e-12, 1e-14);
    CHECK(gc_check_f64("qr dz", reg_loss, &r, r.z, 16, dz, &o).bad == 0);
    CHECK(l2h_jmlh_reg_f64(L2H_JMLH_NONE, r.z, 16, dz) == 0.0 && dz[3] == 0.0);
    /* q = 0 or 1 in floating point: KL -> log 2, gradient -> 0, nothing NaN */
    const double ext[6] = {-1e300, -800, -40, 40, 800, 1e300};
    double d6[6];
    const double kl6 = l2h_jmlh_reg_f64(L2H_JMLH_KL, ext, 6, d6);
    CHECK_NEAR(kl6, 6 * log(2.0), 1e-12, 0);
    for (size_t k = 0; k < 6; k++)
        CHECK(isfinite(d6[k]) && fabs(d6[k]) < 1e-12);
    CHECK(l2h_jmlh_reg_f64(L2H_JMLH_QR, ext, 6, d6) < 1e-30);
    /* at z = 0: KL 0 with zero slope */
    const double zero = 0.0;
    CHECK(l2h_jmlh_reg_f64(L2H_JMLH_KL, &zero, 1, d6) == 0.0 && d6[0] == 0.0);
}

/* ---- the whole objective, continuous bottleneck (exact gradient) --------------------------- */
enum { EN = 5, EB = 6, EC = 3 };

typedef struct obj_ctx {
    l2h_jmlh_params p;
    double W[EC * EB], c[EC], z[EN * EB];
    const double *eps;
    const l2h_supervision *s;
} obj_ctx;

static double obj_loss(void *vc)
{
    obj_ctx *k = vc;
    double l = NAN;
    if (l2h_jmlh_f64(&k->p, EB, k->W, k->c, k->z, k->eps, EN, k->s, &l, NULL, NULL, NULL, NULL,
                     NULL) != L2H_OK)
        return NAN;
    return l;
}

static void test_continuous_exact(void)
{
    int32_t lab[EN];
    uint8_t ml[EN * EC];
    for (size_t i = 0; i < EN; i++) {
        lab[i] = (int32_t)(i % EC);
        for (size_t r = 0; r < EC; r++)
            ml[i * EC + r] = (uint8_t)((i * 7 + r) % 2);
    }
    const l2h_supervision sups[2] = {
        {.kind = L2H_SUP_LABELS, .n = EN, .labels = lab},
        {.kind = L2H_SUP_MULTILABELS, .n = EN, .multilabels = ml, .n_labels = EC}};
    const l2h_jmlh_reg regs[3] = {L2H_JMLH_KL, L2H_JMLH_QR, L2H_JMLH_NONE};
    for (int t = 0; t < 2; t++)
        for (int g = 0; g < 3; g++) {
            obj_ctx k = {.p = l2h_jmlh_default_params(EC), .s = &sups[t]};
            k.p.continuous = 1;
            k.p.reg = regs[g];
            k.p.gamma = 0.7;
            normal(k.W, EC * EB, 1.0);
            normal(k.c, EC, 0.3);
            normal(k.z, EN * EB, 1.5);
            for (size_t q = 0; q < EN * EB; q++)
                if (fabs(k.z[q]) < 0.05) k.z[q] = 0.2;
            double l, lc, dz[EN * EB], dW[EC * EB], dc[EC];
            CHECK_OK(
                l2h_jmlh_f64(&k.p, EB, k.W, k.c, k.z, NULL, EN, k.s, &l, &lc, dz, dW, dc, NULL));
            /* the parts add up: classifier on σ(z) + γ/n · reg */
            double b[EN * EB], l0;
            for (size_t q = 0; q < EN * EB; q++)
                b[q] = sigm(k.z[q]);
            CHECK_OK(l2h_jmlh_classifier_f64(EC, EB, k.W, k.c, b, EN, k.s, &l0, NULL, NULL, NULL));
            CHECK_NEAR(lc, l0, 1e-13, 0);
            CHECK_NEAR(l, l0 + 0.7 / EN * l2h_jmlh_reg_f64(regs[g], k.z, EN * EB, NULL), 1e-13, 0);
            const gc_opts o = {.h = 1e-5, .rtol = 1e-6, .atol = 1e-10, .max_coords = 100};
            CHECK(gc_check_f64("cont dz", obj_loss, &k, k.z, EN * EB, dz, &o).bad == 0);
            CHECK(gc_check_f64("cont dW", obj_loss, &k, k.W, EC * EB, dW, &o).bad == 0);
            CHECK(gc_check_f64("cont dc", obj_loss, &k, k.c, EC, dc, &o).bad == 0);
        }
}

/* Binary bottleneck with fixed thresholds: the loss is exact in W and c (a plain classifier on
 * the code), and dz is the straight-through-sigmoid estimator q(1−q)·(dL/db + γ/n dreg/dq). */
static void test_binary_fixed_eps(void)
{
    int32_t lab[EN];
    for (size_t i = 0; i < EN; i++)
        lab[i] = (int32_t)(i % EC);
    const l2h_supervision s = {.kind = L2H_SUP_LABELS, .n = EN, .labels = lab};
    obj_ctx k = {.p = l2h_jmlh_default_params(EC), .s = &s};
    k.p.gamma = 0.3;
    double eps[EN * EB];
    for (size_t q = 0; q < EN * EB; q++)
        eps[q] = l2h_rng_uniform(&g_rng);
    k.eps = eps;
    normal(k.W, EC * EB, 1.0);
    normal(k.c, EC, 0.3);
    normal(k.z, EN * EB, 1.5);
    double l, dz[EN * EB], dW[EC * EB], dc[EC], db[EN * EB];
    CHECK_OK(l2h_jmlh_f64(&k.p, EB, k.W, k.c, k.z, eps, EN, &s, &l, NULL, dz, dW, dc, db));
    const gc_opts o = {.h = 1e-5, .rtol = 1e-6, .atol = 1e-10, .max_coords = 100};
    CHECK(gc_check_f64("binary dW", obj_loss, &k, k.W, EC * EB, dW, &o).bad == 0);
    CHECK(gc_check_f64("binary dc", obj_loss, &k, k.c, EC, dc, &o).bad == 0);
    double dr[EN * EB], ok = 1;
    l2h_jmlh_reg_f64(L2H_JMLH_KL, k.z, EN * EB, dr);
    for (size_t q = 0; q < EN * EB; q++) {
        const double p = sigm(k.z[q]);
        ok = ok && check_near(dz[q], p * (1 - p) * db[q] + 0.3 / EN * dr[q], 1e-12, 1e-15);
    }
    CHECK(ok);
}

/* ---- statistics of the stochastic estimator ------------------------------------------------
 * With b_j = 1[σ(z_j) > ε_j], ε_j ~ U(0,1), each bit is Bernoulli(q_j) and independent. SGH's
 * distributional derivative of the expected classifier loss E_b[L(b)] w.r.t. q_j is exactly
 * E_{b−j}[L(b_j=1) − L(b_j=0)]; the estimator TBH/FIRe (and we) use replaces the difference by
 * the derivative ∂L/∂b_j at the sampled code. So the code's estimator
 *   (1) is an unbiased Monte Carlo estimate of E_b[q_j(1−q_j) ∂L/∂b_j (b)] (tested against the
 *       sum over all 2^B codes, within 5 standard errors);
 *   (2) equals ∇_z E_b[L(b)] exactly when L is affine in each bit, and up to a bias of second
 *       order in the classifier weights otherwise: tested by differencing the enumerated
 *       expected loss with weights of scale 0.01 (relative error < 1%) and showing that the
 *       bias is real (not a test artefact) for weights of scale 2 (> 2% and > 5x the former). */
enum { SN = 2, SB = 3, SC = 3 };

typedef struct stat_ctx {
    double W[SC * SB], c[SC], z[SN * SB];
    const l2h_supervision *s;
} stat_ctx;

/* E_b[L(b)] and E_b[q(1−q) ∂L/∂b] (grad, may be NULL) by enumerating all codes of all items. */
static double expected(const stat_ctx *k, double *grad)
{
    double el = 0, b[SN * SB], db[SN * SB];
    if (grad) memset(grad, 0, sizeof(double) * SN * SB);
    for (unsigned code = 0; code < (1u << (SN * SB)); code++) {
        double pr = 1;
        for (size_t q = 0; q < SN * SB; q++) {
            b[q] = (code >> q) & 1;
            const double p = sigm(k->z[q]);
            pr *= b[q] ? p : 1 - p;
        }
        double l;
        if (l2h_jmlh_classifier_f64(SC, SB, k->W, k->c, b, SN, k->s, &l, db, NULL, NULL) != L2H_OK)
            return NAN;
        el += pr * l;
        for (size_t q = 0; grad && q < SN * SB; q++) {
            const double p = sigm(k->z[q]);
            grad[q] += pr * p * (1 - p) * db[q];
        }
    }
    return el;
}

static double expected_loss(void *vc)
{
    return expected(vc, NULL);
}

/* max_j |a_j − b_j| / max_j |b_j| */
static double rel_err(const double *a, const double *b, size_t n)
{
    double e = 0, m = 0;
    for (size_t j = 0; j < n; j++) {
        e = fmax(e, fabs(a[j] - b[j]));
        m = fmax(m, fabs(b[j]));
    }
    return e / m;
}

/* Central differences of the enumerated expected loss w.r.t. z. */
static void true_grad(stat_ctx *k, double *g)
{
    for (size_t q = 0; q < SN * SB; q++) {
        const double z0 = k->z[q], h = 1e-5;
        k->z[q] = z0 + h;
        const double lp = expected_loss(k);
        k->z[q] = z0 - h;
        const double lm = expected_loss(k);
        k->z[q] = z0;
        g[q] = (lp - lm) / (2 * h);
    }
}

static void test_estimator_statistics(void)
{
    const int32_t lab[SN] = {0, 2};
    const l2h_supervision s = {.kind = L2H_SUP_LABELS, .n = SN, .labels = lab};
    stat_ctx k = {.s = &s};
    normal(k.W, SC * SB, 2.0);
    normal(k.c, SC, 0.5);
    normal(k.z, SN * SB, 1.0);
    /* (1) the float objective's samples against the enumerated expectation */
    l2h_jmlh_params p = l2h_jmlh_default_params(SC);
    p.gamma = 0; /* the regulariser is deterministic; tested above */
    p.seed = check_seed;
    l2h_objective *obj = NULL;
    CHECK_OK(l2h_jmlh_create(&obj, SB, &p));
    if (!obj) return;
    for (size_t q = 0; q < SC * SB; q++)
        obj->params[q] = (float)k.W[q];
    for (size_t r = 0; r < SC; r++)
        obj->params[SC * SB + r] = (float)k.c[r];
    float zf[SN * SB], dz[SN * SB], loss;
    for (size_t q = 0; q < SN * SB; q++) {
        zf[q] = (float)k.z[q];
        k.z[q] = zf[q]; /* the float objective sees these */
    }
    for (size_t q = 0; q < SC * SB; q++)
        k.W[q] = obj->params[q];
    for (size_t r = 0; r < SC; r++)
        k.c[r] = obj->params[SC * SB + r];
    enum { DRAWS = 40000 };
    double sum[SN * SB] = {0}, sum2[SN * SB] = {0}, lsum = 0;
    for (int d = 0; d < DRAWS; d++) {
        CHECK_OK(l2h_objective_loss_grad(obj, zf, SN, &s, dz, &loss));
        lsum += (double)loss;
        for (size_t q = 0; q < SN * SB; q++) {
            sum[q] += (double)dz[q];
            sum2[q] += (double)dz[q] * (double)dz[q];
        }
    }
    double eg[SN * SB];
    const double el = expected(&k, eg);
    CHECK_NEAR(lsum / DRAWS, el, 0.02, 0);
    size_t within = 0;
    for (size_t q = 0; q < SN * SB; q++) {
        const double m = sum[q] / DRAWS, var = sum2[q] / DRAWS - m * m;
        const double se = sqrt(fmax(var, 0) / DRAWS);
        within += fabs(m - eg[q]) <= 5 * se + 1e-7;
        if (fabs(m - eg[q]) > 5 * se + 1e-7)
            fprintf(stderr, "estimator mean %zu: %g vs %g (se %g)\n", q, m, eg[q], se);
    }
    CHECK_EQ_I(within, SN * SB);
    l2h_objective_free(obj);
    /* (2) E[estimator] against the gradient of the expected loss */
    double tg[SN * SB];
    true_grad(&k, tg);
    const double bias_big = rel_err(eg, tg, SN * SB);
    for (size_t q = 0; q < SC * SB; q++)
        k.W[q] *= 0.005; /* scale 2 -> 0.01 */
    expected(&k, eg);
    true_grad(&k, tg);
    const double bias_small = rel_err(eg, tg, SN * SB);
    fprintf(stderr, "estimator bias vs the gradient of E[L]: %.3g (weights ~ 2), %.3g (~ 0.01)\n",
            bias_big, bias_small);
    CHECK(bias_small < 0.01);
    /* a real bias (0.05-0.26 over seeds 1-8), so the small-weight agreement is not vacuous */
    CHECK(bias_big > 0.02 && bias_big > 5 * bias_small);
}

/* ---- determinism, safety, argument errors -------------------------------------------------- */
static void test_determinism_and_errors(void)
{
    enum { N = 8, B = 16, C = 3 };
    int32_t lab[N];
    for (size_t i = 0; i < N; i++)
        lab[i] = (int32_t)(i % C);
    const l2h_supervision s = {.kind = L2H_SUP_LABELS, .n = N, .labels = lab};
    float z[N * B], dz1[N * B], dz2[N * B], dz3[N * B], l1, l2, l3;
    for (size_t q = 0; q < N * B; q++)
        z[q] = (float)l2h_rng_normal(&g_rng);
    l2h_jmlh_params p = l2h_jmlh_default_params(C);
    p.seed = 7;
    l2h_objective *a = NULL, *b = NULL, *c = NULL;
    CHECK_OK(l2h_jmlh_create(&a, B, &p));
    CHECK_OK(l2h_jmlh_create(&b, B, &p));
    p.seed = 8;
    CHECK_OK(l2h_jmlh_create(&c, B, &p));
    if (!a || !b || !c) return;
    CHECK(a->n_params == C * B + C && !memcmp(a->params, b->params, a->n_params * sizeof(float)));
    CHECK(memcmp(a->params, c->params, a->n_params * sizeof(float)) != 0);
    memcpy(c->params, a->params, a->n_params * sizeof(float)); /* only ε differs now */
    int same = 1, differ = 0;
    for (int r = 0; r < 3; r++) {
        CHECK_OK(l2h_objective_loss_grad(a, z, N, &s, dz1, &l1));
        CHECK_OK(l2h_objective_loss_grad(b, z, N, &s, dz2, &l2));
        CHECK_OK(l2h_objective_loss_grad(c, z, N, &s, dz3, &l3));
        same = same && l1 == l2 && !memcmp(dz1, dz2, sizeof dz1) &&
               !memcmp(a->grads, b->grads, a->n_params * sizeof(float));
        differ += memcmp(dz1, dz3, sizeof dz1) != 0;
    }
    CHECK(same && differ == 3);
    CHECK(isfinite(a->aux_loss) && a->n_anchors == N);
    /* deterministic: ε = 0.5, the f64 result with eps = 0.5 */
    l2h_objective_free(c);
    p.deterministic = 1;
    CHECK_OK(l2h_jmlh_create(&c, B, &p));
    if (c) {
        CHECK_OK(l2h_objective_loss_grad(c, z, N, &s, dz3, &l3));
        double zd[N * B], eps[N * B], dd[N * B], W[C * B + C], l;
        for (size_t q = 0; q < N * B; q++) {
            zd[q] = z[q];
            eps[q] = 0.5;
        }
        for (size_t q = 0; q < C * B + C; q++)
            W[q] = c->params[q];
        CHECK_OK(l2h_jmlh_f64(&p, B, W, W + C * B, zd, eps, N, &s, &l, NULL, dd, NULL, NULL, NULL));
        int eq = fabsf(l3 - (float)l) <= 1e-6f * fabsf(l3);
        for (size_t q = 0; q < N * B; q++)
            eq = eq && fabs((double)dz3[q] - dd[q]) <= 1e-6 * fabs(dd[q]) + 1e-9;
        CHECK(eq);
        /* aux = the classifier loss of the codes 1[z > 0] = the deterministic classifier loss */
        CHECK_OK(l2h_jmlh_f64(&p, B, W, W + C * B, zd, eps, N, &s, &l, &l, NULL, NULL, NULL, NULL));
        CHECK_NEAR(c->aux_loss, l, 1e-5, 1e-6);
    }
    /* q = 0 / 1: saturated float logits give finite loss and gradients */
    for (size_t q = 0; q < N * B; q++)
        z[q] = q % 2 ? 1e30f : -1e30f;
    CHECK_OK(l2h_objective_loss_grad(a, z, N, &s, dz1, &l1));
    int fin = isfinite(l1);
    for (size_t q = 0; q < N * B; q++)
        fin = fin && isfinite(dz1[q]);
    for (size_t q = 0; q < a->n_params; q++)
        fin = fin && isfinite(a->grads[q]);
    CHECK(fin);
    /* errors */
    uint8_t aff[N * N] = {0};
    const l2h_supervision sa = {.kind = L2H_SUP_AFFINITY, .n = N, .affinity = aff};
    CHECK_STATUS(l2h_objective_loss_grad(a, z, N, &sa, dz1, &l1), L2H_ERR_ARG);
    CHECK(strstr(l2h_last_error(), "affinity") != NULL);
    lab[3] = C;
    CHECK_STATUS(l2h_objective_loss_grad(a, z, N, &s, dz1, &l1), L2H_ERR_ARG);
    lab[3] = -1;
    CHECK_STATUS(l2h_objective_loss_grad(a, z, N, &s, dz1, &l1), L2H_ERR_ARG);
    lab[3] = 0;
    uint8_t ml[N * 5] = {0};
    const l2h_supervision sm = {
        .kind = L2H_SUP_MULTILABELS, .n = N, .multilabels = ml, .n_labels = 5};
    CHECK_STATUS(l2h_objective_loss_grad(a, z, N, &sm, dz1, &l1), L2H_ERR_ARG);
    z[5] = NAN;
    CHECK_STATUS(l2h_objective_loss_grad(a, z, N, &s, dz1, &l1), L2H_ERR_NUMERIC);
    l2h_objective *bad = NULL;
    l2h_jmlh_params q = l2h_jmlh_default_params(C);
    q.gamma = -1;
    CHECK_STATUS(l2h_jmlh_create(&bad, B, &q), L2H_ERR_ARG);
    q = l2h_jmlh_default_params(0);
    CHECK_STATUS(l2h_jmlh_create(&bad, B, &q), L2H_ERR_ARG);
    q = l2h_jmlh_default_params(C);
    CHECK_STATUS(l2h_jmlh_create(&bad, 0, &q), L2H_ERR_ARG);
    CHECK(bad == NULL);
    l2h_objective_free(a);
    l2h_objective_free(b);
    l2h_objective_free(c);
}

/* ---- networks end to end (continuous bottleneck: the gradient is exact) -------------------- */
typedef struct e2e_ctx {
    const l2h_nn *net;
    double *p; /* network parameters, then the classifier's */
    const float *x;
    size_t n;
    const l2h_supervision *s;
    l2h_jmlh_params jp;
    uint64_t pattern;
} e2e_ctx;

static double e2e_loss(void *vc)
{
    e2e_ctx *c = vc;
    const size_t bits = l2h_nn_out_dim(c->net), np = l2h_nn_n_params(c->net);
    double *z = shadow_forward(c->net, c->p, c->x, c->n, &c->pattern);
    if (!z) return NAN;
    const size_t C = c->jp.n_labels;
    double loss = NAN;
    if (l2h_jmlh_f64(&c->jp, bits, c->p + np, c->p + np + C * bits, z, NULL, c->n, c->s, &loss,
                     NULL, NULL, NULL, NULL, NULL) != L2H_OK)
        loss = NAN;
    free(z);
    return loss;
}

static uint64_t e2e_pattern(void *vc)
{
    return ((const e2e_ctx *)vc)->pattern;
}

static void check_e2e(const char *name, l2h_nn *net, const float *x, size_t n,
                      const l2h_supervision *s, size_t C)
{
    const size_t bits = l2h_nn_out_dim(net), np = l2h_nn_n_params(net);
    size_t nt;
    const l2h_nn_tensor *t = l2h_nn_tensors(net, &nt);
    for (size_t k = 0; k < nt; k++)
        if (t[k].is_bias)
            for (size_t i = 0; i < t[k].count; i++)
                l2h_nn_params(net)[t[k].offset + i] = (float)(0.1 * l2h_rng_normal(&g_rng));
    l2h_jmlh_params jp = l2h_jmlh_default_params(C);
    jp.continuous = 1;
    jp.gamma = 0.5;
    jp.seed = check_seed;
    l2h_objective *obj = NULL;
    CHECK_OK(l2h_jmlh_create(&obj, bits, &jp));
    if (!obj) return;
    const size_t no = obj->n_params;
    float *z = malloc(n * bits * sizeof *z), *dz = malloc(n * bits * sizeof *dz), loss;
    l2h_nn_zero_grads(net);
    CHECK_OK(l2h_nn_forward(net, x, n, z));
    CHECK_OK(l2h_objective_loss_grad(obj, z, n, s, dz, &loss));
    CHECK_OK(l2h_nn_backward(net, dz, n, NULL));
    double *g = malloc((np + no) * sizeof *g);
    e2e_ctx c = {net, malloc((np + no) * sizeof(double)), x, n, s, jp, 0};
    for (size_t k = 0; k < np; k++) {
        g[k] = l2h_nn_grads(net)[k];
        c.p[k] = l2h_nn_params(net)[k];
    }
    for (size_t k = 0; k < no; k++) {
        g[np + k] = obj->grads[k];
        c.p[np + k] = obj->params[k];
    }
    CHECK_NEAR(loss, e2e_loss(&c), 1e-5, 1e-6);
    const gc_opts o = {.h = 1e-6,
                       .rtol = 2e-3,
                       .atol = 1e-6,
                       .max_coords = 400,
                       .seed = check_seed,
                       .pattern = e2e_pattern};
    const gc_report r = gc_check_f64(name, e2e_loss, &c, c.p, np + no, g, &o);
    CHECK(r.bad == 0 && r.checked >= 4 * (r.checked + r.skipped) / 5);
    double num, ana;
    int kinked;
    const double e = gc_direction_f64(e2e_loss, &c, c.p, np + no, g, &o, &num, &ana, &kinked);
    if (!(e < 1e-3) || kinked)
        fprintf(stderr, "%s direction: %g vs %g (kinked %d)\n", name, num, ana, kinked);
    CHECK(e < 1e-3 && !kinked);
    free(g);
    free(c.p);
    free(z);
    free(dz);
    l2h_objective_free(obj);
}

static void test_networks_end_to_end(void)
{
    enum { N = 12, D = 10, C = 3 };
    int32_t lab[N];
    uint8_t ml[N * C];
    for (size_t i = 0; i < N; i++) {
        lab[i] = (int32_t)(i % C);
        for (size_t r = 0; r < C; r++)
            ml[i * C + r] = (uint8_t)((i + 2 * r) % 3 == 0);
    }
    const l2h_supervision s = {.kind = L2H_SUP_LABELS, .n = N, .labels = lab};
    const l2h_supervision sm = {
        .kind = L2H_SUP_MULTILABELS, .n = N, .multilabels = ml, .n_labels = C};
    float x[N * D];
    for (size_t k = 0; k < N * D; k++)
        x[k] = (float)l2h_rng_normal(&g_rng);
    l2h_nn *lin = NULL;
    CHECK_OK(l2h_nn_create_linear(&lin, D, 8, N));
    if (lin) {
        CHECK_OK(l2h_nn_init(lin, L2H_INIT_GAUSSIAN, 0.3f, check_seed));
        check_e2e("linear + jmlh-cont", lin, x, N, &s, C);
        check_e2e("linear + jmlh-cont, multi-label", lin, x, N, &sm, C);
        l2h_nn_free(lin);
    }
    const size_t hidden[1] = {9};
    l2h_nn *mlp = NULL;
    CHECK_OK(l2h_nn_create_mlp(&mlp, D, hidden, 1, 8, N));
    if (mlp) {
        CHECK_OK(l2h_nn_init(mlp, L2H_INIT_HE, 0.0f, check_seed));
        check_e2e("mlp + jmlh-cont", mlp, x, N, &s, C);
        l2h_nn_free(mlp);
    }
}

/* ---- l2h_train and the model file ---------------------------------------------------------- */
static void test_train_and_model_file(void)
{
    enum { N = 300, D = 20, K = 3 };
    l2h_dataset *ds = NULL;
    CHECK_OK(l2h_dataset_create(&ds, N, D, NULL));
    if (!ds) return;
    float *x = l2h_dataset_features_mut(ds);
    int32_t lab[N];
    for (size_t i = 0; i < N; i++) {
        lab[i] = (int32_t)(i % K);
        for (size_t k = 0; k < D; k++)
            x[i * D + k] = (float)((k % K == (size_t)lab[i] ? 2.0 : 0.0) + l2h_rng_normal(&g_rng));
    }
    CHECK_OK(l2h_dataset_set_labels(ds, lab));
    l2h_train_params p = l2h_train_default_params(8);
    p.method = "jmlh";
    p.optimizer = L2H_OPT_ADAM;
    p.lr = 1e-2;
    p.schedule = L2H_SCHED_CONST;
    p.weight_decay = 0;
    p.epochs = 15;
    p.batch = 50;
    l2h_model *m = NULL, *m2 = NULL, *back = NULL;
    CHECK_OK(l2h_train(&m, ds, &p));
    CHECK_OK(l2h_train(&m2, ds, &p));
    if (!m || !m2) goto done;
    const l2h_model_tensor *w = l2h_model_find_tensor(m, "jmlh.classifier.weight");
    const l2h_model_tensor *bb = l2h_model_find_tensor(m, "jmlh.classifier.bias");
    CHECK(w && bb && w->ndim == 2 && w->shape[0] == K && w->shape[1] == 8 && bb->shape[0] == K);
    CHECK(!strcmp(l2h_model_method(m), "jmlh") &&
          !strcmp(l2h_model_meta(m, "jmlh_variant"), "full"));
    uint8_t c1[N], c2[N], c3[N];
    CHECK_OK(l2h_model_encode(m, x, N, c1));
    CHECK_OK(l2h_model_encode(m2, x, N, c2));
    CHECK(!memcmp(c1, c2, N)); /* repeatable */
    /* the codes separate the classes: same-class pairs closer than different-class pairs */
    double dsame = 0, ddiff = 0, ns = 0, nd = 0;
    for (size_t i = 0; i < N; i++)
        for (size_t j = i + 1; j < N; j++) {
            const double h = __builtin_popcount((unsigned)(c1[i] ^ c1[j]));
            if (lab[i] == lab[j])
                dsame += h, ns++;
            else
                ddiff += h, nd++;
        }
    CHECK(dsame / ns + 2 < ddiff / nd);
    /* file: the classifier is there, the model loads and encodes identically */
    uint8_t *buf = NULL;
    size_t len = 0;
    CHECK_OK(l2h_model_to_mem(m, &buf, &len));
    l2h_st_file *f = NULL;
    if (buf) CHECK_OK(l2h_st_parse(&f, buf, len, "mem"));
    if (f) {
        const l2h_st_tensor *t = l2h_st_find(f, "jmlh.classifier.weight");
        CHECK(t && t->ndim == 2 && t->shape[0] == K && l2h_st_find(f, "jmlh.classifier.bias"));
        CHECK(l2h_st_meta(f, "extra_tensors") &&
              !strcmp(l2h_st_meta(f, "extra_tensors"),
                      "jmlh.classifier.weight,jmlh.classifier.bias"));
        l2h_st_file_free(f);
    }
    if (buf) CHECK_OK(l2h_model_load_mem(&back, buf, len, "mem"));
    if (back) {
        CHECK_OK(l2h_model_encode(back, x, N, c3));
        CHECK(!memcmp(c1, c3, N));
        const l2h_model_tensor *w2 = l2h_model_find_tensor(back, "jmlh.classifier.weight");
        CHECK(w2 && !memcmp(w2->data, w->data, K * 8 * sizeof(float)));
        CHECK(!strcmp(l2h_model_meta(back, "extra_tensors"), "")); /* rebuilt, not kept */
        uint8_t *buf2 = NULL;
        size_t len2 = 0;
        CHECK_OK(l2h_model_to_mem(back, &buf2, &len2));
        CHECK(len2 == len && buf2 && !memcmp(buf, buf2, len));
        l2h_free(buf2);
    }
    /* extra tensors are namespaced by the method, so they cannot shadow the network's */
    const size_t one = 1;
    const float v1 = 1.0f;
    CHECK_STATUS(l2h_model_add_tensor(m, "linear.weight", 1, &one, &v1), L2H_ERR_ARG);
    CHECK_STATUS(l2h_model_add_tensor(m, "jmlh.", 1, &one, &v1), L2H_ERR_ARG);
    CHECK_STATUS(l2h_model_add_tensor(m, "jmlh.a,b", 1, &one, &v1), L2H_ERR_ARG);
    CHECK_STATUS(l2h_model_add_tensor(m, "jmlh.classifier.bias", 1, &one, &v1), L2H_ERR_ARG);
    /* a file listing a missing extra tensor is refused */
    if (buf) {
        /* rename the tensor in the JSON header (quoted key); the list still names it */
        size_t hits = 0;
        for (size_t i = 0; i + 22 <= len; i++)
            if (!memcmp(buf + i, "\"jmlh.classifier.bias\"", 22)) {
                buf[i + 1] = 'J';
                hits++;
                break;
            }
        CHECK(hits == 1);
        l2h_model *bad = NULL;
        CHECK_STATUS(l2h_model_load_mem(&bad, buf, len, "mem"), L2H_ERR_FORMAT);
    }
    l2h_free(buf);
    /* the variants train; affinity-free but label-less data is refused by l2h_train */
    const char *names[3] = {"cont", "qr", "nr"};
    for (int v = 0; v < 3; v++) {
        l2h_train_params q = p;
        q.epochs = 2;
        l2h_train_ctx *c = NULL;
        CHECK_OK(l2h_train_create(&c, &q));
        CHECK_OK(l2h_train_set_option(c, "variant", names[v]));
        CHECK_OK(l2h_train_set_option(c, "jmlh.deterministic", v == 2 ? "1" : "0"));
        l2h_model *mv = NULL;
        CHECK_OK(l2h_train_fit(c, ds, &mv));
        if (mv) {
            CHECK(!strcmp(l2h_model_meta(mv, "jmlh_variant"), names[v]));
            CHECK(!strcmp(l2h_model_meta(mv, "jmlh_epsilon"), v == 2 ? "0.5" : "uniform"));
        }
        l2h_model_free(mv);
        l2h_train_free(c);
    }
    l2h_train_ctx *c = NULL;
    CHECK_OK(l2h_train_create(&c, &p));
    CHECK_STATUS(l2h_train_set_option(c, "gamma", "nan"), L2H_ERR_ARG); /* not a finite number */
    CHECK_OK(l2h_train_set_option(c, "gamma", "-1"));
    l2h_model *mv = NULL;
    CHECK_STATUS(l2h_train_fit(c, ds, &mv), L2H_ERR_ARG);
    CHECK_OK(l2h_train_set_option(c, "gamma", "0.1"));
    CHECK_OK(l2h_train_set_option(c, "variant", "bogus"));
    CHECK_STATUS(l2h_train_check(c), L2H_ERR_ARG);
    CHECK(strstr(l2h_last_error(), "bogus") != NULL);
    CHECK_STATUS(l2h_train_set_option(c, "deterministic", "2"), L2H_ERR_ARG); /* a flag: 0 / 1 */
    l2h_train_free(c);
done:
    l2h_model_free(m);
    l2h_model_free(m2);
    l2h_model_free(back);
    l2h_dataset_free(ds);
}

int main(void)
{
    l2h_rng_seed(&g_rng, test_seed());
    test_classifier();
    test_regularisers();
    test_continuous_exact();
    test_binary_fixed_eps();
    test_estimator_statistics();
    test_determinism_and_errors();
    test_networks_end_to_end();
    test_train_and_model_file();
    return check_report();
}
