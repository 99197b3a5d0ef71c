/* http_items.c -- the item handlers of l2hd: insert (JSON or .npy, wait = durable), delete by
 * ids, get one item, encode features, and the export of every item's code. */
#include "http.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum MHD_Result h_insert(struct MHD_Connection *con, coll *c, const req *q)
{
    proto_batch bt;
    proto_error e;
    const int r = parse_body(con, q, c, 0, &bt, &e);
    if (r) return send_err(con, (unsigned)r, "%s", e.msg);
    const int wait = arg_bool(con, "wait", 1);
    uint64_t lsn = 0;
    int64_t first = -1;
    char err[256] = "";
    const int code = coll_insert(c, bt.x, bt.ids, bt.labels, bt.n, arg_bool(con, "learn", 1),
                                 arg_bool(con, "index", 1), &lsn, &first, err, sizeof err);
    const size_t n = bt.n;
    const int had_ids = bt.ids != NULL;
    proto_batch_free(&bt);
    if (code != 200) return send_err(con, (unsigned)code, "%s", err);
    if (wait && wal_wait(g.log, lsn) != 0)
        return send_err(con, 500, "the write-ahead log failed: not durable");
    sbuf b = {0};
    sb_printf(&b, "{\"inserted\":%zu,\"durable\":%s", n, wait ? "true" : "false");
    if (!had_ids && first >= 0) sb_printf(&b, ",\"first_id\":%lld", (long long)first);
    sb_printf(&b, "}");
    return send_sb(con, 200, &b);
}

enum MHD_Result h_delete(struct MHD_Connection *con, coll *c, const req *q)
{
    cJSON *root = cJSON_ParseWithLength(q->body ? q->body : "", q->len);
    const cJSON *ids = root ? cJSON_GetObjectItemCaseSensitive(root, "ids") : NULL;
    if (!root || !cJSON_IsArray(ids)) {
        cJSON_Delete(root);
        return send_err(con, 400, "the body must be {\"ids\": [...]}");
    }
    const size_t n = (size_t)cJSON_GetArraySize(ids);
    if (n > g.max_rows) {
        cJSON_Delete(root);
        return send_err(con, 413, "too many ids");
    }
    int64_t *v = malloc((n ? n : 1) * sizeof *v);
    size_t i = 0;
    for (const cJSON *x = ids->child; v && x; x = x->next, i++) {
        if (!cJSON_IsNumber(x) || x->valuedouble < 0 || x->valuedouble != floor(x->valuedouble) ||
            x->valuedouble > 9007199254740991.0) {
            free(v);
            cJSON_Delete(root);
            return send_err(con, 400, "ids[%zu] must be an integer >= 0", i);
        }
        v[i] = (int64_t)x->valuedouble;
    }
    cJSON_Delete(root);
    if (!v) return send_err(con, 413, "out of memory");
    size_t removed = 0;
    uint64_t lsn = 0;
    const int code = coll_delete(c, v, n, &removed, &lsn);
    free(v);
    if (code != 200) return send_err(con, (unsigned)code, "delete failed");
    const int wait = arg_bool(con, "wait", 1);
    if (wait && wal_wait(g.log, lsn) != 0) return send_err(con, 500, "the write-ahead log failed");
    sbuf b = {0};
    sb_printf(&b, "{\"deleted\":%zu,\"durable\":%s}", removed, wait ? "true" : "false");
    return send_sb(con, 200, &b);
}

enum MHD_Result h_encode(struct MHD_Connection *con, coll *c, const req *q)
{
    proto_batch bt;
    proto_error e;
    const int r = parse_body(con, q, c, 0, &bt, &e);
    if (r) return send_err(con, (unsigned)r, "%s", e.msg);
    pair *p = coll_acquire(c);
    if (!p) {
        proto_batch_free(&bt);
        return send_err(con, 409, "collection '%s' has no mapping yet", c->cfg.name);
    }
    const size_t cb = l2h_code_bytes(c->cfg.bits);
    uint8_t *codes = malloc(bt.n * cb);
    if (!codes || enc_encode(p->enc, bt.x, bt.n, codes) != 0) {
        free(codes);
        pair_release(p);
        proto_batch_free(&bt);
        return send_err(con, 400, "encoding failed");
    }
    sbuf b = {0};
    sb_printf(&b, "{\"version\":%llu,\"codes\":[", (unsigned long long)p->version);
    char hex[2 * L2H_MAX_BITS / 8 + 1];
    for (size_t i = 0; i < bt.n; i++) {
        proto_hex(codes + i * cb, cb, hex);
        sb_printf(&b, "%s\"%s\"", i ? "," : "", hex);
    }
    sb_printf(&b, "]}");
    pair_release(p);
    free(codes);
    proto_batch_free(&bt);
    return send_sb(con, 200, &b);
}

/* GET .../codes: ids.npy (int64) followed by codes.npy (uint8), every alive item under the
 * current pair's mapping, in row order. */
enum MHD_Result h_codes(struct MHD_Connection *con, coll *c)
{
    pair *p = coll_acquire(c);
    if (!p) return send_err(con, 409, "collection '%s' has no mapping yet", c->cfg.name);
    const size_t cb = l2h_code_bytes(c->cfg.bits), dim = c->cfg.dim;
    pthread_mutex_lock(&c->mu);
    const size_t n = atomic_load(&c->st->n);
    size_t alive = 0;
    for (size_t r = 0; r < n; r++) alive += (store_flags(c->st, r) & ROW_ALIVE) != 0;
    int64_t *ids = malloc((alive ? alive : 1) * 8);
    size_t *rows = malloc((alive ? alive : 1) * sizeof *rows);
    size_t k = 0;
    for (size_t r = 0; ids && rows && r < n; r++)
        if (store_flags(c->st, r) & ROW_ALIVE) {
            ids[k] = store_id(c->st, r);
            rows[k++] = r;
        }
    pthread_mutex_unlock(&c->mu);
    char h1[128], h2[128];
    const size_t l1 = proto_npy_write_header(h1, "<i8", alive, 0);
    const size_t l2 = proto_npy_write_header(h2, "|u1", alive, cb);
    const size_t total = l1 + alive * 8 + l2 + alive * cb;
    char *out = ids && rows ? malloc(total) : NULL;
    float *xb = malloc(4096 * dim * sizeof *xb);
    int ok = out && xb;
    if (ok) {
        memcpy(out, h1, l1);
        memcpy(out + l1, ids, alive * 8);
        memcpy(out + l1 + alive * 8, h2, l2);
        uint8_t *cd = (uint8_t *)out + l1 + alive * 8 + l2;
        for (size_t s = 0; ok && s < alive; s += 4096) {
            const size_t m = alive - s < 4096 ? alive - s : 4096;
            for (size_t i = 0; i < m; i++)
                memcpy(xb + i * dim, store_x(c->st, rows[s + i]), dim * sizeof *xb);
            ok = enc_encode(p->enc, xb, m, cd + s * cb) == 0;
        }
    }
    char ver[32];
    snprintf(ver, sizeof ver, "%llu", (unsigned long long)p->version);
    pair_release(p);
    free(ids);
    free(rows);
    free(xb);
    if (!ok) {
        free(out);
        return send_err(con, 500, "cannot export the codes");
    }
    struct MHD_Response *resp = MHD_create_response_from_buffer(total, out, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(out);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "application/octet-stream");
    MHD_add_response_header(resp, "X-L2H-Version", ver);
    const enum MHD_Result ret = MHD_queue_response(con, 200, resp);
    MHD_destroy_response(resp);
    return ret;
}

enum MHD_Result h_get_item(struct MHD_Connection *con, coll *c, const char *idtxt)
{
    char *end;
    const long long id = strtoll(idtxt, &end, 10);
    if (*idtxt == 0 || *end || id < 0) return send_err(con, 400, "bad id '%s'", idtxt);
    size_t row;
    pthread_mutex_lock(&c->mu);
    const int found = idmap_get(&c->ids, id, &row);
    pthread_mutex_unlock(&c->mu);
    if (!found) return send_err(con, 404, "no item %lld in '%s'", id, c->cfg.name);
    sbuf b = {0};
    sb_printf(&b, "{\"id\":%lld,\"label\":", id);
    const int32_t lab = store_label(c->st, row);
    if (lab >= 0) sb_printf(&b, "%d", lab);
    else sb_printf(&b, "null");
    sb_printf(&b, ",\"features\":[");
    const float *x = store_x(c->st, row);
    for (size_t j = 0; j < c->cfg.dim; j++) sb_printf(&b, "%s%.9g", j ? "," : "", (double)x[j]);
    sb_printf(&b, "]}");
    return send_sb(con, 200, &b);
}
