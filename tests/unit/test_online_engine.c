/* test_online_engine.c -- the stream engine through the public API (begin / push / flush):
 * counters under the FIXED and TRIGGER policies, reservoir codes and table consistent with the
 * snapshot, queries encoded with the snapshot, replay determinism for a seed, chunking of the
 * pushes not changing the run, and argument / state errors. */
#include "check.h"
#include "online_engine.h"

#include "l2h/codes.h"

#include <string.h>

#define DIM    24
#define NCLASS 5

typedef struct data {
    size_t n;
    float *x;
    int32_t *y;
} data;

static data make_data(uint64_t seed, size_t n)
{
    l2h_rng rng;
    l2h_rng_seed(&rng, 99); /* same clusters for every call */
    float centres[NCLASS * DIM];
    for (size_t i = 0; i < NCLASS * DIM; i++)
        centres[i] = (float)l2h_rng_normal(&rng);
    l2h_rng_seed(&rng, seed);
    data d = {n, malloc(n * DIM * sizeof(float)), malloc(n * sizeof(int32_t))};
    for (size_t i = 0; i < n; i++) {
        const int32_t c = (int32_t)l2h_rng_below(&rng, NCLASS);
        d.y[i] = c;
        double nn = 0.0;
        for (size_t t = 0; t < DIM; t++) {
            const float v = centres[c * DIM + t] + 0.8f * (float)l2h_rng_normal(&rng);
            d.x[i * DIM + t] = v;
            nn += (double)v * (double)v;
        }
        for (size_t t = 0; t < DIM; t++)
            d.x[i * DIM + t] = (float)((double)d.x[i * DIM + t] / sqrt(nn));
    }
    return d;
}

static void free_data(data *d)
{
    free(d->x);
    free(d->y);
}

static l2h_dataset *make_db(const data *d)
{
    l2h_dataset *ds = NULL;
    CHECK_OK(l2h_dataset_create(&ds, d->n, DIM, d->x));
    if (ds) CHECK_OK(l2h_dataset_set_labels(ds, d->y));
    return ds;
}

/* A run fed in chunks of `chunk` items. */
static l2h_online *run(const l2h_online_params *p, const data *init, const data *stream,
                       const l2h_dataset *db, size_t chunk)
{
    l2h_online *o = NULL;
    CHECK_OK(l2h_online_create(&o, p, DIM));
    if (o == NULL) return NULL;
    CHECK_OK(l2h_online_begin(o, init->x, init->y, init->n, db));
    for (size_t i = 0; i < stream->n; i += chunk) {
        const size_t m = stream->n - i < chunk ? stream->n - i : chunk;
        CHECK_OK(l2h_online_push(o, stream->x + i * DIM, stream->y + i, m, db));
    }
    CHECK_OK(l2h_online_flush(o, db));
    return o;
}

/* Reservoir codes and table equal a fresh encoding with the snapshot. */
static void check_consistent(const l2h_online *o, const l2h_dataset *db)
{
    const size_t bytes = o->bytes, n_db = l2h_dataset_n(db);
    uint8_t *t1 = malloc(n_db * bytes), *t2 = malloc(n_db * bytes);
    CHECK_OK(l2h_online_table(o, t1, n_db));
    CHECK_OK(l2h_online_encode(o, l2h_dataset_features(db), n_db, t2));
    CHECK(memcmp(t1, t2, n_db * bytes) == 0);
    uint8_t *rc = malloc(o->res.n * bytes + 1);
    CHECK_OK(l2h_model_encode_prepped(o->snap_map, o->res.x, o->res.n, rc));
    CHECK(memcmp(rc, o->res.codes, o->res.n * bytes) == 0);
    free(rc);
    free(t1);
    free(t2);
}

static void test_policies(const char *method)
{
    data init = make_data(1, 400), stream = make_data(2, 1000), dbd = make_data(3, 300);
    l2h_dataset *db = make_db(&dbd);
    l2h_online_params p = l2h_online_default_params();
    p.method = method;
    p.bits = 16;
    p.interval = 100;
    p.reservoir = 100;
    p.okh_anchors = 50;
    p.sketch_size = 40;
    p.adapt_step = 0.25;
    p.policy = L2H_ONLINE_POLICY_FIXED;
    l2h_online *fx = run(&p, &init, &stream, db, stream.n);
    p.policy = L2H_ONLINE_POLICY_TRIGGER;
    l2h_online *tr = run(&p, &init, &stream, db, stream.n);
    l2h_online *tr2 = run(&p, &init, &stream, db, 37); /* chunking does not matter */
    if (!fx || !tr || !tr2) goto done;
    l2h_online_stats sf, st, st2;
    CHECK_OK(l2h_online_get_stats(fx, &sf));
    CHECK_OK(l2h_online_get_stats(tr, &st));
    CHECK_OK(l2h_online_get_stats(tr2, &st2));
    fprintf(stderr, "%-10s fixed: %zu checks %zu updates; trigger: %zu updates\n", method,
            sf.checks, sf.updates, st.updates);
    CHECK_EQ_I(sf.items, 1000);
    CHECK_EQ_I(sf.checks, 10);
    CHECK_EQ_I(sf.updates, 10); /* every interval changed the mapping */
    CHECK_EQ_I(sf.bits_recomputed, 10 * 300 * 16);
    CHECK_EQ_I(st.checks, 10);
    CHECK(st.updates <= st.checks);
    CHECK(st.updates >= 1); /* learnable data: the quality improves at least once */
    CHECK_EQ_I(st.bits_recomputed, (uint64_t)st.updates * 300 * 16);
    CHECK_EQ_I(st2.updates, st.updates);
    CHECK_EQ_I(st2.steps, st.steps);
    check_consistent(fx, db);
    check_consistent(tr, db);
    {
        const size_t bytes = l2h_code_bytes(16);
        uint8_t *a = malloc(300 * bytes), *b = malloc(300 * bytes);
        CHECK_OK(l2h_online_table(tr, a, 300));
        CHECK_OK(l2h_online_table(tr2, b, 300));
        CHECK(memcmp(a, b, 300 * bytes) == 0); /* deterministic replay */
        CHECK_STATUS(l2h_online_table(tr, a, 299), L2H_ERR_ARG);
        free(a);
        free(b);
    }
done:
    l2h_online_free(fx);
    l2h_online_free(tr);
    l2h_online_free(tr2);
    l2h_dataset_free(db);
    free_data(&init);
    free_data(&stream);
    free_data(&dbd);
}

static void test_snapshot_queries(void)
{
    /* θ huge: no update ever, the table and the queries stay with the initial mapping while the
     * current mapping moves on */
    data init = make_data(4, 10), stream = make_data(5, 500), dbd = make_data(6, 100);
    l2h_dataset *db = make_db(&dbd);
    l2h_online_params p = l2h_online_default_params();
    p.method = "osh";
    p.bits = 16;
    p.theta = 1e9;
    l2h_online *o = run(&p, &init, &stream, db, 500);
    l2h_online *o0 = NULL;
    CHECK_OK(l2h_online_create(&o0, &p, DIM));
    if (o && o0) {
        CHECK_OK(l2h_online_begin(o0, init.x, init.y, init.n, db));
        l2h_online_stats s;
        CHECK_OK(l2h_online_get_stats(o, &s));
        CHECK_EQ_I(s.updates, 0);
        CHECK_EQ_I(s.checks, 5);
        const size_t bytes = l2h_code_bytes(16);
        uint8_t *snap = malloc(100 * bytes), *cur = malloc(100 * bytes), *ini = malloc(100 * bytes);
        CHECK_OK(l2h_online_encode(o, dbd.x, 100, snap));
        CHECK_OK(l2h_online_encode_current(o, dbd.x, 100, cur));
        CHECK_OK(l2h_online_encode(o0, dbd.x, 100, ini));
        CHECK(memcmp(snap, ini, 100 * bytes) == 0);
        CHECK(memcmp(snap, cur, 100 * bytes) != 0);
        free(snap);
        free(cur);
        free(ini);
    }
    l2h_online_free(o);
    l2h_online_free(o0);
    l2h_dataset_free(db);
    free_data(&init);
    free_data(&stream);
    free_data(&dbd);
}

static void test_prefill(void)
{
    /* pre-filled items are in the reservoir with snapshot codes before any push */
    data init = make_data(14, 50);
    l2h_online_params p = l2h_online_default_params();
    p.method = "adapthash";
    p.bits = 8;
    p.reservoir = 20;
    p.reservoir_prefill = 15;
    l2h_online *o = NULL;
    CHECK_OK(l2h_online_create(&o, &p, DIM));
    if (o) {
        CHECK_OK(l2h_online_begin(o, init.x, init.y, init.n, NULL));
        CHECK_EQ_I(o->res.n, 15);
        for (size_t i = 0; i < 15; i++) {
            CHECK(memcmp(o->res.x + i * DIM, init.x + i * DIM, DIM * sizeof(float)) == 0);
            CHECK_EQ_I(o->res.labels[i], init.y[i]);
        }
        uint8_t codes[15];
        CHECK_OK(l2h_online_encode(o, init.x, 15, codes));
        CHECK(memcmp(codes, o->res.codes, 15) == 0);
    }
    l2h_online_free(o);
    free_data(&init);
}

static void test_errors(void)
{
    l2h_online *o = NULL;
    l2h_online_params p = l2h_online_default_params();
    p.method = "nope";
    CHECK_STATUS(l2h_online_create(&o, &p, DIM), L2H_ERR_ARG);
    CHECK(o == NULL);
    p = l2h_online_default_params();
    p.reservoir = 0;
    CHECK_STATUS(l2h_online_create(&o, &p, DIM), L2H_ERR_ARG); /* trigger without reservoir */
    p.policy = L2H_ONLINE_POLICY_FIXED;
    p.bits = 0;
    CHECK_STATUS(l2h_online_create(&o, &p, DIM), L2H_ERR_ARG);
    p = l2h_online_default_params();
    p.method = "osh";
    p.bits = 8;
    CHECK_OK(l2h_online_create(&o, &p, DIM));
    data d = make_data(7, 20);
    CHECK_STATUS(l2h_online_push(o, d.x, d.y, 20, NULL), L2H_ERR_STATE);
    CHECK_OK(l2h_online_begin(o, NULL, NULL, 0, NULL));
    CHECK_STATUS(l2h_online_push(o, d.x, NULL, 20, NULL), L2H_ERR_ARG); /* OSH needs labels */
    l2h_dataset *db = make_db(&d);
    CHECK_STATUS(l2h_online_push(o, d.x, d.y, 20, db), L2H_ERR_ARG); /* not the begin db */
    CHECK_OK(l2h_online_push(o, d.x, d.y, 20, NULL));
    l2h_online_free(o);
    /* OKH needs anchors from initial data */
    p.method = "okh";
    CHECK_OK(l2h_online_create(&o, &p, DIM));
    CHECK_STATUS(l2h_online_begin(o, d.x, d.y, 20, NULL), L2H_ERR_ARG);
    l2h_online_free(o);
    l2h_online_free(NULL);
    l2h_dataset_free(db);
    free_data(&d);
    const char *const *names = l2h_online_methods();
    size_t n = 0;
    while (names[n]) {
        CHECK(l2h_online_find_ops(names[n]) != NULL);
        n++;
    }
    CHECK_EQ_I(n, l2h_online_method_count()); /* every registered method is listed */
}

static void test_unsupervised(void)
{
    /* no labels: affinity from the Euclidean threshold (5th percentile of the initial items) */
    data init = make_data(8, 400), stream = make_data(9, 600), dbd = make_data(10, 200);
    l2h_dataset *db = NULL;
    CHECK_OK(l2h_dataset_create(&db, dbd.n, DIM, dbd.x));
    l2h_online_params p = l2h_online_default_params();
    p.method = "sketchhash";
    p.bits = 16;
    p.sketch_size = 40;
    l2h_online *o = NULL;
    CHECK_OK(l2h_online_create(&o, &p, DIM));
    if (o && db) {
        CHECK_OK(l2h_online_begin(o, init.x, NULL, init.n, db));
        CHECK(o->dist_threshold > 0.0f);
        CHECK_OK(l2h_online_push(o, stream.x, NULL, stream.n, db));
        CHECK_STATUS(l2h_online_push(o, stream.x, stream.y, 10, db), L2H_ERR_ARG); /* mixed */
        l2h_online_stats s;
        CHECK_OK(l2h_online_get_stats(o, &s));
        CHECK_EQ_I(s.checks, 6);
        CHECK_EQ_I(s.steps, 12);
        check_consistent(o, db);
    }
    l2h_online_free(o);
    l2h_dataset_free(db);
    free_data(&init);
    free_data(&stream);
    free_data(&dbd);
}

/* Every allocation failure (L2H_FAULT_INJECTION builds) gives L2H_ERR_NOMEM, and freeing the
 * handle afterwards leaks nothing (ASan); in other builds the first attempt succeeds. */
static void test_nomem(void)
{
    data init = make_data(11, 120), stream = make_data(12, 230), dbd = make_data(13, 50);
    l2h_dataset *db = make_db(&dbd);
    const char *const *names = l2h_online_methods();
    for (size_t m = 0; names[m] && db; m++) {
        l2h_online_params p = l2h_online_default_params();
        p.method = names[m];
        p.bits = 8;
        p.interval = 40;
        p.reservoir = 30;
        p.okh_anchors = 20;
        p.sketch_size = 16;
        int bad = 0;
        long k = 0;
        for (; k < 100000; k++) {
            l2h_online *o = NULL;
            l2h_fault_inject_after(k);
            l2h_status st = l2h_online_create(&o, &p, DIM);
            if (st == L2H_OK) st = l2h_online_begin(o, init.x, init.y, init.n, db);
            if (st == L2H_OK) st = l2h_online_push(o, stream.x, stream.y, stream.n, db);
            if (st == L2H_OK) st = l2h_online_flush(o, db);
            l2h_fault_inject_after(-1);
            if (st != L2H_OK && st != L2H_ERR_NOMEM) {
                if (bad++ == 0)
                    fprintf(stderr, "%s: allocation %ld failed gave %s: %s\n", names[m], k,
                            l2h_status_str(st), l2h_last_error());
            }
            l2h_online_free(o);
            if (st == L2H_OK) break;
        }
        CHECK_EQ_I(bad, 0);
        CHECK(k < 100000);
        if (getenv("L2H_VERBOSE"))
            fprintf(stderr, "%s: %ld allocations failed in turn\n", names[m], k);
    }
    l2h_dataset_free(db);
    free_data(&init);
    free_data(&stream);
    free_data(&dbd);
}

int main(void)
{
    (void)test_seed();
    test_errors();
    test_prefill();
    test_policies("okh");
    test_policies("osh");
    test_policies("adapthash");
    test_policies("sketchhash");
    test_policies("mihash");
    test_snapshot_queries();
    test_unsupervised();
    test_nomem();
    return check_report();
}
