/* bench_trigger_study.c -- the trigger study of issue 16 in one process (the data set is loaded
 * once; `l2h stream` reloads 60,000 rows per run, which dominates short runs on a busy machine):
 * for every online method, table updates and final mAP / AUC of l2h_online_run under the fixed
 * interval, the trigger with θ = 0 (the paper's), fixed θ > 0, other reservoir sizes and the
 * noise-aware triggers (TRIGGER_SE: fire only when the Q_R gain exceeds z(confidence) × its paired
 * standard error; TRIGGER_UNPAIRED: × the unpaired standard error of the two Q_R).
 *
 * Protocol per trial t (seed S + t): rows shuffled with the seed, the first --n-query rows are
 * the queries, the others the stream pool and the retrieval set (the table); features centred
 * with the pool mean and L2-normalised; 32 bits; l2h_online_run with --items stream items,
 * interval U, --checkpoints evaluations (mAP, shared label). Variants: NAME=POLICY:THETA:CONF:R
 * with POLICY fixed | trigger | trigger-se | trigger-unpaired. --extra variants run for the first
 * trial only. Output: one CSV row per run on stdout (header first), flushed as it goes, with the
 * run's process CPU seconds, wall seconds and the 1-minute load average at its end.
 * bench/trigger_study_full.sh runs the full protocol in stages.
 *
 *   OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 nice -n 10 build/release/bench/bench_trigger_study \
 *       --data cifar10-cnn --items 2000 --interval 50 --trials 3 > study_cnn.csv
 * then bench/trigger_study_summary.py study_cnn.csv study_gist.csv > summary.md */
#include "l2h/l2h.h"
#include "core.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK(call)                                                                                \
    do {                                                                                           \
        l2h_status st_ = (call);                                                                   \
        if (st_ != L2H_OK) {                                                                       \
            fprintf(stderr, "bench_trigger_study: %s failed: %s (%s)\n", #call,                   \
                    l2h_status_str(st_), l2h_last_error());                                        \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

typedef struct variant {
    char name[32];
    l2h_online_policy policy;
    double theta, conf;
    size_t reservoir;
} variant;

static size_t parse_variants(const char *s, variant *v, size_t cap)
{
    size_t n = 0;
    char buf[2048];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *tok = strtok(buf, " "); tok && n < cap; tok = strtok(NULL, " ")) {
        char pol[32];
        variant *x = &v[n];
        if (sscanf(tok, "%31[^=]=%31[^:]:%lf:%lf:%zu", x->name, pol, &x->theta, &x->conf,
                   &x->reservoir) != 5) {
            fprintf(stderr, "bench_trigger_study: bad variant '%s'\n", tok);
            exit(2);
        }
        if (!strcmp(pol, "fixed")) x->policy = L2H_ONLINE_POLICY_FIXED;
        else if (!strcmp(pol, "trigger")) x->policy = L2H_ONLINE_POLICY_TRIGGER;
        else if (!strcmp(pol, "trigger-se")) x->policy = L2H_ONLINE_POLICY_TRIGGER_SE;
        else if (!strcmp(pol, "trigger-unpaired")) x->policy = L2H_ONLINE_POLICY_TRIGGER_UNPAIRED;
        else {
            fprintf(stderr, "bench_trigger_study: bad policy '%s'\n", pol);
            exit(2);
        }
        n++;
    }
    return n;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void run_variant(const char *data, const char *m, uint64_t seed, const variant *v,
                        size_t bits, size_t interval, size_t items, size_t ncp,
                        const l2h_dataset *pool, const l2h_dataset *q)
{
    l2h_online_params p = l2h_online_default_params();
    p.method = m;
    p.bits = bits;
    p.reservoir = v->reservoir;
    p.interval = interval;
    p.policy = v->policy;
    p.theta = v->theta;
    p.confidence = v->conf;
    p.seed = seed;
    p.n_checkpoints = ncp;
    l2h_online *o = NULL;
    CHECK(l2h_online_create(&o, &p, l2h_dataset_dim(pool)));
    const double t0 = cpu_now(), w0 = wall_now();
    CHECK(l2h_online_run(o, pool, pool, q, items));
    const double t = cpu_now() - t0, w = wall_now() - w0;
    double load[1] = {-1.0};
    if (getloadavg(load, 1) != 1) load[0] = -1.0;
    l2h_online_stats st;
    CHECK(l2h_online_get_stats(o, &st));
    printf("%s,%s,%s,%s,%g,%g,%zu,%llu,%zu,%zu,%zu,%zu,%.6f,%.6f,%.2f,%.2f,%.2f\n", data, m, v->name,
           v->policy == L2H_ONLINE_POLICY_FIXED        ? "fixed"
           : v->policy == L2H_ONLINE_POLICY_TRIGGER    ? "trigger"
           : v->policy == L2H_ONLINE_POLICY_TRIGGER_SE ? "trigger-se"
                                                       : "trigger-unpaired",
           v->theta, v->conf, v->reservoir, (unsigned long long)seed, st.items, interval, st.checks,
           st.updates, st.map_final, st.map_auc, t, w, load[0]);
    fflush(stdout);
    l2h_online_free(o);
}

int main(int argc, char **argv)
{
    const char *data = "cifar10-cnn";
    char methods[256] = "okh osh adapthash sketchhash mihash";
    const char *vs = "fixed=fixed:0:0.95:200 t0=trigger:0:0.95:200 se95=trigger-se:0:0.95:200";
    const char *xs = "";
    size_t items = 2000, interval = 50, bits = 32, ncp = 10, trials = 3, nq = 1000;
    uint64_t seed0 = 12345;
    int header = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *b = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--no-header")) {
            header = 0;
            continue;
        }
        if (b == NULL) {
            fprintf(stderr, "bench_trigger_study: %s needs a value\n", a);
            return 2;
        }
        i++;
        if (!strcmp(a, "--data")) data = b;
        else if (!strcmp(a, "--methods")) snprintf(methods, sizeof methods, "%s", b);
        else if (!strcmp(a, "--variants")) vs = b;
        else if (!strcmp(a, "--extra")) xs = b;
        else if (!strcmp(a, "--items")) items = strtoul(b, NULL, 10);
        else if (!strcmp(a, "--interval")) interval = strtoul(b, NULL, 10);
        else if (!strcmp(a, "--bits")) bits = strtoul(b, NULL, 10);
        else if (!strcmp(a, "--checkpoints")) ncp = strtoul(b, NULL, 10);
        else if (!strcmp(a, "--trials")) trials = strtoul(b, NULL, 10);
        else if (!strcmp(a, "--n-query")) nq = strtoul(b, NULL, 10);
        else if (!strcmp(a, "--seed")) seed0 = strtoull(b, NULL, 10);
        else {
            fprintf(stderr, "usage: bench_trigger_study [--data D] [--methods \"...\"] "
                            "[--variants \"NAME=POLICY:THETA:CONF:R ...\"] [--extra \"...\"] "
                            "[--items N] [--interval U] [--bits B] [--checkpoints C] "
                            "[--trials T] [--n-query Q] [--seed S] [--no-header]\n");
            return 2;
        }
    }
    variant var[32], ext[32];
    const size_t nv = parse_variants(vs, var, 32), nx = parse_variants(xs, ext, 32);
    l2h_dataset *ds = NULL;
    size_t n_named = 0;
    CHECK(l2h_dataset_load_named(&ds, data, &n_named));
    const size_t n = l2h_dataset_n(ds), dim = l2h_dataset_dim(ds);
    if (nq >= n) return 2;
    size_t *perm = malloc(n * sizeof *perm);
    double *mean = malloc(dim * sizeof *mean);
    if (!perm || !mean) return 1;
    if (header)
        printf("data,method,variant,policy,theta,confidence,reservoir,seed,items,interval,checks,"
               "updates,map_final,map_auc,cpu_seconds,wall_seconds,load1\n");
    char mlist[256];
    for (size_t t = 0; t < trials; t++) {
        const uint64_t seed = seed0 + t;
        l2h_rng rng;
        l2h_rng_seed(&rng, seed);
        for (size_t i = 0; i < n; i++)
            perm[i] = i;
        l2h_rng_shuffle(&rng, perm, n);
        l2h_dataset *q = NULL, *pool = NULL;
        CHECK(l2h_dataset_subset(&q, ds, perm, nq));
        CHECK(l2h_dataset_subset(&pool, ds, perm + nq, n - nq));
        /* centre with the pool mean, then L2-normalise every row (the stream protocol) */
        float *xp = l2h_dataset_features_mut(pool), *xq = l2h_dataset_features_mut(q);
        memset(mean, 0, dim * sizeof *mean);
        for (size_t i = 0; i < n - nq; i++)
            for (size_t j = 0; j < dim; j++)
                mean[j] += (double)xp[i * dim + j];
        for (size_t j = 0; j < dim; j++)
            mean[j] /= (double)(n - nq);
        float *sets[2] = {xp, xq};
        const size_t rows[2] = {n - nq, nq};
        for (int s = 0; s < 2; s++)
            for (size_t i = 0; i < rows[s]; i++) {
                float *r = sets[s] + i * dim;
                double ss = 0.0;
                for (size_t j = 0; j < dim; j++) {
                    r[j] = (float)((double)r[j] - mean[j]);
                    ss += (double)r[j] * (double)r[j];
                }
                const float inv = ss > 0.0 ? (float)(1.0 / sqrt(ss)) : 0.0f;
                for (size_t j = 0; j < dim; j++)
                    r[j] *= inv;
            }
        snprintf(mlist, sizeof mlist, "%s", methods);
        char *save = NULL;
        for (char *m = strtok_r(mlist, " ,", &save); m; m = strtok_r(NULL, " ,", &save)) {
            for (size_t k = 0; k < nv; k++)
                run_variant(data, m, seed, &var[k], bits, interval, items, ncp, pool, q);
            if (t == 0)
                for (size_t k = 0; k < nx; k++)
                    run_variant(data, m, seed, &ext[k], bits, interval, items, ncp, pool, q);
        }
        l2h_dataset_free(q);
        l2h_dataset_free(pool);
    }
    free(perm);
    free(mean);
    l2h_dataset_free(ds);
    return 0;
}
