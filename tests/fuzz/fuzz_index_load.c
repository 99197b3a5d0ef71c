/* fuzz_index_load.c -- libFuzzer target for the index file parser (l2h_index_load_mem). Any
 * input must be refused cleanly or give an index that can be searched without crashing. Each
 * input is tried as is and once more with its trailing CRC-32 recomputed, so that mutations get
 * past the checksum and reach the checks behind it. */
#include "l2h/index.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void try_load(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    try_load(data, size);
    if (size >= 8 && size < ((size_t)1 << 30)) {
        uint8_t *copy = malloc(size);
        if (!copy) return 0;
        memcpy(copy, data, size);
        const uint32_t c = (uint32_t)crc32(0L, copy, (uInt)(size - 4));
        for (int i = 0; i < 4; i++) copy[size - 4 + i] = (uint8_t)(c >> (8 * i));
        try_load(copy, size);
        free(copy);
    }
    return 0;
}

static void try_load(const uint8_t *data, size_t size)
{
    l2h_index *ix = NULL;
    if (l2h_index_load_mem(&ix, data, size, "fuzz") != L2H_OK) {
        if (ix != NULL) abort(); /* a failed load must not hand out a handle */
        return;
    }
    const size_t bits = l2h_index_bits(ix);
    uint8_t q[2 * 128];
    memset(q, 0, sizeof q);
    memcpy(q + 128, data, size < 128 ? size : 128);
    int32_t dist[2 * 5];
    l2h_id ids[2 * 5];
    const size_t bytes = (bits + 7) / 8;
    uint8_t qq[2 * 128];
    memcpy(qq, q, bytes);
    memcpy(qq + bytes, q + 128, bytes);
    if (l2h_index_search(ix, qq, 2, 5, dist, ids) == L2H_OK) {
        for (size_t i = 0; i < 10; i++)
            if ((ids[i] < 0) != (dist[i] < 0) || dist[i] > (int32_t)bits) abort();
    }
    l2h_range_result *r = NULL;
    if (l2h_index_range_search(ix, qq, 2, 3, &r) == L2H_OK) {
        const size_t *lims = l2h_range_result_lims(r);
        if (lims[0] != 0 || lims[2] < lims[1]) abort();
    }
    l2h_range_result_free(r);
    l2h_index_free(ix);
}
