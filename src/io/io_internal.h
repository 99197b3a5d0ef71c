/* io_internal.h -- helpers shared inside the io module and by modules that write files
 * (index, model): atomic writes, little-endian helpers, the dataset struct. */
#ifndef L2H_IO_INTERNAL_H
#define L2H_IO_INTERNAL_H

#include "core.h"
#include "l2h/io.h"

#include <stdio.h>

struct l2h_dataset {
    size_t n, dim;
    float *x; /* [n, dim] */
    l2h_label_kind label_kind;
    size_t n_labels;    /* SINGLE: classes (max + 1); MULTI: columns */
    int32_t *labels;    /* [n] (SINGLE) */
    uint8_t *multi;     /* [n, n_labels] (MULTI) */
};

/* l2h_dataset_set_labels with errors naming `name` (the file the labels came from). */
l2h_status l2h_dataset_set_labels_named(l2h_dataset *ds, const int32_t *labels, const char *name);

/* Writes a file atomically: `write` is called with a stream on a temporary file next to
 * `path`; on success the stream is flushed, fsync'ed and renamed over `path`, and the folder
 * is fsync'ed. On any failure the temporary file is removed and `path` is untouched. */
typedef l2h_status (*l2h_write_fn)(FILE *f, const char *path, void *ctx);
l2h_status l2h_write_atomic(const char *path, l2h_write_fn write, void *ctx);

/* fwrite that reports L2H_ERR_IO naming `path`. */
l2h_status l2h_fwrite_all(FILE *f, const void *buf, size_t len, const char *path);

/* Reads a whole file into a new buffer (l2h_free it). Refuses files above max_len. */
l2h_status l2h_read_file(const char *path, size_t max_len, uint8_t **buf, size_t *len);

static inline uint32_t l2h_rd_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t l2h_rd_le64(const uint8_t *p)
{
    return (uint64_t)l2h_rd_le32(p) | (uint64_t)l2h_rd_le32(p + 4) << 32;
}
static inline void l2h_wr_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void l2h_wr_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

#endif
