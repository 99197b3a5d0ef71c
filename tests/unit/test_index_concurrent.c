/* test_index_concurrent.c -- searches from several threads while a writer adds, removes and
 * replaces codes, for the flat and the MIH kinds. The writer only ever changes whole groups of
 * G ids that share one code, so a reader that saw a half-applied call would find a group with
 * fewer than G members, or members at different distances. Readers also check ordering.
 *
 * Meant for the thread sanitizer as well:
 *   cmake --preset tsan && cmake --build --preset tsan --target test_index_concurrent &&
 *   ctest --preset tsan -R test_index_concurrent
 * (searches run with one OpenMP thread here, since libgomp is not instrumented). */
#include "check.h"

#include "../../src/index/index_mih.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

enum { BITS = 64, G = 8, MAX_GROUPS = 4096, WRITER_OPS = 240, READERS = 2 };

typedef struct shared {
    l2h_index *ix;
    atomic_int writer_done;
    atomic_int bad;
    atomic_long reads;
    uint64_t seed;
} shared;

/* Checks one range result (radius = everything) for whole, equidistant groups and order. */
static int check_groups(const int32_t *d, const l2h_id *id, size_t n)
{
    static _Thread_local int32_t gdist[MAX_GROUPS];
    static _Thread_local uint8_t gcount[MAX_GROUPS];
    memset(gcount, 0, sizeof gcount);
    for (size_t i = 0; i < n; i++) {
        if (id[i] < 0 || id[i] >= (l2h_id)MAX_GROUPS * G) return 0;
        if (i > 0 && (d[i] < d[i - 1] || (d[i] == d[i - 1] && id[i] <= id[i - 1]))) return 0;
        const size_t g = (size_t)id[i] / G;
        if (gcount[g] && gdist[g] != d[i]) return 0; /* half-applied replace */
        gdist[g] = d[i];
        gcount[g]++;
    }
    for (size_t g = 0; g < MAX_GROUPS; g++)
        if (gcount[g] != 0 && gcount[g] != G) return 0; /* half-applied add or remove */
    return 1;
}

static void *reader(void *arg)
{
    shared *sh = arg;
    l2h_rng r;
    l2h_rng_seed(&r, sh->seed);
    int32_t d[3 * G];
    l2h_id id[3 * G];
    long iters = 0;
    while (!atomic_load(&sh->writer_done) || iters < 20) {
        uint8_t q[BITS / 8];
        for (size_t i = 0; i < sizeof q; i++) q[i] = (uint8_t)l2h_rng_next(&r);
        l2h_range_result *rr = NULL;
        if (l2h_index_range_search(sh->ix, q, 1, BITS, &rr) != L2H_OK) {
            atomic_store(&sh->bad, 1);
            break;
        }
        const size_t *lims = l2h_range_result_lims(rr);
        if (!check_groups(l2h_range_result_dists(rr), l2h_range_result_ids(rr), lims[1]))
            atomic_store(&sh->bad, 2);
        l2h_range_result_free(rr);
        /* k-NN: ordered; members of a group seen at one distance */
        if (l2h_index_search(sh->ix, q, 1, 3 * G, d, id) != L2H_OK) atomic_store(&sh->bad, 3);
        for (size_t i = 1; i < 3 * G; i++)
            if (id[i] >= 0 && (d[i] < d[i - 1] || (d[i] == d[i - 1] && id[i] <= id[i - 1])))
                atomic_store(&sh->bad, 4);
        for (size_t i = 0; i < 3 * G; i++)
            for (size_t j = i + 1; j < 3 * G; j++)
                if (id[i] >= 0 && id[j] >= 0 && id[i] / G == id[j] / G && d[i] != d[j])
                    atomic_store(&sh->bad, 5);
        (void)l2h_index_size(sh->ix);
        iters++;
        atomic_fetch_add(&sh->reads, 1);
    }
    return NULL;
}

static void group_codes(uint8_t *codes, l2h_id *ids, size_t g, l2h_rng *r)
{
    uint8_t c[BITS / 8];
    for (size_t i = 0; i < sizeof c; i++) c[i] = (uint8_t)l2h_rng_next(r);
    for (size_t j = 0; j < G; j++) {
        memcpy(codes + j * sizeof c, c, sizeof c);
        if (ids) ids[j] = (l2h_id)(g * G + j);
    }
}

static void run(l2h_index_kind kind)
{
    l2h_index_params p = l2h_index_default_params(BITS);
    p.kind = kind;
    shared sh = {.ix = NULL, .seed = test_seed()};
    atomic_init(&sh.writer_done, 0);
    atomic_init(&sh.bad, 0);
    atomic_init(&sh.reads, 0);
    CHECK_OK(l2h_index_create(&sh.ix, &p));
    l2h_rng r;
    l2h_rng_seed(&r, sh.seed + 99);
    uint8_t codes[G * BITS / 8];
    l2h_id ids[G];
    uint8_t present[MAX_GROUPS] = {0};
    size_t next = 0;
    for (; next < 40; next++) {
        group_codes(codes, ids, next, &r);
        CHECK_OK(l2h_index_add(sh.ix, codes, ids, G));
        present[next] = 1;
    }
    pthread_t th[READERS];
    for (int i = 0; i < READERS; i++) {
        l2h_rng_seed(&r, sh.seed + (uint64_t)i);
        CHECK(pthread_create(&th[i], NULL, reader, &sh) == 0);
    }
    int wfail = 0;
    /* at least WRITER_OPS changes, and go on until the readers have searched a while */
    for (int op = 0; op < WRITER_OPS || atomic_load(&sh.reads) < 300; op++) {
        const size_t g = (size_t)l2h_rng_below(&r, next);
        const int what = (int)l2h_rng_below(&r, 3);
        if (what == 0 && next < MAX_GROUPS) {
            group_codes(codes, ids, next, &r);
            if (l2h_index_add(sh.ix, codes, ids, G) != L2H_OK) wfail++;
            present[next++] = 1;
        } else if (what == 1 && present[g]) {
            group_codes(codes, ids, g, &r);
            size_t removed = 0;
            if (l2h_index_remove(sh.ix, ids, G, &removed) != L2H_OK || removed != G) wfail++;
            present[g] = 0;
        } else if (present[g]) {
            group_codes(codes, ids, g, &r);
            if (l2h_index_replace(sh.ix, ids, codes, G) != L2H_OK) wfail++;
        }
    }
    atomic_store(&sh.writer_done, 1);
    for (int i = 0; i < READERS; i++) pthread_join(th[i], NULL);
    CHECK_EQ_I(wfail, 0);
    CHECK_EQ_I(atomic_load(&sh.bad), 0);
    CHECK(atomic_load(&sh.reads) >= 300);
    size_t live = 0;
    for (size_t g = 0; g < next; g++) live += present[g];
    CHECK_EQ_I(l2h_index_size(sh.ix), live * G);
    l2h_index_free(sh.ix);
}

int main(void)
{
    test_seed();
    l2h_set_threads(1);
    /* tables on tiny data, rebuilt often; generous budget so the tables answer */
    const l2h_mih_tuning t = {.min_rows = 1, .budget_scale = 1e4, .tail_min = 16};
    l2h_mih_set_tuning(&t);
    run(L2H_INDEX_FLAT);
    run(L2H_INDEX_MIH);
    l2h_mih_set_tuning(NULL);
    return check_report();
}
