/* fuzz_idx.c -- libFuzzer target for the MNIST IDX reader, plain and gzip (the gzip path is
 * taken when the input starts with 1f 8b): features, with a row limit, and labels. The input is
 * also gzip-compressed here and read again, so the checks behind a valid gzip stream (declared
 * size against decompressed size, growth of the output buffer) see arbitrary IDX contents, which
 * mutating compressed bytes alone almost never produces. */
#include "fuzz_io_check.h"

#include <zlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void run(const uint8_t *data, size_t size)
{
    const size_t n = fuzz_read(data, size, "fuzz-ubyte", L2H_FORMAT_AUTO, 0, 0, 0);
    fuzz_read(data, size, "fuzz-ubyte", L2H_FORMAT_IDX, 0, 0, 1);
    fuzz_labels(data, size, "fuzz-ubyte", L2H_FORMAT_IDX, 0, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    run(data, size);
    if (size > (1u << 16) || (size >= 2 && data[0] == 0x1f && data[1] == 0x8b)) return 0;
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return 0;
    const size_t cap = deflateBound(&zs, (uLong)size) + 64;
    uint8_t *gz = malloc(cap);
    if (gz) {
        zs.next_in = (Bytef *)(uintptr_t)data;
        zs.avail_in = (uInt)size;
        zs.next_out = gz;
        zs.avail_out = (uInt)cap;
        if (deflate(&zs, Z_FINISH) == Z_STREAM_END) run(gz, cap - zs.avail_out);
        free(gz);
    }
    deflateEnd(&zs);
    return 0;
}
