/* io_arff.c -- dense ARFF (Weka; Mulan's multi-label variant).
 *
 *   % comment lines start with '%' (blank lines are ignored as well)
 *   @relation NAME                      first declaration, exactly once
 *   @attribute NAME numeric|real|integer
 *   @attribute NAME {0,1}               binary nominal (any order, spaces and quotes allowed)
 *   @data
 *   0.1,0.25,...,0,1                    one row per line, one value per attribute
 *
 * Keywords and type names are case-insensitive; NAME may be quoted with ' or ". The last
 * `n_labels` attributes are labels: every value must be 0 or 1, and they become a multi-label
 * matrix. The others are features; they must be numeric or {0,1}. Other nominal, string, date and
 * relational attributes, sparse rows "{i v, ...}" and missing values '?' are refused (the first
 * three as L2H_ERR_UNSUPPORTED); a wrong number of values, a value that is not a decimal number
 * and a label that is not 0/1 are L2H_ERR_FORMAT naming the file and line. Values are parsed
 * with strtod after a strict syntax check ([+-]digits[.digits][e[+-]digits]), so "nan", "inf"
 * and hex floats are rejected; a value beyond float32's range is L2H_ERR_NUMERIC. */
#include "io_read.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { ATTR_NUMERIC = 0, ATTR_BINARY = 1 };

typedef struct attr {
    const char *name;
    int name_len;
    int kind;
} attr;

typedef struct arff {
    const char *name; /* file name for messages */
    const char *p, *end;
    size_t line;
    attr *attrs;
    size_t n_attr, cap_attr;
    /* rows parsed so far */
    float *x;
    uint8_t *y;
    size_t rows, cap_rows;
} arff;

static int is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static int lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

static int eq_nocase(const char *s, size_t n, const char *lit)
{
    if (strlen(lit) != n) return 0;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)s[i]) != lit[i]) return 0;
    return 1;
}

static void trim(const char **s, const char **e)
{
    while (*s < *e && is_space((unsigned char)**s)) (*s)++;
    while (*e > *s && is_space((unsigned char)(*e)[-1])) (*e)--;
}

/* Next line that is neither blank nor a comment, trimmed; 0 at the end of the input. */
static int next_line(arff *a, const char **s, const char **e)
{
    while (a->p < a->end) {
        const char *nl = memchr(a->p, '\n', (size_t)(a->end - a->p));
        const char *ls = a->p, *le = nl ? nl : a->end;
        a->p = nl ? nl + 1 : a->end;
        a->line++;
        trim(&ls, &le);
        if (ls == le || *ls == '%') continue;
        *s = ls;
        *e = le;
        return 1;
    }
    return 0;
}

/* Strict decimal syntax, then strtod on a NUL-terminated copy (the buffer is not terminated). */
static int parse_number(const char *s, size_t n, double *out)
{
    size_t i = 0, digits = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++, digits++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++, digits++;
    }
    if (digits == 0) return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        size_t ed = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++, ed++;
        if (ed == 0) return 0;
    }
    char tmp[256];
    if (i != n || n >= sizeof tmp) return 0;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    *out = strtod(tmp, NULL);
    return 1;
}

static void unquote(const char **s, const char **e)
{
    if (*e - *s >= 2 && (**s == '\'' || **s == '"') && (*e)[-1] == **s) {
        (*s)++;
        (*e)--;
    }
}

/* {0,1} in any order; other nominal sets are unsupported. */
static l2h_status parse_nominal(arff *a, const char *s, const char *e, int *kind)
{
    const char *close = memchr(s, '}', (size_t)(e - s));
    L2H_FAIL_IF(!close, L2H_ERR_FORMAT, "%s:%zu: nominal attribute without a closing '}'", a->name,
                a->line);
    const char *after = close + 1;
    trim(&after, &e);
    L2H_FAIL_IF(after != e, L2H_ERR_FORMAT, "%s:%zu: unexpected text after the nominal values",
                a->name, a->line);
    int seen0 = 0, seen1 = 0, count = 0;
    const char *v = s + 1;
    for (;;) {
        const char *comma = memchr(v, ',', (size_t)(close - v));
        const char *vs = v, *ve = comma ? comma : close;
        trim(&vs, &ve);
        unquote(&vs, &ve);
        if (ve - vs == 1 && *vs == '0') seen0++;
        else if (ve - vs == 1 && *vs == '1') seen1++;
        count++;
        if (!comma) break;
        v = comma + 1;
    }
    L2H_FAIL_IF(count != 2 || seen0 != 1 || seen1 != 1, L2H_ERR_UNSUPPORTED,
                "%s:%zu: nominal attribute %.*s: only numeric attributes and {0,1} are supported",
                a->name, a->line, (int)(close - s + 1), s);
    *kind = ATTR_BINARY;
    return L2H_OK;
}

static l2h_status parse_attribute(arff *a, const char *s, const char *e)
{
    trim(&s, &e);
    const char *ns = s, *ne;
    if (s < e && (*s == '\'' || *s == '"')) {
        const char q = *s;
        ne = ++ns;
        while (ne < e && *ne != q) ne += (*ne == '\\' && ne + 1 < e) ? 2 : 1;
        L2H_FAIL_IF(ne >= e, L2H_ERR_FORMAT, "%s:%zu: unterminated quoted attribute name",
                    a->name, a->line);
        s = ne + 1;
    } else {
        ne = s;
        while (ne < e && !is_space((unsigned char)*ne) && *ne != '{') ne++;
        s = ne;
    }
    L2H_FAIL_IF(ne == ns, L2H_ERR_FORMAT, "%s:%zu: @attribute without a name", a->name, a->line);
    trim(&s, &e);
    L2H_FAIL_IF(s == e, L2H_ERR_FORMAT, "%s:%zu: attribute %.*s has no type", a->name, a->line,
                (int)(ne - ns), ns);
    int kind = ATTR_NUMERIC;
    if (*s == '{') {
        L2H_TRY(parse_nominal(a, s, e, &kind));
    } else if (eq_nocase(s, (size_t)(e - s), "numeric") || eq_nocase(s, (size_t)(e - s), "real") ||
               eq_nocase(s, (size_t)(e - s), "integer")) {
        kind = ATTR_NUMERIC;
    } else {
        const char *w = s;
        while (w < e && !is_space((unsigned char)*w)) w++;
        const size_t wn = (size_t)(w - s);
        L2H_FAIL_IF(eq_nocase(s, wn, "string") || eq_nocase(s, wn, "date") ||
                        eq_nocase(s, wn, "relational"),
                    L2H_ERR_UNSUPPORTED,
                    "%s:%zu: attribute %.*s has type %.*s; only numeric and {0,1} are supported",
                    a->name, a->line, (int)(ne - ns), ns, (int)wn, s);
        L2H_FAIL(L2H_ERR_FORMAT, "%s:%zu: attribute %.*s has unknown type '%.*s'", a->name,
                 a->line, (int)(ne - ns), ns, (int)(e - s > 40 ? 40 : e - s), s);
    }
    if (a->n_attr == a->cap_attr) {
        const size_t ncap = a->cap_attr ? 2 * a->cap_attr : 64;
        attr *na = l2h_realloc(a->attrs, ncap * sizeof *na);
        L2H_NOMEM_IF_NULL(na);
        a->attrs = na;
        a->cap_attr = ncap;
    }
    a->attrs[a->n_attr].name = ns;
    a->attrs[a->n_attr].name_len = (int)(ne - ns > 64 ? 64 : ne - ns);
    a->attrs[a->n_attr].kind = kind;
    a->n_attr++;
    return L2H_OK;
}

/* Reads declarations up to and including @data. */
static l2h_status parse_header(arff *a)
{
    int have_relation = 0;
    const char *s, *e;
    while (next_line(a, &s, &e)) {
        L2H_FAIL_IF(*s != '@', L2H_ERR_FORMAT,
                    "%s:%zu: expected @relation, @attribute or @data before the data", a->name,
                    a->line);
        const char *w = s + 1;
        while (w < e && !is_space((unsigned char)*w) && *w != '{' && *w != '\'' && *w != '"') w++;
        const size_t wn = (size_t)(w - s - 1);
        if (eq_nocase(s + 1, wn, "relation")) {
            L2H_FAIL_IF(have_relation, L2H_ERR_FORMAT, "%s:%zu: second @relation", a->name,
                        a->line);
            L2H_FAIL_IF(a->n_attr, L2H_ERR_FORMAT, "%s:%zu: @relation after @attribute",
                        a->name, a->line);
            trim(&w, &e);
            L2H_FAIL_IF(w == e, L2H_ERR_FORMAT, "%s:%zu: @relation without a name", a->name,
                        a->line);
            have_relation = 1;
        } else if (eq_nocase(s + 1, wn, "attribute")) {
            L2H_FAIL_IF(!have_relation, L2H_ERR_FORMAT,
                        "%s:%zu: @attribute before @relation", a->name, a->line);
            L2H_TRY(parse_attribute(a, w, e));
        } else if (eq_nocase(s + 1, wn, "data")) {
            trim(&w, &e);
            L2H_FAIL_IF(w != e, L2H_ERR_FORMAT, "%s:%zu: unexpected text after @data", a->name,
                        a->line);
            L2H_FAIL_IF(a->n_attr == 0, L2H_ERR_FORMAT, "%s:%zu: @data without any @attribute",
                        a->name, a->line);
            return L2H_OK;
        } else {
            L2H_FAIL(L2H_ERR_FORMAT, "%s:%zu: unknown declaration '@%.*s'", a->name, a->line,
                     (int)(wn > 40 ? 40 : wn), s + 1);
        }
    }
    L2H_FAIL(L2H_ERR_FORMAT, "%s: no @data section", a->name);
}

static l2h_status grow_rows(arff *a, size_t dim, size_t n_labels)
{
    if (a->rows < a->cap_rows) return L2H_OK;
    const size_t ncap = a->cap_rows ? 2 * a->cap_rows : 64;
    size_t nx, ny;
    L2H_FAIL_IF(!l2h_mul_ok(ncap, dim, &nx) || !l2h_mul_ok(nx, sizeof(float), &nx) ||
                    !l2h_mul_ok(ncap, n_labels, &ny),
                L2H_ERR_NOMEM, "%s: too many rows", a->name);
    float *x = l2h_realloc(a->x, nx);
    L2H_NOMEM_IF_NULL(x);
    a->x = x;
    if (n_labels) {
        uint8_t *y = l2h_realloc(a->y, ny);
        L2H_NOMEM_IF_NULL(y);
        a->y = y;
    }
    a->cap_rows = ncap;
    return L2H_OK;
}

static l2h_status parse_row(arff *a, const char *s, const char *e, size_t n_labels)
{
    L2H_FAIL_IF(*s == '{', L2H_ERR_UNSUPPORTED,
                "%s:%zu: sparse ARFF rows ({index value, ...}) are not supported; use dense rows",
                a->name, a->line);
    size_t count = 1;
    for (const char *c = s; c < e; c++) count += *c == ',';
    L2H_FAIL_IF(count != a->n_attr, L2H_ERR_FORMAT, "%s:%zu: %zu values, expected %zu", a->name,
                a->line, count, a->n_attr);
    const size_t dim = a->n_attr - n_labels;
    L2H_TRY(grow_rows(a, dim, n_labels));
    float *x = a->x + a->rows * dim;
    uint8_t *y = a->y ? a->y + a->rows * n_labels : NULL;
    const char *v = s;
    for (size_t j = 0; j < a->n_attr; j++) {
        const char *comma = memchr(v, ',', (size_t)(e - v));
        const char *vs = v, *ve = comma ? comma : e;
        v = ve + 1;
        trim(&vs, &ve);
        const attr *at = &a->attrs[j];
        if (at->kind == ATTR_BINARY) unquote(&vs, &ve);
        double d;
        L2H_FAIL_IF(ve - vs == 1 && *vs == '?', L2H_ERR_FORMAT,
                    "%s:%zu: missing value '?' for attribute %.*s is not supported", a->name,
                    a->line, at->name_len, at->name);
        L2H_FAIL_IF(!parse_number(vs, (size_t)(ve - vs), &d), L2H_ERR_FORMAT,
                    "%s:%zu: value '%.*s' of attribute %.*s is not a number", a->name, a->line,
                    (int)(ve - vs > 40 ? 40 : ve - vs), vs, at->name_len, at->name);
        if (j >= dim) {
            L2H_FAIL_IF(d != 0.0 && d != 1.0, L2H_ERR_FORMAT,
                        "%s:%zu: label %.*s is '%.*s', not 0 or 1", a->name, a->line,
                        at->name_len, at->name, (int)(ve - vs > 40 ? 40 : ve - vs), vs);
            y[j - dim] = (uint8_t)(d != 0.0);
            continue;
        }
        L2H_FAIL_IF(at->kind == ATTR_BINARY && d != 0.0 && d != 1.0, L2H_ERR_FORMAT,
                    "%s:%zu: attribute %.*s is {0,1} but the value is '%.*s'", a->name, a->line,
                    at->name_len, at->name, (int)(ve - vs > 40 ? 40 : ve - vs), vs);
        x[j] = (float)d;
        L2H_FAIL_IF(!isfinite(x[j]), L2H_ERR_NUMERIC,
                    "%s:%zu: value '%.*s' of attribute %.*s is outside the float32 range",
                    a->name, a->line, (int)(ve - vs > 40 ? 40 : ve - vs), vs, at->name_len,
                    at->name);
    }
    a->rows++;
    return L2H_OK;
}

static l2h_status parse_all(arff *a, size_t n_labels, size_t max_rows)
{
    L2H_TRY(parse_header(a));
    if (n_labels == 0) {
        /* trailing {0,1} attributes are how Mulan files declare labels: reading them as
         * features without being told would silently train on the labels */
        size_t k = 0;
        while (k < a->n_attr && a->attrs[a->n_attr - 1 - k].kind == ATTR_BINARY) k++;
        L2H_FAIL_IF(k > 0 && k < a->n_attr, L2H_ERR_ARG,
                    "%s: the last %zu attributes are {0,1}, as labels are declared in multi-label "
                    "ARFF files; give the number of label attributes (n_labels, --n-labels %zu), "
                    "or L2H_ARFF_NO_LABELS (--n-labels 0) to read them as features",
                    a->name, k, k);
    }
    if (n_labels == L2H_ARFF_NO_LABELS) n_labels = 0;
    L2H_FAIL_IF(n_labels >= a->n_attr, L2H_ERR_ARG,
                "%s: %zu label attributes requested but the file declares %zu attributes (at "
                "least one feature is needed)",
                a->name, n_labels, a->n_attr);
    /* label attributes may be numeric or {0,1}: their values are checked row by row */
    const char *s, *e;
    while ((max_rows == 0 || a->rows < max_rows) && next_line(a, &s, &e))
        L2H_TRY(parse_row(a, s, e, n_labels));
    L2H_FAIL_IF(a->rows == 0, L2H_ERR_FORMAT, "%s: no data rows after @data", a->name);
    return L2H_OK;
}

l2h_status l2h_arff_parse(const uint8_t *buf, size_t len, const char *name, size_t n_labels,
                          size_t max_rows, l2h_dataset **out)
{
    *out = NULL;
    arff a;
    memset(&a, 0, sizeof a);
    a.name = name;
    a.p = (const char *)buf;
    a.end = a.p + len;
    if (len >= 3 && buf[0] == 0xEF && buf[1] == 0xBB && buf[2] == 0xBF) a.p += 3; /* UTF-8 BOM */
    l2h_status st = parse_all(&a, n_labels, max_rows);
    l2h_dataset *ds = NULL;
    if (st == L2H_OK) {
        ds = l2h_calloc(1, sizeof *ds);
        if (!ds) st = l2h_set_error(L2H_ERR_NOMEM, "%s: out of memory", name);
    }
    if (st == L2H_OK) {
        ds->n = a.rows;
        if (n_labels == L2H_ARFF_NO_LABELS) n_labels = 0;
        ds->dim = a.n_attr - n_labels;
        ds->x = a.x;
        a.x = NULL;
        if (n_labels) {
            ds->multi = a.y;
            a.y = NULL;
            ds->label_kind = L2H_LABELS_MULTI;
            ds->n_labels = n_labels;
        }
        *out = ds;
    }
    l2h_free(a.attrs);
    l2h_free(a.x);
    l2h_free(a.y);
    return st;
}
