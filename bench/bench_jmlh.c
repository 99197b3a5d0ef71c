/* bench_jmlh.c -- JMLH training throughput (examples/s) of the linear and MLP hash on N rows of
 * the CIFAR-10 CNN features spread over all classes (bench_util.h): 32 bits, stochastic
 * bottleneck, KL weight 0.1, softmax classifier on the code, batch 100, Adam 1e-3, no weight decay.
 * Compare with bench/jmlh_torch.py (same network, loss, estimator, optimiser, batch and thread
 * count):
 *
 *   OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 build/jm/bench/bench_jmlh 5000 5 1 3
 *   OMP_NUM_THREADS=1 /usr/bin/python3 bench/jmlh_torch.py 5000 5 1 3
 *
 * usage: bench_jmlh [N=5000] [EPOCHS=5] [THREADS=1] [RUNS=3]. Per run: the mean examples/s
 * over the epochs after the first (warm-up); printed: the median over runs, min and max. */
#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>

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
    l2h_dataset *sub = NULL;
    if (bench_cifar_rows("bench_jmlh", n, &sub)) return 1;
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
            bench_rate a = {0, 0};
            p.callback = bench_rate_cb;
            p.user = &a;
            l2h_model *m;
            if (l2h_train(&m, sub, &p) != L2H_OK) {
                fprintf(stderr, "bench_jmlh: %s\n", l2h_last_error());
                return 1;
            }
            rate[r] = bench_rate_mean(&a);
            l2h_model_free(m);
        }
        qsort(rate, runs, sizeof *rate, cmp);
        printf("l2h   %-20s %10.0f examples/s (median; min %.0f, max %.0f)\n", names[k],
               rate[runs / 2], rate[0], rate[runs - 1]);
    }
    l2h_dataset_free(sub);
    return 0;
}
