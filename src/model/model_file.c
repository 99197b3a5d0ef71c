/* model_file.c -- model files: a safetensors container (src/io/safetensors.h) holding the
 * model's metadata map, the preprocessing tensor and the network's tensors; and the table of
 * network architectures the loader knows. Layout and keys: docs/models.md. */
#include "model_internal.h"

#include "io_internal.h"

#include <math.h>
#include <string.h>

/* Every architecture a model file may name. Adding one: its ops table here. */
static const l2h_net_ops *const arch_table[] = {&l2h_net_linear_ops, &l2h_net_mlp_ops,
                                                 &l2h_net_cnn_ops, &l2h_net_kernel_ops};

const l2h_net_ops *l2h_net_ops_find(const char *arch)
{
    for (size_t i = 0; i < sizeof arch_table / sizeof arch_table[0]; i++)
        if (strcmp(arch_table[i]->arch, arch) == 0) return arch_table[i];
    return NULL;
}

/* ---- save ---------------------------------------------------------------------------------- */

/* The extra tensors and their "extra_tensors" list (no entry when there are none). */
static l2h_status write_extra(const l2h_model *m, l2h_st_writer *w)
{
    if (m->n_extra == 0) return L2H_OK;
    size_t len = 1;
    for (size_t i = 0; i < m->n_extra; i++)
        len += strlen(m->extra[i].name) + 1;
    char *list = l2h_malloc(len);
    L2H_NOMEM_IF_NULL(list);
    list[0] = '\0';
    l2h_status st = L2H_OK;
    for (size_t i = 0; i < m->n_extra && st == L2H_OK; i++) {
        const l2h_model_tensor *t = &m->extra[i];
        if (i) strcat(list, ",");
        strcat(list, t->name);
        st = l2h_st_writer_add(w, t->name, L2H_ST_F32, t->ndim, t->shape, t->data);
    }
    if (st == L2H_OK) st = l2h_st_writer_set_meta(w, "extra_tensors", list);
    l2h_free(list);
    return st;
}

/* Fills a writer with everything the file holds. The model's own fields override any stale
 * copy in the metadata map; library_version is the version writing the file. */
static l2h_status model_writer(const l2h_model *m, l2h_st_writer **out)
{
    *out = NULL;
    l2h_st_writer *w;
    L2H_TRY(l2h_st_writer_create(&w));
    l2h_status st = L2H_OK;
    for (size_t i = 0; i < m->n_meta && st == L2H_OK; i++)
        st = l2h_st_writer_set_meta(w, m->meta_keys[i], m->meta_vals[i]);
    char num[32];
    snprintf(num, sizeof num, "%d", L2H_MODEL_FORMAT_VERSION);
    if (st == L2H_OK) st = l2h_st_writer_set_meta(w, "format", L2H_MODEL_FORMAT);
    if (st == L2H_OK) st = l2h_st_writer_set_meta(w, "format_version", num);
    if (st == L2H_OK) st = l2h_st_writer_set_meta(w, "library_version", l2h_version_string());
    if (st == L2H_OK) st = l2h_st_writer_set_meta(w, "method", m->method);
    if (st == L2H_OK) st = l2h_st_writer_set_meta(w, "arch", m->net->ops->arch);
    snprintf(num, sizeof num, "%zu", m->bits);
    if (st == L2H_OK) st = l2h_st_writer_set_meta(w, "bits", num);
    snprintf(num, sizeof num, "%zu", m->dim);
    if (st == L2H_OK) st = l2h_st_writer_set_meta(w, "dim", num);
    if (st == L2H_OK) st = l2h_st_writer_set_meta(w, "center", m->center ? "1" : "0");
    if (st == L2H_OK)
        st = l2h_st_writer_set_meta(w, "l2_normalize", m->l2_normalize ? "1" : "0");
    if (st == L2H_OK && m->center)
        st = l2h_st_writer_add(w, "preprocess.mean", L2H_ST_F32, 1, &m->dim, m->mean);
    if (st == L2H_OK) st = m->net->ops->save(m->net, w);
    st = st == L2H_OK ? write_extra(m, w) : st;
    if (st != L2H_OK) {
        l2h_st_writer_free(w);
        return st;
    }
    *out = w;
    return L2H_OK;
}

l2h_status l2h_model_save(const l2h_model *m, const char *path)
{
    L2H_FAIL_IF(m == NULL || path == NULL, L2H_ERR_ARG, "l2h_model_save: NULL argument");
    l2h_st_writer *w;
    L2H_TRY(model_writer(m, &w));
    const l2h_status st = l2h_st_writer_save(w, path);
    l2h_st_writer_free(w);
    return st;
}

l2h_status l2h_model_to_mem(const l2h_model *m, uint8_t **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    l2h_st_writer *w;
    L2H_TRY(model_writer(m, &w));
    const l2h_status st = l2h_st_writer_to_mem(w, buf, len);
    l2h_st_writer_free(w);
    return st;
}

/* ---- load ---------------------------------------------------------------------------------- */

static const char *need_meta(const l2h_st_file *f, const char *key)
{
    const char *v = l2h_st_meta(f, key);
    if (!v) l2h_set_error(L2H_ERR_FORMAT, "%s: metadata entry \"%s\" is missing",
                          l2h_st_file_name(f), key);
    return v;
}

/* A decimal integer in [lo, hi]: digits only, no sign, no spaces. */
static l2h_status meta_size(const l2h_st_file *f, const char *key, size_t lo, size_t hi,
                            size_t *out)
{
    const char *v = need_meta(f, key);
    if (!v) return L2H_ERR_FORMAT;
    size_t x = 0;
    bool ok = v[0] != '\0';
    for (const char *p = v; ok && *p; p++) {
        ok = *p >= '0' && *p <= '9' && x <= (SIZE_MAX - 9) / 10;
        x = x * 10 + (size_t)(*p - '0');
    }
    L2H_FAIL_IF(!ok || x < lo || x > hi, L2H_ERR_FORMAT,
                "%s: metadata \"%s\" = \"%.40s\" is not an integer in [%zu, %zu]",
                l2h_st_file_name(f), key, v, lo, hi);
    *out = x;
    return L2H_OK;
}

typedef struct model_header {
    size_t version, bits, dim, center, l2_normalize;
    const char *method;
    const l2h_net_ops *ops;
} model_header;

static l2h_status read_header(const l2h_st_file *f, model_header *h)
{
    const char *name = l2h_st_file_name(f);
    const char *fmt = need_meta(f, "format");
    if (!fmt) return L2H_ERR_FORMAT;
    L2H_FAIL_IF(strcmp(fmt, L2H_MODEL_FORMAT) != 0, L2H_ERR_FORMAT,
                "%s: not an l2h model file (format \"%.40s\", expected \"%s\")", name, fmt,
                L2H_MODEL_FORMAT);
    L2H_TRY(meta_size(f, "format_version", 1, SIZE_MAX - 10, &h->version));
    L2H_FAIL_IF(h->version > L2H_MODEL_FORMAT_VERSION, L2H_ERR_VERSION,
                "%s: model format version %zu is newer than this library's %d (upgrade l2h)",
                name, h->version, L2H_MODEL_FORMAT_VERSION);
    h->method = need_meta(f, "method");
    if (!h->method) return L2H_ERR_FORMAT;
    /* Encoding is method-agnostic (preprocessing + network + sign), so any method name is
     * accepted; it only has to be a plain identifier. */
    L2H_FAIL_IF(!l2h_model_method_name_ok(h->method), L2H_ERR_FORMAT,
                "%s: method name \"%.40s\" is not 1..31 characters of [a-z0-9_-]", name,
                h->method);
    const char *arch = need_meta(f, "arch");
    if (!arch) return L2H_ERR_FORMAT;
    h->ops = l2h_net_ops_find(arch);
    L2H_FAIL_IF(!h->ops, L2H_ERR_UNSUPPORTED, "%s: unknown network architecture \"%.40s\"", name,
                arch);
    L2H_TRY(meta_size(f, "bits", 1, L2H_MAX_BITS, &h->bits));
    L2H_TRY(meta_size(f, "dim", 1, L2H_MODEL_MAX_DIM, &h->dim));
    L2H_TRY(meta_size(f, "center", 0, 1, &h->center));
    L2H_TRY(meta_size(f, "l2_normalize", 0, 1, &h->l2_normalize));
    return L2H_OK;
}

static l2h_status read_mean(const l2h_st_file *f, const model_header *h, float **mean)
{
    *mean = NULL;
    const char *name = l2h_st_file_name(f);
    if (!h->center) {
        L2H_FAIL_IF(l2h_st_find(f, "preprocess.mean") != NULL, L2H_ERR_FORMAT,
                    "%s: tensor 'preprocess.mean' present but center = 0", name);
        return L2H_OK;
    }
    const l2h_st_tensor *t; /* shape first: allocate only what the file backs */
    L2H_TRY(l2h_st_expect(f, "preprocess.mean", L2H_ST_F32, 1, &h->dim, &t));
    float *m = l2h_malloc_array(h->dim, sizeof *m);
    L2H_NOMEM_IF_NULL(m);
    l2h_status st = l2h_st_read(f, "preprocess.mean", L2H_ST_F32, 1, &h->dim, m);
    for (size_t i = 0; st == L2H_OK && i < h->dim; i++)
        if (!isfinite(m[i]))
            st = l2h_set_error(L2H_ERR_FORMAT, "%s: 'preprocess.mean' holds a non-finite value",
                               name);
    if (st != L2H_OK) l2h_free(m);
    else *mean = m;
    return st;
}

/* The tensors named by the "extra_tensors" entry, added to m. */
static l2h_status read_extra(const l2h_st_file *f, l2h_model *m)
{
    const char *list = l2h_st_meta(f, "extra_tensors");
    if (!list || !list[0]) return L2H_OK;
    const char *name = l2h_st_file_name(f);
    l2h_status st = L2H_OK;
    char key[256];
    for (const char *p = list; st == L2H_OK && *p;) {
        const char *e = strchr(p, ',');
        const size_t n = e ? (size_t)(e - p) : strlen(p);
        L2H_FAIL_IF(n == 0 || n >= sizeof key, L2H_ERR_FORMAT,
                    "%s: bad \"extra_tensors\" entry \"%.60s\"", name, list);
        memcpy(key, p, n);
        key[n] = '\0';
        const l2h_st_tensor *t = l2h_st_find(f, key);
        L2H_FAIL_IF(!t, L2H_ERR_FORMAT, "%s: extra tensor '%s' is missing", name, key);
        L2H_FAIL_IF(t->dtype != L2H_ST_F32 || t->ndim < 1 || t->ndim > 2 || t->numel == 0,
                    L2H_ERR_FORMAT, "%s: extra tensor '%s' must be F32 with 1 or 2 dimensions",
                    name, key);
        float *v = l2h_malloc_array(t->numel, sizeof *v);
        L2H_NOMEM_IF_NULL(v);
        st = l2h_st_read(f, key, L2H_ST_F32, t->ndim, t->shape, v);
        for (size_t i = 0; st == L2H_OK && i < t->numel; i++)
            if (!isfinite(v[i]))
                st = l2h_set_error(L2H_ERR_FORMAT, "%s: extra tensor '%s' holds a non-finite value",
                                   name, key);
        if (st == L2H_OK) {
            st = l2h_model_add_tensor(m, key, t->ndim, t->shape, v);
            if (st == L2H_ERR_ARG)
                st = l2h_set_error(L2H_ERR_FORMAT,
                                   "%s: extra tensor '%s' listed twice or not named <method>.<name>",
                                   name, key);
        }
        l2h_free(v);
        p = e ? e + 1 : p + n;
    }
    return st;
}

static l2h_status build_model(l2h_model **out, const l2h_st_file *f)
{
    model_header h;
    L2H_TRY(read_header(f, &h));
    float *mean;
    L2H_TRY(read_mean(f, &h, &mean));
    l2h_net *net = NULL;
    l2h_status st = h.ops->load(&net, f, h.dim, h.bits);
    if (st == L2H_OK && (net->in_dim != h.dim || net->out_dim != h.bits))
        st = l2h_set_error(L2H_ERR_FORMAT, "%s: network shape %zu -> %zu, metadata says %zu -> %zu",
                           l2h_st_file_name(f), net->in_dim, net->out_dim, h.dim, h.bits);
    l2h_model *m = NULL;
    if (st == L2H_OK) {
        st = l2h_model_create(&m, h.method, net, mean, (int)h.l2_normalize);
        net = NULL; /* taken by l2h_model_create */
    }
    l2h_net_free(net);
    l2h_free(mean);
    /* Keep the file's other entries (format_version, library_version, seed, itq_iters...);
     * the validated fields keep their canonical spelling. */
    static const char *const canonical[] = {"format", "method", "arch",         "bits",
                                            "dim",    "center", "l2_normalize", "extra_tensors"};
    for (size_t i = 0; st == L2H_OK && i < l2h_st_n_meta(f); i++) {
        const char *k, *v;
        l2h_st_meta_at(f, i, &k, &v);
        bool skip = k[0] == '\0';
        for (size_t j = 0; j < sizeof canonical / sizeof canonical[0] && !skip; j++)
            skip = strcmp(k, canonical[j]) == 0;
        if (!skip) st = l2h_model_set_meta(m, k, v);
    }
    if (st == L2H_OK) st = read_extra(f, m);
    if (st != L2H_OK) {
        l2h_model_free(m);
        return st;
    }
    *out = m;
    return L2H_OK;
}

l2h_status l2h_model_load_mem(l2h_model **out, const void *buf, size_t len, const char *name)
{
    L2H_FAIL_IF(out == NULL, L2H_ERR_ARG, "l2h_model_load_mem: NULL output");
    *out = NULL;
    if (!name) name = "<memory>";
    l2h_st_file *f;
    L2H_TRY(l2h_st_parse(&f, buf, len, name));
    const l2h_status st = build_model(out, f);
    l2h_st_file_free(f);
    return st;
}

l2h_status l2h_model_load(l2h_model **out, const char *path)
{
    L2H_FAIL_IF(out == NULL || path == NULL, L2H_ERR_ARG, "l2h_model_load: NULL argument");
    *out = NULL;
    uint8_t *buf;
    size_t len;
    L2H_TRY(l2h_read_file(path, L2H_MODEL_MAX_FILE, &buf, &len));
    const l2h_status st = l2h_model_load_mem(out, buf, len, path);
    l2h_free(buf);
    return st;
}
