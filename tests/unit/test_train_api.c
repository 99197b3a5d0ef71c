/* test_train_api.c -- the public trainer (l2h/train.h) and the nn-backed model architectures:
 * MIHash on a linear / MLP / CNN network raises the MI quality of the codes on clustered data;
 * the progress callback sees every epoch and validation mAP where asked; a saved and reloaded
 * model encodes bit-identically (all three kinds; linear files keep the plain "linear" arch);
 * training is repeatable; argument errors. */
#include "check.h"

#include "l2h/l2h.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { C = 5, PER = 40, N = C * PER };

/* n rows of dim features: class c = i % C centred on a random ±1 pattern, plus noise. */
static l2h_dataset *make_data(size_t dim, uint64_t seed)
{
    l2h_dataset *ds;
    CHECK_OK(l2h_dataset_create(&ds, N, dim, NULL));
    float *x = l2h_dataset_features_mut(ds);
    int32_t lab[N];
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    float *centre = malloc(C * dim * sizeof *centre);
    for (size_t k = 0; k < C * dim; k++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        centre[k] = (s >> 33) & 1 ? 1.0f : -1.0f;
    }
    for (size_t i = 0; i < N; i++) {
        lab[i] = (int32_t)(i % C);
        for (size_t k = 0; k < dim; k++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            const float u = (float)((s >> 40) & 0xffff) / 65536.0f - 0.5f;
            x[i * dim + k] = centre[(size_t)lab[i] * dim + k] + 3.0f * u;
        }
    }
    free(centre);
    CHECK_OK(l2h_dataset_set_labels(ds, lab));
    return ds;
}

static double quality(const l2h_model *m, const l2h_dataset *ds)
{
    const size_t bits = l2h_model_bits(m);
    uint8_t *codes = malloc(N * l2h_code_bytes(bits));
    CHECK_OK(l2h_model_encode(m, l2h_dataset_features(ds), N, codes));
    double q = -1, hist[2 * 65];
    CHECK_OK(l2h_mi_quality_codes(codes, N, bits, ds, &q, hist));
    double pairs = 0;
    for (size_t d = 0; d < 2 * (bits + 1); d++) pairs += hist[d];
    CHECK(pairs == (double)N * (N - 1));
    free(codes);
    return q;
}

typedef struct seen {
    size_t epochs, vals;
    double last_loss;
} seen;

static int count_cb(const l2h_train_progress *p, void *user)
{
    seen *s = user;
    s->epochs++;
    s->last_loss = p->loss;
    if (getenv("L2H_TEST_VERBOSE"))
        fprintf(stderr, "epoch %zu loss %.4f val %.3f\n", p->epoch, p->loss, p->val_map);
    if (p->val_map >= 0) {
        CHECK(p->val_map <= 1.0 && p->val_map_tie <= 1.0);
        s->vals++;
    }
    return 0;
}

static void roundtrip(const l2h_model *m, const l2h_dataset *ds, const char *arch)
{
    CHECK(strcmp(l2h_model_arch(m), arch) == 0);
    CHECK(strcmp(l2h_model_method(m), "mihash") == 0);
    char path[] = "test_train_api_model.safetensors";
    CHECK_OK(l2h_model_save(m, path));
    l2h_model *m2;
    CHECK_OK(l2h_model_load(&m2, path));
    remove(path);
    CHECK(strcmp(l2h_model_arch(m2), arch) == 0);
    const size_t bytes = l2h_code_bytes(l2h_model_bits(m));
    uint8_t *a = malloc(N * bytes), *b = malloc(N * bytes);
    float *za = malloc(N * l2h_model_bits(m) * sizeof *za);
    float *zb = malloc(N * l2h_model_bits(m) * sizeof *zb);
    CHECK_OK(l2h_model_encode(m, l2h_dataset_features(ds), N, a));
    CHECK_OK(l2h_model_encode(m2, l2h_dataset_features(ds), N, b));
    CHECK(memcmp(a, b, N * bytes) == 0);
    CHECK_OK(l2h_model_forward(m, l2h_dataset_features(ds), N, za));
    CHECK_OK(l2h_model_forward(m2, l2h_dataset_features(ds), N, zb));
    CHECK(memcmp(za, zb, N * l2h_model_bits(m) * sizeof *za) == 0);
    free(a);
    free(b);
    free(za);
    free(zb);
    l2h_model_free(m2);
}

static void train_kind(l2h_net_kind kind, size_t dim, size_t epochs, const char *arch,
                       double lr, double min_q)
{
    l2h_dataset *ds = make_data(dim, check_seed);
    l2h_train_params p = l2h_train_default_params(12);
    p.net = kind;
    p.hidden[0] = 32;
    p.epochs = epochs;
    p.lr = lr;
    if (kind == L2H_NET_CNN) p.optimizer = L2H_OPT_ADAM;
    p.batch = 40;
    p.val_fraction = 0.2;
    p.val_every = 2;
    seen s = {0};
    p.callback = count_cb;
    p.user = &s;
    l2h_model *m;
    CHECK_OK(l2h_train(&m, ds, &p));
    CHECK(s.epochs == epochs);
    CHECK(s.vals == (epochs + 1) / 2);
    const double q = quality(m, ds);
    fprintf(stderr, "%s: MI quality after %zu epochs %.3f (H(C) = %.3f)\n", arch, epochs, q,
            -(0.2 * log2(0.2) + 0.8 * log2(0.8)));
    CHECK(q > min_q);
    roundtrip(m, ds, arch);
    /* repeatable */
    l2h_model *m2;
    p.callback = NULL;
    CHECK_OK(l2h_train(&m2, ds, &p));
    const size_t bytes = l2h_code_bytes(12);
    uint8_t *a = malloc(N * bytes), *b = malloc(N * bytes);
    CHECK_OK(l2h_model_encode(m, l2h_dataset_features(ds), N, a));
    CHECK_OK(l2h_model_encode(m2, l2h_dataset_features(ds), N, b));
    CHECK(memcmp(a, b, N * bytes) == 0);
    free(a);
    free(b);
    l2h_model_free(m2);
    l2h_model_free(m);
    l2h_dataset_free(ds);
}

static int cancel_cb(const l2h_train_progress *p, void *user)
{
    (void)user;
    return p->epoch >= 2;
}

static void test_errors(void)
{
    l2h_dataset *ds = make_data(16, 3);
    l2h_train_params p = l2h_train_default_params(8);
    p.epochs = 3;
    l2h_model *m = (l2h_model *)&p;
    p.net = L2H_NET_CNN;
    CHECK_STATUS(l2h_train(&m, ds, &p), L2H_ERR_ARG); /* dim 16 is no 28x28 image */
    CHECK(m == NULL);
    p = l2h_train_default_params(0);
    CHECK_STATUS(l2h_train(&m, ds, &p), L2H_ERR_ARG);
    p = l2h_train_default_params(8);
    p.method = "no-such-method"; /* unknown method */
    CHECK_STATUS(l2h_train(&m, ds, &p), L2H_ERR_ARG);
    p = l2h_train_default_params(8);
    p.val_fraction = 1.0;
    CHECK_STATUS(l2h_train(&m, ds, &p), L2H_ERR_ARG);
    p = l2h_train_default_params(8);
    p.epochs = 5;
    p.callback = cancel_cb;
    CHECK_STATUS(l2h_train(&m, ds, &p), L2H_ERR_STATE);
    CHECK(m == NULL);
    l2h_dataset *unl;
    CHECK_OK(l2h_dataset_create(&unl, N, 16, l2h_dataset_features(ds)));
    p = l2h_train_default_params(8);
    CHECK_STATUS(l2h_train(&m, unl, &p), L2H_ERR_ARG);
    l2h_dataset_free(unl);
    l2h_dataset_free(ds);
}

/* Each method's own defaults (l2h_train_method_params) differ from the shared ones only where
 * its reference trains differently. */
static void test_method_params(void)
{
    const l2h_train_params d = l2h_train_default_params(16);
    l2h_train_params p = l2h_train_method_params("mihash", 16);
    CHECK(!strcmp(p.method, "mihash") && p.optimizer == d.optimizer && p.lr == d.lr &&
          p.schedule == d.schedule && p.weight_decay == d.weight_decay &&
          p.last_lr_mult == d.last_lr_mult && p.bits == 16);
    p = l2h_train_method_params("hashnet", 16);
    CHECK(!strcmp(p.method, "hashnet") && p.last_lr_mult == 10.0 && p.optimizer == L2H_OPT_SGD &&
          p.lr == d.lr);
    p = l2h_train_method_params("jmlh", 16);
    CHECK(!strcmp(p.method, "jmlh") && p.optimizer == L2H_OPT_ADAM && p.lr == 1e-3 &&
          p.schedule == L2H_SCHED_CONST && p.weight_decay == 0.0 && p.last_lr_mult == 1.0);
    p = l2h_train_method_params("no-such-method", 16);
    CHECK(!strcmp(p.method, "no-such-method") && p.optimizer == d.optimizer);
}

/* Two models are the same file, byte for byte. */
static int same_file(const l2h_model *a, const l2h_model *b)
{
    char pa[] = "/tmp/l2h_test_reg_aXXXXXX", pb[] = "/tmp/l2h_test_reg_bXXXXXX";
    int fa = mkstemp(pa), fb = mkstemp(pb);
    if (fa < 0 || fb < 0) return 0;
    close(fa);
    close(fb);
    int same = 0;
    if (l2h_model_save(a, pa) == L2H_OK && l2h_model_save(b, pb) == L2H_OK) {
        FILE *x = fopen(pa, "rb"), *y = fopen(pb, "rb");
        same = x && y;
        for (int cx = 0, cy = 0; same && cx != EOF;) {
            cx = fgetc(x);
            cy = fgetc(y);
            same = cx == cy;
        }
        if (x) fclose(x);
        if (y) fclose(y);
    }
    remove(pa);
    remove(pb);
    return same;
}

/* The batch registry: every method listed with its options, settable by name (plain or
 * "method.option"), errors naming what is wrong, and the closed-form methods through the
 * registry giving the same model file as their direct calls. */
static void test_registry(void)
{
    const char *want[] = {"lsh", "itq", "mihash", "hashnet", "jmlh"};
    const char *const *names = l2h_train_methods();
    size_t n = 0;
    while (names[n]) n++;
    CHECK(n == l2h_train_method_count() && n >= 5);
    for (size_t i = 0; i < 5; i++) {
        const l2h_method_info *mi = l2h_train_method_find(want[i]);
        CHECK(mi && !strcmp(mi->name, want[i]) && mi->summary && mi->summary[0]);
        if (mi) CHECK((mi->batch > 0) == (i >= 2) && mi->needs_labels == (i >= 2));
    }
    CHECK(l2h_train_method_info(n) == NULL && l2h_train_method_find("nope") == NULL);
    l2h_train_params p = l2h_train_method_params("nope", 8);
    l2h_train_ctx *c = NULL;
    CHECK_STATUS(l2h_train_create(&c, &p), L2H_ERR_ARG);
    CHECK(c == NULL && strstr(l2h_last_error(), "jmlh") != NULL); /* lists the methods */

    p = l2h_train_method_params("mihash", 8);
    CHECK_OK(l2h_train_create(&c, &p));
    char buf[64];
    CHECK_OK(l2h_train_get_option(c, "bins", buf, sizeof buf));
    CHECK(!strcmp(buf, "0"));
    CHECK_OK(l2h_train_set_option(c, "mihash.bins", "4"));
    CHECK_OK(l2h_train_get_option(c, "bins", buf, sizeof buf));
    CHECK(!strcmp(buf, "4"));
    CHECK_STATUS(l2h_train_set_option(c, "bins", "-1"), L2H_ERR_ARG);
    CHECK_STATUS(l2h_train_set_option(c, "bins", "4x"), L2H_ERR_ARG);
    CHECK_STATUS(l2h_train_set_option(c, "hashnet.bins", "4"), L2H_ERR_ARG);
    CHECK_STATUS(l2h_train_set_option(c, "gamma", "1"), L2H_ERR_ARG);
    CHECK(strstr(l2h_last_error(), "scale") != NULL); /* lists mihash's options */
    CHECK_OK(l2h_train_check(c));
    CHECK_OK(l2h_train_set_option(c, "bins", "9")); /* > bits: refused before any data */
    CHECK_STATUS(l2h_train_check(c), L2H_ERR_ARG);
    CHECK(strstr(l2h_last_error(), "bins") != NULL);
    l2h_train_free(c);

    /* lsh / itq through the registry = the direct calls */
    l2h_dataset *ds = make_data(32, 7);
    for (int k = 0; k < 2; k++) {
        l2h_baseline_params bp = l2h_baseline_default_params(8);
        bp.seed = 5;
        bp.max_train = 150;
        bp.itq_iters = 7;
        l2h_model *direct = NULL, *viareg = NULL;
        CHECK_OK(k ? l2h_itq_train(&direct, ds, &bp) : l2h_lsh_train(&direct, ds, &bp));
        p = l2h_train_method_params(k ? "itq" : "lsh", 8);
        CHECK(p.l2_normalize == 0 && p.center == 1);
        p.seed = 5;
        CHECK_OK(l2h_train_create(&c, &p));
        CHECK_OK(l2h_train_set_option(c, "max-train", "150"));
        if (k) CHECK_OK(l2h_train_set_option(c, "itq.iters", "7"));
        else CHECK_STATUS(l2h_train_set_option(c, "iters", "7"), L2H_ERR_ARG);
        CHECK_OK(l2h_train_fit(c, ds, &viareg));
        CHECK(direct && viareg && same_file(direct, viareg));
        l2h_model_free(direct);
        l2h_model_free(viareg);
        l2h_train_free(c);
    }
    l2h_dataset_free(ds);
}

/* PCAH: its outputs on the training rows are the principal components, so they have zero mean,
 * are uncorrelated and have descending variances; 33 bits of 32 dimensions are refused. */
static void test_pcah(void)
{
    enum { B = 6, D = 32 };
    l2h_dataset *ds = make_data(D, 11);
    l2h_train_params p = l2h_train_method_params("pcah", B);
    l2h_train_ctx *c = NULL;
    l2h_model *m = NULL;
    CHECK_OK(l2h_train_create(&c, &p));
    CHECK_OK(l2h_train_fit(c, ds, &m));
    float *z = malloc(N * B * sizeof *z);
    if (m && z) {
        CHECK(!strcmp(l2h_model_method(m), "pcah") && l2h_model_bits(m) == B);
        CHECK_OK(l2h_model_forward(m, l2h_dataset_features(ds), N, z));
        double mean[B] = {0}, cov[B][B] = {{0}};
        for (size_t i = 0; i < N; i++)
            for (size_t a = 0; a < B; a++) mean[a] += (double)z[i * B + a] / (double)N;
        for (size_t i = 0; i < N; i++)
            for (size_t a = 0; a < B; a++)
                for (size_t b = 0; b < B; b++)
                    cov[a][b] += ((double)z[i * B + a] - mean[a]) * ((double)z[i * B + b] - mean[b]) / (double)N;
        for (size_t a = 0; a < B; a++) {
            CHECK(fabs(mean[a]) < 1e-4 * sqrt(cov[0][0]));
            if (a) CHECK(cov[a][a] <= cov[a - 1][a - 1] * (1 + 1e-6));
            for (size_t b = 0; b < a; b++) CHECK(fabs(cov[a][b]) < 1e-4 * cov[0][0]);
        }
        CHECK(cov[0][0] > cov[B - 1][B - 1] * 1.01); /* the variances do differ on this data */
    }
    free(z);
    l2h_model_free(m);
    l2h_train_free(c);
    p = l2h_train_method_params("pcah", D + 1);
    CHECK_OK(l2h_train_create(&c, &p));
    m = NULL;
    CHECK_STATUS(l2h_train_fit(c, ds, &m), L2H_ERR_ARG);
    CHECK(m == NULL);
    l2h_train_free(c);
    l2h_dataset_free(ds);
}

int main(void)
{
    test_registry();
    test_pcah();
    test_method_params();
    test_seed();
    train_kind(L2H_NET_LINEAR, 64, 10, "linear", 0.1, 0.4);
    train_kind(L2H_NET_MLP, 64, 10, "mlp", 0.1, 0.4);
    train_kind(L2H_NET_CNN, 784, 6, "cnn", 1e-3, 0.3);
    test_errors();
    return check_report();
}
