/* eval_split.c -- reproducible query / training / database splits.
 *
 * Every split is built as a role per row (query, training, database member) and then emitted by
 * scanning rows in ascending order, so the three index lists are always sorted ascending and
 * the cost is O(n). Random choices (docs/evaluation.md, "Splits"):
 *   per class: one l2h_rng seeded with `seed`; for class ids c = 0, 1, ... in increasing order
 *              (ids without rows are skipped), the rows of class c in ascending order are
 *              shuffled with l2h_rng_shuffle (Fisher-Yates); the first q become queries, the
 *              next t training rows.
 *   random:    rows 0..n-1 shuffled once by l2h_rng seeded with `seed`; the first n_query are
 *              queries, the next n_train (or all the rest) training rows.
 * The database is always every non-query row, except for explicit lists. */
#include "core.h"
#include "l2h/eval.h"

#include <string.h>

struct l2h_split {
    size_t n_query, n_train, n_db;
    size_t *query, *train, *db; /* sorted ascending */
};

enum { ROLE_DB = 1, ROLE_QUERY = 2, ROLE_TRAIN = 4 };

void l2h_split_free(l2h_split *s)
{
    if (!s) return;
    l2h_free(s->query);
    l2h_free(s->train);
    l2h_free(s->db);
    l2h_free(s);
}

size_t l2h_split_n_query(const l2h_split *s)
{
    return s ? s->n_query : 0;
}
size_t l2h_split_n_train(const l2h_split *s)
{
    return s ? s->n_train : 0;
}
size_t l2h_split_n_db(const l2h_split *s)
{
    return s ? s->n_db : 0;
}
const size_t *l2h_split_query(const l2h_split *s)
{
    return s ? s->query : NULL;
}
const size_t *l2h_split_train(const l2h_split *s)
{
    return s ? s->train : NULL;
}
const size_t *l2h_split_db(const l2h_split *s)
{
    return s ? s->db : NULL;
}

/* Builds the split from role bits role[n]; rows with a bit go to that list, in row order. */
static l2h_status from_roles(l2h_split **out, const uint8_t *role, size_t n)
{
    size_t nq = 0, nt = 0, nd = 0;
    for (size_t i = 0; i < n; i++) {
        nq += (role[i] & ROLE_QUERY) != 0;
        nt += (role[i] & ROLE_TRAIN) != 0;
        nd += (role[i] & ROLE_DB) != 0;
    }
    L2H_FAIL_IF(nq == 0, L2H_ERR_ARG, "split: no query rows");
    L2H_FAIL_IF(nd == 0, L2H_ERR_ARG, "split: no database rows");
    l2h_split *s = l2h_calloc(1, sizeof *s);
    L2H_NOMEM_IF_NULL(s);
    s->query = l2h_malloc_array(nq, sizeof(size_t));
    s->train = l2h_malloc_array(nt ? nt : 1, sizeof(size_t));
    s->db = l2h_malloc_array(nd, sizeof(size_t));
    if (!s->query || !s->train || !s->db) {
        l2h_split_free(s);
        L2H_FAIL(L2H_ERR_NOMEM, "split: out of memory for %zu rows", n);
    }
    for (size_t i = 0; i < n; i++) {
        if (role[i] & ROLE_QUERY) s->query[s->n_query++] = i;
        if (role[i] & ROLE_TRAIN) s->train[s->n_train++] = i;
        if (role[i] & ROLE_DB) s->db[s->n_db++] = i;
    }
    *out = s;
    return L2H_OK;
}

/* Assigns roles for split 1: returns L2H_ERR_ARG naming the first class that is too small. */
static l2h_status per_class_roles(const int32_t *lab, size_t n, size_t n_classes, size_t q,
                                  size_t t, uint64_t seed, uint8_t *role, size_t *start,
                                  size_t *rows)
{
    /* counting sort of the rows by class, stable: rows[start[c] .. start[c+1]) ascending */
    memset(start, 0, (n_classes + 1) * sizeof *start);
    for (size_t i = 0; i < n; i++) {
        L2H_FAIL_IF(lab[i] < 0 || (size_t)lab[i] >= n_classes, L2H_ERR_ARG,
                    "split per class: row %zu has label %d outside 0..%zu", i, (int)lab[i],
                    n_classes - 1);
        start[(size_t)lab[i] + 1]++;
    }
    for (size_t c = 0; c < n_classes; c++)
        start[c + 1] += start[c];
    for (size_t c = 0; c < n_classes; c++) {
        const size_t have = start[c + 1] - start[c];
        L2H_FAIL_IF(have > 0 && have < q + t, L2H_ERR_ARG,
                    "split per class: class %zu has %zu rows, %zu queries + %zu training rows "
                    "requested",
                    c, have, q, t);
    }
    size_t *fill = l2h_malloc_array(n_classes, sizeof *fill);
    L2H_NOMEM_IF_NULL(fill);
    memcpy(fill, start, n_classes * sizeof *fill);
    for (size_t i = 0; i < n; i++)
        rows[fill[lab[i]]++] = i;
    l2h_free(fill);

    l2h_rng r;
    l2h_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++)
        role[i] = ROLE_DB;
    for (size_t c = 0; c < n_classes; c++) {
        size_t *cr = rows + start[c];
        const size_t have = start[c + 1] - start[c];
        if (have == 0) continue;
        l2h_rng_shuffle(&r, cr, have);
        for (size_t k = 0; k < q; k++)
            role[cr[k]] = ROLE_QUERY;
        for (size_t k = q; k < q + t; k++)
            role[cr[k]] = ROLE_DB | ROLE_TRAIN;
    }
    return L2H_OK;
}

l2h_status l2h_split_per_class(l2h_split **out, const l2h_dataset *ds, size_t q_per_class,
                               size_t t_per_class, uint64_t seed)
{
    L2H_FAIL_IF(out == NULL || ds == NULL, L2H_ERR_ARG, "split per class: NULL argument");
    *out = NULL;
    L2H_FAIL_IF(l2h_dataset_label_kind(ds) != L2H_LABELS_SINGLE, L2H_ERR_ARG,
                "split per class needs single labels (the dataset has %s)",
                l2h_dataset_label_kind(ds) == L2H_LABELS_MULTI ? "multi-labels" : "no labels");
    L2H_FAIL_IF(q_per_class == 0, L2H_ERR_ARG, "split per class: 0 queries per class");
    L2H_FAIL_IF(t_per_class > SIZE_MAX - q_per_class, L2H_ERR_ARG,
                "split per class: q + t overflows");
    const size_t n = l2h_dataset_n(ds), n_classes = l2h_dataset_n_labels(ds);
    L2H_FAIL_IF(n == 0 || n_classes == 0, L2H_ERR_ARG, "split per class: empty dataset");
    uint8_t *role = l2h_malloc(n);
    size_t *start = l2h_malloc_array(n_classes + 1, sizeof *start);
    size_t *rows = l2h_malloc_array(n, sizeof *rows);
    l2h_status st = L2H_OK;
    if (!role || !start || !rows) L2H_FAIL_GOTO(L2H_ERR_NOMEM, "split per class: out of memory");
    L2H_CHECK_GOTO(per_class_roles(l2h_dataset_labels(ds), n, n_classes, q_per_class, t_per_class,
                                   seed, role, start, rows));
    L2H_CHECK_GOTO(from_roles(out, role, n));
done:
    l2h_free(role);
    l2h_free(start);
    l2h_free(rows);
    return st;
}

l2h_status l2h_split_random(l2h_split **out, size_t n, size_t n_query, size_t n_train,
                            uint64_t seed)
{
    L2H_FAIL_IF(out == NULL, L2H_ERR_ARG, "split random: out is NULL");
    *out = NULL;
    L2H_FAIL_IF(n_query == 0 || n_query >= n, L2H_ERR_ARG,
                "split random: %zu queries from %zu rows (need 1 <= queries < rows)", n_query, n);
    L2H_FAIL_IF(n_train > n - n_query, L2H_ERR_ARG,
                "split random: %zu training rows requested, only %zu non-query rows", n_train,
                n - n_query);
    const size_t nt = n_train ? n_train : n - n_query;
    uint8_t *role = l2h_malloc(n);
    size_t *perm = l2h_malloc_array(n, sizeof *perm);
    l2h_status st = L2H_OK;
    if (!role || !perm) L2H_FAIL_GOTO(L2H_ERR_NOMEM, "split random: out of memory");
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    l2h_rng r;
    l2h_rng_seed(&r, seed);
    l2h_rng_shuffle(&r, perm, n);
    for (size_t i = 0; i < n; i++)
        role[i] = ROLE_DB;
    for (size_t k = 0; k < n_query; k++)
        role[perm[k]] = ROLE_QUERY;
    for (size_t k = n_query; k < n_query + nt; k++)
        role[perm[k]] = ROLE_DB | ROLE_TRAIN;
    L2H_CHECK_GOTO(from_roles(out, role, n));
done:
    l2h_free(role);
    l2h_free(perm);
    return st;
}

l2h_status l2h_split_holdout(l2h_split **out, size_t n, size_t first_test)
{
    L2H_FAIL_IF(out == NULL, L2H_ERR_ARG, "split holdout: out is NULL");
    *out = NULL;
    L2H_FAIL_IF(first_test == 0 || first_test >= n, L2H_ERR_ARG,
                "split holdout: first test row %zu with %zu rows (need 0 < first < rows)",
                first_test, n);
    uint8_t *role = l2h_malloc(n);
    L2H_NOMEM_IF_NULL(role);
    for (size_t i = 0; i < n; i++)
        role[i] = i < first_test ? ROLE_DB | ROLE_TRAIN : ROLE_QUERY;
    const l2h_status st = from_roles(out, role, n);
    l2h_free(role);
    return st;
}

/* Marks `bit` for each row of list[m]; L2H_ERR_ARG for rows >= n or repeated rows. */
static l2h_status mark_list(uint8_t *role, size_t n, const size_t *list, size_t m, uint8_t bit,
                            const char *name)
{
    L2H_FAIL_IF(m > 0 && list == NULL, L2H_ERR_ARG, "split from lists: %s list is NULL", name);
    for (size_t k = 0; k < m; k++) {
        const size_t i = list[k];
        L2H_FAIL_IF(i >= n, L2H_ERR_ARG, "split from lists: %s[%zu] = %zu is not < %zu rows", name,
                    k, i, n);
        L2H_FAIL_IF(role[i] & bit, L2H_ERR_ARG,
                    "split from lists: row %zu appears twice in the %s list (at %zu)", i, name, k);
        role[i] |= bit;
    }
    return L2H_OK;
}

l2h_status l2h_split_from_lists(l2h_split **out, size_t n, const size_t *query, size_t n_query,
                                const size_t *train, size_t n_train, const size_t *db, size_t n_db)
{
    L2H_FAIL_IF(out == NULL, L2H_ERR_ARG, "split from lists: out is NULL");
    *out = NULL;
    L2H_FAIL_IF(n_query == 0 || n_db == 0, L2H_ERR_ARG,
                "split from lists: %zu queries and %zu database rows (both must be > 0)", n_query,
                n_db);
    uint8_t *role = l2h_calloc(n ? n : 1, 1);
    L2H_NOMEM_IF_NULL(role);
    l2h_status st;
    L2H_CHECK_GOTO(mark_list(role, n, query, n_query, ROLE_QUERY, "query"));
    L2H_CHECK_GOTO(mark_list(role, n, train, n_train, ROLE_TRAIN, "train"));
    L2H_CHECK_GOTO(mark_list(role, n, db, n_db, ROLE_DB, "db"));
    L2H_CHECK_GOTO(from_roles(out, role, n));
done:
    l2h_free(role);
    return st;
}
