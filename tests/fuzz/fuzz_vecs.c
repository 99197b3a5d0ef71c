/* fuzz_vecs.c -- libFuzzer target for the .fvecs / .ivecs / .bvecs readers: the same bytes are
 * read as each of the three, as features, with a row limit, and as labels. */
#include "fuzz_io_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_read(data, size, "fuzz.fvecs", L2H_FORMAT_AUTO, 0, 0, 0);
    fuzz_read(data, size, "fuzz.fvecs", L2H_FORMAT_FVECS, 0, 0, 2);
    const size_t ni = fuzz_read(data, size, "fuzz.ivecs", L2H_FORMAT_AUTO, 0, 0, 0);
    const size_t nb = fuzz_read(data, size, "fuzz.bvecs", L2H_FORMAT_AUTO, 0, 0, 0);
    fuzz_labels(data, size, "fuzz.ivecs", L2H_FORMAT_IVECS, 0, ni);
    fuzz_labels(data, size, "fuzz.bvecs", L2H_FORMAT_BVECS, 0, nb);
    return 0;
}
