/* model_internal.h -- the model struct, the network interface every architecture implements,
 * and the helpers shared by the trainers (LSH, ITQ; later the learned methods).
 *
 * A model = preprocessing (centre by `mean`, then L2-normalise rows) + a network mapping the
 * preprocessed x[n, dim] to z[n, bits] + sign. The preprocessing, metadata and file code are
 * shared; an architecture only supplies an l2h_net_ops table:
 *
 *   - one new file src/model/net_<arch>.c exporting `const l2h_net_ops l2h_net_<arch>_ops`
 *     (everything else static) plus a typed constructor declared here;
 *   - one line in the architecture table of model_file.c (l2h_net_ops_find);
 *   - its tensors are saved under names of its own choosing ("linear.weight", "mlp.0.weight"...)
 *     and any architecture hyper-parameters as metadata entries (e.g. "mlp_hidden"), which the
 *     loader hands back to ops->load through the parsed file.
 *
 * Tensor names used by the shared code: "preprocess.mean" (F32 [dim], present iff center). */
#ifndef L2H_MODEL_INTERNAL_H
#define L2H_MODEL_INTERNAL_H

#include "core.h"
#include "l2h/codes.h"
#include "l2h/model.h"
#include "nn.h"
#include "safetensors.h"

#define L2H_MODEL_FORMAT "l2h-model"
#define L2H_MODEL_FORMAT_VERSION 1
/* Largest input dimension a model file may declare (guards allocations from hostile files). */
#define L2H_MODEL_MAX_DIM ((size_t)1 << 24)
/* Largest model file l2h_model_load reads. */
#define L2H_MODEL_MAX_FILE ((size_t)1 << 32)

/* ---- networks -------------------------------------------------------------------------------- */
typedef struct l2h_net l2h_net;

typedef struct l2h_net_ops {
    const char *arch; /* name stored in the "arch" metadata entry: "linear", "mlp", "cnn" */
    /* z[n, out_dim] = net(x[n, in_dim]) on preprocessed input; overwrites z. Must be safe to
     * call concurrently on one const net: scratch memory is allocated per call. */
    l2h_status (*forward)(const l2h_net *net, const float *x, size_t n, float *z);
    /* Adds the network's tensors (borrowed: the net must outlive the write) and any
     * architecture metadata to w. */
    l2h_status (*save)(const l2h_net *net, l2h_st_writer *w);
    /* Builds a network in_dim -> out_dim from a parsed, container-valid file. Must check every
     * tensor's dtype and shape (l2h_st_read does) and refuse non-finite parameters, failing with
     * L2H_ERR_FORMAT and a message starting with l2h_st_file_name(f). *out = NULL on failure. */
    l2h_status (*load)(l2h_net **out, const l2h_st_file *f, size_t in_dim, size_t out_dim);
    void (*free)(l2h_net *net);
    /* The parameter arena: every float that determines forward, contiguous, n floats. */
    float *(*params)(l2h_net *net, size_t *n);
} l2h_net_ops;

/* The first member of every architecture's own struct. */
struct l2h_net {
    const l2h_net_ops *ops;
    size_t in_dim, out_dim;
};

void l2h_net_free(l2h_net *net); /* NULL is a no-op */
/* The ops table of an architecture name, NULL if unknown. */
const l2h_net_ops *l2h_net_ops_find(const char *arch);

/* Linear network z = x · Wᵀ + b, W[out_dim, in_dim], b[out_dim]. Copies w; b NULL = zeros.
 * Tensors "linear.weight" F32 [out_dim, in_dim] and "linear.bias" F32 [out_dim]. */
extern const l2h_net_ops l2h_net_linear_ops;
l2h_status l2h_net_linear_create(l2h_net **out, size_t in_dim, size_t out_dim, const float *w,
                                 const float *b);
/* Parameters of a linear network (views into the net); L2H_ERR_ARG for another arch. */
l2h_status l2h_net_linear_params(const l2h_net *net, const float **w, const float **b);

/* Networks from src/nn layer stacks (net_nn.c): "mlp" and "cnn", tensors under their l2h_nn
 * names, metadata "nn_arch" (layer text) and "nn_input" ("C,H,W"); encoding by l2h_nn_infer. */
extern const l2h_net_ops l2h_net_mlp_ops;
extern const l2h_net_ops l2h_net_cnn_ops;
/* "kernel": a layer stack starting with an RBF layer (online OKH's kernel hash). */
extern const l2h_net_ops l2h_net_kernel_ops;
/* A model network from a trained l2h_nn, which it TAKES (freed on failure too): arch "linear"
 * becomes the plain linear network (parameters copied, nn freed), "mlp" / "cnn" wrap it. */
l2h_status l2h_net_from_nn(l2h_net **out, l2h_nn *nn);
/* The l2h_nn behind an "mlp" / "cnn" network, NULL for other architectures. */
const l2h_nn *l2h_net_nn(const l2h_net *net);

/* ---- the model --------------------------------------------------------------------------- */
/* A tensor a method keeps in the model file beside the encoding path (JMLH's classifier on the
 * bits): F32 with 1 or 2 dimensions, saved under its own name, never read by encode/forward.
 * The file lists them in the metadata entry "extra_tensors" (names joined by ','), which the
 * loader uses to read them back (F32, 1-2 dims, finite; L2H_ERR_FORMAT otherwise). */
typedef struct l2h_model_tensor {
    char *name;
    size_t ndim, shape[2];
    float *data; /* [shape[0] (· shape[1])] */
} l2h_model_tensor;

struct l2h_model {
    size_t dim, bits;
    char *method;
    int center, l2_normalize;
    float *mean; /* [dim] when center, else NULL */
    l2h_net *net;
    size_t n_meta;
    char **meta_keys, **meta_vals;
    size_t n_extra;
    l2h_model_tensor *extra;
};

/* A new model from its parts. TAKES `net` (freed here on failure too); copies mean[dim] (NULL =
 * no centring). Sets the standard metadata: format, format_version, library_version, method,
 * arch, bits, dim, center, l2_normalize. net->in_dim must be dim and net->out_dim bits. */
l2h_status l2h_model_create(l2h_model **out, const char *method, l2h_net *net, const float *mean,
                            int l2_normalize);
/* Sets (or replaces) a metadata entry; both strings are copied. */
l2h_status l2h_model_set_meta(l2h_model *m, const char *key, const char *value);
/* Adds a copy of an extra tensor (see l2h_model_tensor). Its name must start with the model's
 * method and a dot ("jmlh.classifier.weight"), so it cannot collide with the preprocessing or
 * network tensors. L2H_ERR_ARG for ndim outside 1..2, an empty shape, a name without that
 * prefix, containing ',', or already there. */
l2h_status l2h_model_add_tensor(l2h_model *m, const char *name, size_t ndim, const size_t *shape,
                                const float *data);
/* The extra tensor `name`, NULL if the model has none of that name. */
const l2h_model_tensor *l2h_model_find_tensor(const l2h_model *m, const char *name);
/* A method name a model may carry: 1..31 characters of [a-z0-9_-]. The loader accepts any
 * such name (encoding does not depend on the method). */
bool l2h_model_method_name_ok(const char *name);

/* The network's parameter span (one contiguous float arena: every tensor that determines
 * encode), n floats. Online methods learn in it; the engine copies / compares spans. */
float *l2h_model_params(l2h_model *m, size_t *n);
const float *l2h_model_params_const(const l2h_model *m, size_t *n);
/* Encodes rows that are ALREADY preprocessed: out[n, bytes] (same row blocks as
 * l2h_model_encode, so the codes equal l2h_model_encode of the raw rows). */
l2h_status l2h_model_encode_prepped(const l2h_model *m, const float *xp, size_t n, uint8_t *out);
/* A deep copy (through the file format, so it is exactly what a save + load gives). */
l2h_status l2h_model_clone(l2h_model **out, const l2h_model *m);

/* Preprocessing of n rows: out = x - mean (mean NULL: copy), then each row scaled to unit L2
 * norm if l2_normalize (an all-zero row stays zero). out may equal x. */
void l2h_preprocess_rows(const float *mean, int l2_normalize, size_t dim, const float *x,
                         size_t n, float *out);
/* The same with the model's settings: xp[n, dim]. */
l2h_status l2h_model_preprocess(const l2h_model *m, const float *x, size_t n, float *xp);
const l2h_net *l2h_model_net(const l2h_model *m);

/* The model file's bytes in a new buffer (l2h_free it): what l2h_model_save writes. */
l2h_status l2h_model_to_mem(const l2h_model *m, uint8_t **buf, size_t *len);

/* ---- baselines ----------------------------------------------------------------------------- */
/* Training rows after max_train subsampling: rows[n_rows] sorted ascending (l2h_free it), drawn
 * without replacement from an RNG seeded with seed ^ L2H_SUBSAMPLE_SALT. */
#define L2H_SUBSAMPLE_SALT 0x5ab5a3b1e5ull
l2h_status l2h_baseline_rows(const l2h_dataset *ds, const l2h_baseline_params *p,
                             const char *method, size_t **rows, size_t *n_rows);
/* mean[dim] of the chosen rows (accumulated in double). */
l2h_status l2h_rows_mean(const float *x, size_t dim, const size_t *rows, size_t n, float *mean);

/* PCA of the preprocessed rows: xp = preprocess(x[rows]) (mean NULL: no centring), mu[dim] =
 * mean of xp, C = (1/n) Σ (xp - mu)(xp - mu)ᵀ in double, and p[dim, k] = its eigenvectors for
 * the k largest eigenvalues (columns, largest first; each scaled so its largest-magnitude
 * entry is positive), evals[k] those eigenvalues (may be NULL). */
l2h_status l2h_pca_fit(const float *x, size_t dim, const size_t *rows, size_t n,
                       const float *mean, int l2_normalize, size_t k, double *mu, double *p,
                       double *evals);

/* ITQ rotation for v[n, b] (PCA-projected, centred data): R[b, b] orthogonal from a seeded
 * Gaussian matrix, then `iters` rounds of B = sign(V R) (z > 0 -> +1, else -1) and
 * R = W Uᵀ from the SVD Bᵀ V = U S Wᵀ, which maximises tr(Bᵀ V R). If loss is not NULL it
 * receives 2 * iters + 1 values ||B - V R||_F^2: loss[0] after the first B-step, then for each
 * round the value after its R-step and after the next B-step (the last B-step only evaluates). */
l2h_status l2h_itq_rotation(const double *v, size_t n, size_t b, unsigned iters, uint64_t seed,
                            double *r, double *loss);

/* Option values of the method registries (model_options.c): parses `value` as the option's
 * type into storage at dst (double / size_t / int / char[L2H_OPT_TEXT_CAP]); formats it back. */
l2h_status l2h_option_parse(const l2h_option_info *opt, const char *value, void *dst);
void l2h_option_format(const l2h_option_info *opt, const void *src, char *buf, size_t cap);

#endif
