/* http_util.c -- the helpers every l2hd handler uses: a growable text buffer, answers (JSON
 * errors included), query-string arguments, and batch bodies as JSON or .npy. */
#include "http.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static void sb_grow(sbuf *b, size_t need)
{
    if (b->oom || b->n + need + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->n + need + 1) cap *= 2;
    char *n = realloc(b->p, cap);
    if (!n) {
        b->oom = 1;
        return;
    }
    b->p = n;
    b->cap = cap;
}

void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[512];
    const int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (k < 0) return;
    if ((size_t)k < sizeof tmp) {
        sb_grow(b, (size_t)k);
        if (b->oom) return;
        memcpy(b->p + b->n, tmp, (size_t)k + 1);
        b->n += (size_t)k;
        return;
    }
    sb_grow(b, (size_t)k);
    if (b->oom) return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, (size_t)k + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)k;
}

void sb_num(sbuf *b, double v)
{
    if (isfinite(v)) sb_printf(b, "%.6g", v);
    else sb_printf(b, "null");
}

enum MHD_Result send_buf(struct MHD_Connection *con, unsigned code, char *data, size_t len,
                                const char *ctype)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(data);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", ctype);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    const enum MHD_Result ret = MHD_queue_response(con, code, r);
    MHD_destroy_response(r);
    if (code >= 400) atomic_fetch_add(&g.http_errors, 1);
    return ret;
}

enum MHD_Result send_sb(struct MHD_Connection *con, unsigned code, sbuf *b)
{
    if (b->oom) {
        free(b->p);
        char *m = strdup("{\"error\":\"out of memory\",\"status\":500}");
        return send_buf(con, 500, m, m ? strlen(m) : 0, "application/json");
    }
    if (!b->p) sb_printf(b, "{}");
    return send_buf(con, code, b->p, b->n, "application/json");
}

enum MHD_Result send_err(struct MHD_Connection *con, unsigned code, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", msg);
    cJSON_AddNumberToObject(o, "status", code);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return send_buf(con, code, s, s ? strlen(s) : 0, "application/json");
}

const char *arg(struct MHD_Connection *con, const char *key)
{
    return MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, key);
}

int arg_bool(struct MHD_Connection *con, const char *key, int def)
{
    const char *v = arg(con, key);
    if (!v) return def;
    return strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || strcmp(v, "yes") == 0;
}

int arg_size(struct MHD_Connection *con, const char *key, size_t def, size_t lo, size_t hi,
                    size_t *out)
{
    const char *v = arg(con, key);
    if (!v) {
        *out = def;
        return 0;
    }
    char *end;
    const unsigned long long x = strtoull(v, &end, 10);
    if (*v == '-' || *end || end == v || x < lo || x > hi) return -1;
    *out = (size_t)x;
    return 0;
}

int is_npy(struct MHD_Connection *con)
{
    const char *ct = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Content-Type");
    return ct && strncmp(ct, "application/octet-stream", 24) == 0;
}

/* Parses a batch body (JSON or npy) for collection c. */
int parse_body(struct MHD_Connection *con, const req *q, const coll *c, int codes_ok,
                      proto_batch *b, proto_error *e)
{
    const size_t cb = codes_ok ? l2h_code_bytes(c->cfg.bits) : 0;
    if (is_npy(con))
        return proto_parse_batch_npy((const uint8_t *)q->body, q->len, c->cfg.dim, cb,
                                     codes_ok && arg_bool(con, "codes", 0), arg_bool(con, "ids", 0),
                                     arg_bool(con, "labels", 0), g.max_rows, b, e);
    return proto_parse_batch_json(q->body ? q->body : "", q->len, c->cfg.dim, cb, g.max_rows, b, e);
}
