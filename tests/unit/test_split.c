/* test_split.c -- reproducible splits: the documented algorithm (re-implemented here with the
 * project RNG, so a change of the draw order fails the test), counts, sorted lists,
 * disjointness, coverage, determinism and argument errors. */
#include "check.h"
#include "core.h"
#include "l2h/eval.h"
#include "l2h/io.h"

#include <string.h>

static int sorted_unique(const size_t *a, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (a[i - 1] >= a[i]) return 0;
    return 1;
}

static int contains(const size_t *a, size_t n, size_t v)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] == v) return 1;
    return 0;
}

static int same_split(const l2h_split *a, const l2h_split *b)
{
    if (l2h_split_n_query(a) != l2h_split_n_query(b) ||
        l2h_split_n_train(a) != l2h_split_n_train(b) || l2h_split_n_db(a) != l2h_split_n_db(b))
        return 0;
    return memcmp(l2h_split_query(a), l2h_split_query(b), l2h_split_n_query(a) * sizeof(size_t)) ==
               0 &&
           memcmp(l2h_split_train(a), l2h_split_train(b), l2h_split_n_train(a) * sizeof(size_t)) ==
               0 &&
           memcmp(l2h_split_db(a), l2h_split_db(b), l2h_split_n_db(a) * sizeof(size_t)) == 0;
}

/* Common invariants of the generated splits: sorted, query and db disjoint and covering all n
 * rows, train inside db. */
static void check_partition(const l2h_split *s, size_t n)
{
    const size_t nq = l2h_split_n_query(s), nt = l2h_split_n_train(s), nd = l2h_split_n_db(s);
    const size_t *q = l2h_split_query(s), *t = l2h_split_train(s), *d = l2h_split_db(s);
    CHECK(sorted_unique(q, nq));
    CHECK(sorted_unique(t, nt));
    CHECK(sorted_unique(d, nd));
    CHECK_EQ_I(nq + nd, n);
    uint8_t *seen = calloc(n, 1);
    int ok = 1;
    for (size_t i = 0; i < nq; i++)
        ok &= q[i] < n && !seen[q[i]]++;
    for (size_t i = 0; i < nd; i++)
        ok &= d[i] < n && !seen[d[i]]++;
    for (size_t i = 0; i < n; i++)
        ok &= seen[i] == 1;
    for (size_t i = 0; i < nt; i++)
        ok &= contains(d, nd, t[i]);
    CHECK(ok);
    free(seen);
}

/* Labels with classes of sizes 7, 9, 0 (an unused id), 12, 8 in shuffled row order. */
static l2h_dataset *labelled(size_t *n_out)
{
    static const size_t sizes[] = {7, 9, 0, 12, 8};
    size_t n = 0;
    for (size_t c = 0; c < 5; c++)
        n += sizes[c];
    int32_t *lab = malloc(n * sizeof *lab);
    size_t k = 0;
    for (size_t c = 0; c < 5; c++)
        for (size_t i = 0; i < sizes[c]; i++)
            lab[k++] = (int32_t)c;
    l2h_rng r;
    l2h_rng_seed(&r, 7);
    for (size_t i = n; i > 1; i--) { /* scramble the row order */
        const size_t j = (size_t)l2h_rng_below(&r, i);
        const int32_t tmp = lab[i - 1];
        lab[i - 1] = lab[j];
        lab[j] = tmp;
    }
    l2h_dataset *ds = NULL;
    CHECK_OK(l2h_dataset_create(&ds, n, 2, NULL));
    CHECK_OK(l2h_dataset_set_labels(ds, lab));
    free(lab);
    *n_out = n;
    return ds;
}

static void test_per_class(uint64_t seed)
{
    size_t n;
    l2h_dataset *ds = labelled(&n);
    const int32_t *lab = l2h_dataset_labels(ds);
    l2h_split *s = NULL, *s2 = NULL, *s3 = NULL;
    CHECK_OK(l2h_split_per_class(&s, ds, 2, 3, seed));
    CHECK_EQ_I(l2h_split_n_query(s), 2 * 4); /* 4 non-empty classes */
    CHECK_EQ_I(l2h_split_n_train(s), 3 * 4);
    CHECK_EQ_I(l2h_split_n_db(s), n - 8);
    check_partition(s, n);
    size_t per_q[5] = {0}, per_t[5] = {0};
    for (size_t i = 0; i < l2h_split_n_query(s); i++)
        per_q[lab[l2h_split_query(s)[i]]]++;
    for (size_t i = 0; i < l2h_split_n_train(s); i++)
        per_t[lab[l2h_split_train(s)[i]]]++;
    for (size_t c = 0; c < 5; c++) {
        CHECK_EQ_I(per_q[c], c == 2 ? 0 : 2);
        CHECK_EQ_I(per_t[c], c == 2 ? 0 : 3);
    }

    /* the documented algorithm, step by step */
    uint8_t *isq = calloc(n, 1), *ist = calloc(n, 1);
    size_t rows[32];
    l2h_rng r;
    l2h_rng_seed(&r, seed);
    for (int32_t c = 0; c < 5; c++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (lab[i] == c) rows[m++] = i;
        if (m == 0) continue;
        l2h_rng_shuffle(&r, rows, m);
        for (size_t k = 0; k < 2; k++)
            isq[rows[k]] = 1;
        for (size_t k = 2; k < 5; k++)
            ist[rows[k]] = 1;
    }
    int ok = 1;
    for (size_t i = 0; i < n; i++) {
        ok &= isq[i] == (uint8_t)contains(l2h_split_query(s), l2h_split_n_query(s), i);
        ok &= ist[i] == (uint8_t)contains(l2h_split_train(s), l2h_split_n_train(s), i);
    }
    CHECK(ok);
    free(isq);
    free(ist);

    CHECK_OK(l2h_split_per_class(&s2, ds, 2, 3, seed));
    CHECK(same_split(s, s2));
    CHECK_OK(l2h_split_per_class(&s3, ds, 2, 3, seed + 1));
    CHECK(!same_split(s, s3)); /* 4 classes x C(7..12, 2) choices: a collision is ~1e-5 */
    l2h_split_free(s);
    l2h_split_free(s2);
    l2h_split_free(s3);

    /* t = 0: no training rows; q + t equal to the smallest class is allowed */
    CHECK_OK(l2h_split_per_class(&s, ds, 7, 0, seed));
    CHECK_EQ_I(l2h_split_n_train(s), 0);
    CHECK_EQ_I(l2h_split_n_query(s), 28);
    check_partition(s, n);
    l2h_split_free(s);

    /* class 0 has 7 rows: 4 + 4 is too many, and the message names the class */
    s = (l2h_split *)1;
    CHECK_STATUS(l2h_split_per_class(&s, ds, 4, 4, seed), L2H_ERR_ARG);
    CHECK(s == NULL);
    CHECK(strstr(l2h_last_error(), "class 0 has 7 rows") != NULL);
    CHECK_STATUS(l2h_split_per_class(&s, ds, 5, 4, seed), L2H_ERR_ARG);
    CHECK(strstr(l2h_last_error(), "class 0") != NULL);
    CHECK_STATUS(l2h_split_per_class(&s, ds, 0, 4, seed), L2H_ERR_ARG);
    CHECK_STATUS(l2h_split_per_class(&s, ds, SIZE_MAX, 2, seed), L2H_ERR_ARG);
    CHECK_STATUS(l2h_split_per_class(&s, NULL, 1, 1, seed), L2H_ERR_ARG);
    CHECK_STATUS(l2h_split_per_class(NULL, ds, 1, 1, seed), L2H_ERR_ARG);
    l2h_dataset_free(ds);

    /* unlabelled and multi-label datasets are refused */
    CHECK_OK(l2h_dataset_create(&ds, 4, 1, NULL));
    CHECK_STATUS(l2h_split_per_class(&s, ds, 1, 0, seed), L2H_ERR_ARG);
    const uint8_t y[8] = {1, 0, 0, 1, 1, 1, 0, 0};
    CHECK_OK(l2h_dataset_set_multilabels(ds, 2, y));
    CHECK_STATUS(l2h_split_per_class(&s, ds, 1, 0, seed), L2H_ERR_ARG);
    l2h_dataset_free(ds);
}

static void test_random(uint64_t seed)
{
    const size_t n = 200;
    l2h_split *s = NULL, *s2 = NULL;
    CHECK_OK(l2h_split_random(&s, n, 30, 50, seed));
    CHECK_EQ_I(l2h_split_n_query(s), 30);
    CHECK_EQ_I(l2h_split_n_train(s), 50);
    CHECK_EQ_I(l2h_split_n_db(s), 170);
    check_partition(s, n);
    /* documented: one shuffle of 0..n-1, first 30 queries, next 50 training */
    size_t perm[200];
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    l2h_rng r;
    l2h_rng_seed(&r, seed);
    l2h_rng_shuffle(&r, perm, n);
    int ok = 1;
    for (size_t k = 0; k < 30; k++)
        ok &= contains(l2h_split_query(s), 30, perm[k]);
    for (size_t k = 30; k < 80; k++)
        ok &= contains(l2h_split_train(s), 50, perm[k]);
    CHECK(ok);
    CHECK_OK(l2h_split_random(&s2, n, 30, 50, seed));
    CHECK(same_split(s, s2));
    l2h_split_free(s2);
    CHECK_OK(l2h_split_random(&s2, n, 30, 50, seed ^ 0x55));
    CHECK(!same_split(s, s2));
    l2h_split_free(s2);
    l2h_split_free(s);

    CHECK_OK(l2h_split_random(&s, n, 10, 0, seed)); /* 0 = all the rest */
    CHECK_EQ_I(l2h_split_n_train(s), 190);
    CHECK(memcmp(l2h_split_train(s), l2h_split_db(s), 190 * sizeof(size_t)) == 0);
    check_partition(s, n);
    l2h_split_free(s);
    CHECK_OK(l2h_split_random(&s, 2, 1, 1, seed));
    check_partition(s, 2);
    l2h_split_free(s);

    CHECK_STATUS(l2h_split_random(&s, n, 0, 10, seed), L2H_ERR_ARG);
    CHECK_STATUS(l2h_split_random(&s, n, n, 0, seed), L2H_ERR_ARG);
    CHECK_STATUS(l2h_split_random(&s, n, 10, 191, seed), L2H_ERR_ARG);
    CHECK_STATUS(l2h_split_random(&s, 0, 1, 0, seed), L2H_ERR_ARG);
    CHECK(s == NULL);
}

static void test_holdout(void)
{
    l2h_split *s = NULL;
    CHECK_OK(l2h_split_holdout(&s, 10, 7));
    CHECK_EQ_I(l2h_split_n_query(s), 3);
    CHECK_EQ_I(l2h_split_n_train(s), 7);
    CHECK_EQ_I(l2h_split_n_db(s), 7);
    const size_t want_q[3] = {7, 8, 9}, want_d[7] = {0, 1, 2, 3, 4, 5, 6};
    CHECK(memcmp(l2h_split_query(s), want_q, sizeof want_q) == 0);
    CHECK(memcmp(l2h_split_db(s), want_d, sizeof want_d) == 0);
    CHECK(memcmp(l2h_split_train(s), want_d, sizeof want_d) == 0);
    check_partition(s, 10);
    l2h_split_free(s);
    CHECK_STATUS(l2h_split_holdout(&s, 10, 0), L2H_ERR_ARG);
    CHECK_STATUS(l2h_split_holdout(&s, 10, 10), L2H_ERR_ARG);
    CHECK_STATUS(l2h_split_holdout(&s, 10, 11), L2H_ERR_ARG);
    CHECK_STATUS(l2h_split_holdout(NULL, 10, 5), L2H_ERR_ARG);
}

static void test_lists(void)
{
    l2h_split *s = NULL;
    const size_t q[3] = {9, 2, 5}, t[2] = {4, 0}, d[5] = {8, 0, 4, 1, 5};
    CHECK_OK(l2h_split_from_lists(&s, 10, q, 3, t, 2, d, 5));
    const size_t sq[3] = {2, 5, 9}, st[2] = {0, 4}, sd[5] = {0, 1, 4, 5, 8};
    CHECK_EQ_I(l2h_split_n_query(s), 3);
    CHECK_EQ_I(l2h_split_n_train(s), 2);
    CHECK_EQ_I(l2h_split_n_db(s), 5);
    CHECK(memcmp(l2h_split_query(s), sq, sizeof sq) == 0); /* copied and sorted */
    CHECK(memcmp(l2h_split_train(s), st, sizeof st) == 0);
    CHECK(memcmp(l2h_split_db(s), sd, sizeof sd) == 0);
    l2h_split_free(s);
    CHECK_OK(l2h_split_from_lists(&s, 10, q, 3, NULL, 0, d, 5)); /* no training list */
    CHECK_EQ_I(l2h_split_n_train(s), 0);
    l2h_split_free(s);

    const size_t dup[3] = {1, 7, 1}, big[2] = {3, 10};
    s = (l2h_split *)1;
    CHECK_STATUS(l2h_split_from_lists(&s, 10, dup, 3, t, 2, d, 5), L2H_ERR_ARG);
    CHECK(s == NULL);
    CHECK(strstr(l2h_last_error(), "row 1 appears twice") != NULL);
    CHECK_STATUS(l2h_split_from_lists(&s, 10, q, 3, dup, 3, d, 5), L2H_ERR_ARG);
    CHECK_STATUS(l2h_split_from_lists(&s, 10, q, 3, t, 2, dup, 3), L2H_ERR_ARG);
    CHECK_STATUS(l2h_split_from_lists(&s, 10, big, 2, t, 2, d, 5), L2H_ERR_ARG);
    CHECK(strstr(l2h_last_error(), "10 is not < 10") != NULL);
    CHECK_STATUS(l2h_split_from_lists(&s, 10, q, 0, t, 2, d, 5), L2H_ERR_ARG);
    CHECK_STATUS(l2h_split_from_lists(&s, 10, q, 3, t, 2, d, 0), L2H_ERR_ARG);
    CHECK_STATUS(l2h_split_from_lists(&s, 10, NULL, 3, t, 2, d, 5), L2H_ERR_ARG);
    CHECK(s == NULL);

    /* accessors accept NULL */
    CHECK_EQ_I(l2h_split_n_query(NULL), 0);
    CHECK(l2h_split_db(NULL) == NULL);
    l2h_split_free(NULL);
}

int main(void)
{
    const uint64_t seed = test_seed();
    test_per_class(seed);
    test_per_class(seed + 12345);
    test_random(seed);
    test_holdout();
    test_lists();
    return check_report();
}
