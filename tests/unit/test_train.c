/* test_train.c -- the training loop learns: a linear hash trained with the batch MIHash
 * objective on a small synthetic clustered dataset raises the MI quality of its hard codes far
 * above its random initialisation; two runs with one seed give bit-identical parameters; the
 * loss decreases; numerical failures are reported with their place; argument errors. */
#include "check.h"

#include "core.h"
#include "l2h/codes.h"
#include "train_loop.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { C = 6, PER = 50, N = C * PER, DIM = 32, SIGNAL = 8, BITS = 16 };

static float g_x[N * DIM];
static int32_t g_lab[N];

/* Classes differ in SIGNAL = 8 dimensions only: class c is centred on row c + 1 of the 8x8
 * Sylvester-Hadamard matrix (±1 entries, mutually orthogonal, so all classes are equally far
 * apart), noise 0.5; the other 24 dimensions are class-independent noise of std 1.5, so random
 * projections see mostly noise. Rows are then centred and L2-normalised, as the model's
 * preprocessing does. */
static void make_data(uint64_t seed)
{
    l2h_rng r;
    l2h_rng_seed(&r, seed);
    float centre[C][SIGNAL];
    for (int c = 0; c < C; c++)
        for (int k = 0; k < SIGNAL; k++) /* H[i][j] = (−1)^popcount(i & j) */
            centre[c][k] = (__builtin_popcount((unsigned)((c + 1) & k)) & 1) ? -1.0f : 1.0f;
    for (size_t i = 0; i < N; i++) {
        g_lab[i] = (int32_t)(i % C);
        for (size_t k = 0; k < DIM; k++)
            g_x[i * DIM + k] = k < SIGNAL ? centre[g_lab[i]][k] + (float)(0.5 * l2h_rng_normal(&r))
                                          : (float)(1.5 * l2h_rng_normal(&r));
    }
    double mean[DIM] = {0};
    for (size_t i = 0; i < N; i++)
        for (size_t k = 0; k < DIM; k++)
            mean[k] += (double)g_x[i * DIM + k] / N;
    for (size_t i = 0; i < N; i++) {
        double s2 = 0;
        for (size_t k = 0; k < DIM; k++) {
            g_x[i * DIM + k] -= (float)mean[k];
            s2 += (double)g_x[i * DIM + k] * (double)g_x[i * DIM + k];
        }
        for (size_t k = 0; k < DIM; k++)
            g_x[i * DIM + k] /= (float)sqrt(s2);
    }
}

static double quality(const l2h_nn *net, const l2h_supervision *s)
{
    float *z = malloc(N * BITS * sizeof *z);
    uint8_t *codes = malloc(N * l2h_code_bytes(BITS));
    double q = -1.0;
    const l2h_mi_quality_params qp = l2h_mi_quality_default_params();
    CHECK_OK(l2h_nn_infer(net, g_x, N, z));
    CHECK_OK(l2h_codes_pack(z, N, BITS, codes));
    CHECK_OK(l2h_mi_quality(codes, N, BITS, s, &qp, &q, NULL));
    free(z);
    free(codes);
    return q;
}

static l2h_loop_params test_params(void)
{
    l2h_loop_params p = l2h_loop_default_params();
    p.epochs = 40;
    p.batch = 60;
    p.seed = check_seed;
    p.lr = (l2h_lr_schedule){.kind = L2H_LR_STEP, .lr0 = 0.5f, .gamma = 0.5f, .step = 15};
    return p;
}

/* A freshly initialised linear hash and its objective: sigmoid scale 2 / rms(z) of the initial
 * outputs (1 / rms learns too, more slowly; 8 / rms and above starts saturated). */
static void setup(l2h_nn **net, l2h_objective **obj)
{
    *net = NULL;
    *obj = NULL;
    CHECK_OK(l2h_nn_create_linear(net, DIM, BITS, 100));
    if (!*net) return;
    CHECK_OK(l2h_nn_init(*net, L2H_INIT_HE, 0.0f, check_seed));
    float *z = malloc(N * BITS * sizeof *z);
    CHECK_OK(l2h_nn_infer(*net, g_x, N, z));
    l2h_mihash_params mp = l2h_mihash_default_params(BITS);
    mp.scale = 2.0f * l2h_mihash_suggest_scale(z, N, BITS);
    free(z);
    CHECK_OK(l2h_mihash_create(obj, BITS, &mp));
}

static void test_learns_and_repeats(void)
{
    const l2h_supervision s = {.kind = L2H_SUP_LABELS, .n = N, .labels = g_lab};
    l2h_nn *net[2];
    l2h_objective *obj[2];
    const l2h_loop_params p = test_params();
    float loss[2][40];
    double q0 = 0, q1 = 0;
    for (int run = 0; run < 2; run++) {
        setup(&net[run], &obj[run]);
        if (!net[run] || !obj[run]) return;
        if (run == 0) q0 = quality(net[run], &s);
        CHECK_OK(l2h_train_run(net[run], obj[run], g_x, N, &s, &p, loss[run]));
        if (run == 0) q1 = quality(net[run], &s);
    }
    /* H(C) for 6 balanced classes without the self pair: h(49/299) ≈ 0.644 bits */
    const double pc = (double)(PER - 1) / (N - 1);
    const double hc = -pc * log2(pc) - (1 - pc) * log2(1 - pc);
    fprintf(stderr, "MI quality: random init %.4f, trained %.4f (H(C) = %.4f); loss %.4f -> %.4f\n",
            q0, q1, hc, (double)loss[0][0], (double)loss[0][39]);
    CHECK(q0 < 0.35 * hc);
    CHECK(q1 > 0.8 * hc);
    CHECK(q1 > q0 + 0.4 * hc);
    CHECK(loss[0][39] < loss[0][0] - 0.1f);
    /* bit-for-bit repeatable */
    CHECK(memcmp(l2h_nn_params(net[0]), l2h_nn_params(net[1]),
                 l2h_nn_n_params(net[0]) * sizeof(float)) == 0);
    CHECK(memcmp(loss[0], loss[1], sizeof loss[0]) == 0);
    /* another seed shuffles differently */
    l2h_loop_params p2 = p;
    p2.seed = p.seed + 1;
    p2.epochs = 1;
    l2h_nn *n3;
    l2h_objective *o3;
    setup(&n3, &o3);
    if (n3 && o3) {
        CHECK_OK(l2h_train_run(n3, o3, g_x, N, &s, &p2, NULL));
        p2.seed = p.seed;
        CHECK_OK(l2h_nn_init(net[1], L2H_INIT_HE, 0.0f, check_seed));
        CHECK_OK(l2h_train_run(net[1], obj[1], g_x, N, &s, &p2, NULL));
        CHECK(memcmp(l2h_nn_params(n3), l2h_nn_params(net[1]),
                     l2h_nn_n_params(n3) * sizeof(float)) != 0);
    }
    l2h_nn_free(n3);
    l2h_objective_free(o3);
    for (int run = 0; run < 2; run++) {
        l2h_nn_free(net[run]);
        l2h_objective_free(obj[run]);
    }
}

/* Adam, multi-labels and a per-step inverse schedule also learn. */
static void test_adam_multilabel(void)
{
    uint8_t ml[N * C];
    for (size_t i = 0; i < N; i++)
        for (size_t c = 0; c < C; c++)
            ml[i * C + c] = (size_t)g_lab[i] == c;
    const l2h_supervision s = {
        .kind = L2H_SUP_MULTILABELS, .n = N, .multilabels = ml, .n_labels = C};
    l2h_nn *net;
    l2h_objective *obj;
    setup(&net, &obj);
    if (!net || !obj) return;
    l2h_loop_params p = test_params();
    p.optim = l2h_optim_default_params(L2H_OPTIM_ADAM);
    p.lr = (l2h_lr_schedule){.kind = L2H_LR_INV, .lr0 = 0.02f, .decay = 0.01f, .power = 0.75f};
    p.lr_unit = L2H_LR_PER_STEP;
    p.epochs = 15;
    const double q0 = quality(net, &s);
    CHECK_OK(l2h_train_run(net, obj, g_x, N, &s, &p, NULL));
    const double q1 = quality(net, &s);
    fprintf(stderr, "Adam / multi-label: %.4f -> %.4f\n", q0, q1);
    CHECK(q0 < 0.1);
    CHECK(q1 > 0.5); /* H(C) = 0.644 as above: multi-labels here encode the same classes */
    l2h_nn_free(net);
    l2h_objective_free(obj);
}

static void test_errors(void)
{
    const l2h_supervision s = {.kind = L2H_SUP_LABELS, .n = N, .labels = g_lab};
    l2h_nn *net;
    l2h_objective *obj;
    setup(&net, &obj);
    if (!net || !obj) return;
    l2h_loop_params p = test_params();
    p.epochs = 2;
    /* an exploding learning rate: named tensor after the step */
    p.lr.lr0 = 1e38f;
    p.lr.kind = L2H_LR_CONSTANT;
    p.optim.momentum = 0.0f;
    CHECK_STATUS(l2h_train_run(net, obj, g_x, N, &s, &p, NULL), L2H_ERR_NUMERIC);
    CHECK(strstr(l2h_last_error(), "linear.weight") != NULL ||
          strstr(l2h_last_error(), "output z[") != NULL);
    /* non-finite input: the objective names the output, the loop names the batch */
    CHECK_OK(l2h_nn_init(net, L2H_INIT_HE, 0.0f, 1));
    p = test_params();
    float *x = malloc(sizeof g_x);
    memcpy(x, g_x, sizeof g_x);
    x[7 * DIM + 3] = INFINITY;
    CHECK_STATUS(l2h_train_run(net, obj, x, N, &s, &p, NULL), L2H_ERR_NUMERIC);
    CHECK(strstr(l2h_last_error(), "epoch 0, batch") != NULL &&
          strstr(l2h_last_error(), "output z[") != NULL);
    free(x);
    /* arguments */
    p = test_params();
    p.batch = 101;
    CHECK_STATUS(l2h_train_run(net, obj, g_x, N, &s, &p, NULL), L2H_ERR_ARG);
    p.batch = 1;
    CHECK_STATUS(l2h_train_run(net, obj, g_x, N, &s, &p, NULL), L2H_ERR_ARG);
    p = test_params();
    p.epochs = 0;
    CHECK_STATUS(l2h_train_run(net, obj, g_x, N, &s, &p, NULL), L2H_ERR_ARG);
    p = test_params();
    p.lr.lr0 = -1.0f;
    CHECK_STATUS(l2h_train_run(net, obj, g_x, N, &s, &p, NULL), L2H_ERR_ARG);
    p = test_params();
    CHECK_STATUS(l2h_train_run(net, obj, g_x, N - 1, &s, &p, NULL), L2H_ERR_ARG);
    CHECK_STATUS(l2h_train_run(net, obj, NULL, N, &s, &p, NULL), L2H_ERR_ARG);
    l2h_objective *wrong;
    CHECK_OK(l2h_mihash_create(&wrong, BITS + 1, &(l2h_mihash_params){.bins = 4, .scale = 1}));
    CHECK_STATUS(l2h_train_run(net, wrong, g_x, N, &s, &p, NULL), L2H_ERR_ARG);
    l2h_objective_free(wrong);
    l2h_nn_free(net);
    l2h_objective_free(obj);
}

int main(void)
{
    test_seed();
    make_data(check_seed);
    test_learns_and_repeats();
    test_adam_multilabel();
    test_errors();
    return check_report();
}
