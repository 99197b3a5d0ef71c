/* SPDX-License-Identifier: MIT (see LICENSE) */
/* l2h/model.h -- hash functions: what turns a feature vector into a binary code.
 *
 * A model is: preprocessing (optional centring by the training mean, then optional L2
 * normalisation; statistics are taken from the training data and kept in the model), a network
 * producing `bits` real outputs z, and the sign: bit j = 1 iff z_j > 0. The baselines of this
 * header are linear: LSH (Gaussian random projections) and PCA-ITQ (Gong & Lazebnik). Learned
 * methods (train.h) produce models of the same type.
 *
 * Model files are safetensors (docs/models.md): an 8-byte little-endian header length, a JSON
 * header with the tensors' dtype/shape/offsets and a "__metadata__" map (format, format_version,
 * library_version, method, arch, bits, dim, center, l2_normalize, plus method entries such as
 * seed and itq_iters), then the raw little-endian tensors ("preprocess.mean" [dim] when
 * centring; "linear.weight" [bits, dim] and "linear.bias" [bits] for linear models). Python
 * users open them with a few lines of json + numpy (docs/models.md). */
#ifndef L2H_MODEL_H
#define L2H_MODEL_H

#include "l2h/io.h"
#include "l2h/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- method registries (train.h: batch methods, online.h: online methods) ----------------
 * Every method registers itself (one file + one line in its module's method table) with a name,
 * a summary and an option table. Options are set by name on a handle (zstd's
 * ZSTD_CCtx_setParameter route: l2h_train_set_option, l2h_online_set_option), so a new method or
 * option never changes a public struct. */
typedef enum l2h_option_type {
    L2H_OPT_DOUBLE = 0, /* finite real                       */
    L2H_OPT_SIZE = 1,   /* non-negative integer              */
    L2H_OPT_INT = 2,    /* integer                           */
    L2H_OPT_FLAG = 3,   /* 0 / 1 (an int; a CLI flag)         */
    L2H_OPT_TEXT = 4    /* text of fewer than L2H_OPT_TEXT_CAP bytes (a choice or a list;
                         * the method checks it)            */
} l2h_option_type;
#define L2H_OPT_TEXT_CAP 128

typedef struct l2h_option_info {
    const char *name;     /* e.g. "c" (set as "c" or "okh.c")                    */
    l2h_option_type type;
    const char *def;      /* default value as text                              */
    const char *help;     /* one line                                           */
    int storage;          /* internal: 0 = a field of the shared parameters, 1 = the method's own */
    size_t offset;        /* internal: byte offset in that storage               */
} l2h_option_info;

typedef struct l2h_method_info {
    const char *name;
    const char *summary;
    size_t batch;      /* online: items per learning step by default; batch (train.h): the
                        * mini-batch size of a method trained by SGD, 0 = fitted in closed form
                        * (no network / optimiser settings apply) */
    int needs_labels;  /* 1: class labels are its supervision */
    size_t n_options;
    const l2h_option_info *options; /* [n_options], static */
} l2h_method_info;


typedef struct l2h_model l2h_model;

typedef struct l2h_baseline_params {
    size_t bits;         /* code length, 1..L2H_MAX_BITS (ITQ: also <= dim)        */
    uint64_t seed;       /* random projections / ITQ's initial rotation           */
    int center;          /* subtract the training mean (default 1)                */
    int l2_normalize;    /* scale every row to unit length after centring (def 0) */
    unsigned itq_iters;  /* ITQ Procrustes iterations (default 50)                */
    size_t max_train;    /* use at most this many training rows (0 = all)         */
} l2h_baseline_params;

L2H_API l2h_baseline_params l2h_baseline_default_params(size_t bits);

/* LSH: W[bits, dim] with i.i.d. N(0,1) entries (seeded), b = 0, applied to the preprocessed
 * data; the training rows only provide the mean. Errors: L2H_ERR_ARG (bits outside
 * 1..L2H_MAX_BITS, empty data), L2H_ERR_NUMERIC (NaN/Inf in the training rows). */
L2H_API L2H_NODISCARD l2h_status l2h_lsh_train(l2h_model **out, const l2h_dataset *train,
                                               const l2h_baseline_params *p);
/* PCA-ITQ: PCA to `bits` dimensions (LAPACKE eigendecomposition of the covariance), then
 * itq_iters rounds of B = sign(V R), R = orthogonal Procrustes solution (SVD); the result is one
 * linear layer W = (P R)ᵀ. bits > dim is L2H_ERR_ARG; other errors as l2h_lsh_train. */
L2H_API L2H_NODISCARD l2h_status l2h_itq_train(l2h_model **out, const l2h_dataset *train,
                                               const l2h_baseline_params *p);

L2H_API void l2h_model_free(l2h_model *m); /* NULL is a no-op */

L2H_API size_t l2h_model_bits(const l2h_model *m);
L2H_API size_t l2h_model_dim(const l2h_model *m);      /* input feature dimension */
L2H_API const char *l2h_model_method(const l2h_model *m); /* "lsh", "itq", "mihash", ... */
L2H_API const char *l2h_model_arch(const l2h_model *m);   /* "linear", "mlp", "cnn" */
/* A metadata value from the model file ("" if absent); valid while m lives. */
L2H_API const char *l2h_model_meta(const l2h_model *m, const char *key);
/* Records provenance in the model's metadata under a key that starts with "train." (e.g.
 * "train.split", "train.split_seed": the split the model was trained on, which `l2h eval` uses
 * to keep training rows out of the queries). Saved with the model. Other keys are the
 * library's and are L2H_ERR_ARG here. */
L2H_API L2H_NODISCARD l2h_status l2h_model_set_provenance(l2h_model *m, const char *key,
                                                          const char *value);

/* Real outputs z[n, bits] for x[n, dim] (preprocessing included). Thread-safe on a const
 * model. */
L2H_API L2H_NODISCARD l2h_status l2h_model_forward(const l2h_model *m, const float *x, size_t n,
                                                   float *z);
/* Packed codes out[n, l2h_code_bytes(bits)] for x[n, dim]. */
L2H_API L2H_NODISCARD l2h_status l2h_model_encode(const l2h_model *m, const float *x, size_t n,
                                                  uint8_t *out);

/* Writes the model file atomically (temporary file, fsync, rename). */
L2H_API L2H_NODISCARD l2h_status l2h_model_save(const l2h_model *m, const char *path);
/* Reads a model file. L2H_ERR_FORMAT for a malformed or inconsistent file (message starts with
 * the file name), L2H_ERR_VERSION for a newer format_version, L2H_ERR_UNSUPPORTED for an unknown
 * network arch (any method name of [a-z0-9_-] is accepted: encoding does not depend on it),
 * L2H_ERR_IO if the file cannot be read. *out is NULL on failure. The _mem
 * variant parses buf[len] (borrowed) and names it `name` in messages. */
L2H_API L2H_NODISCARD l2h_status l2h_model_load(l2h_model **out, const char *path);
L2H_API L2H_NODISCARD l2h_status l2h_model_load_mem(l2h_model **out, const void *buf, size_t len,
                                                    const char *name);

#ifdef __cplusplus
}
#endif
#endif
