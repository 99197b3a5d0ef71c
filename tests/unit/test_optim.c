/* test_optim.c -- optimisers against hand-computed updates and a plain double-precision
 * transcription of each rule, per-range multipliers, learning-rate schedules, argument errors,
 * and convergence on a quadratic. */
#include "check.h"

#include "core.h"
#include "optim.h"

#include <math.h>
#include <string.h>

static l2h_rng g_rng;

static void test_sgd_hand(void)
{
    l2h_optim_params p = l2h_optim_default_params(L2H_OPTIM_SGD);
    float x = 1.0f, v = 0.0f;
    const float g = 0.5f;
    /* momentum 0.9, lr 0.1: v = 0.5, x = 0.95; v = 0.95, x = 0.855 */
    CHECK_OK(l2h_optim_step(&p, 1, &x, &g, &v, 1, 0.1f, NULL, 0));
    CHECK_NEAR(x, 0.95, 1e-7, 0.0);
    CHECK_NEAR(v, 0.5, 1e-7, 0.0);
    CHECK_OK(l2h_optim_step(&p, 1, &x, &g, &v, 2, 0.1f, NULL, 0));
    CHECK_NEAR(x, 0.855, 1e-6, 0.0);
    CHECK_NEAR(v, 0.95, 1e-6, 0.0);
    /* Nesterov: x -= lr (g + μ v): 1 − 0.1·0.95 = 0.905, then 0.905 − 0.1·(0.5 + 0.9·0.95) */
    p.nesterov = 1;
    x = 1.0f;
    v = 0.0f;
    CHECK_OK(l2h_optim_step(&p, 1, &x, &g, &v, 1, 0.1f, NULL, 0));
    CHECK_NEAR(x, 0.905, 1e-6, 0.0);
    CHECK_OK(l2h_optim_step(&p, 1, &x, &g, &v, 2, 0.1f, NULL, 0));
    CHECK_NEAR(x, 0.7695, 1e-6, 0.0);
    /* plain SGD with weight decay 0.1 and zero gradient: x = 2 − 0.1 · 0.1 · 2 */
    p = l2h_optim_default_params(L2H_OPTIM_SGD);
    p.momentum = 0.0f;
    p.weight_decay = 0.1f;
    x = 2.0f;
    v = 0.0f;
    const float zero = 0.0f;
    CHECK_OK(l2h_optim_step(&p, 1, &x, &zero, &v, 1, 0.1f, NULL, 0));
    CHECK_NEAR(x, 1.98, 1e-7, 0.0);
}

static void test_adam_hand(void)
{
    l2h_optim_params p = l2h_optim_default_params(L2H_OPTIM_ADAM);
    float x[2] = {1.0f, -3.0f}, st[4] = {0};
    const float g1[2] = {0.2f, -5.0f}, g2[2] = {-0.1f, 1.0f};
    /* first step, bias-corrected: m̂ = g, v̂ = g², so x -= lr · g / (|g| + ε) = lr · sign(g) */
    CHECK_OK(l2h_optim_step(&p, 2, x, g1, st, 1, 0.01f, NULL, 0));
    CHECK_NEAR(x[0], 0.99, 1e-6, 0.0);
    CHECK_NEAR(x[1], -2.99, 1e-6, 0.0);
    /* second step by hand */
    double xe[2] = {0.99, -2.99};
    for (int i = 0; i < 2; i++) {
        const double a = g1[i], b = g2[i];
        const double m = 0.9 * 0.1 * a + 0.1 * b;
        const double v = 0.999 * 0.001 * a * a + 0.001 * b * b;
        const double mh = m / (1 - 0.81), vh = v / (1 - 0.999 * 0.999);
        xe[i] -= 0.01 * mh / (sqrt(vh) + 1e-8);
    }
    CHECK_OK(l2h_optim_step(&p, 2, x, g2, st, 2, 0.01f, NULL, 0));
    CHECK_NEAR(x[0], xe[0], 1e-6, 0.0);
    CHECK_NEAR(x[1], xe[1], 1e-6, 0.0);
    /* decoupled weight decay: x ← x − lr·wd·x before the Adam step */
    p.weight_decay = 0.5f;
    p.decoupled = 1;
    float y = 4.0f, sy[2] = {0};
    const float gy = 1.0f;
    CHECK_OK(l2h_optim_step(&p, 1, &y, &gy, sy, 1, 0.1f, NULL, 0));
    CHECK_NEAR(y, 4.0 - 0.1 * 0.5 * 4.0 - 0.1, 1e-6, 0.0);
    /* L2 decay enters the moments instead: g' = 1 + 0.5·4 = 3, first step still lr·sign */
    p.decoupled = 0;
    y = 4.0f;
    sy[0] = sy[1] = 0.0f;
    CHECK_OK(l2h_optim_step(&p, 1, &y, &gy, sy, 1, 0.1f, NULL, 0));
    CHECK_NEAR(y, 3.9, 1e-6, 0.0);
    CHECK_NEAR(sy[0], 0.3, 1e-6, 0.0);
}

/* The rules written out in double over several steps with multipliers. */
static void test_against_transcription(void)
{
    enum { N = 37, STEPS = 6 };
    const l2h_param_range ranges[2] = {{3, 10, 10.0f, 0.0f}, {20, 5, 0.5f, 2.0f}};
    for (int kind = 0; kind < 2; kind++)
        for (int variant = 0; variant < 2; variant++) {
            l2h_optim_params p = l2h_optim_default_params((l2h_optim_kind)kind);
            p.weight_decay = 0.01f;
            if (kind == 0)
                p.nesterov = variant;
            else
                p.decoupled = variant;
            float x[N], st[2 * N] = {0}, g[N];
            double xd[N], s1[N] = {0}, s2[N] = {0};
            for (int i = 0; i < N; i++)
                xd[i] = x[i] = (float)l2h_rng_normal(&g_rng);
            for (int t = 1; t <= STEPS; t++) {
                for (int i = 0; i < N; i++)
                    g[i] = (float)l2h_rng_normal(&g_rng);
                const float lr = 0.05f / (float)t;
                CHECK_OK(l2h_optim_step(&p, N, x, g, st, (size_t)t, lr, ranges, 2));
                for (int i = 0; i < N; i++) {
                    double lm = 1.0, dm = 1.0;
                    for (int r = 0; r < 2; r++)
                        if ((size_t)i >= ranges[r].begin &&
                            (size_t)i < ranges[r].begin + ranges[r].count) {
                            lm = ranges[r].lr_mult;
                            dm = ranges[r].decay_mult;
                        }
                    const double eta = (double)lr * lm, wd = 0.01 * dm;
                    if (kind == 0) {
                        const double gi = (double)g[i] + wd * xd[i];
                        s1[i] = 0.9 * s1[i] + gi;
                        xd[i] -= eta * (variant ? gi + 0.9 * s1[i] : s1[i]);
                    } else {
                        double gi = g[i];
                        if (variant)
                            xd[i] -= eta * wd * xd[i];
                        else
                            gi += wd * xd[i];
                        s1[i] = 0.9 * s1[i] + 0.1 * gi;
                        s2[i] = 0.999 * s2[i] + 0.001 * gi * gi;
                        const double mh = s1[i] / (1 - pow(0.9, t));
                        const double vh = s2[i] / (1 - pow(0.999, t));
                        xd[i] -= eta * mh / (sqrt(vh) + 1e-8);
                    }
                }
            }
            CHECK_ALL_NEAR(N, x, xd, 1e-5, 1e-6);
        }
}

static void test_ranges(void)
{
    l2h_optim_params p = l2h_optim_default_params(L2H_OPTIM_SGD);
    p.momentum = 0.0f;
    p.weight_decay = 1.0f;
    float x[5] = {1, 1, 1, 1, 1}, v[5] = {0};
    const float g[5] = {1, 1, 1, 1, 1};
    const l2h_param_range r[2] = {{1, 2, 10.0f, 0.0f}, {4, 1, 0.0f, 1.0f}};
    CHECK_OK(l2h_optim_step(&p, 5, x, g, v, 1, 0.01f, r, 2));
    /* outside ranges: g' = 1 + 1 = 2 → 0.98; in [1,3): η = 0.1, no decay → 0.9; frozen [4] */
    CHECK_NEAR(x[0], 0.98, 1e-6, 0.0);
    CHECK_NEAR(x[1], 0.9, 1e-6, 0.0);
    CHECK_NEAR(x[2], 0.9, 1e-6, 0.0);
    CHECK_NEAR(x[3], 0.98, 1e-6, 0.0);
    CHECK(x[4] == 1.0f);
    const l2h_param_range overlap[2] = {{0, 3, 1, 1}, {2, 1, 1, 1}};
    const l2h_param_range unsorted[2] = {{3, 1, 1, 1}, {0, 1, 1, 1}};
    const l2h_param_range beyond[1] = {{4, 2, 1, 1}};
    const l2h_param_range negative[1] = {{0, 1, -1, 1}};
    const l2h_param_range nan_mult[1] = {{0, 1, 1, NAN}};
    CHECK_STATUS(l2h_optim_step(&p, 5, x, g, v, 1, 0.1f, overlap, 2), L2H_ERR_ARG);
    CHECK_STATUS(l2h_optim_step(&p, 5, x, g, v, 1, 0.1f, unsorted, 2), L2H_ERR_ARG);
    CHECK_STATUS(l2h_optim_step(&p, 5, x, g, v, 1, 0.1f, beyond, 1), L2H_ERR_ARG);
    CHECK_STATUS(l2h_optim_step(&p, 5, x, g, v, 1, 0.1f, negative, 1), L2H_ERR_ARG);
    CHECK_STATUS(l2h_optim_step(&p, 5, x, g, v, 1, 0.1f, nan_mult, 1), L2H_ERR_ARG);
    CHECK_STATUS(l2h_optim_step(&p, 5, x, g, v, 1, 0.1f, NULL, 1), L2H_ERR_ARG);
    CHECK_OK(l2h_param_ranges_check(5, beyond, 0));
}

static void test_errors(void)
{
    l2h_optim_params p = l2h_optim_default_params(L2H_OPTIM_SGD);
    float x = 0, g = 0, s[2] = {0};
    p.momentum = 1.0f;
    CHECK_STATUS(l2h_optim_step(&p, 1, &x, &g, s, 1, 0.1f, NULL, 0), L2H_ERR_ARG);
    p.momentum = 0.0f;
    p.nesterov = 1;
    CHECK_STATUS(l2h_optim_step(&p, 1, &x, &g, s, 1, 0.1f, NULL, 0), L2H_ERR_ARG);
    p = l2h_optim_default_params(L2H_OPTIM_SGD);
    p.weight_decay = -1.0f;
    CHECK_STATUS(l2h_optim_params_check(&p), L2H_ERR_ARG);
    p = l2h_optim_default_params(L2H_OPTIM_ADAM);
    p.beta2 = 1.0f;
    CHECK_STATUS(l2h_optim_params_check(&p), L2H_ERR_ARG);
    p.beta2 = 0.999f;
    p.eps = 0.0f;
    CHECK_STATUS(l2h_optim_params_check(&p), L2H_ERR_ARG);
    p.eps = 1e-8f;
    p.kind = (l2h_optim_kind)5;
    CHECK_STATUS(l2h_optim_params_check(&p), L2H_ERR_ARG);
    p = l2h_optim_default_params(L2H_OPTIM_ADAM);
    CHECK_STATUS(l2h_optim_step(&p, 1, &x, &g, s, 0, 0.1f, NULL, 0), L2H_ERR_ARG);
    CHECK_STATUS(l2h_optim_step(&p, 1, &x, &g, s, 1, NAN, NULL, 0), L2H_ERR_ARG);
    CHECK_STATUS(l2h_optim_step(&p, 1, &x, &g, s, 1, -1.0f, NULL, 0), L2H_ERR_ARG);
    CHECK_STATUS(l2h_optim_step(&p, 1, NULL, &g, s, 1, 0.1f, NULL, 0), L2H_ERR_ARG);
    CHECK_OK(l2h_optim_step(&p, 0, NULL, NULL, NULL, 1, 0.1f, NULL, 0));
    CHECK_EQ_I(l2h_optim_state_floats(L2H_OPTIM_SGD, 10), 10);
    CHECK_EQ_I(l2h_optim_state_floats(L2H_OPTIM_ADAM, 10), 20);
}

static void test_schedules(void)
{
    const l2h_lr_schedule c = {.kind = L2H_LR_CONSTANT, .lr0 = 0.3f};
    CHECK_OK(l2h_lr_schedule_check(&c));
    CHECK(l2h_lr_at(&c, 0) == 0.3f && l2h_lr_at(&c, 1000) == 0.3f);
    const l2h_lr_schedule st = {.kind = L2H_LR_STEP, .lr0 = 0.1f, .gamma = 0.5f, .step = 10};
    CHECK_OK(l2h_lr_schedule_check(&st));
    CHECK_NEAR(l2h_lr_at(&st, 0), 0.1, 1e-7, 0.0);
    CHECK_NEAR(l2h_lr_at(&st, 9), 0.1, 1e-7, 0.0);
    CHECK_NEAR(l2h_lr_at(&st, 10), 0.05, 1e-7, 0.0);
    CHECK_NEAR(l2h_lr_at(&st, 25), 0.025, 1e-7, 0.0);
    CHECK_NEAR(l2h_lr_at(&st, 99), 0.1 / 512, 1e-6, 0.0);
    const l2h_lr_schedule inv = {.kind = L2H_LR_INV, .lr0 = 1.0f, .decay = 0.5f, .power = 1.0f};
    CHECK_OK(l2h_lr_schedule_check(&inv));
    CHECK_NEAR(l2h_lr_at(&inv, 0), 1.0, 1e-7, 0.0);
    CHECK_NEAR(l2h_lr_at(&inv, 2), 0.5, 1e-7, 0.0);
    const l2h_lr_schedule inv2 = {.kind = L2H_LR_INV, .lr0 = 0.01f, .decay = 1e-4f, .power = 0.75f};
    CHECK_NEAR(l2h_lr_at(&inv2, 5000), 0.01 / pow(1.5, 0.75), 1e-6, 0.0);
    l2h_lr_schedule bad = st;
    bad.step = 0;
    CHECK_STATUS(l2h_lr_schedule_check(&bad), L2H_ERR_ARG);
    bad = st;
    bad.gamma = 1.5f;
    CHECK_STATUS(l2h_lr_schedule_check(&bad), L2H_ERR_ARG);
    bad = inv;
    bad.power = -1.0f;
    CHECK_STATUS(l2h_lr_schedule_check(&bad), L2H_ERR_ARG);
    bad = c;
    bad.lr0 = 0.0f;
    CHECK_STATUS(l2h_lr_schedule_check(&bad), L2H_ERR_ARG);
    bad.lr0 = 1.0f;
    bad.kind = (l2h_lr_kind)9;
    CHECK_STATUS(l2h_lr_schedule_check(&bad), L2H_ERR_ARG);
}

/* f(x) = ½ Σ a_i (x_i − c_i)²: both optimisers reach c. */
static void test_quadratic(void)
{
    enum { N = 8 };
    double a[N], c[N];
    for (int i = 0; i < N; i++) {
        a[i] = 0.5 + (double)i;
        c[i] = l2h_rng_normal(&g_rng);
    }
    for (int kind = 0; kind < 2; kind++) {
        const l2h_optim_params p = l2h_optim_default_params((l2h_optim_kind)kind);
        float x[N] = {0}, g[N], st[2 * N] = {0};
        const float lr = kind == 0 ? 0.02f : 0.05f;
        l2h_status s = L2H_OK;
        for (size_t t = 1; t <= 3000 && s == L2H_OK; t++) {
            for (int i = 0; i < N; i++)
                g[i] = (float)(a[i] * ((double)x[i] - c[i]));
            const float l = kind == 0 ? lr : lr / sqrtf((float)t); /* Adam needs a decay */
            s = l2h_optim_step(&p, N, x, g, st, t, l, NULL, 0);
        }
        CHECK_OK(s);
        CHECK_ALL_NEAR(N, x, c, 0.0, 1e-3);
    }
}

int main(void)
{
    l2h_rng_seed(&g_rng, test_seed());
    test_sgd_hand();
    test_adam_hand();
    test_against_transcription();
    test_ranges();
    test_errors();
    test_schedules();
    test_quadratic();
    return check_report();
}
