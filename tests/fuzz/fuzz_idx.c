/* fuzz_idx.c -- libFuzzer target for the MNIST IDX reader, plain and gzip (the gzip path is
 * taken when the input starts with 1f 8b): features, with a row limit, and labels. */
#include "fuzz_io_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const size_t n = fuzz_read(data, size, "fuzz-ubyte", L2H_FORMAT_AUTO, 0, 0, 0);
    fuzz_read(data, size, "fuzz-ubyte", L2H_FORMAT_IDX, 0, 0, 1);
    fuzz_labels(data, size, "fuzz-ubyte", L2H_FORMAT_IDX, 0, n);
    return 0;
}
