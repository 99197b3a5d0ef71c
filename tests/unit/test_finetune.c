/* test_finetune.c -- l2h_train_finetune (issue 17) on a small synthetic block: every method
 * trains and is deterministic for a seed, training improves the validation mAP of clustered
 * data over the starting point, block_lr_mult 0 leaves the block's weights as given (with the
 * input scale folded into the depthwise weights), and bad arguments are refused. */
#include "check.h"

#include "core.h"
#include "l2h/finetune.h"
#include "model_internal.h"

#include <string.h>

enum { C = 6, H = 4, W = 4, OC = 10, D = C * H * W, N = 120, CLASSES = 4 };

static float g_dw[C * 9], g_dwb[C], g_pw[OC * C], g_pwb[OC];

/* Cached-input-like rows: bytes 0..255 around a per-class pattern. */
static l2h_dataset *make_data(uint64_t seed)
{
    l2h_rng rng;
    l2h_rng_seed(&rng, seed);
    static float proto[CLASSES][D];
    for (int k = 0; k < CLASSES; k++)
        for (int j = 0; j < D; j++) proto[k][j] = (float)l2h_rng_below(&rng, 200);
    float *x = malloc(sizeof(float) * N * D);
    int32_t y[N];
    for (int i = 0; i < N; i++) {
        y[i] = i % CLASSES;
        for (int j = 0; j < D; j++) {
            /* the class shows in the channel means (the block ends in a global average pool) */
            const double v = (double)proto[y[i]][(j / (H * W)) * H * W] + 50.0 * l2h_rng_normal(&rng);
            x[i * D + j] = (float)(v < 0 ? 0 : v > 255 ? 255 : floor(v));
        }
    }
    l2h_dataset *ds = NULL;
    CHECK_OK(l2h_dataset_create(&ds, N, D, x));
    if (ds) CHECK_OK(l2h_dataset_set_labels(ds, y));
    free(x);
    for (int i = 0; i < C * 9; i++) g_dw[i] = (float)(0.3 * l2h_rng_normal(&rng));
    for (int i = 0; i < C; i++) g_dwb[i] = (float)(0.2 * l2h_rng_normal(&rng));
    for (int i = 0; i < OC * C; i++) g_pw[i] = (float)(0.5 * l2h_rng_normal(&rng));
    for (int i = 0; i < OC; i++) g_pwb[i] = (float)(0.5 + 0.2 * l2h_rng_normal(&rng));
    return ds;
}

static l2h_finetune_block block(double lr_mult)
{
    return (l2h_finetune_block){.channels = C, .height = H, .width = W, .in_scale = 6.0 / 255,
                                .kernel = 3, .stride = 1, .pad = 1, .out_channels = OC,
                                .dw_weight = g_dw, .dw_bias = g_dwb, .pw_weight = g_pw,
                                .pw_bias = g_pwb, .block_lr_mult = lr_mult};
}

typedef struct maps {
    double v[64];
    size_t n;
} maps;

static int record(const l2h_train_progress *p, void *user)
{
    maps *m = user;
    if (m->n < 64 && p->val_map >= 0) m->v[m->n++] = p->val_map;
    return 0;
}

static size_t model_params(l2h_model *m, float **p)
{
    size_t n = 0;
    *p = m ? m->net->ops->params(m->net, &n) : NULL;
    return n;
}

static void test_methods(l2h_dataset *ds)
{
    const char *methods[] = {"mihash", "hashnet", "jmlh"};
    for (int k = 0; k < 3; k++) {
        l2h_train_params p = l2h_train_method_params(methods[k], 8);
        p.epochs = 6;
        p.batch = 20;
        p.val_fraction = 0.25;
        p.optimizer = L2H_OPT_ADAM; /* the rate of the raw-activation scale for every method */
        p.schedule = L2H_SCHED_CONST;
        p.lr = 1e-3;
        p.last_lr_mult = 10;
        maps mp = {{0}, 0};
        p.callback = record;
        p.user = &mp;
        const l2h_finetune_block b = block(1.0);
        l2h_model *m1 = NULL, *m2 = NULL;
        CHECK_OK(l2h_train_finetune(&m1, ds, &p, &b));
        p.callback = NULL;
        CHECK_OK(l2h_train_finetune(&m2, ds, &p, &b));
        float *a, *c;
        const size_t na = model_params(m1, &a), nc = model_params(m2, &c);
        CHECK(na > 0 && na == nc && memcmp(a, c, na * sizeof *a) == 0);
        /* the block moved (trained), and the validation mAP was measured every epoch */
        float *dwt = a; /* first tensor: the depthwise weights, input scale folded in */
        double moved = 0;
        for (int i = 0; na && i < C * 9; i++)
            moved = fmax(moved, fabs(dwt[i] - g_dw[i] * (float)(6.0 / 255)));
        CHECK(moved > 0);
        CHECK(mp.n == 6);
        printf("%s: validation mAP after epoch 1 %.3f, after epoch 6 %.3f\n", methods[k], mp.v[0],
               mp.v[mp.n - 1]);
        CHECK(mp.n == 6 && mp.v[5] > 0.4 && mp.v[5] > mp.v[0]); /* 4 classes: chance ~0.25 */
        uint8_t codes[N];
        CHECK_OK(l2h_model_encode(m1, l2h_dataset_features(ds), N, codes));
        l2h_model_free(m1);
        l2h_model_free(m2);
    }
}

static void test_frozen(l2h_dataset *ds)
{
    l2h_train_params p = l2h_train_method_params("mihash", 8);
    p.epochs = 2;
    p.batch = 20;
    const l2h_finetune_block b = block(0.0);
    l2h_model *m = NULL;
    CHECK_OK(l2h_train_finetune(&m, ds, &p, &b));
    float *a;
    const size_t na = model_params(m, &a);
    int same = na > 0;
    for (int i = 0; same && i < C * 9; i++) same = a[i] == g_dw[i] * (float)(6.0 / 255);
    for (int i = 0; same && i < C; i++) same = a[C * 9 + i] == g_dwb[i];
    for (int i = 0; same && i < OC * C; i++) same = a[C * 10 + i] == g_pw[i];
    CHECK(same);
    l2h_model_free(m);
}

static void test_errors(l2h_dataset *ds)
{
    l2h_train_params p = l2h_train_method_params("mihash", 8);
    p.epochs = 1;
    l2h_model *m = NULL;
    l2h_finetune_block b = block(1.0);
    b.channels = 5; /* 5 * 16 != D */
    CHECK_STATUS(l2h_train_finetune(&m, ds, &p, &b), L2H_ERR_ARG);
    CHECK(m == NULL);
    b = block(1.0);
    b.pw_weight = NULL;
    CHECK_STATUS(l2h_train_finetune(&m, ds, &p, &b), L2H_ERR_ARG);
    b = block(-1.0);
    CHECK_STATUS(l2h_train_finetune(&m, ds, &p, &b), L2H_ERR_ARG);
    b = block(1.0);
    p.method = "itq";
    CHECK_STATUS(l2h_train_finetune(&m, ds, &p, &b), L2H_ERR_ARG);
    p.method = "mihash";
    p.dropout = 0.5;
    CHECK_STATUS(l2h_train_finetune(&m, ds, &p, &b), L2H_ERR_ARG);
    CHECK_STATUS(l2h_train_finetune(NULL, ds, &p, &b), L2H_ERR_ARG);
}

int main(void)
{
    test_seed();
    l2h_dataset *ds = make_data(check_seed);
    if (!ds) return check_report();
    test_methods(ds);
    test_frozen(ds);
    test_errors(ds);
    l2h_dataset_free(ds);
    return check_report();
}
