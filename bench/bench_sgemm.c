/* bench_sgemm.c -- this machine's sgemm rate (OpenBLAS through l2h_sgemm) on a large square and
 * on the shapes of one MLP training step (1024 -> 1024 (ReLU) -> bits, batch B), the physical
 * anchor for the training throughput of bench_train (issue 15, item 4):
 *
 *   OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 build/release/bench/bench_sgemm [B=100] [BITS=32]
 *       [N_TRAIN=5000 EPOCHS=4]
 *
 * Prints GFLOP/s per shape (median of 7 timed blocks of >= 50 ms each) and the examples/s an MLP
 * step would reach if it were nothing but these products at these rates ("sgemm bound"), and at
 * the large-square peak. With N_TRAIN > 0 it then trains bench_train's MLP (MIHash, SGD, batch
 * B, N_TRAIN cifar10-cnn rows spread over the classes) for EPOCHS epochs and reports its
 * examples per CPU-second over the epochs after the first, and that rate as a fraction of both
 * bounds. All times are process CPU time (robust to preemption on a shared machine). */
#include "bench_util.h"
#include "linalg.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Process CPU time, not wall time: on a shared, overloaded machine a wall-clock interval of a
 * few ms is often stretched by preemption; the CPU time of this (single-threaded) process is
 * not. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* CPU seconds of the epochs after the first (a training progress callback). */
typedef struct cpu_rate {
    double last, cpu;
    size_t n;
} cpu_rate;

static int cpu_rate_cb(const l2h_train_progress *p, void *user)
{
    cpu_rate *r = user;
    const double t = now();
    if (p->epoch > 1) {
        r->cpu += t - r->last;
        r->n++;
    }
    r->last = t;
    return 0;
}

typedef struct shape {
    const char *what;
    int ta, tb;
    size_t m, n, k;
    int per_step; /* occurrences in one MLP training step */
} shape;

/* seconds per call, median of 7 blocks */
static double time_gemm(const shape *s, float *a, float *b, float *c)
{
    const size_t lda = s->ta ? s->m : s->k, ldb = s->tb ? s->k : s->n;
    l2h_sgemm(s->ta, s->tb, s->m, s->n, s->k, 1.0f, a, lda, b, ldb, 0.0f, c, s->n);
    size_t reps = 1;
    for (;;) { /* calibrate a block to >= 50 ms */
        const double t0 = now();
        for (size_t r = 0; r < reps; r++)
            l2h_sgemm(s->ta, s->tb, s->m, s->n, s->k, 1.0f, a, lda, b, ldb, 1.0f, c, s->n);
        if (now() - t0 >= 0.05) break;
        reps *= 2;
    }
    double t[7];
    for (int i = 0; i < 7; i++) {
        const double t0 = now();
        for (size_t r = 0; r < reps; r++)
            l2h_sgemm(s->ta, s->tb, s->m, s->n, s->k, 1.0f, a, lda, b, ldb, 1.0f, c, s->n);
        t[i] = (now() - t0) / (double)reps;
    }
    qsort(t, 7, sizeof *t, cmp_d);
    return t[3];
}

int main(int argc, char **argv)
{
    const size_t bsz = argc > 1 ? strtoul(argv[1], NULL, 10) : 100;
    const size_t bits = argc > 2 ? strtoul(argv[2], NULL, 10) : 32;
    const size_t h = 1024, d = 1024, big = 2048;
    const shape shapes[] = {
        {"square 2048 (peak)", 0, 0, big, big, big, 0},
        {"fwd  linear1  Y = X W1^T", 0, 1, bsz, h, d, 1},
        {"fwd  linear2  Z = H W2^T", 0, 1, bsz, bits, h, 1},
        {"bwd  linear2  dH = G W2", 0, 0, bsz, h, bits, 1},
        {"bwd  linear2  dW2 = G^T H", 1, 0, bits, h, bsz, 1},
        {"bwd  linear1  dW1 = dH^T X", 1, 0, h, d, bsz, 1},
    };
    const size_t ns = sizeof shapes / sizeof *shapes;
    const size_t cap = big * big;
    float *a = malloc(cap * sizeof *a), *b = malloc(cap * sizeof *b), *c = malloc(cap * sizeof *c);
    if (!a || !b || !c) return 1;
    for (size_t i = 0; i < cap; i++) {
        a[i] = (float)((i * 2654435761u) % 1000) * 1e-3f - 0.5f;
        b[i] = (float)((i * 40503u) % 1000) * 1e-3f - 0.5f;
        c[i] = 0.0f;
    }
    printf("# sgemm (%s), 1 thread expected (OPENBLAS_NUM_THREADS=1); MLP %zu -> %zu -> %zu, "
           "batch %zu\n",
           l2h_blas_name(), d, h, bits, bsz);
    printf("| product | m x n x k | GFLOP/s | ms per call |\n|---|---|---|---|\n");
    double peak = 0.0, step_t = 0.0, step_flops = 0.0;
    for (size_t i = 0; i < ns; i++) {
        const shape *s = &shapes[i];
        const double t = time_gemm(s, a, b, c);
        const double fl = 2.0 * (double)s->m * (double)s->n * (double)s->k;
        printf("| %s | %zu x %zu x %zu | %.1f | %.4f |\n", s->what, s->m, s->n, s->k,
               fl / t * 1e-9, 1e3 * t);
        if (i == 0) peak = fl / t;
        step_t += s->per_step * t;
        step_flops += s->per_step * fl;
    }
    printf("\nMLP step: %.1f MFLOP in sgemm (%.0f FLOP per example)\n", step_flops * 1e-6,
           step_flops / (double)bsz);
    printf("sgemm bound at these shapes: %.0f examples/s (%.1f GFLOP/s)\n",
           (double)bsz / step_t, step_flops / step_t * 1e-9);
    printf("bound at the square peak:    %.0f examples/s (%.1f GFLOP/s)\n",
           (double)bsz * peak / step_flops, peak * 1e-9);
    free(a);
    free(b);
    free(c);
    const size_t n_train = argc > 3 ? strtoul(argv[3], NULL, 10) : 5000;
    const size_t epochs = argc > 4 ? strtoul(argv[4], NULL, 10) : 4;
    if (n_train == 0 || epochs < 2) return 0;
    l2h_set_threads(1);
    l2h_dataset *sub = NULL;
    if (bench_cifar_rows("bench_sgemm", n_train, &sub)) return 1;
    l2h_train_params p = l2h_train_default_params(bits);
    p.net = L2H_NET_MLP;
    p.epochs = epochs;
    p.batch = bsz;
    cpu_rate r = {now(), 0.0, 0};
    p.callback = cpu_rate_cb;
    p.user = &r;
    l2h_model *m = NULL;
    if (bench_train_opts(&m, sub, &p, (const char *const[]){"scale", "1", NULL}) != L2H_OK) {
        fprintf(stderr, "bench_sgemm: %s\n", l2h_last_error());
        return 1;
    }
    l2h_model_free(m);
    l2h_dataset_free(sub);
    const double eps = r.n ? (double)(n_train * r.n) / r.cpu : 0.0;
    printf("\nMLP training (MIHash, %zu rows, epochs 2..%zu): %.0f examples per CPU-second = "
           "%.0f %% of the sgemm bound at these shapes, %.0f %% of the square peak "
           "(%.1f GFLOP/s in its products)\n",
           n_train, epochs, eps, 100.0 * eps * step_t / (double)bsz,
           100.0 * eps * step_flops / (double)bsz / peak, eps * step_flops / (double)bsz * 1e-9);
    return 0;
}
