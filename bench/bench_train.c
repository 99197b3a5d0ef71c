/* bench_train.c -- MIHash training throughput (examples/s) of the linear and MLP hash on N rows
 * of the CIFAR-10 CNN features spread over all classes (bench_util.h), batch 100, SGD; compare
 * with bench/train_torch.py (same rows, network, loss, batch and thread count):
 *
 *   OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 build/rel/bench/bench_train 5000 5 1
 *   /usr/bin/python3 bench/train_torch.py 5000 5 1
 *
 * usage: bench_train [N=5000] [EPOCHS=5] [THREADS=1]. Prints one line per model: the mean
 * examples/s over the epochs after the first (warm-up). */
#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    const size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 5000;
    const size_t epochs = argc > 2 ? strtoul(argv[2], NULL, 10) : 5;
    const int threads = argc > 3 ? atoi(argv[3]) : 1;
    l2h_set_threads(threads);
    l2h_dataset *sub = NULL;
    if (bench_cifar_rows("bench_train", n, &sub)) return 1;
    printf("cifar10-cnn, %zu rows x %zu, batch 100, SGD, %zu epochs, %d thread(s)\n", n,
           l2h_dataset_dim(sub), epochs, threads);
    const l2h_net_kind kinds[2] = {L2H_NET_LINEAR, L2H_NET_MLP};
    const char *names[2] = {"linear 1024->32", "mlp 1024->1024->32"};
    for (int k = 0; k < 2; k++) {
        l2h_train_params p = l2h_train_default_params(32);
        p.net = kinds[k];
        p.epochs = epochs;
        bench_rate a = {0, 0};
        p.callback = bench_rate_cb;
        p.user = &a;
        l2h_model *m;
        if (bench_train_opts(&m, sub, &p, (const char *const[]){"scale", "1", NULL}) != L2H_OK) {
            fprintf(stderr, "bench_train: %s\n", l2h_last_error());
            return 1;
        }
        printf("l2h   %-20s %10.0f examples/s\n", names[k], bench_rate_mean(&a));
        l2h_model_free(m);
    }
    l2h_dataset_free(sub);
    return 0;
}
