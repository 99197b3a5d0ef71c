/* fuzz_io_check.h -- invariants shared by the io fuzz targets (fuzz_npy.c, fuzz_vecs.c,
 * fuzz_idx.c, fuzz_arff.c, fuzz_rawmat.c). Any input must either be refused with a status whose
 * message starts with the buffer's name, or give a dataset whose shape is non-empty, whose
 * features are all finite and whose labels are consistent. Violations abort(), which libFuzzer
 * and the regression driver report as a crash. */
#ifndef L2H_FUZZ_IO_CHECK_H
#define L2H_FUZZ_IO_CHECK_H

#include "l2h/io.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline void fuzz_check_failure(l2h_status st, const char *name)
{
    if (st == L2H_ERR_NOMEM) return;
    if (strncmp(l2h_last_error(), name, strlen(name)) != 0) abort();
}

static inline void fuzz_check_dataset(const l2h_dataset *ds)
{
    const size_t n = l2h_dataset_n(ds), dim = l2h_dataset_dim(ds);
    if (n == 0 || dim == 0) abort();
    const float *x = l2h_dataset_features(ds);
    for (size_t i = 0; i < n * dim; i++)
        if (!isfinite(x[i])) abort();
    const l2h_label_kind k = l2h_dataset_label_kind(ds);
    if (k == L2H_LABELS_MULTI) {
        const uint8_t *y = l2h_dataset_multilabels(ds);
        for (size_t i = 0; i < n * l2h_dataset_n_labels(ds); i++)
            if (y[i] > 1) abort();
    } else if (k == L2H_LABELS_SINGLE) {
        const int32_t *y = l2h_dataset_labels(ds);
        for (size_t i = 0; i < n; i++)
            if (y[i] < 0 || (size_t)y[i] >= l2h_dataset_n_labels(ds)) abort();
    } else if (l2h_dataset_labels(ds) || l2h_dataset_multilabels(ds)) {
        abort();
    }
}

/* Reads features; returns the row count (0 if refused). */
static inline size_t fuzz_read(const uint8_t *data, size_t size, const char *name, l2h_format f,
                        size_t dim, size_t n_labels, size_t max_rows)
{
    l2h_read_params p = l2h_read_default_params();
    p.format = f;
    p.dim = dim;
    p.n_labels = n_labels;
    p.max_rows = max_rows;
    l2h_dataset *ds = NULL;
    const l2h_status st = l2h_dataset_read_mem(&ds, data, size, name, &p);
    if (st != L2H_OK) {
        if (ds != NULL) abort();
        fuzz_check_failure(st, name);
        return 0;
    }
    fuzz_check_dataset(ds);
    if (max_rows && l2h_dataset_n(ds) > max_rows) abort();
    const size_t n = l2h_dataset_n(ds);
    l2h_dataset_free(ds);
    return n;
}

/* Reads the same bytes as labels for a dataset of n rows. */
static inline void fuzz_labels(const uint8_t *data, size_t size, const char *name, l2h_format f,
                        size_t dim, size_t n)
{
    l2h_dataset *ds = NULL;
    if (l2h_dataset_create(&ds, n ? n : 1, 1, NULL) != L2H_OK) return;
    l2h_read_params p = l2h_read_default_params();
    p.format = f;
    p.dim = dim;
    const l2h_status st = l2h_dataset_read_labels_mem(ds, data, size, name, &p);
    if (st != L2H_OK) {
        fuzz_check_failure(st, name);
        if (l2h_dataset_label_kind(ds) != L2H_LABELS_NONE) abort(); /* untouched on failure */
    } else {
        if (l2h_dataset_label_kind(ds) == L2H_LABELS_NONE) abort();
        fuzz_check_dataset(ds);
    }
    l2h_dataset_free(ds);
}

#endif
