/* mpi_shard.c -- row ownership, failure agreement and exact result merging for sharded jobs. */
#include "mpi_shard.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void shard_rows(size_t n, int rank, int size, size_t *first, size_t *count)
{
    const size_t r = (size_t)rank, s = (size_t)size;
    const size_t base = n / s, extra = n % s;
    *count = base + (r < extra ? 1 : 0);
    *first = r * base + (r < extra ? r : extra);
}

l2h_status shard_agree(l2h_status st, const char *what, MPI_Comm comm)
{
    int rank = 0;
    MPI_Comm_rank(comm, &rank);
    if (st != L2H_OK && what) fprintf(stderr, "l2h-mpi: rank %d: %s: %s\n", rank, what, l2h_last_error());
    int mine = (int)st, worst = 0;
    /* statuses are negative: the minimum is the first failure class any rank saw */
    if (MPI_Allreduce(&mine, &worst, 1, MPI_INT, MPI_MIN, comm) != MPI_SUCCESS) return L2H_ERR_IO;
    return (l2h_status)worst;
}

/* (dist, id) order with padding (dist < 0) last. */
static int hit_before(const shard_hit *a, const shard_hit *b)
{
    if (a->dist < 0) return 0;
    if (b->dist < 0) return 1;
    if (a->dist != b->dist) return a->dist < b->dist;
    return a->id < b->id;
}

/* inout[q] = the k first of merge(in[q], inout[q]), for every query of the block. */
static void merge_op(void *in_v, void *inout_v, int *len, MPI_Datatype *type)
{
    int bytes = 0;
    MPI_Type_size(*type, &bytes);
    const size_t k = (size_t)bytes / sizeof(shard_hit);
    const shard_hit *in = in_v;
    shard_hit *inout = inout_v;
    shard_hit tmp[256];
    shard_hit *buf = k <= 256 ? tmp : malloc(k * sizeof *buf);
    if (!buf) MPI_Abort(MPI_COMM_WORLD, 1); /* an operator cannot report failure */
    for (int q = 0; q < *len; q++) {
        const shard_hit *a = in + (size_t)q * k;
        shard_hit *b = inout + (size_t)q * k;
        size_t i = 0, j = 0;
        for (size_t o = 0; o < k; o++) buf[o] = hit_before(&a[i], &b[j]) ? a[i++] : b[j++];
        memcpy(b, buf, k * sizeof *buf);
    }
    if (buf != tmp) free(buf);
}

l2h_status shard_merge_topk(shard_hit *hits, size_t nq, size_t k, int root, MPI_Comm comm)
{
    if (nq == 0 || k == 0) return L2H_OK;
    if (k > (size_t)INT_MAX / sizeof(shard_hit) || nq > (size_t)INT_MAX) {
        fprintf(stderr, "l2h-mpi: k = %zu or a batch of %zu queries is too large for one message\n",
                k, nq);
        return L2H_ERR_ARG;
    }
    int rank = 0;
    MPI_Comm_rank(comm, &rank);
    MPI_Datatype row;
    MPI_Op op;
    MPI_Type_contiguous((int)(k * sizeof(shard_hit)), MPI_BYTE, &row);
    MPI_Type_commit(&row);
    MPI_Op_create(merge_op, 1, &op);
    const int rc = MPI_Reduce(rank == root ? MPI_IN_PLACE : hits, rank == root ? hits : NULL,
                              (int)nq, row, op, root, comm);
    MPI_Op_free(&op);
    MPI_Type_free(&row);
    return rc == MPI_SUCCESS ? L2H_OK : L2H_ERR_IO;
}

typedef struct range_hit {
    int64_t id;
    int32_t dist;
} range_hit;

static int range_cmp(const void *pa, const void *pb)
{
    const range_hit *a = pa, *b = pb;
    if (a->dist != b->dist) return a->dist < b->dist ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

l2h_status shard_gather_range(size_t nq, const size_t *lims, const l2h_id *ids,
                              const int32_t *dists, int root, MPI_Comm comm, size_t **out_lims,
                              l2h_id **out_ids, int32_t **out_dists)
{
    int rank = 0, size = 1;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    *out_lims = NULL;
    *out_ids = NULL;
    *out_dists = NULL;
    /* every rank's per-query counts, then its hits, as one int64 + one int32 stream */
    const size_t total = lims[nq];
    int ok = total <= (size_t)INT_MAX && nq <= (size_t)INT_MAX / (size_t)size;
    int all_ok = 0;
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, comm);
    if (!all_ok) {
        if (!ok) fprintf(stderr, "l2h-mpi: rank %d: %zu radius hits in one batch are too many\n",
                         rank, total);
        return L2H_ERR_ARG;
    }
    uint64_t *counts = malloc(nq * sizeof *counts + 1);
    int st_ok = counts != NULL;
    for (size_t q = 0; st_ok && q < nq; q++) counts[q] = (uint64_t)(lims[q + 1] - lims[q]);
    int n_mine = (int)total, *n_all = NULL, *displ = NULL;
    uint64_t *all_counts = NULL;
    int64_t *all_ids = NULL;
    int32_t *all_dists = NULL;
    if (rank == root) {
        n_all = malloc((size_t)size * sizeof *n_all);
        displ = malloc((size_t)size * sizeof *displ);
        all_counts = malloc((size_t)size * nq * sizeof *all_counts + 1);
        st_ok = st_ok && n_all && displ && all_counts;
    }
    MPI_Allreduce(MPI_IN_PLACE, &st_ok, 1, MPI_INT, MPI_MIN, comm);
    l2h_status st = st_ok ? L2H_OK : L2H_ERR_NOMEM;
    if (st == L2H_OK) {
        MPI_Gather(counts, (int)nq, MPI_UINT64_T, all_counts, (int)nq, MPI_UINT64_T, root, comm);
        MPI_Gather(&n_mine, 1, MPI_INT, n_all, 1, MPI_INT, root, comm);
        size_t grand = 0;
        if (rank == root) {
            for (int r = 0; r < size; r++) grand += (size_t)n_all[r];
            int fits = grand <= (size_t)INT_MAX;
            for (int r = 0, d = 0; fits && r < size; d += n_all[r], r++) displ[r] = d;
            all_ids = fits ? malloc(grand * sizeof *all_ids + 1) : NULL;
            all_dists = fits ? malloc(grand * sizeof *all_dists + 1) : NULL;
            st_ok = fits && all_ids && all_dists;
            if (!fits) fprintf(stderr, "l2h-mpi: %zu radius hits in one batch are too many\n", grand);
        }
        MPI_Bcast(&st_ok, 1, MPI_INT, root, comm);
        if (!st_ok) st = L2H_ERR_NOMEM;
    }
    if (st == L2H_OK) {
        MPI_Gatherv(ids, n_mine, MPI_INT64_T, all_ids, n_all, displ, MPI_INT64_T, root, comm);
        MPI_Gatherv(dists, n_mine, MPI_INT32_T, all_dists, n_all, displ, MPI_INT32_T, root, comm);
    }
    if (st == L2H_OK && rank == root) {
        size_t grand = 0;
        for (int r = 0; r < size; r++) grand += (size_t)n_all[r];
        size_t *ol = malloc((nq + 1) * sizeof *ol);
        l2h_id *oi = malloc(grand * sizeof *oi + 1);
        int32_t *od = malloc(grand * sizeof *od + 1);
        range_hit *tmp = malloc(grand * sizeof *tmp + 1);
        size_t *cursor = calloc((size_t)size, sizeof *cursor);
        if (!ol || !oi || !od || !tmp || !cursor) {
            free(ol), free(oi), free(od);
            st = L2H_ERR_NOMEM;
        } else {
            size_t o = 0;
            for (size_t q = 0; q < nq; q++) {
                ol[q] = o;
                for (int r = 0; r < size; r++) {
                    const size_t c = (size_t)all_counts[(size_t)r * nq + q];
                    const size_t at = (size_t)displ[r] + cursor[r];
                    for (size_t j = 0; j < c; j++)
                        tmp[o - ol[q] + j] = (range_hit){all_ids[at + j], all_dists[at + j]};
                    o += c;
                    cursor[r] += c;
                }
                qsort(tmp, o - ol[q], sizeof *tmp, range_cmp);
                for (size_t j = ol[q]; j < o; j++) {
                    oi[j] = tmp[j - ol[q]].id;
                    od[j] = tmp[j - ol[q]].dist;
                }
            }
            ol[nq] = o;
            *out_lims = ol;
            *out_ids = oi;
            *out_dists = od;
        }
        free(tmp);
        free(cursor);
    }
    free(counts);
    free(n_all);
    free(displ);
    free(all_counts);
    free(all_ids);
    free(all_dists);
    return st;
}

l2h_status shard_sum_ordered(float *v, size_t n, MPI_Comm comm)
{
    int rank = 0, size = 1;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    if (size == 1 || n == 0) return L2H_OK;
    if (n > (size_t)INT_MAX) {
        fprintf(stderr, "l2h-mpi: rank %d: %zu values are too many for one message\n", rank, n);
        return L2H_ERR_ARG;
    }
    int *sc = malloc(4 * (size_t)size * sizeof *sc);
    size_t mine_first, mine;
    shard_rows(n, rank, size, &mine_first, &mine);
    float *recv = malloc((size_t)size * mine * sizeof *recv + sizeof *recv);
    if (!sc || !recv) {
        free(sc);
        free(recv);
        fprintf(stderr, "l2h-mpi: rank %d: out of memory for the gradient reduction\n", rank);
        return L2H_ERR_NOMEM;
    }
    int *sd = sc + size, *rc = sd + size, *rd = rc + size;
    for (int r = 0; r < size; r++) {
        size_t f, c;
        shard_rows(n, r, size, &f, &c);
        sc[r] = (int)c; /* block r of v goes to rank r */
        sd[r] = (int)f;
        rc[r] = (int)mine; /* every rank's copy of my block, in rank order */
        rd[r] = (int)((size_t)r * mine);
    }
    int ok = MPI_Alltoallv(v, sc, sd, MPI_FLOAT, recv, rc, rd, MPI_FLOAT, comm) == MPI_SUCCESS;
    if (ok) {
        float *out = v + mine_first;
        for (size_t i = 0; i < mine; i++) {
            float s = recv[i];
            for (int r = 1; r < size; r++) s += recv[(size_t)r * mine + i];
            out[i] = s;
        }
        ok = MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_FLOAT, v, sc, sd, MPI_FLOAT, comm) == MPI_SUCCESS;
    }
    free(sc);
    free(recv);
    return ok ? L2H_OK : L2H_ERR_IO;
}
