/* l2h_mpi.c -- `mpirun -np N l2h-mpi search|encode|eval ...`: l2h's exact search, encoding and
 * evaluation spread over the ranks of an MPI job, with answers identical to one process.
 *
 *   search  every rank holds the rows [first, first + count) of a codes file (ids are global row
 *           numbers) in a flat or MIH index; rank 0 broadcasts the queries in batches; k-NN lists
 *           are merged by (distance, id) in MPI_Reduce's tree, radius hits gathered and ordered.
 *   encode  every rank reads and encodes its own row range of a float .npy matrix; rank 0 writes
 *           the codes file.
 *   eval    the queries are split over the ranks, every rank scores its queries against the whole
 *           database, and the per-rank sums are combined on rank 0 in rank order.
 *
 * Output (rank 0 only) is byte for byte what `l2h search --db` prints: query, rank, id, distance.
 * Any rank's failure is agreed on by all ranks (shard_agree) so the job ends with the failing
 * rank and file named, never a hang. Exit codes: 0 success, 1 error, 2 usage. */
#include "mpi_shard.h"
#include "mpi_train.h"

#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_USAGE 2

typedef struct opts {
    const char *db, *queries, *model, *data, *out, *query_labels, *db_labels;
    size_t k, bits, batch, map_at;
    long radius;
    l2h_index_kind kind;
    int shard_by_rows; /* search: contiguous row ranges instead of a hash of the code */
} opts;

static int g_rank, g_size;

static void usage(FILE *f)
{
    fputs("usage: mpirun -np N l2h-mpi COMMAND [options]\n"
          "\n"
          "  search --db CODES.npy --queries CODES.npy (-k K | --radius R) [--kind flat|mih]\n"
          "         [--bits B] [--batch N] [--shard hash|rows]\n"
          "      exact Hamming search over the database split over the ranks (hash: by a hash\n"
          "      of the code, so equal codes share a shard; rows: contiguous row ranges; a --db\n"
          "      holding {rank}, e.g. db.{rank}.npy: one file per rank, the database being\n"
          "      their concatenation in rank order);\n"
          "      prints query, rank, id, distance (TSV) like `l2h search --db`\n"
          "  encode --model MODEL.st --data X.npy -o CODES.npy\n"
          "      every rank encodes its own rows of a float .npy matrix; rank 0 writes the codes\n"
          "  eval   --queries CODES.npy --db CODES.npy --query-labels FILE --db-labels FILE\n"
          "         [--bits B] [--radius R] [--map-at K]\n"
          "      queries split over the ranks; prints the metrics of `l2h_eval_codes`\n"
          "  train  --data X.npy --labels Y -o MODEL.st [options]   (l2h-mpi train --help)\n"
          "      data-parallel MIHash / HashNet / JMLH: the objective of one process\n"
          "\n"
          "Results are identical to one process for any number of ranks (eval: equal to float\n"
          "rounding of the per-rank sums). Exit codes: 0 ok, 1 error, 2 usage.\n",
          f);
}

static int parse_size(const char *s, size_t *out)
{
    char *end;
    if (!s || *s < '0' || *s > '9') return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end) return -1;
    *out = (size_t)v;
    return 0;
}

static int parse(int argc, char **argv, opts *o)
{
    static const struct option longs[] = {
        {"db", required_argument, 0, 'd'},      {"queries", required_argument, 0, 'q'},
        {"model", required_argument, 0, 'm'},   {"data", required_argument, 0, 'x'},
        {"output", required_argument, 0, 'o'},  {"k", required_argument, 0, 'k'},
        {"radius", required_argument, 0, 'r'},  {"kind", required_argument, 0, 'K'},
        {"bits", required_argument, 0, 'b'},    {"batch", required_argument, 0, 'B'},
        {"map-at", required_argument, 0, 'M'},  {"query-labels", required_argument, 0, 'L'},
        {"db-labels", required_argument, 0, 'D'}, {"help", no_argument, 0, 'h'},
        {"shard", required_argument, 0, 'S'},
        {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->radius = -1;
    o->batch = 1024;
    o->kind = L2H_INDEX_FLAT;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "d:q:m:x:o:k:r:b:h", longs, NULL)) != -1) {
        size_t v;
        switch (c) {
        case 'd': o->db = optarg; break;
        case 'q': o->queries = optarg; break;
        case 'm': o->model = optarg; break;
        case 'x': o->data = optarg; break;
        case 'o': o->out = optarg; break;
        case 'L': o->query_labels = optarg; break;
        case 'D': o->db_labels = optarg; break;
        case 'k':
            if (parse_size(optarg, &o->k) || o->k == 0) goto bad;
            break;
        case 'r':
            if (parse_size(optarg, &v) || v > L2H_MAX_BITS) goto bad;
            o->radius = (long)v;
            break;
        case 'b':
            if (parse_size(optarg, &o->bits) || o->bits == 0 || o->bits > L2H_MAX_BITS) goto bad;
            break;
        case 'B':
            if (parse_size(optarg, &o->batch) || o->batch == 0 || o->batch > (1u << 20)) goto bad;
            break;
        case 'M':
            if (parse_size(optarg, &o->map_at)) goto bad;
            break;
        case 'S':
            if (strcmp(optarg, "hash") == 0) o->shard_by_rows = 0;
            else if (strcmp(optarg, "rows") == 0) o->shard_by_rows = 1;
            else goto bad;
            break;
        case 'K':
            if (strcmp(optarg, "flat") == 0) o->kind = L2H_INDEX_FLAT;
            else if (strcmp(optarg, "mih") == 0) o->kind = L2H_INDEX_MIH;
            else goto bad;
            break;
        case 'h': return 1;
        default: return -1;
        }
        continue;
    bad:
        if (g_rank == 0)
            fprintf(stderr, "l2h-mpi: error: bad value '%s' for --%s\n", optarg,
                    c == 'K' ? "kind" : c == 'S' ? "shard" : c == 'M' ? "map-at" : c == 'B' ? "batch"
                    : c == 'b' ? "bits" : c == 'r' ? "radius" : "k");
        return -1;
    }
    if (optind != argc) {
        if (g_rank == 0) fprintf(stderr, "l2h-mpi: error: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    return 0;
}

static int usage_error(const char *msg)
{
    if (g_rank == 0) fprintf(stderr, "l2h-mpi: error: %s (see l2h-mpi --help)\n", msg);
    return EXIT_USAGE;
}

/* Test hook for the failure tests: L2H_MPI_TEST_DIE=R makes rank R die by SIGKILL at the first
 * shard step, as a crashed node would. */
static void maybe_die(void)
{
    const char *s = getenv("L2H_MPI_TEST_DIE");
    if (s && atoi(s) == g_rank) raise(SIGKILL);
}

/* Shape of a codes file, read on rank 0 and broadcast (so a missing file is one message). */
static l2h_status codes_shape(const char *path, size_t *n, size_t *bytes)
{
    uint64_t v[3] = {0, 0, 0};
    if (g_rank == 0) {
        size_t a = 0, b = 0;
        const l2h_status st = l2h_codes_npy_shape(path, &a, &b);
        v[0] = (uint64_t)(int64_t)st;
        v[1] = a;
        v[2] = b;
        if (st != L2H_OK) fprintf(stderr, "l2h-mpi: rank 0: %s\n", l2h_last_error());
    }
    MPI_Bcast(v, 3, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    *n = (size_t)v[1];
    *bytes = (size_t)v[2];
    return (l2h_status)(int64_t)v[0];
}

/* An error this program finds itself (not the library): printed here, then agreed on. */
static l2h_status local_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "l2h-mpi: rank %d: ", g_rank);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return L2H_ERR_ARG;
}

static size_t bits_for(size_t bits_opt, size_t bytes)
{
    return bits_opt ? bits_opt : 8 * bytes;
}

/* ---- search -------------------------------------------------------------------------------- */

static void print_hit(size_t q, size_t rank, l2h_id id, int32_t dist)
{
    printf("%zu\t%zu\t%lld\t%d\n", q, rank, (long long)id, (int)dist);
}

/* Which rank holds a code when sharding by code: FNV-1a of its bytes, mixed, modulo the ranks.
 * Equal codes land on one rank, where the index stores them once with all their ids. */
static int code_owner(const uint8_t *code, size_t bytes)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < bytes; i++) {
        h ^= code[i];
        h *= 0x100000001b3ull;
    }
    h ^= h >> 29;
    return (int)(h % (uint64_t)g_size);
}

#define HASH_CHUNK ((size_t)1 << 18) /* rows read per step when every rank scans the file */

/* This rank's own shard file when --db holds "{rank}": the pattern with the rank number. */
typedef struct shard_src {
    char path[4096];
    int per_rank;     /* --db names one file per rank                         */
    size_t n_own;     /* per rank: rows of this rank's file                    */
    size_t id_base;   /* per rank: rows of the files of the ranks before it    */
} shard_src;

static l2h_status shard_source(const opts *o, shard_src *src)
{
    const char *at = strstr(o->db, "{rank}");
    memset(src, 0, sizeof *src);
    if (!at) {
        snprintf(src->path, sizeof src->path, "%s", o->db);
        return L2H_OK;
    }
    src->per_rank = 1;
    const int w = snprintf(src->path, sizeof src->path, "%.*s%d%s", (int)(at - o->db), o->db,
                           g_rank, at + 6);
    if (w < 0 || (size_t)w >= sizeof src->path) return local_fail("%s: path too long", o->db);
    return L2H_OK;
}

/* This rank's shard of the database as an index with global ids (row numbers of the whole
 * database). By rows: rows [first, first + count) of the file. By hash: every rank streams the
 * whole file in chunks and keeps the rows whose code it owns. Per-rank files: all rows of its own
 * file, ids after those of the lower ranks' files (the database is their concatenation in rank
 * order). Ids ascend within a shard in every case, so ties still go to the smaller id and the
 * merged answer is the single-process answer. *rows = rows kept. */
static l2h_status load_shard(const opts *o, const shard_src *src, size_t n, size_t bytes,
                             size_t bits, l2h_index **ix, size_t *rows)
{
    l2h_index_params p = l2h_index_default_params(bits);
    p.kind = o->kind;
    l2h_status st = l2h_index_create(ix, &p);
    if (st != L2H_OK) return st;
    size_t first = 0, count = n, id_base = 0;
    const int by_hash = !o->shard_by_rows && !src->per_rank;
    if (src->per_rank) {
        count = src->n_own;
        id_base = src->id_base;
    } else if (o->shard_by_rows) {
        shard_rows(n, g_rank, g_size, &first, &count);
    }
    const size_t chunk = by_hash ? HASH_CHUNK : (count ? count : 1);
    uint8_t *codes = malloc(chunk * bytes + 1);
    l2h_id *ids = malloc(chunk * sizeof *ids + 1);
    if (!codes || !ids) st = L2H_ERR_NOMEM;
    *rows = 0;
    for (size_t r0 = first; st == L2H_OK && r0 < first + count; r0 += chunk) {
        const size_t c = first + count - r0 < chunk ? first + count - r0 : chunk;
        st = l2h_codes_read_npy_rows(src->path, r0, c, bytes, codes);
        size_t kept = 0;
        for (size_t i = 0; st == L2H_OK && i < c; i++) {
            if (by_hash && code_owner(codes + i * bytes, bytes) != g_rank) continue;
            if (kept != i) memcpy(codes + kept * bytes, codes + i * bytes, bytes);
            ids[kept++] = (l2h_id)(id_base + r0 + i);
        }
        if (st == L2H_OK && kept) st = l2h_index_add(*ix, codes, ids, kept);
        *rows += kept;
    }
    free(codes);
    free(ids);
    return st;
}

/* Per-rank files: every rank reads its own file's shape; the code widths must agree; the ids of
 * rank r start after the rows of ranks 0..r-1. *n = rows of all files, *bytes = the width. */
static l2h_status per_rank_shape(shard_src *src, size_t *n, size_t *bytes)
{
    size_t rows = 0, b = 0;
    l2h_status st = shard_agree(l2h_codes_npy_shape(src->path, &rows, &b), src->path,
                                MPI_COMM_WORLD);
    if (st != L2H_OK) return st;
    unsigned long long mine[2] = {b, ~(unsigned long long)b}, lo[2];
    MPI_Allreduce(mine, lo, 2, MPI_UNSIGNED_LONG_LONG, MPI_MIN, MPI_COMM_WORLD);
    const unsigned long long wmin = lo[0], wmax = ~lo[1];
    if (wmin != wmax)
        st = (unsigned long long)b != wmin
                 ? local_fail("%s: codes of %zu bytes, another rank's shard has %llu", src->path,
                              b, wmin)
                 : L2H_ERR_ARG;
    st = shard_agree(st, NULL, MPI_COMM_WORLD);
    if (st != L2H_OK) return st;
    unsigned long long r = rows, before = 0, total = 0;
    MPI_Exscan(&r, &before, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
    MPI_Allreduce(&r, &total, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
    src->n_own = rows;
    src->id_base = g_rank == 0 ? 0 : (size_t)before; /* MPI_Exscan leaves rank 0's undefined */
    *n = (size_t)total;
    *bytes = b;
    return L2H_OK;
}

/* The merged answers, kept on rank 0 and printed after the timed search. */
typedef struct answers {
    shard_hit *knn;     /* k-NN: [nq, k]                         */
    size_t *lims;       /* radius: [nq + 1]                      */
    l2h_id *ids;        /* radius hits                           */
    int32_t *dists;
    size_t n_hits, cap;
} answers;

static void answers_free(answers *a)
{
    free(a->knn);
    free(a->lims);
    free(a->ids);
    free(a->dists);
}

/* Appends one batch's merged radius hits (queries q0 .. q0 + nb) to a. */
static l2h_status answers_add_range(answers *a, size_t q0, size_t nb, const size_t *lims,
                                    const l2h_id *ids, const int32_t *dists)
{
    const size_t add = lims[nb];
    if (a->n_hits + add > a->cap) {
        size_t cap = a->cap ? a->cap : 1024;
        while (cap < a->n_hits + add) cap *= 2;
        l2h_id *ni = realloc(a->ids, cap * sizeof *ni);
        if (ni) a->ids = ni;
        int32_t *nd = realloc(a->dists, cap * sizeof *nd);
        if (nd) a->dists = nd;
        if (!ni || !nd) return L2H_ERR_NOMEM;
        a->cap = cap;
    }
    memcpy(a->ids + a->n_hits, ids, add * sizeof *ids);
    memcpy(a->dists + a->n_hits, dists, add * sizeof *dists);
    for (size_t q = 0; q < nb; q++) a->lims[q0 + q + 1] = a->n_hits + lims[q + 1];
    a->n_hits += add;
    return L2H_OK;
}

static void print_answers(const opts *o, const answers *a, size_t nq)
{
    const size_t k = o->k;
    for (size_t q = 0; q < nq; q++) {
        if (k) {
            for (size_t j = 0; j < k && a->knn[q * k + j].dist >= 0; j++)
                print_hit(q, j, a->knn[q * k + j].id, a->knn[q * k + j].dist);
        } else {
            for (size_t j = a->lims[q]; j < a->lims[q + 1]; j++)
                print_hit(q, j - a->lims[q], a->ids[j], a->dists[j]);
        }
    }
}

static int search_batches(const opts *o, l2h_index *ix, const uint8_t *qc, size_t nq,
                          size_t bytes, answers *ans)
{
    uint8_t *batch = malloc(o->batch * bytes + 1);
    const size_t k = o->k;
    shard_hit *hits = k ? malloc(o->batch * k * sizeof *hits + 1) : NULL;
    int32_t *dist = k ? malloc(o->batch * k * sizeof *dist + 1) : NULL;
    l2h_id *ids = k ? malloc(o->batch * k * sizeof *ids + 1) : NULL;
    l2h_status st = batch && (!k || (hits && dist && ids)) ? L2H_OK : L2H_ERR_NOMEM;
    if (g_rank == 0 && st == L2H_OK) {
        if (k) ans->knn = malloc(nq * k * sizeof *ans->knn + 1);
        else ans->lims = calloc(nq + 1, sizeof *ans->lims);
        if (k ? !ans->knn : !ans->lims) st = L2H_ERR_NOMEM;
    }
    st = shard_agree(st, "allocating a query batch", MPI_COMM_WORLD);
    for (size_t q0 = 0; st == L2H_OK && q0 < nq; q0 += o->batch) {
        const size_t nb = nq - q0 < o->batch ? nq - q0 : o->batch;
        if (g_rank == 0) memcpy(batch, qc + q0 * bytes, nb * bytes);
        MPI_Bcast(batch, (int)(nb * bytes), MPI_BYTE, 0, MPI_COMM_WORLD);
        if (k) {
            st = l2h_index_search(ix, batch, nb, k, dist, ids);
            for (size_t i = 0; st == L2H_OK && i < nb * k; i++)
                hits[i] = (shard_hit){ids[i], dist[i], 0};
            st = shard_agree(st, "searching the shard", MPI_COMM_WORLD);
            if (st == L2H_OK) st = shard_merge_topk(hits, nb, k, 0, MPI_COMM_WORLD);
            if (st == L2H_OK && g_rank == 0)
                memcpy(ans->knn + q0 * k, hits, nb * k * sizeof *hits);
        } else {
            l2h_range_result *res = NULL;
            st = l2h_index_range_search(ix, batch, nb, (uint32_t)o->radius, &res);
            st = shard_agree(st, "searching the shard", MPI_COMM_WORLD);
            size_t *lims = NULL;
            l2h_id *rid = NULL;
            int32_t *rd = NULL;
            if (st == L2H_OK)
                st = shard_gather_range(nb, l2h_range_result_lims(res), l2h_range_result_ids(res),
                                        l2h_range_result_dists(res), 0, MPI_COMM_WORLD, &lims,
                                        &rid, &rd);
            l2h_range_result_free(res);
            if (st == L2H_OK && g_rank == 0) st = answers_add_range(ans, q0, nb, lims, rid, rd);
            st = shard_agree(st, "gathering radius results", MPI_COMM_WORLD);
            free(lims);
            free(rid);
            free(rd);
        }
    }
    free(batch);
    free(hits);
    free(dist);
    free(ids);
    return st == L2H_OK ? 0 : 1;
}

static int cmd_search(const opts *o)
{
    if (!o->db || !o->queries) return usage_error("search needs --db and --queries");
    if ((o->k == 0) == (o->radius < 0)) return usage_error("give exactly one of -k, --radius");
    const double t_start = MPI_Wtime();
    size_t n, bytes, nq = 0, qbytes;
    shard_src src;
    l2h_status st = shard_agree(shard_source(o, &src), NULL, MPI_COMM_WORLD);
    if (st == L2H_OK) st = src.per_rank ? per_rank_shape(&src, &n, &bytes) : codes_shape(o->db, &n, &bytes);
    if (st != L2H_OK) return 1;
    const size_t bits = bits_for(o->bits, bytes);
    if (l2h_code_bytes(bits) != bytes) return usage_error("--bits does not fit the codes' width");
    uint8_t *qc = NULL;
    const char *what = o->queries; /* NULL once this program printed its own message */
    if (g_rank == 0) {
        st = l2h_codes_npy_shape(o->queries, &nq, &qbytes);
        if (st == L2H_OK && qbytes != bytes) {
            st = local_fail("%s: codes of %zu bytes, the database's are %zu bytes", o->queries,
                            qbytes, bytes);
            what = NULL;
        }
        if (st == L2H_OK) qc = malloc(nq * bytes + 1);
        if (st == L2H_OK && !qc) st = L2H_ERR_NOMEM;
        if (st == L2H_OK) st = l2h_codes_read_npy(o->queries, qc, nq, bytes);
    }
    st = shard_agree(st, what, MPI_COMM_WORLD);
    uint64_t nq64 = g_rank == 0 ? nq : 0;
    MPI_Bcast(&nq64, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    nq = (size_t)nq64;
    l2h_index *ix = NULL;
    size_t rows = 0;
    if (st == L2H_OK) {
        maybe_die();
        st = shard_agree(load_shard(o, &src, n, bytes, bits, &ix, &rows), src.path,
                         MPI_COMM_WORLD);
    }
    unsigned long long rows_lo = 0, rows_hi = 0, mine = rows;
    MPI_Reduce(&mine, &rows_lo, 1, MPI_UNSIGNED_LONG_LONG, MPI_MIN, 0, MPI_COMM_WORLD);
    MPI_Reduce(&mine, &rows_hi, 1, MPI_UNSIGNED_LONG_LONG, MPI_MAX, 0, MPI_COMM_WORLD);
    MPI_Barrier(MPI_COMM_WORLD); /* the timed search starts together on every rank */
    const double t_loaded = MPI_Wtime();
    answers ans = {0};
    int rc = st == L2H_OK ? search_batches(o, ix, qc, nq, bytes, &ans) : 1;
    const double t_done = MPI_Wtime();
    if (rc == 0 && g_rank == 0) print_answers(o, &ans, nq); /* outside the timed search */
    answers_free(&ans);
    if (rc == 0 && g_rank == 0) {
        /* what crosses the network per full batch: the queries to every other rank, and the
         * per-rank top-k lists (16 bytes a hit) into the reduction; radius hits vary */
        const size_t nb = nq < o->batch ? nq : o->batch;
        const size_t sent = (size_t)(g_size - 1) * nb * (bytes + (o->k ? o->k * 16 : 0));
        fprintf(stderr,
                "searched %zu queries in %zu codes on %d ranks in %.3f s (%.0f queries/s; shard "
                "load %.3f s, %llu-%llu rows a shard by %s); %zu bytes communicated per batch of "
                "%zu queries%s\n",
                nq, n, g_size, t_done - t_loaded, nq / (t_done - t_loaded + 1e-12),
                t_loaded - t_start, rows_lo, rows_hi,
                src.per_rank ? "per-rank files" : o->shard_by_rows ? "rows" : "code hash",
                sent, nb, o->k ? "" : " plus the radius hits (12 bytes each)");
    }
    if (rc == 0 && g_rank == 0 && (fflush(stdout) != 0 || ferror(stdout))) {
        fprintf(stderr, "l2h-mpi: error: writing the results failed\n");
        rc = 1;
    }
    l2h_index_free(ix);
    free(qc);
    return rc;
}

/* ---- encode -------------------------------------------------------------------------------- */

/* The .npy version 1.0 header of a uint8 matrix [rows, cols], as numpy.save and
 * l2h_codes_write_npy write it (the dict padded with spaces to a multiple of 64 bytes, ended by
 * '\n'). out must hold 256 bytes; returns the header's size. */
static size_t npy_u8_header(uint8_t *out, size_t rows, size_t cols)
{
    char dict[160];
    const int n = snprintf(dict, sizeof dict,
                           "{'descr': '|u1', 'fortran_order': False, 'shape': (%zu, %zu), }", rows,
                           cols);
    const size_t total = (10 + (size_t)n + 1 + 63) / 64 * 64, hlen = total - 10;
    memcpy(out, "\x93NUMPY\x01\x00", 8);
    out[8] = (uint8_t)(hlen & 0xff);
    out[9] = (uint8_t)(hlen >> 8);
    memcpy(out + 10, dict, (size_t)n);
    memset(out + 10 + n, ' ', hlen - (size_t)n - 1);
    out[total - 1] = '\n';
    return total;
}

/* "rank R: FILE: what: MPI's message" when rc is an error; returns the status. */
static l2h_status mpiio_check(int rc, const char *path, const char *what)
{
    if (rc == MPI_SUCCESS) return L2H_OK;
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    fprintf(stderr, "l2h-mpi: rank %d: %s: %s: %s\n", g_rank, path, what, msg);
    return L2H_ERR_IO;
}

/* Writes the codes file `path` from every rank's rows [first, first + count) (codes[count *
 * bytes]) with MPI-IO: rank 0 writes the header, every rank its rows at their offset, in pieces of
 * at most IO_CHUNK bytes (int counts); into path.part, synced, then renamed by rank 0, so a failed
 * job leaves no partial file under the name. All ranks call it; the status is agreed. */
static l2h_status write_codes_mpiio(const char *path, const uint8_t *codes, size_t first,
                                    size_t count, size_t n, size_t bytes)
{
    size_t chunk = (size_t)1 << 30;
    const char *test_chunk = getenv("L2H_MPI_TEST_IO_CHUNK"); /* test hook: tiny pieces */
    if (test_chunk && atoi(test_chunk) > 0) chunk = (size_t)atoi(test_chunk);
    char tmp[4096];
    const int w = snprintf(tmp, sizeof tmp, "%s.part", path);
    if (w < 0 || (size_t)w >= sizeof tmp) return shard_agree(local_fail("%s: path too long", path), NULL, MPI_COMM_WORLD);
    uint8_t hdr[256];
    const size_t h = npy_u8_header(hdr, n, bytes);
    MPI_File fh;
    l2h_status st = mpiio_check(MPI_File_open(MPI_COMM_WORLD, tmp, MPI_MODE_CREATE | MPI_MODE_WRONLY,
                                              MPI_INFO_NULL, &fh),
                                tmp, "open");
    st = shard_agree(st, NULL, MPI_COMM_WORLD);
    if (st != L2H_OK) return st;
    /* exact size (an older, longer file under the name is cut); collective */
    l2h_status ls = mpiio_check(MPI_File_set_size(fh, (MPI_Offset)(h + n * bytes)), tmp, "set size");
    if (ls == L2H_OK && g_rank == 0)
        ls = mpiio_check(MPI_File_write_at(fh, 0, hdr, (int)h, MPI_BYTE, MPI_STATUS_IGNORE), tmp,
                         "write header");
    const size_t total = count * bytes;
    for (size_t off = 0; ls == L2H_OK && off < total; off += chunk) {
        const size_t len = total - off < chunk ? total - off : chunk;
        ls = mpiio_check(MPI_File_write_at(fh, (MPI_Offset)(h + first * bytes + off), codes + off,
                                           (int)len, MPI_BYTE, MPI_STATUS_IGNORE),
                         tmp, "write rows");
    }
    if (ls == L2H_OK) ls = mpiio_check(MPI_File_sync(fh), tmp, "sync");
    const l2h_status cs = mpiio_check(MPI_File_close(&fh), tmp, "close");
    if (ls == L2H_OK) ls = cs;
    st = shard_agree(ls, NULL, MPI_COMM_WORLD);
    ls = L2H_OK;
    if (g_rank == 0) {
        if (st == L2H_OK && rename(tmp, path) != 0) {
            fprintf(stderr, "l2h-mpi: rank 0: %s: rename from %s failed\n", path, tmp);
            ls = L2H_ERR_IO;
        }
        if (st != L2H_OK || ls != L2H_OK) remove(tmp);
    }
    return st == L2H_OK ? shard_agree(ls, NULL, MPI_COMM_WORLD) : st;
}

static int cmd_encode(const opts *o)
{
    if (!o->model || !o->data || !o->out)
        return usage_error("encode needs --model, --data and -o");
    l2h_model *m = NULL;
    l2h_status st = shard_agree(l2h_model_load(&m, o->model), o->model, MPI_COMM_WORLD);
    uint64_t shape[2] = {0, 0};
    if (st == L2H_OK) {
        l2h_status ls = L2H_OK;
        const char *what = o->data; /* NULL once this program printed its own message */
        if (g_rank == 0) {
            size_t r = 0, c = 0;
            ls = l2h_npy_shape(o->data, &r, &c);
            shape[0] = r;
            shape[1] = c;
            if (ls == L2H_OK && c != l2h_model_dim(m)) {
                ls = local_fail("%s: rows of %zu values, the model takes %zu", o->data, c,
                                l2h_model_dim(m));
                what = NULL;
            }
        }
        st = shard_agree(ls, what, MPI_COMM_WORLD);
    }
    MPI_Bcast(shape, 2, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    const size_t n = (size_t)shape[0];
    const size_t bytes = m ? l2h_code_bytes(l2h_model_bits(m)) : 0;
    size_t first = 0, count = 0;
    shard_rows(n, g_rank, g_size, &first, &count);
    l2h_dataset *x = NULL;
    uint8_t *mine = NULL;
    if (st == L2H_OK) {
        maybe_die();
        l2h_status ls = l2h_dataset_read_npy_rows(&x, o->data, first, count);
        mine = ls == L2H_OK ? malloc(count * bytes + 1) : NULL;
        if (ls == L2H_OK && !mine) ls = L2H_ERR_NOMEM;
        if (ls == L2H_OK) ls = l2h_model_encode(m, l2h_dataset_features(x), count, mine);
        st = shard_agree(ls, o->data, MPI_COMM_WORLD);
    }
    /* every rank writes its rows at their offset of one file (MPI-IO), so no rank holds more
     * than its own codes and no count is limited to an int */
    l2h_status wst = st == L2H_OK ? write_codes_mpiio(o->out, mine, first, count, n, bytes) : st;
    if (st == L2H_OK && wst == L2H_OK && g_rank == 0)
        fprintf(stderr, "encoded %zu rows on %d ranks into %s\n", n, g_size, o->out);
    free(mine);
    l2h_dataset_free(x);
    l2h_model_free(m);
    return st == L2H_OK && wst == L2H_OK ? 0 : 1;
}

/* ---- eval ---------------------------------------------------------------------------------- */

/* A dataset of n rows (one zero feature) carrying the labels of `path`. */
static l2h_status labelled(const char *path, size_t n, l2h_dataset **out)
{
    l2h_status st = l2h_dataset_create(out, n, 1, NULL);
    if (st != L2H_OK) return st;
    st = l2h_dataset_read_labels(*out, path, NULL);
    if (st != L2H_OK) {
        l2h_dataset_free(*out);
        *out = NULL;
    }
    return st;
}

static int cmd_eval(const opts *o)
{
    if (!o->db || !o->queries || !o->query_labels || !o->db_labels)
        return usage_error("eval needs --queries, --db, --query-labels and --db-labels");
    size_t n, bytes, nq, qbytes;
    l2h_status st = codes_shape(o->db, &n, &bytes);
    if (st != L2H_OK) return 1;
    st = codes_shape(o->queries, &nq, &qbytes);
    if (st != L2H_OK) return 1;
    if (qbytes != bytes) return usage_error("queries and database codes differ in width");
    const size_t bits = bits_for(o->bits, bytes);
    if (l2h_code_bytes(bits) != bytes) return usage_error("--bits does not fit the codes' width");
    size_t first, count;
    shard_rows(nq, g_rank, g_size, &first, &count);
    uint8_t *db = malloc(n * bytes + 1), *q = malloc(count * bytes + 1);
    l2h_dataset *dbl = NULL, *ql = NULL;
    l2h_groundtruth *gt = NULL;
    st = db && q ? L2H_OK : L2H_ERR_NOMEM;
    if (st == L2H_OK) st = l2h_codes_read_npy(o->db, db, n, bytes);
    if (st == L2H_OK) st = l2h_codes_read_npy_rows(o->queries, first, count, bytes, q);
    st = shard_agree(st, "reading codes", MPI_COMM_WORLD);
    if (st == L2H_OK) st = shard_agree(labelled(o->db_labels, n, &dbl), o->db_labels, MPI_COMM_WORLD);
    if (st == L2H_OK) {
        l2h_dataset *all_q = NULL;
        size_t *rows = malloc(count * sizeof *rows + 1);
        l2h_status ls = rows ? labelled(o->query_labels, nq, &all_q) : L2H_ERR_NOMEM;
        for (size_t i = 0; ls == L2H_OK && i < count; i++) rows[i] = first + i;
        if (ls == L2H_OK) ls = l2h_dataset_subset(&ql, all_q, rows, count);
        if (ls == L2H_OK) ls = l2h_groundtruth_from_labels(&gt, ql, dbl);
        l2h_dataset_free(all_q);
        free(rows);
        st = shard_agree(ls, o->query_labels, MPI_COMM_WORLD);
    }
    /* per-rank sums of the per-query metrics, combined on rank 0 in rank order */
    double sums[8] = {0};
    if (st == L2H_OK) {
        l2h_eval_params p = l2h_eval_default_params();
        p.map_at_k = o->map_at;
        if (o->radius >= 0) p.radius = (uint32_t)o->radius;
        l2h_eval_result r = {0};
        l2h_status ls = count ? l2h_eval_codes(q, count, db, n, bits, gt, &p, &r) : L2H_OK;
        const double w = (double)r.n_queries;
        sums[0] = r.map * w;
        sums[1] = r.map_tie * w;
        sums[2] = r.map_at_k * w;
        sums[3] = r.prec_radius * w;
        sums[4] = r.recall_radius * w;
        sums[5] = w;
        sums[6] = (double)r.n_empty;
        sums[7] = (double)r.n_zero_at_k;
        st = shard_agree(ls, "evaluating", MPI_COMM_WORLD);
    }
    double *all = g_rank == 0 ? calloc((size_t)g_size * 8, sizeof *all) : NULL;
    if (st == L2H_OK) MPI_Gather(sums, 8, MPI_DOUBLE, all, 8, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    if (st == L2H_OK && g_rank == 0 && all) {
        double t[8] = {0};
        for (int r = 0; r < g_size; r++)
            for (int j = 0; j < 8; j++) t[j] += all[(size_t)r * 8 + j];
        const double nqa = t[5] > 0 ? t[5] : 1;
        printf("map\t%.6f\nmap_tie\t%.6f\n", t[0] / nqa, t[1] / nqa);
        if (o->map_at) printf("map@%zu\t%.6f\nn_zero_at_k\t%.0f\n", o->map_at, t[2] / nqa, t[7]);
        printf("precision_radius\t%.6f\nrecall_radius\t%.6f\nqueries\t%.0f\nempty\t%.0f\n",
               t[3] / nqa, t[4] / nqa, t[5], t[6]);
        if (fflush(stdout) != 0 || ferror(stdout)) st = L2H_ERR_IO;
    }
    free(all);
    free(db);
    free(q);
    l2h_groundtruth_free(gt);
    l2h_dataset_free(ql);
    l2h_dataset_free(dbl);
    return st == L2H_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    int rc;
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        if (g_rank == 0) usage(argc < 2 ? stderr : stdout);
        rc = argc < 2 ? EXIT_USAGE : 0;
    } else if (strcmp(argv[1], "train") == 0) {
        rc = mpi_train_main(argc - 1, argv + 1, g_rank, g_size);
    } else {
        opts o;
        const int pr = parse(argc - 1, argv + 1, &o);
        if (pr > 0) {
            if (g_rank == 0) usage(stdout);
            rc = 0;
        } else if (pr < 0) {
            rc = EXIT_USAGE;
        } else if (strcmp(argv[1], "search") == 0) {
            rc = cmd_search(&o);
        } else if (strcmp(argv[1], "encode") == 0) {
            rc = cmd_encode(&o);
        } else if (strcmp(argv[1], "eval") == 0) {
            rc = cmd_eval(&o);
        } else {
            rc = usage_error("unknown command (search, encode, eval, train)");
        }
    }
    MPI_Finalize();
    return rc;
}
