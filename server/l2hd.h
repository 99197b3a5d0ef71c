/* l2hd.h -- internals of the l2h retrieval service (docs/service.md). The daemon uses only the
 * public l2h API; everything here is the service's own state.
 *
 * Objects:
 *   store   the feature store of a collection: append-only rows (features, id, label, flags) in
 *           fixed blocks, so a row never moves and readers outside the lock see stable memory;
 *   enc     a hash mapping that encodes features: an l2h_model (thread-safe); for an online
 *           collection, a copy of the learner's snapshot mapping (l2h_online_model);
 *   pair    (enc, l2h_index): what one search runs on, refcounted; the collection's current pair
 *           is swapped atomically after a background re-hash; old pairs die with their last
 *           reader;
 *   coll    a collection: config, store, id map, current pair, learner, counters, history;
 *   wal     the write-ahead log: checksummed records, group commit, fsync policy.
 * Lock order: g.reg_mu -> coll.mu -> wal.mu; coll.sq_mu (search batching) is a leaf. The
 * current pair is read without a lock (coll_acquire), so a search never waits for a writer. */
#ifndef L2HD_H
#define L2HD_H

#include <l2h/l2h.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define STORE_BLOCK_ROWS 65536
#define STORE_MAX_BLOCKS 16384

enum { ROW_ALIVE = 1, ROW_LEARN = 2, ROW_LEARNED = 4 };

typedef struct store {
    size_t dim;
    _Atomic size_t n; /* rows published */
    float *x[STORE_MAX_BLOCKS];
    int64_t *id[STORE_MAX_BLOCKS];
    int32_t *label[STORE_MAX_BLOCKS];
    _Atomic uint8_t *flags[STORE_MAX_BLOCKS];
} store;

static inline const float *store_x(const store *s, size_t r)
{
    return s->x[r / STORE_BLOCK_ROWS] + (r % STORE_BLOCK_ROWS) * s->dim;
}
static inline int64_t store_id(const store *s, size_t r)
{
    return s->id[r / STORE_BLOCK_ROWS][r % STORE_BLOCK_ROWS];
}
static inline int32_t store_label(const store *s, size_t r)
{
    return s->label[r / STORE_BLOCK_ROWS][r % STORE_BLOCK_ROWS];
}
static inline uint8_t store_flags(const store *s, size_t r)
{
    return atomic_load_explicit(&s->flags[r / STORE_BLOCK_ROWS][r % STORE_BLOCK_ROWS],
                                memory_order_acquire);
}
static inline void store_set_flags(store *s, size_t r, uint8_t f)
{
    atomic_store_explicit(&s->flags[r / STORE_BLOCK_ROWS][r % STORE_BLOCK_ROWS], f,
                          memory_order_release);
}
store *store_create(size_t dim);
void store_free(store *s);
/* Appends n rows (labels may be NULL = -1); returns the first row or SIZE_MAX on OOM. Not
 * thread-safe against other appends (caller holds coll.mu); readers may run. */
size_t store_append(store *s, const float *x, const int64_t *ids, const int32_t *labels,
                    size_t n, uint8_t flags);

/* id -> row of the alive row carrying it (open addressing). */
typedef struct idmap {
    int64_t *keys; /* -1 empty, -2 tombstone */
    size_t *rows;
    size_t cap, used, live;
} idmap;
int idmap_put(idmap *m, int64_t id, size_t row);
int idmap_get(const idmap *m, int64_t id, size_t *row);
void idmap_del(idmap *m, int64_t id);
void idmap_free(idmap *m);

/* ---- encoders and pairs ------------------------------------------------------------------ */
typedef struct enc {
    atomic_int refs;
    l2h_model *model; /* owned */
} enc;
enc *enc_from_model(l2h_model *m);
void enc_ref(enc *e);
void enc_unref(enc *e);
int enc_encode(enc *e, const float *x, size_t n, uint8_t *codes);

typedef struct pair {
    atomic_int refs;
    uint64_t version;
    enc *enc;
    l2h_index *index;
} pair;

/* ---- collections ------------------------------------------------------------------------- */
typedef struct coll_config {
    char name[80];
    size_t dim, bits;
    l2h_index_kind kind;
    /* fixed mapping: "lsh" (seeded, no centring) or a model file copied into the data dir */
    char model[16];      /* "lsh", "file", or "" for online */
    char model_file[512];
    uint64_t seed;
    /* online */
    char method[16];
    int policy;          /* l2h_online_policy */
    size_t interval, reservoir, n_init, max_lag, batch;
    double theta;
    int labelled;
} coll_config;

#define HIST_CAP 4096
typedef struct hist_point {
    double t;          /* unix seconds */
    uint64_t items;    /* learned items */
    double q_cur, q_snap;
    uint64_t updates;
    uint64_t version;
    int rehash;        /* 1: a re-hash finished at this point */
} hist_point;

#define LAT_BUCKETS 12
struct search_job;
typedef struct coll {
    coll_config cfg;
    atomic_int refs;
    atomic_bool dropped;
    pthread_mutex_t mu; /* writes, store appends, id map, job bookkeeping */
    store *st;
    idmap ids;
    int64_t next_id;

    /* NULL until the mapping exists (online before its first n_init items). Readers count
     * themselves in `acquiring` while they take a reference, so a swap knows when no reader
     * can still be about to take one on the old pair (coll_acquire, swap_pair). */
    _Atomic(pair *) cur;
    atomic_int acquiring;

    /* k-NN searches waiting to be answered together (search.c) */
    pthread_mutex_t sq_mu;
    pthread_cond_t sq_cv;
    struct search_job *sq_head, *sq_tail;
    int sq_running; /* batches being searched now */
    atomic_uint_fast64_t batches, batched_queries;

    /* background re-hash */
    bool job_active;
    int64_t *job_deleted;
    size_t n_job_deleted, cap_job_deleted;
    atomic_bool rehash_requested;
    atomic_uint_fast64_t jobs, bits_recomputed;
    pthread_t job_thread;
    bool job_thread_started;

    /* learner (online collections) */
    pthread_t learner;
    bool learner_started;
    pthread_cond_t learn_cv; /* signalled (under mu) on inserts and stop */
    atomic_bool stop;
    atomic_uint_fast64_t learned, lag, updates, checks, learn_rows;
    atomic_int learner_phase; /* 0 replaying/waiting for n_init, 1 learning, 2 re-hashing */
    atomic_bool recovered;    /* the learner replayed the log and built its first pair */
    double q_cur, q_snap;

    /* history and latency (under hist_mu) */
    pthread_mutex_t hist_mu;
    hist_point hist[HIST_CAP];
    size_t hist_n, hist_head;
    uint64_t lat_counts[LAT_BUCKETS + 1];
    double lat_sum;
    uint64_t searches, inserted, deleted;
    double lat_ring[1024]; /* the last 1,024 search latencies (status page percentiles) */
    size_t lat_i;
} coll;

/* ---- write-ahead log --------------------------------------------------------------------- */
enum { WAL_CREATE = 1, WAL_DROP = 2, WAL_INSERT = 3, WAL_DELETE = 4, WAL_LEARN = 5 };
typedef enum { FSYNC_ALWAYS = 0, FSYNC_INTERVAL = 1, FSYNC_NEVER = 2 } fsync_policy;

typedef struct wal wal;
wal *wal_open(const char *dir, uint32_t seg, fsync_policy pol, int interval_ms);
void wal_close(wal *w);
/* Appends one record made of `nparts` byte ranges; *lsn receives its end position. */
int wal_append(wal *w, uint8_t type, const void *const *parts, const size_t *lens, size_t nparts,
               uint64_t *lsn);
/* Blocks until everything up to lsn is on disk (fsync'ed). 0 ok, -1 I/O error. */
int wal_wait(wal *w, uint64_t lsn);
/* Starts a new segment (seg + 1) after flushing the current one; returns the new number. */
uint32_t wal_rotate(wal *w);
uint64_t wal_bytes(wal *w);
uint64_t wal_fsyncs(wal *w);

/* ---- the service ------------------------------------------------------------------------- */
typedef struct service {
    char dir[512];
    pthread_rwlock_t reg_mu;
    coll **colls;
    size_t n_colls, cap_colls;
    wal *log;
    uint32_t seg;
    atomic_bool ready;
    double started;
    /* recovery report */
    double recovery_seconds;
    uint64_t replayed_records, torn_bytes;
    char recovery_note[256];
    /* limits and policy */
    size_t max_body, max_rows;
    fsync_policy fsync;
    int fsync_ms;
    double snapshot_every;
    uint64_t snapshot_wal_bytes;
    pthread_mutex_t snap_mu;
    atomic_uint_fast64_t snapshots;
    double last_snapshot;
    /* background work runs at this nice value (0 = as the requests) */
    int rehash_nice;
    /* concurrent k-NN searches are answered together: at most search_batches batches at a
     * time, each of at most search_batch queries (1 = no batching) */
    size_t search_batch;
    int search_batches;
    /* HTTP counters */
    atomic_uint_fast64_t http_requests, http_errors;
} service;

extern service g;

double now_s(void);
void log_msg(const char *fmt, ...);

coll *coll_get(const char *name, size_t len); /* +1 ref, NULL if absent */
void coll_put(coll *c);
int coll_create(const coll_config *cfg, int log_it, char *err, size_t errlen); /* HTTP code */
int coll_drop(const char *name, int log_it);
int coll_config_from_json(const char *body, size_t len, coll_config *cfg, char *err, size_t el);
char *coll_config_to_json(const coll_config *cfg);

/* Writes: return an HTTP code (200) and the WAL position to wait for. */
int coll_insert(coll *c, const float *x, const int64_t *ids, const int32_t *labels, size_t n,
                int learn, int index, uint64_t *lsn, int64_t *first_id, char *err, size_t el);
double coll_lat_bound(size_t b);
int coll_delete(coll *c, const int64_t *ids, size_t n, size_t *removed, uint64_t *lsn);
/* Replay (recovery): apply to the store only. */
void coll_apply_insert(coll *c, const float *x, const int64_t *ids, const int32_t *labels,
                       size_t n, uint8_t flags);
void coll_apply_delete(coll *c, const int64_t *ids, size_t n);
void coll_apply_learned(coll *c, size_t first, size_t end, size_t stride);

pair *coll_acquire(coll *c);
void pair_release(pair *p);
void coll_record_latency(coll *c, double seconds);
void coll_hist_add(coll *c, const hist_point *p);

/* Re-hash: encode every alive row with e into a new index and swap the pair in. The caller
 * passes its own reference on e. Writes go on meanwhile. background = 1 runs the job in a
 * helper thread at nice g.rehash_nice (the caller waits for it), so searches keep the CPU;
 * 0 runs it in the calling thread at its priority (first builds, recovery). */
int coll_rehash(coll *c, enc *e, uint64_t version, int background);
void coll_request_rehash(coll *c);
void *fixed_worker(void *arg); /* rehash.c: runs requested re-hashes of a fixed collection */
/* Builds the first pair after recovery or creation (fixed collections) and starts threads. */
int coll_start(coll *c);
void coll_stop_threads(coll *c);

/* learner.c */
void *learner_main(void *arg);
double mi_quality(const uint8_t *codes, const int32_t *labels, size_t n, size_t bits);

/* snapshot.c */
int snapshot_write(char *err, size_t el);
int recover(void);

/* http.c */
int http_start(const char *host, int port, int threads, const char *token_file, int auth_all,
               int *bound_port);
void http_stop(void);

#endif
