/* test_online_ckpt.c -- what an online run produces: the models of its current and snapshot
 * mappings (saved as ordinary model files whose codes equal the run's table), its table as an
 * l2h_index (searches agree with the flat scan of the table), and checkpoints: for every online
 * method, a run checkpointed halfway (to a file), loaded into a new handle and finished ends in
 * byte-identical model, index and checkpoint files to the uninterrupted run -- through the
 * protocol driver (l2h_online_run_part) and through begin/push. Corrupt checkpoints fail
 * cleanly. */
#include "check.h"
#include "online_engine.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define DIM    20
#define NCLASS 5

static l2h_dataset *make_set(uint64_t seed, size_t n, bool labels)
{
    l2h_rng rng;
    l2h_rng_seed(&rng, 77); /* same clusters for every set */
    float centres[NCLASS * DIM];
    for (size_t i = 0; i < NCLASS * DIM; i++)
        centres[i] = 2.0f + (float)l2h_rng_normal(&rng); /* off-centre: centring matters */
    l2h_rng_seed(&rng, seed);
    float *x = malloc(n * DIM * sizeof *x);
    int32_t *y = malloc(n * sizeof *y);
    for (size_t i = 0; i < n; i++) {
        const int32_t c = (int32_t)l2h_rng_below(&rng, NCLASS);
        y[i] = c;
        for (size_t t = 0; t < DIM; t++)
            x[i * DIM + t] = centres[c * DIM + t] + 0.8f * (float)l2h_rng_normal(&rng);
    }
    l2h_dataset *ds = NULL;
    CHECK_OK(l2h_dataset_create(&ds, n, DIM, x));
    if (ds && labels) CHECK_OK(l2h_dataset_set_labels(ds, y));
    free(x);
    free(y);
    return ds;
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    const long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
    *len = fread(b, 1, (size_t)n, f);
    fclose(f);
    return b;
}

static int same_file(const char *a, const char *b)
{
    size_t la = 0, lb = 0;
    uint8_t *x = slurp(a, &la), *y = slurp(b, &lb);
    const int same = x && y && la == lb && la > 0 && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return same;
}

static char g_dir[64];

static void path_of(char *out, size_t cap, const char *tag, const char *what)
{
    snprintf(out, cap, "%s/%s.%s", g_dir, tag, what);
}

/* Writes the run's artefacts as <tag>.model / .snap / .index / .ckpt. */
static void write_artefacts(const l2h_online *o, const char *tag)
{
    char path[160];
    l2h_model *m = NULL;
    CHECK_OK(l2h_online_model(o, L2H_ONLINE_CURRENT, &m));
    path_of(path, sizeof path, tag, "model");
    if (m) CHECK_OK(l2h_model_save(m, path));
    l2h_model_free(m);
    m = NULL;
    CHECK_OK(l2h_online_model(o, L2H_ONLINE_SNAPSHOT, &m));
    path_of(path, sizeof path, tag, "snap");
    if (m) CHECK_OK(l2h_model_save(m, path));
    l2h_model_free(m);
    const l2h_index *ix = l2h_online_index(o);
    CHECK(ix != NULL);
    path_of(path, sizeof path, tag, "index");
    if (ix) CHECK_OK(l2h_index_save(ix, path));
    path_of(path, sizeof path, tag, "ckpt");
    CHECK_OK(l2h_online_save(o, path));
}

static void check_same(const char *a, const char *b, const char *method)
{
    static const char *const what[] = {"model", "snap", "index", "ckpt"};
    for (size_t i = 0; i < 4; i++) {
        char pa[160], pb[160];
        path_of(pa, sizeof pa, a, what[i]);
        path_of(pb, sizeof pb, b, what[i]);
        if (!same_file(pa, pb)) {
            fprintf(stderr, "%s: %s and %s differ in %s\n", method, a, b, what[i]);
            CHECK(0);
        }
    }
}

/* The saved snapshot model encodes the retrieval set into exactly the table; the index finds
 * what a flat scan of the table finds. */
static void check_model_and_index(const l2h_online *o, const l2h_dataset *db,
                                  const l2h_dataset *q)
{
    const size_t n = l2h_dataset_n(db), bytes = o->bytes, nq = l2h_dataset_n(q), k = 10;
    l2h_model *m = NULL;
    CHECK_OK(l2h_online_model(o, L2H_ONLINE_SNAPSHOT, &m));
    if (!m) return;
    CHECK(l2h_model_bits(m) == o->bits && l2h_model_dim(m) == DIM);
    uint8_t *t1 = malloc(n * bytes), *t2 = malloc(n * bytes), *qc = malloc(nq * bytes);
    CHECK_OK(l2h_online_table(o, t1, n));
    CHECK_OK(l2h_model_encode(m, l2h_dataset_features(db), n, t2));
    CHECK(memcmp(t1, t2, n * bytes) == 0);
    CHECK_OK(l2h_model_encode(m, l2h_dataset_features(q), nq, qc));
    l2h_index *flat = NULL;
    l2h_index_params fp = l2h_index_default_params(o->bits);
    CHECK_OK(l2h_index_create(&flat, &fp));
    if (flat) CHECK_OK(l2h_index_add(flat, t1, NULL, n));
    int32_t *d1 = malloc(nq * k * sizeof *d1), *d2 = malloc(nq * k * sizeof *d2);
    l2h_id *i1 = malloc(nq * k * sizeof *i1), *i2 = malloc(nq * k * sizeof *i2);
    const l2h_index *ix = l2h_online_index(o);
    if (flat && ix) {
        CHECK_EQ_I(l2h_index_size(ix), n);
        CHECK_OK(l2h_index_search(flat, qc, nq, k, d1, i1));
        CHECK_OK(l2h_index_search(ix, qc, nq, k, d2, i2));
        CHECK(memcmp(d1, d2, nq * k * sizeof *d1) == 0);
        CHECK(memcmp(i1, i2, nq * k * sizeof *i1) == 0);
    }
    l2h_index_free(flat);
    l2h_model_free(m);
    free(t1);
    free(t2);
    free(qc);
    free(d1);
    free(d2);
    free(i1);
    free(i2);
}

static l2h_online_params params_for(const char *method, bool labelled)
{
    l2h_online_params p = l2h_online_default_params();
    p.method = method;
    p.bits = 16;
    p.interval = 40;
    p.reservoir = 60;
    p.n_checkpoints = 6;
    p.n_init = 120;
    p.okh_anchors = 40;
    p.sketch_size = 30;
    p.adapt_step = 0.25;
    p.center = 1;
    p.l2_normalize = 1;
    p.policy = L2H_ONLINE_POLICY_TRIGGER;
    p.reservoir_prefill = labelled ? 10 : 0;
    return p;
}

/* The protocol driver: uninterrupted vs stopped at `stop`, checkpointed, loaded, finished. */
static void test_run_resume(const char *method, bool labelled, size_t n_items, size_t stop)
{
    l2h_dataset *pool = make_set(1, 500, labelled), *db = make_set(2, 300, labelled);
    l2h_dataset *q = make_set(3, 40, labelled);
    const l2h_online_params p = params_for(method, labelled);
    l2h_online *a = NULL, *b = NULL, *c = NULL;
    char ck[160];
    path_of(ck, sizeof ck, "half", "ckpt");
    CHECK_OK(l2h_online_create(&a, &p, DIM));
    CHECK_OK(l2h_online_create(&b, &p, DIM));
    if (!a || !b || !pool || !db || !q) goto done;
    CHECK_OK(l2h_online_run_part(a, pool, db, q, n_items, n_items));
    CHECK(!a->run.active);
    write_artefacts(a, "full");
    check_model_and_index(a, db, q);

    CHECK_OK(l2h_online_run_part(b, pool, db, q, n_items, stop));
    CHECK(b->run.active);
    CHECK(b->st.items >= stop && b->st.items < n_items);
    CHECK_OK(l2h_online_save(b, ck));
    CHECK_OK(l2h_online_load(&c, ck));
    if (!c) goto done;
    CHECK_OK(l2h_online_run_part(c, pool, db, q, n_items, n_items));
    write_artefacts(c, "resumed");
    check_same("full", "resumed", method);
    l2h_online_stats sa, sc;
    CHECK_OK(l2h_online_get_stats(a, &sa));
    CHECK_OK(l2h_online_get_stats(c, &sc));
    CHECK(memcmp(&sa, &sc, sizeof sa) == 0);
    CHECK(sa.items == n_items && sa.n_checkpoints == p.n_checkpoints);
    fprintf(stderr, "%-10s %s: %zu updates, mAP final %.4f; resumed at %zu: identical\n", method,
            labelled ? "labels   " : "euclidean", sa.updates, sa.map_final, stop);
    /* the same run continued in the handle that stopped (no file) ends the same way too */
    CHECK_OK(l2h_online_run_part(b, pool, db, q, n_items, n_items));
    write_artefacts(b, "continued");
    check_same("full", "continued", method);
    /* a mismatched resume is refused */
    l2h_online *d = NULL;
    CHECK_OK(l2h_online_load(&d, ck));
    if (d) CHECK_STATUS(l2h_online_run_part(d, pool, db, q, n_items + 1, n_items), L2H_ERR_ARG);
    l2h_online_free(d);
done:
    l2h_online_free(a);
    l2h_online_free(b);
    l2h_online_free(c);
    l2h_dataset_free(pool);
    l2h_dataset_free(db);
    l2h_dataset_free(q);
}

/* begin/push: a partial batch pending at the checkpoint; a table-less run (db NULL). */
static void test_push_resume(const char *method, bool with_db)
{
    l2h_dataset *pool = make_set(4, 420, true), *db = with_db ? make_set(5, 200, true) : NULL;
    const l2h_online_params p = params_for(method, true);
    const float *x = l2h_dataset_features(pool);
    const int32_t *y = l2h_dataset_labels(pool);
    const size_t n_init = 120, half = 151; /* odd: a pair or a 50-batch is left pending */
    l2h_online *a = NULL, *c = NULL;
    char ck[160];
    path_of(ck, sizeof ck, "push", "ckpt");
    CHECK_OK(l2h_online_create(&a, &p, DIM));
    if (!a || !pool) goto done;
    CHECK_OK(l2h_online_begin(a, x, y, n_init, db));
    CHECK(with_db ? l2h_online_index(a) != NULL : l2h_online_index(a) == NULL);
    CHECK_OK(l2h_online_push(a, x + n_init * DIM, y + n_init, half, db));
    CHECK_OK(l2h_online_save(a, ck));
    CHECK_OK(l2h_online_load(&c, ck));
    if (!c) goto done;
    CHECK_EQ_I(c->n_pend, a->n_pend);
    const size_t rest = 420 - n_init - half;
    CHECK_OK(l2h_online_push(a, x + (n_init + half) * DIM, y + n_init + half, rest, db));
    CHECK_OK(l2h_online_push(c, x + (n_init + half) * DIM, y + n_init + half, rest, db));
    CHECK_OK(l2h_online_flush(a, db));
    CHECK_OK(l2h_online_flush(c, db));
    uint8_t *ba = NULL, *bc = NULL;
    size_t la = 0, lc = 0;
    l2h_model *ma = NULL, *mc = NULL;
    CHECK_OK(l2h_online_model(a, L2H_ONLINE_CURRENT, &ma));
    CHECK_OK(l2h_online_model(c, L2H_ONLINE_CURRENT, &mc));
    if (ma && mc) {
        CHECK_OK(l2h_model_to_mem(ma, &ba, &la));
        CHECK_OK(l2h_model_to_mem(mc, &bc, &lc));
        CHECK(la == lc && la > 0 && memcmp(ba, bc, la) == 0);
    }
    l2h_online_stats sa, sc;
    CHECK_OK(l2h_online_get_stats(a, &sa));
    CHECK_OK(l2h_online_get_stats(c, &sc));
    CHECK(memcmp(&sa, &sc, sizeof sa) == 0);
    if (with_db) {
        uint8_t *ta = malloc(200 * a->bytes), *tc = malloc(200 * a->bytes);
        CHECK_OK(l2h_online_table(a, ta, 200));
        CHECK_OK(l2h_online_table(c, tc, 200));
        CHECK(memcmp(ta, tc, 200 * a->bytes) == 0);
        free(ta);
        free(tc);
    }
    l2h_free(ba);
    l2h_free(bc);
    l2h_model_free(ma);
    l2h_model_free(mc);
done:
    l2h_online_free(a);
    l2h_online_free(c);
    l2h_dataset_free(pool);
    l2h_dataset_free(db);
}

/* Truncations and flipped bytes of a real checkpoint fail with a status, never crash. */
static void test_corrupt(void)
{
    char ck[160];
    path_of(ck, sizeof ck, "half", "ckpt");
    size_t len = 0;
    uint8_t *buf = slurp(ck, &len);
    CHECK(buf != NULL && len > 100);
    if (!buf) return;
    l2h_online *o = NULL;
    CHECK_OK(l2h_online_load_mem(&o, buf, len, "ckpt"));
    l2h_online_free(o);
    size_t failed = 0, tried = 0;
    for (size_t cut = 0; cut < len; cut += len / 37 + 1) {
        o = NULL;
        const l2h_status st = l2h_online_load_mem(&o, buf, cut, "cut");
        CHECK(st != L2H_OK && o == NULL);
        tried++;
        failed += st != L2H_OK;
    }
    uint8_t *mut = malloc(len);
    for (size_t i = 8; i < len; i += len / 53 + 1) {
        memcpy(mut, buf, len);
        mut[i] ^= 0x5A;
        o = NULL;
        const l2h_status st = l2h_online_load_mem(&o, mut, len, "flip");
        CHECK((st == L2H_OK) == (o != NULL));
        l2h_online_free(o);
    }
    CHECK_EQ_I(failed, tried);
    CHECK_STATUS(l2h_online_load(&o, "/nonexistent/l2h.ckpt"), L2H_ERR_IO);
    free(mut);
    free(buf);
}

/* The registry: every method listed with its option table; options set by name on a handle
 * reach the method (a changed option changes the run), are refused after begin, and unknown
 * names or bad values are errors naming the option. */
static void test_registry(void)
{
    const size_t n = l2h_online_method_count();
    CHECK(n >= 5);
    const char *const *names = l2h_online_methods();
    for (size_t i = 0; i < n; i++) {
        const l2h_method_info *mi = l2h_online_method_info(i);
        CHECK(mi != NULL && strcmp(names[i], mi->name) == 0);
        CHECK(l2h_online_method_find(mi->name) == mi);
        CHECK(mi->summary != NULL && mi->batch >= 1);
        l2h_online_params p = l2h_online_default_params();
        p.method = mi->name;
        l2h_online *o = NULL;
        CHECK_OK(l2h_online_create(&o, &p, DIM));
        for (size_t j = 0; o && j < mi->n_options; j++) { /* defaults read back as documented */
            char buf[64], want[64];
            const l2h_option_info *op = &mi->options[j];
            CHECK_OK(l2h_online_get_option(o, op->name, buf, sizeof buf));
            CHECK_OK(l2h_online_set_option(o, op->name, op->def));
            char full[96];
            snprintf(full, sizeof full, "%s.%s", mi->name, op->name);
            CHECK_OK(l2h_online_get_option(o, full, want, sizeof want));
            CHECK(strcmp(buf, want) == 0);
        }
        if (o) {
            CHECK_STATUS(l2h_online_set_option(o, "no_such_option", "1"), L2H_ERR_ARG);
            CHECK(strstr(l2h_last_error(), "no_such_option") != NULL);
        }
        l2h_online_free(o);
    }
    CHECK(l2h_online_method_info(n) == NULL && names[n] == NULL);
    /* a set option reaches the method: another step size, another mapping */
    l2h_dataset *pool = make_set(8, 300, true);
    const float *x = l2h_dataset_features(pool);
    const int32_t *y = l2h_dataset_labels(pool);
    l2h_online_params p = params_for("mihash", true);
    l2h_online *a = NULL, *b = NULL;
    CHECK_OK(l2h_online_create(&a, &p, DIM));
    CHECK_OK(l2h_online_create(&b, &p, DIM));
    if (a && b && pool) {
        CHECK_STATUS(l2h_online_set_option(b, "step", "abc"), L2H_ERR_ARG);
        CHECK_STATUS(l2h_online_set_option(b, "step", "inf"), L2H_ERR_ARG);
        CHECK_OK(l2h_online_set_option(b, "mihash.step", "0.25"));
        CHECK_OK(l2h_online_begin(a, x, y, 100, NULL));
        CHECK_OK(l2h_online_begin(b, x, y, 100, NULL));
        CHECK_STATUS(l2h_online_set_option(a, "step", "2"), L2H_ERR_STATE);
        CHECK_OK(l2h_online_push(a, x + 100 * DIM, y + 100, 200, NULL));
        CHECK_OK(l2h_online_push(b, x + 100 * DIM, y + 100, 200, NULL));
        size_t na, nb;
        const float *sa = l2h_model_params_const(a->cur_map, &na);
        const float *sb = l2h_model_params_const(b->cur_map, &nb);
        CHECK(na == nb && l2h_online_l1(sa, sb, na) > 1e-6);
    }
    l2h_online_free(a);
    l2h_online_free(b);
    l2h_dataset_free(pool);
}

static void cleanup(void)
{
    static const char *const tags[] = {"full", "resumed", "continued", "half", "push"};
    static const char *const what[] = {"model", "snap", "index", "ckpt"};
    for (size_t t = 0; t < 5; t++)
        for (size_t w = 0; w < 4; w++) {
            char p[160];
            path_of(p, sizeof p, tags[t], what[w]);
            (void)remove(p);
        }
    (void)rmdir(g_dir);
}

int main(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/l2h_ckpt_XXXXXX");
    if (mkdtemp(g_dir) == NULL) {
        fprintf(stderr, "cannot create a temporary directory\n");
        return 1;
    }
    test_registry();
    for (size_t i = 0; i < l2h_online_method_count(); i++) { /* every registered method */
        const char *m = l2h_online_method_info(i)->name;
        test_run_resume(m, true, 600, 300); /* two passes over the pool: 600 > 500 */
        test_push_resume(m, true);
    }
    test_push_resume("mihash", false);
    test_run_resume("okh", false, 300, 157);       /* unlabelled: Euclidean neighbours */
    test_run_resume("sketchhash", false, 300, 120);
    test_corrupt();
    cleanup();
    return check_report();
}
