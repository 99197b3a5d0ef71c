/* bench_util.h -- pieces shared by the training-throughput benchmarks (bench_train, bench_hashnet,
 * bench_jmlh) and their PyTorch twins' protocol: the mean examples/s over the epochs after the
 * first, and N rows of the CIFAR-10 CNN features spread over all classes. */
#ifndef L2H_BENCH_UTIL_H
#define L2H_BENCH_UTIL_H

#include "l2h/l2h.h"

#include <stdio.h>
#include <stdlib.h>

/* Accumulates examples/s of the epochs after the first (warm-up); a progress callback. */
typedef struct bench_rate {
    double sum;
    size_t n;
} bench_rate;

static inline int bench_rate_cb(const l2h_train_progress *p, void *user)
{
    bench_rate *a = user;
    if (p->epoch > 1) {
        a->sum += p->examples_per_s;
        a->n++;
    }
    return 0;
}

static inline double bench_rate_mean(const bench_rate *a)
{
    return a->n ? a->sum / (double)a->n : 0.0;
}

/* *sub = n rows of the cifar10-cnn features: every (rows / n)-th row, because the file is sorted
 * by class and its first rows are all one class (the PyTorch scripts take the same rows).
 * Returns 0, or prints why (prefixed by `who`) and returns 1. */
static inline int bench_cifar_rows(const char *who, size_t n, l2h_dataset **sub)
{
    l2h_dataset *all = NULL;
    size_t n_train;
    if (l2h_dataset_load_named(&all, "cifar10-cnn", &n_train) != L2H_OK) {
        fprintf(stderr, "%s: %s\n", who, l2h_last_error());
        return 1;
    }
    const size_t stride = n && n <= l2h_dataset_n(all) ? l2h_dataset_n(all) / n : 1;
    size_t *rows = malloc((n ? n : 1) * sizeof *rows);
    int bad = rows == NULL || n == 0 || n > l2h_dataset_n(all);
    for (size_t i = 0; !bad && i < n; i++)
        rows[i] = i * stride;
    if (!bad) bad = l2h_dataset_subset(sub, all, rows, n) != L2H_OK;
    if (bad) fprintf(stderr, "%s: cannot take %zu rows\n", who, n);
    free(rows);
    l2h_dataset_free(all);
    return bad;
}

/* l2h_train with method options: kv = {"name", "value", ..., NULL}. */
static inline l2h_status bench_train_opts(l2h_model **m, const l2h_dataset *ds,
                                          const l2h_train_params *p, const char *const *kv)
{
    l2h_train_ctx *c = NULL;
    l2h_status st = l2h_train_create(&c, p);
    for (size_t i = 0; st == L2H_OK && kv[i]; i += 2) st = l2h_train_set_option(c, kv[i], kv[i + 1]);
    if (st == L2H_OK) st = l2h_train_fit(c, ds, m);
    l2h_train_free(c);
    return st;
}

#endif
