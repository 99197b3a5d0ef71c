/* bench_jmlh.c -- JMLH training throughput (examples/s) of the linear and MLP hash on the first
 * N rows of the CIFAR-10 CNN features: 32 bits, stochastic bottleneck, KL weight 0.1, softmax
 * classifier on the code, batch 100, Adam 1e-3, no weight decay. Compare with
 * bench/jmlh_torch.py (same network, loss, estimator, optimiser, batch and thread count):
 *
 *   OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 build/jm/bench/bench_jmlh 5000 5 1 3
 *   OMP_NUM_THREADS=1 /usr/bin/python3 bench/jmlh_torch.py 5000 5 1 3
 *
 * usage: bench_jmlh [N=5000] [EPOCHS=5] [THREADS=1] [RUNS=3]. Per run: the mean examples/s
 * over the epochs after the first (warm-up); printed: the median over runs, min and max. */
#include "l2h/l2h.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct acc {
    double sum;
    size_t n;
} acc;

static int cb(const l2h_train_progress *p, void *user)
{
    acc *a = user;
    if (p->epoch > 1) {
        a->sum += p->examples_per_s;
        a->n++;
    }
    return 0;
}

static int cmp(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    const size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 5000;
    const size_t epochs = argc > 2 ? strtoul(argv[2], NULL, 10) : 5;
    const int threads = argc > 3 ? atoi(argv[3]) : 1;
    const size_t runs = argc > 4 ? strtoul(argv[4], NULL, 10) : 3;
    if (runs < 1 || runs > 64 || epochs < 2) {
        fprintf(stderr, "bench_jmlh: need 1..64 runs and >= 2 epochs\n");
        return 2;
    }
    l2h_set_threads(threads);
    l2h_dataset *all, *sub;
    size_t n_train;
    if (l2h_dataset_load_named(&all, "cifar10-cnn", &n_train) != L2H_OK) {
        fprintf(stderr, "bench_jmlh: %s\n", l2h_last_error());
        return 1;
    }
    /* every stride-th row: the file is sorted by class, so its first rows are all one class */
    const size_t stride = n && n <= l2h_dataset_n(all) ? l2h_dataset_n(all) / n : 1;
    size_t *rows = malloc(n * sizeof *rows);
    for (size_t i = 0; i < n; i++)
        rows[i] = i * stride;
    if (n > l2h_dataset_n(all) || l2h_dataset_subset(&sub, all, rows, n) != L2H_OK) {
        fprintf(stderr, "bench_jmlh: cannot take %zu rows\n", n);
        return 1;
    }
    printf("cifar10-cnn, %zu rows x %zu, jmlh 32 bits, batch 100, Adam, %zu epochs, %d thread(s), "
           "%zu runs\n",
           n, l2h_dataset_dim(sub), epochs, threads, runs);
    const l2h_net_kind kinds[2] = {L2H_NET_LINEAR, L2H_NET_MLP};
    const char *names[2] = {"linear 1024->32", "mlp 1024->1024->32"};
    for (int k = 0; k < 2; k++) {
        double rate[64];
        for (size_t r = 0; r < runs; r++) {
            l2h_train_params p = l2h_train_default_params(32);
            p.method = "jmlh";
            p.net = kinds[k];
            p.epochs = epochs;
            p.optimizer = L2H_OPT_ADAM;
            p.lr = 1e-3;
            p.schedule = L2H_SCHED_CONST;
            p.weight_decay = 0;
            p.seed = 1 + r;
            acc a = {0, 0};
            p.callback = cb;
            p.user = &a;
            l2h_model *m;
            if (l2h_train(&m, sub, &p) != L2H_OK) {
                fprintf(stderr, "bench_jmlh: %s\n", l2h_last_error());
                return 1;
            }
            rate[r] = a.n ? a.sum / (double)a.n : 0.0;
            l2h_model_free(m);
        }
        qsort(rate, runs, sizeof *rate, cmp);
        printf("l2h   %-20s %10.0f examples/s (median; min %.0f, max %.0f)\n", names[k],
               rate[runs / 2], rate[0], rate[runs - 1]);
    }
    l2h_dataset_free(sub);
    l2h_dataset_free(all);
    free(rows);
    return 0;
}
