/* search.c -- the search handler of l2hd: k-NN or radius, by features (encoded with the
 * mapping of the pair searched) or by codes; the answer carries the pair's model version. */
#include "http.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

enum MHD_Result h_search(struct MHD_Connection *con, coll *c, const req *q)
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
