/* http_state.c -- what l2hd tells about itself: a collection's description (config, size,
 * model version, index, re-hash and learner state, history, latency), the collection list and
 * the Prometheus /metrics page. */
#include "http.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_d(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void describe(sbuf *b, coll *c, int with_history)
{
    pair *p = coll_acquire(c);
    l2h_index_info info;
    memset(&info, 0, sizeof info);
    if (p && l2h_index_describe(p->index, &info) != L2H_OK) memset(&info, 0, sizeof info);
    char *cfg = coll_config_to_json(&c->cfg);
    pthread_mutex_lock(&c->mu);
    const size_t live = c->ids.live, rows = atomic_load(&c->st->n);
    const int job = c->job_active;
    const uint64_t inserted = c->inserted, deleted = c->deleted; /* written under c->mu */
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
        static const char *phases[] = {"initialising", "learning", "re-hashing"};
        const int ph = atomic_load(&c->learner_phase);
        sb_printf(b,
                  "\"learner\":{\"method\":\"%s\",\"phase\":\"%s\",\"learned\":%llu,\"lag\":%llu,"
                  "\"checks\":%llu,\"updates\":%llu,\"q_current\":",
                  c->cfg.method, phases[ph >= 0 && ph < 3 ? ph : 0],
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
    sb_printf(b, "\"search_batching\":{\"calls\":%llu,\"queries\":%llu},",
              (unsigned long long)atomic_load(&c->batches),
              (unsigned long long)atomic_load(&c->batched_queries));
    sb_printf(b, "\"searches\":%llu,\"inserted\":%llu,\"deleted\":%llu,",
              (unsigned long long)c->searches, (unsigned long long)inserted,
              (unsigned long long)deleted);
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
void metrics(sbuf *b)
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
                                         "updates", "rehash_jobs", "bits_recomputed",
                                         "search_batch_calls", "search_batch_queries"};
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
            case 6: v = (double)atomic_load(&c->bits_recomputed); break;
            case 7: v = (double)atomic_load(&c->batches); break;
            default: v = (double)atomic_load(&c->batched_queries); break;
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

enum MHD_Result h_list(struct MHD_Connection *con, int full)
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
