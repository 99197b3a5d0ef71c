/* learner.c -- the online learner of a collection, in its own thread.
 *
 * It consumes the feature store's rows in row order (rows inserted with learn=1), at its own
 * pace: ingest never waits for it. When it is more than max_lag rows behind, it takes a uniform
 * sample of what is waiting (every s-th row, s = ceil(lag / max_lag)) and reports the lag. Which
 * rows were learned is durable (ROW_LEARNED flags in snapshots, LEARN log records), so after a
 * crash the learner is rebuilt by deterministic replay of exactly those rows: pushes are
 * independent of how the rows are chunked.
 *
 * One handle. A search must run on one (mapping, index) pair, and the learner's own encoder
 * moves on as it learns; so when the policy fires (or a re-hash is asked for) this thread takes
 * a copy of the handle's snapshot mapping Φˢ (l2h_online_model: an l2h_model whose codes equal
 * the run's bit for bit), encodes the whole store with it into a new index and swaps the pair
 * in; the pair owns that model. Every row is learned once. Learning pauses during the job (it
 * runs in a low-priority helper thread the learner waits for), so a second trigger cannot
 * happen during one (trivially coalesced); a re-hash requested during a job is coalesced. */
#include "l2hd.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct rowvec {
    size_t *v;
    size_t n, cap;
} rowvec;

static int rv_push(rowvec *r, size_t x)
{
    if (r->n == r->cap) {
        const size_t cap = r->cap ? r->cap * 2 : 1024;
        size_t *n = realloc(r->v, cap * sizeof *n);
        if (!n) return -1;
        r->v = n;
        r->cap = cap;
    }
    r->v[r->n++] = x;
    return 0;
}

double mi_quality(const uint8_t *codes, const int32_t *labels, size_t n, size_t bits)
{
    if (n < 2 || bits == 0) return NAN;
    const size_t cb = l2h_code_bytes(bits), nb = bits;
    double *hp = malloc(nb * sizeof *hp), *hn = malloc(nb * sizeof *hn);
    if (!hp || !hn) {
        free(hp);
        free(hn);
        return NAN;
    }
    double q = 0;
    for (size_t j = 0; j < n; j++) {
        memset(hp, 0, nb * sizeof *hp);
        memset(hn, 0, nb * sizeof *hn);
        double np = 0, nn = 0;
        for (size_t i = 0; i < n; i++) {
            size_t d = l2h_hamming(codes + j * cb, codes + i * cb, bits);
            if (d > nb - 1) d = nb - 1;
            if (labels[i] == labels[j]) {
                hp[d] += 1;
                np += 1;
            } else {
                hn[d] += 1;
                nn += 1;
            }
        }
        double h = 0, hpos = 0, hneg = 0;
        for (size_t b = 0; b < nb; b++) {
            const double pd = (hp[b] + hn[b]) / (double)n;
            if (pd > 0) h -= pd * log2(pd);
            if (np > 0 && hp[b] > 0) hpos -= hp[b] / np * log2(hp[b] / np);
            if (nn > 0 && hn[b] > 0) hneg -= hn[b] / nn * log2(hn[b] / nn);
        }
        const double mi = h - np / (double)n * hpos - nn / (double)n * hneg;
        q += mi > 0 ? mi : 0;
    }
    free(hp);
    free(hn);
    return q / (double)n;
}

typedef struct learner {
    coll *c;
    l2h_online *lead;
    size_t cursor;
    uint64_t last_updates;
    /* Q_R reservoir (display): rows of a uniform sample of the learned rows */
    size_t *res;
    size_t res_n, seen;
    uint64_t rng;
    float *xb;
    int32_t *lb;
    uint8_t *cb;
} learner;

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

enum { CHUNK = 256 };

/* Pushes rows[0..n) of the store into o (gathering features and labels). */
static int push_rows(learner *L, l2h_online *o, const size_t *rows, size_t n)
{
    coll *c = L->c;
    const size_t dim = c->cfg.dim;
    for (size_t s = 0; s < n; s += CHUNK) {
        const size_t k = n - s < CHUNK ? n - s : CHUNK;
        for (size_t i = 0; i < k; i++) {
            memcpy(L->xb + i * dim, store_x(c->st, rows[s + i]), dim * sizeof(float));
            L->lb[i] = store_label(c->st, rows[s + i]);
        }
        if (l2h_online_push(o, L->xb, c->cfg.labelled ? L->lb : NULL, k, NULL) != L2H_OK)
            return -1;
    }
    return 0;
}

static void reservoir_offer(learner *L, const size_t *rows, size_t n)
{
    const size_t R = L->c->cfg.reservoir;
    for (size_t i = 0; i < n; i++) {
        L->seen++;
        if (L->res_n < R) {
            L->res[L->res_n++] = rows[i];
        } else {
            const uint64_t j = splitmix(&L->rng) % L->seen;
            if (j < R) L->res[j] = rows[i];
        }
    }
}

static void quality(learner *L, double *qc, double *qs)
{
    coll *c = L->c;
    *qc = *qs = NAN;
    if (!c->cfg.labelled || L->res_n < 2) return;
    const size_t n = L->res_n, dim = c->cfg.dim, cbytes = l2h_code_bytes(c->cfg.bits);
    float *x = malloc(n * dim * sizeof *x);
    int32_t *lab = malloc(n * sizeof *lab);
    uint8_t *codes = malloc(n * cbytes);
    if (x && lab && codes) {
        for (size_t i = 0; i < n; i++) {
            memcpy(x + i * dim, store_x(c->st, L->res[i]), dim * sizeof *x);
            lab[i] = store_label(c->st, L->res[i]);
        }
        if (l2h_online_encode_current(L->lead, x, n, codes) == L2H_OK)
            *qc = mi_quality(codes, lab, n, c->cfg.bits);
        if (l2h_online_encode(L->lead, x, n, codes) == L2H_OK)
            *qs = mi_quality(codes, lab, n, c->cfg.bits);
    }
    free(x);
    free(lab);
    free(codes);
}

static void log_learned(coll *c, size_t first, size_t end, size_t stride)
{
    uint8_t rec[1 + 80 + 24];
    const size_t nl = strlen(c->cfg.name);
    rec[0] = (uint8_t)nl;
    memcpy(rec + 1, c->cfg.name, nl);
    const uint64_t v[3] = {first, end, stride};
    memcpy(rec + 1 + nl, v, sizeof v);
    const void *parts[1] = {rec};
    const size_t lens[1] = {1 + nl + sizeof v};
    (void)wal_append(g.log, WAL_LEARN, parts, lens, 1, NULL);
}

static l2h_online *new_online(const coll_config *cfg)
{
    l2h_online_params op = l2h_online_default_params();
    op.method = cfg->method;
    op.bits = cfg->bits;
    op.reservoir = cfg->reservoir;
    op.interval = cfg->interval;
    op.policy = (l2h_online_policy)cfg->policy;
    op.theta = cfg->theta;
    op.seed = cfg->seed;
    op.n_init = cfg->n_init;
    op.batch = cfg->batch;
    l2h_online *o = NULL;
    return l2h_online_create(&o, &op, cfg->dim) == L2H_OK ? o : NULL;
}

static uint64_t updates_of(l2h_online *o, uint64_t *checks)
{
    l2h_online_stats s;
    if (l2h_online_get_stats(o, &s) != L2H_OK) return 0;
    if (checks) *checks = s.checks;
    return s.updates;
}

/* An encoder owning a copy of the handle's snapshot mapping (what its table was built with). */
static enc *snapshot_enc(l2h_online *o)
{
    l2h_model *m = NULL;
    if (l2h_online_model(o, L2H_ONLINE_SNAPSHOT, &m) != L2H_OK) return NULL;
    enc *e = enc_from_model(m);
    if (!e) l2h_model_free(m);
    return e;
}

/* The job: encode the store with a copy of the snapshot mapping, swap the pair in. */
static int rehash_and_swap(learner *L)
{
    coll *c = L->c;
    atomic_store(&c->learner_phase, 2);
    enc *e = snapshot_enc(L->lead);
    if (!e) return -1;
    const uint64_t upd = updates_of(L->lead, NULL);
    if (coll_rehash(c, e, upd + 1, 1) != 0) return -1; /* it took our reference */
    hist_point hp = {.t = now_s(), .items = atomic_load(&c->learned), .updates = upd,
                     .version = upd + 1, .rehash = 1};
    pthread_mutex_lock(&c->hist_mu);
    hp.q_cur = c->q_cur;
    hp.q_snap = c->q_snap;
    pthread_mutex_unlock(&c->hist_mu);
    coll_hist_add(c, &hp);
    atomic_store(&c->learner_phase, 1);
    return 0;
}

void *learner_main(void *arg)
{
    learner L;
    memset(&L, 0, sizeof L);
    L.c = arg;
    coll *c = L.c;
    const coll_config *cfg = &c->cfg;
    L.lead = new_online(cfg);
    L.xb = malloc((size_t)CHUNK * cfg->dim * sizeof *L.xb);
    L.lb = malloc((size_t)CHUNK * sizeof *L.lb);
    L.res = malloc(cfg->reservoir * sizeof *L.res);
    L.rng = cfg->seed ^ 0x5eedULL;
    rowvec learned = {0};
    float *ix = NULL;
    int32_t *il = NULL;
    if (!L.lead || !L.xb || !L.lb || !L.res) {
        log_msg("%s: learner cannot start: %s", cfg->name, l2h_last_error());
        goto out;
    }
    /* 1. initialisation from the first n_init learnable rows */
    atomic_store(&c->learner_phase, 0);
    rowvec init = {0};
    for (;;) {
        pthread_mutex_lock(&c->mu);
        const size_t n = atomic_load(&c->st->n);
        for (; L.cursor < n && init.n < cfg->n_init; L.cursor++)
            if (store_flags(c->st, L.cursor) & ROW_LEARN) (void)rv_push(&init, L.cursor);
        const bool enough = init.n >= cfg->n_init;
        if (!enough && !atomic_load(&c->stop)) {
            atomic_store(&c->recovered, true); /* nothing learned yet: nothing to replay */
            pthread_cond_wait(&c->learn_cv, &c->mu);
        }
        pthread_mutex_unlock(&c->mu);
        if (atomic_load(&c->stop)) goto out;
        if (enough) break;
    }
    ix = malloc((init.n ? init.n : 1) * cfg->dim * sizeof *ix);
    il = malloc((init.n ? init.n : 1) * sizeof *il);
    if (!ix || !il) goto out;
    for (size_t i = 0; i < init.n; i++) {
        memcpy(ix + i * cfg->dim, store_x(c->st, init.v[i]), cfg->dim * sizeof *ix);
        il[i] = store_label(c->st, init.v[i]);
    }
    if (l2h_online_begin(L.lead, ix, cfg->labelled ? il : NULL, init.n, NULL) != L2H_OK) {
        log_msg("%s: learner initialisation failed: %s", cfg->name, l2h_last_error());
        free(init.v);
        goto out;
    }
    if (init.n) {
        coll_apply_learned(c, init.v[0], init.v[init.n - 1] + 1, 1); /* only LEARN rows count */
        log_learned(c, init.v[0], init.v[init.n - 1] + 1, 1);
    }
    free(init.v);
    /* 2. deterministic replay of the rows learned before a restart */
    {
        const size_t n = atomic_load(&c->st->n);
        for (size_t r = L.cursor; r < n; r++) {
            const uint8_t f = store_flags(c->st, r);
            if ((f & ROW_LEARN) && (f & ROW_LEARNED)) {
                (void)rv_push(&learned, r);
                L.cursor = r + 1;
            }
        }
        for (size_t s = 0; s < learned.n; s += CHUNK) {
            const size_t k = learned.n - s < CHUNK ? learned.n - s : CHUNK;
            if (push_rows(&L, L.lead, learned.v + s, k) != 0) goto out;
            reservoir_offer(&L, learned.v + s, k);
        }
        L.last_updates = updates_of(L.lead, NULL);
        atomic_store(&c->learned, learned.n + cfg->n_init);
        uint64_t checks = 0;
        atomic_store(&c->updates, updates_of(L.lead, &checks));
        atomic_store(&c->checks, checks);
    }
    /* 3. the first pair: the snapshot mapping (of the last update) over the whole store */
    {
        enc *e = snapshot_enc(L.lead);
        if (!e) goto out;
        if (coll_rehash(c, e, L.last_updates + 1, 0) != 0) goto out; /* it took e */
        atomic_fetch_sub(&c->jobs, 1); /* the initial build is not a re-hash */
    }
    atomic_store(&c->recovered, true);
    atomic_store(&c->learner_phase, 1);
    /* 4. learn from the stream */
    uint64_t passed = 0; /* learnable rows the cursor has passed */
    for (size_t r = 0; r < L.cursor; r++) passed += (store_flags(c->st, r) & ROW_LEARN) != 0;
    for (;;) {
        pthread_mutex_lock(&c->mu);
        while (!atomic_load(&c->stop) && !atomic_load(&c->rehash_requested) &&
               L.cursor >= atomic_load(&c->st->n)) {
            atomic_store(&c->lag, 0);
            pthread_cond_wait(&c->learn_cv, &c->mu);
        }
        pthread_mutex_unlock(&c->mu);
        if (atomic_load(&c->stop)) break;
        if (atomic_exchange(&c->rehash_requested, false)) {
            if (rehash_and_swap(&L) != 0) log_msg("%s: re-hash failed", cfg->name);
            continue;
        }
        const size_t n = atomic_load(&c->st->n);
        /* lag = learnable rows waiting (rows inserted with learn=0 do not count) */
        const uint64_t lag = atomic_load(&c->learn_rows) - passed;
        atomic_store(&c->lag, lag);
        const size_t stride = lag > cfg->max_lag ? (lag + cfg->max_lag - 1) / cfg->max_lag : 1;
        size_t rows[CHUNK], k = 0;
        const size_t first = L.cursor;
        size_t r = L.cursor, seen_learn = 0;
        for (; r < n && k < CHUNK; r++) {
            if (!(store_flags(c->st, r) & ROW_LEARN)) continue;
            if (seen_learn++ % stride == 0) rows[k++] = r;
        }
        passed += seen_learn;
        L.cursor = r;
        if (k) {
            if (push_rows(&L, L.lead, rows, k) != 0) {
                log_msg("%s: learning failed: %s", cfg->name, l2h_last_error());
                break;
            }
            reservoir_offer(&L, rows, k);
        }
        /* durable record of what was learned: the rows themselves (LEARN rows of the range
         * not taken are skipped by the sample) */
        for (size_t i = 0; i < k; i++) {
            coll_apply_learned(c, rows[i], rows[i] + 1, 1);
            if (stride == 1) continue;
            log_learned(c, rows[i], rows[i] + 1, 1);
        }
        if (stride == 1 && k) log_learned(c, first, L.cursor, 1);
        uint64_t checks = 0;
        const uint64_t checks_before = atomic_load(&c->checks);
        const uint64_t u = updates_of(L.lead, &checks);
        if (u > L.last_updates) atomic_store(&c->learner_phase, 2); /* a job is due */
        atomic_store(&c->checks, checks);
        atomic_store(&c->updates, u);
        atomic_fetch_add(&c->learned, k);
        atomic_store(&c->lag, atomic_load(&c->learn_rows) - passed);
        if (checks > checks_before) {
            double qc, qs;
            quality(&L, &qc, &qs);
            pthread_mutex_lock(&c->hist_mu);
            c->q_cur = qc;
            c->q_snap = qs;
            pthread_mutex_unlock(&c->hist_mu);
            hist_point hp = {.t = now_s(), .items = atomic_load(&c->learned), .q_cur = qc,
                             .q_snap = qs, .updates = u, .version = L.last_updates + 1};
            coll_hist_add(c, &hp);
        }
        if (u > L.last_updates) {
            L.last_updates = u;
            if (rehash_and_swap(&L) != 0) log_msg("%s: re-hash failed", cfg->name);
        }
    }
out:
    l2h_online_free(L.lead);
    atomic_store(&c->recovered, true);
    free(L.xb);
    free(L.lb);
    free(L.res);
    free(learned.v);
    free(ix);
    free(il);
    coll_put(c);
    return NULL;
}
