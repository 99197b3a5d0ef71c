/* test_online_run.c -- the protocol driver l2h_online_run: checkpoint placement (first and last
 * learning step included), curve read-out, AUC = mean of the curve, final = last point,
 * reproducibility from the seed, and mAP improving over the stream for a supervised method. */
#include "check.h"
#include "online_engine.h"

#include <string.h>

#define DIM    24
#define NCLASS 5

static l2h_dataset *make_set(uint64_t seed, size_t n, bool labels)
{
    l2h_rng rng;
    l2h_rng_seed(&rng, 77); /* same clusters for every set */
    float centres[NCLASS * DIM];
    for (size_t i = 0; i < NCLASS * DIM; i++)
        centres[i] = (float)l2h_rng_normal(&rng);
    l2h_rng_seed(&rng, seed);
    float *x = malloc(n * DIM * sizeof *x);
    int32_t *y = malloc(n * sizeof *y);
    for (size_t i = 0; i < n; i++) {
        const int32_t c = (int32_t)l2h_rng_below(&rng, NCLASS);
        y[i] = c;
        double nn = 0.0;
        for (size_t t = 0; t < DIM; t++) {
            const float v = centres[c * DIM + t] + 0.8f * (float)l2h_rng_normal(&rng);
            x[i * DIM + t] = v;
            nn += (double)v * (double)v;
        }
        for (size_t t = 0; t < DIM; t++)
            x[i * DIM + t] = (float)((double)x[i * DIM + t] / sqrt(nn));
    }
    l2h_dataset *ds = NULL;
    CHECK_OK(l2h_dataset_create(&ds, n, DIM, x));
    if (ds && labels) CHECK_OK(l2h_dataset_set_labels(ds, y));
    free(x);
    free(y);
    return ds;
}

static void test_curve(void)
{
    l2h_dataset *pool = make_set(1, 800, true), *db = make_set(2, 400, true);
    l2h_dataset *q = make_set(3, 60, true);
    l2h_online_params p = l2h_online_default_params();
    p.method = "osh";
    p.bits = 16;
    p.interval = 50;
    p.n_checkpoints = 7;
    p.policy = L2H_ONLINE_POLICY_FIXED;
    l2h_online *a = NULL, *b = NULL;
    CHECK_OK(l2h_online_create(&a, &p, DIM));
    CHECK_OK(l2h_online_create(&b, &p, DIM));
    if (!a || !b || !pool || !db || !q) goto done;
    CHECK_OK(l2h_online_run(a, pool, db, q, 1000)); /* more than the pool: two passes */
    CHECK_OK(l2h_online_run(b, pool, db, q, 1000));
    l2h_online_stats s;
    CHECK_OK(l2h_online_get_stats(a, &s));
    CHECK_EQ_I(s.items, 1000);
    CHECK_EQ_I(s.steps, 1000);
    CHECK_EQ_I(s.checks, 20);
    CHECK_EQ_I(s.updates, 20);
    CHECK_EQ_I(s.n_checkpoints, 7);
    size_t items[7], upd[7], items_b[7];
    double map[7], map_b[7];
    CHECK_OK(l2h_online_curve(a, 7, items, map, upd));
    CHECK_OK(l2h_online_curve(b, 7, items_b, map_b, NULL));
    CHECK_STATUS(l2h_online_curve(a, 8, items, map, upd), L2H_ERR_ARG);
    /* steps 0, 166.5 -> 167 (llround), 333, 500, 666, 833, 999 (one item per step) */
    const size_t want[7] = {1, 168, 334, 501, 667, 834, 1000};
    double mean = 0.0;
    for (int i = 0; i < 7; i++) {
        CHECK_EQ_I(items[i], want[i]);
        CHECK_EQ_I(upd[i], items[i] / 50);
        CHECK(map[i] >= 0.0 && map[i] <= 1.0);
        CHECK(map[i] == map_b[i]); /* reproducible from the seed */
        mean += map[i] / 7.0;
    }
    CHECK_NEAR(s.map_auc, mean, 1e-12, 1e-12);
    CHECK(s.map_final == map[6]);
    fprintf(stderr, "osh curve: %.3f -> %.3f (auc %.3f)\n", map[0], map[6], s.map_auc);
    CHECK(map[6] > map[0] + 0.1); /* OSH learns the classes */
    /* a second run on the same handle starts afresh */
    CHECK_OK(l2h_online_run(a, pool, db, q, 100));
    CHECK_OK(l2h_online_get_stats(a, &s));
    CHECK_EQ_I(s.items, 100);
    CHECK_EQ_I(s.n_checkpoints, 7);
done:
    l2h_online_free(a);
    l2h_online_free(b);
    l2h_dataset_free(pool);
    l2h_dataset_free(db);
    l2h_dataset_free(q);
}

static void test_unlabelled_and_errors(void)
{
    l2h_dataset *pool = make_set(4, 500, false), *db = make_set(5, 300, false);
    l2h_dataset *q = make_set(6, 40, false), *ql = make_set(7, 40, true);
    l2h_online_params p = l2h_online_default_params();
    p.method = "sketchhash";
    p.bits = 16;
    p.sketch_size = 40;
    p.n_checkpoints = 3;
    l2h_online *o = NULL;
    CHECK_OK(l2h_online_create(&o, &p, DIM));
    if (o && pool && db && q) {
        CHECK_OK(l2h_online_run(o, pool, db, q, 400)); /* 8 steps of 50 */
        l2h_online_stats s;
        CHECK_OK(l2h_online_get_stats(o, &s));
        CHECK_EQ_I(s.steps, 8);
        CHECK_EQ_I(s.n_checkpoints, 3);
        size_t items[3];
        CHECK_OK(l2h_online_curve(o, 3, items, NULL, NULL));
        CHECK_EQ_I(items[0], 50);
        CHECK_EQ_I(items[1], 250); /* step round(3.5) = 4 -> 5 steps consumed */
        CHECK_EQ_I(items[2], 400);
        CHECK_STATUS(l2h_online_run(o, pool, db, q, 0), L2H_ERR_ARG);
        CHECK_STATUS(l2h_online_run(o, pool, NULL, q, 10), L2H_ERR_ARG);
    }
    l2h_online_free(o);
    /* OSH on an unlabelled pool */
    p.method = "osh";
    CHECK_OK(l2h_online_create(&o, &p, DIM));
    if (o && pool && db && ql) CHECK_STATUS(l2h_online_run(o, pool, db, ql, 10), L2H_ERR_ARG);
    l2h_online_free(o);
    l2h_dataset_free(pool);
    l2h_dataset_free(db);
    l2h_dataset_free(q);
    l2h_dataset_free(ql);
}

int main(void)
{
    (void)test_seed();
    test_curve();
    test_unlabelled_and_errors();
    return check_report();
}
