/* bench_encode.c -- encoding throughput (rows/s) of every model kind: l2h_model_encode
 * (preprocessing + network + sign + packing) over all 70,000 Fashion-MNIST images, for LSH,
 * ITQ and the linear, MLP (784-1024-B) and CNN (LeNet) networks of the learned methods.
 * Network speed does not depend on the weights, so the learned models are the initialised,
 * untrained networks (epochs = 0); LSH and ITQ are trained on 5,000 rows.
 *
 *   OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 build/release/bench/bench_encode 32 5 1
 *   OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 build/release/bench/bench_encode 32 5 2
 *
 * usage: bench_encode [BITS=32] [REPEAT=5] [THREADS=1]. One line per model kind: the median
 * rows/s over REPEAT timed passes after one warm-up pass, and the range. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "l2h/l2h.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_REPEAT 64

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int fail(const char *what)
{
    fprintf(stderr, "bench_encode: %s: %s\n", what, l2h_last_error());
    return 1;
}

/* Times REPEAT passes of encoding all rows; prints median and range of rows/s. */
static int time_encode(const char *name, const l2h_model *m, const l2h_dataset *ds, size_t repeat)
{
    const size_t n = l2h_dataset_n(ds), bytes = l2h_code_bytes(l2h_model_bits(m));
    uint8_t *codes = malloc(n * bytes);
    if (!codes) return fail("out of memory");
    double rate[MAX_REPEAT];
    for (size_t r = 0; r <= repeat; r++) {
        const double t0 = now_s();
        if (l2h_model_encode(m, l2h_dataset_features(ds), n, codes) != L2H_OK) {
            free(codes);
            return fail(name);
        }
        if (r > 0) rate[r - 1] = (double)n / (now_s() - t0); /* pass 0 = warm-up */
    }
    unsigned long sum = 0; /* keep the codes observable */
    for (size_t i = 0; i < n * bytes; i++) sum += codes[i];
    free(codes);
    qsort(rate, repeat, sizeof *rate, cmp_double);
    printf("| %-6s | %10.0f | %10.0f - %-10.0f | %lu |\n", name, rate[repeat / 2], rate[0],
           rate[repeat - 1], sum % 997);
    return 0;
}

int main(int argc, char **argv)
{
    const size_t bits = argc > 1 ? strtoul(argv[1], NULL, 10) : 32;
    size_t repeat = argc > 2 ? strtoul(argv[2], NULL, 10) : 5;
    const int threads = argc > 3 ? atoi(argv[3]) : 1;
    if (repeat < 1) repeat = 1;
    if (repeat > MAX_REPEAT) repeat = MAX_REPEAT;
    l2h_set_threads(threads);
    l2h_dataset *all = NULL, *train = NULL;
    size_t n_named = 0;
    if (l2h_dataset_load_named(&all, "fashion-mnist", &n_named) != L2H_OK)
        return fail("loading fashion-mnist");
    size_t *rows = malloc(5000 * sizeof *rows);
    for (size_t i = 0; i < 5000; i++) rows[i] = i * 14; /* spread over the classes */
    if (l2h_dataset_subset(&train, all, rows, 5000) != L2H_OK) return fail("subset");
    free(rows);
    printf("encoding all %zu Fashion-MNIST rows (784-d) to %zu bits, %d thread(s), kernel %s\n\n",
           l2h_dataset_n(all), bits, threads, l2h_hamming_kernel());
    printf("| model  | rows/s (median of %zu) | range | checksum |\n|---|---:|---|---:|\n",
           repeat);
    int rc = 0;
    const l2h_baseline_params bp = l2h_baseline_default_params(bits);
    l2h_model *m = NULL;
    if (l2h_lsh_train(&m, train, &bp) != L2H_OK) return fail("lsh");
    rc |= time_encode("lsh", m, all, repeat);
    l2h_model_free(m);
    if (l2h_itq_train(&m, train, &bp) != L2H_OK) return fail("itq");
    rc |= time_encode("itq", m, all, repeat);
    l2h_model_free(m);
    static const char *const names[] = {"linear", "mlp", "cnn"};
    static const l2h_net_kind kinds[] = {L2H_NET_LINEAR, L2H_NET_MLP, L2H_NET_CNN};
    for (size_t k = 0; k < 3; k++) {
        l2h_train_params tp = l2h_train_default_params(bits);
        tp.net = kinds[k];
        tp.epochs = 0; /* the initialised network: same cost as a trained one */
        tp.l2_normalize = kinds[k] != L2H_NET_CNN;
        if (l2h_train(&m, train, &tp) != L2H_OK) return fail(names[k]);
        rc |= time_encode(names[k], m, all, repeat);
        l2h_model_free(m);
    }
    l2h_dataset_free(train);
    l2h_dataset_free(all);
    return rc;
}
