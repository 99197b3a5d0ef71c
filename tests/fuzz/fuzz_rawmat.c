/* fuzz_rawmat.c -- libFuzzer target for the headerless float32 / float16 / uint8 readers. The
 * first byte chooses the row length (1..16); the rest is the matrix, read in each element type,
 * with a row limit, and as uint8 labels (row length given and inferred). */
#include "fuzz_io_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    const size_t dim = 1 + data[0] % 16;
    data++;
    size--;
    fuzz_read(data, size, "fuzz.f32", L2H_FORMAT_AUTO, dim, 0, 0);
    fuzz_read(data, size, "fuzz.f16", L2H_FORMAT_AUTO, dim, 0, 0);
    const size_t n = fuzz_read(data, size, "fuzz.u8", L2H_FORMAT_AUTO, dim, 0, 3);
    fuzz_labels(data, size, "fuzz.u8", L2H_FORMAT_U8, dim, n);
    fuzz_labels(data, size, "fuzz.u8", L2H_FORMAT_U8, 0, size / dim);
    return 0;
}
