/* fuzz_arff.c -- libFuzzer target for the dense ARFF reader, with 0, 1 and 6 trailing label
 * attributes and with a row limit. */
#include "fuzz_io_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_read(data, size, "fuzz.arff", L2H_FORMAT_AUTO, 0, 0, 0);
    fuzz_read(data, size, "fuzz.arff", L2H_FORMAT_ARFF, 0, 1, 0);
    fuzz_read(data, size, "fuzz.arff", L2H_FORMAT_ARFF, 0, 6, 2);
    return 0;
}
