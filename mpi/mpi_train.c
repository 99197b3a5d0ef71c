/* mpi_train.c -- `mpirun -np N l2h-mpi train ...`: data-parallel training of the learned batch
 * methods (MIHash, HashNet, JMLH) with the objective of one process.
 *
 * Every rank loads the training file and builds the same session (l2h/train_step.h): the same
 * preprocessing, initial network and mini-batch order as `l2h train`. Per step with a batch of
 * m items, rank r owns the items [first_r, first_r + count_r) (shard_rows):
 *   1. forward of its items                      -> z_r[count_r, bits]
 *   2. MPI_Allgatherv                            -> Z[m, bits], the whole batch's outputs
 *   3. the objective on Z, on every rank         -> dZ[m, bits] (the same bits everywhere: the
 *      pairwise / batch-wise objectives see every pair of the global batch, and no gradient
 *      with respect to another rank's outputs has to travel back)
 *   4. backward of its rows of dZ                -> its share of the parameter gradients
 *   5. shard_sum_ordered                         -> the sum over ranks, in rank order
 *   6. the optimiser step, on every rank         -> identical parameters on every rank
 * The labels need no exchange: every rank holds all of them. After every epoch the ranks check
 * that their parameters are still bit-identical (a hash compared by MPI_Allreduce).
 *
 * Checkpoints are written by rank 0 only (l2h_train_session_save, atomic) and hold nothing that
 * depends on the number of ranks, so any rank count resumes them. */
#include "mpi_train.h"

#include "mpi_shard.h"

#include <l2h/train_step.h>

#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_USAGE 2

typedef struct topts {
    const char *data, *labels, *out, *method, *model, *hidden, *optimizer, *schedule, *log;
    const char *checkpoint, *resume;
    size_t bits, epochs, batch, lr_step, bins, checkpoint_every, stop_after;
    double lr, momentum, weight_decay, lr_gamma, last_lr_mult, scale, val_fraction;
    unsigned long long seed;
    int deterministic, reference, stats;
} topts;

static int g_rank, g_size;

static void train_usage(FILE *f)
{
    fputs("usage: mpirun -np N l2h-mpi train --data X.npy --labels Y -o MODEL.st [options]\n"
          "\n"
          "Data-parallel training: every rank forwards its share of each mini-batch, the\n"
          "objective sees the whole batch, the gradients are summed in rank order. N ranks\n"
          "optimise the objective of one `l2h train` process (same options, --split none).\n"
          "\n"
          "  --method mihash|hashnet|jmlh   (mihash)      --bits B (32)\n"
          "  --model linear|mlp|cnn (linear)  --hidden H1,H2 (1024)\n"
          "  --epochs N (50)  --batch N (100)  --seed S (1)\n"
          "  --optimizer sgd|adam  --lr LR  --momentum M  --weight-decay W\n"
          "  --schedule const|step|inv  --lr-step N  --lr-gamma G  --last-lr-mult X\n"
          "  --bins K  --scale A (mihash)   --deterministic (jmlh)  --val-fraction F\n"
          "  --log CSV          per-epoch loss (rank 0), the columns of `l2h train --log`\n"
          "  --checkpoint FILE  written by rank 0 every --checkpoint-every steps and at the end\n"
          "  --resume FILE      continue a checkpoint (any number of ranks)\n"
          "  --stop-after N     stop after N optimiser steps in all (writes --checkpoint)\n"
          "  --stats            time per phase and bytes communicated per step (stderr)\n"
          "  --reference        run plain l2h_train in one process (np must be 1)\n"
          "\n"
          "Defaults are the method's (l2h_train_method_params). Exit codes: 0 ok, 1 error, 2 usage.\n",
          f);
}

/* "l2h-mpi train: error: WHAT[ 'ARG'] (see ...)" on rank 0. */
static int tusage(const char *what, const char *arg)
{
    if (g_rank == 0)
        fprintf(stderr, "l2h-mpi train: error: %s%s%s%s (see l2h-mpi train --help)\n", what,
                arg ? " '" : "", arg ? arg : "", arg ? "'" : "");
    return EXIT_USAGE;
}

static int psize(const char *s, size_t *out)
{
    char *end;
    if (!s || *s < '0' || *s > '9') return -1;
    const unsigned long long v = strtoull(s, &end, 10);
    if (*end) return -1;
    *out = (size_t)v;
    return 0;
}

static int pdouble(const char *s, double *out)
{
    char *end;
    if (!s || !*s) return -1;
    const double v = strtod(s, &end);
    if (*end || !isfinite(v) || v < 0) return -1;
    *out = v;
    return 0;
}

/* 0 ok, 1 help, EXIT_USAGE bad. */
static int tparse(int argc, char **argv, topts *o)
{
    enum { O_LABELS = 256, O_METHOD, O_BITS, O_MODEL, O_HIDDEN, O_EPOCHS, O_BATCH, O_OPT, O_LR,
           O_MOM, O_WD, O_SCHED, O_LRSTEP, O_LRGAMMA, O_LASTLR, O_BINS, O_SCALE, O_SEED, O_VAL,
           O_DET, O_LOG, O_CKPT, O_CKEVERY, O_RESUME, O_STOP, O_REF, O_STATS, O_DATA };
    static const struct option longs[] = {
        {"data", required_argument, 0, O_DATA},       {"labels", required_argument, 0, O_LABELS},
        {"output", required_argument, 0, 'o'},        {"method", required_argument, 0, O_METHOD},
        {"bits", required_argument, 0, O_BITS},       {"model", required_argument, 0, O_MODEL},
        {"hidden", required_argument, 0, O_HIDDEN},   {"epochs", required_argument, 0, O_EPOCHS},
        {"batch", required_argument, 0, O_BATCH},     {"optimizer", required_argument, 0, O_OPT},
        {"lr", required_argument, 0, O_LR},           {"momentum", required_argument, 0, O_MOM},
        {"weight-decay", required_argument, 0, O_WD}, {"schedule", required_argument, 0, O_SCHED},
        {"lr-step", required_argument, 0, O_LRSTEP},  {"lr-gamma", required_argument, 0, O_LRGAMMA},
        {"last-lr-mult", required_argument, 0, O_LASTLR}, {"bins", required_argument, 0, O_BINS},
        {"scale", required_argument, 0, O_SCALE},     {"seed", required_argument, 0, O_SEED},
        {"val-fraction", required_argument, 0, O_VAL}, {"deterministic", no_argument, 0, O_DET},
        {"log", required_argument, 0, O_LOG},         {"checkpoint", required_argument, 0, O_CKPT},
        {"checkpoint-every", required_argument, 0, O_CKEVERY},
        {"resume", required_argument, 0, O_RESUME},   {"stop-after", required_argument, 0, O_STOP},
        {"reference", no_argument, 0, O_REF},         {"stats", no_argument, 0, O_STATS},
        {"help", no_argument, 0, 'h'},                {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->method = "mihash";
    o->model = "linear";
    o->bits = 32;
    o->epochs = 50;
    o->batch = 100;
    o->lr = o->momentum = o->weight_decay = o->lr_gamma = o->last_lr_mult = -1;
    o->lr_step = 0;
    o->seed = 1;
    optind = 1;
    int c, idx = 0;
    while ((c = getopt_long(argc, argv, "o:h", longs, &idx)) != -1) {
        size_t v = 0;
        int bad = 0;
        switch (c) {
        case O_DATA: o->data = optarg; break;
        case O_LABELS: o->labels = optarg; break;
        case 'o': o->out = optarg; break;
        case O_METHOD: o->method = optarg; break;
        case O_MODEL: o->model = optarg; break;
        case O_HIDDEN: o->hidden = optarg; break;
        case O_OPT: o->optimizer = optarg; break;
        case O_SCHED: o->schedule = optarg; break;
        case O_LOG: o->log = optarg; break;
        case O_CKPT: o->checkpoint = optarg; break;
        case O_RESUME: o->resume = optarg; break;
        case O_DET: o->deterministic = 1; break;
        case O_REF: o->reference = 1; break;
        case O_STATS: o->stats = 1; break;
        case O_BITS: bad = psize(optarg, &o->bits) || o->bits == 0 || o->bits > L2H_MAX_BITS; break;
        case O_EPOCHS: bad = psize(optarg, &o->epochs); break;
        case O_BATCH: bad = psize(optarg, &o->batch) || o->batch < 2 || o->batch > (1u << 20); break;
        case O_LRSTEP: bad = psize(optarg, &o->lr_step) || o->lr_step == 0; break;
        case O_BINS: bad = psize(optarg, &o->bins); break;
        case O_CKEVERY: bad = psize(optarg, &o->checkpoint_every) || !o->checkpoint_every; break;
        case O_STOP: bad = psize(optarg, &o->stop_after) || !o->stop_after; break;
        case O_SEED:
            bad = psize(optarg, &v);
            o->seed = v;
            break;
        case O_LR: bad = pdouble(optarg, &o->lr) || !(o->lr > 0); break;
        case O_MOM: bad = pdouble(optarg, &o->momentum) || !(o->momentum < 1); break;
        case O_WD: bad = pdouble(optarg, &o->weight_decay); break;
        case O_LRGAMMA: bad = pdouble(optarg, &o->lr_gamma) || !(o->lr_gamma > 0); break;
        case O_LASTLR: bad = pdouble(optarg, &o->last_lr_mult); break;
        case O_SCALE: bad = pdouble(optarg, &o->scale); break;
        case O_VAL: bad = pdouble(optarg, &o->val_fraction) || !(o->val_fraction < 1); break;
        case 'h': return 1;
        default: return EXIT_USAGE;
        }
        if (bad) {
            const char *name = "?";
            for (size_t i = 0; longs[i].name; i++)
                if (longs[i].val == c) name = longs[i].name;
            if (g_rank == 0)
                fprintf(stderr, "l2h-mpi train: error: bad value '%s' for --%s\n", optarg, name);
            return EXIT_USAGE;
        }
    }
    if (optind != argc) return tusage("unexpected argument", argv[optind]);
    if (!o->data || !o->labels) return tusage("--data and --labels are required", NULL);
    if (!o->out && !o->stop_after) return tusage("-o MODEL.st is required", NULL);
    if (o->stop_after && !o->checkpoint) return tusage("--stop-after needs --checkpoint", NULL);
    if (o->checkpoint_every && !o->checkpoint)
        return tusage("--checkpoint-every needs --checkpoint", NULL);
    if (o->reference && (o->checkpoint || o->resume))
        return tusage("--reference trains in one call: no --checkpoint / --resume", NULL);
    return 0;
}

static int build_params(const topts *o, l2h_train_params *p)
{
    *p = l2h_train_method_params(o->method, o->bits);
    if (!strcmp(o->model, "linear")) p->net = L2H_NET_LINEAR;
    else if (!strcmp(o->model, "mlp")) p->net = L2H_NET_MLP;
    else if (!strcmp(o->model, "cnn")) p->net = L2H_NET_CNN;
    else return tusage("--model must be linear, mlp or cnn, not", o->model);
    if (o->hidden) {
        p->n_hidden = 0;
        for (const char *s = o->hidden; *s;) {
            char *end;
            const unsigned long v = strtoul(s, &end, 10);
            if (end == s || v == 0 || p->n_hidden == 4 || (*end && *end != ','))
                return tusage("--hidden: bad list", o->hidden);
            p->hidden[p->n_hidden++] = v;
            s = *end ? end + 1 : end;
        }
    }
    if (o->optimizer) {
        if (!strcmp(o->optimizer, "sgd")) p->optimizer = L2H_OPT_SGD;
        else if (!strcmp(o->optimizer, "adam")) p->optimizer = L2H_OPT_ADAM;
        else return tusage("--optimizer must be sgd or adam, not", o->optimizer);
        p->lr = p->optimizer == L2H_OPT_ADAM ? 1e-3 : 0.1;
    }
    if (o->schedule) {
        if (!strcmp(o->schedule, "const")) p->schedule = L2H_SCHED_CONST;
        else if (!strcmp(o->schedule, "step")) p->schedule = L2H_SCHED_STEP;
        else if (!strcmp(o->schedule, "inv")) p->schedule = L2H_SCHED_INV;
        else return tusage("--schedule must be const, step or inv, not", o->schedule);
    }
    if (o->lr > 0) p->lr = o->lr;
    if (o->momentum >= 0) p->momentum = o->momentum;
    if (o->weight_decay >= 0) p->weight_decay = o->weight_decay;
    if (o->lr_gamma > 0) p->lr_gamma = o->lr_gamma;
    if (o->lr_step) p->lr_step = o->lr_step;
    if (o->last_lr_mult > 0) p->last_lr_mult = o->last_lr_mult;
    p->epochs = o->epochs;
    p->batch = o->batch;
    p->seed = o->seed;
    p->val_fraction = o->val_fraction;
    return 0;
}

/* The training handle: the shared settings plus the method's own options (checked here, before
 * any data is read). */
static int build_ctx(const topts *o, const l2h_train_params *p, l2h_train_ctx **c)
{
    char v[64];
    if (l2h_train_create(c, p) != L2H_OK) return tusage(l2h_last_error(), NULL);
    l2h_status st = L2H_OK;
    if (o->bins) {
        snprintf(v, sizeof v, "%zu", o->bins);
        st = l2h_train_set_option(*c, "bins", v);
    }
    if (st == L2H_OK && o->scale != 0) {
        snprintf(v, sizeof v, "%.17g", o->scale);
        st = l2h_train_set_option(*c, "scale", v);
    }
    if (st == L2H_OK && o->deterministic) st = l2h_train_set_option(*c, "deterministic", "1");
    if (st == L2H_OK) st = l2h_train_check(*c);
    if (st != L2H_OK) {
        const int rc = tusage(l2h_last_error(), NULL);
        l2h_train_free(*c);
        *c = NULL;
        return rc;
    }
    return 0;
}

typedef struct progress {
    FILE *log;
} progress;

/* Called on every rank after each epoch (identical values); rank 0 reports. */
static int on_epoch(const l2h_train_progress *p, void *user)
{
    progress *pr = user;
    if (g_rank != 0) return 0;
    fprintf(stderr, "l2h-mpi train: epoch %zu/%zu, loss %.6f%s", p->epoch, p->epochs, p->loss,
            p->val_map >= 0 ? "" : "\n");
    if (p->val_map >= 0) fprintf(stderr, ", val mAP %.4f\n", p->val_map);
    if (pr->log) {
        fprintf(pr->log, "%zu,%.6f,", p->epoch, p->loss);
        if (p->val_map >= 0) fprintf(pr->log, "%.6f,%.6f", p->val_map, p->val_map_tie);
        else fprintf(pr->log, ",");
        fprintf(pr->log, ",%.1f,%.3f,", p->examples_per_s, p->seconds);
        if (isfinite(p->loss_aux)) fprintf(pr->log, "%.6f", p->loss_aux);
        fprintf(pr->log, "\n");
        fflush(pr->log);
    }
    return 0;
}

static uint64_t params_hash(const float *v, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    const unsigned char *b = (const unsigned char *)v;
    for (size_t i = 0; i < n * sizeof *v; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* All ranks: are the parameters bit-identical everywhere? */
static l2h_status params_agree(const l2h_train_session *s)
{
    const uint64_t h = params_hash(l2h_train_session_params(s), l2h_train_session_n_params(s));
    uint64_t v[2] = {h, ~h}, r[2];
    MPI_Allreduce(v, r, 2, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
    if (r[0] == ~r[1]) return L2H_OK;
    fprintf(stderr, "l2h-mpi: rank %d: parameters differ between ranks after step %zu\n", g_rank,
            l2h_train_session_steps(s));
    return L2H_ERR_STATE;
}

static l2h_status load_data(const topts *o, l2h_dataset **ds)
{
    l2h_status st = l2h_dataset_read(ds, o->data, NULL);
    if (st == L2H_OK) st = l2h_dataset_read_labels(*ds, o->labels, NULL);
    if (st != L2H_OK) {
        l2h_dataset_free(*ds);
        *ds = NULL;
    }
    return st;
}

enum { T_FWD, T_GATHER, T_OBJ, T_BWD, T_REDUCE, T_UPDATE, T_N };

static l2h_status save_ckpt(const l2h_train_session *s, const char *path)
{
    l2h_status st = L2H_OK;
    if (g_rank == 0) {
        st = l2h_train_session_save(s, path);
        if (st != L2H_OK)
            fprintf(stderr, "l2h-mpi: rank 0: %s\n", l2h_last_error());
    }
    return shard_agree(st, NULL, MPI_COMM_WORLD);
}

/* The data-parallel loop. */
static l2h_status train_steps(const topts *o, l2h_train_session *s)
{
    const size_t bits = l2h_train_session_bits(s), np = l2h_train_session_n_params(s);
    const size_t cap = o->batch;
    float *zl = malloc(cap * bits * sizeof *zl + 1), *z = malloc(cap * bits * sizeof *z + 1);
    float *dz = malloc(cap * bits * sizeof *dz + 1);
    int *cnt = malloc(2 * (size_t)g_size * sizeof *cnt);
    l2h_status st = zl && z && dz && cnt ? L2H_OK : L2H_ERR_NOMEM;
    if (st != L2H_OK) fprintf(stderr, "l2h-mpi: rank %d: out of memory\n", g_rank);
    st = shard_agree(st, NULL, MPI_COMM_WORLD);
    double t[T_N] = {0};
    size_t steps = 0, epochs_seen = l2h_train_session_epochs_done(s);
    double bytes_in = 0; /* this rank's received bytes over all steps */
    const double t_start = MPI_Wtime();
    const char *die = getenv("L2H_MPI_TEST_DIE_STEP"); /* test hook: rank R dies at step S */
    while (st == L2H_OK) {
        if (o->stop_after && l2h_train_session_steps(s) >= o->stop_after) break;
        if (die && atoi(die) == g_rank && l2h_train_session_steps(s) >= 2) raise(SIGKILL);
        size_t m = 0;
        st = shard_agree(l2h_train_session_next(s, &m), "next batch", MPI_COMM_WORLD);
        if (st != L2H_OK || m == 0) break;
        size_t first, count;
        shard_rows(m, g_rank, g_size, &first, &count);
        double t0 = MPI_Wtime();
        l2h_status lst = count ? l2h_train_session_forward(s, first, count, zl) : L2H_OK;
        st = shard_agree(lst, "forward", MPI_COMM_WORLD);
        if (st != L2H_OK) break;
        double t1 = MPI_Wtime();
        for (int r = 0; r < g_size; r++) {
            size_t f, c;
            shard_rows(m, r, g_size, &f, &c);
            cnt[r] = (int)(c * bits);
            cnt[g_size + r] = (int)(f * bits);
        }
        if (MPI_Allgatherv(zl, (int)(count * bits), MPI_FLOAT, z, cnt, cnt + g_size, MPI_FLOAT,
                           MPI_COMM_WORLD) != MPI_SUCCESS)
            st = L2H_ERR_IO;
        double t2 = MPI_Wtime();
        float loss;
        st = shard_agree(st == L2H_OK ? l2h_train_session_objective(s, z, dz, &loss) : st,
                         "objective", MPI_COMM_WORLD);
        if (st != L2H_OK) break;
        double t3 = MPI_Wtime();
        lst = count ? l2h_train_session_backward(s, dz + first * bits) : L2H_OK;
        st = shard_agree(lst, "backward", MPI_COMM_WORLD);
        if (st != L2H_OK) break;
        double t4 = MPI_Wtime();
        st = shard_agree(shard_sum_ordered(l2h_train_session_grads(s), np, MPI_COMM_WORLD), NULL,
                         MPI_COMM_WORLD);
        if (st != L2H_OK) break;
        double t5 = MPI_Wtime();
        st = shard_agree(l2h_train_session_update(s), "update", MPI_COMM_WORLD);
        double t6 = MPI_Wtime();
        t[T_FWD] += t1 - t0;
        t[T_GATHER] += t2 - t1;
        t[T_OBJ] += t3 - t2;
        t[T_BWD] += t4 - t3;
        t[T_REDUCE] += t5 - t4;
        t[T_UPDATE] += t6 - t5;
        size_t pf, pc;
        shard_rows(np, g_rank, g_size, &pf, &pc);
        if (g_size > 1)
            bytes_in += 4.0 * (double)((m - count) * bits + (size_t)(g_size - 1) * pc + (np - pc));
        steps++;
        if (st == L2H_OK && l2h_train_session_epochs_done(s) != epochs_seen) {
            epochs_seen = l2h_train_session_epochs_done(s);
            st = params_agree(s);
            st = shard_agree(st, NULL, MPI_COMM_WORLD);
        }
        if (st == L2H_OK && o->checkpoint_every &&
            l2h_train_session_steps(s) % o->checkpoint_every == 0)
            st = save_ckpt(s, o->checkpoint);
    }
    if (st == L2H_OK && o->checkpoint) st = save_ckpt(s, o->checkpoint);
    if (st == L2H_OK && o->stats && steps) {
        double tmax[T_N];
        MPI_Reduce(t, tmax, T_N, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
        if (g_rank == 0)
            fprintf(stderr,
                    "l2h-mpi train stats: ranks=%d steps=%zu params=%zu ms_per_step=%.3f "
                    "forward=%.3f allgather=%.3f objective=%.3f backward=%.3f gradsum=%.3f "
                    "update=%.3f bytes_in_per_step=%.0f (ms per step, slowest rank per phase; "
                    "bytes received by each rank)\n",
                    g_size, steps, np, 1e3 * (MPI_Wtime() - t_start) / (double)steps,
                    1e3 * tmax[T_FWD] / (double)steps, 1e3 * tmax[T_GATHER] / (double)steps,
                    1e3 * tmax[T_OBJ] / (double)steps, 1e3 * tmax[T_BWD] / (double)steps,
                    1e3 * tmax[T_REDUCE] / (double)steps, 1e3 * tmax[T_UPDATE] / (double)steps,
                    bytes_in / (double)steps);
    }
    free(zl);
    free(z);
    free(dz);
    free(cnt);
    return st;
}

int mpi_train_main(int argc, char **argv, int rank, int size)
{
    g_rank = rank;
    g_size = size;
    topts o;
    const int pr = tparse(argc, argv, &o);
    if (pr == 1) {
        if (g_rank == 0) train_usage(stdout);
        return 0;
    }
    if (pr) return pr;
    l2h_train_params p;
    if (build_params(&o, &p)) return EXIT_USAGE;
    if (o.reference && g_size != 1) return tusage("--reference runs on one rank (-np 1)", NULL);
    progress prog = {NULL};
    p.callback = on_epoch;
    p.user = &prog; /* copied into the handle: prog's address is what it keeps */
    l2h_train_ctx *ctx = NULL;
    if (build_ctx(&o, &p, &ctx)) return EXIT_USAGE;
    l2h_status st = L2H_OK;
    if (g_rank == 0 && o.log) {
        prog.log = fopen(o.log, "w");
        if (!prog.log) {
            fprintf(stderr, "l2h-mpi: rank 0: %s: cannot open for writing\n", o.log);
            st = L2H_ERR_IO;
        }
        else fprintf(prog.log, "epoch,loss,val_map,val_map_tie,examples_per_s,seconds,loss_aux\n");
    }
    st = shard_agree(st, NULL, MPI_COMM_WORLD);
    l2h_dataset *ds = NULL;
    l2h_train_session *s = NULL;
    l2h_model *model = NULL;
    if (st == L2H_OK) st = shard_agree(load_data(&o, &ds), o.data, MPI_COMM_WORLD);
    if (st == L2H_OK && o.reference) {
        st = l2h_train_fit(ctx, ds, &model);
        if (st != L2H_OK) fprintf(stderr, "l2h-mpi: rank 0: train: %s\n", l2h_last_error());
    } else if (st == L2H_OK) {
        if (p.batch * p.bits > (size_t)INT_MAX) {
            fprintf(stderr, "l2h-mpi: rank %d: batch x bits too large for one message\n", g_rank);
            st = L2H_ERR_ARG;
        }
        if (st == L2H_OK) {
            st = l2h_train_session_create_ctx(&s, ds, ctx);
            if (st != L2H_OK)
                fprintf(stderr, "l2h-mpi: rank %d: train: %s\n", g_rank, l2h_last_error());
        }
        st = shard_agree(st, NULL, MPI_COMM_WORLD);
        if (st == L2H_OK && o.resume)
            st = shard_agree(l2h_train_session_resume(s, o.resume), o.resume, MPI_COMM_WORLD);
        if (st == L2H_OK && o.resume && g_rank == 0)
            fprintf(stderr, "l2h-mpi train: resumed %s at step %zu (epoch %zu) on %d ranks\n",
                    o.resume, l2h_train_session_steps(s), l2h_train_session_epochs_done(s) + 1,
                    g_size);
        if (st == L2H_OK) st = train_steps(&o, s);
        if (st == L2H_OK && o.out && g_rank == 0) st = l2h_train_session_model(s, &model);
    }
    if (st == L2H_OK && o.out && g_rank == 0 && model) {
        st = l2h_model_save(model, o.out);
        if (st != L2H_OK) fprintf(stderr, "l2h-mpi: rank 0: %s\n", l2h_last_error());
    }
    if (!o.reference) st = shard_agree(st, NULL, MPI_COMM_WORLD);
    if (prog.log && fclose(prog.log) != 0 && st == L2H_OK) {
        fprintf(stderr, "l2h-mpi: rank 0: %s: write failed\n", o.log);
        st = L2H_ERR_IO;
    }
    l2h_model_free(model);
    l2h_train_session_free(s);
    l2h_train_free(ctx);
    l2h_dataset_free(ds);
    return st == L2H_OK ? 0 : 1;
}
