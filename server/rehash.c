/* rehash.c -- the background re-hash of a collection: encode every alive row with a new mapping
 * into a shadow index while writes go on, then swap the (mapping, index) pair in atomically;
 * the job runs in a low-priority helper thread, gives up at shutdown and frees the old pair
 * itself. Also the worker that runs requested re-hashes of fixed-mapping collections. */
#include "l2hd.h"

#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Installs np and returns the old pair, whose reference count is then final but for releases. */
static pair *swap_pair(coll *c, pair *np)
{
    pair *old = atomic_exchange(&c->cur, np);
    while (atomic_load(&c->acquiring) != 0) sched_yield();
    return old;
}

/* Drops the collection's reference on an old pair. The last holder frees it, and freeing an
 * index of a million codes takes milliseconds: the caller (a background job) waits until it
 * holds the last reference, so that cost never lands on a search. */
static void retire_pair(pair *old)
{
    if (!old) return;
    while (atomic_load(&old->refs) > 1) {
        const struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
    }
    pair_release(old);
}

/* ---- re-hash ------------------------------------------------------------------------------- */
static int rehash_run(coll *c, enc *e, uint64_t version)
{
    const size_t cb = l2h_code_bytes(c->cfg.bits), dim = c->cfg.dim;
    pthread_mutex_lock(&c->mu);
    c->job_active = true;
    c->n_job_deleted = 0;
    const size_t n0 = atomic_load(&c->st->n);
    pthread_mutex_unlock(&c->mu);

    l2h_index *ix = NULL;
    l2h_index_params ip = l2h_index_default_params(c->cfg.bits);
    ip.kind = c->cfg.kind;
    int rc = l2h_index_create(&ix, &ip) == L2H_OK ? 0 : -1;
    /* encode the alive rows [0, n0) in chunks, outside the lock */
    enum { CH = 4096 };
    float *xb = malloc((size_t)CH * dim * sizeof *xb);
    uint8_t *codes = malloc((size_t)CH * cb);
    int64_t *ids = malloc((size_t)CH * sizeof *ids);
    uint64_t encoded = 0;
    int aborted = 0;
    if (!xb || !codes || !ids) rc = -1;
    /* collect everything first, then add once (one MIH table build) */
    uint8_t *all_codes = NULL;
    int64_t *all_ids = NULL;
    size_t n_all = 0, cap_all = 0;
    for (size_t r0 = 0; rc == 0 && r0 < n0; r0 += CH) {
        if (atomic_load(&c->stop)) { /* shutting down: a low-priority job may be far from done */
            rc = -1;
            aborted = 1;
            break;
        }
        size_t k = 0;
        for (size_t r = r0; r < n0 && r < r0 + CH; r++) {
            if (!(store_flags(c->st, r) & ROW_ALIVE)) continue;
            memcpy(xb + k * dim, store_x(c->st, r), dim * sizeof *xb);
            ids[k++] = store_id(c->st, r);
        }
        if (!k) continue;
        if (enc_encode(e, xb, k, codes) != 0) {
            rc = -1;
            break;
        }
        if (n_all + k > cap_all) {
            size_t cap = cap_all ? cap_all : 65536;
            while (cap < n_all + k) cap *= 2;
            uint8_t *nc = realloc(all_codes, cap * cb);
            if (nc) all_codes = nc;
            int64_t *ni = realloc(all_ids, cap * sizeof *ni);
            if (ni) all_ids = ni;
            if (!nc || !ni) {
                rc = -1;
                break;
            }
            cap_all = cap;
        }
        memcpy(all_codes + n_all * cb, codes, k * cb);
        memcpy(all_ids + n_all, ids, k * sizeof *ids);
        n_all += k;
        encoded += k;
    }
    if (rc == 0 && n_all && l2h_index_add(ix, all_codes, all_ids, n_all) != L2H_OK) rc = -1;
    free(all_codes);
    free(all_ids);

    pair *old = NULL;
    pthread_mutex_lock(&c->mu);
    if (rc == 0 && c->n_job_deleted &&
        l2h_index_remove(ix, c->job_deleted, c->n_job_deleted, NULL) != L2H_OK)
        rc = -1;
    /* rows written while the job ran */
    const size_t n1 = atomic_load(&c->st->n);
    for (size_t r0 = n0; rc == 0 && r0 < n1; r0 += CH) {
        size_t k = 0;
        for (size_t r = r0; r < n1 && r < r0 + CH; r++) {
            if (!(store_flags(c->st, r) & ROW_ALIVE)) continue;
            memcpy(xb + k * dim, store_x(c->st, r), dim * sizeof *xb);
            ids[k++] = store_id(c->st, r);
        }
        if (k && (enc_encode(e, xb, k, codes) != 0 || l2h_index_add(ix, codes, ids, k) != L2H_OK))
            rc = -1;
        encoded += k;
    }
    pair *np = rc == 0 ? calloc(1, sizeof *np) : NULL;
    if (np) {
        atomic_init(&np->refs, 1);
        np->version = version;
        np->enc = e;
        np->index = ix;
        old = swap_pair(c, np);
        atomic_fetch_add(&c->jobs, 1);
        atomic_fetch_add(&c->bits_recomputed, encoded * c->cfg.bits);
    } else {
        rc = -1;
    }
    c->job_active = false;
    c->n_job_deleted = 0;
    pthread_mutex_unlock(&c->mu);
    if (rc != 0) {
        l2h_index_free(ix);
        enc_unref(e);
        if (aborted) log_msg("%s: re-hash abandoned at shutdown", c->cfg.name);
        else log_msg("%s: re-hash failed: %s", c->cfg.name, l2h_last_error());
    }
    retire_pair(old);
    free(xb);
    free(codes);
    free(ids);
    return rc;
}

typedef struct rehash_arg {
    coll *c;
    enc *e;
    uint64_t version;
    int rc;
} rehash_arg;

static void *rehash_thread(void *arg)
{
    rehash_arg *r = arg;
    /* Linux: setpriority on a thread id changes that thread only */
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), g.rehash_nice) != 0)
        log_msg("%s: cannot lower the re-hash priority", r->c->cfg.name);
    r->rc = rehash_run(r->c, r->e, r->version);
    return NULL;
}

int coll_rehash(coll *c, enc *e, uint64_t version, int background)
{
    if (!background || g.rehash_nice <= 0) return rehash_run(c, e, version);
    rehash_arg r = {c, e, version, -1};
    pthread_t t;
    if (pthread_create(&t, NULL, rehash_thread, &r) != 0) return rehash_run(c, e, version);
    pthread_join(t, NULL);
    return r.rc;
}

void coll_request_rehash(coll *c)
{
    pthread_mutex_lock(&c->mu);
    atomic_store(&c->rehash_requested, true); /* a request during a job is coalesced */
    pthread_cond_broadcast(&c->learn_cv);
    pthread_mutex_unlock(&c->mu);
}

/* Fixed-mapping collections: a worker that runs requested re-hashes. */
void *fixed_worker(void *arg)
{
    coll *c = arg;
    for (;;) {
        pthread_mutex_lock(&c->mu);
        while (!atomic_load(&c->stop) && !atomic_load(&c->rehash_requested))
            pthread_cond_wait(&c->learn_cv, &c->mu);
        pthread_mutex_unlock(&c->mu);
        if (atomic_load(&c->stop)) break;
        atomic_store(&c->rehash_requested, false);
        pair *p = coll_acquire(c);
        if (!p) continue;
        enc_ref(p->enc);
        const uint64_t v = p->version;
        enc *e = p->enc;
        pair_release(p);
        (void)coll_rehash(c, e, v, 1);
        hist_point hp = {.t = now_s(), .version = v, .rehash = 1, .q_cur = NAN, .q_snap = NAN};
        coll_hist_add(c, &hp);
    }
    return NULL;
}
