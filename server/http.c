/* http.c -- the HTTP/1.1 + JSON surface of l2hd on libmicrohttpd: routing, body limits, bearer
 * token, error answers, and the handlers. Endpoints are listed in docs/service.md. */
#include "l2hd.h"
#include "proto.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

extern const unsigned char l2hd_status_html[];
extern const size_t l2hd_status_html_len;

static struct MHD_Daemon *daemon_;
static char token_[256];
static int auth_all_;

/* ---- growable text buffer ------------------------------------------------------------------ */
typedef struct sbuf {
    char *p;
    size_t n, cap;
    int oom;
} sbuf;

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

static void sb_printf(sbuf *b, const char *fmt, ...)
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

static void sb_num(sbuf *b, double v)
{
    if (isfinite(v)) sb_printf(b, "%.6g", v);
    else sb_printf(b, "null");
}

/* ---- request context ----------------------------------------------------------------------- */
typedef struct req {
    char *body;
    size_t len, cap;
    int too_large;
    int done;
} req;

static enum MHD_Result send_buf(struct MHD_Connection *con, unsigned code, char *data, size_t len,
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

static enum MHD_Result send_sb(struct MHD_Connection *con, unsigned code, sbuf *b)
{
    if (b->oom) {
        free(b->p);
        char *m = strdup("{\"error\":\"out of memory\",\"status\":500}");
        return send_buf(con, 500, m, m ? strlen(m) : 0, "application/json");
    }
    if (!b->p) sb_printf(b, "{}");
    return send_buf(con, code, b->p, b->n, "application/json");
}

static enum MHD_Result send_err(struct MHD_Connection *con, unsigned code, const char *fmt, ...)
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

static const char *arg(struct MHD_Connection *con, const char *key)
{
    return MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, key);
}

static int arg_bool(struct MHD_Connection *con, const char *key, int def)
{
    const char *v = arg(con, key);
    if (!v) return def;
    return strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || strcmp(v, "yes") == 0;
}

static int arg_size(struct MHD_Connection *con, const char *key, size_t def, size_t lo, size_t hi,
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

static int is_npy(struct MHD_Connection *con)
{
    const char *ct = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Content-Type");
    return ct && strncmp(ct, "application/octet-stream", 24) == 0;
}

/* Parses a batch body (JSON or npy) for collection c. */
static int parse_body(struct MHD_Connection *con, const req *q, const coll *c, int codes_ok,
                      proto_batch *b, proto_error *e)
{
    const size_t cb = codes_ok ? l2h_code_bytes(c->cfg.bits) : 0;
    if (is_npy(con))
        return proto_parse_batch_npy((const uint8_t *)q->body, q->len, c->cfg.dim, cb,
                                     codes_ok && arg_bool(con, "codes", 0), arg_bool(con, "ids", 0),
                                     arg_bool(con, "labels", 0), g.max_rows, b, e);
    return proto_parse_batch_json(q->body ? q->body : "", q->len, c->cfg.dim, cb, g.max_rows, b, e);
}

/* ---- describe ------------------------------------------------------------------------------ */
static int cmp_d(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void describe(sbuf *b, coll *c, int with_history)
{
    pair *p = coll_acquire(c);
    l2h_index_info info;
    memset(&info, 0, sizeof info);
    if (p && l2h_index_describe(p->index, &info) != L2H_OK) memset(&info, 0, sizeof info);
    char *cfg = coll_config_to_json(&c->cfg);
    pthread_mutex_lock(&c->mu);
    const size_t live = c->ids.live, rows = atomic_load(&c->st->n);
    const int job = c->job_active;
    pthread_mutex_unlock(&c->mu);
    sb_printf(b, "{\"name\":\"%s\",\"config\":%s,\"size\":%zu,\"rows\":%zu,", c->cfg.name,
              cfg ? cfg : "{}", live, rows);
    free(cfg);
    if (p) sb_printf(b, "\"version\":%llu,", (unsigned long long)p->version);
    else sb_printf(b, "\"version\":null,");
    sb_printf(b,
              "\"index\":{\"kind\":\"%s\",\"size\":%zu,\"memory_bytes\":%zu,\"n_tables\":%zu},",
              c->cfg.kind == L2H_INDEX_MIH ? "mih" : "flat", info.size, info.memory_bytes,
              info.n_tables);
    sb_printf(b, "\"rehash\":{\"active\":%s,\"jobs\":%llu,\"bits_recomputed\":%llu},",
              job ? "true" : "false", (unsigned long long)atomic_load(&c->jobs),
              (unsigned long long)atomic_load(&c->bits_recomputed));
    if (c->cfg.method[0]) {
        static const char *phases[] = {"initialising", "learning", "re-hashing", "catching up"};
        const int ph = atomic_load(&c->learner_phase);
        sb_printf(b,
                  "\"learner\":{\"method\":\"%s\",\"phase\":\"%s\",\"learned\":%llu,\"lag\":%llu,"
                  "\"checks\":%llu,\"updates\":%llu,\"q_current\":",
                  c->cfg.method, phases[ph >= 0 && ph < 4 ? ph : 0],
                  (unsigned long long)atomic_load(&c->learned),
                  (unsigned long long)atomic_load(&c->lag),
                  (unsigned long long)atomic_load(&c->checks),
                  (unsigned long long)atomic_load(&c->updates));
        pthread_mutex_lock(&c->hist_mu);
        const double qc = c->q_cur, qs = c->q_snap;
        pthread_mutex_unlock(&c->hist_mu);
        sb_num(b, qc);
        sb_printf(b, ",\"q_snapshot\":");
        sb_num(b, qs);
        sb_printf(b, "},");
    }
    pthread_mutex_lock(&c->hist_mu);
    const size_t nl = c->lat_i < 1024 ? c->lat_i : 1024;
    double lat[1024];
    memcpy(lat, c->lat_ring, nl * sizeof *lat);
    sb_printf(b, "\"searches\":%llu,\"inserted\":%llu,\"deleted\":%llu,",
              (unsigned long long)c->searches, (unsigned long long)c->inserted,
              (unsigned long long)c->deleted);
    if (with_history) {
        sb_printf(b, "\"history\":[");
        const size_t first = c->hist_n > 600 ? c->hist_n - 600 : 0;
        for (size_t i = first; i < c->hist_n; i++) {
            const hist_point *h = &c->hist[(c->hist_head + i) % HIST_CAP];
            sb_printf(b, "%s{\"t\":%.3f,\"items\":%llu,\"q_current\":", i > first ? "," : "", h->t,
                      (unsigned long long)h->items);
            sb_num(b, h->q_cur);
            sb_printf(b, ",\"q_snapshot\":");
            sb_num(b, h->q_snap);
            sb_printf(b, ",\"updates\":%llu,\"version\":%llu,\"rehash\":%s}",
                      (unsigned long long)h->updates, (unsigned long long)h->version,
                      h->rehash ? "true" : "false");
        }
        sb_printf(b, "],");
    }
    pthread_mutex_unlock(&c->hist_mu);
    qsort(lat, nl, sizeof *lat, cmp_d);
    sb_printf(b, "\"latency_ms\":{\"n\":%zu,\"p50\":", nl);
    sb_num(b, nl ? lat[nl / 2] * 1e3 : (double)NAN);
    sb_printf(b, ",\"p99\":");
    sb_num(b, nl ? lat[(size_t)((double)(nl - 1) * 0.99)] * 1e3 : (double)NAN);
    sb_printf(b, "}}");
    pair_release(p);
}

/* ---- metrics (Prometheus text format 0.0.4) ------------------------------------------------ */
static void metrics(sbuf *b)
{
    sb_printf(b, "# HELP l2hd_ready 1 once recovery has finished.\n# TYPE l2hd_ready gauge\n"
                 "l2hd_ready %d\n",
              atomic_load(&g.ready) ? 1 : 0);
    sb_printf(b, "# TYPE l2hd_http_requests_total counter\nl2hd_http_requests_total %llu\n"
                 "# TYPE l2hd_http_errors_total counter\nl2hd_http_errors_total %llu\n",
              (unsigned long long)atomic_load(&g.http_requests),
              (unsigned long long)atomic_load(&g.http_errors));
    if (atomic_load(&g.ready) && g.log)
        sb_printf(b, "# TYPE l2hd_wal_bytes_total counter\nl2hd_wal_bytes_total %llu\n"
                     "# TYPE l2hd_wal_fsyncs_total counter\nl2hd_wal_fsyncs_total %llu\n",
                  (unsigned long long)wal_bytes(g.log), (unsigned long long)wal_fsyncs(g.log));
    const int ready = atomic_load(&g.ready);
    sb_printf(b, "# TYPE l2hd_snapshots_total counter\nl2hd_snapshots_total %llu\n"
                 "# TYPE l2hd_recovery_seconds gauge\nl2hd_recovery_seconds %.6f\n"
                 "# TYPE l2hd_recovery_torn_bytes gauge\nl2hd_recovery_torn_bytes %llu\n",
              (unsigned long long)atomic_load(&g.snapshots), ready ? g.recovery_seconds : 0.0,
              (unsigned long long)(ready ? g.torn_bytes : 0));
    pthread_rwlock_rdlock(&g.reg_mu);
    const size_t nc = g.n_colls;
    coll **cs = malloc((nc ? nc : 1) * sizeof *cs);
    for (size_t i = 0; cs && i < nc; i++) {
        cs[i] = g.colls[i];
        atomic_fetch_add(&cs[i]->refs, 1);
    }
    pthread_rwlock_unlock(&g.reg_mu);
    if (!cs) return;
    static const char *const gauges[] = {"items", "model_version", "learner_lag", "learned",
                                         "updates", "rehash_jobs", "bits_recomputed"};
    for (size_t m = 0; m < sizeof gauges / sizeof gauges[0]; m++) {
        sb_printf(b, "# TYPE l2hd_collection_%s gauge\n", gauges[m]);
        for (size_t i = 0; i < nc; i++) {
            coll *c = cs[i];
            double v = 0;
            pair *p;
            switch (m) {
            case 0:
                pthread_mutex_lock(&c->mu);
                v = (double)c->ids.live;
                pthread_mutex_unlock(&c->mu);
                break;
            case 1:
                p = coll_acquire(c);
                v = p ? (double)p->version : 0;
                pair_release(p);
                break;
            case 2: v = (double)atomic_load(&c->lag); break;
            case 3: v = (double)atomic_load(&c->learned); break;
            case 4: v = (double)atomic_load(&c->updates); break;
            case 5: v = (double)atomic_load(&c->jobs); break;
            default: v = (double)atomic_load(&c->bits_recomputed); break;
            }
            sb_printf(b, "l2hd_collection_%s{collection=\"%s\"} %.17g\n", gauges[m], c->cfg.name, v);
        }
    }
    sb_printf(b, "# HELP l2hd_search_seconds Search latency inside the service.\n"
                 "# TYPE l2hd_search_seconds histogram\n");
    for (size_t i = 0; i < nc; i++) {
        coll *c = cs[i];
        pthread_mutex_lock(&c->hist_mu);
        uint64_t cum = 0;
        for (size_t k = 0; k <= LAT_BUCKETS; k++) {
            cum += c->lat_counts[k];
            if (k < LAT_BUCKETS)
                sb_printf(b, "l2hd_search_seconds_bucket{collection=\"%s\",le=\"%g\"} %llu\n",
                          c->cfg.name, coll_lat_bound(k), (unsigned long long)cum);
            else
                sb_printf(b, "l2hd_search_seconds_bucket{collection=\"%s\",le=\"+Inf\"} %llu\n",
                          c->cfg.name, (unsigned long long)cum);
        }
        sb_printf(b, "l2hd_search_seconds_sum{collection=\"%s\"} %.9f\n"
                     "l2hd_search_seconds_count{collection=\"%s\"} %llu\n",
                  c->cfg.name, c->lat_sum, c->cfg.name, (unsigned long long)cum);
        pthread_mutex_unlock(&c->hist_mu);
        coll_put(c);
    }
    free(cs);
}

/* ---- handlers ------------------------------------------------------------------------------ */
static enum MHD_Result h_insert(struct MHD_Connection *con, coll *c, const req *q)
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

static enum MHD_Result h_delete(struct MHD_Connection *con, coll *c, const req *q)
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

static enum MHD_Result h_search(struct MHD_Connection *con, coll *c, const req *q)
{
    const double t0 = now_s();
    size_t k, radius;
    if (arg_size(con, "k", 10, 1, 100000, &k) != 0)
        return send_err(con, 400, "k must be an integer in 1..100000");
    const int by_radius = arg(con, "radius") != NULL;
    if (by_radius && arg_size(con, "radius", 0, 0, L2H_MAX_BITS, &radius) != 0)
        return send_err(con, 400, "radius must be an integer in 0..%d", L2H_MAX_BITS);
    /* JSON bodies may carry k / radius too */
    size_t jk = k, jr = by_radius ? radius : SIZE_MAX;
    if (!is_npy(con) && q->body) {
        cJSON *root = cJSON_ParseWithLength(q->body, q->len);
        const cJSON *v;
        if (root && (v = cJSON_GetObjectItemCaseSensitive(root, "k")) != NULL) {
            if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 100000) {
                cJSON_Delete(root);
                return send_err(con, 400, "k must be an integer in 1..100000");
            }
            jk = (size_t)v->valuedouble;
        }
        if (root && (v = cJSON_GetObjectItemCaseSensitive(root, "radius")) != NULL) {
            if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > L2H_MAX_BITS) {
                cJSON_Delete(root);
                return send_err(con, 400, "radius must be an integer in 0..%d", L2H_MAX_BITS);
            }
            jr = (size_t)v->valuedouble;
        }
        cJSON_Delete(root);
    }
    proto_batch bt;
    proto_error e;
    const int r = parse_body(con, q, c, 1, &bt, &e);
    if (r) return send_err(con, (unsigned)r, "%s", e.msg);
    pair *p = coll_acquire(c);
    if (!p) {
        proto_batch_free(&bt);
        return send_err(con, 409, "collection '%s' has no mapping yet (the learner waits for "
                                  "its first %zu items)", c->cfg.name, c->cfg.n_init);
    }
    const size_t cb = l2h_code_bytes(c->cfg.bits), nq = bt.n;
    uint8_t *codes = bt.codes;
    if (!codes) {
        codes = malloc(nq * cb);
        if (!codes || enc_encode(p->enc, bt.x, nq, codes) != 0) {
            free(codes);
            pair_release(p);
            proto_batch_free(&bt);
            return send_err(con, 400, "encoding failed: %s", l2h_last_error());
        }
    }
    sbuf b = {0};
    sb_printf(&b, "{\"version\":%llu,\"results\":[", (unsigned long long)p->version);
    l2h_status st = L2H_OK;
    if (jr != SIZE_MAX) {
        l2h_range_result *rr = NULL;
        st = l2h_index_range_search(p->index, codes, nq, (uint32_t)jr, &rr);
        if (st == L2H_OK) {
            const size_t *lims = l2h_range_result_lims(rr);
            const l2h_id *ids = l2h_range_result_ids(rr);
            const int32_t *ds = l2h_range_result_dists(rr);
            for (size_t i = 0; i < nq; i++) {
                sb_printf(&b, "%s{\"ids\":[", i ? "," : "");
                for (size_t j = lims[i]; j < lims[i + 1]; j++)
                    sb_printf(&b, "%s%lld", j > lims[i] ? "," : "", (long long)ids[j]);
                sb_printf(&b, "],\"distances\":[");
                for (size_t j = lims[i]; j < lims[i + 1]; j++)
                    sb_printf(&b, "%s%d", j > lims[i] ? "," : "", ds[j]);
                sb_printf(&b, "]}");
            }
        }
        l2h_range_result_free(rr);
    } else {
        int32_t *dist = malloc(nq * jk * sizeof *dist);
        l2h_id *ids = malloc(nq * jk * sizeof *ids);
        st = dist && ids ? l2h_index_search(p->index, codes, nq, jk, dist, ids) : L2H_ERR_NOMEM;
        for (size_t i = 0; st == L2H_OK && i < nq; i++) {
            sb_printf(&b, "%s{\"ids\":[", i ? "," : "");
            size_t m = 0;
            for (size_t j = 0; j < jk && ids[i * jk + j] >= 0; j++, m++)
                sb_printf(&b, "%s%lld", j ? "," : "", (long long)ids[i * jk + j]);
            sb_printf(&b, "],\"distances\":[");
            for (size_t j = 0; j < m; j++) sb_printf(&b, "%s%d", j ? "," : "", dist[i * jk + j]);
            sb_printf(&b, "]}");
        }
        free(dist);
        free(ids);
    }
    sb_printf(&b, "]}");
    const uint64_t version = p->version;
    (void)version;
    pair_release(p);
    if (codes != bt.codes) free(codes);
    proto_batch_free(&bt);
    if (st != L2H_OK) {
        free(b.p);
        return send_err(con, st == L2H_ERR_NOMEM ? 413 : 400, "search: %s", l2h_last_error());
    }
    coll_record_latency(c, now_s() - t0);
    return send_sb(con, 200, &b);
}

static enum MHD_Result h_encode(struct MHD_Connection *con, coll *c, const req *q)
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
static enum MHD_Result h_codes(struct MHD_Connection *con, coll *c)
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

static enum MHD_Result h_get_item(struct MHD_Connection *con, coll *c, const char *idtxt)
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

static enum MHD_Result h_list(struct MHD_Connection *con, int full)
{
    sbuf b = {0};
    pthread_rwlock_rdlock(&g.reg_mu);
    const size_t nc = g.n_colls;
    coll **cs = malloc((nc ? nc : 1) * sizeof *cs);
    for (size_t i = 0; cs && i < nc; i++) {
        cs[i] = g.colls[i];
        atomic_fetch_add(&cs[i]->refs, 1);
    }
    pthread_rwlock_unlock(&g.reg_mu);
    if (!cs) return send_err(con, 500, "out of memory");
    sb_printf(&b, "{\"ready\":%s,\"collections\":[", atomic_load(&g.ready) ? "true" : "false");
    for (size_t i = 0; i < nc; i++) {
        if (i) sb_printf(&b, ",");
        if (full) describe(&b, cs[i], 1);
        else sb_printf(&b, "\"%s\"", cs[i]->cfg.name);
        coll_put(cs[i]);
    }
    free(cs);
    sb_printf(&b, "],\"uptime_s\":%.1f,\"snapshots\":%llu,\"recovery_seconds\":%.3f}",
              now_s() - g.started, (unsigned long long)atomic_load(&g.snapshots),
              g.recovery_seconds);
    return send_sb(con, 200, &b);
}

/* ---- routing ------------------------------------------------------------------------------- */
static int authorised(struct MHD_Connection *con, int is_write)
{
    if (!token_[0] || (!is_write && !auth_all_)) return 1;
    const char *h = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Authorization");
    if (!h || strncmp(h, "Bearer ", 7) != 0) return 0;
    const char *t = h + 7;
    const size_t tl = strlen(t), kl = strlen(token_);
    unsigned diff = tl != kl;
    for (size_t i = 0; i < kl; i++) diff |= (unsigned)(t[i < tl ? i : 0] ^ token_[i]);
    return diff == 0;
}

static enum MHD_Result route(struct MHD_Connection *con, const char *url, const char *method,
                             const req *q)
{
    const int get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0,
              del = strcmp(method, "DELETE") == 0, put = strcmp(method, "PUT") == 0;
    if (strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0) {
        if (!get) return send_err(con, 405, "GET only");
        char *page = malloc(l2hd_status_html_len);
        if (!page) return MHD_NO;
        memcpy(page, l2hd_status_html, l2hd_status_html_len);
        return send_buf(con, 200, page, l2hd_status_html_len, "text/html; charset=utf-8");
    }
    if (strcmp(url, "/livez") == 0) {
        char *s = strdup("{\"live\":true}");
        return send_buf(con, 200, s, strlen(s), "application/json");
    }
    if (strcmp(url, "/readyz") == 0) {
        const int ready = atomic_load(&g.ready);
        sbuf b = {0};
        /* the recovery report is written before `ready` is published: read it only after */
        if (!ready) sb_printf(&b, "{\"ready\":false}");
        else
            sb_printf(&b, "{\"ready\":true,\"recovery_seconds\":%.3f,\"replayed_records\":%llu,"
                          "\"torn_bytes\":%llu,\"note\":\"%s\"}",
                      g.recovery_seconds, (unsigned long long)g.replayed_records,
                      (unsigned long long)g.torn_bytes, g.recovery_note);
        return send_sb(con, ready ? 200 : 503, &b);
    }
    /* search and encode are POSTs that change nothing: readers */
    const size_t ul = strlen(url);
    const int is_read_post = (ul > 7 && strcmp(url + ul - 7, "/search") == 0) ||
                             (ul > 7 && strcmp(url + ul - 7, "/encode") == 0);
    const int is_write = !get && !is_read_post;
    if (!authorised(con, is_write)) return send_err(con, 401, "missing or wrong bearer token");
    if (strcmp(url, "/metrics") == 0) {
        sbuf b = {0};
        metrics(&b);
        if (b.oom) return send_err(con, 500, "out of memory");
        return send_buf(con, 200, b.p ? b.p : strdup(""), b.n, "text/plain; version=0.0.4");
    }
    if (strncmp(url, "/v1/", 4) != 0) return send_err(con, 404, "no such endpoint: %s", url);
    if (!atomic_load(&g.ready)) return send_err(con, 503, "recovering; see /readyz");
    const char *path = url + 4;
    if (strcmp(path, "status") == 0) return h_list(con, 1);
    if (strcmp(path, "snapshot") == 0) {
        if (!post) return send_err(con, 405, "POST only");
        char err[256];
        const double t0 = now_s();
        if (snapshot_write(err, sizeof err) != 0) return send_err(con, 500, "%s", err);
        sbuf b = {0};
        sb_printf(&b, "{\"snapshot\":true,\"seconds\":%.3f}", now_s() - t0);
        return send_sb(con, 200, &b);
    }
    if (strcmp(path, "collections") == 0) {
        if (get) return h_list(con, 0);
        if (!post && !put) return send_err(con, 405, "GET or POST");
        coll_config cfg;
        char err[256];
        int code = coll_config_from_json(q->body ? q->body : "", q->len, &cfg, err, sizeof err);
        if (code == 0) code = coll_create(&cfg, 1, err, sizeof err);
        if (code != 200) return send_err(con, (unsigned)code, "%s", err);
        coll *c = coll_get(cfg.name, strlen(cfg.name));
        if (!c) return send_err(con, 500, "collection vanished");
        sbuf b = {0};
        describe(&b, c, 0);
        coll_put(c);
        return send_sb(con, 201, &b);
    }
    if (strncmp(path, "collections/", 12) != 0) return send_err(con, 404, "no such endpoint: %s", url);
    const char *name = path + 12;
    const char *slash = strchr(name, '/');
    const size_t nl = slash ? (size_t)(slash - name) : strlen(name);
    if (!proto_valid_name(name, nl)) return send_err(con, 400, "bad collection name");
    coll *c = coll_get(name, nl);
    if (!c) return send_err(con, 404, "no collection '%.*s'", (int)nl, name);
    enum MHD_Result ret;
    const char *act = slash ? slash + 1 : "";
    if (!*act) {
        if (get) {
            sbuf b = {0};
            describe(&b, c, arg_bool(con, "history", 0));
            ret = send_sb(con, 200, &b);
        } else if (del) {
            char nm[81];
            snprintf(nm, sizeof nm, "%s", c->cfg.name);
            coll_put(c);
            c = NULL;
            const int code = coll_drop(nm, 1);
            ret = code == 200 ? send_err(con, 200, "dropped") : send_err(con, (unsigned)code, "drop failed");
        } else {
            ret = send_err(con, 405, "GET or DELETE");
        }
    } else if (strcmp(act, "items") == 0) {
        ret = post || put ? h_insert(con, c, q) : send_err(con, 405, "POST items");
    } else if (strncmp(act, "items/", 6) == 0) {
        ret = get ? h_get_item(con, c, act + 6) : send_err(con, 405, "GET only");
    } else if (strcmp(act, "delete") == 0) {
        ret = post ? h_delete(con, c, q) : send_err(con, 405, "POST only");
    } else if (strcmp(act, "search") == 0) {
        ret = post ? h_search(con, c, q) : send_err(con, 405, "POST only");
    } else if (strcmp(act, "encode") == 0) {
        ret = post ? h_encode(con, c, q) : send_err(con, 405, "POST only");
    } else if (strcmp(act, "codes") == 0) {
        ret = get ? h_codes(con, c) : send_err(con, 405, "GET only");
    } else if (strcmp(act, "rehash") == 0) {
        if (!post) ret = send_err(con, 405, "POST only");
        else {
            coll_request_rehash(c);
            sbuf b = {0};
            sb_printf(&b, "{\"rehash\":\"requested\"}");
            ret = send_sb(con, 202, &b);
        }
    } else {
        ret = send_err(con, 404, "no such endpoint: %s", url);
    }
    coll_put(c);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *con, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **con_cls)
{
    (void)cls;
    (void)version;
    req *q = *con_cls;
    if (!q) {
        q = calloc(1, sizeof *q);
        if (!q) return MHD_NO;
        *con_cls = q;
        atomic_fetch_add(&g.http_requests, 1);
        const char *cl = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > g.max_body) q->too_large = 1;
        return MHD_YES;
    }
    if (*upload_size) {
        if (!q->too_large) {
            if (q->len + *upload_size > g.max_body) {
                q->too_large = 1;
                free(q->body);
                q->body = NULL;
                q->len = q->cap = 0;
            } else {
                if (q->len + *upload_size + 1 > q->cap) {
                    size_t cap = q->cap ? q->cap : 4096;
                    while (cap < q->len + *upload_size + 1) cap *= 2;
                    char *n = realloc(q->body, cap);
                    if (!n) {
                        q->too_large = 1;
                    } else {
                        q->body = n;
                        q->cap = cap;
                    }
                }
                if (!q->too_large) {
                    memcpy(q->body + q->len, upload, *upload_size);
                    q->len += *upload_size;
                    q->body[q->len] = 0;
                }
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (q->done) return MHD_YES;
    q->done = 1;
    if (q->too_large)
        return send_err(con, 413, "request body larger than the limit of %zu bytes", g.max_body);
    return route(con, url, method, q);
}

static void on_done(void *cls, struct MHD_Connection *con, void **con_cls,
                    enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)con;
    (void)toe;
    req *q = *con_cls;
    if (!q) return;
    free(q->body);
    free(q);
    *con_cls = NULL;
}

int http_start(const char *host, int port, int threads, const char *token_file, int auth_all,
               int *bound_port)
{
    if (token_file) {
        FILE *f = fopen(token_file, "r");
        if (!f) {
            log_msg("cannot read the token file %s", token_file);
            return -1;
        }
        const size_t n = fread(token_, 1, sizeof token_ - 1, f);
        fclose(f);
        token_[n] = 0;
        while (n && (token_[strlen(token_) - 1] == '\n' || token_[strlen(token_) - 1] == '\r' ||
                     token_[strlen(token_) - 1] == ' '))
            token_[strlen(token_) - 1] = 0;
        if (!token_[0]) {
            log_msg("the token file %s is empty", token_file);
            return -1;
        }
    }
    auth_all_ = auth_all;
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        log_msg("--host must be an IPv4 address (got '%s')", host);
        return -1;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (threads > 0) flags |= MHD_USE_EPOLL;
    else flags |= MHD_USE_THREAD_PER_CONNECTION;
    daemon_ = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, NULL,
                               MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                               MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL,
                               MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000,
                               MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
                               threads > 0 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END,
                               (unsigned)threads, MHD_OPTION_END);
    if (!daemon_) return -1;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
    *bound_port = info ? info->port : port;
    return 0;
}

void http_stop(void)
{
    if (daemon_) MHD_stop_daemon(daemon_);
    daemon_ = NULL;
}
