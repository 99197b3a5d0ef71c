/* test_mihash_graded.c -- MIHash with graded relevance (mi_graded.c, l2h_mihash_params.grades):
 * the loss against a plain re-implementation (histograms per grade, entropies, mean over the
 * anchors with two grades), G = 2 against the binary objective (loss and gradient), the
 * gradient against central differences on dense multi-labels, and parameter errors. */
#include "check.h"
#include "gradcheck.h"

#include "core.h"
#include "objective.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static l2h_rng g_rng;

static double ent(const double *p, size_t m)
{
    double h = 0;
    for (size_t l = 0; l < m; l++)
        if (p[l] > 0) h -= p[l] * log2(p[l]);
    return h;
}

/* Plain graded batch loss: straight from the definition in mi_graded.c. */
static double plain_loss(const double *z, size_t n, size_t bits, size_t K, double a, size_t G,
                         const uint8_t *ml, size_t L)
{
    const double delta = (double)bits / (double)K;
    double sum = 0;
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        double h[8][65] = {{0}}, cnt[8] = {0};
        for (size_t j = 0; j < n; j++) {
            if (j == i) continue;
            size_t r = 0;
            for (size_t k = 0; k < L; k++) r += ml[i * L + k] && ml[j * L + k];
            if (r > G - 1) r = G - 1;
            double dot = 0;
            for (size_t k = 0; k < bits; k++)
                dot += tanh(0.5 * a * z[i * bits + k]) * tanh(0.5 * a * z[j * bits + k]);
            double d = 0.5 * ((double)bits - dot);
            if (d < 0) d = 0;
            if (d > (double)bits) d = (double)bits;
            for (size_t l = 0; l <= K; l++) {
                const double w = 1.0 - fabs(d - (double)l * delta) / delta;
                if (w > 0) h[r][l] += w;
            }
            cnt[r] += 1;
        }
        size_t present = 0;
        for (size_t c = 0; c < G; c++) present += cnt[c] > 0;
        if (present < 2) continue;
        const double N = (double)(n - 1);
        double p[65] = {0}, mi;
        for (size_t l = 0; l <= K; l++) {
            for (size_t c = 0; c < G; c++) p[l] += h[c][l] / N;
        }
        mi = ent(p, K + 1);
        for (size_t c = 0; c < G; c++) {
            if (cnt[c] == 0) continue;
            for (size_t l = 0; l <= K; l++) h[c][l] /= cnt[c];
            mi -= cnt[c] / N * ent(h[c], K + 1);
        }
        sum += mi;
        used++;
    }
    return used ? -sum / (double)used : 0.0;
}

typedef struct ctx {
    size_t n, bits;
    l2h_mihash_params p;
    const l2h_supervision *s;
    double *z;
} ctx;

static double loss_fn(void *vc)
{
    ctx *c = vc;
    double l = NAN;
    if (l2h_mihash_batch_f64(c->bits, &c->p, c->z, c->n, c->s, NULL, &l, NULL) != L2H_OK)
        return NAN;
    return l;
}

static uint64_t pattern_fn(void *vc)
{
    const ctx *c = vc;
    uint64_t h = 1469598103934665603ULL;
    const double delta = (double)c->bits / (double)c->p.bins, a = (double)c->p.scale;
    for (size_t i = 0; i < c->n; i++)
        for (size_t j = i + 1; j < c->n; j++) {
            double dot = 0;
            for (size_t k = 0; k < c->bits; k++)
                dot += tanh(0.5 * a * c->z[i * c->bits + k]) * tanh(0.5 * a * c->z[j * c->bits + k]);
            h = (h ^ (uint64_t)floor(0.5 * ((double)c->bits - dot) / delta)) * 1099511628211ULL;
        }
    return h;
}

static void test_graded(void)
{
    enum { N = 14, L = 6 };
    uint8_t ml[N * L];
    int32_t lab[N];
    for (size_t i = 0; i < N * L; i++) ml[i] = l2h_rng_uniform(&g_rng) < 0.45;
    for (size_t i = 0; i < N; i++) lab[i] = (int32_t)l2h_rng_below(&g_rng, 3);
    const l2h_supervision sm = {.kind = L2H_SUP_MULTILABELS, .n = N, .multilabels = ml, .n_labels = L};
    const l2h_supervision sl = {.kind = L2H_SUP_LABELS, .n = N, .labels = lab};
    const struct {
        size_t bits, K, G;
        double a;
    } cfg[] = {{8, 4, 3, 2.0}, {12, 6, 4, 1.0}, {16, 16, 5, 1.5}};
    for (size_t c = 0; c < sizeof cfg / sizeof cfg[0]; c++) {
        const size_t bits = cfg[c].bits, nb = N * bits;
        double *z = malloc(nb * sizeof *z), *dz = malloc(nb * sizeof *dz),
               *dz2 = malloc(nb * sizeof *dz2);
        for (size_t k = 0; k < nb; k++) z[k] = l2h_rng_normal(&g_rng);
        ctx cx = {N, bits, {cfg[c].K, (float)cfg[c].a, cfg[c].G, 0}, &sm, z};
        double loss, loss2;
        size_t used;
        CHECK_OK(l2h_mihash_batch_f64(bits, &cx.p, z, N, &sm, dz, &loss, &used));
        CHECK(used > 0 && loss < 0);
        CHECK_NEAR(loss, plain_loss(z, N, bits, cfg[c].K, cfg[c].a, cfg[c].G, ml, L), 1e-12,
                   1e-13);
        const gc_opts o = {.h = 1e-6, .rtol = 1e-4, .atol = 5e-9, .max_coords = 150,
                           .seed = check_seed + c, .pattern = pattern_fn, .converge = 1};
        const gc_report r = gc_check_f64("graded mihash", loss_fn, &cx, z, nb, dz, &o);
        CHECK(r.bad == 0 && r.checked >= 4 * (r.checked + r.skipped + r.unconverged) / 5);

        /* G = 2 is the binary objective: on multi-labels (min(shared, 1) = "shares one") and on
         * class labels */
        for (int k = 0; k < 2; k++) {
            const l2h_supervision *s = k ? &sl : &sm;
            l2h_mihash_params pb = {cfg[c].K, (float)cfg[c].a, 0, 0}, pg = pb;
            pg.grades = 2;
            CHECK_OK(l2h_mihash_batch_f64(bits, &pb, z, N, s, dz, &loss, NULL));
            CHECK_OK(l2h_mihash_batch_f64(bits, &pg, z, N, s, dz2, &loss2, NULL));
            CHECK_NEAR(loss2, loss, 1e-13, 1e-15);
            CHECK_ALL_NEAR(nb, dz2, dz, 1e-11, 1e-14);
        }
        free(z);
        free(dz);
        free(dz2);
    }
    l2h_mihash_params bad = {4, 1.0f, 1, 0};
    CHECK(l2h_mihash_params_check(&bad, 8) == L2H_ERR_ARG);
    bad.grades = 65;
    CHECK(l2h_mihash_params_check(&bad, 8) == L2H_ERR_ARG);
    bad.grades = 64;
    CHECK_OK(l2h_mihash_params_check(&bad, 8));
}

int main(void)
{
    l2h_rng_seed(&g_rng, test_seed());
    test_graded();
    return check_report();
}
