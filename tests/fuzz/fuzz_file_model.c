/* fuzz_file_model.c -- libFuzzer target for l2h_model_load(path), the reader behind `l2h
 * encode`, `eval`, `mi` and `info MODEL`. Any file must be refused with a message naming it,
 * or give a model that encodes. */
#include "fuzz_file.h"
#include "l2h/l2h.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file_write(data, size, ".safetensors");
    l2h_model *m = NULL;
    if (l2h_model_load(&m, path) != L2H_OK) {
        if (m != NULL) abort();
        fuzz_file_check_failure(path, l2h_last_error());
        return 0;
    }
    const size_t dim = l2h_model_dim(m), bits = l2h_model_bits(m);
    if (dim == 0 || bits == 0) abort();
    if (dim <= 4096) {
        float *x = calloc(2 * dim, sizeof *x);
        uint8_t *c = calloc(2, (bits + 7) / 8);
        if (x && c) {
            for (size_t i = 0; i < 2 * dim; i++) x[i] = (float)((int)(i % 5) - 2) * 0.5f;
            const l2h_status st = l2h_model_encode(m, x, 2, c);
            if (st != L2H_OK && st != L2H_ERR_NUMERIC) abort();
        }
        free(x);
        free(c);
    }
    l2h_model_free(m);
    return 0;
}
