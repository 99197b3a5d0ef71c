/* proto.h -- request-body parsers of l2hd: JSON (cJSON) and numpy .npy bodies into batches of
 * features / ids / labels / codes. No sockets here, so tests/fuzz drive these functions
 * directly (server/fuzz_proto.c). Every length is checked against the real body size before it
 * is used; memory is bounded by the body size (plus the declared shape, which must fit in it). */
#ifndef L2HD_PROTO_H
#define L2HD_PROTO_H

#include <stddef.h>
#include <stdint.h>

/* A parsed batch. Arrays are malloc'ed and owned by the batch (proto_batch_free). */
typedef struct proto_batch {
    size_t n;          /* rows                                                        */
    size_t dim;        /* feature columns (0 if no features)                          */
    float *x;          /* [n, dim] finite floats, or NULL                             */
    int64_t *ids;      /* [n] ids >= 0, unique within the batch, or NULL              */
    int32_t *labels;   /* [n] labels >= 0, or NULL                                    */
    uint8_t *codes;    /* [n, code_bytes] packed codes (search by codes), or NULL     */
    size_t code_bytes;
} proto_batch;

/* Outcome of a parse: 0 = ok, else the HTTP status to answer (400, 413) with `err`. */
typedef struct proto_error {
    int http;
    char msg[256];
} proto_error;

void proto_batch_free(proto_batch *b);

/* JSON body {"features": [[f, ...], ...], "ids": [...], "labels": [...], "codes": [...]}.
 * `dim` (0 = any, taken from the first row) is the collection's feature dimension;
 * code_bytes (0 = codes not allowed) the collection's packed code size. Codes are given as
 * hex strings ("0f1e...", LSB-first bytes as in l2h) or arrays of byte values. Other keys are
 * left to the caller (the parsed cJSON object is not returned; options come from the URL or
 * proto_json_* helpers below). max_rows bounds n. */
int proto_parse_batch_json(const char *body, size_t len, size_t dim, size_t code_bytes,
                           size_t max_rows, proto_batch *out, proto_error *e);

/* .npy body: features (float32/float64, 2-D n x dim, or 1-D = one row), then, if want_ids, an
 * int32/int64 1-D array of n ids, then, if want_labels, an int32/int64/uint8 1-D array of n
 * labels; or, if as_codes, one uint8 2-D n x code_bytes array of packed codes. The arrays are
 * concatenated .npy files (each self-delimiting); trailing bytes are an error. */
int proto_parse_batch_npy(const uint8_t *body, size_t len, size_t dim, size_t code_bytes,
                          int as_codes, int want_ids, int want_labels, size_t max_rows,
                          proto_batch *out, proto_error *e);

/* One .npy array header parsed from buf[len]: dtype ('f','i','u','b'), item size, shape
 * (ndim <= 2), offset of the data and its byte length (checked to fit in len). */
typedef struct proto_npy {
    char kind;
    size_t itemsize;
    size_t ndim;
    size_t shape[2];
    size_t data_off;
    size_t data_len;
} proto_npy;
int proto_npy_header(const uint8_t *buf, size_t len, proto_npy *out, proto_error *e);

/* Writes a .npy v1 header for a C-order array of `descr` ("<f4", "|u1", "<i8") and shape
 * (rows, cols) (cols = 0: 1-D) into hdr[128]; returns its length (a multiple of 64). */
size_t proto_npy_write_header(char *hdr, const char *descr, size_t rows, size_t cols);

/* Parses a collection name: 1..64 chars of [A-Za-z0-9_.-], not starting with '.'. */
int proto_valid_name(const char *s, size_t len);

/* Lower-case hex of a code: out needs 2 * bytes + 1 chars. */
void proto_hex(const uint8_t *code, size_t bytes, char *out);

#endif
