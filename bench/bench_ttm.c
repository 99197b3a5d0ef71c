/* bench_ttm.c -- MIHash time to a given validation mAP, linear 1024 -> 32 and MLP
 * 1024 -> 1024 -> 32, on the CIFAR-10 CNN features; the PyTorch counterpart is
 * bench/ttm_torch.py and bench/time_to_map.sh runs both side by side.
 *
 * Data: the 5,000 training rows of split 1 (l2h_split_per_class(100, 500, seed 1) over all
 * 60,000 rows, as `l2h train --data cifar10-cnn`); the split's 1,000 queries are never touched.
 * l2h_train holds out val_fraction = 0.1 of those rows (500) and reports after every epoch the
 * validation mAP of those rows as queries against the other 4,500 as database. Setup: batch 100,
 * SGD momentum 0.9, weight decay 5e-4 (weights only), constant lr 0.1, sigmoid scale a = 1,
 * K = 16 bins, He-normal initialisation, one thread.
 *
 * Timing: the progress callback's `seconds` includes validation, but `examples_per_s` is
 * n_train / (time from the end of the previous epoch's callback to the end of this epoch's
 * training), so 4500 / examples_per_s is the epoch's training time net of validation and of the
 * callback. The time to a threshold is the sum of those over the epochs up to and including the
 * first epoch whose validation mAP reaches it. Setup before the first epoch (loading, centring,
 * normalisation, ground truth, initialisation) is not counted, as on the PyTorch side.
 *
 * With ROWS_FILE the database (trained-on) rows and the validation rows are written as two lines
 * of original row numbers, so ttm_torch.py uses exactly the same rows in the same order. The
 * held-out rows are recomputed here with l2h_train's own draw (train_api.c split_rows) and
 * checked: the final model's mAP on them must equal the last epoch's reported validation mAP.
 *
 * usage: bench_ttm [EPOCHS=20] [LINEAR_THRESHOLDS=0.40,0.50] [MLP_THRESHOLDS=0.50,0.60]
 *                  [ROWS_FILE] [SEED=1]
 * SEED is l2h_train's seed: initialisation, shuffling and which rows are held out (split 1
 * itself always uses seed 1).
 * Output lines: "epoch MODEL E train_s T cum_train_s C wall_s W val_map M",
 * "ttm MODEL THRESHOLD cum_train_s C wall_s W epoch E" (or "- - -" if never reached),
 * "rate MODEL examples_per_s R" (all epochs' examples over their summed training time). */
#include "bench_util.h"
#include "l2h/l2h.h"

#include "core.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VAL_FRACTION 0.1
#define VAL_SALT 0x7a11da7e5eedull /* train_api.c */
#define MAX_EPOCHS 1000
#define MAX_THR 8

typedef struct run {
    const char *name;
    size_t n_tr, epochs;
    double train_s[MAX_EPOCHS], wall_s[MAX_EPOCHS], map[MAX_EPOCHS];
} run;

static int cb(const l2h_train_progress *p, void *user)
{
    run *r = user;
    const size_t e = p->epoch - 1;
    if (e >= MAX_EPOCHS) return 1;
    r->train_s[e] = p->examples_per_s > 0 ? (double)r->n_tr / p->examples_per_s : 0.0;
    r->wall_s[e] = p->seconds;
    r->map[e] = p->val_map;
    r->epochs = p->epoch;
    return 0;
}

static size_t parse_thr(const char *s, double *t)
{
    size_t n = 0;
    char *end;
    while (n < MAX_THR && *s) {
        t[n++] = strtod(s, &end);
        if (*end != ',') break;
        s = end + 1;
    }
    return n;
}

/* l2h_train's validation draw (train_api.c split_rows) for n rows and seed. */
static void split_rows(size_t n, uint64_t seed, size_t *tr, size_t *n_tr, size_t *val,
                       size_t *n_val)
{
    size_t nv = (size_t)floor(VAL_FRACTION * (double)n + 0.5);
    if (nv < 1) nv = 1;
    size_t *perm = malloc(n * sizeof *perm);
    unsigned char *is_val = calloc(n, 1);
    for (size_t i = 0; i < n; i++) perm[i] = i;
    l2h_rng rng;
    l2h_rng_seed(&rng, seed ^ VAL_SALT);
    l2h_rng_shuffle(&rng, perm, n);
    for (size_t i = 0; i < nv; i++) is_val[perm[i]] = 1;
    *n_tr = *n_val = 0;
    for (size_t i = 0; i < n; i++) {
        if (is_val[i]) val[(*n_val)++] = i;
        else tr[(*n_tr)++] = i;
    }
    free(perm);
    free(is_val);
}

/* mAP of the model on the held-out rows against the trained-on rows of `ds`. */
static l2h_status recompute_map(const l2h_model *m, const l2h_dataset *ds, const size_t *tr,
                                size_t n_tr, const size_t *val, size_t n_val, double *map)
{
    l2h_dataset *dq = NULL, *dd = NULL;
    l2h_groundtruth *gt = NULL;
    const size_t bits = l2h_model_bits(m), bytes = l2h_code_bytes(bits);
    uint8_t *cq = malloc(n_val * bytes), *cd = malloc(n_tr * bytes);
    l2h_status st = l2h_dataset_subset(&dq, ds, val, n_val);
    if (st == L2H_OK) st = l2h_dataset_subset(&dd, ds, tr, n_tr);
    if (st == L2H_OK) st = l2h_model_encode(m, l2h_dataset_features(dq), n_val, cq);
    if (st == L2H_OK) st = l2h_model_encode(m, l2h_dataset_features(dd), n_tr, cd);
    if (st == L2H_OK) st = l2h_groundtruth_from_labels(&gt, dq, dd);
    l2h_eval_params ep = l2h_eval_default_params();
    l2h_eval_result r;
    if (st == L2H_OK) st = l2h_eval_codes(cq, n_val, cd, n_tr, bits, gt, &ep, &r);
    if (st == L2H_OK) *map = r.map;
    l2h_groundtruth_free(gt);
    l2h_dataset_free(dq);
    l2h_dataset_free(dd);
    free(cq);
    free(cd);
    return st;
}

static void report(const run *r, const double *thr, size_t n_thr)
{
    double cum = 0;
    for (size_t e = 0; e < r->epochs; e++) {
        cum += r->train_s[e];
        printf("epoch %s %zu train_s %.4f cum_train_s %.4f wall_s %.4f val_map %.4f\n", r->name,
               e + 1, r->train_s[e], cum, r->wall_s[e], r->map[e]);
    }
    for (size_t k = 0; k < n_thr; k++) {
        double c = 0;
        size_t e = 0;
        for (; e < r->epochs; e++) {
            c += r->train_s[e];
            if (r->map[e] >= thr[k]) break;
        }
        if (e < r->epochs)
            printf("ttm %s %.2f cum_train_s %.4f wall_s %.4f epoch %zu\n", r->name, thr[k], c,
                   r->wall_s[e], e + 1);
        else
            printf("ttm %s %.2f cum_train_s - wall_s - epoch -\n", r->name, thr[k]);
    }
    printf("rate %s examples_per_s %.0f\n", r->name,
           cum > 0 ? (double)(r->n_tr * r->epochs) / cum : 0.0);
}

static int write_rows(const char *path, const size_t *orig, const size_t *tr, size_t n_tr,
                      const size_t *val, size_t n_val)
{
    FILE *f = fopen(path, "w");
    if (!f) return 1;
    for (size_t i = 0; i < n_tr; i++) fprintf(f, "%zu%c", orig[tr[i]], i + 1 < n_tr ? ' ' : '\n');
    for (size_t i = 0; i < n_val; i++)
        fprintf(f, "%zu%c", orig[val[i]], i + 1 < n_val ? ' ' : '\n');
    return fclose(f) != 0;
}

int main(int argc, char **argv)
{
    const size_t epochs = argc > 1 ? strtoul(argv[1], NULL, 10) : 20;
    double thr[2][MAX_THR];
    size_t n_thr[2];
    n_thr[0] = parse_thr(argc > 2 ? argv[2] : "0.40,0.50", thr[0]);
    n_thr[1] = parse_thr(argc > 3 ? argv[3] : "0.50,0.60", thr[1]);
    const char *rows_file = argc > 4 && strcmp(argv[4], "-") != 0 ? argv[4] : NULL;
    const uint64_t seed = argc > 5 ? strtoull(argv[5], NULL, 10) : 1;
    if (epochs < 1 || epochs > MAX_EPOCHS) {
        fprintf(stderr, "bench_ttm: EPOCHS must be 1..%d\n", MAX_EPOCHS);
        return 2;
    }
    l2h_set_threads(1);
    l2h_dataset *all = NULL, *sub = NULL;
    l2h_split *split = NULL;
    if (l2h_dataset_load_named(&all, "cifar10-cnn", NULL) != L2H_OK ||
        l2h_split_per_class(&split, all, 100, 500, 1) != L2H_OK ||
        l2h_dataset_subset(&sub, all, l2h_split_train(split), l2h_split_n_train(split)) != L2H_OK) {
        fprintf(stderr, "bench_ttm: %s\n", l2h_last_error());
        return 1;
    }
    const size_t n = l2h_dataset_n(sub);
    size_t *tr = malloc(n * sizeof *tr), *val = malloc(n * sizeof *val), n_tr, n_val;
    split_rows(n, seed, tr, &n_tr, val, &n_val);
    if (rows_file && write_rows(rows_file, l2h_split_train(split), tr, n_tr, val, n_val)) {
        fprintf(stderr, "bench_ttm: cannot write %s\n", rows_file);
        return 1;
    }
    printf("# l2h cifar10-cnn split 1 (seed 1): %zu rows, %zu trained on, %zu validation; "
           "batch 100, SGD lr 0.1 const, %zu epochs, 1 thread, training seed %llu\n",
           n, n_tr, n_val, epochs, (unsigned long long)seed);
    const l2h_net_kind kinds[2] = {L2H_NET_LINEAR, L2H_NET_MLP};
    const char *names[2] = {"linear", "mlp"};
    int bad = 0;
    for (int k = 0; k < 2; k++) {
        l2h_train_params p = l2h_train_default_params(32);
        p.net = kinds[k];
        p.epochs = epochs;
        p.schedule = L2H_SCHED_CONST;
            p.val_fraction = VAL_FRACTION;
        p.val_every = 1;
        p.seed = seed;
        static run r;
        memset(&r, 0, sizeof r);
        r.name = names[k];
        r.n_tr = n_tr;
        p.callback = cb;
        p.user = &r;
        l2h_model *m;
        double map = -1;
        if (bench_train_opts(&m, sub, &p, (const char *const[]){"scale", "1", "bins", "16", NULL}) != L2H_OK ||
            recompute_map(m, sub, tr, n_tr, val, n_val, &map) != L2H_OK) {
            fprintf(stderr, "bench_ttm: %s\n", l2h_last_error());
            return 1;
        }
        report(&r, thr[k], n_thr[k]);
        const int ok = fabs(map - r.map[r.epochs - 1]) < 1e-9;
        printf("check %s last_val_map %.6f recomputed %.6f %s\n", names[k], r.map[r.epochs - 1],
               map, ok ? "ok" : "MISMATCH");
        bad |= !ok;
        l2h_model_free(m);
    }
    l2h_split_free(split);
    l2h_dataset_free(sub);
    l2h_dataset_free(all);
    free(tr);
    free(val);
    return bad ? 3 : 0;
}
