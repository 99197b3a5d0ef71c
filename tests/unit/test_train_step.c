/* test_train_step.c -- the step-level trainer (l2h/train_step.h):
 *  - one process stepping whole batches gives l2h_train's model file byte for byte (MIHash
 *    linear with a final one-item chunk skipped, HashNet MLP with validation, JMLH with random
 *    thresholds, MIHash MLP with batch norm);
 *  - a batch split into 2 and 3 parts with the parameter gradients summed (what l2h-mpi does)
 *    stays within float rounding of l2h_train, and is repeatable bit for bit;
 *  - a checkpoint saved mid-epoch and resumed in a new session gives the uninterrupted model
 *    byte for byte (MIHash, HashNet);
 *  - truncated, corrupted, foreign and missing checkpoints are refused and leave the session
 *    usable; calls out of order, partial batches with batch norm and checkpoints of random
 *    streams are refused. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"

#include "l2h/l2h.h"
#include "l2h/train_step.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { C = 4, PER = 30, N = C * PER, DIM = 24 };

static l2h_dataset *make_data(uint64_t seed)
{
    l2h_dataset *ds;
    CHECK_OK(l2h_dataset_create(&ds, N, DIM, NULL));
    float *x = l2h_dataset_features_mut(ds);
    int32_t lab[N];
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    float centre[C * DIM];
    for (size_t k = 0; k < C * DIM; k++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        centre[k] = (s >> 33) & 1 ? 1.0f : -1.0f;
    }
    for (size_t i = 0; i < N; i++) {
        lab[i] = (int32_t)(i % C);
        for (size_t k = 0; k < DIM; k++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            const float u = (float)((s >> 40) & 0xffff) / 65536.0f - 0.5f;
            x[i * DIM + k] = centre[(size_t)lab[i] * DIM + k] + 3.0f * u;
        }
    }
    CHECK_OK(l2h_dataset_set_labels(ds, lab));
    return ds;
}

/* The bytes of a model's file (malloc'ed), *n its size. */
static unsigned char *model_bytes(const l2h_model *m, size_t *n)
{
    char path[64];
    snprintf(path, sizeof path, "test_train_step_%d.st", (int)getpid());
    CHECK_OK(l2h_model_save(m, path));
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*n ? *n : 1);
    CHECK(fread(b, 1, *n, f) == *n);
    fclose(f);
    remove(path);
    return b;
}

static int same_model(const l2h_model *a, const l2h_model *b)
{
    size_t na = 0, nb = 0;
    unsigned char *x = model_bytes(a, &na), *y = model_bytes(b, &nb);
    const int same = x && y && na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
}

/* Runs every session (one per simulated process, same data and parameters) until done or
 * `stop` steps: each forwards its part [m·p/P, m·(p+1)/P) of the batch, the outputs are put
 * together, each evaluates the objective on the whole batch and backpropagates its own part,
 * and the parameter gradients are summed in part order into every session before its update --
 * what l2h-mpi does with MPI_Allgatherv and its fixed-order reduction. */
static l2h_status run(l2h_train_session **s, size_t parts, size_t stop)
{
    const size_t bits = l2h_train_session_bits(s[0]), np = l2h_train_session_n_params(s[0]);
    float *z = malloc(512 * bits * sizeof *z), *dz = malloc(512 * bits * sizeof *dz);
    float *sum = malloc(np * sizeof *sum);
    l2h_status st = L2H_OK;
    while (st == L2H_OK && l2h_train_session_steps(s[0]) < stop) {
        size_t m = 0, mp = 0;
        for (size_t p = 0; p < parts && st == L2H_OK; p++) {
            st = l2h_train_session_next(s[p], &mp);
            if (p == 0) m = mp;
            if (mp != m) st = L2H_ERR_STATE;
        }
        if (st != L2H_OK || m == 0) break;
        for (size_t p = 0; p < parts && st == L2H_OK; p++) {
            const size_t a = m * p / parts, b = m * (p + 1) / parts;
            if (b > a) st = l2h_train_session_forward(s[p], a, b - a, z + a * bits);
        }
        float loss0 = 0, loss;
        for (size_t p = 0; p < parts && st == L2H_OK; p++) {
            st = l2h_train_session_objective(s[p], z, dz, &loss);
            if (p == 0) loss0 = loss;
            if (st == L2H_OK && memcmp(&loss, &loss0, sizeof loss)) st = L2H_ERR_STATE;
            const size_t a = m * p / parts, b = m * (p + 1) / parts;
            if (st == L2H_OK && b > a) st = l2h_train_session_backward(s[p], dz + a * bits);
        }
        if (st != L2H_OK) break;
        memcpy(sum, l2h_train_session_grads(s[0]), np * sizeof *sum);
        for (size_t p = 1; p < parts; p++) {
            const float *g = l2h_train_session_grads(s[p]);
            for (size_t i = 0; i < np; i++) sum[i] += g[i];
        }
        for (size_t p = 0; p < parts && st == L2H_OK; p++) {
            memcpy(l2h_train_session_grads(s[p]), sum, np * sizeof *sum);
            st = l2h_train_session_update(s[p]);
        }
    }
    free(z);
    free(dz);
    free(sum);
    return st;
}

static l2h_train_params params(const char *method, l2h_net_kind net, size_t batch)
{
    l2h_train_params p = l2h_train_method_params(method, 16);
    p.net = net;
    p.hidden[0] = 32;
    p.epochs = 4;
    p.batch = batch;
    p.lr_step = 2;
    return p;
}

static void equal_to_train(const char *what, const l2h_train_params *p)
{
    l2h_dataset *ds = make_data(3);
    l2h_model *ref = NULL, *got = NULL;
    CHECK_OK(l2h_train(&ref, ds, p));
    l2h_train_session *s = NULL;
    CHECK_OK(l2h_train_session_create(&s, ds, p));
    CHECK_OK(run(&s, 1, (size_t)-1));
    size_t m = 99;
    CHECK_OK(l2h_train_session_next(s, &m));
    CHECK_EQ_I(m, 0);
    CHECK_EQ_I(l2h_train_session_epochs_done(s), p->epochs);
    CHECK_OK(l2h_train_session_model(s, &got));
    const int same = ref && got && same_model(ref, got);
    if (!same) fprintf(stderr, "%s: the stepped model differs from l2h_train's\n", what);
    CHECK(same);
    l2h_model_free(ref);
    l2h_model_free(got);
    l2h_train_session_free(s);
    l2h_dataset_free(ds);
}

/* Parts 2 and 3: within float rounding of l2h_train, and bit-identical when repeated. */
static void split_batches(const l2h_train_params *p)
{
    l2h_dataset *ds = make_data(5);
    l2h_train_session *one = NULL;
    CHECK_OK(l2h_train_session_create(&one, ds, p));
    CHECK_OK(run(&one, 1, (size_t)-1));
    const size_t np = l2h_train_session_n_params(one);
    const float *ref = l2h_train_session_params(one);
    for (size_t parts = 2; parts <= 3; parts++) {
        float *first = NULL;
        for (int rep = 0; rep < 2; rep++) {
            l2h_train_session *s[3] = {NULL, NULL, NULL};
            for (size_t k = 0; k < parts; k++) CHECK_OK(l2h_train_session_create(&s[k], ds, p));
            CHECK_OK(run(s, parts, (size_t)-1));
            const float *got = l2h_train_session_params(s[0]);
            double maxd = 0, maxa = 0;
            for (size_t i = 0; i < np; i++) {
                const double d = fabs((double)got[i] - (double)ref[i]);
                if (d > maxd) maxd = d;
                if (fabs((double)ref[i]) > maxa) maxa = fabs((double)ref[i]);
            }
            for (size_t k = 1; k < parts; k++) /* every part holds the same parameters */
                CHECK(memcmp(got, l2h_train_session_params(s[k]), np * sizeof *got) == 0);
            if (rep == 0) {
                printf("%s, %zu parts: largest parameter difference to one part %.3g (largest "
                       "|parameter| %.3g)\n", p->method, parts, maxd, maxa);
                CHECK(maxd <= 1e-3 * maxa);
                first = malloc(np * sizeof *first);
                memcpy(first, got, np * sizeof *first);
            } else {
                CHECK(memcmp(first, got, np * sizeof *got) == 0);
            }
            for (size_t k = 0; k < parts; k++) l2h_train_session_free(s[k]);
        }
        free(first);
    }
    l2h_train_session_free(one);
    l2h_dataset_free(ds);
}

/* A session of p's method with one of its own options set by name (opt NULL: the defaults). */
static l2h_status session_with(l2h_train_session **s, const l2h_dataset *ds,
                               const l2h_train_params *p, const char *opt, const char *val)
{
    l2h_train_ctx *c;
    l2h_status st = l2h_train_create(&c, p);
    if (st != L2H_OK) return st;
    st = opt ? l2h_train_set_option(c, opt, val) : L2H_OK;
    if (st == L2H_OK) st = l2h_train_session_create_ctx(s, ds, c);
    l2h_train_free(c);
    return st;
}

/* Save after `at` steps, finish; resume another session from the file, finish: same model. */
static void checkpoint_resume(const l2h_train_params *p, size_t at, const char *opt,
                              const char *val)
{
    const char *path = "test_train_step.ckpt";
    l2h_dataset *ds = make_data(7);
    l2h_train_session *a = NULL, *b = NULL;
    l2h_model *ma = NULL, *mb = NULL;
    CHECK_OK(session_with(&a, ds, p, opt, val));
    CHECK_OK(run(&a, 1, at));
    CHECK_OK(l2h_train_session_save(a, path));
    CHECK_OK(run(&a, 1, (size_t)-1));
    CHECK_OK(l2h_train_session_model(a, &ma));
    CHECK_OK(session_with(&b, ds, p, opt, val));
    CHECK_OK(l2h_train_session_resume(b, path));
    CHECK_EQ_I(l2h_train_session_steps(b), at);
    CHECK_OK(run(&b, 1, (size_t)-1));
    CHECK_OK(l2h_train_session_model(b, &mb));
    CHECK(ma && mb && same_model(ma, mb));
    l2h_model_free(ma);
    l2h_model_free(mb);
    l2h_train_session_free(a);
    l2h_train_session_free(b);
    l2h_dataset_free(ds);
    remove(path);
}

static void write_bytes(const char *path, const unsigned char *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(b, 1, n, f) == n);
    if (f) fclose(f);
}

static void checkpoint_errors(void)
{
    const char *path = "test_train_step_bad.ckpt", *bad = "test_train_step_bad2.ckpt";
    l2h_dataset *ds = make_data(9);
    l2h_train_params p = params("mihash", L2H_NET_LINEAR, 25);
    l2h_train_session *s = NULL, *t = NULL;
    CHECK_OK(l2h_train_session_create(&s, ds, &p));
    CHECK_OK(run(&s, 1, 3));
    CHECK_OK(l2h_train_session_save(s, path));
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    unsigned char buf[1 << 16];
    const size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f) fclose(f);
    CHECK(n > 100 && n < sizeof buf);
    CHECK_OK(l2h_train_session_create(&t, ds, &p));
    /* every truncation, a flipped bit anywhere (sampled), a longer file */
    for (size_t cut = 0; cut < n; cut += cut < 200 ? 1 : 97) {
        write_bytes(bad, buf, cut);
        CHECK_STATUS(l2h_train_session_resume(t, bad), L2H_ERR_FORMAT);
    }
    for (size_t i = 0; i < n; i += 13) {
        buf[i] ^= 0x10;
        write_bytes(bad, buf, n);
        CHECK_STATUS(l2h_train_session_resume(t, bad), L2H_ERR_FORMAT);
        buf[i] ^= 0x10;
    }
    buf[n] = 0;
    write_bytes(bad, buf, n + 1);
    CHECK_STATUS(l2h_train_session_resume(t, bad), L2H_ERR_FORMAT);
    CHECK_STATUS(l2h_train_session_resume(t, "no_such_dir/none.ckpt"), L2H_ERR_IO);
    CHECK_EQ_I(l2h_train_session_steps(t), 0); /* unchanged, still usable */
    /* another run's checkpoint: other seed, other data */
    l2h_train_params q = p;
    q.seed = 2;
    l2h_train_session *u = NULL;
    CHECK_OK(l2h_train_session_create(&u, ds, &q));
    CHECK_STATUS(l2h_train_session_resume(u, path), L2H_ERR_FORMAT);
    CHECK(strstr(l2h_last_error(), "seed") != NULL);
    l2h_train_session_free(u);
    l2h_dataset *other = make_data(10);
    CHECK_OK(l2h_train_session_create(&u, other, &p));
    CHECK_STATUS(l2h_train_session_resume(u, path), L2H_ERR_FORMAT);
    CHECK(strstr(l2h_last_error(), "training data") != NULL);
    l2h_train_session_free(u);
    l2h_dataset_free(other);
    /* the good file still resumes */
    CHECK_OK(l2h_train_session_resume(t, path));
    CHECK_EQ_I(l2h_train_session_steps(t), 3);
    CHECK(memcmp(l2h_train_session_params(t), l2h_train_session_params(s),
                 l2h_train_session_n_params(s) * sizeof(float)) == 0);
    /* out of order */
    float z[64 * 16], dz[64 * 16], loss;
    size_t m;
    CHECK_STATUS(l2h_train_session_forward(t, 0, 2, z), L2H_ERR_STATE);
    CHECK_STATUS(l2h_train_session_update(t), L2H_ERR_STATE);
    CHECK_OK(l2h_train_session_next(t, &m));
    CHECK_STATUS(l2h_train_session_next(t, &m), L2H_ERR_STATE);
    CHECK_STATUS(l2h_train_session_save(t, bad), L2H_ERR_STATE);
    CHECK_STATUS(l2h_train_session_forward(t, m - 1, 2, z), L2H_ERR_ARG);
    CHECK_STATUS(l2h_train_session_backward(t, dz), L2H_ERR_STATE);
    CHECK_OK(l2h_train_session_forward(t, 0, m, z));
    CHECK_STATUS(l2h_train_session_update(t), L2H_ERR_STATE); /* objective first */
    CHECK_OK(l2h_train_session_objective(t, z, dz, &loss));
    CHECK_STATUS(l2h_train_session_objective(t, z, dz, &loss), L2H_ERR_STATE);
    CHECK_STATUS(l2h_train_session_update(t), L2H_ERR_STATE); /* backward first */
    CHECK_OK(l2h_train_session_backward(t, dz));
    CHECK_OK(l2h_train_session_update(t));
    l2h_train_session_free(t);
    l2h_train_session_free(s);
    /* batch norm: one forward of the whole batch; random streams: no checkpoint */
    l2h_train_params bn = params("mihash", L2H_NET_MLP, 20);
    bn.batch_norm = 1;
    CHECK_OK(l2h_train_session_create(&s, ds, &bn));
    CHECK_OK(l2h_train_session_next(s, &m));
    CHECK_STATUS(l2h_train_session_forward(s, 0, m / 2, z), L2H_ERR_ARG);
    l2h_train_session_free(s);
    l2h_train_params jm = params("jmlh", L2H_NET_LINEAR, 20);
    CHECK_OK(l2h_train_session_create(&s, ds, &jm));
    CHECK_STATUS(l2h_train_session_save(s, bad), L2H_ERR_STATE);
    l2h_train_session_free(s);
    CHECK_STATUS(l2h_train_session_create(&s, ds, NULL), L2H_ERR_ARG);
    CHECK(s == NULL);
    l2h_dataset_free(ds);
    remove(path);
    remove(bad);
}

int main(void)
{
    l2h_train_params p = params("mihash", L2H_NET_LINEAR, 17); /* 120 = 7·17 + 1: skipped */
    equal_to_train("mihash linear", &p);
    p = params("hashnet", L2H_NET_MLP, 25);
    p.val_fraction = 0.2;
    equal_to_train("hashnet mlp + validation", &p);
    p = params("jmlh", L2H_NET_LINEAR, 30);
    equal_to_train("jmlh (random thresholds)", &p);
    p = params("mihash", L2H_NET_MLP, 40);
    p.batch_norm = 1;
    equal_to_train("mihash mlp + batch norm", &p);

    p = params("mihash", L2H_NET_MLP, 40);
    split_batches(&p);
    p = params("hashnet", L2H_NET_LINEAR, 30);
    split_batches(&p);
    p = params("jmlh", L2H_NET_LINEAR, 30);
    split_batches(&p);

    p = params("mihash", L2H_NET_MLP, 25);
    checkpoint_resume(&p, 7, NULL, NULL); /* mid-epoch: 120 / 25 = 5 batches per epoch */
    p = params("hashnet", L2H_NET_LINEAR, 25);
    checkpoint_resume(&p, 10, "beta-schedule", "0.005,0.5,3"); /* at an epoch boundary, beta moving */
    p = params("jmlh", L2H_NET_LINEAR, 25);
    checkpoint_resume(&p, 6, "deterministic", "1");
    checkpoint_errors();
    return check_report();
}
