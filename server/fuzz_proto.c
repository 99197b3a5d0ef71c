/* fuzz_proto.c -- libFuzzer target for l2hd's request-body parsers (JSON and .npy batches),
 * the code every request body goes through. The first byte picks the parser and its options;
 * the rest is the body. Under the regression driver it runs over tests/fuzz/corpus/l2hd_proto. */
#include "proto.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const uint8_t mode = data[0];
    const uint8_t *body = data + 1;
    const size_t len = size - 1;
    const size_t dim = (mode & 0x30) == 0 ? 0 : (mode & 0x30) == 0x10 ? 2 : 4;
    const size_t code_bytes = (mode & 0x40) ? 1 : 0;
    proto_batch b;
    proto_error e;
    if (mode & 1) {
        /* JSON: the parser takes a length, no terminator needed; copy to an exact buffer so
         * ASan sees any read past the end */
        char *buf = malloc(len ? len : 1);
        if (!buf) return 0;
        memcpy(buf, body, len);
        if (proto_parse_batch_json(buf, len, dim, code_bytes, 1000, &b, &e) == 0) {
            for (size_t i = 0; b.x && i < b.n * b.dim; i++) (void)b.x[i];
            proto_batch_free(&b);
        }
        free(buf);
    } else {
        uint8_t *buf = malloc(len ? len : 1);
        if (!buf) return 0;
        memcpy(buf, body, len);
        if (proto_parse_batch_npy(buf, len, dim, code_bytes ? 8 : 0, (mode & 0x40) != 0,
                                  (mode & 2) != 0, (mode & 4) != 0, 1000, &b, &e) == 0)
            proto_batch_free(&b);
        proto_npy h;
        (void)proto_npy_header(buf, len, &h, &e);
        free(buf);
    }
    return 0;
}
