/* test_hashnet.c -- the HashNet objective: the loss against a plain computation from the
 * definitions (every weighting, supervision kind, self pairs), a hand-computed case of the
 * loss and the weights, exact gradients by central differences in double at several β and α,
 * stability at huge α⟨u, u⟩, the β schedules, the float objective entry (aux loss = loss of
 * the sign codes, begin_step), argument errors, linear and MLP networks end to end, and
 * l2h_train with method "hashnet" (metadata, HashNet-W / HashNet-C options). */
#include "check.h"
#include "gradcheck.h"
#include "shadow_nn.h"

#include "core.h"
#include "nn_internal.h"
#include "l2h/codes.h"
#include "l2h/train.h"
#include "obj_hashnet.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static l2h_rng g_rng;

static void normal(double *x, size_t n, double s)
{
    for (size_t i = 0; i < n; i++)
        x[i] = s * l2h_rng_normal(&g_rng);
}

static l2h_hashnet_params opts(double alpha, l2h_hn_weighting w, double weight)
{
    l2h_hashnet_params o;
    memset(&o, 0, sizeof o);
    o.alpha = alpha;
    o.weighting = w;
    o.weight = weight;
    o.continuation = 1;
    o.beta_gamma = 0.005;
    o.beta_power = 0.5;
    o.beta_step = 200;
    return o;
}

/* ---- plain reference ---------------------------------------------------------------------- */
static double plain_loss(const double *z, size_t n, size_t bits, const l2h_hashnet_params *o,
                         double beta, const l2h_supervision *s, int codes)
{
    double sum1 = 0, sum0 = 0;
    size_t n1 = 0, n0 = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            if (i == j && !o->self_pairs) continue;
            double dot = 0;
            for (size_t k = 0; k < bits; k++) {
                const double a = z[i * bits + k], b = z[j * bits + k];
                dot +=
                    codes ? (a > 0 ? 1 : -1) * (b > 0 ? 1 : -1) : tanh(beta * a) * tanh(beta * b);
            }
            const double t = o->alpha * dot;
            const int sim = i == j ? 1 : l2h_sup_similar(s, i, j);
            const double l = log(1.0 + exp(t)) - sim * t;
            if (sim) {
                sum1 += l;
                n1++;
            } else {
                sum0 += l;
                n0++;
            }
        }
    switch (o->weighting) {
    case L2H_HN_WEIGHT_BATCH:
        return (n1 ? sum1 / (double)n1 : 0) + (n0 ? sum0 / (double)n0 : 0);
    case L2H_HN_WEIGHT_CONST:
        return (o->weight * sum1 + sum0) / (o->weight * (double)n1 + (double)n0);
    case L2H_HN_WEIGHT_NONE:
        break;
    }
    return (sum1 + sum0) / (double)(n1 + n0);
}

static void make_sups(size_t n, int32_t *lab, uint8_t *ml, uint8_t *aff, l2h_supervision *sups)
{
    for (size_t i = 0; i < n; i++) {
        lab[i] = (int32_t)l2h_rng_below(&g_rng, 3);
        for (size_t l = 0; l < 3; l++)
            ml[i * 3 + l] = l2h_rng_uniform(&g_rng) < 0.3;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            aff[i * n + j] = l2h_rng_uniform(&g_rng) < 0.2; /* asymmetric on purpose */
    sups[0] = (l2h_supervision){.kind = L2H_SUP_LABELS, .n = n, .labels = lab};
    sups[1] =
        (l2h_supervision){.kind = L2H_SUP_MULTILABELS, .n = n, .multilabels = ml, .n_labels = 3};
    sups[2] = (l2h_supervision){.kind = L2H_SUP_AFFINITY, .n = n, .affinity = aff};
}

typedef struct f64_ctx {
    size_t n, bits;
    l2h_hashnet_params o;
    double beta;
    const l2h_supervision *s;
    double *z;
} f64_ctx;

static double f64_loss(void *vc)
{
    f64_ctx *c = vc;
    double l = NAN;
    if (l2h_hashnet_loss_f64(c->bits, &c->o, c->beta, c->z, c->n, c->s, NULL, &l, NULL, NULL) !=
        L2H_OK)
        return NAN;
    return l;
}

static void test_exact(void)
{
    enum { N = 11 };
    int32_t lab[N];
    uint8_t ml[N * 3], aff[N * N];
    l2h_supervision sups[3];
    make_sups(N, lab, ml, aff, sups);
    struct {
        size_t bits;
        double alpha, beta, zs;
        l2h_hn_weighting w;
        double weight;
        int self;
    } cfg[] = {{8, 10.0 / 8, 1.0, 1.0, L2H_HN_WEIGHT_BATCH, 1, 0},
               {16, 0.1, 2.5, 0.7, L2H_HN_WEIGHT_NONE, 1, 0},
               {12, 1.0, 7.0, 0.2, L2H_HN_WEIGHT_CONST, 5.0, 0},
               {33, 0.3, 1.4142, 0.5, L2H_HN_WEIGHT_BATCH, 1, 1},
               {5, 3.0, 0.5, 1.5, L2H_HN_WEIGHT_CONST, 0.2, 1}};
    for (size_t c = 0; c < sizeof cfg / sizeof cfg[0]; c++)
        for (int k = 0; k < 3; k++) {
            const size_t bits = cfg[c].bits;
            double *z = malloc(N * bits * sizeof *z), *dz = malloc(N * bits * sizeof *dz);
            normal(z, N * bits, cfg[c].zs);
            f64_ctx ctx = {N,           bits,     opts(cfg[c].alpha, cfg[c].w, cfg[c].weight),
                           cfg[c].beta, &sups[k], z};
            ctx.o.self_pairs = cfg[c].self;
            double loss, lc;
            size_t pairs;
            CHECK_OK(l2h_hashnet_loss_f64(bits, &ctx.o, ctx.beta, z, N, &sups[k], dz, &loss, &lc,
                                          &pairs));
            CHECK_NEAR(loss, plain_loss(z, N, bits, &ctx.o, ctx.beta, &sups[k], 0), 1e-12, 1e-13);
            CHECK_NEAR(lc, plain_loss(z, N, bits, &ctx.o, ctx.beta, &sups[k], 1), 1e-12, 1e-13);
            CHECK_EQ_I(pairs, cfg[c].self ? N * N : N * (N - 1));
            const gc_opts o = {
                .h = 1e-5, .rtol = 1e-5, .atol = 1e-9, .max_coords = 200, .seed = check_seed + c};
            char name[64];
            snprintf(name, sizeof name, "hashnet cfg %zu sup %d", c, k);
            const gc_report r = gc_check_f64(name, f64_loss, &ctx, z, N * bits, dz, &o);
            CHECK(r.bad == 0 && r.checked > 0);
            free(z);
            free(dz);
        }
}

/* n = 3, bits = 2, α = 1/2, sign codes (1, 1), (1, 1), (1, −1), labels 0, 0, 1:
 * θ_12 = 1 (similar), θ_13 = θ_23 = 0 (dissimilar); ordered pairs |S1| = 2, |S0| = 4;
 * ℓ(similar, θ = 1) = log(1 + e) − 1 = log1p(e^−1), ℓ(dissimilar, 0) = log 2. */
static void test_hand_case(void)
{
    const double z[6] = {3, 2, 1, 5, 4, -2};
    const int32_t lab[3] = {0, 0, 1};
    const l2h_supervision s = {.kind = L2H_SUP_LABELS, .n = 3, .labels = lab};
    const double l1 = log1p(exp(-1.0)), l0 = log(2.0);
    double loss, lc;
    l2h_hashnet_params o = opts(0.5, L2H_HN_WEIGHT_BATCH, 1);
    CHECK_OK(l2h_hashnet_loss_f64(2, &o, 1.0, z, 3, &s, NULL, &loss, &lc, NULL));
    CHECK_NEAR(lc, l1 + l0, 1e-14, 0); /* (1/|S|)(|S|/|S1|·2ℓ1 + |S|/|S0|·4ℓ0) */
    o.weighting = L2H_HN_WEIGHT_NONE;
    CHECK_OK(l2h_hashnet_loss_f64(2, &o, 1.0, z, 3, &s, NULL, &loss, &lc, NULL));
    CHECK_NEAR(lc, (2 * l1 + 4 * l0) / 6, 1e-14, 0);
    o.weighting = L2H_HN_WEIGHT_CONST;
    o.weight = 3;
    CHECK_OK(l2h_hashnet_loss_f64(2, &o, 1.0, z, 3, &s, NULL, &loss, &lc, NULL));
    CHECK_NEAR(lc, (3 * 2 * l1 + 4 * l0) / (3 * 2 + 4), 1e-14, 0);
    /* β → ∞: the loss of tanh(βz) tends to the loss of the codes */
    o.weighting = L2H_HN_WEIGHT_BATCH;
    CHECK_OK(l2h_hashnet_loss_f64(2, &o, 50.0, z, 3, &s, NULL, &loss, &lc, NULL));
    CHECK_NEAR(loss, lc, 1e-12, 1e-14);
    /* self pairs: 3 more similar pairs with θ = α·2 = 1 */
    o.self_pairs = 1;
    CHECK_OK(l2h_hashnet_loss_f64(2, &o, 1.0, z, 3, &s, NULL, &loss, &lc, NULL));
    CHECK_NEAR(lc, l1 + l0, 1e-14, 0);
    o.weighting = L2H_HN_WEIGHT_NONE;
    CHECK_OK(l2h_hashnet_loss_f64(2, &o, 1.0, z, 3, &s, NULL, &loss, &lc, NULL));
    CHECK_NEAR(lc, (5 * l1 + 4 * l0) / 9, 1e-14, 0);
    /* all pairs similar (BATCH): only the similar mean; one item: no pairs, 0 and dz 0 */
    const int32_t same[3] = {2, 2, 2};
    const l2h_supervision s_same = {.kind = L2H_SUP_LABELS, .n = 3, .labels = same};
    o = opts(0.5, L2H_HN_WEIGHT_BATCH, 1);
    const double zc[6] = {1, 1, 1, 1, 1, 1};
    CHECK_OK(l2h_hashnet_loss_f64(2, &o, 1.0, zc, 3, &s_same, NULL, &loss, &lc, NULL));
    CHECK_NEAR(lc, l1, 1e-14, 0);
    double dz[2] = {7, 7};
    size_t pairs = 9;
    CHECK_OK(l2h_hashnet_loss_f64(2, &o, 1.0, z, 1,
                                  &(l2h_supervision){.kind = L2H_SUP_LABELS, .n = 1, .labels = lab},
                                  dz, &loss, &lc, &pairs));
    CHECK(loss == 0 && lc == 0 && pairs == 0 && dz[0] == 0 && dz[1] == 0);
}

/* |θ| up to α·b = 1e6: no overflow, exact limits, finite gradients. */
static void test_stability(void)
{
    enum { N = 4, B = 64 };
    double z[N * B], dz[N * B];
    const int32_t lab[N] = {0, 0, 1, 1};
    const l2h_supervision s = {.kind = L2H_SUP_LABELS, .n = N, .labels = lab};
    /* items 0, 1, 2 identical (+1), item 3 opposite (−1): pairs (0,1) similar with θ = +αb,
     * (0,2), (1,2) dissimilar with θ = +αb, (2,3) similar with θ = −αb, (0,3), (1,3) dissimilar
     * with θ = −αb. Ordered: S1 = {01, 10, 23, 32}, S0 = 8 pairs. */
    for (size_t k = 0; k < N * B; k++)
        z[k] = k / B == 3 ? -1e4 : 1e4;
    const double alpha = 1e6 / B;
    l2h_hashnet_params o = opts(alpha, L2H_HN_WEIGHT_BATCH, 1);
    double loss, lc;
    CHECK_OK(l2h_hashnet_loss_f64(B, &o, 30.0, z, N, &s, dz, &loss, &lc, NULL));
    /* similar: ℓ(+1e6) = 0, ℓ(−1e6) = 1e6 → mean 5e5; dissimilar: 4 × 1e6 and 4 × 0 → 5e5 */
    CHECK_NEAR(loss, 1e6, 1e-12, 0);
    CHECK_NEAR(lc, 1e6, 1e-12, 0);
    int finite = 1;
    for (size_t k = 0; k < N * B; k++)
        finite &= isfinite(dz[k]);
    CHECK(finite);
    /* the float objective too */
    l2h_objective *obj = NULL;
    CHECK_OK(l2h_hashnet_create(&obj, B, &o));
    if (!obj) return;
    float zf[N * B], dzf[N * B], lf;
    for (size_t k = 0; k < N * B; k++)
        zf[k] = (float)z[k];
    CHECK_OK(l2h_objective_loss_grad(obj, zf, N, &s, dzf, &lf));
    CHECK(isfinite(lf) && isfinite(obj->aux_loss));
    l2h_objective_free(obj);
}

static void test_beta_schedule(void)
{
    l2h_hashnet_params o = opts(1, L2H_HN_WEIGHT_BATCH, 1);
    CHECK(l2h_hashnet_beta(&o, 1, 0, 10) == 1.0);
    CHECK(l2h_hashnet_beta(&o, 200, 0, 10) == 1.0);
    CHECK_NEAR(l2h_hashnet_beta(&o, 201, 0, 10), sqrt(2.0), 1e-15, 0);
    CHECK_NEAR(l2h_hashnet_beta(&o, 400, 0, 10), sqrt(2.0), 1e-15, 0);
    CHECK_NEAR(l2h_hashnet_beta(&o, 401, 0, 10), sqrt(3.0), 1e-15, 0);
    CHECK_NEAR(l2h_hashnet_beta(&o, 10001, 0, 10), sqrt(51.0), 1e-15, 0);
    o.beta_gamma = 0.5;
    o.beta_power = 2;
    o.beta_step = 3;
    CHECK_NEAR(l2h_hashnet_beta(&o, 7, 0, 10), 16.0, 1e-15, 0); /* t = 6: (1 + 3)^2 */
    o.n_beta_stages = 3;
    o.beta_stages[0] = 1;
    o.beta_stages[1] = 2;
    o.beta_stages[2] = 4;
    const double want[9] = {1, 1, 1, 2, 2, 2, 4, 4, 4};
    for (size_t e = 0; e < 9; e++)
        CHECK(l2h_hashnet_beta(&o, 1000, e, 9) == want[e]);
    CHECK(l2h_hashnet_beta(&o, 1, 0, 2) == 1 && l2h_hashnet_beta(&o, 1, 1, 2) == 2);
    o.continuation = 0; /* HashNet-C */
    CHECK(l2h_hashnet_beta(&o, 100000, 8, 9) == 1.0);
    /* through the objective's begin_step */
    o = opts(1, L2H_HN_WEIGHT_BATCH, 1);
    l2h_objective *obj = NULL;
    CHECK_OK(l2h_hashnet_create(&obj, 4, &o));
    if (!obj) return;
    CHECK(l2h_hashnet_objective_beta(obj) == 1.0);
    CHECK_OK(l2h_objective_begin_step(obj, 601, 3, 10));
    CHECK_NEAR(l2h_hashnet_objective_beta(obj), 2.0, 1e-15, 0);
    l2h_objective_free(obj);
}

/* The float objective through the ops table equals the double computation at its β. */
static void test_float_entry(void)
{
    enum { N = 20, B = 24 };
    int32_t lab[N];
    uint8_t ml[N * 3], aff[N * N];
    l2h_supervision sups[3];
    make_sups(N, lab, ml, aff, sups);
    l2h_hashnet_params o = opts(l2h_hashnet_default_alpha(B), L2H_HN_WEIGHT_BATCH, 1);
    CHECK_NEAR(o.alpha, 10.0 / 24, 1e-15, 0);
    l2h_objective *obj = NULL;
    CHECK_OK(l2h_hashnet_create(&obj, B, &o));
    if (!obj) return;
    CHECK(strcmp(obj->ops->name, "hashnet") == 0 && isnan(obj->aux_loss));
    CHECK_OK(l2h_objective_begin_step(obj, 1001, 0, 1)); /* β = sqrt(6) */
    float z[N * B], dz[N * B];
    double zd[N * B], dzd[N * B];
    for (size_t k = 0; k < N * B; k++)
        zd[k] = z[k] = (float)(0.5 * l2h_rng_normal(&g_rng));
    for (int k = 0; k < 3; k++) {
        float loss = 0;
        double ld, lc;
        CHECK_OK(l2h_objective_loss_grad(obj, z, N, &sups[k], dz, &loss));
        CHECK_OK(l2h_hashnet_loss_f64(B, &o, sqrt(6.0), zd, N, &sups[k], dzd, &ld, &lc, NULL));
        CHECK_NEAR(loss, ld, 1e-6, 1e-7);
        CHECK_NEAR(obj->aux_loss, lc, 1e-6, 1e-7);
        CHECK_ALL_NEAR(N * B, dz, dzd, 1e-5, 1e-9);
        float l2 = 0;
        CHECK_OK(l2h_objective_loss_grad(obj, z, N, &sups[k], NULL, &l2));
        CHECK(l2 == loss);
    }
    z[3 * B + 5] = NAN;
    float loss;
    CHECK_STATUS(l2h_objective_loss_grad(obj, z, N, &sups[0], dz, &loss), L2H_ERR_NUMERIC);
    CHECK(strstr(l2h_last_error(), "z[3, 5]") != NULL);
    z[3 * B + 5] = 0.0f;
    CHECK_STATUS(l2h_objective_loss_grad(obj, z, N - 1, &sups[0], dz, &loss), L2H_ERR_ARG);
    CHECK_STATUS(l2h_objective_loss_grad(obj, z, 0, &sups[0], dz, &loss), L2H_ERR_ARG);
    l2h_objective_free(obj);
}

static void test_arguments(void)
{
    enum { B = 8 };
    l2h_objective *obj = NULL;
    l2h_hashnet_params o = opts(1, L2H_HN_WEIGHT_BATCH, 1);
    const l2h_hashnet_params good = o;
    const double bad_alpha[3] = {0, -1, NAN};
    for (int k = 0; k < 3; k++) {
        o.alpha = bad_alpha[k];
        CHECK_STATUS(l2h_hashnet_create(&obj, B, &o), L2H_ERR_ARG);
    }
    o = good;
    o.weighting = (l2h_hn_weighting)7;
    CHECK_STATUS(l2h_hashnet_create(&obj, B, &o), L2H_ERR_ARG);
    o = good;
    o.weighting = L2H_HN_WEIGHT_CONST;
    o.weight = 0;
    CHECK_STATUS(l2h_hashnet_create(&obj, B, &o), L2H_ERR_ARG);
    o = good;
    o.beta_step = 0;
    CHECK_STATUS(l2h_hashnet_create(&obj, B, &o), L2H_ERR_ARG);
    o.continuation = 0; /* the schedule is not read without continuation */
    CHECK_OK(l2h_hashnet_create(&obj, B, &o));
    l2h_objective_free(obj);
    obj = NULL;
    o = good;
    o.beta_gamma = -1;
    CHECK_STATUS(l2h_hashnet_create(&obj, B, &o), L2H_ERR_ARG);
    o = good;
    o.n_beta_stages = 2;
    o.beta_stages[0] = 1;
    o.beta_stages[1] = -2;
    CHECK_STATUS(l2h_hashnet_create(&obj, B, &o), L2H_ERR_ARG);
    o.n_beta_stages = 17;
    CHECK_STATUS(l2h_hashnet_create(&obj, B, &o), L2H_ERR_ARG);
    CHECK_STATUS(l2h_hashnet_create(&obj, 0, &good), L2H_ERR_ARG);
    CHECK_STATUS(l2h_hashnet_create(&obj, L2H_MAX_BITS + 1, &good), L2H_ERR_ARG);
    CHECK_STATUS(l2h_hashnet_create(NULL, B, &good), L2H_ERR_ARG);
    CHECK_STATUS(l2h_hashnet_create(&obj, B, NULL), L2H_ERR_ARG);
    CHECK(obj == NULL);
    double z[2 * B] = {0}, loss;
    const int32_t lab[2] = {0, 1};
    const l2h_supervision s = {.kind = L2H_SUP_LABELS, .n = 2, .labels = lab};
    CHECK_STATUS(l2h_hashnet_loss_f64(B, &good, 0.0, z, 2, &s, NULL, &loss, NULL, NULL),
                 L2H_ERR_ARG);
    CHECK_STATUS(l2h_hashnet_loss_f64(B, &good, 1.0, z, 0, &s, NULL, &loss, NULL, NULL),
                 L2H_ERR_ARG);
    CHECK_STATUS(l2h_hashnet_loss_f64(B, &good, 1.0, z, 3, &s, NULL, &loss, NULL, NULL),
                 L2H_ERR_ARG);
    CHECK_STATUS(l2h_hashnet_loss_f64(B, &good, 1.0, NULL, 2, &s, NULL, &loss, NULL, NULL),
                 L2H_ERR_ARG);
}

/* ---- networks end to end ------------------------------------------------------------------ */
/* As in test_mihash.c: the float implementation's gradient (network forward, objective, network
 * backward) against central differences of an independent double re-implementation of the
 * linear and ReLU layers followed by l2h_hashnet_loss_f64. Steps that flip a ReLU are skipped. */
typedef struct e2e_ctx {
    const l2h_nn *net;
    double *p;
    const float *x;
    size_t n;
    const l2h_supervision *s;
    l2h_hashnet_params o;
    double beta;
    uint64_t pattern;
} e2e_ctx;

static double e2e_loss(void *vc)
{
    e2e_ctx *c = vc;
    const size_t bits = l2h_nn_out_dim(c->net);
    double *z = shadow_forward(c->net, c->p, c->x, c->n, &c->pattern);
    if (!z) return NAN;
    double loss = NAN;
    if (l2h_hashnet_loss_f64(bits, &c->o, c->beta, z, c->n, c->s, NULL, &loss, NULL, NULL) !=
        L2H_OK)
        loss = NAN;
    free(z);
    return loss;
}

static uint64_t e2e_pattern(void *vc)
{
    return ((const e2e_ctx *)vc)->pattern;
}

static void check_e2e(const char *name, l2h_nn *net, const float *x, size_t n,
                      const l2h_supervision *s, const l2h_hashnet_params *ho, size_t step)
{
    const size_t bits = l2h_nn_out_dim(net), np = l2h_nn_n_params(net);
    l2h_objective *obj = NULL;
    CHECK_OK(l2h_hashnet_create(&obj, bits, ho));
    if (!obj) return;
    CHECK_OK(l2h_objective_begin_step(obj, step, 0, 1));
    float *z = malloc(n * bits * sizeof *z), *dz = malloc(n * bits * sizeof *dz), loss;
    l2h_nn_zero_grads(net);
    CHECK_OK(l2h_nn_forward(net, x, n, z));
    CHECK_OK(l2h_objective_loss_grad(obj, z, n, s, dz, &loss));
    CHECK_OK(l2h_nn_backward(net, dz, n, NULL));
    double *g = malloc(np * sizeof *g);
    e2e_ctx c = {net, malloc(np * sizeof(double)),     x, n, s,
                 *ho, l2h_hashnet_objective_beta(obj), 0};
    for (size_t k = 0; k < np; k++) {
        g[k] = l2h_nn_grads(net)[k];
        c.p[k] = l2h_nn_params(net)[k];
    }
    CHECK_NEAR(loss, e2e_loss(&c), 1e-4, 1e-6);
    gc_opts o = {.h = 1e-6,
                 .rtol = 1e-3,
                 .atol = 1e-6,
                 .max_coords = 300,
                 .seed = check_seed,
                 .pattern = e2e_pattern};
    const gc_report r = gc_check_f64(name, e2e_loss, &c, c.p, np, g, &o);
    CHECK(r.bad == 0 && r.checked >= 4 * (r.checked + r.skipped) / 5);
    o.h = 1e-7;
    double num, ana;
    int kinked;
    const double e = gc_direction_f64(e2e_loss, &c, c.p, np, g, &o, &num, &ana, &kinked);
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
    enum { N = 12, D = 10 };
    int32_t lab[N];
    uint8_t ml[N * 2];
    for (size_t i = 0; i < N; i++) {
        lab[i] = (int32_t)(i % 3);
        ml[2 * i] = i % 2 == 0;
        ml[2 * i + 1] = i % 3 == 0;
    }
    const l2h_supervision s = {.kind = L2H_SUP_LABELS, .n = N, .labels = lab};
    const l2h_supervision sm = {
        .kind = L2H_SUP_MULTILABELS, .n = N, .multilabels = ml, .n_labels = 2};
    float x[N * D];
    for (size_t k = 0; k < N * D; k++)
        x[k] = (float)l2h_rng_normal(&g_rng);
    const l2h_hashnet_params o1 = opts(10.0 / 8, L2H_HN_WEIGHT_BATCH, 1);
    l2h_hashnet_params o2 = opts(0.5, L2H_HN_WEIGHT_NONE, 1);
    o2.continuation = 0;
    l2h_nn *lin = NULL;
    CHECK_OK(l2h_nn_create_linear(&lin, D, 8, N));
    if (lin) {
        CHECK_OK(l2h_nn_init(lin, L2H_INIT_GAUSSIAN, 0.3f, check_seed));
        check_e2e("linear + hashnet", lin, x, N, &s, &o1, 801); /* β = sqrt(5) */
        check_e2e("linear + hashnet-w-c", lin, x, N, &sm, &o2, 801);
        l2h_nn_free(lin);
    }
    const size_t hidden[1] = {9};
    l2h_nn *mlp = NULL;
    CHECK_OK(l2h_nn_create_mlp(&mlp, D, hidden, 1, 8, N));
    if (mlp) {
        CHECK_OK(l2h_nn_init(mlp, L2H_INIT_HE, 0.0f, check_seed));
        size_t nt;
        const l2h_nn_tensor *t = l2h_nn_tensors(mlp, &nt);
        for (size_t k = 0; k < nt; k++)
            if (t[k].is_bias)
                for (size_t i = 0; i < t[k].count; i++)
                    l2h_nn_params(mlp)[t[k].offset + i] = (float)(0.1 * l2h_rng_normal(&g_rng));
        check_e2e("mlp + hashnet", mlp, x, N, &s, &o1, 1);
        check_e2e("mlp + hashnet multilabel", mlp, x, N, &sm, &o1, 1601); /* β = 3 */
        l2h_nn_free(mlp);
    }
}

/* ---- l2h_train with method "hashnet" ------------------------------------------------------ */
static void test_train(void)
{
    enum { C = 4, PER = 30, N = C * PER, D = 12 };
    l2h_dataset *ds = NULL;
    CHECK_OK(l2h_dataset_create(&ds, N, D, NULL));
    if (!ds) return;
    float *x = l2h_dataset_features_mut(ds);
    int32_t lab[N];
    for (size_t i = 0; i < N; i++) {
        lab[i] = (int32_t)(i % C);
        for (size_t k = 0; k < D; k++)
            x[i * D + k] = (float)((k % C == (size_t)lab[i] ? 2.0 : 0.0) + l2h_rng_normal(&g_rng));
    }
    CHECK_OK(l2h_dataset_set_labels(ds, lab));
    l2h_train_params p = l2h_train_default_params(16);
    p.method = "hashnet";
    p.epochs = 8;
    p.batch = 20;
    p.lr = 1.0;
    l2h_train_ctx *c = NULL;
    CHECK_OK(l2h_train_create(&c, &p));
    /* 6 steps per epoch: β rises to (1 + 0.005·40)^0.5 */
    CHECK_OK(l2h_train_set_option(c, "beta-schedule", "0.005,0.5,10"));
    l2h_model *m = NULL;
    CHECK_OK(l2h_train_fit(c, ds, &m));
    if (m) {
        CHECK(strcmp(l2h_model_method(m), "hashnet") == 0);
        CHECK_NEAR(atof(l2h_model_meta(m, "hashnet_alpha")), 10.0 / 16, 1e-8, 0);
        CHECK(strcmp(l2h_model_meta(m, "hashnet_weighting"), "batch") == 0);
        CHECK_NEAR(atof(l2h_model_meta(m, "hashnet_beta_final")), sqrt(1.2), 1e-8, 0);
        CHECK(strstr(l2h_model_meta(m, "hashnet_beta_schedule"), "200") == NULL);
        l2h_model_free(m);
        m = NULL;
    }
    CHECK_OK(l2h_train_set_option(c, "weighting", "3"));
    CHECK_OK(l2h_train_set_option(c, "hashnet.beta-schedule", "0.005,0.5,200"));
    CHECK_OK(l2h_train_set_option(c, "beta-stages", "1,5"));
    CHECK_OK(l2h_train_fit(c, ds, &m));
    if (m) {
        CHECK(strcmp(l2h_model_meta(m, "hashnet_beta_schedule"), "stages:1,5") == 0);
        CHECK(strcmp(l2h_model_meta(m, "hashnet_weight"), "3") == 0);
        CHECK_NEAR(atof(l2h_model_meta(m, "hashnet_beta_final")), 5, 1e-12, 0);
        l2h_model_free(m);
        m = NULL;
    }
    CHECK_OK(l2h_train_set_option(c, "no-continuation", "1"));
    CHECK_OK(l2h_train_set_option(c, "weighting", "none"));
    CHECK_OK(l2h_train_fit(c, ds, &m));
    if (m) {
        CHECK(strcmp(l2h_model_meta(m, "hashnet_beta_schedule"), "none") == 0);
        CHECK(atof(l2h_model_meta(m, "hashnet_beta_final")) == 1.0);
        l2h_model_free(m);
        m = NULL;
    }
    CHECK_OK(l2h_train_set_option(c, "alpha", "-1"));
    CHECK_STATUS(l2h_train_fit(c, ds, &m), L2H_ERR_ARG);
    CHECK(strstr(l2h_last_error(), "alpha") != NULL);
    CHECK_OK(l2h_train_set_option(c, "alpha", "0"));
    CHECK_OK(l2h_train_set_option(c, "weighting", "-2"));
    CHECK_STATUS(l2h_train_check(c), L2H_ERR_ARG);
    CHECK(strstr(l2h_last_error(), "weighting") != NULL);
    CHECK_OK(l2h_train_set_option(c, "weighting", "batch"));
    CHECK_OK(l2h_train_set_option(c, "beta-schedule", "0.005,0.5,10"));
    CHECK_STATUS(l2h_train_check(c), L2H_ERR_ARG); /* stages and a schedule together */
    CHECK_OK(l2h_train_set_option(c, "beta-stages", ""));
    CHECK_OK(l2h_train_check(c));
    CHECK_STATUS(l2h_train_set_option(c, "bins", "4"), L2H_ERR_ARG); /* mihash's, not hashnet's */
    CHECK(strstr(l2h_last_error(), "beta-schedule") != NULL);   /* the message lists them */
    l2h_train_free(c);
    l2h_dataset_free(ds);
}

int main(void)
{
    l2h_rng_seed(&g_rng, test_seed());
    test_exact();
    test_hand_case();
    test_stability();
    test_beta_schedule();
    test_float_entry();
    test_arguments();
    test_networks_end_to_end();
    test_train();
    return check_report();
}
