/* online_checkpoint.c -- the checkpoint of a stream run (l2h_online_save / l2h_online_load): a
 * safetensors file (the model files' container) with
 *   metadata  format "l2h-online-checkpoint", format_version, library_version, method;
 *   params.u64 / params.f64   every l2h_online_params field (fixed order below);
 *   state.u64 / state.f64 / state.rng   flags, counters, thresholds, the reservoir RNG;
 *   model.current / model.snapshot      the two mappings as model files (U8 bytes);
 *   reservoir.{x,labels,codes,prio}, pending.{x,labels}, table, curve.{items,map,updates};
 *   run.u64 / run.perm / run.rng        where an l2h_online_run_part stream is;
 *   learner.*                           the method's own state (ops->visit).
 * Every array is 1-D little-endian, so a loaded handle holds exactly the saved bits and
 * continues like the uninterrupted run. Loading validates every count against the file and
 * the parameters before use; memory is bounded by the file's size (plus the parameters' fixed
 * buffers, themselves bounded by the file size). */
#include "online_engine.h"

#include "io_internal.h"
#include "l2h/version.h"
#include "safetensors.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CKPT_FORMAT "l2h-online-checkpoint"
#define CKPT_VERSION 1
#define CKPT_MAX_FILE ((size_t)1 << 36)
#define IO_MAX_BUFS 64
/* size_t arrays (curve, stream order) are written as U64. */
_Static_assert(sizeof(size_t) == sizeof(uint64_t), "size_t must be 64-bit");

struct l2h_online_io {
    bool loading;
    const char *prefix;
    l2h_st_writer *w;      /* saving  */
    const l2h_st_file *f;  /* loading */
    void *bufs[IO_MAX_BUFS]; /* saving: copies the writer borrows until the write */
    size_t n_bufs;
};

bool l2h_online_io_loading(const l2h_online_io *io)
{
    return io->loading;
}

static void io_name(const l2h_online_io *io, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s%s", io->prefix, name);
}

size_t l2h_online_io_count(const l2h_online_io *io, const char *name)
{
    char full[96];
    io_name(io, name, full, sizeof full);
    const l2h_st_tensor *t = io->f ? l2h_st_find(io->f, full) : NULL;
    return t != NULL && t->ndim == 1 ? t->shape[0] : 0;
}

/* Saves a copy of v[n] (elem bytes each) or loads into v; n = 0 writes nothing. */
static l2h_status io_array(l2h_online_io *io, const char *name, l2h_st_dtype dt, void *v, size_t n)
{
    char full[96];
    io_name(io, name, full, sizeof full);
    const size_t es = l2h_st_dtype_size(dt);
    if (io->loading) {
        if (n == 0) {
            const l2h_st_tensor *t = l2h_st_find(io->f, full);
            L2H_FAIL_IF(t != NULL && t->numel != 0, L2H_ERR_FORMAT,
                        "%s: tensor '%s' should be empty", l2h_st_file_name(io->f), full);
            return L2H_OK;
        }
        return l2h_st_read(io->f, full, dt, 1, &n, v);
    }
    if (n == 0) return L2H_OK;
    L2H_FAIL_IF(io->n_bufs == IO_MAX_BUFS, L2H_ERR_STATE, "checkpoint: too many arrays");
    void *copy = l2h_malloc_array(n, es);
    L2H_NOMEM_IF_NULL(copy);
    memcpy(copy, v, n * es);
    io->bufs[io->n_bufs++] = copy;
    return l2h_st_writer_add(io->w, full, dt, 1, &n, copy);
}

l2h_status l2h_online_io_f64(l2h_online_io *io, const char *name, double *v, size_t n)
{
    return io_array(io, name, L2H_ST_F64, v, n);
}

l2h_status l2h_online_io_u64(l2h_online_io *io, const char *name, uint64_t *v, size_t n)
{
    return io_array(io, name, L2H_ST_U64, v, n);
}

l2h_status l2h_online_io_i32(l2h_online_io *io, const char *name, int32_t *v, size_t n)
{
    return io_array(io, name, L2H_ST_I32, v, n);
}

l2h_status l2h_online_io_i8(l2h_online_io *io, const char *name, int8_t *v, size_t n)
{
    return io_array(io, name, L2H_ST_I8, v, n);
}

l2h_status l2h_online_io_size(l2h_online_io *io, const char *name, size_t *v)
{
    uint64_t u = (uint64_t)*v;
    L2H_TRY(io_array(io, name, L2H_ST_U64, &u, 1));
    L2H_FAIL_IF(u > (uint64_t)SIZE_MAX, L2H_ERR_FORMAT, "checkpoint: '%s' out of range", name);
    *v = (size_t)u;
    return L2H_OK;
}

l2h_status l2h_online_io_rng(l2h_online_io *io, const char *name, l2h_rng *r)
{
    uint64_t a[6] = {r->s[0], r->s[1], r->s[2], r->s[3], 0, (uint64_t)(r->has_spare != 0)};
    memcpy(&a[4], &r->spare, sizeof r->spare);
    L2H_TRY(io_array(io, name, L2H_ST_U64, a, 6));
    L2H_FAIL_IF(a[5] > 1 || (a[0] | a[1] | a[2] | a[3]) == 0, L2H_ERR_FORMAT,
                "checkpoint: RNG state '%s' invalid", name);
    memcpy(r->s, a, sizeof r->s);
    memcpy(&r->spare, &a[4], sizeof r->spare);
    r->has_spare = (int)a[5];
    return L2H_OK;
}

static void io_release(l2h_online_io *io)
{
    for (size_t i = 0; i < io->n_bufs; i++)
        l2h_free(io->bufs[i]);
    io->n_bufs = 0;
}

/* ---- the parameters, in a fixed order ------------------------------------------------------ */
enum { PU_BITS, PU_RES, PU_INTERVAL, PU_POLICY, PU_SEED, PU_NCP, PU_NINIT, PU_PREFILL, PU_BATCH,
       PU_ANCHORS, PU_BOOST, PU_SKETCH, PU_BINS, PU_REFGRAD, PU_CENTER, PU_L2N, PU_COUNT };
enum { PF_THETA, PF_DIST, PF_OKH_C, PF_OKH_ALPHA, PF_OSH_ETA, PF_AD_ALPHA, PF_AD_BETA, PF_AD_STEP,
       PF_MI_SCALE, PF_MI_STEP, PF_MI_DECAY, PF_PCT, PF_COUNT };

static void params_pack(const l2h_online_params *p, uint64_t *u, double *f)
{
    u[PU_BITS] = p->bits;
    u[PU_RES] = p->reservoir;
    u[PU_INTERVAL] = p->interval;
    u[PU_POLICY] = (uint64_t)p->policy;
    u[PU_SEED] = p->seed;
    u[PU_NCP] = p->n_checkpoints;
    u[PU_NINIT] = p->n_init;
    u[PU_PREFILL] = p->reservoir_prefill;
    u[PU_BATCH] = p->batch;
    u[PU_ANCHORS] = p->okh_anchors;
    u[PU_BOOST] = (uint64_t)(int64_t)p->osh_boost;
    u[PU_SKETCH] = p->sketch_size;
    u[PU_BINS] = p->mihash_bins;
    u[PU_REFGRAD] = (uint64_t)(int64_t)p->mihash_reference_grad;
    u[PU_CENTER] = (uint64_t)(int64_t)p->center;
    u[PU_L2N] = (uint64_t)(int64_t)p->l2_normalize;
    f[PF_THETA] = p->theta;
    f[PF_DIST] = (double)p->dist_threshold;
    f[PF_OKH_C] = p->okh_c;
    f[PF_OKH_ALPHA] = p->okh_alpha;
    f[PF_OSH_ETA] = p->osh_eta;
    f[PF_AD_ALPHA] = p->adapt_alpha;
    f[PF_AD_BETA] = p->adapt_beta;
    f[PF_AD_STEP] = p->adapt_step;
    f[PF_MI_SCALE] = p->mihash_scale;
    f[PF_MI_STEP] = p->mihash_step;
    f[PF_MI_DECAY] = p->mihash_decay;
    f[PF_PCT] = p->dist_percentile;
}

static l2h_status params_unpack(const uint64_t *u, const double *f, l2h_online_params *p)
{
    const uint64_t lim = (uint64_t)1 << 40;
    for (int i = 0; i < PU_COUNT; i++)
        if (i != PU_SEED && i != PU_BOOST && i != PU_REFGRAD && i != PU_CENTER && i != PU_L2N)
            L2H_FAIL_IF(u[i] > lim, L2H_ERR_FORMAT, "checkpoint: parameter %d out of range", i);
    L2H_FAIL_IF(u[PU_BOOST] > 1 || u[PU_REFGRAD] > 1 || u[PU_CENTER] > 1 || u[PU_L2N] > 1 ||
                    u[PU_POLICY] >= L2H_ONLINE_POLICY_COUNT,
                L2H_ERR_FORMAT, "checkpoint: a flag parameter is out of range");
    for (int i = 0; i < PF_COUNT; i++)
        L2H_FAIL_IF(!isfinite(f[i]), L2H_ERR_FORMAT, "checkpoint: parameter %d not finite", i);
    L2H_FAIL_IF(!(f[PF_DIST] >= 0.0 && f[PF_DIST] <= 3.4e38), L2H_ERR_FORMAT,
                "checkpoint: dist_threshold out of range");
    p->bits = (size_t)u[PU_BITS];
    p->reservoir = (size_t)u[PU_RES];
    p->interval = (size_t)u[PU_INTERVAL];
    p->policy = (l2h_online_policy)u[PU_POLICY];
    p->seed = u[PU_SEED];
    p->n_checkpoints = (size_t)u[PU_NCP];
    p->n_init = (size_t)u[PU_NINIT];
    p->reservoir_prefill = (size_t)u[PU_PREFILL];
    p->batch = (size_t)u[PU_BATCH];
    p->okh_anchors = (size_t)u[PU_ANCHORS];
    p->osh_boost = (int)u[PU_BOOST];
    p->sketch_size = (size_t)u[PU_SKETCH];
    p->mihash_bins = (size_t)u[PU_BINS];
    p->mihash_reference_grad = (int)u[PU_REFGRAD];
    p->center = (int)u[PU_CENTER];
    p->l2_normalize = (int)u[PU_L2N];
    p->theta = f[PF_THETA];
    p->dist_threshold = (float)f[PF_DIST];
    p->okh_c = f[PF_OKH_C];
    p->okh_alpha = f[PF_OKH_ALPHA];
    p->osh_eta = f[PF_OSH_ETA];
    p->adapt_alpha = f[PF_AD_ALPHA];
    p->adapt_beta = f[PF_AD_BETA];
    p->adapt_step = f[PF_AD_STEP];
    p->mihash_scale = f[PF_MI_SCALE];
    p->mihash_step = f[PF_MI_STEP];
    p->mihash_decay = f[PF_MI_DECAY];
    p->dist_percentile = f[PF_PCT];
    return L2H_OK;
}

/* ---- engine state --------------------------------------------------------------------------- */
enum { SU_BEGUN, SU_LABELLED, SU_NPEND, SU_NDB, SU_VERSION, SU_ITEMS, SU_STEPS, SU_CHECKS,
       SU_UPDATES, SU_BITSREC, SU_NCP, SU_RESN, SU_DIM, SU_COUNT };
enum { SF_AUC, SF_FINAL, SF_DIST, SF_COUNT };
enum { RU_ACTIVE, RU_NITEMS, RU_NPOOL, RU_STEP, RU_CONSUMED, RU_POS, RU_NEXTCP, RU_CPINDEX,
       RU_COUNT };

/* The arrays shared by save and load (sizes already known on load). */
static l2h_status visit_arrays(l2h_online *o, l2h_online_io *io)
{
    io->prefix = "";
    const size_t rn = o->res.n;
    L2H_TRY(l2h_online_io_rng(io, "state.rng", &o->rng));
    L2H_TRY(io_array(io, "reservoir.x", L2H_ST_F32, o->res.x, rn * o->dim));
    L2H_TRY(l2h_online_io_i32(io, "reservoir.labels", o->res.labels, rn));
    L2H_TRY(io_array(io, "reservoir.codes", L2H_ST_U8, o->res.codes, rn * o->bytes));
    L2H_TRY(l2h_online_io_f64(io, "reservoir.prio", o->res.prio, rn));
    L2H_TRY(io_array(io, "pending.x", L2H_ST_F32, o->pend_x, o->n_pend * o->dim));
    L2H_TRY(l2h_online_io_i32(io, "pending.labels", o->pend_l, o->n_pend));
    L2H_TRY(io_array(io, "table", L2H_ST_U8, o->table, o->n_db * o->bytes));
    const size_t nc = o->st.n_checkpoints;
    L2H_TRY(io_array(io, "curve.items", L2H_ST_U64, o->curve_items, nc));
    L2H_TRY(l2h_online_io_f64(io, "curve.map", o->curve_map, nc));
    L2H_TRY(io_array(io, "curve.updates", L2H_ST_U64, o->curve_updates, nc));
    if (o->run.active) {
        L2H_TRY(io_array(io, "run.perm", L2H_ST_U64, o->run.perm, o->run.n_pool));
        L2H_TRY(l2h_online_io_rng(io, "run.rng", &o->run.rng));
    }
    io->prefix = "learner.";
    if (o->ops->visit != NULL) L2H_TRY(o->ops->visit(o->cur, io));
    io->prefix = "";
    return L2H_OK;
}

static l2h_status add_model(l2h_st_writer *w, l2h_online_io *io, const char *name,
                            const l2h_model *m)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    L2H_TRY(l2h_model_to_mem(m, &buf, &len));
    if (io->n_bufs == IO_MAX_BUFS) {
        l2h_free(buf);
        L2H_FAIL(L2H_ERR_STATE, "checkpoint: too many arrays");
    }
    io->bufs[io->n_bufs++] = buf;
    return l2h_st_writer_add(w, name, L2H_ST_U8, 1, &len, buf);
}

static l2h_status build_writer(const l2h_online *oc, l2h_st_writer *w, l2h_online_io *io)
{
    l2h_online *o = (l2h_online *)(uintptr_t)oc; /* visit_arrays only reads when saving */
    L2H_TRY(l2h_st_writer_set_meta(w, "format", CKPT_FORMAT));
    char v[32];
    snprintf(v, sizeof v, "%d", CKPT_VERSION);
    L2H_TRY(l2h_st_writer_set_meta(w, "format_version", v));
    L2H_TRY(l2h_st_writer_set_meta(w, "library_version", l2h_version_string()));
    L2H_TRY(l2h_st_writer_set_meta(w, "method", o->method));
    /* the noise-aware trigger's confidence: a metadata key, so checkpoints without it (written
     * before the policy existed) still load, with the default */
    snprintf(v, sizeof v, "%.17g", o->p.confidence);
    L2H_TRY(l2h_st_writer_set_meta(w, "params.confidence", v));
    for (size_t i = 0; i < o->ops->info.n_options; i++) { /* the method's own options */
        const l2h_option_info *opt = &o->ops->info.options[i];
        if (opt->storage != 1) continue;
        char key[96], val[64];
        snprintf(key, sizeof key, "option.%s", opt->name);
        l2h_option_format(opt, (const char *)o->opts + opt->offset, val, sizeof val);
        L2H_TRY(l2h_st_writer_set_meta(w, key, val));
    }
    uint64_t pu[PU_COUNT];
    double pf[PF_COUNT];
    params_pack(&o->p, pu, pf);
    L2H_TRY(l2h_online_io_u64(io, "params.u64", pu, PU_COUNT));
    L2H_TRY(l2h_online_io_f64(io, "params.f64", pf, PF_COUNT));
    uint64_t su[SU_COUNT] = {
        [SU_BEGUN] = o->begun,          [SU_LABELLED] = (uint64_t)(o->labelled + 1),
        [SU_NPEND] = o->n_pend,         [SU_NDB] = o->n_db,
        [SU_VERSION] = o->snap_version, [SU_ITEMS] = o->st.items,
        [SU_STEPS] = o->st.steps,       [SU_CHECKS] = o->st.checks,
        [SU_UPDATES] = o->st.updates,   [SU_BITSREC] = o->st.bits_recomputed,
        [SU_NCP] = o->st.n_checkpoints, [SU_RESN] = o->res.n,
        [SU_DIM] = o->dim,
    };
    double sf[SF_COUNT] = {o->st.map_auc, o->st.map_final, (double)o->dist_threshold};
    L2H_TRY(l2h_online_io_u64(io, "state.u64", su, SU_COUNT));
    L2H_TRY(l2h_online_io_f64(io, "state.f64", sf, SF_COUNT));
    const l2h_online_runpos *r = &o->run;
    uint64_t ru[RU_COUNT] = {
        [RU_ACTIVE] = r->active, [RU_NITEMS] = r->n_items,   [RU_NPOOL] = r->n_pool,
        [RU_STEP] = r->step,     [RU_CONSUMED] = r->consumed, [RU_POS] = r->pos,
        [RU_NEXTCP] = r->next_cp, [RU_CPINDEX] = r->cp_index,
    };
    L2H_TRY(l2h_online_io_u64(io, "run.u64", ru, RU_COUNT));
    L2H_TRY(add_model(w, io, "model.current", o->cur_map));
    L2H_TRY(add_model(w, io, "model.snapshot", o->snap_map));
    return visit_arrays(o, io);
}

l2h_status l2h_online_save(const l2h_online *o, const char *path)
{
    L2H_FAIL_IF(o == NULL || path == NULL, L2H_ERR_ARG, "l2h_online_save: NULL argument");
    L2H_FAIL_IF(!o->begun, L2H_ERR_STATE, "l2h_online_save: nothing to save before begin");
    l2h_st_writer *w = NULL;
    L2H_TRY(l2h_st_writer_create(&w));
    l2h_online_io io = {.loading = false, .prefix = "", .w = w};
    l2h_status st = build_writer(o, w, &io);
    if (st == L2H_OK) st = l2h_st_writer_save(w, path);
    l2h_st_writer_free(w);
    io_release(&io);
    return st;
}

/* ---- load ---------------------------------------------------------------------------------- */

static l2h_status read_u64s(const l2h_st_file *f, const char *name, uint64_t *v, size_t n)
{
    return l2h_st_read(f, name, L2H_ST_U64, 1, &n, v);
}

static l2h_status load_model(const l2h_st_file *f, const char *name, const l2h_online *o,
                             l2h_model **out)
{
    const l2h_st_tensor *t = l2h_st_find(f, name);
    L2H_FAIL_IF(t == NULL || t->dtype != L2H_ST_U8 || t->ndim != 1, L2H_ERR_FORMAT,
                "%s: tensor '%s' missing or not U8 bytes", l2h_st_file_name(f), name);
    L2H_TRY(l2h_model_load_mem(out, t->data, t->numel, name));
    const l2h_model *m = *out;
    L2H_FAIL_IF(m->dim != o->dim || m->bits != o->bits || m->center != o->p.center ||
                    m->l2_normalize != o->p.l2_normalize || strcmp(m->method, o->method) != 0,
                L2H_ERR_FORMAT, "%s: '%s' does not match the run's settings",
                l2h_st_file_name(f), name);
    return L2H_OK;
}

/* Memory the handle's fixed buffers take for these settings, checked against the file size. */
static l2h_status check_budget(const l2h_online_params *p, size_t dim, size_t len,
                               const char *name)
{
    const double batch = (double)(p->batch ? p->batch : 64);
    const double bytes = 4.0 * (double)p->reservoir * (double)dim +
                         (double)p->reservoir * (double)p->reservoir +
                         12.0 * batch * (double)dim;
    L2H_FAIL_IF(bytes > 16.0 * (double)len + (double)(1 << 26), L2H_ERR_FORMAT,
                "%s: the settings need %.0f bytes of buffers, more than the file backs", name,
                bytes);
    return L2H_OK;
}

static l2h_status load_state(l2h_online *o, const l2h_st_file *f, const uint64_t *su,
                             const double *sf, const uint64_t *ru)
{
    const char *name = l2h_st_file_name(f);
    L2H_FAIL_IF(su[SU_BEGUN] != 1, L2H_ERR_FORMAT, "%s: checkpoint of a run not begun", name);
    L2H_FAIL_IF(su[SU_LABELLED] > 2 || su[SU_NPEND] >= o->batch || su[SU_RESN] > o->p.reservoir ||
                    su[SU_NDB] > ((uint64_t)1 << 40) || su[SU_NCP] > ((uint64_t)1 << 40),
                L2H_ERR_FORMAT, "%s: inconsistent run state", name);
    L2H_FAIL_IF(!isfinite(sf[SF_AUC]) || !isfinite(sf[SF_FINAL]) || !(sf[SF_DIST] >= 0.0) ||
                    !(sf[SF_DIST] <= 3.4e38),
                L2H_ERR_FORMAT, "%s: inconsistent run state", name);
    o->begun = true;
    o->labelled = (int)su[SU_LABELLED] - 1;
    o->n_pend = (size_t)su[SU_NPEND];
    o->snap_version = su[SU_VERSION];
    o->st.items = (size_t)su[SU_ITEMS];
    o->st.steps = (size_t)su[SU_STEPS];
    o->st.checks = (size_t)su[SU_CHECKS];
    o->st.updates = (size_t)su[SU_UPDATES];
    o->st.bits_recomputed = su[SU_BITSREC];
    o->st.map_auc = sf[SF_AUC];
    o->st.map_final = sf[SF_FINAL];
    o->dist_threshold = (float)sf[SF_DIST];
    o->res.n = (size_t)su[SU_RESN];
    /* the table: its size comes from the file */
    const l2h_st_tensor *tt = l2h_st_find(f, "table");
    const size_t tbytes = tt ? tt->numel : 0;
    L2H_FAIL_IF(tbytes != su[SU_NDB] * o->bytes, L2H_ERR_FORMAT,
                "%s: table of %zu bytes for %llu items", name, tbytes,
                (unsigned long long)su[SU_NDB]);
    L2H_TRY(l2h_online_table_alloc(o, (size_t)su[SU_NDB]));
    /* curve */
    const size_t nc = (size_t)su[SU_NCP];
    L2H_FAIL_IF(l2h_st_find(f, "curve.map") == NULL ? nc != 0
                                                     : l2h_st_find(f, "curve.map")->numel != nc,
                L2H_ERR_FORMAT, "%s: curve of the wrong length", name);
    if (nc > 0) {
        o->curve_items = l2h_malloc_array(nc, sizeof *o->curve_items);
        o->curve_map = l2h_malloc_array(nc, sizeof *o->curve_map);
        o->curve_updates = l2h_malloc_array(nc, sizeof *o->curve_updates);
        L2H_FAIL_IF(!o->curve_items || !o->curve_map || !o->curve_updates, L2H_ERR_NOMEM,
                    "checkpoint: out of memory");
        o->cap_curve = nc;
    }
    o->st.n_checkpoints = nc;
    /* the run position */
    L2H_FAIL_IF(ru[RU_ACTIVE] > 1, L2H_ERR_FORMAT, "%s: bad run flag", name);
    l2h_online_runpos *r = &o->run;
    if (ru[RU_ACTIVE]) {
        const l2h_st_tensor *tp = l2h_st_find(f, "run.perm");
        L2H_FAIL_IF(tp == NULL || tp->numel != ru[RU_NPOOL] || ru[RU_NPOOL] == 0 ||
                        ru[RU_POS] > ru[RU_NPOOL] || ru[RU_CONSUMED] > ru[RU_NITEMS] ||
                        ru[RU_STEP] > ru[RU_NITEMS] || ru[RU_CPINDEX] > ru[RU_NITEMS] + 1 ||
                        ru[RU_NEXTCP] > ru[RU_NITEMS] + 1,
                    L2H_ERR_FORMAT, "%s: inconsistent stream position", name);
        r->active = true;
        r->n_items = (size_t)ru[RU_NITEMS];
        r->n_pool = (size_t)ru[RU_NPOOL];
        r->step = (size_t)ru[RU_STEP];
        r->consumed = (size_t)ru[RU_CONSUMED];
        r->pos = (size_t)ru[RU_POS];
        r->next_cp = (size_t)ru[RU_NEXTCP];
        r->cp_index = (size_t)ru[RU_CPINDEX];
        r->perm = l2h_malloc_array(r->n_pool, sizeof *r->perm);
        L2H_NOMEM_IF_NULL(r->perm);
    }
    return L2H_OK;
}

static l2h_status load_parsed(l2h_online **out, const l2h_st_file *f, size_t len)
{
    const char *name = l2h_st_file_name(f);
    const char *fmt = l2h_st_meta(f, "format"), *ver = l2h_st_meta(f, "format_version"),
               *method = l2h_st_meta(f, "method");
    L2H_FAIL_IF(fmt == NULL || strcmp(fmt, CKPT_FORMAT) != 0, L2H_ERR_FORMAT,
                "%s: not an l2h online checkpoint", name);
    L2H_FAIL_IF(ver == NULL || method == NULL, L2H_ERR_FORMAT, "%s: metadata missing", name);
    L2H_FAIL_IF(strcmp(ver, "1") != 0, ver[0] >= '2' && ver[0] <= '9' ? L2H_ERR_VERSION
                                                                      : L2H_ERR_FORMAT,
                "%s: checkpoint format version \"%.20s\" not supported (this library: %d)", name,
                ver, CKPT_VERSION);
    uint64_t pu[PU_COUNT], su[SU_COUNT], ru[RU_COUNT];
    double pf[PF_COUNT], sf[SF_COUNT];
    L2H_TRY(read_u64s(f, "params.u64", pu, PU_COUNT));
    L2H_TRY(read_u64s(f, "state.u64", su, SU_COUNT));
    L2H_TRY(read_u64s(f, "run.u64", ru, RU_COUNT));
    size_t n = PF_COUNT;
    L2H_TRY(l2h_st_read(f, "params.f64", L2H_ST_F64, 1, &n, pf));
    n = SF_COUNT;
    L2H_TRY(l2h_st_read(f, "state.f64", L2H_ST_F64, 1, &n, sf));
    l2h_online_params p = l2h_online_default_params();
    L2H_TRY(params_unpack(pu, pf, &p));
    p.method = method;
    const char *conf = l2h_st_meta(f, "params.confidence");
    if (conf != NULL) {
        char *end = NULL;
        p.confidence = strtod(conf, &end);
        L2H_FAIL_IF(end == conf || *end != '\0' || !(p.confidence > 0.0 && p.confidence < 1.0),
                    L2H_ERR_FORMAT, "%s: params.confidence '%.32s' invalid", name, conf);
    }
    L2H_FAIL_IF(su[SU_DIM] == 0 || su[SU_DIM] > L2H_MODEL_MAX_DIM, L2H_ERR_FORMAT,
                "%s: dimension out of range", name);
    const size_t dim = (size_t)su[SU_DIM];
    if (l2h_online_check_params(&p, dim) != L2H_OK)
        L2H_FAIL(L2H_ERR_FORMAT, "%s: bad settings: %s", name, l2h_last_error());
    L2H_TRY(check_budget(&p, dim, len, name));
    l2h_online *o = NULL;
    const l2h_status as = l2h_online_alloc(&o, &p, dim);
    if (as == L2H_ERR_NOMEM) return as;
    if (as != L2H_OK) L2H_FAIL(L2H_ERR_FORMAT, "%s: bad settings: %s", name, l2h_last_error());
    l2h_status st = L2H_OK;
    for (size_t i = 0; i < o->ops->info.n_options; i++) { /* the method's own options */
        const l2h_option_info *opt = &o->ops->info.options[i];
        if (opt->storage != 1) continue;
        char key[96];
        snprintf(key, sizeof key, "option.%s", opt->name);
        const char *v = l2h_st_meta(f, key);
        if (v == NULL || l2h_option_parse(opt, v, (char *)o->opts + opt->offset) != L2H_OK)
            L2H_FAIL_GOTO(L2H_ERR_FORMAT, "%s: option '%s' missing or invalid", name, opt->name);
    }
    L2H_CHECK_GOTO(load_model(f, "model.current", o, &o->cur_map));
    L2H_CHECK_GOTO(load_model(f, "model.snapshot", o, &o->snap_map));
    {
        const l2h_model *mc = o->cur_map, *ms = o->snap_map;
        if ((mc->mean == NULL) != (ms->mean == NULL) ||
            (mc->mean && memcmp(mc->mean, ms->mean, o->dim * sizeof *mc->mean) != 0))
            L2H_FAIL_GOTO(L2H_ERR_FORMAT, "%s: the two mappings preprocess differently", name);
        L2H_CHECK_GOTO(l2h_online_set_mean(o, mc->mean));
        o->su.l2_normalize = o->p.l2_normalize;
        size_t nc, ns;
        o->cur_span = l2h_model_params(o->cur_map, &nc);
        o->snap_span = l2h_model_params(o->snap_map, &ns);
        if (nc != ns || strcmp(l2h_model_arch(mc), l2h_model_arch(ms)) != 0)
            L2H_FAIL_GOTO(L2H_ERR_FORMAT, "%s: the two mappings have different shapes", name);
        o->n_span = nc;
    }
    st = o->ops->bind(&o->cur, o->cur_map, &o->su);
    if (st != L2H_OK && st != L2H_ERR_NOMEM)
        L2H_FAIL_GOTO(L2H_ERR_FORMAT, "%s: %s", name, l2h_last_error());
    if (st != L2H_OK) goto done;
    L2H_CHECK_GOTO(load_state(o, f, su, sf, ru));
    {
        l2h_online_io io = {.loading = true, .prefix = "", .f = f};
        L2H_CHECK_GOTO(visit_arrays(o, &io));
    }
    for (size_t i = 0; i < o->res.n; i++)
        if (!(o->res.prio[i] >= 0.0 && o->res.prio[i] < 1.0) ||
            (o->labelled != 1 && o->res.labels[i] != -1))
            L2H_FAIL_GOTO(L2H_ERR_FORMAT, "%s: reservoir entry %zu invalid", name, i);
    for (size_t i = 0; i < o->res.n * o->dim; i++)
        if (!isfinite(o->res.x[i]))
            L2H_FAIL_GOTO(L2H_ERR_FORMAT, "%s: reservoir holds a non-finite value", name);
    for (size_t i = 0; i < o->n_pend * o->dim; i++)
        if (!isfinite(o->pend_x[i]))
            L2H_FAIL_GOTO(L2H_ERR_FORMAT, "%s: pending item holds a non-finite value", name);
    for (size_t i = 0; i < o->st.n_checkpoints; i++)
        if (!isfinite(o->curve_map[i]))
            L2H_FAIL_GOTO(L2H_ERR_FORMAT, "%s: curve holds a non-finite value", name);
    if (o->run.active)
        for (size_t i = 0; i < o->run.n_pool; i++)
            if (o->run.perm[i] >= o->run.n_pool)
                L2H_FAIL_GOTO(L2H_ERR_FORMAT, "%s: stream order entry out of range", name);
    /* the trigger's caches are a function of the reservoir: rebuilt slot by slot, as the run
     * built them (integer histograms and 0/1 affinities, so the rebuilt caches equal the run's) */
    l2h_trigger_reset(&o->trig, o->p.policy != L2H_ONLINE_POLICY_FIXED);
    for (size_t k = 0; k < o->res.n; k++)
        l2h_trigger_slot_changed(&o->trig, &o->res, k, o->labelled == 1, o->dist_threshold);
    L2H_CHECK_GOTO(l2h_online_index_sync(o));
    *out = o;
    return L2H_OK;
done:
    l2h_online_free(o);
    return st;
}

l2h_status l2h_online_load_mem(l2h_online **out, const void *buf, size_t len, const char *name)
{
    L2H_FAIL_IF(out == NULL, L2H_ERR_ARG, "l2h_online_load: NULL output");
    *out = NULL;
    L2H_FAIL_IF(buf == NULL && len > 0, L2H_ERR_ARG, "l2h_online_load: NULL buffer");
    l2h_st_file *f = NULL;
    L2H_TRY(l2h_st_parse(&f, buf, len, name ? name : "checkpoint"));
    const l2h_status st = load_parsed(out, f, len);
    l2h_st_file_free(f);
    return st;
}

l2h_status l2h_online_load(l2h_online **out, const char *path)
{
    L2H_FAIL_IF(out == NULL || path == NULL, L2H_ERR_ARG, "l2h_online_load: NULL argument");
    *out = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    L2H_TRY(l2h_read_file(path, CKPT_MAX_FILE, &buf, &len));
    const l2h_status st = l2h_online_load_mem(out, buf, len, path);
    l2h_free(buf);
    return st;
}
