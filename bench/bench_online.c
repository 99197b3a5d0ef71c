/* bench_online.c -- online hashing costs on CIFAR-10 features (issue 4, MIHash §3.1):
 *   1. stream throughput (items/s) of each online method: learning steps + reservoir insertion,
 *      no policy checks and no table (interval larger than the stream);
 *   2. the cost of one Trigger Update check at R reservoir items (encode the reservoir with the
 *      current mapping + Q_R of the current and of the snapshot codes, as the engine does) against
 *      the cost of one table recomputation (encode n_db items) -- medians of several repetitions.
 * Usage: bench_online [--data cifar10-cnn] [--items 2000] [--reservoir 1000] [--bits 32]
 *                     [--db 59000] [--reps 5] [--methods okh,osh,adapthash,sketchhash,mihash]
 * Run single-threaded (OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1) for comparable numbers. */
#include "l2h/l2h.h"
#include "online_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* mean-centre and L2-normalise rows in place (the stream protocol's preprocessing) */
static void preprocess(float *x, size_t n, size_t dim)
{
    double *mean = calloc(dim, sizeof *mean);
    if (!mean) return;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < dim; j++) mean[j] += (double)x[i * dim + j];
    for (size_t j = 0; j < dim; j++) mean[j] /= (double)n;
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t j = 0; j < dim; j++) {
            x[i * dim + j] = (float)((double)x[i * dim + j] - mean[j]);
            s += (double)x[i * dim + j] * (double)x[i * dim + j];
        }
        const float inv = s > 0 ? (float)(1 / sqrt(s)) : 0.f;
        for (size_t j = 0; j < dim; j++) x[i * dim + j] *= inv;
    }
    free(mean);
}

#define CHECK(call)                                                                                \
    do {                                                                                           \
        l2h_status st_ = (call);                                                                   \
        if (st_ != L2H_OK) {                                                                       \
            fprintf(stderr, "bench_online: %s failed: %s\n", #call, l2h_status_str(st_));         \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

int main(int argc, char **argv)
{
    const char *data = "cifar10-cnn";
    char methods[256] = "okh,osh,adapthash,sketchhash,mihash";
    size_t items = 2000, R = 1000, bits = 32, n_db = 59000, reps = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--data")) data = argv[i + 1];
        else if (!strcmp(argv[i], "--items")) items = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--reservoir")) R = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--bits")) bits = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--db")) n_db = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--reps")) reps = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--methods")) snprintf(methods, sizeof methods, "%s", argv[i + 1]);
        else {
            fprintf(stderr, "bench_online: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    l2h_dataset *ds = NULL;
    size_t n_named = 0;
    CHECK(l2h_dataset_load_named(&ds, data, &n_named));
    const size_t n = l2h_dataset_n(ds), dim = l2h_dataset_dim(ds);
    if (n_db > n) n_db = n;
    float *x = malloc(n * dim * sizeof *x);
    int32_t *lab = malloc(n * sizeof *lab);
    size_t *perm = malloc(n * sizeof *perm);
    if (!x || !lab || !perm) return 1;
    /* seeded shuffle so the stream and the reservoir see all classes */
    l2h_rng rng;
    l2h_rng_seed(&rng, 12345);
    for (size_t i = 0; i < n; i++) perm[i] = i;
    l2h_rng_shuffle(&rng, perm, n);
    const float *x0 = l2h_dataset_features(ds);
    const int32_t *l0 = l2h_dataset_labels(ds);
    for (size_t i = 0; i < n; i++) {
        memcpy(x + i * dim, x0 + perm[i] * dim, dim * sizeof *x);
        lab[i] = l0 ? l0[perm[i]] : 0;
    }
    preprocess(x, n, dim);
    const size_t n_init = 2000;
    if (items + n_init > n || R > n) {
        fprintf(stderr, "bench_online: not enough rows\n");
        return 2;
    }
    const size_t bytes = (bits + 7) / 8;
    uint8_t *codes = malloc(n_db * bytes), *codes2 = malloc(R * bytes);
    double *t = malloc((reps > 21 ? reps : 21) * sizeof *t);
    if (!codes || !codes2 || !t) return 1;
    printf("# %s (%zu x %zu, centred + L2-normalised), %zu bits, reservoir R = %zu, table of %zu "
           "items, %zu stream items, medians of %zu repetitions\n",
           data, n, dim, bits, R, n_db, items, reps);

    /* Q_R of R codes (labels): twice per trigger check (current and snapshot codes) */
    {
        l2h_online_params p = l2h_online_default_params();
        p.bits = bits;
        p.method = "mihash";
        l2h_online *o = NULL;
        CHECK(l2h_online_create(&o, &p, dim));
        CHECK(l2h_online_begin(o, x, lab, 0, NULL));
        CHECK(l2h_online_encode_current(o, x, R, codes2));
        l2h_online_free(o);
    }
    for (size_t r = 0; r < 21; r++) {
        double q = 0;
        const double t0 = now();
        CHECK(l2h_online_quality(codes2, R, bits, NULL, lab, &q));
        t[r] = now() - t0;
    }
    const double t_q = median(t, 21);
    printf("Q_R of %zu codes (%zu bits): %.3f ms (median of 21)\n\n", R, bits, 1e3 * t_q);
    printf("| method | batch | stream items/s | encode %zu (ms) | trigger check = encode R + 2 Q_R "
           "(ms) | table recomputation, encode %zu (ms) | recomputation / check |\n"
           "|---|---|---|---|---|---|---|\n",
           R, n_db);
    for (char *m = strtok(methods, ","); m; m = strtok(NULL, ",")) {
        l2h_online_params p = l2h_online_default_params();
        p.method = m;
        p.bits = bits;
        p.reservoir = R;
        p.interval = (size_t)1 << 40; /* no policy checks: learning + reservoir only */
        p.seed = 12345;
        l2h_online *o = NULL;
        CHECK(l2h_online_create(&o, &p, dim));
        CHECK(l2h_online_begin(o, x, lab, n_init, NULL));
        const double t0 = now();
        CHECK(l2h_online_push(o, x + n_init * dim, lab + n_init, items, NULL));
        CHECK(l2h_online_flush(o, NULL));
        const double ips = (double)items / (now() - t0);
        for (size_t r = 0; r < reps; r++) {
            const double a = now();
            CHECK(l2h_online_encode_current(o, x, R, codes2));
            t[r] = now() - a;
        }
        const double t_enc_r = median(t, reps);
        for (size_t r = 0; r < reps; r++) {
            const double a = now();
            CHECK(l2h_online_encode_current(o, x + (n - n_db) * dim, n_db, codes));
            t[r] = now() - a;
        }
        const double t_tab = median(t, reps);
        const double t_chk = t_enc_r + 2 * t_q;
        const l2h_online_ops *ops = l2h_online_find_ops(m);
        printf("| %s | %zu | %.0f | %.2f | %.2f | %.1f | %.0f× |\n", m,
               ops ? ops->batch : 0, ips, 1e3 * t_enc_r, 1e3 * t_chk, 1e3 * t_tab, t_tab / t_chk);
        fflush(stdout);
        l2h_online_free(o);
    }
    free(t);
    free(codes);
    free(codes2);
    free(x);
    free(lab);
    free(perm);
    l2h_dataset_free(ds);
    return 0;
}
