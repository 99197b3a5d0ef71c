/* fuzz_file_index.c -- libFuzzer target for l2h_index_load(path), the reader behind `l2h search
 * --index`, `l2h index add|remove|replace|info` and `l2h info`. Any file must be refused with a
 * message naming it, or give an index that searches and saves again to a file that loads. */
#include "fuzz_file.h"
#include "l2h/l2h.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file_write(data, size, ".l2hi");
    l2h_index *ix = NULL;
    if (l2h_index_load(&ix, path) != L2H_OK) {
        if (ix != NULL) abort();
        fuzz_file_check_failure(path, l2h_last_error());
        return 0;
    }
    const size_t bits = l2h_index_bits(ix), bytes = (bits + 7) / 8;
    if (bits == 0 || bytes > 128 || l2h_index_size(ix) > size) abort();
    uint8_t q[128] = {0};
    memcpy(q, data, size < bytes ? size : bytes);
    int32_t dist[4];
    l2h_id ids[4];
    if (l2h_index_search(ix, q, 1, 4, dist, ids) == L2H_OK)
        for (int i = 0; i < 4; i++)
            if ((ids[i] < 0) != (dist[i] < 0) || dist[i] > (int32_t)bits) abort();
    /* saving to the same path and loading again gives the same size */
    const size_t n = l2h_index_size(ix);
    if (l2h_index_save(ix, path) != L2H_OK) abort();
    l2h_index_free(ix);
    ix = NULL;
    if (l2h_index_load(&ix, path) != L2H_OK || l2h_index_size(ix) != n) abort();
    l2h_index_free(ix);
    return 0;
}
