/* coll.c -- collections: registry, configuration, writes, the (mapping, index) pair reference,
 * start and stop of its threads, latency and history (the re-hash job is in rehash.c). See l2hd.h
 * for the objects and the lock order. */
#include "l2hd.h"
#include "proto.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const double lat_bounds[LAT_BUCKETS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                               0.01,   0.025,   0.05,   0.1,   0.25,   1.0};

/* ---- registry ------------------------------------------------------------------------------ */
static coll *find_locked(const char *name, size_t len)
{
    for (size_t i = 0; i < g.n_colls; i++)
        if (strlen(g.colls[i]->cfg.name) == len && memcmp(g.colls[i]->cfg.name, name, len) == 0)
            return g.colls[i];
    return NULL;
}

coll *coll_get(const char *name, size_t len)
{
    pthread_rwlock_rdlock(&g.reg_mu);
    coll *c = find_locked(name, len);
    if (c) atomic_fetch_add(&c->refs, 1);
    pthread_rwlock_unlock(&g.reg_mu);
    return c;
}

void pair_release(pair *p)
{
    if (!p || atomic_fetch_sub(&p->refs, 1) != 1) return;
    l2h_index_free(p->index);
    enc_unref(p->enc);
    free(p);
}

void coll_put(coll *c)
{
    if (!c || atomic_fetch_sub(&c->refs, 1) != 1) return;
    pair_release(atomic_load(&c->cur));
    store_free(c->st);
    idmap_free(&c->ids);
    free(c->job_deleted);
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->sq_mu);
    pthread_cond_destroy(&c->sq_cv);
    pthread_mutex_destroy(&c->hist_mu);
    pthread_cond_destroy(&c->learn_cv);
    free(c);
}

/* Lock-free: a low-priority re-hash thread that swaps the pair can be preempted anywhere
 * without making a search wait. The reader announces itself before it loads the pointer and
 * leaves after its reference is taken; swap_pair waits for the announced readers after storing
 * the new pointer, so once it returns every reader that saw the old pair holds a reference
 * (all accesses are sequentially consistent). */
pair *coll_acquire(coll *c)
{
    atomic_fetch_add(&c->acquiring, 1);
    pair *p = atomic_load(&c->cur);
    if (p) atomic_fetch_add(&p->refs, 1);
    atomic_fetch_sub(&c->acquiring, 1);
    return p;
}

/* ---- configuration ------------------------------------------------------------------------- */
static int cfg_err(char *err, size_t el, const char *msg)
{
    snprintf(err, el, "%s", msg);
    return 400;
}

int coll_config_from_json(const char *body, size_t len, coll_config *cfg, char *err, size_t el)
{
    memset(cfg, 0, sizeof *cfg);
    cJSON *root = cJSON_ParseWithLength(body, len);
    if (!root) return cfg_err(err, el, "malformed JSON body");
    int r = 0;
    const cJSON *v;
    l2h_online_params op = l2h_online_default_params();
#define NUM(key, dst, lo, hi)                                                                      \
    if ((v = cJSON_GetObjectItemCaseSensitive(root, key)) != NULL) {                               \
        if (!cJSON_IsNumber(v) || !(v->valuedouble >= (lo) && v->valuedouble <= (hi))) {          \
            r = cfg_err(err, el, "\"" key "\" must be a number in [" #lo ", " #hi "]");            \
            goto done;                                                                             \
        }                                                                                          \
        dst = v->valuedouble;                                                                      \
    }
    double name_ok = 0, dim = 0, bits = 32, seed = 12345, interval = (double)op.interval,
           reservoir = (double)op.reservoir, n_init = -1, max_lag = 10000, theta = op.theta,
           batch = 0;
    (void)name_ok;
    v = cJSON_GetObjectItemCaseSensitive(root, "name");
    if (!cJSON_IsString(v) || !proto_valid_name(v->valuestring, strlen(v->valuestring))) {
        r = cfg_err(err, el, "\"name\": 1-64 characters of A-Z a-z 0-9 _ . -");
        goto done;
    }
    snprintf(cfg->name, sizeof cfg->name, "%s", v->valuestring);
    NUM("dim", dim, 1, 65536);
    NUM("bits", bits, 1, L2H_MAX_BITS);
    NUM("seed", seed, 0, 9007199254740991.0);
    NUM("interval", interval, 1, 1e9);
    NUM("reservoir", reservoir, 2, 1e6);
    NUM("n_init", n_init, 0, 1e7);
    NUM("max_lag", max_lag, 1, 1e9);
    NUM("theta", theta, -1e9, 1e9);
    NUM("batch", batch, 0, 1e6);
#undef NUM
    if (dim == 0) {
        r = cfg_err(err, el, "\"dim\" (feature dimension) is required");
        goto done;
    }
    cfg->dim = (size_t)dim;
    cfg->bits = (size_t)bits;
    cfg->seed = (uint64_t)seed;
    cfg->interval = (size_t)interval;
    cfg->reservoir = (size_t)reservoir;
    cfg->max_lag = (size_t)max_lag;
    cfg->theta = theta;
    cfg->batch = (size_t)batch;
    cfg->kind = L2H_INDEX_FLAT;
    v = cJSON_GetObjectItemCaseSensitive(root, "index");
    if (v) {
        if (cJSON_IsString(v) && strcmp(v->valuestring, "flat") == 0) cfg->kind = L2H_INDEX_FLAT;
        else if (cJSON_IsString(v) && strcmp(v->valuestring, "mih") == 0) cfg->kind = L2H_INDEX_MIH;
        else {
            r = cfg_err(err, el, "\"index\" must be \"flat\" or \"mih\"");
            goto done;
        }
    }
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    const cJSON *method = cJSON_GetObjectItemCaseSensitive(root, "method");
    if ((model != NULL) == (method != NULL)) {
        r = cfg_err(err, el, "give \"model\" (\"lsh\" or a model file path: a fixed mapping) or "
                             "\"method\" (an online method), exactly one");
        goto done;
    }
    if (model) {
        if (!cJSON_IsString(model) || !model->valuestring[0]) {
            r = cfg_err(err, el, "\"model\" must be \"lsh\" or a model file path");
            goto done;
        }
        if (strcmp(model->valuestring, "lsh") == 0) {
            snprintf(cfg->model, sizeof cfg->model, "lsh");
        } else {
            snprintf(cfg->model, sizeof cfg->model, "file");
            if (strlen(model->valuestring) >= sizeof cfg->model_file) {
                r = cfg_err(err, el, "model path too long");
                goto done;
            }
            snprintf(cfg->model_file, sizeof cfg->model_file, "%s", model->valuestring);
        }
    } else {
        if (!cJSON_IsString(method)) {
            r = cfg_err(err, el, "\"method\" must be a string");
            goto done;
        }
        const char *const *names = l2h_online_methods();
        int found = 0;
        for (size_t i = 0; names[i]; i++) found |= strcmp(names[i], method->valuestring) == 0;
        if (!found) {
            r = cfg_err(err, el, "unknown online \"method\" (okh, osh, adapthash, sketchhash, "
                                 "mihash)");
            goto done;
        }
        snprintf(cfg->method, sizeof cfg->method, "%s", method->valuestring);
        cfg->policy = L2H_ONLINE_POLICY_TRIGGER;
        v = cJSON_GetObjectItemCaseSensitive(root, "policy");
        if (v) {
            if (cJSON_IsString(v) && strcmp(v->valuestring, "fixed") == 0)
                cfg->policy = L2H_ONLINE_POLICY_FIXED;
            else if (!cJSON_IsString(v) || strcmp(v->valuestring, "trigger") != 0) {
                r = cfg_err(err, el, "\"policy\" must be \"fixed\" or \"trigger\"");
                goto done;
            }
        }
        cfg->n_init = n_init >= 0 ? (size_t)n_init
                                  : (strcmp(cfg->method, "okh") == 0 ? op.okh_anchors : 0);
        v = cJSON_GetObjectItemCaseSensitive(root, "labelled");
        cfg->labelled = v ? cJSON_IsTrue(v) : strcmp(cfg->method, "osh") == 0 ||
                                                  strcmp(cfg->method, "mihash") == 0;
    }
done:
    cJSON_Delete(root);
    return r;
}

char *coll_config_to_json(const coll_config *cfg)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "name", cfg->name);
    cJSON_AddNumberToObject(o, "dim", (double)cfg->dim);
    cJSON_AddNumberToObject(o, "bits", (double)cfg->bits);
    cJSON_AddStringToObject(o, "index", cfg->kind == L2H_INDEX_MIH ? "mih" : "flat");
    cJSON_AddNumberToObject(o, "seed", (double)cfg->seed);
    if (cfg->model[0]) {
        cJSON_AddStringToObject(o, "model",
                                strcmp(cfg->model, "lsh") == 0 ? "lsh" : cfg->model_file);
    } else {
        cJSON_AddStringToObject(o, "method", cfg->method);
        cJSON_AddStringToObject(o, "policy",
                                cfg->policy == L2H_ONLINE_POLICY_FIXED ? "fixed" : "trigger");
        cJSON_AddNumberToObject(o, "interval", (double)cfg->interval);
        cJSON_AddNumberToObject(o, "reservoir", (double)cfg->reservoir);
        cJSON_AddNumberToObject(o, "theta", cfg->theta);
        cJSON_AddNumberToObject(o, "n_init", (double)cfg->n_init);
        cJSON_AddNumberToObject(o, "max_lag", (double)cfg->max_lag);
        cJSON_AddNumberToObject(o, "batch", (double)cfg->batch);
        cJSON_AddBoolToObject(o, "labelled", cfg->labelled);
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* ---- create / drop ------------------------------------------------------------------------- */
static coll *coll_new(const coll_config *cfg)
{
    coll *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->cfg = *cfg;
    c->st = store_create(cfg->dim);
    if (!c->st) {
        free(c);
        return NULL;
    }
    atomic_init(&c->refs, 1);
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->sq_mu, NULL);
    pthread_cond_init(&c->sq_cv, NULL);
    pthread_mutex_init(&c->hist_mu, NULL);
    pthread_cond_init(&c->learn_cv, NULL);
    c->q_cur = c->q_snap = NAN;
    return c;
}

int coll_create(const coll_config *cfg, int log_it, char *err, size_t el)
{
    if (cfg->model[0] && strcmp(cfg->model, "file") == 0 && log_it) {
        /* validate the model now, so a bad path is a 400, not a broken collection */
        l2h_model *m = NULL;
        if (l2h_model_load(&m, cfg->model_file) != L2H_OK) {
            snprintf(err, el, "model: %s", l2h_last_error());
            return 400;
        }
        const int ok = l2h_model_dim(m) == cfg->dim && l2h_model_bits(m) == cfg->bits;
        l2h_model_free(m);
        if (!ok) {
            snprintf(err, el, "the model file's dim/bits differ from the collection's");
            return 400;
        }
    }
    pthread_rwlock_wrlock(&g.reg_mu);
    if (find_locked(cfg->name, strlen(cfg->name))) {
        pthread_rwlock_unlock(&g.reg_mu);
        snprintf(err, el, "collection '%s' exists", cfg->name);
        return 409;
    }
    coll *c = coll_new(cfg);
    coll **nc = g.n_colls == g.cap_colls
                    ? realloc(g.colls, (g.cap_colls ? g.cap_colls * 2 : 8) * sizeof *nc)
                    : g.colls;
    if (!c || !nc) {
        pthread_rwlock_unlock(&g.reg_mu);
        if (c) coll_put(c);
        snprintf(err, el, "out of memory");
        return 500;
    }
    if (nc != g.colls) {
        g.colls = nc;
        g.cap_colls = g.cap_colls ? g.cap_colls * 2 : 8;
    }
    uint64_t lsn = 0;
    if (log_it) {
        char *js = coll_config_to_json(cfg);
        const void *parts[1] = {js};
        const size_t lens[1] = {js ? strlen(js) : 0};
        const int w = js ? wal_append(g.log, WAL_CREATE, parts, lens, 1, &lsn) : -1;
        free(js);
        if (w != 0) {
            pthread_rwlock_unlock(&g.reg_mu);
            coll_put(c);
            snprintf(err, el, "write-ahead log failed");
            return 500;
        }
    }
    g.colls[g.n_colls++] = c;
    pthread_rwlock_unlock(&g.reg_mu);
    if (log_it) {
        if (wal_wait(g.log, lsn) != 0) {
            snprintf(err, el, "write-ahead log failed");
            return 500;
        }
        if (coll_start(c) != 0) {
            snprintf(err, el, "cannot start the collection: %s", l2h_last_error());
            coll_drop(cfg->name, 1);
            return 400;
        }
        /* answer once the learner has its first mapping (or waits for its n_init items), so
         * a search right after the create does not meet "no mapping yet" */
        while (c->learner_started && !atomic_load(&c->recovered)) {
            const struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
    }
    return 200;
}

int coll_drop(const char *name, int log_it)
{
    pthread_rwlock_wrlock(&g.reg_mu);
    coll *c = find_locked(name, strlen(name));
    if (!c) {
        pthread_rwlock_unlock(&g.reg_mu);
        return 404;
    }
    uint64_t lsn = 0;
    if (log_it) {
        const void *parts[1] = {name};
        const size_t lens[1] = {strlen(name)};
        if (wal_append(g.log, WAL_DROP, parts, lens, 1, &lsn) != 0) {
            pthread_rwlock_unlock(&g.reg_mu);
            return 500;
        }
    }
    for (size_t i = 0; i < g.n_colls; i++)
        if (g.colls[i] == c) {
            g.colls[i] = g.colls[--g.n_colls];
            break;
        }
    atomic_store(&c->dropped, true);
    pthread_rwlock_unlock(&g.reg_mu);
    coll_stop_threads(c);
    coll_put(c);
    if (log_it && wal_wait(g.log, lsn) != 0) return 500;
    return 200;
}

/* ---- writes -------------------------------------------------------------------------------- */
static void job_note_deleted(coll *c, int64_t id)
{
    if (!c->job_active) return;
    if (c->n_job_deleted == c->cap_job_deleted) {
        const size_t cap = c->cap_job_deleted ? c->cap_job_deleted * 2 : 1024;
        int64_t *n = realloc(c->job_deleted, cap * sizeof *n);
        if (!n) return; /* cannot happen in practice; the swap then keeps a stale code */
        c->job_deleted = n;
        c->cap_job_deleted = cap;
    }
    c->job_deleted[c->n_job_deleted++] = id;
}

/* Store + id map part of an insert (shared by live writes and replay). Superseded ids of
 * indexed rows go to *old (caller-allocated [n]). */
static size_t apply_insert(coll *c, const float *x, const int64_t *ids, const int32_t *labels,
                           size_t n, uint8_t flags, int64_t *old, size_t *n_old)
{
    const size_t first = store_append(c->st, x, ids, labels, n, flags);
    if (first == SIZE_MAX) return SIZE_MAX;
    if (flags & ROW_LEARN) atomic_fetch_add(&c->learn_rows, n);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(flags & ROW_ALIVE)) continue;
        size_t prev;
        if (idmap_get(&c->ids, ids[i], &prev)) {
            store_set_flags(c->st, prev, (uint8_t)(store_flags(c->st, prev) & ~ROW_ALIVE));
            if (old) old[k++] = ids[i];
            job_note_deleted(c, ids[i]);
        }
        (void)idmap_put(&c->ids, ids[i], first + i);
        if (ids[i] >= c->next_id) c->next_id = ids[i] + 1;
    }
    if (n_old) *n_old = k;
    return first;
}

void coll_apply_insert(coll *c, const float *x, const int64_t *ids, const int32_t *labels,
                       size_t n, uint8_t flags)
{
    pthread_mutex_lock(&c->mu);
    (void)apply_insert(c, x, ids, labels, n, flags, NULL, NULL);
    pthread_mutex_unlock(&c->mu);
}

int coll_insert(coll *c, const float *x, const int64_t *ids_in, const int32_t *labels, size_t n,
                int learn, int index, uint64_t *lsn, int64_t *first_id, char *err, size_t el)
{
    if (c->cfg.method[0] && c->cfg.labelled && learn && !labels) {
        snprintf(err, el, "collection '%s' learns from labels: give \"labels\"", c->cfg.name);
        return 400;
    }
    if (!learn && !index) {
        snprintf(err, el, "learn=0 and index=0: nothing to do");
        return 400;
    }
    const size_t cb = l2h_code_bytes(c->cfg.bits);
    uint8_t *codes = index ? malloc(n * cb) : NULL;
    int64_t *ids = malloc(n * sizeof *ids), *old = malloc(n * sizeof *old);
    if ((index && !codes) || !ids || !old) {
        free(codes);
        free(ids);
        free(old);
        snprintf(err, el, "out of memory");
        return 413;
    }
    /* encode outside the lock with the current pair; re-encode if it was swapped meanwhile */
    pair *p = index ? coll_acquire(c) : NULL;
    if (p && enc_encode(p->enc, x, n, codes) != 0) {
        pair_release(p);
        free(codes);
        free(ids);
        free(old);
        snprintf(err, el, "encoding failed: %s", l2h_last_error());
        return 400;
    }
    pthread_mutex_lock(&c->mu);
    if (atomic_load(&c->dropped)) {
        pthread_mutex_unlock(&c->mu);
        pair_release(p);
        free(codes);
        free(ids);
        free(old);
        snprintf(err, el, "collection dropped");
        return 404;
    }
    if (index && atomic_load(&c->cur) != p) {
        pair_release(p);
        p = coll_acquire(c);
        if (p && enc_encode(p->enc, x, n, codes) != 0) {
            pthread_mutex_unlock(&c->mu);
            pair_release(p);
            free(codes);
            free(ids);
            free(old);
            snprintf(err, el, "encoding failed");
            return 400;
        }
    }
    for (size_t i = 0; i < n; i++)
        ids[i] = ids_in ? ids_in[i] : index ? c->next_id + (int64_t)i : -1;
    if (first_id) *first_id = ids[0];
    const uint8_t flags = (uint8_t)((index ? ROW_ALIVE : 0) | (learn && c->cfg.method[0] ? ROW_LEARN : 0));
    /* the log record: name, flags, has_labels, n, dim, ids, labels, features */
    uint8_t head[2 + 80 + 16];
    const size_t nl = strlen(c->cfg.name);
    head[0] = (uint8_t)nl;
    memcpy(head + 1, c->cfg.name, nl);
    size_t hl = 1 + nl;
    head[hl++] = flags;
    head[hl++] = labels ? 1 : 0;
    const uint64_t n64 = n, d64 = c->cfg.dim;
    memcpy(head + hl, &n64, 8);
    memcpy(head + hl + 8, &d64, 8);
    hl += 16;
    const void *parts[4] = {head, ids, labels, x};
    const size_t lens[4] = {hl, n * 8, labels ? n * 4 : 0, n * c->cfg.dim * 4};
    int code = 200;
    if (wal_append(g.log, WAL_INSERT, parts, lens, 4, lsn) != 0) {
        snprintf(err, el, "write-ahead log failed");
        code = 500;
    } else {
        size_t n_old = 0;
        if (apply_insert(c, x, ids, labels, n, flags, old, &n_old) == SIZE_MAX) {
            snprintf(err, el, "out of memory (store full)");
            code = 500; /* logged but not applied: replay will apply it */
        } else if (p) {
            if (n_old && l2h_index_remove(p->index, old, n_old, NULL) != L2H_OK)
                log_msg("%s: index remove: %s", c->cfg.name, l2h_last_error());
            if (l2h_index_add(p->index, codes, ids, n) != L2H_OK) {
                snprintf(err, el, "index: %s", l2h_last_error());
                code = 500;
            }
        }
        c->inserted += n;
        pthread_cond_broadcast(&c->learn_cv);
    }
    pthread_mutex_unlock(&c->mu);
    pair_release(p);
    free(codes);
    free(ids);
    free(old);
    return code;
}

static size_t apply_delete(coll *c, const int64_t *ids, size_t n, int64_t *found)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        size_t row;
        if (!idmap_get(&c->ids, ids[i], &row)) continue;
        store_set_flags(c->st, row, (uint8_t)(store_flags(c->st, row) & ~ROW_ALIVE));
        idmap_del(&c->ids, ids[i]);
        job_note_deleted(c, ids[i]);
        if (found) found[k] = ids[i];
        k++;
    }
    return k;
}

void coll_apply_delete(coll *c, const int64_t *ids, size_t n)
{
    pthread_mutex_lock(&c->mu);
    (void)apply_delete(c, ids, n, NULL);
    pthread_mutex_unlock(&c->mu);
}

int coll_delete(coll *c, const int64_t *ids, size_t n, size_t *removed, uint64_t *lsn)
{
    int64_t *found = malloc((n ? n : 1) * sizeof *found);
    if (!found) return 413;
    uint8_t head[1 + 80 + 8];
    const size_t nl = strlen(c->cfg.name);
    head[0] = (uint8_t)nl;
    memcpy(head + 1, c->cfg.name, nl);
    const uint64_t n64 = n;
    memcpy(head + 1 + nl, &n64, 8);
    const void *parts[2] = {head, ids};
    const size_t lens[2] = {1 + nl + 8, n * 8};
    pthread_mutex_lock(&c->mu);
    int code = 200;
    if (wal_append(g.log, WAL_DELETE, parts, lens, 2, lsn) != 0) {
        code = 500;
    } else {
        const size_t k = apply_delete(c, ids, n, found);
        pair *p = coll_acquire(c);
        if (p && k && l2h_index_remove(p->index, found, k, NULL) != L2H_OK)
            log_msg("%s: index remove: %s", c->cfg.name, l2h_last_error());
        pair_release(p);
        *removed = k;
        c->deleted += k;
    }
    pthread_mutex_unlock(&c->mu);
    free(found);
    return code;
}

void coll_apply_learned(coll *c, size_t first, size_t end, size_t stride)
{
    pthread_mutex_lock(&c->mu);
    const size_t n = atomic_load(&c->st->n);
    for (size_t r = first; r < end && r < n; r += stride ? stride : 1)
        store_set_flags(c->st, r, (uint8_t)(store_flags(c->st, r) | ROW_LEARNED));
    pthread_mutex_unlock(&c->mu);
}

static l2h_model *fixed_model(const coll_config *cfg)
{
    l2h_model *m = NULL;
    if (strcmp(cfg->model, "lsh") == 0) {
        l2h_dataset *ds = NULL;
        if (l2h_dataset_create(&ds, 1, cfg->dim, NULL) != L2H_OK) return NULL;
        l2h_baseline_params bp = l2h_baseline_default_params(cfg->bits);
        bp.seed = cfg->seed;
        bp.center = 0;
        const l2h_status st = l2h_lsh_train(&m, ds, &bp);
        l2h_dataset_free(ds);
        return st == L2H_OK ? m : NULL;
    }
    char path[700];
    snprintf(path, sizeof path, "%s/model-%s.st", g.dir, cfg->name);
    if (l2h_model_load(&m, path) == L2H_OK) return m; /* the service's own durable copy */
    if (l2h_model_load(&m, cfg->model_file) != L2H_OK) return NULL;
    if (l2h_model_save(m, path) != L2H_OK) log_msg("%s: cannot keep a copy of the model", cfg->name);
    return m;
}

int coll_start(coll *c)
{
    if (c->cfg.model[0]) {
        l2h_model *m = fixed_model(&c->cfg);
        if (!m) return -1;
        enc *e = enc_from_model(m);
        if (!e) {
            l2h_model_free(m);
            return -1;
        }
        if (coll_rehash(c, e, 1, 0) != 0) return -1;
        atomic_fetch_sub(&c->jobs, 1); /* the initial build is not a re-hash */
        if (pthread_create(&c->job_thread, NULL, fixed_worker, c) != 0) return -1;
        c->job_thread_started = true;
        return 0;
    }
    atomic_fetch_add(&c->refs, 1); /* held by the learner */
    if (pthread_create(&c->learner, NULL, learner_main, c) != 0) {
        atomic_fetch_sub(&c->refs, 1);
        return -1;
    }
    c->learner_started = true;
    return 0;
}

void coll_stop_threads(coll *c)
{
    pthread_mutex_lock(&c->mu);
    atomic_store(&c->stop, true);
    pthread_cond_broadcast(&c->learn_cv);
    pthread_mutex_unlock(&c->mu);
    if (c->job_thread_started) pthread_join(c->job_thread, NULL);
    c->job_thread_started = false;
    if (c->learner_started) pthread_join(c->learner, NULL);
    c->learner_started = false;
}

/* ---- latency and history ------------------------------------------------------------------- */
void coll_record_latency(coll *c, double s)
{
    pthread_mutex_lock(&c->hist_mu);
    size_t b = 0;
    while (b < LAT_BUCKETS && s > lat_bounds[b]) b++;
    c->lat_counts[b]++;
    c->lat_sum += s;
    c->searches++;
    c->lat_ring[c->lat_i++ % 1024] = s;
    pthread_mutex_unlock(&c->hist_mu);
}

void coll_hist_add(coll *c, const hist_point *p)
{
    pthread_mutex_lock(&c->hist_mu);
    c->hist[(c->hist_head + c->hist_n) % HIST_CAP] = *p;
    if (c->hist_n < HIST_CAP) c->hist_n++;
    else c->hist_head = (c->hist_head + 1) % HIST_CAP;
    pthread_mutex_unlock(&c->hist_mu);
}

double coll_lat_bound(size_t b)
{
    return b < LAT_BUCKETS ? lat_bounds[b] : (double)INFINITY;
}
