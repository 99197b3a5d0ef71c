/* model_core.c -- the model handle: construction from a network, metadata, accessors, and the
 * preprocessing + network + sign pipeline (forward, encode), in row blocks so the scratch
 * memory stays bounded whatever n is. */
#include "model_internal.h"

#include "l2h/codes.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

bool l2h_model_method_name_ok(const char *name)
{
    size_t n = 0;
    for (; name[n] != '\0'; n++) {
        const char c = name[n];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
        if (n >= 31) return false;
    }
    return n > 0;
}

void l2h_net_free(l2h_net *net)
{
    if (net) net->ops->free(net);
}

void l2h_model_free(l2h_model *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->n_meta; i++) {
        l2h_free(m->meta_keys[i]);
        l2h_free(m->meta_vals[i]);
    }
    l2h_free(m->meta_keys);
    l2h_free(m->meta_vals);
    for (size_t i = 0; i < m->n_extra; i++) {
        l2h_free(m->extra[i].name);
        l2h_free(m->extra[i].data);
    }
    l2h_free(m->extra);
    l2h_net_free(m->net);
    l2h_free(m->mean);
    l2h_free(m->method);
    l2h_free(m);
}

l2h_status l2h_model_set_meta(l2h_model *m, const char *key, const char *value)
{
    L2H_FAIL_IF(!key || !value || key[0] == '\0', L2H_ERR_ARG, "model: empty metadata key");
    char *v = l2h_strdup(value);
    L2H_NOMEM_IF_NULL(v);
    for (size_t i = 0; i < m->n_meta; i++)
        if (strcmp(m->meta_keys[i], key) == 0) {
            l2h_free(m->meta_vals[i]);
            m->meta_vals[i] = v;
            return L2H_OK;
        }
    char *k = l2h_strdup(key);
    char **ks = k ? l2h_realloc(m->meta_keys, (m->n_meta + 1) * sizeof *ks) : NULL;
    if (ks) m->meta_keys = ks;
    char **vs = ks ? l2h_realloc(m->meta_vals, (m->n_meta + 1) * sizeof *vs) : NULL;
    if (vs) m->meta_vals = vs;
    if (!vs) {
        l2h_free(k);
        l2h_free(v);
        L2H_FAIL(L2H_ERR_NOMEM, "out of memory in %s", __func__);
    }
    m->meta_keys[m->n_meta] = k;
    m->meta_vals[m->n_meta++] = v;
    return L2H_OK;
}

l2h_status l2h_model_add_tensor(l2h_model *m, const char *name, size_t ndim, const size_t *shape,
                                const float *data)
{
    L2H_FAIL_IF(m == NULL || name == NULL || shape == NULL || data == NULL, L2H_ERR_ARG,
                "model: NULL extra tensor argument");
    L2H_FAIL_IF(name[0] == '\0' || strchr(name, ',') || !strcmp(name, "preprocess.mean"),
                L2H_ERR_ARG, "model: invalid extra tensor name \"%.40s\"", name);
    const size_t ml = strlen(m->method);
    L2H_FAIL_IF(strncmp(name, m->method, ml) != 0 || name[ml] != '.' || name[ml + 1] == '\0',
                L2H_ERR_ARG, "model: extra tensor \"%.40s\" must be named \"%s.<name>\"", name,
                m->method);
    L2H_FAIL_IF(l2h_model_find_tensor(m, name), L2H_ERR_ARG,
                "model: extra tensor \"%.40s\" already present", name);
    L2H_FAIL_IF(ndim < 1 || ndim > 2, L2H_ERR_ARG, "model: extra tensor with %zu dimensions", ndim);
    size_t numel = 1;
    for (size_t d = 0; d < ndim; d++)
        L2H_FAIL_IF(shape[d] == 0 || !l2h_mul_ok(numel, shape[d], &numel), L2H_ERR_ARG,
                    "model: extra tensor \"%.40s\" has an empty or huge shape", name);
    l2h_model_tensor t = {.name = l2h_strdup(name), .ndim = ndim};
    t.data = l2h_malloc_array(numel, sizeof *t.data);
    l2h_model_tensor *ex =
        t.name && t.data ? l2h_realloc(m->extra, (m->n_extra + 1) * sizeof *ex) : NULL;
    if (!ex) {
        l2h_free(t.name);
        l2h_free(t.data);
        L2H_FAIL(L2H_ERR_NOMEM, "out of memory in %s", __func__);
    }
    for (size_t d = 0; d < ndim; d++)
        t.shape[d] = shape[d];
    memcpy(t.data, data, numel * sizeof *t.data);
    m->extra = ex;
    m->extra[m->n_extra++] = t;
    return L2H_OK;
}

const l2h_model_tensor *l2h_model_find_tensor(const l2h_model *m, const char *name)
{
    for (size_t i = 0; m && name && i < m->n_extra; i++)
        if (!strcmp(m->extra[i].name, name)) return &m->extra[i];
    return NULL;
}

static l2h_status set_meta_size(l2h_model *m, const char *key, size_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%zu", v);
    return l2h_model_set_meta(m, key, buf);
}

static l2h_status set_standard_meta(l2h_model *m)
{
    L2H_TRY(l2h_model_set_meta(m, "format", L2H_MODEL_FORMAT));
    L2H_TRY(set_meta_size(m, "format_version", L2H_MODEL_FORMAT_VERSION));
    L2H_TRY(l2h_model_set_meta(m, "library_version", l2h_version_string()));
    L2H_TRY(l2h_model_set_meta(m, "method", m->method));
    L2H_TRY(l2h_model_set_meta(m, "arch", m->net->ops->arch));
    L2H_TRY(set_meta_size(m, "bits", m->bits));
    L2H_TRY(set_meta_size(m, "dim", m->dim));
    L2H_TRY(l2h_model_set_meta(m, "center", m->center ? "1" : "0"));
    return l2h_model_set_meta(m, "l2_normalize", m->l2_normalize ? "1" : "0");
}

l2h_status l2h_model_create(l2h_model **out, const char *method, l2h_net *net, const float *mean,
                            int l2_normalize)
{
    *out = NULL;
    if (!net || !method || !method[0] || net->in_dim == 0 || net->out_dim == 0 ||
        net->out_dim > L2H_MAX_BITS) {
        l2h_net_free(net);
        L2H_FAIL(L2H_ERR_ARG, "model: invalid network or method");
    }
    l2h_status st = L2H_OK;
    l2h_model *m = l2h_calloc(1, sizeof *m);
    if (!m) {
        l2h_net_free(net);
        L2H_FAIL(L2H_ERR_NOMEM, "out of memory in %s", __func__);
    }
    m->net = net;
    m->dim = net->in_dim;
    m->bits = net->out_dim;
    m->center = mean != NULL;
    m->l2_normalize = l2_normalize != 0;
    m->method = l2h_strdup(method);
    if (!m->method) L2H_FAIL_GOTO(L2H_ERR_NOMEM, "out of memory in %s", __func__);
    if (mean) {
        m->mean = l2h_malloc_array(m->dim, sizeof *m->mean);
        if (!m->mean) L2H_FAIL_GOTO(L2H_ERR_NOMEM, "out of memory in %s", __func__);
        memcpy(m->mean, mean, m->dim * sizeof *m->mean);
    }
    L2H_CHECK_GOTO(set_standard_meta(m));
    *out = m;
done:
    if (st != L2H_OK) l2h_model_free(m);
    return st;
}

size_t l2h_model_bits(const l2h_model *m) { return m ? m->bits : 0; }
size_t l2h_model_dim(const l2h_model *m) { return m ? m->dim : 0; }
const char *l2h_model_method(const l2h_model *m) { return m ? m->method : ""; }
const char *l2h_model_arch(const l2h_model *m) { return m ? m->net->ops->arch : ""; }
const l2h_net *l2h_model_net(const l2h_model *m) { return m->net; }

const char *l2h_model_meta(const l2h_model *m, const char *key)
{
    if (!m || !key) return "";
    for (size_t i = 0; i < m->n_meta; i++)
        if (strcmp(m->meta_keys[i], key) == 0) return m->meta_vals[i];
    return "";
}

void l2h_preprocess_rows(const float *mean, int l2_normalize, size_t dim, const float *x,
                         size_t n, float *out)
{
    for (size_t i = 0; i < n; i++) {
        const float *xi = x + i * dim;
        float *o = out + i * dim;
        if (mean)
            for (size_t j = 0; j < dim; j++) o[j] = xi[j] - mean[j];
        else if (o != xi)
            memcpy(o, xi, dim * sizeof *o);
        if (!l2_normalize) continue;
        double ss = 0.0;
        for (size_t j = 0; j < dim; j++) ss += (double)o[j] * (double)o[j];
        if (!(ss > 0.0)) continue; /* zero row (or NaN): left as is */
        const float inv = (float)(1.0 / sqrt(ss));
        for (size_t j = 0; j < dim; j++) o[j] *= inv;
    }
}

static bool needs_preprocessing(const l2h_model *m)
{
    return m->center || m->l2_normalize;
}

/* Rows per block: about 1 M floats of scratch (at least one row). */
static size_t block_rows(const l2h_model *m, size_t n)
{
    const size_t width = m->dim > m->bits ? m->dim : m->bits;
    size_t b = ((size_t)1 << 20) / width;
    if (b < 1) b = 1;
    return b < n ? b : n;
}

static l2h_status check_io(const l2h_model *m, const void *x, size_t n, const void *out,
                           const char *fn)
{
    L2H_FAIL_IF(m == NULL, L2H_ERR_ARG, "%s: NULL model", fn);
    L2H_FAIL_IF(n > 0 && (x == NULL || out == NULL), L2H_ERR_ARG, "%s: NULL buffer for %zu rows",
                fn, n);
    size_t tmp;
    L2H_FAIL_IF(!l2h_mul_ok(n, m->dim, &tmp) || !l2h_mul_ok(tmp, sizeof(float), &tmp) ||
                    !l2h_mul_ok(n, m->bits, &tmp) || !l2h_mul_ok(tmp, sizeof(float), &tmp),
                L2H_ERR_ARG, "%s: %zu rows overflow the address space", fn, n);
    return L2H_OK;
}

/* z[nb, bits] for x[nb, dim]; xp is scratch [nb, dim] (NULL when no preprocessing). */
static l2h_status forward_block(const l2h_model *m, const float *x, size_t nb, float *xp,
                                float *z)
{
    const float *in = x;
    if (xp) {
        l2h_preprocess_rows(m->mean, m->l2_normalize, m->dim, x, nb, xp);
        in = xp;
    }
    return m->net->ops->forward(m->net, in, nb, z);
}

l2h_status l2h_model_preprocess(const l2h_model *m, const float *x, size_t n, float *xp)
{
    L2H_TRY(check_io(m, x, n, xp, "l2h_model_preprocess"));
    l2h_preprocess_rows(m->mean, m->l2_normalize, m->dim, x, n, xp);
    return L2H_OK;
}

l2h_status l2h_model_forward(const l2h_model *m, const float *x, size_t n, float *z)
{
    L2H_TRY(check_io(m, x, n, z, "l2h_model_forward"));
    if (n == 0) return L2H_OK;
    const size_t bs = block_rows(m, n);
    float *xp = NULL;
    if (needs_preprocessing(m)) {
        xp = l2h_malloc_array(bs * m->dim, sizeof *xp);
        L2H_NOMEM_IF_NULL(xp);
    }
    l2h_status st = L2H_OK;
    for (size_t i = 0; i < n && st == L2H_OK; i += bs) {
        const size_t nb = n - i < bs ? n - i : bs;
        st = forward_block(m, x + i * m->dim, nb, xp, z + i * m->bits);
    }
    l2h_free(xp);
    return st;
}

l2h_status l2h_model_encode(const l2h_model *m, const float *x, size_t n, uint8_t *out)
{
    L2H_TRY(check_io(m, x, n, out, "l2h_model_encode"));
    if (n == 0) return L2H_OK;
    const size_t bs = block_rows(m, n), bytes = l2h_code_bytes(m->bits);
    float *xp = needs_preprocessing(m) ? l2h_malloc_array(bs * m->dim, sizeof *xp) : NULL;
    float *z = l2h_malloc_array(bs * m->bits, sizeof *z);
    l2h_status st = L2H_OK;
    if (!z || (needs_preprocessing(m) && !xp))
        L2H_FAIL_GOTO(L2H_ERR_NOMEM, "out of memory in %s", __func__);
    for (size_t i = 0; i < n && st == L2H_OK; i += bs) {
        const size_t nb = n - i < bs ? n - i : bs;
        st = forward_block(m, x + i * m->dim, nb, xp, z);
        if (st == L2H_OK) st = l2h_codes_pack(z, nb, m->bits, out + i * bytes);
    }
done:
    l2h_free(xp);
    l2h_free(z);
    return st;
}

float *l2h_model_params(l2h_model *m, size_t *n)
{
    return m->net->ops->params(m->net, n);
}

const float *l2h_model_params_const(const l2h_model *m, size_t *n)
{
    return m->net->ops->params((l2h_net *)(uintptr_t)m->net, n);
}

l2h_status l2h_model_encode_prepped(const l2h_model *m, const float *xp, size_t n, uint8_t *out)
{
    L2H_TRY(check_io(m, xp, n, out, "l2h_model_encode_prepped"));
    if (n == 0) return L2H_OK;
    const size_t bs = block_rows(m, n), bytes = l2h_code_bytes(m->bits);
    float *z = l2h_malloc_array(bs * m->bits, sizeof *z);
    L2H_NOMEM_IF_NULL(z);
    l2h_status st = L2H_OK;
    for (size_t i = 0; i < n && st == L2H_OK; i += bs) {
        const size_t nb = n - i < bs ? n - i : bs;
        st = m->net->ops->forward(m->net, xp + i * m->dim, nb, z);
        if (st == L2H_OK) st = l2h_codes_pack(z, nb, m->bits, out + i * bytes);
    }
    l2h_free(z);
    return st;
}

l2h_status l2h_model_clone(l2h_model **out, const l2h_model *m)
{
    *out = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    L2H_TRY(l2h_model_to_mem(m, &buf, &len));
    const l2h_status st = l2h_model_load_mem(out, buf, len, "model copy");
    l2h_free(buf);
    return st;
}

l2h_status l2h_model_set_provenance(l2h_model *m, const char *key, const char *value)
{
    L2H_FAIL_IF(m == NULL || key == NULL || value == NULL, L2H_ERR_ARG,
                "model provenance: NULL argument");
    L2H_FAIL_IF(strncmp(key, "train.", 6) != 0 || key[6] == '\0', L2H_ERR_ARG,
                "model provenance: key '%.64s' must start with \"train.\" (the other keys are "
                "the library's)",
                key);
    return l2h_model_set_meta(m, key, value);
}
