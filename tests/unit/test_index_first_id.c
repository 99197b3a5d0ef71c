/* test_index_first_id.c -- an index whose rows do not hold ids equal to their row numbers must
 * return the ids it was given, also when only one code was added: a one-code index with id 100
 * used to answer a query that is not its code with id 0 (the row), because the store took a first
 * id as "sequential" whatever its value (found by l2h-mpi's per-rank shard files, one holding a
 * single row). Flat and MIH, k-NN and radius, one and several queries. */
#include "check.h"

#include "l2h/l2h.h"

#include <string.h>

static void one_kind(l2h_index_kind kind)
{
    for (size_t n = 1; n <= 3; n++) {
        l2h_index_params p = l2h_index_default_params(64);
        p.kind = kind;
        l2h_index *ix = NULL;
        CHECK_OK(l2h_index_create(&ix, &p));
        uint8_t codes[3 * 8];
        memset(codes, 0, sizeof codes);
        codes[8 + 1] = 1; /* code 1 differs from codes 0 and 2 in one bit */
        const l2h_id ids[3] = {100, 101, 102};
        CHECK_OK(l2h_index_add(ix, codes, ids, n));
        uint8_t q[2 * 8];
        memset(q, 0, sizeof q);
        q[8 + 3] = 0x80; /* query 1 matches no code exactly */
        int32_t d[2 * 4];
        l2h_id got[2 * 4];
        CHECK_OK(l2h_index_search(ix, q, 2, 4, d, got));
        for (size_t qi = 0; qi < 2; qi++)
            for (size_t j = 0; j < 4; j++) {
                const l2h_id id = got[qi * 4 + j];
                CHECK(j < n ? id >= 100 && id < 100 + (l2h_id)n : id == -1);
            }
        CHECK_EQ_I(got[4], 100); /* query 1: distance 1 from codes 0 and 2, ties by id */
        l2h_range_result *r = NULL;
        CHECK_OK(l2h_index_range_search(ix, q, 2, 64, &r));
        const size_t *lims = l2h_range_result_lims(r);
        const l2h_id *rid = l2h_range_result_ids(r);
        CHECK_EQ_I(lims[2] - lims[1], n);
        for (size_t j = 0; j < lims[2]; j++) CHECK(rid[j] >= 100 && rid[j] < 100 + (l2h_id)n);
        l2h_range_result_free(r);
        l2h_index_free(ix);
    }
}

int main(void)
{
    one_kind(L2H_INDEX_FLAT);
    one_kind(L2H_INDEX_MIH);
    return check_report();
}
