/* fuzz_model_load.c -- libFuzzer target for the model file parser (l2h_model_load_mem, which
 * runs the safetensors container checks and then the model's own). Any input must be refused
 * cleanly (no handle, a message naming the file) or give a model that encodes, whose file
 * written again loads to a model with the same codes. */
#include "l2h/l2h.h"
#include "model_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    l2h_model *m = NULL;
    if (l2h_model_load_mem(&m, data, size, "fuzz") != L2H_OK) {
        if (m != NULL) abort(); /* a failed load must not hand out a handle */
        if (strncmp(l2h_last_error(), "fuzz", 4) != 0 &&
            strncmp(l2h_last_error(), "out of memory", 13) != 0)
            abort(); /* input errors name the file */
        return 0;
    }
    const size_t dim = l2h_model_dim(m), bits = l2h_model_bits(m);
    if (dim == 0 || bits == 0 || bits > L2H_MAX_BITS) abort();
    if (dim > 4096) { /* keep each run fast */
        l2h_model_free(m);
        return 0;
    }
    enum { ROWS = 3 };
    float *x = calloc(ROWS * dim, sizeof *x);
    uint8_t *c0 = calloc(ROWS, l2h_code_bytes(bits)), *c1 = calloc(ROWS, l2h_code_bytes(bits));
    for (size_t i = 0; i < ROWS * dim; i++) x[i] = (float)((int)(i % 7) - 3) * 0.25f;
    const l2h_status s0 = l2h_model_encode(m, x, ROWS, c0);
    if (s0 != L2H_OK && s0 != L2H_ERR_NUMERIC) abort(); /* overflow to NaN is the only excuse */
    uint8_t *buf = NULL;
    size_t len = 0;
    if (l2h_model_to_mem(m, &buf, &len) == L2H_OK) {
        l2h_model *again = NULL;
        if (l2h_model_load_mem(&again, buf, len, "again") != L2H_OK) abort();
        const l2h_status s1 = l2h_model_encode(again, x, ROWS, c1);
        if (s1 != s0) abort();
        if (s0 == L2H_OK && memcmp(c0, c1, ROWS * l2h_code_bytes(bits)) != 0) abort();
        if (strcmp(l2h_model_method(again), l2h_model_method(m)) != 0) abort();
        l2h_model_free(again);
        l2h_free(buf);
    }
    free(x);
    free(c0);
    free(c1);
    l2h_model_free(m);
    return 0;
}
