/* SPDX-License-Identifier: MIT (see LICENSE) */
/* l2h/io.h -- data in: feature matrices and labels from the formats people already use.
 *
 * A dataset is n rows of `dim` float32 features plus optional labels: single-label (one int32
 * class id >= 0 per row) or multi-label (n x n_labels matrix of 0/1). Every reader checks sizes
 * against the file before reading, rejects truncated, oversized, inconsistent or malformed input
 * with L2H_ERR_FORMAT and a message that starts with the file name, and never reads out of bounds.
 *
 * Formats (l2h_format):
 *   FVECS/IVECS/BVECS  per row: int32 dim (little endian), then dim float32 / int32 / uint8
 *   NPY                numpy .npy v1/v2/v3, C order, dtypes <f4 <f8 <f2 |u1 <i4 <i8 (and |b1 for
 *                      multi-labels); 1-D (labels), 2-D, or n x ... (flattened to n rows).
 *                      Fortran order, big endian, object, string and structured dtypes are
 *                      rejected as L2H_ERR_UNSUPPORTED.
 *   IDX                MNIST IDX (ubyte images n x r x c -> n x r*c features; ubyte labels),
 *                      plain or gzip-compressed (detected by content, not by name)
 *   F32/F16/U8         headerless row-major matrices; `dim` must be given
 *   ARFF               dense ARFF (Weka / Mulan), numeric attributes; the last `n_labels`
 *                      attributes are 0/1 labels (multi-label dataset)
 *   AUTO               by file extension: .fvecs .ivecs .bvecs .npy .idx/-ubyte(.gz) .arff
 *                      .f32 .f16 .u8
 * Float features must be finite: NaN or Inf is L2H_ERR_NUMERIC naming the file, row and column.
 * docs/io.md gives every rule and what is rejected. */
#ifndef L2H_IO_H
#define L2H_IO_H

#include "l2h/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct l2h_dataset l2h_dataset;

typedef enum l2h_format {
    L2H_FORMAT_AUTO  = 0,
    L2H_FORMAT_FVECS = 1,
    L2H_FORMAT_IVECS = 2,
    L2H_FORMAT_BVECS = 3,
    L2H_FORMAT_NPY   = 4,
    L2H_FORMAT_IDX   = 5,
    L2H_FORMAT_F32   = 6,
    L2H_FORMAT_F16   = 7,
    L2H_FORMAT_U8    = 8,
    L2H_FORMAT_ARFF  = 9,
    L2H_FORMAT_COUNT
} l2h_format;

typedef enum l2h_label_kind {
    L2H_LABELS_NONE   = 0,
    L2H_LABELS_SINGLE = 1,
    L2H_LABELS_MULTI  = 2
} l2h_label_kind;

/* n_labels value: an ARFF file's trailing {0,1} attributes are features, not labels. */
#define L2H_ARFF_NO_LABELS ((size_t)-1)

typedef struct l2h_read_params {
    l2h_format format; /* AUTO by default                                        */
    size_t dim;        /* row length for F32/F16/U8 (required) and label files   */
    size_t n_labels;   /* ARFF: trailing label attributes; 0 = none, but a file whose
                        * last attributes are {0,1} is then refused (they look like labels:
                        * say how many, or L2H_ARFF_NO_LABELS to read them as features) */
    size_t max_rows;   /* 0 = all; otherwise read at most this many rows          */
} l2h_read_params;

L2H_API l2h_read_params l2h_read_default_params(void);
/* Format from a name ("fvecs", "npy", "f16", ...); L2H_ERR_ARG if unknown. */
L2H_API L2H_NODISCARD l2h_status l2h_format_parse(const char *name, l2h_format *out);
L2H_API const char *l2h_format_name(l2h_format f);

/* Reads features (and, for ARFF with n_labels > 0, labels) into a new dataset. */
L2H_API L2H_NODISCARD l2h_status l2h_dataset_read(l2h_dataset **out, const char *path,
                                                  const l2h_read_params *p);
L2H_API L2H_NODISCARD l2h_status l2h_dataset_read_mem(l2h_dataset **out, const void *buf,
                                                      size_t len, const char *name,
                                                      const l2h_read_params *p);
/* Attaches labels read from a file with one row per dataset row: a 1-D array or n x 1 matrix
 * of integer class ids gives single labels, an n x L matrix of 0/1 (or any numpy bool array)
 * gives multi-labels. Row count (after max_rows) must match, else L2H_ERR_ARG. Formats: IVECS,
 * BVECS, NPY, IDX, U8 (dim = 1 or L; 0 = file size / rows), AUTO. On failure the dataset's
 * labels are unchanged. */
L2H_API L2H_NODISCARD l2h_status l2h_dataset_read_labels(l2h_dataset *ds, const char *path,
                                                         const l2h_read_params *p);
/* The same on a buffer; `name` picks the format under AUTO and starts every message. */
L2H_API L2H_NODISCARD l2h_status l2h_dataset_read_labels_mem(l2h_dataset *ds, const void *buf,
                                                             size_t len, const char *name,
                                                             const l2h_read_params *p);

/* Named datasets installed by Debian packages. "fashion-mnist" (dataset-fashion-mnist, from
 * /usr/share/datasets/fashion-mnist or $L2H_FASHION_MNIST_DIR): train (60,000) then test
 * (10,000) rows, pixels scaled to [0, 1], labels attached. *n_train receives 60,000 so the
 * caller can build the standard test-as-query split. */
L2H_API L2H_NODISCARD l2h_status l2h_dataset_load_named(l2h_dataset **out, const char *name,
                                                        size_t *n_train);

/* In-memory construction. x: n*dim floats copied (NULL = zeros). */
L2H_API L2H_NODISCARD l2h_status l2h_dataset_create(l2h_dataset **out, size_t n, size_t dim,
                                                    const float *x);
L2H_API L2H_NODISCARD l2h_status l2h_dataset_set_labels(l2h_dataset *ds, const int32_t *labels);
L2H_API L2H_NODISCARD l2h_status l2h_dataset_set_multilabels(l2h_dataset *ds, size_t n_labels,
                                                             const uint8_t *y);
/* New dataset holding rows[0..n) of ds (features and labels), in that order. */
L2H_API L2H_NODISCARD l2h_status l2h_dataset_subset(l2h_dataset **out, const l2h_dataset *ds,
                                                    const size_t *rows, size_t n);
L2H_API void l2h_dataset_free(l2h_dataset *ds);

L2H_API size_t l2h_dataset_n(const l2h_dataset *ds);
L2H_API size_t l2h_dataset_dim(const l2h_dataset *ds);
L2H_API const float *l2h_dataset_features(const l2h_dataset *ds); /* [n, dim] */
L2H_API float *l2h_dataset_features_mut(l2h_dataset *ds);
L2H_API l2h_label_kind l2h_dataset_label_kind(const l2h_dataset *ds);
/* SINGLE: number of classes (max id + 1); MULTI: label columns; NONE: 0. */
L2H_API size_t l2h_dataset_n_labels(const l2h_dataset *ds);
L2H_API const int32_t *l2h_dataset_labels(const l2h_dataset *ds);      /* [n] or NULL    */
L2H_API const uint8_t *l2h_dataset_multilabels(const l2h_dataset *ds); /* [n, L] or NULL */

/* Packed codes as .npy (uint8, shape n x l2h_code_bytes(bits)), written atomically. */
L2H_API L2H_NODISCARD l2h_status l2h_codes_write_npy(const char *path, const uint8_t *codes,
                                                     size_t n, size_t bits);
/* Shape of an n x B uint8 .npy file of packed codes (header only). */
L2H_API L2H_NODISCARD l2h_status l2h_codes_npy_shape(const char *path, size_t *n, size_t *bytes);
/* Reads that file into the caller's buffer out[n, bytes]; n and bytes must match the file. */
L2H_API L2H_NODISCARD l2h_status l2h_codes_read_npy(const char *path, uint8_t *out, size_t n,
                                                    size_t bytes);

/* Exclusive advisory lock for a read-modify-write of an existing file (load, change, save), so
 * that two writers cannot both start from the same version and lose one change. Waits while
 * another process holds it (L2H_ERR_IO after 10 minutes). Every file the library writes takes
 * the same lock for the write itself, unless the calling process holds it already. Not
 * reentrant: locking a file twice in one process is L2H_ERR_ARG. */
typedef struct l2h_file_lock l2h_file_lock;
L2H_API L2H_NODISCARD l2h_status l2h_file_lock_acquire(l2h_file_lock **out, const char *path);
L2H_API void l2h_file_lock_release(l2h_file_lock *lock); /* NULL is a no-op */

/* Row ranges of .npy files, reading only the rows asked for (the header is validated against
 * the file size first); for processes that each hold one shard of a large matrix. */
/* Shape of an .npy file: rows = shape[0], cols = product of the other dimensions. */
L2H_API L2H_NODISCARD l2h_status l2h_npy_shape(const char *path, size_t *rows, size_t *cols);
/* Rows [first, first + count) of a numeric .npy matrix as a new dataset of floats (no labels). */
L2H_API L2H_NODISCARD l2h_status l2h_dataset_read_npy_rows(l2h_dataset **out, const char *path,
                                                           size_t first, size_t count);
/* Rows [first, first + count) of an n x bytes uint8 codes file into out[count, bytes]. */
L2H_API L2H_NODISCARD l2h_status l2h_codes_read_npy_rows(const char *path, size_t first,
                                                         size_t count, size_t bytes, uint8_t *out);

/* Writes a float32 matrix as .npy (atomically). */
L2H_API L2H_NODISCARD l2h_status l2h_write_npy_f32(const char *path, const float *x, size_t rows,
                                                   size_t cols);

#ifdef __cplusplus
}
#endif
#endif
