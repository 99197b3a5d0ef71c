/* index_flat.c -- L2H_INDEX_FLAT: exact search by scanning every code (index_scan.c). It keeps
 * nothing beyond the common storage, so it has no init/destroy/added hooks. */
#include "index_internal.h"

static l2h_status flat_search(const l2h_index *ix, const uint64_t *q, size_t nq, size_t k,
                              int32_t *dist, l2h_id *ids)
{
    return l2h_scan_knn(ix, q, nq, k, dist, ids);
}

static l2h_status flat_range(const l2h_index *ix, const uint64_t *q, size_t nq, int32_t radius,
                             l2h_range_result *res)
{
    return l2h_scan_range(ix, q, nq, radius, res);
}

const l2h_index_ops l2h_index_flat_ops = {
    .name = "flat",
    .init = NULL,
    .destroy = NULL,
    .added = NULL,
    .search = flat_search,
    .range_search = flat_range,
};
