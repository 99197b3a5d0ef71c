/* bench_online.c -- online hashing costs on CIFAR-10 features (issue 4, MIHash §3.1):
 *   1. stream throughput (items/s) of each online method: learning steps + reservoir insertion,
 *      no policy checks and no table (interval larger than the stream);
 *   2. the cost of one Trigger Update check at R reservoir items as the engine does it (encode
 *      the reservoir with the current mapping, Q_R of the current codes with the popcount kernel,
 *      Q_R of the snapshot from its cached histograms, the noise-aware decision) against the cost
 *      of one table recomputation (encode n_db items) -- medians of several repetitions;
 *   0. Q_R of R codes alone: the plain reference, the previous kernel, the popcount kernel, one
 *      incremental slot replacement, Q_R from cached histograms.
 * Usage: bench_online [--data cifar10-cnn] [--items 2000] [--reservoir 1000] [--bits 32]
 *                     [--db 59000] [--reps 5] [--methods okh,osh,adapthash,sketchhash,mihash]
 *                     [--interval 100] (U: stream items between two checks, for the last column)
 * Run single-threaded (OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1) for comparable numbers. */
#include "l2h/l2h.h"
#include "mi_codes.h"
#include "objective.h"
#include "online_engine.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    size_t items = 2000, R = 1000, bits = 32, n_db = 59000, reps = 5, U = 100;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--data")) data = argv[i + 1];
        else if (!strcmp(argv[i], "--items")) items = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--reservoir")) R = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--bits")) bits = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--db")) n_db = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--reps")) reps = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--interval")) U = strtoul(argv[i + 1], NULL, 10);
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
    if (items + n_init + reps * U > n || R > n) {
        fprintf(stderr, "bench_online: not enough rows\n");
        return 2;
    }
    const size_t bytes = (bits + 7) / 8;
    uint8_t *codes = malloc((n_db > R + 1 ? n_db : R + 1) * bytes), *codes2 = malloc(R * bytes);
    double *t = malloc((reps > 21 ? reps : 21) * sizeof *t);
    if (!codes || !codes2 || !t) return 1;
    printf("# %s (%zu x %zu, centred + L2-normalised), %zu bits, reservoir R = %zu, table of %zu "
           "items, %zu stream items, medians of %zu repetitions\n",
           data, n, dim, bits, R, n_db, items, reps);

    /* Q_R of R codes (labels), reference conventions: the plain reference, the previous kernel
     * (l2h_mi_quality), the popcount kernel (one-shot, and a build in a preallocated cache), one
     * incremental slot replacement in the snapshot cache, and Q_R from cached histograms. */
    {
        l2h_online_params p = l2h_online_default_params();
        p.bits = bits;
        p.method = "mihash";
        l2h_online *o = NULL;
        CHECK(l2h_online_create(&o, &p, dim));
        CHECK(l2h_online_begin(o, x, lab, 0, NULL));
        CHECK(l2h_online_encode_current(o, x, R + 1, codes));
        l2h_online_free(o);
    }
    memcpy(codes2, codes, R * bytes);
    const size_t qreps = 21;
    const l2h_mi_codes_opts mo = l2h_mi_codes_reference_opts();
    double q_plain = 0, q_old = 0, q_fast = 0;
    for (size_t r = 0; r < 5; r++) {
        const double t0 = now();
        CHECK(l2h_mi_codes_plain(codes2, R, bits, lab, NULL, &mo, NULL, NULL, &q_plain));
        t[r] = now() - t0;
    }
    const double t_plain = median(t, 5);
    for (size_t r = 0; r < qreps; r++) {
        const l2h_supervision sup = {.kind = L2H_SUP_LABELS, .n = R, .labels = lab};
        const l2h_mi_quality_params mp = l2h_mi_quality_reference_params();
        const double t0 = now();
        CHECK(l2h_mi_quality(codes2, R, bits, &sup, &mp, &q_old, NULL));
        t[r] = now() - t0;
    }
    const double t_old = median(t, qreps);
    for (size_t r = 0; r < qreps; r++) {
        const double t0 = now();
        CHECK(l2h_mi_codes_eval(codes2, R, bits, lab, NULL, &mo, &q_fast, NULL));
        t[r] = now() - t0;
    }
    const double t_fast = median(t, qreps);
    l2h_mi_codes mc;
    CHECK(l2h_mi_codes_init(&mc, R, bits, &mo, NULL, 0));
    double q_cache = 0;
    for (size_t r = 0; r < qreps; r++) {
        const double t0 = now();
        CHECK(l2h_mi_codes_build(&mc, codes2, R, lab));
        CHECK(l2h_mi_codes_quality(&mc, &q_cache, NULL));
        t[r] = now() - t0;
    }
    const double t_build = median(t, qreps);
    for (size_t r = 0; r < qreps; r++) { /* slot r gets item R (another code and label) */
        const double t0 = now();
        l2h_mi_codes_remove(&mc, r);
        l2h_mi_codes_insert(&mc, r, codes + R * bytes, lab[R]);
        t[r] = now() - t0;
    }
    const double t_inc = median(t, qreps);
    for (size_t r = 0; r < qreps; r++) {
        mc.mi_valid = 0; /* after a change: every anchor's MI from its histogram */
        const double t0 = now();
        CHECK(l2h_mi_codes_quality(&mc, &q_cache, NULL));
        t[r] = now() - t0;
    }
    const double t_cached = median(t, qreps);
    l2h_mi_codes_release(&mc);
    printf("Q_R of %zu codes (%zu bits), ms (medians):\n"
           "| plain reference | previous kernel (l2h_mi_quality) | popcount kernel, one-shot | "
           "popcount kernel, preallocated | one slot replaced (incremental) | Q_R from cached "
           "histograms | plain / popcount |\n|---|---|---|---|---|---|---|\n"
           "| %.3f | %.3f | %.3f | %.3f | %.4f | %.4f | %.0f× |\n"
           "(Q_R values: plain %.12f, previous %.12f, popcount %.12f)\n\n",
           R, bits, 1e3 * t_plain, 1e3 * t_old, 1e3 * t_fast, 1e3 * t_build, 1e3 * t_inc,
           1e3 * t_cached, t_plain / t_fast, q_plain, q_old, q_fast);
    printf("| method | batch | stream items/s | encode %zu (ms) | decision alone (ms) | "
           "trigger check, full kernel: encode R + decision (ms) | table recomputation, encode "
           "%zu (ms) | recomputation / check | check after U = %zu stream items, kept "
           "histograms (ms) | recomputation / that check |\n|---|---|---|---|---|---|---|---|---|"
           "---|\n",
           R, n_db, U);
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
        /* the engine's check (online_engine.c policy_check): encode the reservoir with Φ_t, then
         * the decision with the snapshot histograms cached (the first call builds them) */
        const size_t nr = o->res.n;
        int fire = 0;
        CHECK(l2h_model_encode_prepped(o->cur_map, o->res.x, nr, o->res_cur));
        CHECK(l2h_trigger_decide(&o->trig, &o->res, o->res_cur, L2H_ONLINE_POLICY_TRIGGER_SE, 0.0,
                                 1.645, &fire, NULL));
        for (size_t r = 0; r < reps; r++) {
            o->trig.cur_valid = 0; /* every code new: the full kernel */
            const double a = now();
            CHECK(l2h_trigger_decide(&o->trig, &o->res, o->res_cur, L2H_ONLINE_POLICY_TRIGGER_SE,
                                     0.0, 1.645, &fire, NULL));
            t[r] = now() - a;
        }
        const double t_dec = median(t, reps);
        for (size_t r = 0; r < reps; r++) {
            o->trig.cur_valid = 0;
            const double a = now();
            CHECK(l2h_model_encode_prepped(o->cur_map, o->res.x, nr, o->res_cur));
            CHECK(l2h_trigger_decide(&o->trig, &o->res, o->res_cur, L2H_ONLINE_POLICY_TRIGGER_SE,
                                     0.0, 1.645, &fire, NULL));
            t[r] = now() - a;
        }
        const double t_chk = median(t, reps);
        /* the check as the stream meets it: U more items learned (Φ_t moves, reservoir slots
         * change), then encode + decision; the histograms of the last check's codes are kept,
         * so only the codes that changed are taken out and put back (or the full kernel runs
         * when more than R / 16 changed) */
        uint8_t *prev = malloc(R * bytes);
        if (!prev) return 1;
        double changed = 0;
        for (size_t r = 0; r < reps; r++) {
            const size_t at = n_init + items + r * U;
            CHECK(l2h_online_push(o, x + at * dim, lab + at, U, NULL));
            CHECK(l2h_online_flush(o, NULL));
            const size_t nr2 = o->res.n;
            memcpy(prev, o->res_cur, nr2 * bytes);
            const double a = now();
            CHECK(l2h_model_encode_prepped(o->cur_map, o->res.x, nr2, o->res_cur));
            CHECK(l2h_trigger_decide(&o->trig, &o->res, o->res_cur, L2H_ONLINE_POLICY_TRIGGER_SE,
                                     0.0, 1.645, &fire, NULL));
            t[r] = now() - a;
            for (size_t i = 0; i < nr2; i++)
                changed += memcmp(prev + i * bytes, o->res_cur + i * bytes, bytes) != 0;
        }
        free(prev);
        const double t_chk_u = median(t, reps);
        printf("| %s | %zu | %.0f | %.2f | %.2f | %.2f | %.1f | %.0f× | %.2f (%.0f codes changed) "
               "| %.0f× |\n",
               m, o->ops->batch, ips, 1e3 * t_enc_r, 1e3 * t_dec, 1e3 * t_chk, 1e3 * t_tab,
               t_tab / t_chk, 1e3 * t_chk_u, changed / (double)reps, t_tab / t_chk_u);
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
