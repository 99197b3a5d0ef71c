"""cffi (API mode) builder for l2h's C extension ``l2h._l2h_cffi``.

The declarations below are the subset of the public headers (include/l2h/) the package calls;
the C compiler checks them against the real headers when the extension is built (API mode), so
a mismatch is a build error, not a crash. Structs end in "...;": cffi takes their size and
layout from the real header, so fields the library adds later do not break the binding.

Where the library is found (first match wins):
  1. the environment variable L2H_BUILD_DIR (a CMake build tree, e.g. build/release) plus the
     repository's include/ next to this package;
  2. the repository's build/release when this package sits in the l2h source tree;
  3. pkg-config l2h (an installed library: ``cmake --install``).
The extension is linked with an rpath to the library's directory, so no LD_LIBRARY_PATH is
needed.
"""
import os
import shlex
import subprocess

from cffi import FFI

CDEF = r"""
typedef enum l2h_status {
    L2H_OK = 0, L2H_ERR_NOMEM = -1, L2H_ERR_ARG = -2, L2H_ERR_STATE = -3, L2H_ERR_IO = -4,
    L2H_ERR_FORMAT = -5, L2H_ERR_VERSION = -6, L2H_ERR_UNSUPPORTED = -7, L2H_ERR_NUMERIC = -8
} l2h_status;
const char *l2h_status_str(l2h_status s);
const char *l2h_last_error(void);
unsigned l2h_version_number(void);
const char *l2h_version_string(void);
void l2h_set_threads(int n);
int l2h_threads(void);
const char *l2h_build_info(void);

/* codes */
size_t l2h_code_bytes(size_t bits);
l2h_status l2h_hamming_many(const uint8_t *query, const uint8_t *codes, size_t n, size_t bits,
                            int32_t *out);
const char *l2h_hamming_kernel(void);
l2h_status l2h_hamming_set_kernel(const char *name);

/* datasets */
typedef struct l2h_dataset l2h_dataset;
l2h_status l2h_dataset_create(l2h_dataset **out, size_t n, size_t dim, const float *x);
l2h_status l2h_dataset_set_labels(l2h_dataset *ds, const int32_t *labels);
l2h_status l2h_dataset_set_multilabels(l2h_dataset *ds, size_t n_labels, const uint8_t *y);
void l2h_dataset_free(l2h_dataset *ds);
size_t l2h_dataset_n(const l2h_dataset *ds);
size_t l2h_dataset_dim(const l2h_dataset *ds);
typedef enum l2h_label_kind { L2H_LABELS_NONE = 0, L2H_LABELS_SINGLE = 1, L2H_LABELS_MULTI = 2 } l2h_label_kind;
typedef enum l2h_format {
    L2H_FORMAT_AUTO = 0, L2H_FORMAT_FVECS = 1, L2H_FORMAT_IVECS = 2, L2H_FORMAT_BVECS = 3,
    L2H_FORMAT_NPY = 4, L2H_FORMAT_IDX = 5, L2H_FORMAT_F32 = 6, L2H_FORMAT_F16 = 7,
    L2H_FORMAT_U8 = 8, L2H_FORMAT_ARFF = 9, L2H_FORMAT_COUNT
} l2h_format;
typedef struct l2h_read_params { l2h_format format; size_t dim; size_t n_labels; size_t max_rows;
    ...;
} l2h_read_params;
l2h_read_params l2h_read_default_params(void);
l2h_status l2h_format_parse(const char *name, l2h_format *out);
l2h_status l2h_dataset_read(l2h_dataset **out, const char *path, const l2h_read_params *p);
l2h_status l2h_dataset_read_labels(l2h_dataset *ds, const char *path, const l2h_read_params *p);
l2h_status l2h_dataset_load_named(l2h_dataset **out, const char *name, size_t *n_train);
const float *l2h_dataset_features(const l2h_dataset *ds);
l2h_label_kind l2h_dataset_label_kind(const l2h_dataset *ds);
size_t l2h_dataset_n_labels(const l2h_dataset *ds);
const int32_t *l2h_dataset_labels(const l2h_dataset *ds);
const uint8_t *l2h_dataset_multilabels(const l2h_dataset *ds);

/* models */
typedef struct l2h_model l2h_model;
typedef struct l2h_baseline_params {
    size_t bits; uint64_t seed; int center; int l2_normalize; unsigned itq_iters;
    size_t max_train;
    ...;
} l2h_baseline_params;
l2h_baseline_params l2h_baseline_default_params(size_t bits);
l2h_status l2h_lsh_train(l2h_model **out, const l2h_dataset *train, const l2h_baseline_params *p);
l2h_status l2h_itq_train(l2h_model **out, const l2h_dataset *train, const l2h_baseline_params *p);
void l2h_model_free(l2h_model *m);
size_t l2h_model_bits(const l2h_model *m);
size_t l2h_model_dim(const l2h_model *m);
const char *l2h_model_method(const l2h_model *m);
const char *l2h_model_arch(const l2h_model *m);
const char *l2h_model_meta(const l2h_model *m, const char *key);
l2h_status l2h_model_forward(const l2h_model *m, const float *x, size_t n, float *z);
l2h_status l2h_model_encode(const l2h_model *m, const float *x, size_t n, uint8_t *out);
l2h_status l2h_model_save(const l2h_model *m, const char *path);
l2h_status l2h_model_load(l2h_model **out, const char *path);
l2h_status l2h_model_load_mem(l2h_model **out, const void *buf, size_t len, const char *name);

/* training */
typedef enum l2h_net_kind { L2H_NET_LINEAR = 0, L2H_NET_MLP = 1, L2H_NET_CNN = 2 } l2h_net_kind;
typedef enum l2h_optimizer { L2H_OPT_SGD = 0, L2H_OPT_ADAM = 1 } l2h_optimizer;
typedef enum l2h_schedule { L2H_SCHED_CONST = 0, L2H_SCHED_STEP = 1, L2H_SCHED_INV = 2 } l2h_schedule;
typedef struct l2h_train_progress {
    size_t epoch; size_t epochs; double loss; double loss_aux; double val_map; double val_map_tie;
    double examples_per_s; double seconds;
    ...;
} l2h_train_progress;
typedef int (*l2h_train_callback)(const l2h_train_progress *p, void *user);
typedef struct l2h_train_params {
    const char *method; l2h_net_kind net; size_t bits; size_t hidden[4]; size_t n_hidden;
    size_t epochs; size_t batch; l2h_optimizer optimizer; double lr; double momentum;
    int nesterov; double weight_decay; l2h_schedule schedule; size_t lr_step; double lr_gamma;
    double lr_power; double last_lr_mult; uint64_t seed; int center;
    int l2_normalize; double val_fraction; size_t val_every; l2h_train_callback callback;
    void *user;
    ...;
} l2h_train_params;
l2h_train_params l2h_train_method_params(const char *method, size_t bits);
l2h_status l2h_train(l2h_model **out, const l2h_dataset *train, const l2h_train_params *p);
typedef enum l2h_option_type {
    L2H_OPT_DOUBLE = 0, L2H_OPT_SIZE = 1, L2H_OPT_INT = 2, L2H_OPT_FLAG = 3, L2H_OPT_TEXT = 4
} l2h_option_type;
typedef struct l2h_option_info {
    const char *name; l2h_option_type type; const char *def; const char *help;
    ...;
} l2h_option_info;
typedef struct l2h_method_info {
    const char *name; const char *summary; size_t batch; int needs_labels; size_t n_options;
    const l2h_option_info *options;
    ...;
} l2h_method_info;
size_t l2h_train_method_count(void);
const l2h_method_info *l2h_train_method_info(size_t i);
typedef struct l2h_train_ctx l2h_train_ctx;
l2h_status l2h_train_create(l2h_train_ctx **out, const l2h_train_params *p);
void l2h_train_free(l2h_train_ctx *c);
l2h_status l2h_train_set_option(l2h_train_ctx *c, const char *name, const char *value);
l2h_status l2h_train_get_option(const l2h_train_ctx *c, const char *name, char *buf, size_t cap);
l2h_status l2h_train_fit(l2h_train_ctx *c, const l2h_dataset *train, l2h_model **out);

/* index */
typedef int64_t l2h_id;
typedef struct l2h_index l2h_index;
typedef struct l2h_range_result l2h_range_result;
typedef enum l2h_index_kind { L2H_INDEX_FLAT = 0, L2H_INDEX_MIH = 1 } l2h_index_kind;
typedef struct l2h_index_params { l2h_index_kind kind; size_t bits; size_t n_tables;
    ...;
} l2h_index_params;
typedef struct l2h_index_info {
    l2h_index_kind kind; size_t bits; size_t size; size_t n_tables; size_t memory_bytes;
    uint64_t queries; uint64_t probes; uint64_t candidates; uint64_t fallbacks;
    ...;
} l2h_index_info;
l2h_index_params l2h_index_default_params(size_t bits);
l2h_status l2h_index_create(l2h_index **out, const l2h_index_params *p);
void l2h_index_free(l2h_index *index);
size_t l2h_index_bits(const l2h_index *index);
size_t l2h_index_size(const l2h_index *index);
l2h_status l2h_index_add(l2h_index *index, const uint8_t *codes, const l2h_id *ids, size_t n);
l2h_status l2h_index_remove(l2h_index *index, const l2h_id *ids, size_t n, size_t *n_removed);
l2h_status l2h_index_replace(l2h_index *index, const l2h_id *ids, const uint8_t *codes, size_t n);
l2h_status l2h_index_describe(const l2h_index *index, l2h_index_info *out);
l2h_status l2h_index_search(const l2h_index *index, const uint8_t *queries, size_t nq, size_t k,
                            int32_t *dist, l2h_id *ids);
l2h_status l2h_index_range_search(const l2h_index *index, const uint8_t *queries, size_t nq,
                                  uint32_t radius, l2h_range_result **out);
const size_t *l2h_range_result_lims(const l2h_range_result *r);
const l2h_id *l2h_range_result_ids(const l2h_range_result *r);
const int32_t *l2h_range_result_dists(const l2h_range_result *r);
size_t l2h_range_result_nq(const l2h_range_result *r);
void l2h_range_result_free(l2h_range_result *r);
l2h_status l2h_index_save(const l2h_index *index, const char *path);
l2h_status l2h_index_load(l2h_index **out, const char *path);
l2h_status l2h_index_load_mem(l2h_index **out, const void *buf, size_t len, const char *name);

/* evaluation */
typedef struct l2h_groundtruth l2h_groundtruth;
l2h_status l2h_groundtruth_from_labels(l2h_groundtruth **out, const l2h_dataset *queries,
                                       const l2h_dataset *db);
l2h_status l2h_groundtruth_euclidean(l2h_groundtruth **out, const l2h_dataset *queries,
                                     const l2h_dataset *db, float threshold);
l2h_status l2h_distance_percentile(const l2h_dataset *ds, size_t sample, double percentile,
                                   uint64_t seed, float *threshold);
void l2h_groundtruth_free(l2h_groundtruth *gt);
typedef struct l2h_eval_params {
    size_t map_at_k; uint32_t radius; int empty_as_zero; size_t n_cutoffs; const size_t *cutoffs;
    double *precision_at; double *recall_at; double *pr_precision; double *pr_recall;
    ...;
} l2h_eval_params;
typedef struct l2h_eval_result {
    double map; double map_tie; double map_at_k; double prec_radius; double recall_radius;
    size_t n_queries; size_t n_empty; size_t n_zero_at_k;
    ...;
} l2h_eval_result;
l2h_eval_params l2h_eval_default_params(void);
l2h_status l2h_eval_codes(const uint8_t *q, size_t nq, const uint8_t *db, size_t n_db,
                          size_t bits, const l2h_groundtruth *gt, const l2h_eval_params *p,
                          l2h_eval_result *out);

/* online */
typedef struct l2h_online l2h_online;
typedef enum l2h_online_policy {
    L2H_ONLINE_POLICY_FIXED = 0, L2H_ONLINE_POLICY_TRIGGER = 1, L2H_ONLINE_POLICY_TRIGGER_SE = 2,
    L2H_ONLINE_POLICY_TRIGGER_UNPAIRED = 3, L2H_ONLINE_POLICY_COUNT
} l2h_online_policy;
typedef struct l2h_online_params {
    const char *method; size_t bits; size_t reservoir; size_t interval; l2h_online_policy policy;
    double theta; uint64_t seed; size_t n_checkpoints; size_t n_init; size_t reservoir_prefill;
    size_t batch; float dist_threshold; double okh_c; double okh_alpha; size_t okh_anchors;
    double osh_eta; int osh_boost; double adapt_alpha; double adapt_beta; double adapt_step;
    size_t sketch_size; size_t mihash_bins; double mihash_scale; double mihash_step;
    double mihash_decay; int mihash_reference_grad; double confidence;
    ...;
} l2h_online_params;
typedef struct l2h_online_stats {
    size_t items; size_t steps; size_t checks; size_t updates; uint64_t bits_recomputed;
    size_t n_checkpoints; double map_auc; double map_final;
    ...;
} l2h_online_stats;
l2h_online_params l2h_online_default_params(void);
const char *const *l2h_online_methods(void);
l2h_status l2h_online_create(l2h_online **out, const l2h_online_params *p, size_t dim);
void l2h_online_free(l2h_online *o);
l2h_status l2h_online_run(l2h_online *o, const l2h_dataset *pool, const l2h_dataset *db,
                          const l2h_dataset *queries, size_t n_items);
l2h_status l2h_online_begin(l2h_online *o, const float *init_x, const int32_t *init_labels,
                            size_t n_init, const l2h_dataset *db);
l2h_status l2h_online_push(l2h_online *o, const float *x, const int32_t *labels, size_t n,
                           const l2h_dataset *db);
l2h_status l2h_online_flush(l2h_online *o, const l2h_dataset *db);
size_t l2h_online_bits(const l2h_online *o);
size_t l2h_online_dim(const l2h_online *o);
l2h_status l2h_online_encode(const l2h_online *o, const float *x, size_t n, uint8_t *codes);
l2h_status l2h_online_encode_current(const l2h_online *o, const float *x, size_t n,
                                     uint8_t *codes);
l2h_status l2h_online_table(const l2h_online *o, uint8_t *out, size_t n_db);
l2h_status l2h_online_get_stats(const l2h_online *o, l2h_online_stats *out);
l2h_status l2h_online_curve(const l2h_online *o, size_t n, size_t *items, double *map,
                            size_t *updates);
"""

# cffi's setuptools hook executes this file without __file__; setup.py runs in python/.
HERE = os.path.dirname(os.path.abspath(globals().get("__file__", os.path.join("l2h", "_build.py"))))
REPO = os.path.dirname(os.path.dirname(HERE))


def _locate():
    """(include_dirs, library_dirs) of the l2h library to build against."""
    build = os.environ.get("L2H_BUILD_DIR")
    if not build and os.path.isfile(os.path.join(REPO, "CMakeLists.txt")):
        build = os.path.join(REPO, "build", "release")
    if build:
        lib = os.path.join(os.path.abspath(build), "src")
        if os.path.exists(os.path.join(lib, "libl2h.so")):
            return [os.path.join(REPO, "include")], [lib]
    try:
        cflags = subprocess.run(["pkg-config", "--cflags", "l2h"], check=True,
                                capture_output=True, text=True).stdout
        libs = subprocess.run(["pkg-config", "--libs-only-L", "l2h"], check=True,
                              capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        raise SystemExit("l2h: cannot find libl2h: build it first (cmake --preset release && "
                         "cmake --build --preset release), or set L2H_BUILD_DIR to a build tree, "
                         "or install it so that `pkg-config l2h` finds it")
    inc = [f[2:] for f in shlex.split(cflags) if f.startswith("-I")]
    lib = [f[2:] for f in shlex.split(libs) if f.startswith("-L")]
    if not lib:
        lib = [subprocess.run(["pkg-config", "--variable=libdir", "l2h"], check=True,
                              capture_output=True, text=True).stdout.strip()]
    return inc, lib


# Declared only when the library's headers have them (newer libraries): the package uses them
# when present (hasattr(lib, ...)) and falls back otherwise.
OPTIONAL_CDEF = {
    "l2h_online_model": """
typedef enum l2h_online_mapping { L2H_ONLINE_CURRENT = 0, L2H_ONLINE_SNAPSHOT = 1 } l2h_online_mapping;
l2h_status l2h_online_model(const l2h_online *o, l2h_online_mapping which, l2h_model **out);
""",
}


# Struct fields of newer headers: (struct, marker in the header, fields to declare).
OPTIONAL_FIELDS = [
    ("l2h_online_params", "double dist_percentile;",
     "int center; int l2_normalize; double dist_percentile;"),
]


def _headers(include_dirs):
    text = ""
    for d in include_dirs:
        for h in ("online.h", "train.h", "model.h"):
            try:
                with open(os.path.join(d, "l2h", h), encoding="utf-8") as f:
                    text += f.read()
            except OSError:
                pass
    return text


def _cdef(include_dirs):
    text = _headers(include_dirs)
    cdef = CDEF
    for struct, marker, fields in OPTIONAL_FIELDS:
        if marker in text:
            end = cdef.index(f"}} {struct};")
            cdef = cdef[:end - len("    ...;\n")] + f"    {fields}\n" + cdef[end - len("    ...;\n"):]
    return cdef + "".join(v for k, v in OPTIONAL_CDEF.items() if f"{k}(" in text)


_inc, _lib = _locate()
ffibuilder = FFI()
ffibuilder.cdef(_cdef(_inc))
ffibuilder.set_source("l2h._l2h_cffi", '#include "l2h/l2h.h"', include_dirs=_inc,
                      library_dirs=_lib, runtime_library_dirs=_lib, libraries=["l2h"],
                      extra_compile_args=["-O2"])

if __name__ == "__main__":
    # In-place build for the repository (scripts/quickstart.sh, `cmake --build ... -t python`):
    # intermediate files under the build tree, the extension next to this file.
    import shutil
    work = os.path.join(os.path.dirname(_lib[0]), "python")
    os.makedirs(work, exist_ok=True)
    so = ffibuilder.compile(tmpdir=work, verbose=False)
    shutil.copy2(so, HERE)
    print(os.path.join(HERE, os.path.basename(so)))
