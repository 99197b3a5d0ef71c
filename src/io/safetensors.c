/* safetensors.c -- the safetensors container: writer (cJSON header, space padding, atomic
 * write) and a validating reader. Layout and rules in safetensors.h. */
#include "safetensors.h"

#include "io_internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c stores tensors in host byte order and needs a little-endian host"
#endif

static const struct {
    const char *name;
    size_t size;
} dtype_table[] = {
    {"BOOL", 1}, {"U8", 1},   {"I8", 1},   {"F8_E5M2", 1}, {"F8_E4M3", 1},
    {"I16", 2},  {"U16", 2},  {"F16", 2},  {"BF16", 2},    {"I32", 4},
    {"U32", 4},  {"F32", 4},  {"F64", 8},  {"I64", 8},     {"U64", 8},
};
_Static_assert(sizeof dtype_table / sizeof dtype_table[0] == L2H_ST_DTYPE_COUNT,
               "dtype_table must list every l2h_st_dtype");

/* JSON numbers are doubles: integers above 2^53 cannot be represented exactly. */
#define ST_MAX_INT 9007199254740992.0

const char *l2h_st_dtype_name(l2h_st_dtype t)
{
    return (unsigned)t < L2H_ST_DTYPE_COUNT ? dtype_table[t].name : NULL;
}

size_t l2h_st_dtype_size(l2h_st_dtype t)
{
    return (unsigned)t < L2H_ST_DTYPE_COUNT ? dtype_table[t].size : 0;
}

static bool dtype_parse(const char *s, l2h_st_dtype *out)
{
    for (int i = 0; i < L2H_ST_DTYPE_COUNT; i++)
        if (strcmp(s, dtype_table[i].name) == 0) {
            *out = (l2h_st_dtype)i;
            return true;
        }
    return false;
}

/* Element count of a shape; false on overflow. */
static bool shape_numel(size_t ndim, const size_t *shape, size_t *out)
{
    size_t n = 1;
    for (size_t i = 0; i < ndim; i++)
        if (!l2h_mul_ok(n, shape[i], &n)) return false;
    *out = n;
    return true;
}

static void shape_str(size_t ndim, const size_t *shape, char *buf, size_t cap)
{
    size_t at = (size_t)snprintf(buf, cap, "[");
    for (size_t i = 0; i < ndim && at < cap; i++)
        at += (size_t)snprintf(buf + at, cap - at, "%s%zu", i ? ", " : "", shape[i]);
    if (at < cap) snprintf(buf + at, cap - at, "]");
}

/* Strict UTF-8 (no overlong forms, no surrogates, <= U+10FFFF). json_text: also refuse control
 * bytes other than JSON whitespace, since raw control characters are invalid JSON anywhere.
 * Returns the offset of the first bad byte, or len. */
static size_t utf8_check(const uint8_t *s, size_t len, bool json_text)
{
    size_t i = 0;
    while (i < len) {
        const uint8_t c = s[i];
        if (c < 0x80) {
            if (json_text && c < 0x20 && c != '\t' && c != '\n' && c != '\r') return i;
            i++;
            continue;
        }
        size_t k;
        uint32_t cp, min;
        if ((c & 0xE0) == 0xC0) k = 1, cp = c & 0x1Fu, min = 0x80;
        else if ((c & 0xF0) == 0xE0) k = 2, cp = c & 0x0Fu, min = 0x800;
        else if ((c & 0xF8) == 0xF0) k = 3, cp = c & 0x07u, min = 0x10000;
        else return i;
        if (len - i <= k) return i;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80) return i;
            cp = cp << 6 | (s[i + j] & 0x3Fu);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
        i += k + 1;
    }
    return len;
}

static bool utf8_ok(const char *s)
{
    const size_t n = strlen(s);
    return utf8_check((const uint8_t *)s, n, false) == n;
}

/* ============================== writer ====================================================== */

typedef struct st_wtensor {
    char *name;
    l2h_st_dtype dtype;
    size_t ndim;
    size_t shape[L2H_ST_MAX_DIMS];
    size_t nbytes;
    const void *data;
} st_wtensor;

struct l2h_st_writer {
    st_wtensor *t;
    size_t n, cap;
    char **keys, **vals;
    size_t n_meta, cap_meta;
};

l2h_status l2h_st_writer_create(l2h_st_writer **out)
{
    *out = l2h_calloc(1, sizeof **out);
    L2H_NOMEM_IF_NULL(*out);
    return L2H_OK;
}

void l2h_st_writer_free(l2h_st_writer *w)
{
    if (!w) return;
    for (size_t i = 0; i < w->n; i++) l2h_free(w->t[i].name);
    for (size_t i = 0; i < w->n_meta; i++) {
        l2h_free(w->keys[i]);
        l2h_free(w->vals[i]);
    }
    l2h_free(w->t);
    l2h_free(w->keys);
    l2h_free(w->vals);
    l2h_free(w);
}

l2h_status l2h_st_writer_add(l2h_st_writer *w, const char *name, l2h_st_dtype dtype, size_t ndim,
                             const size_t *shape, const void *data)
{
    L2H_FAIL_IF(name == NULL || name[0] == '\0', L2H_ERR_ARG, "safetensors: empty tensor name");
    L2H_FAIL_IF(strcmp(name, "__metadata__") == 0, L2H_ERR_ARG,
                "safetensors: '__metadata__' is reserved");
    L2H_FAIL_IF(!utf8_ok(name), L2H_ERR_ARG, "safetensors: tensor name is not UTF-8");
    L2H_FAIL_IF((unsigned)dtype >= L2H_ST_DTYPE_COUNT, L2H_ERR_ARG,
                "safetensors: tensor '%s': invalid dtype %d", name, (int)dtype);
    L2H_FAIL_IF(ndim > L2H_ST_MAX_DIMS, L2H_ERR_ARG,
                "safetensors: tensor '%s': %zu dimensions (at most %d)", name, ndim,
                L2H_ST_MAX_DIMS);
    for (size_t i = 0; i < w->n; i++)
        L2H_FAIL_IF(strcmp(w->t[i].name, name) == 0, L2H_ERR_ARG,
                    "safetensors: duplicate tensor '%s'", name);
    size_t numel, nbytes;
    L2H_FAIL_IF(!shape_numel(ndim, shape, &numel) ||
                    !l2h_mul_ok(numel, dtype_table[dtype].size, &nbytes) ||
                    (double)nbytes > ST_MAX_INT,
                L2H_ERR_ARG, "safetensors: tensor '%s' is too large", name);
    L2H_FAIL_IF(nbytes > 0 && data == NULL, L2H_ERR_ARG, "safetensors: tensor '%s': no data",
                name);
    if (w->n == w->cap) {
        const size_t cap = w->cap ? 2 * w->cap : 8;
        st_wtensor *t = l2h_realloc(w->t, cap * sizeof *t);
        L2H_NOMEM_IF_NULL(t);
        w->t = t;
        w->cap = cap;
    }
    st_wtensor *t = &w->t[w->n];
    memset(t, 0, sizeof *t);
    t->name = l2h_strdup(name);
    L2H_NOMEM_IF_NULL(t->name);
    t->dtype = dtype;
    t->ndim = ndim;
    for (size_t i = 0; i < ndim; i++) t->shape[i] = shape[i];
    t->nbytes = nbytes;
    t->data = data;
    w->n++;
    return L2H_OK;
}

l2h_status l2h_st_writer_set_meta(l2h_st_writer *w, const char *key, const char *value)
{
    L2H_FAIL_IF(key == NULL || value == NULL, L2H_ERR_ARG, "safetensors: NULL metadata entry");
    L2H_FAIL_IF(!utf8_ok(key) || !utf8_ok(value), L2H_ERR_ARG,
                "safetensors: metadata '%s' is not UTF-8", key);
    char *v = l2h_strdup(value);
    L2H_NOMEM_IF_NULL(v);
    for (size_t i = 0; i < w->n_meta; i++)
        if (strcmp(w->keys[i], key) == 0) {
            l2h_free(w->vals[i]);
            w->vals[i] = v;
            return L2H_OK;
        }
    if (w->n_meta == w->cap_meta) {
        const size_t cap = w->cap_meta ? 2 * w->cap_meta : 16;
        char **k = l2h_realloc(w->keys, cap * sizeof *k);
        if (k) w->keys = k;
        char **vv = k ? l2h_realloc(w->vals, cap * sizeof *vv) : NULL;
        if (vv) w->vals = vv;
        if (!k || !vv) {
            l2h_free(v);
            L2H_FAIL(L2H_ERR_NOMEM, "out of memory in %s", __func__);
        }
        w->cap_meta = cap;
    }
    w->keys[w->n_meta] = l2h_strdup(key);
    if (!w->keys[w->n_meta]) {
        l2h_free(v);
        L2H_FAIL(L2H_ERR_NOMEM, "out of memory in %s", __func__);
    }
    w->vals[w->n_meta++] = v;
    return L2H_OK;
}

/* Tensor order in the data section: element size descending, then name, so each tensor starts
 * at a multiple of its element size (the data section starts at a multiple of 8). */
static int cmp_wtensor(const void *a, const void *b)
{
    const st_wtensor *x = *(const st_wtensor *const *)a, *y = *(const st_wtensor *const *)b;
    const size_t sx = dtype_table[x->dtype].size, sy = dtype_table[y->dtype].size;
    if (sx != sy) return sx > sy ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* A serialised header: the padded JSON text and the tensors in data order. */
typedef struct st_plan {
    char *json;           /* cJSON-allocated text                         */
    size_t header_len;    /* JSON length + padding, a multiple of 8       */
    const st_wtensor **order;
    size_t data_len;
} st_plan;

static void plan_free(st_plan *p)
{
    if (p->json) cJSON_free(p->json);
    l2h_free((void *)p->order);
    memset(p, 0, sizeof *p);
}

static bool add_raw_size(cJSON *arr, size_t v)
{
    char num[32];
    snprintf(num, sizeof num, "%zu", v); /* cJSON would print large doubles as 1e+15 */
    cJSON *x = cJSON_CreateRaw(num);
    if (x && cJSON_AddItemToArray(arr, x)) return true;
    cJSON_Delete(x);
    return false;
}

static bool add_tensor_json(cJSON *root, const st_wtensor *t, size_t begin)
{
    cJSON *o = cJSON_AddObjectToObject(root, t->name);
    if (!o || !cJSON_AddStringToObject(o, "dtype", dtype_table[t->dtype].name)) return false;
    cJSON *shape = cJSON_AddArrayToObject(o, "shape");
    cJSON *offs = shape ? cJSON_AddArrayToObject(o, "data_offsets") : NULL;
    if (!offs) return false;
    for (size_t i = 0; i < t->ndim; i++)
        if (!add_raw_size(shape, t->shape[i])) return false;
    return add_raw_size(offs, begin) && add_raw_size(offs, begin + t->nbytes);
}

static l2h_status plan_build(const l2h_st_writer *w, st_plan *p)
{
    memset(p, 0, sizeof *p);
    p->order = l2h_malloc_array(w->n ? w->n : 1, sizeof *p->order);
    L2H_NOMEM_IF_NULL(p->order);
    for (size_t i = 0; i < w->n; i++) p->order[i] = &w->t[i];
    qsort((void *)p->order, w->n, sizeof *p->order, cmp_wtensor);

    cJSON *root = cJSON_CreateObject();
    bool ok = root != NULL;
    if (ok && w->n_meta > 0) {
        cJSON *meta = cJSON_AddObjectToObject(root, "__metadata__");
        ok = meta != NULL;
        for (size_t i = 0; ok && i < w->n_meta; i++)
            ok = cJSON_AddStringToObject(meta, w->keys[i], w->vals[i]) != NULL;
    }
    size_t at = 0;
    for (size_t i = 0; ok && i < w->n; i++) {
        ok = (double)(at + p->order[i]->nbytes) <= ST_MAX_INT &&
             add_tensor_json(root, p->order[i], at);
        at += p->order[i]->nbytes;
    }
    p->json = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!p->json) {
        plan_free(p);
        L2H_FAIL(L2H_ERR_NOMEM, "safetensors: out of memory (or data too large) for the header");
    }
    p->header_len = (strlen(p->json) + 7) / 8 * 8;
    p->data_len = at;
    return L2H_OK;
}

/* Sink for the serialised bytes: a FILE or a memory buffer. */
typedef struct st_sink {
    FILE *f;
    const char *path;
    uint8_t *mem;
    size_t at;
} st_sink;

static l2h_status sink_put(st_sink *s, const void *buf, size_t len)
{
    if (len == 0) return L2H_OK;
    if (s->f) return l2h_fwrite_all(s->f, buf, len, s->path);
    memcpy(s->mem + s->at, buf, len);
    s->at += len;
    return L2H_OK;
}

static l2h_status plan_emit(const st_plan *p, size_t n, st_sink *s)
{
    uint8_t len8[8];
    l2h_wr_le64(len8, p->header_len);
    L2H_TRY(sink_put(s, len8, 8));
    const size_t jl = strlen(p->json);
    L2H_TRY(sink_put(s, p->json, jl));
    static const char spaces[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
    L2H_TRY(sink_put(s, spaces, p->header_len - jl));
    for (size_t i = 0; i < n; i++) L2H_TRY(sink_put(s, p->order[i]->data, p->order[i]->nbytes));
    return L2H_OK;
}

typedef struct st_save_ctx {
    const st_plan *plan;
    size_t n;
} st_save_ctx;

static l2h_status save_cb(FILE *f, const char *path, void *ctx)
{
    const st_save_ctx *c = ctx;
    st_sink s = {.f = f, .path = path};
    return plan_emit(c->plan, c->n, &s);
}

l2h_status l2h_st_writer_save(const l2h_st_writer *w, const char *path)
{
    st_plan p;
    L2H_TRY(plan_build(w, &p));
    st_save_ctx c = {&p, w->n};
    const l2h_status st = l2h_write_atomic(path, save_cb, &c);
    plan_free(&p);
    return st;
}

l2h_status l2h_st_writer_to_mem(const l2h_st_writer *w, uint8_t **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    st_plan p;
    L2H_TRY(plan_build(w, &p));
    const size_t total = 8 + p.header_len + p.data_len;
    st_sink s = {.mem = l2h_malloc(total)};
    if (!s.mem) {
        plan_free(&p);
        L2H_FAIL(L2H_ERR_NOMEM, "safetensors: out of memory for %zu bytes", total);
    }
    const l2h_status st = plan_emit(&p, w->n, &s);
    plan_free(&p);
    if (st != L2H_OK) {
        l2h_free(s.mem);
        return st;
    }
    *buf = s.mem;
    *len = total;
    return L2H_OK;
}

/* ============================== reader ====================================================== */

struct l2h_st_file {
    char *name;
    cJSON *root; /* owns the strings the tensors and metadata point to */
    l2h_st_tensor *t;
    size_t n;
    const char **keys, **vals;
    size_t n_meta;
};

void l2h_st_file_free(l2h_st_file *f)
{
    if (!f) return;
    cJSON_Delete(f->root);
    l2h_free(f->name);
    l2h_free(f->t);
    l2h_free((void *)f->keys);
    l2h_free((void *)f->vals);
    l2h_free(f);
}

const char *l2h_st_file_name(const l2h_st_file *f) { return f->name; }
size_t l2h_st_n_tensors(const l2h_st_file *f) { return f->n; }
size_t l2h_st_n_meta(const l2h_st_file *f) { return f->n_meta; }

const l2h_st_tensor *l2h_st_tensor_at(const l2h_st_file *f, size_t i)
{
    return i < f->n ? &f->t[i] : NULL;
}

const l2h_st_tensor *l2h_st_find(const l2h_st_file *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->t[i].name, name) == 0) return &f->t[i];
    return NULL;
}

void l2h_st_meta_at(const l2h_st_file *f, size_t i, const char **key, const char **value)
{
    *key = i < f->n_meta ? f->keys[i] : NULL;
    *value = i < f->n_meta ? f->vals[i] : NULL;
}

const char *l2h_st_meta(const l2h_st_file *f, const char *key)
{
    for (size_t i = 0; i < f->n_meta; i++)
        if (strcmp(f->keys[i], key) == 0) return f->vals[i];
    return NULL;
}

static bool json_size(const cJSON *v, size_t *out)
{
    if (!cJSON_IsNumber(v)) return false;
    const double d = v->valuedouble;
    if (!(d >= 0.0 && d <= ST_MAX_INT) || floor(d) != d) return false;
    *out = (size_t)d;
    return true;
}

static l2h_status parse_meta(l2h_st_file *f, const cJSON *meta)
{
    L2H_FAIL_IF(!cJSON_IsObject(meta), L2H_ERR_FORMAT,
                "%s: \"__metadata__\" is not an object of strings", f->name);
    size_t n = 0;
    for (const cJSON *e = meta->child; e; e = e->next) n++;
    f->keys = l2h_malloc_array(n ? n : 1, sizeof *f->keys);
    f->vals = l2h_malloc_array(n ? n : 1, sizeof *f->vals);
    L2H_FAIL_IF(!f->keys || !f->vals, L2H_ERR_NOMEM, "%s: out of memory", f->name);
    for (const cJSON *e = meta->child; e; e = e->next) {
        L2H_FAIL_IF(!cJSON_IsString(e) || e->valuestring == NULL, L2H_ERR_FORMAT,
                    "%s: metadata entry '%s' is not a string", f->name, e->string);
        for (size_t i = 0; i < f->n_meta; i++)
            L2H_FAIL_IF(strcmp(f->keys[i], e->string) == 0, L2H_ERR_FORMAT,
                        "%s: duplicate metadata key '%s'", f->name, e->string);
        f->keys[f->n_meta] = e->string;
        f->vals[f->n_meta++] = e->valuestring;
    }
    return L2H_OK;
}

static l2h_status parse_tensor(const l2h_st_file *f, const cJSON *e, l2h_st_tensor *t)
{
    const char *nm = e->string;
    L2H_FAIL_IF(!cJSON_IsObject(e), L2H_ERR_FORMAT, "%s: tensor '%s' is not an object", f->name,
                nm);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *of = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    L2H_FAIL_IF(!cJSON_IsString(dt) || !cJSON_IsArray(sh) || !cJSON_IsArray(of), L2H_ERR_FORMAT,
                "%s: tensor '%s' needs a string \"dtype\" and arrays \"shape\" and "
                "\"data_offsets\"",
                f->name, nm);
    memset(t, 0, sizeof *t);
    t->name = nm;
    L2H_FAIL_IF(!dtype_parse(dt->valuestring, &t->dtype), L2H_ERR_FORMAT,
                "%s: tensor '%s' has unknown dtype \"%.32s\"", f->name, nm, dt->valuestring);
    for (const cJSON *d = sh->child; d; d = d->next) {
        L2H_FAIL_IF(t->ndim == L2H_ST_MAX_DIMS, L2H_ERR_FORMAT,
                    "%s: tensor '%s' has more than %d dimensions", f->name, nm, L2H_ST_MAX_DIMS);
        L2H_FAIL_IF(!json_size(d, &t->shape[t->ndim]), L2H_ERR_FORMAT,
                    "%s: tensor '%s': shape entries must be integers >= 0", f->name, nm);
        t->ndim++;
    }
    size_t nbytes;
    L2H_FAIL_IF(!shape_numel(t->ndim, t->shape, &t->numel) ||
                    !l2h_mul_ok(t->numel, dtype_table[t->dtype].size, &nbytes),
                L2H_ERR_FORMAT, "%s: tensor '%s': shape overflows", f->name, nm);
    L2H_FAIL_IF(cJSON_GetArraySize(of) != 2 || !json_size(of->child, &t->begin) ||
                    !json_size(of->child->next, &t->end),
                L2H_ERR_FORMAT, "%s: tensor '%s': \"data_offsets\" must be [begin, end]", f->name,
                nm);
    L2H_FAIL_IF(t->end < t->begin || t->end - t->begin != nbytes, L2H_ERR_FORMAT,
                "%s: tensor '%s': data_offsets [%zu, %zu] hold %zu bytes but %s shape needs %zu",
                f->name, nm, t->begin, t->end, t->end >= t->begin ? t->end - t->begin : 0,
                dtype_table[t->dtype].name, nbytes);
    return L2H_OK;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const l2h_st_tensor *)a)->name, ((const l2h_st_tensor *)b)->name);
}

static int cmp_range(const void *a, const void *b)
{
    const l2h_st_tensor *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return (x->end > y->end) - (x->end < y->end);
}

/* Names unique; ranges tile [0, data_len) exactly. Works on a sorted copy. */
static l2h_status check_layout(const l2h_st_file *f, size_t data_len)
{
    if (f->n == 0) {
        L2H_FAIL_IF(data_len != 0, L2H_ERR_FORMAT,
                    "%s: %zu bytes of data but no tensor describes them", f->name, data_len);
        return L2H_OK;
    }
    l2h_st_tensor *s = l2h_malloc_array(f->n, sizeof *s);
    L2H_FAIL_IF(!s, L2H_ERR_NOMEM, "%s: out of memory", f->name);
    memcpy(s, f->t, f->n * sizeof *s);
    l2h_status st = L2H_OK;
    qsort(s, f->n, sizeof *s, cmp_name);
    for (size_t i = 1; i < f->n; i++)
        if (strcmp(s[i - 1].name, s[i].name) == 0)
            L2H_FAIL_GOTO(L2H_ERR_FORMAT, "%s: duplicate tensor '%s'", f->name, s[i].name);
    qsort(s, f->n, sizeof *s, cmp_range);
    size_t at = 0;
    for (size_t i = 0; i < f->n; i++) {
        if (s[i].begin > at)
            L2H_FAIL_GOTO(L2H_ERR_FORMAT, "%s: bytes [%zu, %zu) of the data belong to no tensor",
                          f->name, at, s[i].begin);
        if (s[i].begin < at)
            L2H_FAIL_GOTO(L2H_ERR_FORMAT, "%s: tensor '%s' overlaps another tensor at byte %zu",
                          f->name, s[i].name, s[i].begin);
        at = s[i].end;
    }
    if (at > data_len)
        L2H_FAIL_GOTO(L2H_ERR_FORMAT,
                      "%s: truncated: tensors need %zu bytes of data, the file holds %zu",
                      f->name, at, data_len);
    if (at < data_len)
        L2H_FAIL_GOTO(L2H_ERR_FORMAT, "%s: %zu trailing bytes after the last tensor", f->name,
                      data_len - at);
done:
    l2h_free(s);
    return st;
}

static l2h_status parse_header(l2h_st_file *f, const uint8_t *b, size_t len)
{
    L2H_FAIL_IF(len < 8, L2H_ERR_FORMAT,
                "%s: truncated: %zu bytes, not even the 8-byte header length", f->name, len);
    const uint64_t n64 = l2h_rd_le64(b);
    L2H_FAIL_IF(n64 > L2H_ST_MAX_HEADER, L2H_ERR_FORMAT,
                "%s: header length %llu exceeds the %zu-byte limit (not a safetensors file?)",
                f->name, (unsigned long long)n64, L2H_ST_MAX_HEADER);
    const size_t n = (size_t)n64;
    L2H_FAIL_IF(n > len - 8, L2H_ERR_FORMAT,
                "%s: truncated: header length %zu but only %zu bytes follow", f->name, n, len - 8);
    const char *h = (const char *)b + 8;
    L2H_FAIL_IF(n < 2 || h[0] != '{', L2H_ERR_FORMAT,
                "%s: the header is not a JSON object (must start with '{')", f->name);
    const size_t bad = utf8_check(b + 8, n, true);
    L2H_FAIL_IF(bad != n, L2H_ERR_FORMAT,
                "%s: header byte %zu is not valid UTF-8 JSON text (byte 0x%02x)", f->name, bad,
                (unsigned)b[8 + bad]);
    const char *end = NULL;
    f->root = cJSON_ParseWithLengthOpts(h, n, &end, 0);
    if (!f->root) {
        const size_t at = end && end >= h && end <= h + n ? (size_t)(end - h) : 0;
        L2H_FAIL(L2H_ERR_FORMAT, "%s: the header is not valid JSON (error near byte %zu)", f->name,
                 at);
    }
    for (const char *p = end; p < h + n; p++)
        L2H_FAIL_IF(*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r', L2H_ERR_FORMAT,
                    "%s: unexpected byte 0x%02x after the JSON header (at %zu)", f->name,
                    (unsigned)(uint8_t)*p, (size_t)(p - h));
    L2H_FAIL_IF(!cJSON_IsObject(f->root), L2H_ERR_FORMAT, "%s: the header is not a JSON object",
                f->name);
    size_t nt = 0;
    for (const cJSON *e = f->root->child; e; e = e->next) nt++;
    f->t = l2h_malloc_array(nt ? nt : 1, sizeof *f->t);
    L2H_FAIL_IF(!f->t, L2H_ERR_NOMEM, "%s: out of memory for %zu tensors", f->name, nt);
    bool seen_meta = false;
    for (const cJSON *e = f->root->child; e; e = e->next) {
        if (strcmp(e->string, "__metadata__") == 0) {
            L2H_FAIL_IF(seen_meta, L2H_ERR_FORMAT, "%s: duplicate \"__metadata__\"", f->name);
            seen_meta = true;
            L2H_TRY(parse_meta(f, e));
            continue;
        }
        L2H_TRY(parse_tensor(f, e, &f->t[f->n]));
        f->n++;
    }
    const size_t data_off = 8 + n;
    L2H_TRY(check_layout(f, len - data_off));
    for (size_t i = 0; i < f->n; i++) f->t[i].data = b + data_off + f->t[i].begin;
    return L2H_OK;
}

l2h_status l2h_st_parse(l2h_st_file **out, const void *buf, size_t len, const char *name)
{
    *out = NULL;
    L2H_FAIL_IF(buf == NULL && len > 0, L2H_ERR_ARG, "safetensors: NULL buffer");
    l2h_st_file *f = l2h_calloc(1, sizeof *f);
    L2H_NOMEM_IF_NULL(f);
    f->name = l2h_strdup(name ? name : "<memory>");
    if (!f->name) {
        l2h_free(f);
        L2H_FAIL(L2H_ERR_NOMEM, "out of memory in %s", __func__);
    }
    const l2h_status st = parse_header(f, buf, len);
    if (st != L2H_OK) {
        l2h_st_file_free(f);
        return st;
    }
    *out = f;
    return L2H_OK;
}

l2h_status l2h_st_expect(const l2h_st_file *f, const char *name, l2h_st_dtype dtype, size_t ndim,
                         const size_t *shape, const l2h_st_tensor **out)
{
    *out = NULL;
    const l2h_st_tensor *t = l2h_st_find(f, name);
    L2H_FAIL_IF(!t, L2H_ERR_FORMAT, "%s: tensor '%s' is missing", f->name, name);
    L2H_FAIL_IF(t->dtype != dtype, L2H_ERR_FORMAT, "%s: tensor '%s' has dtype %s, expected %s",
                f->name, name, dtype_table[t->dtype].name, l2h_st_dtype_name(dtype));
    bool same = t->ndim == ndim;
    for (size_t i = 0; same && i < ndim; i++) same = t->shape[i] == shape[i];
    if (!same) {
        char got[128], want[128];
        shape_str(t->ndim, t->shape, got, sizeof got);
        shape_str(ndim, shape, want, sizeof want);
        L2H_FAIL(L2H_ERR_FORMAT, "%s: tensor '%s' has shape %s, expected %s", f->name, name, got,
                 want);
    }
    *out = t;
    return L2H_OK;
}

l2h_status l2h_st_read(const l2h_st_file *f, const char *name, l2h_st_dtype dtype, size_t ndim,
                       const size_t *shape, void *out)
{
    const l2h_st_tensor *t;
    L2H_TRY(l2h_st_expect(f, name, dtype, ndim, shape, &t));
    if (t->end > t->begin) memcpy(out, t->data, t->end - t->begin);
    return L2H_OK;
}
