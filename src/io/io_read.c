/* io_read.c -- the public readers: pick the format, run its parser on the bytes of the file (or
 * the caller's buffer), convert the view to a dataset or to labels. Files are read whole; the
 * parsers then never touch memory outside the buffer. */
#include "io_read.h"

#include <string.h>

static const l2h_read_params *params_or_default(const l2h_read_params *p, l2h_read_params *tmp)
{
    if (p) return p;
    *tmp = l2h_read_default_params();
    return tmp;
}

static l2h_status resolve_format(const l2h_read_params *p, const char *name, l2h_format *f)
{
    L2H_FAIL_IF((int)p->format < 0 || p->format >= L2H_FORMAT_COUNT, L2H_ERR_ARG,
                "%s: invalid format %d", name, (int)p->format);
    if (p->format != L2H_FORMAT_AUTO) {
        *f = p->format;
        return L2H_OK;
    }
    return l2h_format_from_name(name, f);
}

l2h_status l2h_view_mem(const uint8_t *buf, size_t len, const char *name, l2h_format f,
                        size_t dim, size_t max_rows, l2h_mat_view *v)
{
    memset(v, 0, sizeof *v);
    switch (f) {
    case L2H_FORMAT_FVECS: return l2h_vecs_view(buf, len, name, L2H_ELEM_F32, max_rows, v);
    case L2H_FORMAT_IVECS: return l2h_vecs_view(buf, len, name, L2H_ELEM_I32, max_rows, v);
    case L2H_FORMAT_BVECS: return l2h_vecs_view(buf, len, name, L2H_ELEM_U8, max_rows, v);
    case L2H_FORMAT_NPY: return l2h_npy_view(buf, len, name, max_rows, v);
    case L2H_FORMAT_IDX: return l2h_idx_view(buf, len, name, max_rows, v);
    case L2H_FORMAT_F32: return l2h_raw_view(buf, len, name, L2H_ELEM_F32, dim, max_rows, v);
    case L2H_FORMAT_F16: return l2h_raw_view(buf, len, name, L2H_ELEM_F16, dim, max_rows, v);
    case L2H_FORMAT_U8: return l2h_raw_view(buf, len, name, L2H_ELEM_U8, dim, max_rows, v);
    default:
        L2H_FAIL(L2H_ERR_ARG, "%s: format %s has no matrix parser", name, l2h_format_name(f));
    }
}

l2h_status l2h_view_file(const char *path, l2h_format f, size_t dim, size_t max_rows,
                         l2h_mat_view *v)
{
    memset(v, 0, sizeof *v);
    uint8_t *buf;
    size_t len;
    L2H_TRY(l2h_read_file(path, L2H_READ_MAX_FILE, &buf, &len));
    const l2h_status st = l2h_view_mem(buf, len, path, f, dim, max_rows, v);
    if (st == L2H_OK && v->owned == NULL) v->owned = buf; /* the view points into buf */
    else l2h_free(buf);
    return st;
}

static l2h_status view_to_dataset(const l2h_mat_view *v, const char *name, size_t want_dim,
                                  l2h_dataset **out)
{
    L2H_FAIL_IF(v->rows == 0, L2H_ERR_FORMAT, "%s: no rows", name);
    L2H_FAIL_IF(v->cols == 0, L2H_ERR_FORMAT, "%s: rows have no values (dimension 0)", name);
    L2H_FAIL_IF(want_dim && v->cols != want_dim, L2H_ERR_FORMAT,
                "%s: rows have %zu values but dim = %zu was requested", name, v->cols, want_dim);
    l2h_dataset *ds;
    L2H_TRY(l2h_dataset_create(&ds, v->rows, v->cols, NULL));
    const l2h_status st = l2h_view_to_float(v, name, ds->x);
    if (st != L2H_OK) {
        l2h_dataset_free(ds);
        return st;
    }
    *out = ds;
    return L2H_OK;
}

l2h_status l2h_dataset_read_mem(l2h_dataset **out, const void *buf, size_t len, const char *name,
                                const l2h_read_params *p)
{
    L2H_FAIL_IF(out == NULL, L2H_ERR_ARG, "read: NULL output");
    *out = NULL;
    if (name == NULL) name = "<memory>";
    L2H_FAIL_IF(buf == NULL && len > 0, L2H_ERR_ARG, "%s: NULL buffer", name);
    if (buf == NULL) buf = "";
    l2h_read_params tmp;
    p = params_or_default(p, &tmp);
    l2h_format f;
    L2H_TRY(resolve_format(p, name, &f));
    if (f == L2H_FORMAT_ARFF) {
        l2h_dataset *ds;
        L2H_TRY(l2h_arff_parse(buf, len, name, p->n_labels, p->max_rows, &ds));
        if (p->dim && ds->dim != p->dim) {
            const size_t got = ds->dim;
            l2h_dataset_free(ds);
            L2H_FAIL(L2H_ERR_FORMAT, "%s: %zu feature attributes but dim = %zu was requested",
                     name, got, p->dim);
        }
        *out = ds;
        return L2H_OK;
    }
    L2H_FAIL_IF(p->n_labels != 0, L2H_ERR_ARG,
                "%s: n_labels applies to ARFF files only; attach labels with a labels file", name);
    l2h_mat_view v;
    L2H_TRY(l2h_view_mem(buf, len, name, f, p->dim, p->max_rows, &v));
    const l2h_status st = view_to_dataset(&v, name, p->dim, out);
    l2h_view_free(&v);
    return st;
}

l2h_status l2h_dataset_read(l2h_dataset **out, const char *path, const l2h_read_params *p)
{
    L2H_FAIL_IF(out == NULL, L2H_ERR_ARG, "read: NULL output");
    *out = NULL;
    L2H_FAIL_IF(path == NULL, L2H_ERR_ARG, "read: NULL path");
    l2h_read_params tmp;
    p = params_or_default(p, &tmp);
    l2h_format f;
    L2H_TRY(resolve_format(p, path, &f)); /* before reading a large file for nothing */
    uint8_t *buf;
    size_t len;
    L2H_TRY(l2h_read_file(path, L2H_READ_MAX_FILE, &buf, &len));
    l2h_read_params q = *p;
    q.format = f;
    const l2h_status st = l2h_dataset_read_mem(out, buf, len, path, &q);
    l2h_free(buf);
    return st;
}

/* ---- labels ----------------------------------------------------------------------------- */

static l2h_status attach_labels(l2h_dataset *ds, const l2h_mat_view *v, const char *name)
{
    l2h_status st = L2H_OK;
    void *tmp = NULL;
    if (v->elem == L2H_ELEM_B1 || v->cols > 1) {
        tmp = l2h_malloc_array(v->rows, v->cols);
        L2H_NOMEM_IF_NULL(tmp);
        L2H_CHECK_GOTO(l2h_view_to_multi(v, name, tmp));
        L2H_CHECK_GOTO(l2h_dataset_set_multilabels(ds, v->cols, tmp));
    } else {
        tmp = l2h_malloc_array(v->rows, sizeof(int32_t));
        L2H_NOMEM_IF_NULL(tmp);
        L2H_CHECK_GOTO(l2h_view_to_classes(v, name, tmp));
        L2H_CHECK_GOTO(l2h_dataset_set_labels_named(ds, tmp, name));
    }
done:
    l2h_free(tmp);
    return st;
}

l2h_status l2h_dataset_read_labels_mem(l2h_dataset *ds, const void *buf, size_t len,
                                       const char *name, const l2h_read_params *p)
{
    if (name == NULL) name = "<memory>";
    L2H_FAIL_IF(ds == NULL, L2H_ERR_ARG, "%s: NULL dataset", name);
    L2H_FAIL_IF(buf == NULL && len > 0, L2H_ERR_ARG, "%s: NULL buffer", name);
    if (buf == NULL) buf = "";
    l2h_read_params tmp;
    p = params_or_default(p, &tmp);
    l2h_format f;
    L2H_TRY(resolve_format(p, name, &f));
    L2H_FAIL_IF(f != L2H_FORMAT_IVECS && f != L2H_FORMAT_BVECS && f != L2H_FORMAT_NPY &&
                    f != L2H_FORMAT_IDX && f != L2H_FORMAT_U8,
                L2H_ERR_UNSUPPORTED,
                "%s: labels cannot be read from %s files (ivecs, bvecs, npy, idx or u8; ARFF "
                "labels come with the data through n_labels)",
                name, l2h_format_name(f));
    size_t dim = p->dim;
    if (f == L2H_FORMAT_U8 && dim == 0)
        /* one row per dataset row: the row length follows from the size, else 1 */
        dim = (p->max_rows == 0 && ds->n > 0 && len % ds->n == 0 && len > 0) ? len / ds->n : 1;
    l2h_mat_view v;
    L2H_TRY(l2h_view_mem(buf, len, name, f, dim, p->max_rows, &v));
    l2h_status st = L2H_OK;
    if (v.rows != ds->n)
        st = l2h_set_error(L2H_ERR_ARG, "%s: %zu label rows but the dataset has %zu rows", name,
                           v.rows, ds->n);
    else if (dim && v.cols != dim)
        st = l2h_set_error(L2H_ERR_FORMAT, "%s: label rows have %zu values but dim = %zu", name,
                           v.cols, dim);
    else if (v.cols == 0)
        st = l2h_set_error(L2H_ERR_FORMAT, "%s: label rows are empty", name);
    else st = attach_labels(ds, &v, name);
    l2h_view_free(&v);
    return st;
}

l2h_status l2h_dataset_read_labels(l2h_dataset *ds, const char *path, const l2h_read_params *p)
{
    L2H_FAIL_IF(ds == NULL || path == NULL, L2H_ERR_ARG, "labels: NULL argument");
    l2h_read_params tmp;
    p = params_or_default(p, &tmp);
    l2h_format f;
    L2H_TRY(resolve_format(p, path, &f));
    uint8_t *buf;
    size_t len;
    L2H_TRY(l2h_read_file(path, L2H_READ_MAX_FILE, &buf, &len));
    l2h_read_params q = *p;
    q.format = f;
    const l2h_status st = l2h_dataset_read_labels_mem(ds, buf, len, path, &q);
    l2h_free(buf);
    return st;
}
