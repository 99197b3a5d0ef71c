/* mpi_shard.h -- the pieces of sharded work over MPI that do not depend on the job: which rows a
 * rank owns, agreeing on failure without hanging, and merging per-rank results so that the
 * answer is the single-process answer.
 *
 * Uses the public l2h API and MPI only. */
#ifndef L2H_MPI_SHARD_H
#define L2H_MPI_SHARD_H

#include <l2h/l2h.h>
#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

/* Rows [*first, *first + *count) of n owned by `rank` of `size`: contiguous blocks, the first
 * n % size ranks one row longer. */
void shard_rows(size_t n, int rank, int size, size_t *first, size_t *count);

/* Every rank calls this after a step that may fail locally (reading its shard, say). A rank whose
 * `st` is not L2H_OK prints "l2h-mpi: rank R: <what>: <l2h_last_error()>" to stderr. Returns the
 * worst status over all ranks, the same on every rank, so that all ranks stop together instead of
 * leaving the others blocked in the next collective. what = NULL: the rank printed its own message. */
l2h_status shard_agree(l2h_status st, const char *what, MPI_Comm comm);

/* One k-NN hit as it travels between ranks: the order is (dist, id) with dist = -1 (padding)
 * after every real hit. */
typedef struct shard_hit {
    int64_t id;
    int32_t dist;
    int32_t pad_; /* zero; keeps the struct 16 bytes with no indeterminate bytes on the wire */
} shard_hit;

/* Merges the per-rank top-k lists hits[nq * k] (each query's k hits sorted by (dist, id), padded
 * at the end) into the global top k on `root`, by MPI_Reduce with a merge operator: the result is
 * the k smallest of the union in (dist, id) order, which is what one process searching the whole
 * database returns, whatever the reduction tree. On root, hits holds the result. */
l2h_status shard_merge_topk(shard_hit *hits, size_t nq, size_t k, int root, MPI_Comm comm);

/* Gathers per-rank radius results to root and orders each query's hits by (dist, id).
 * lims[nq + 1], ids, dists describe this rank's results (l2h_range_result layout). On root,
 * *out_lims (nq + 1), *out_ids and *out_dists are malloc'ed and hold the merged result; elsewhere
 * they are NULL. */
l2h_status shard_gather_range(size_t nq, const size_t *lims, const l2h_id *ids,
                              const int32_t *dists, int root, MPI_Comm comm, size_t **out_lims,
                              l2h_id **out_ids, int32_t **out_dists);

/* v[n] = the sum of every rank's v[n], the same bits on every rank, added in rank order
 * (v_0 + v_1 + ... + v_{N-1}) whatever the reduction tree, so a run is repeatable for a given
 * number of ranks (MPI_Allreduce fixes no order). Each rank sums one block of the elements
 * (MPI_Alltoallv) and the blocks are shared (MPI_Allgatherv): 2·(N−1)/N·n floats per rank
 * each way, as a reduce-scatter + all-gather. n must fit an int (L2H_ERR_ARG otherwise). */
l2h_status shard_sum_ordered(float *v, size_t n, MPI_Comm comm);

#endif
