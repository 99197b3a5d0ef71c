/* search.c -- the search handler of l2hd: k-NN or radius, by features (encoded with the
 * mapping of the pair searched) or by codes; the answer carries the pair's model version.
 *
 * Batching. The library's scan answers a batch of queries in one pass over the codes (each
 * cache block of codes is read once for all of them), so q queries in one call cost much less
 * than q calls (bench/bench_search.c measures it). Concurrent k-NN requests are therefore
 * answered together: a request queues its queries; whenever fewer than g.search_batches
 * batches run, a waiting request takes the queued jobs that share its head's pair and k (at
 * most g.search_batch queries), runs one l2h_index_search for them all and hands every job its
 * rows. With one request at a time there is no wait and no copy: it runs alone, at once. Each
 * job keeps the pair it acquired, so an answer still comes from one (mapping, index) pair. */
#include "http.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

typedef struct search_job {
    pair *p;
    const uint8_t *q;
    size_t nq, k;
    int32_t *dist;
    l2h_id *ids;
    l2h_status st;
    int done;
    char err[200];
    struct search_job *next;
} search_job;

/* Takes from the queue the jobs that can share one call with the head (same pair, same k, at
 * most g.search_batch queries together), in arrival order. Under c->sq_mu. */
static search_job *take_batch(coll *c, size_t *total)
{
    const search_job *head = c->sq_head;
    search_job *batch = NULL, **bt = &batch, *rest = NULL, **rt = &rest, *last = NULL;
    size_t n = 0;
    for (search_job *j = c->sq_head, *next; j; j = next) {
        next = j->next;
        j->next = NULL;
        if (j->p == head->p && j->k == head->k && (n == 0 || n + j->nq <= g.search_batch)) {
            *bt = j;
            bt = &j->next;
            n += j->nq;
        } else {
            *rt = j;
            rt = &j->next;
            last = j;
        }
    }
    c->sq_head = rest;
    c->sq_tail = last;
    *total = n;
    return batch;
}

static void job_fail(search_job *j, l2h_status st)
{
    j->st = st;
    snprintf(j->err, sizeof j->err, "%s", l2h_last_error());
}

static void run_batch(search_job *b, size_t n)
{
    const l2h_index *ix = b->p->index;
    const size_t k = b->k;
    if (!b->next) {
        const l2h_status st = l2h_index_search(ix, b->q, b->nq, k, b->dist, b->ids);
        if (st != L2H_OK) job_fail(b, st);
        return;
    }
    const size_t cb = l2h_code_bytes(l2h_index_bits(ix));
    uint8_t *q = malloc(n * cb);
    int32_t *dist = malloc(n * k * sizeof *dist);
    l2h_id *ids = malloc(n * k * sizeof *ids);
    size_t o = 0;
    for (const search_job *j = b; q && j; j = j->next) {
        memcpy(q + o * cb, j->q, j->nq * cb);
        o += j->nq;
    }
    l2h_status st = L2H_ERR_NOMEM;
    if (q && dist && ids) st = l2h_index_search(ix, q, n, k, dist, ids);
    if (st != L2H_OK && st != L2H_ERR_NOMEM) {
        for (search_job *j = b; j; j = j->next) job_fail(j, st);
    } else if (st == L2H_ERR_NOMEM) {
        for (search_job *j = b; j; j = j->next) {
            j->st = st;
            snprintf(j->err, sizeof j->err, "out of memory for a batch of %zu queries", n);
        }
    } else {
        o = 0;
        for (search_job *j = b; j; j = j->next) {
            memcpy(j->dist, dist + o * k, j->nq * k * sizeof *dist);
            memcpy(j->ids, ids + o * k, j->nq * k * sizeof *ids);
            o += j->nq;
        }
    }
    free(q);
    free(dist);
    free(ids);
}

/* k nearest codes of nq queries in p->index, batched with concurrent requests on c. err gets
 * the message of a failure. */
static l2h_status search_knn(coll *c, pair *p, const uint8_t *q, size_t nq, size_t k,
                             int32_t *dist, l2h_id *ids, char *err, size_t el)
{
    if (g.search_batch <= 1 || nq >= g.search_batch) {
        const l2h_status st = l2h_index_search(p->index, q, nq, k, dist, ids);
        if (st != L2H_OK) snprintf(err, el, "%s", l2h_last_error());
        return st;
    }
    search_job me = {.p = p, .q = q, .nq = nq, .k = k, .dist = dist, .ids = ids, .st = L2H_OK};
    pthread_mutex_lock(&c->sq_mu);
    if (c->sq_tail) c->sq_tail->next = &me;
    else c->sq_head = &me;
    c->sq_tail = &me;
    while (!me.done) {
        if (c->sq_running >= g.search_batches || !c->sq_head) {
            pthread_cond_wait(&c->sq_cv, &c->sq_mu);
            continue;
        }
        size_t n = 0;
        search_job *b = take_batch(c, &n);
        c->sq_running++;
        pthread_mutex_unlock(&c->sq_mu);
        run_batch(b, n);
        atomic_fetch_add(&c->batches, 1);
        atomic_fetch_add(&c->batched_queries, n);
        pthread_mutex_lock(&c->sq_mu);
        for (search_job *j = b, *next; j; j = next) {
            next = j->next; /* read before `done`: the owner may return at once */
            j->done = 1;
        }
        c->sq_running--;
        pthread_cond_broadcast(&c->sq_cv);
    }
    pthread_mutex_unlock(&c->sq_mu);
    if (me.st != L2H_OK) snprintf(err, el, "%s", me.err);
    return me.st;
}

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
    char err[200] = "";
    if (jr != SIZE_MAX) {
        l2h_range_result *rr = NULL;
        st = l2h_index_range_search(p->index, codes, nq, (uint32_t)jr, &rr);
        if (st != L2H_OK) snprintf(err, sizeof err, "%s", l2h_last_error());
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
        st = dist && ids ? search_knn(c, p, codes, nq, jk, dist, ids, err, sizeof err)
                         : L2H_ERR_NOMEM;
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
        if (st == L2H_ERR_NOMEM && !err[0]) snprintf(err, sizeof err, "out of memory");
        return send_err(con, st == L2H_ERR_NOMEM ? 413 : 400, "search: %s", err);
    }
    coll_record_latency(c, now_s() - t0);
    return send_sb(con, 200, &b);
}
