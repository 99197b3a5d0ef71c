/* test_mihash.c -- the MIHash objective: batch loss against a plain computation from the
 * definitions (kernel formula, entropies), exact gradients by central differences in double
 * (batch and online, every supervision kind), the float objective entry, degenerate batches,
 * the online form against the batch form, the reference-compatible online direction, and linear
 * / MLP / CNN networks end to end with the MI loss on top. */
#include "check.h"
#include "gradcheck.h"
#include "shadow_nn.h"

#include "core.h"
#include "nn_internal.h"
#include "objective.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static l2h_rng g_rng;

static void normal(double *x, size_t n, double s)
{
    for (size_t i = 0; i < n; i++)
        x[i] = s * l2h_rng_normal(&g_rng);
}

/* ---- plain reference ---------------------------------------------------------------------- */
static double ent(const double *p, size_t m)
{
    double h = 0;
    for (size_t l = 0; l < m; l++)
        if (p[l] > 0) h -= p[l] * log2(p[l]);
    return h;
}

/* MI of one anchor from distances d[m] and neighbour flags (2 = ignore), kernel formula. */
static double plain_anchor_mi(const double *d, const int *f, size_t m, size_t bits, size_t K)
{
    const double delta = (double)bits / (double)K;
    double hp[1100] = {0}, hn[1100] = {0}, pall[1100];
    double np = 0, nn = 0;
    for (size_t j = 0; j < m; j++) {
        if (f[j] == 2) continue;
        for (size_t l = 0; l <= K; l++) {
            const double w = fmax(0.0, 1.0 - fabs(d[j] - (double)l * delta) / delta);
            if (f[j])
                hp[l] += w;
            else
                hn[l] += w;
        }
        if (f[j])
            np++;
        else
            nn++;
    }
    for (size_t l = 0; l <= K; l++) {
        pall[l] = (hp[l] + hn[l]) / (np + nn);
        hp[l] /= np;
        hn[l] /= nn;
    }
    return ent(pall, K + 1) - np / (np + nn) * ent(hp, K + 1) - nn / (np + nn) * ent(hn, K + 1);
}

static double plain_batch_loss(const double *z, size_t n, size_t bits, size_t K, double a,
                               const l2h_supervision *s)
{
    double *phi = malloc(n * bits * sizeof *phi), *d = malloc(n * sizeof *d);
    int *f = malloc(n * sizeof *f);
    for (size_t k = 0; k < n * bits; k++)
        phi[k] = 2.0 / (1.0 + exp(-a * z[k])) - 1.0;
    double sum = 0;
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        size_t np = 0;
        for (size_t j = 0; j < n; j++) {
            double dot = 0;
            for (size_t k = 0; k < bits; k++)
                dot += phi[i * bits + k] * phi[j * bits + k];
            d[j] = (bits - dot) / 2;
            f[j] = i == j ? 2 : l2h_sup_similar(s, i, j);
            np += f[j] == 1;
        }
        if (np == 0 || np == n - 1) continue;
        sum += plain_anchor_mi(d, f, n, bits, K);
        used++;
    }
    free(phi);
    free(d);
    free(f);
    return used ? -sum / (double)used : 0.0;
}

/* ---- batch objective in double ------------------------------------------------------------ */
typedef struct batch_ctx {
    size_t n, bits;
    l2h_mihash_params p;
    const l2h_supervision *s;
    double *z;
} batch_ctx;

static double batch_loss(void *vc)
{
    batch_ctx *c = vc;
    double l = NAN;
    if (l2h_mihash_batch_f64(c->bits, &c->p, c->z, c->n, c->s, NULL, &l, NULL) != L2H_OK)
        return NAN;
    return l;
}

/* Which bin pair every relaxed distance falls in: a step that changes it crossed a kink. */
static uint64_t bins_pattern(const double *z, size_t n, size_t bits, double a, size_t K)
{
    uint64_t h = 1469598103934665603ULL;
    const double delta = (double)bits / (double)K;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            double dot = 0;
            for (size_t k = 0; k < bits; k++)
                dot += tanh(0.5 * a * z[i * bits + k]) * tanh(0.5 * a * z[j * bits + k]);
            const uint64_t l = (uint64_t)floor(0.5 * ((double)bits - dot) / delta);
            h = (h ^ l) * 1099511628211ULL;
        }
    return h;
}

static uint64_t batch_pattern(void *vc)
{
    const batch_ctx *c = vc;
    return bins_pattern(c->z, c->n, c->bits, (double)c->p.scale, c->p.bins);
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
            aff[i * n + j] = l2h_rng_uniform(&g_rng) < 0.4;
    sups[0] = (l2h_supervision){.kind = L2H_SUP_LABELS, .n = n, .labels = lab};
    sups[1] =
        (l2h_supervision){.kind = L2H_SUP_MULTILABELS, .n = n, .multilabels = ml, .n_labels = 3};
    sups[2] = (l2h_supervision){.kind = L2H_SUP_AFFINITY, .n = n, .affinity = aff};
}

static void test_batch_exact(void)
{
    enum { N = 13 };
    int32_t lab[N];
    uint8_t ml[N * 3], aff[N * N];
    l2h_supervision sups[3];
    make_sups(N, lab, ml, aff, sups);
    struct {
        size_t bits, K;
        double a, zs;
    } cfg[] = {{8, 4, 2.0, 1.0},
               {12, 12, 1.0, 1.0},
               {16, 16, 40.0, 0.03},
               {5, 1, 3.0, 0.5},
               {33, 7, 5.0, 0.3}};
    for (size_t c = 0; c < sizeof cfg / sizeof cfg[0]; c++)
        for (int k = 0; k < 3; k++) {
            const size_t bits = cfg[c].bits;
            double *z = malloc(N * bits * sizeof *z), *dz = malloc(N * bits * sizeof *dz);
            normal(z, N * bits, cfg[c].zs);
            batch_ctx ctx = {N, bits, {cfg[c].K, (float)cfg[c].a, 0, 0}, &sups[k], z};
            double loss;
            size_t used;
            CHECK_OK(l2h_mihash_batch_f64(bits, &ctx.p, z, N, &sups[k], dz, &loss, &used));
            const double want = plain_batch_loss(z, N, bits, cfg[c].K, cfg[c].a, &sups[k]);
            CHECK_NEAR(loss, want, 1e-12, 1e-13);
            CHECK(used > 0 && loss < 0.0);
            const gc_opts o = {.h = 1e-6,
                               .rtol = 1e-4,
                               .atol = 5e-9,
                               .max_coords = 200,
                               .seed = check_seed + c,
                               .pattern = batch_pattern,
                               .converge = 1};
            char name[64];
            snprintf(name, sizeof name, "batch mihash cfg %zu sup %d", c, k);
            const gc_report r = gc_check_f64(name, batch_loss, &ctx, z, N * bits, dz, &o);
            CHECK(r.bad == 0 && r.checked >= 4 * (r.checked + r.skipped + r.unconverged) / 5);
            free(z);
            free(dz);
        }
}

/* The centred objective (p.centre): the MI of z − mean_batch(z). Its loss is the plain loss of
 * the explicitly centred outputs, it ignores a per-bit shift of every item, its gradient has
 * zero batch mean in every bit (no common mode) and matches central differences. */
static uint64_t centred_pattern(void *vc)
{
    const batch_ctx *c = vc;
    double *zc = malloc(c->n * c->bits * sizeof *zc);
    memcpy(zc, c->z, c->n * c->bits * sizeof *zc);
    for (size_t k = 0; k < c->bits; k++) {
        double m = 0;
        for (size_t i = 0; i < c->n; i++) m += zc[i * c->bits + k];
        for (size_t i = 0; i < c->n; i++) zc[i * c->bits + k] -= m / (double)c->n;
    }
    const uint64_t h = bins_pattern(zc, c->n, c->bits, (double)c->p.scale, c->p.bins);
    free(zc);
    return h;
}

static void test_batch_centred(void)
{
    enum { N = 13 };
    int32_t lab[N];
    uint8_t ml[N * 3], aff[N * N];
    l2h_supervision sups[3];
    make_sups(N, lab, ml, aff, sups);
    const size_t bits = 12, K = 6;
    const double a = 2.0;
    for (int k = 0; k < 3; k++) {
        double *z = malloc(N * bits * sizeof *z), *zc = malloc(N * bits * sizeof *zc);
        double *dz = malloc(N * bits * sizeof *dz), *dz2 = malloc(N * bits * sizeof *dz2);
        normal(z, N * bits, 1.0);
        for (size_t i = 0; i < N * bits; i++) z[i] += 0.7 * (double)(i % bits) - 3.0; /* offsets */
        memcpy(zc, z, N * bits * sizeof *zc);
        for (size_t b = 0; b < bits; b++) {
            double m = 0;
            for (size_t i = 0; i < N; i++) m += zc[i * bits + b];
            for (size_t i = 0; i < N; i++) zc[i * bits + b] -= m / N;
        }
        batch_ctx ctx = {N, bits, {K, (float)a, 0, 1}, &sups[k], z};
        double loss, loss2;
        CHECK_OK(l2h_mihash_batch_f64(bits, &ctx.p, z, N, &sups[k], dz, &loss, NULL));
        CHECK_NEAR(loss, plain_batch_loss(zc, N, bits, K, a, &sups[k]), 1e-12, 1e-13);
        /* the uncentred objective sees the offsets: a different loss */
        const l2h_mihash_params raw = {K, (float)a, 0, 0};
        CHECK_OK(l2h_mihash_batch_f64(bits, &raw, z, N, &sups[k], NULL, &loss2, NULL));
        CHECK(fabs(loss2 - loss) > 1e-3);
        double worst = 0;
        for (size_t b = 0; b < bits; b++) {
            double m = 0, scale = 0;
            for (size_t i = 0; i < N; i++) {
                m += dz[i * bits + b];
                scale += fabs(dz[i * bits + b]);
            }
            CHECK(scale > 0);
            if (fabs(m) / scale > worst) worst = fabs(m) / scale;
        }
        CHECK(worst < 1e-12);
        /* shifting every item's bit 3 changes nothing */
        for (size_t i = 0; i < N; i++) z[i * bits + 3] += 5.0;
        CHECK_OK(l2h_mihash_batch_f64(bits, &ctx.p, z, N, &sups[k], dz2, &loss2, NULL));
        CHECK_NEAR(loss2, loss, 1e-12, 1e-13);
        for (size_t i = 0; i < N * bits; i++) CHECK_NEAR(dz2[i], dz[i], 1e-9, 1e-12);
        const gc_opts o = {.h = 1e-6,
                           .rtol = 1e-4,
                           .atol = 5e-9,
                           .max_coords = 200,
                           .seed = check_seed + 17,
                           .pattern = centred_pattern,
                           .converge = 1};
        char name[64];
        snprintf(name, sizeof name, "centred batch mihash sup %d", k);
        const gc_report r = gc_check_f64(name, batch_loss, &ctx, z, N * bits, dz2, &o);
        CHECK(r.bad == 0 && r.checked >= 4 * (r.checked + r.skipped + r.unconverged) / 5);
        free(z);
        free(zc);
        free(dz);
        free(dz2);
    }
}

/* The float objective through the ops table equals the double computation. */
static void test_float_entry(void)
{
    enum { N = 20, B = 24 };
    int32_t lab[N];
    uint8_t ml[N * 3], aff[N * N];
    l2h_supervision sups[3];
    make_sups(N, lab, ml, aff, sups);
    const l2h_mihash_params p = l2h_mihash_default_params(B);
    CHECK(p.bins == 16 && p.scale == 40.0f);
    l2h_objective *obj = NULL;
    CHECK_OK(l2h_mihash_create(&obj, B, &p));
    if (!obj) return;
    float z[N * B], dz[N * B];
    double zd[N * B], dzd[N * B];
    for (size_t k = 0; k < N * B; k++)
        zd[k] = z[k] = (float)(0.05 * l2h_rng_normal(&g_rng));
    for (int k = 0; k < 3; k++) {
        float loss = 0;
        double ld;
        CHECK_OK(l2h_objective_loss_grad(obj, z, N, &sups[k], dz, &loss));
        CHECK_OK(l2h_mihash_batch_f64(B, &p, zd, N, &sups[k], dzd, &ld, NULL));
        CHECK_NEAR(loss, ld, 1e-6, 1e-7);
        CHECK_ALL_NEAR(N * B, dz, dzd, 1e-5, 1e-9);
        float l2 = 0;
        CHECK_OK(l2h_objective_loss_grad(obj, z, N, &sups[k], NULL, &l2));
        CHECK(l2 == loss);
    }
    CHECK(strcmp(obj->ops->name, "mihash") == 0);
    /* NaN is rejected with the position */
    z[3 * B + 5] = NAN;
    float loss;
    CHECK_STATUS(l2h_objective_loss_grad(obj, z, N, &sups[0], dz, &loss), L2H_ERR_NUMERIC);
    CHECK(strstr(l2h_last_error(), "z[3, 5]") != NULL);
    z[3 * B + 5] = 0.0f;
    CHECK_STATUS(l2h_objective_loss_grad(obj, z, N - 1, &sups[0], dz, &loss), L2H_ERR_ARG);
    CHECK_STATUS(l2h_objective_loss_grad(obj, z, 0, &sups[0], dz, &loss), L2H_ERR_ARG);
    CHECK_STATUS(l2h_objective_loss_grad(obj, NULL, N, &sups[0], dz, &loss), L2H_ERR_ARG);
    l2h_objective_free(obj);
    l2h_objective_free(NULL);
}

static void test_degenerate_and_params(void)
{
    enum { N = 6, B = 8 };
    const int32_t same[N] = {1, 1, 1, 1, 1, 1};
    const int32_t one_odd[N] = {0, 0, 0, 0, 0, 1};
    const l2h_supervision s_same = {.kind = L2H_SUP_LABELS, .n = N, .labels = same};
    const l2h_supervision s_odd = {.kind = L2H_SUP_LABELS, .n = N, .labels = one_odd};
    const l2h_mihash_params p = {.bins = 4, .scale = 2.0f};
    double z[N * B], dz[N * B], loss;
    size_t used = 99;
    normal(z, N * B, 1.0);
    CHECK_OK(l2h_mihash_batch_f64(B, &p, z, N, &s_same, dz, &loss, &used));
    CHECK(loss == 0.0 && used == 0);
    int zero = 1;
    for (size_t k = 0; k < N * B; k++)
        zero &= dz[k] == 0.0;
    CHECK(zero);
    /* item 5 has no neighbour: 5 anchors used (each sees 4 neighbours and item 5) */
    CHECK_OK(l2h_mihash_batch_f64(B, &p, z, N, &s_odd, dz, &loss, &used));
    CHECK_EQ_I(used, 5);
    /* a single item: no anchor */
    CHECK_OK(l2h_mihash_batch_f64(
        B, &p, z, 1, &(l2h_supervision){.kind = L2H_SUP_LABELS, .n = 1, .labels = same}, dz, &loss,
        &used));
    CHECK(loss == 0.0 && used == 0);
    /* saturated outputs: finite loss, zero gradient where a·z was clamped */
    for (size_t k = 0; k < N * B; k++)
        z[k] = (k % 2 ? 1e6 : -1e6);
    CHECK_OK(l2h_mihash_batch_f64(B, &p, z, N, &s_odd, dz, &loss, &used));
    zero = isfinite(loss);
    for (size_t k = 0; k < N * B; k++)
        zero &= dz[k] == 0.0;
    CHECK(zero);
    /* parameter checks */
    l2h_objective *obj = NULL;
    CHECK_STATUS(l2h_mihash_create(&obj, B, &(l2h_mihash_params){.bins = 0, .scale = 1}),
                 L2H_ERR_ARG);
    CHECK_STATUS(l2h_mihash_create(&obj, B, &(l2h_mihash_params){.bins = B + 1, .scale = 1}),
                 L2H_ERR_ARG);
    CHECK_STATUS(l2h_mihash_create(&obj, B, &(l2h_mihash_params){.bins = 4, .scale = 0}),
                 L2H_ERR_ARG);
    CHECK_STATUS(l2h_mihash_create(&obj, B, &(l2h_mihash_params){.bins = 4, .scale = NAN}),
                 L2H_ERR_ARG);
    CHECK_STATUS(l2h_mihash_create(&obj, 0, &p), L2H_ERR_ARG);
    CHECK(obj == NULL);
    CHECK_EQ_I(l2h_mihash_default_params(8).bins, 8);
    CHECK_EQ_I(l2h_mihash_default_params(64).bins, 16);
    CHECK_OK(l2h_mihash_create(&obj, B, &(l2h_mihash_params){.bins = B, .scale = 1}));
    l2h_objective_free(obj);
}

/* ---- online form -------------------------------------------------------------------------- */
typedef struct online_ctx {
    l2h_mihash_online_params p;
    size_t bits, R;
    double *y;
    const float *rc;
    const uint8_t *sim;
} online_ctx;

static double online_loss(void *vc)
{
    online_ctx *c = vc;
    double l = NAN;
    if (l2h_mihash_online_f64(&c->p, c->bits, c->y, c->rc, c->sim, c->R, NULL, &l) != L2H_OK)
        return NAN;
    return l;
}

static uint64_t online_pattern(void *vc)
{
    const online_ctx *c = vc;
    uint64_t h = 1469598103934665603ULL;
    const double delta = (double)c->bits / (double)c->p.bins;
    for (size_t r = 0; r < c->R; r++) {
        double dot = 0;
        for (size_t k = 0; k < c->bits; k++) {
            const double phi = 1.0 / (1.0 + exp(-(double)c->p.scale * c->y[k]));
            dot += (2 * phi - 1) * (2.0 * (double)c->rc[r * c->bits + k] - 1);
        }
        h = (h ^ (uint64_t)floor(0.5 * ((double)c->bits - dot) / delta)) * 1099511628211ULL;
    }
    return h;
}

static void test_online(void)
{
    enum { R = 40, B = 16 };
    float yr[R * B], rc[R * B];
    uint8_t sim[R];
    for (size_t k = 0; k < R * B; k++)
        yr[k] = (float)(0.3 * l2h_rng_normal(&g_rng));
    for (size_t r = 0; r < R; r++)
        sim[r] = l2h_rng_uniform(&g_rng) < 0.3;
    const l2h_mihash_online_params def = l2h_mihash_online_default_params(B);
    CHECK(def.bins == 16 && def.scale == 10.0f && def.reference_grad == 0);
    const l2h_mihash_online_params ps[2] = {{.bins = 4, .scale = 3.0f},
                                            {.bins = 16, .scale = 1.0f}};
    for (int c = 0; c < 2; c++) {
        l2h_mihash_relax(yr, R, B, ps[c].scale, rc);
        double y[B], dy[B], loss;
        normal(y, B, 0.3);
        online_ctx ctx = {ps[c], B, R, y, rc, sim};
        CHECK_OK(l2h_mihash_online_f64(&ps[c], B, y, rc, sim, R, dy, &loss));
        CHECK(loss < 0.0);
        const gc_opts o = {.h = 1e-6,
                           .rtol = 1e-4,
                           .atol = 5e-9,
                           .max_coords = B,
                           .seed = check_seed,
                           .pattern = online_pattern,
                           .converge = 1};
        const gc_report r = gc_check_f64("online mihash", online_loss, &ctx, y, B, dy, &o);
        CHECK(r.bad == 0 && r.checked >= B - 3);

        /* the online MI of an item equals the batch MI of the same item as anchor when the
         * batch is the item plus the reservoir (same relaxation: 2σ(s·y) − 1) */
        double zb[(R + 1) * B];
        for (size_t k = 0; k < B; k++)
            zb[k] = y[k];
        for (size_t k = 0; k < R * B; k++)
            zb[B + k] = yr[k];
        double mi_plain;
        {
            double d[R];
            int f[R];
            for (size_t r2 = 0; r2 < R; r2++) {
                double dot = 0;
                for (size_t k = 0; k < B; k++)
                    dot += tanh(0.5 * (double)ps[c].scale * zb[k]) *
                           tanh(0.5 * (double)ps[c].scale * zb[(r2 + 1) * B + k]);
                d[r2] = (B - dot) / 2;
                f[r2] = sim[r2] != 0;
            }
            mi_plain = plain_anchor_mi(d, f, R, B, ps[c].bins);
        }
        CHECK_NEAR(-loss, mi_plain, 1e-6, 1e-9); /* rc is float: 1e-7 relative per code */

        /* float entry */
        float yf[B], dyf[B], lf;
        for (size_t k = 0; k < B; k++)
            yf[k] = (float)y[k];
        CHECK_OK(l2h_mihash_online_loss_grad(&ps[c], B, yf, rc, sim, R, dyf, &lf));
        CHECK_NEAR(lf, loss, 1e-5, 1e-6);
        CHECK_ALL_NEAR(B, dyf, dy, 1e-4, 1e-7);

        /* the reference direction: ∂d/∂φ = −rc/2 instead of −(2rc − 1) = 4·(−rc/2) + 1, so
         * (dy_exact − 4 dy_ref) / (dφ/dy) is one constant (−Σ_r ∂MI/∂d_r) over the bits */
        l2h_mihash_online_params pr = ps[c];
        pr.reference_grad = 1;
        double dyr[B], lr;
        CHECK_OK(l2h_mihash_online_f64(&pr, B, y, rc, sim, R, dyr, &lr));
        CHECK(lr == loss);
        double ratio0 = 0, maxdev = 0;
        for (size_t k = 0; k < B; k++) {
            const double phi = 1.0 / (1.0 + exp(-(double)ps[c].scale * y[k]));
            const double ratio = (dy[k] - 4 * dyr[k]) / ((double)ps[c].scale * phi * (1 - phi));
            if (k == 0) ratio0 = ratio;
            maxdev = fmax(maxdev, fabs(ratio - ratio0));
        }
        CHECK(maxdev < 1e-9 * fmax(1.0, fabs(ratio0)));
    }
    /* no neighbours / no non-neighbours: 0 and a zero gradient */
    uint8_t none[R] = {0};
    double y[B], dy[B], loss;
    normal(y, B, 0.3);
    CHECK_OK(l2h_mihash_online_f64(&def, B, y, rc, none, R, dy, &loss));
    CHECK(loss == 0.0 && dy[0] == 0.0 && dy[B - 1] == 0.0);
    /* errors */
    l2h_mihash_online_params bad = def;
    bad.bins = B + 1;
    CHECK_STATUS(l2h_mihash_online_f64(&bad, B, y, rc, sim, R, dy, &loss), L2H_ERR_ARG);
    bad = def;
    bad.scale = -1.0f;
    CHECK_STATUS(l2h_mihash_online_f64(&bad, B, y, rc, sim, R, dy, &loss), L2H_ERR_ARG);
    CHECK_STATUS(l2h_mihash_online_f64(&def, B, y, NULL, sim, R, dy, &loss), L2H_ERR_ARG);
    y[2] = INFINITY;
    CHECK_STATUS(l2h_mihash_online_f64(&def, B, y, rc, sim, R, dy, &loss), L2H_ERR_NUMERIC);
}

/* ---- networks end to end ------------------------------------------------------------------ */
/* The analytic gradient of the float implementation (network forward, float objective entry,
 * network backward) is compared with central differences of the same function computed
 * independently in double: a plain re-implementation of every layer below, from the layer
 * records of the network, then l2h_mihash_batch_f64. Double differences are free of the
 * float noise of the loss, so the comparison can be tight; the skipped coordinates are those
 * whose steps cross a ReLU, max-pool or histogram-bin kink of the double function. */
typedef struct e2e_ctx {
    const l2h_nn *net;
    double *p; /* [n_params] double copy of the parameters */
    const float *x;
    size_t n;
    const l2h_supervision *s;
    l2h_mihash_params mp;
    uint64_t pattern; /* of the last evaluation */
} e2e_ctx;

static double e2e_loss(void *vc)
{
    e2e_ctx *c = vc;
    const size_t bits = l2h_nn_out_dim(c->net);
    uint64_t pat = 0;
    double *z = shadow_forward(c->net, c->p, c->x, c->n, &pat);
    if (!z) return NAN;
    c->pattern = pat ^ bins_pattern(z, c->n, bits, (double)c->mp.scale, c->mp.bins);
    double loss = NAN;
    if (l2h_mihash_batch_f64(bits, &c->mp, z, c->n, c->s, NULL, &loss, NULL) != L2H_OK) loss = NAN;
    free(z);
    return loss;
}

static uint64_t e2e_pattern(void *vc)
{
    return ((const e2e_ctx *)vc)->pattern;
}

static void check_e2e(const char *name, l2h_nn *net, const float *x, size_t n,
                      const l2h_supervision *s, float a, size_t K)
{
    const size_t bits = l2h_nn_out_dim(net), np = l2h_nn_n_params(net);
    /* non-zero biases: an item whose hidden units are all dead would otherwise output z = 0
     * exactly, putting its distances exactly on the centre b/2 (a kink) */
    size_t nt;
    const l2h_nn_tensor *t = l2h_nn_tensors(net, &nt);
    for (size_t k = 0; k < nt; k++)
        if (t[k].is_bias)
            for (size_t i = 0; i < t[k].count; i++)
                l2h_nn_params(net)[t[k].offset + i] = (float)(0.1 * l2h_rng_normal(&g_rng));
    l2h_objective *obj = NULL;
    const l2h_mihash_params mp = {.bins = K, .scale = a};
    CHECK_OK(l2h_mihash_create(&obj, bits, &mp));
    if (!obj) return;
    /* analytic: the float implementation */
    float *z = malloc(n * bits * sizeof *z), *dz = malloc(n * bits * sizeof *dz), loss;
    l2h_nn_zero_grads(net);
    CHECK_OK(l2h_nn_forward(net, x, n, z));
    CHECK_OK(l2h_objective_loss_grad(obj, z, n, s, dz, &loss));
    CHECK_OK(l2h_nn_backward(net, dz, n, NULL));
    double *g = malloc(np * sizeof *g);
    e2e_ctx c = {net, malloc(np * sizeof(double)), x, n, s, mp, 0};
    for (size_t k = 0; k < np; k++) {
        g[k] = l2h_nn_grads(net)[k];
        c.p[k] = l2h_nn_params(net)[k];
    }
    /* the double re-implementation computes the same loss */
    const double ld = e2e_loss(&c);
    CHECK(loss < 0.0f && obj->n_anchors == n);
    CHECK_NEAR(loss, ld, 1e-4, 1e-6);
    /* rtol 1e-2: the analytic side is evaluated at the float forward's outputs, and where a
     * histogram bin is almost empty the MI gradient changes by up to ~1% between those and
     * the double re-implementation's outputs (1e-7 apart) */
    gc_opts o = {.h = 1e-6,
                 .rtol = 1e-2,
                 .atol = 2e-6,
                 .max_coords = 300,
                 .seed = check_seed,
                 .pattern = e2e_pattern,
                 .converge = 1};
    const gc_report r = gc_check_f64(name, e2e_loss, &c, c.p, np, g, &o);
    CHECK(r.bad == 0);
    const size_t tried = r.checked + r.skipped + r.unconverged;
    if (r.checked < 4 * tried / 5)
        fprintf(stderr, "%s: %zu skipped, %zu unconverged of %zu\n", name, r.skipped, r.unconverged,
                tried);
    CHECK(r.checked >= 4 * tried / 5);
    /* kann's whole-model check along one direction */
    o.h = 1e-7;
    double num, ana;
    int kinked;
    const double e = gc_direction_f64(e2e_loss, &c, c.p, np, g, &o, &num, &ana, &kinked);
    if (!(e < 1e-2) || kinked)
        fprintf(stderr, "%s direction: %g vs %g (kinked %d)\n", name, num, ana, kinked);
    CHECK(e < 1e-2 && !kinked);
    free(g);
    free(c.p);
    free(z);
    free(dz);
    l2h_objective_free(obj);
}

static void test_networks_end_to_end(void)
{
    enum { N = 12 };
    int32_t lab[N];
    for (size_t i = 0; i < N; i++)
        lab[i] = (int32_t)(i % 3);
    const l2h_supervision s = {.kind = L2H_SUP_LABELS, .n = N, .labels = lab};
    float *x = malloc(N * 144 * sizeof *x);
    for (size_t k = 0; k < N * 144; k++)
        x[k] = (float)l2h_rng_normal(&g_rng);

    l2h_nn *lin = NULL;
    CHECK_OK(l2h_nn_create_linear(&lin, 10, 8, N));
    if (lin) {
        CHECK_OK(l2h_nn_init(lin, L2H_INIT_GAUSSIAN, 0.3f, check_seed));
        check_e2e("linear + mihash", lin, x, N, &s, 2.0f, 4);
        l2h_nn_free(lin);
    }
    const size_t hidden[1] = {9};
    l2h_nn *mlp = NULL;
    CHECK_OK(l2h_nn_create_mlp(&mlp, 10, hidden, 1, 8, N));
    if (mlp) {
        CHECK_OK(l2h_nn_init(mlp, L2H_INIT_HE, 0.0f, check_seed));
        check_e2e("mlp + mihash", mlp, x, N, &s, 1.0f, 4);
        l2h_nn_free(mlp);
    }
    const l2h_cnn_params cp = {.in_c = 1,
                               .in_h = 12,
                               .in_w = 12,
                               .n_conv = 1,
                               .channels = {3},
                               .kernel = 3,
                               .pad = 1,
                               .pool = 2,
                               .fc_hidden = 0};
    l2h_nn *cnn = NULL;
    CHECK_OK(l2h_nn_create_cnn(&cnn, &cp, 8, N));
    if (cnn) {
        CHECK_OK(l2h_nn_init(cnn, L2H_INIT_HE, 0.0f, check_seed));
        check_e2e("cnn + mihash", cnn, x, N, &s, 0.5f, 4);
        l2h_nn_free(cnn);
    }
    free(x);
}

int main(void)
{
    l2h_rng_seed(&g_rng, test_seed());
    test_batch_exact();
    test_batch_centred();
    test_float_entry();
    test_degenerate_and_params();
    test_online();
    test_networks_end_to_end();
    return check_report();
}
