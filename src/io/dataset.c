/* dataset.c -- the in-memory dataset: features [n, dim] plus optional labels. */
#include "io_internal.h"

#include <string.h>

l2h_status l2h_dataset_create(l2h_dataset **out, size_t n, size_t dim, const float *x)
{
    L2H_FAIL_IF(out == NULL, L2H_ERR_ARG, "dataset: NULL output");
    *out = NULL;
    L2H_FAIL_IF(dim == 0, L2H_ERR_ARG, "dataset: dimension must be > 0");
    size_t count;
    L2H_FAIL_IF(!l2h_mul_ok(n, dim, &count) || count > SIZE_MAX / sizeof(float), L2H_ERR_ARG,
                "dataset: %zu x %zu is too large", n, dim);
    l2h_dataset *ds = l2h_calloc(1, sizeof *ds);
    L2H_NOMEM_IF_NULL(ds);
    ds->x = x ? l2h_malloc(count * sizeof(float)) : l2h_calloc(count, sizeof(float));
    if (!ds->x) {
        l2h_free(ds);
        L2H_FAIL(L2H_ERR_NOMEM, "dataset: out of memory for %zu x %zu floats", n, dim);
    }
    if (x && count) memcpy(ds->x, x, count * sizeof(float));
    ds->n = n;
    ds->dim = dim;
    *out = ds;
    return L2H_OK;
}

static void drop_labels(l2h_dataset *ds)
{
    l2h_free(ds->labels);
    l2h_free(ds->multi);
    ds->labels = NULL;
    ds->multi = NULL;
    ds->label_kind = L2H_LABELS_NONE;
    ds->n_labels = 0;
}

/* Class ids index per-class tables (counts, per-class sampling, label histograms) whose size
 * is the largest id + 1. An id far above the row count would make those tables huge from a tiny
 * file (one label of 2^30 in 100 rows cost 8.4 GB), so ids are bounded by the larger of the row
 * count and L2H_MAX_CLASS_FLOOR; sparse ids beyond that must be renumbered by the caller. */
#define L2H_MAX_CLASS_FLOOR ((size_t)1 << 16)

l2h_status l2h_dataset_set_labels_named(l2h_dataset *ds, const int32_t *labels, const char *name)
{
    L2H_FAIL_IF(ds == NULL || (labels == NULL && ds->n > 0), L2H_ERR_ARG, "%s: NULL input", name);
    const size_t bound = ds->n > L2H_MAX_CLASS_FLOOR ? ds->n : L2H_MAX_CLASS_FLOOR;
    size_t n_classes = 0; /* largest id + 1, in size_t: id 2^31 - 1 does not overflow */
    for (size_t i = 0; i < ds->n; i++) {
        L2H_FAIL_IF(labels[i] < 0, L2H_ERR_ARG, "%s: row %zu has negative class %d", name, i,
                    (int)labels[i]);
        L2H_FAIL_IF((size_t)labels[i] >= bound, L2H_ERR_ARG,
                    "%s: row %zu has class id %d; class ids must be below %zu (the larger of "
                    "the row count and %zu): renumber the classes 0, 1, 2, ...",
                    name, i, (int)labels[i], bound, L2H_MAX_CLASS_FLOOR);
        if ((size_t)labels[i] + 1 > n_classes) n_classes = (size_t)labels[i] + 1;
    }
    int32_t *copy = l2h_malloc_array(ds->n, sizeof *copy);
    L2H_NOMEM_IF_NULL(copy);
    if (ds->n) memcpy(copy, labels, ds->n * sizeof *copy);
    drop_labels(ds);
    ds->labels = copy;
    ds->label_kind = L2H_LABELS_SINGLE;
    ds->n_labels = n_classes;
    return L2H_OK;
}

l2h_status l2h_dataset_set_labels(l2h_dataset *ds, const int32_t *labels)
{
    return l2h_dataset_set_labels_named(ds, labels, "labels");
}

l2h_status l2h_dataset_set_multilabels(l2h_dataset *ds, size_t n_labels, const uint8_t *y)
{
    L2H_FAIL_IF(ds == NULL || n_labels == 0 || (y == NULL && ds->n > 0), L2H_ERR_ARG,
                "multi-labels: need a dataset, L > 0 and data");
    size_t count;
    L2H_FAIL_IF(!l2h_mul_ok(ds->n, n_labels, &count), L2H_ERR_ARG, "multi-labels: too large");
    for (size_t i = 0; i < count; i++)
        L2H_FAIL_IF(y[i] > 1, L2H_ERR_ARG, "multi-labels: row %zu column %zu is %u, not 0/1",
                    i / n_labels, i % n_labels, (unsigned)y[i]);
    uint8_t *copy = l2h_malloc(count);
    L2H_NOMEM_IF_NULL(copy);
    if (count) memcpy(copy, y, count);
    drop_labels(ds);
    ds->multi = copy;
    ds->label_kind = L2H_LABELS_MULTI;
    ds->n_labels = n_labels;
    return L2H_OK;
}

l2h_status l2h_dataset_subset(l2h_dataset **out, const l2h_dataset *ds, const size_t *rows,
                              size_t n)
{
    L2H_FAIL_IF(out == NULL || ds == NULL || (rows == NULL && n > 0), L2H_ERR_ARG,
                "subset: NULL argument");
    *out = NULL;
    for (size_t i = 0; i < n; i++)
        L2H_FAIL_IF(rows[i] >= ds->n, L2H_ERR_ARG, "subset: row %zu out of range (n = %zu)",
                    rows[i], ds->n);
    l2h_dataset *s;
    L2H_TRY(l2h_dataset_create(&s, n, ds->dim, NULL));
    for (size_t i = 0; i < n; i++)
        memcpy(s->x + i * ds->dim, ds->x + rows[i] * ds->dim, ds->dim * sizeof(float));
    if (ds->label_kind == L2H_LABELS_SINGLE) {
        s->labels = l2h_malloc_array(n, sizeof(int32_t));
        if (!s->labels) goto nomem;
        for (size_t i = 0; i < n; i++) s->labels[i] = ds->labels[rows[i]];
    } else if (ds->label_kind == L2H_LABELS_MULTI) {
        s->multi = l2h_malloc_array(n, ds->n_labels);
        if (!s->multi) goto nomem;
        for (size_t i = 0; i < n; i++)
            memcpy(s->multi + i * ds->n_labels, ds->multi + rows[i] * ds->n_labels,
                   ds->n_labels);
    }
    s->label_kind = ds->label_kind;
    s->n_labels = ds->n_labels; /* keeps the class count of the parent */
    *out = s;
    return L2H_OK;
nomem:
    l2h_dataset_free(s);
    L2H_FAIL(L2H_ERR_NOMEM, "subset: out of memory");
}

void l2h_dataset_free(l2h_dataset *ds)
{
    if (!ds) return;
    drop_labels(ds);
    l2h_free(ds->x);
    l2h_free(ds);
}

size_t l2h_dataset_n(const l2h_dataset *ds)
{
    return ds->n;
}
size_t l2h_dataset_dim(const l2h_dataset *ds)
{
    return ds->dim;
}
const float *l2h_dataset_features(const l2h_dataset *ds)
{
    return ds->x;
}
float *l2h_dataset_features_mut(l2h_dataset *ds)
{
    return ds->x;
}
l2h_label_kind l2h_dataset_label_kind(const l2h_dataset *ds)
{
    return ds->label_kind;
}
size_t l2h_dataset_n_labels(const l2h_dataset *ds)
{
    return ds->n_labels;
}
const int32_t *l2h_dataset_labels(const l2h_dataset *ds)
{
    return ds->labels;
}
const uint8_t *l2h_dataset_multilabels(const l2h_dataset *ds)
{
    return ds->multi;
}
