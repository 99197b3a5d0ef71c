/* safetensors.h -- a generic reader and writer for the safetensors container (Hugging Face),
 * used for model files and by any module that stores named tensors.
 *
 * Layout (all integers little endian):
 *   [0, 8)          u64 N: byte length of the JSON header
 *   [8, 8 + N)      UTF-8 JSON object, possibly followed by spaces (padding):
 *                     { "__metadata__": {"key": "value", ...},            (optional, strings only)
 *                       "<name>": {"dtype": "F32", "shape": [d0, d1, ...],
 *                                  "data_offsets": [begin, end]}, ... }
 *   [8 + N, end)    data section; a tensor's bytes are [begin, end) relative to its start,
 *                   C order, little endian.
 *
 * The reader checks everything before use: N against the file size and a 100 MB cap, a JSON
 * object starting with '{' and followed only by whitespace, valid UTF-8, no duplicate names, a
 * known dtype, integer shapes whose element count times the dtype size equals end - begin
 * (overflow-checked), offsets inside the data section, and tensors that tile the data section
 * exactly (no gap, no overlap, nothing left over) -- the rules of the reference implementation.
 * Keys may come in any order and the header need not be padded, so files written by the Python
 * `safetensors` package read as well. Failures are L2H_ERR_FORMAT with a message that starts
 * with the file name.
 *
 * The writer puts "__metadata__" first, orders tensors by element size (largest first) then
 * name, so every tensor is aligned to its element size, and pads the header with spaces to a
 * multiple of 8 bytes. This host must be little endian (checked at compile time). */
#ifndef L2H_SAFETENSORS_H
#define L2H_SAFETENSORS_H

#include "core.h"

typedef enum l2h_st_dtype {
    L2H_ST_BOOL = 0,
    L2H_ST_U8,
    L2H_ST_I8,
    L2H_ST_F8_E5M2,
    L2H_ST_F8_E4M3,
    L2H_ST_I16,
    L2H_ST_U16,
    L2H_ST_F16,
    L2H_ST_BF16,
    L2H_ST_I32,
    L2H_ST_U32,
    L2H_ST_F32,
    L2H_ST_F64,
    L2H_ST_I64,
    L2H_ST_U64,
    L2H_ST_DTYPE_COUNT
} l2h_st_dtype;

#define L2H_ST_MAX_DIMS 16
#define L2H_ST_MAX_HEADER ((size_t)100 * 1000 * 1000)

/* "F32", "I64", ...; NULL for an invalid value. */
const char *l2h_st_dtype_name(l2h_st_dtype t);
/* Bytes per element (0 for an invalid value). */
size_t l2h_st_dtype_size(l2h_st_dtype t);

/* ---- writer ------------------------------------------------------------------------------- */
typedef struct l2h_st_writer l2h_st_writer;

l2h_status l2h_st_writer_create(l2h_st_writer **out);
void l2h_st_writer_free(l2h_st_writer *w); /* NULL is a no-op */

/* Adds a tensor. Copies name and shape; BORROWS `data` (prod(shape) elements of `dtype`), which
 * must stay valid until the last l2h_st_writer_save / _to_mem call. ndim = 0 is a scalar.
 * L2H_ERR_ARG for an empty or duplicate name, "__metadata__", or too many dimensions. */
l2h_status l2h_st_writer_add(l2h_st_writer *w, const char *name, l2h_st_dtype dtype, size_t ndim,
                             const size_t *shape, const void *data);
/* Sets a metadata entry (copied); an existing key is replaced. */
l2h_status l2h_st_writer_set_meta(l2h_st_writer *w, const char *key, const char *value);

/* Writes the file atomically (l2h_write_atomic). */
l2h_status l2h_st_writer_save(const l2h_st_writer *w, const char *path);
/* The same bytes into a new buffer (*buf is l2h_free'd by the caller). */
l2h_status l2h_st_writer_to_mem(const l2h_st_writer *w, uint8_t **buf, size_t *len);

/* ---- reader ------------------------------------------------------------------------------- */
typedef struct l2h_st_tensor {
    const char *name;
    l2h_st_dtype dtype;
    size_t ndim;
    size_t shape[L2H_ST_MAX_DIMS];
    size_t numel;        /* product of shape (1 for a scalar)                 */
    size_t begin, end;   /* byte range relative to the data section           */
    const uint8_t *data; /* points into the parsed buffer; may be unaligned   */
} l2h_st_tensor;

typedef struct l2h_st_file l2h_st_file;

/* Parses and validates buf[len]. The result BORROWS buf (tensor data points into it): keep buf
 * alive until l2h_st_file_free. `name` (the file name) starts every error message. */
l2h_status l2h_st_parse(l2h_st_file **out, const void *buf, size_t len, const char *name);
void l2h_st_file_free(l2h_st_file *f); /* NULL is a no-op */

const char *l2h_st_file_name(const l2h_st_file *f);
size_t l2h_st_n_tensors(const l2h_st_file *f);
/* Tensors in header order. */
const l2h_st_tensor *l2h_st_tensor_at(const l2h_st_file *f, size_t i);
/* NULL if absent. */
const l2h_st_tensor *l2h_st_find(const l2h_st_file *f, const char *name);

size_t l2h_st_n_meta(const l2h_st_file *f);
void l2h_st_meta_at(const l2h_st_file *f, size_t i, const char **key, const char **value);
/* The value of a metadata key, NULL if absent. */
const char *l2h_st_meta(const l2h_st_file *f, const char *key);

/* Checks that tensor `name` exists with exactly this dtype and shape and returns it through
 * *t (L2H_ERR_FORMAT naming the file and the tensor otherwise). Lets a loader validate shapes
 * before allocating anything the file does not back. */
l2h_status l2h_st_expect(const l2h_st_file *f, const char *name, l2h_st_dtype dtype, size_t ndim,
                         const size_t *shape, const l2h_st_tensor **t);
/* Copies tensor `name` into out (prod(shape) elements), after checking that it exists and has
 * exactly this dtype and shape; L2H_ERR_FORMAT naming the file and the tensor otherwise. */
l2h_status l2h_st_read(const l2h_st_file *f, const char *name, l2h_st_dtype dtype, size_t ndim,
                       const size_t *shape, void *out);

#endif
