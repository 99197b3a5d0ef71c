/* fuzz_npy.c -- libFuzzer target for the .npy reader (header dictionary parser, dtypes, shapes,
 * data size) through l2h_dataset_read_mem and l2h_dataset_read_labels_mem. */
#include "fuzz_io_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const size_t n = fuzz_read(data, size, "fuzz.npy", L2H_FORMAT_AUTO, 0, 0, 0);
    fuzz_read(data, size, "fuzz.npy", L2H_FORMAT_NPY, 0, 0, 1);
    fuzz_labels(data, size, "fuzz.npy", L2H_FORMAT_NPY, 0, n);
    return 0;
}
