/* io_read.h -- internals of the data readers (io module only).
 *
 * Every binary format (vecs, npy, IDX, headerless) is parsed into a "matrix view": a
 * description of rows x cols elements of one type lying in a byte buffer with a fixed row
 * stride. The parsers check every size against the buffer before they fill a view, so a view is
 * always in bounds; converting a view to floats (features) or to class ids / 0-1 rows (labels)
 * is then format-independent. ARFF is text and builds a dataset directly. */
#ifndef L2H_IO_READ_H
#define L2H_IO_READ_H

#include "io_internal.h"

typedef enum l2h_elem {
    L2H_ELEM_U8 = 0,
    L2H_ELEM_B1,  /* numpy bool: one byte, 0 or 1 */
    L2H_ELEM_I32,
    L2H_ELEM_I64,
    L2H_ELEM_F16, /* IEEE 754 binary16 */
    L2H_ELEM_F32,
    L2H_ELEM_F64,
    L2H_ELEM_COUNT
} l2h_elem;

size_t l2h_elem_size(l2h_elem e);
const char *l2h_elem_name(l2h_elem e);

typedef struct l2h_mat_view {
    const uint8_t *data; /* first element of row 0 (little endian, possibly unaligned) */
    size_t rows, cols;
    size_t stride;       /* bytes from one row to the next (>= cols * element size) */
    l2h_elem elem;
    int one_d;           /* the file holds a 1-D array (cols == 1) */
    uint8_t *owned;      /* buffer the view points into, freed by l2h_view_free; or NULL */
} l2h_mat_view;

void l2h_view_free(l2h_mat_view *v);

/* Parsers. `name` starts every message. `max_rows` (0 = all) truncates the view after the whole
 * input has been validated, except for vecs files, which have no row count and stop reading
 * there. The views borrow `buf` unless they set `owned` (gzip IDX). */
l2h_status l2h_vecs_view(const uint8_t *buf, size_t len, const char *name, l2h_elem elem,
                         size_t max_rows, l2h_mat_view *v);
l2h_status l2h_npy_view(const uint8_t *buf, size_t len, const char *name, size_t max_rows,
                        l2h_mat_view *v);
l2h_status l2h_idx_view(const uint8_t *buf, size_t len, const char *name, size_t max_rows,
                        l2h_mat_view *v);
l2h_status l2h_raw_view(const uint8_t *buf, size_t len, const char *name, l2h_elem elem,
                        size_t dim, size_t max_rows, l2h_mat_view *v);

/* .npy header (io_npy.c). rows = shape[0], cols = product of the other dimensions (1 for a
 * 1-D array); data_bytes = rows * cols * element size, overflow-checked. */
#define L2H_NPY_MAX_DIMS 32
typedef struct l2h_npy_header {
    l2h_elem elem;
    size_t ndim;
    size_t shape[L2H_NPY_MAX_DIMS];
    size_t rows, cols;
    size_t data_off;   /* magic + version + length field + dictionary */
    size_t data_bytes;
} l2h_npy_header;

/* From the first bytes of a file (at least 12, or the whole file if shorter): the size of the
 * complete header, i.e. where the data starts. */
l2h_status l2h_npy_header_size(const uint8_t *buf, size_t len, const char *name, size_t *size);
/* Parses the header held in buf[0, len) (len may stop before the data). */
l2h_status l2h_npy_parse_header(const uint8_t *buf, size_t len, const char *name,
                                l2h_npy_header *h);

/* Opens an .npy file and parses its header, read from the file (at most 1 MiB), checking that
 * the data is exactly as large as the shape says; *out is left at the first data byte
 * (io_npy_rows.c). */
l2h_status l2h_npy_open(const char *path, FILE **out, l2h_npy_header *h);

/* ARFF: dense rows; the last n_labels attributes become multi-labels. */
l2h_status l2h_arff_parse(const uint8_t *buf, size_t len, const char *name, size_t n_labels,
                          size_t max_rows, l2h_dataset **out);

/* Runs the parser of format f (not AUTO, not ARFF) on buf. */
l2h_status l2h_view_mem(const uint8_t *buf, size_t len, const char *name, l2h_format f,
                        size_t dim, size_t max_rows, l2h_mat_view *v);
/* Reads the file and parses it; the view owns the file's bytes. */
l2h_status l2h_view_file(const char *path, l2h_format f, size_t dim, size_t max_rows,
                         l2h_mat_view *v);

/* Converts every element to float into dst[rows, cols]; NaN or Inf (also a float64 outside the
 * float32 range) gives L2H_ERR_NUMERIC naming the file, row and column. */
l2h_status l2h_view_to_float(const l2h_mat_view *v, const char *name, float *dst);
/* Single labels: cols must be 1, integer type, values in [0, INT32_MAX]. dst[rows]. */
l2h_status l2h_view_to_classes(const l2h_mat_view *v, const char *name, int32_t *dst);
/* Multi-labels: integer or bool type, every value 0 or 1. dst[rows, cols]. */
l2h_status l2h_view_to_multi(const l2h_mat_view *v, const char *name, uint8_t *dst);

/* Format from the file name: .fvecs .ivecs .bvecs .npy .arff .f32 .f16 .u8, and -ubyte / .idx
 * with an optional .gz (case-insensitive). L2H_ERR_ARG if the name says nothing. */
l2h_status l2h_format_from_name(const char *name, l2h_format *out);

/* IEEE half to float, exact for every input (subnormals, infinities, NaN payloads). */
float l2h_half_to_float(uint16_t h);

/* Largest file the readers load into memory: small enough that 4 bytes per input byte (the
 * float conversion) cannot overflow size_t on any host. */
#define L2H_READ_MAX_FILE (SIZE_MAX / 8)

#endif
