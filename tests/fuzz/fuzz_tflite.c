/* fuzz_tflite.c -- libFuzzer target for the .tflite reader and the network builder through
 * l2h_cnn_load_memory (what l2h_cnn_load runs on the file's bytes). Any input must be refused
 * cleanly (no handle, a message naming the buffer) or give a network that runs: small ones are
 * run on a grey image with the fast kernels and the references, which must agree. */
#include "l2h/image.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    l2h_cnn *net = NULL;
    if (l2h_cnn_load_memory(data, size, "fuzz", &net) != L2H_OK) {
        if (net != NULL) abort();
        if (strncmp(l2h_last_error(), "fuzz", 4) != 0 &&
            strncmp(l2h_last_error(), "out of memory", 13) != 0)
            abort();
        return 0;
    }
    const size_t side = l2h_cnn_input_size(net), dim = l2h_cnn_feature_dim(net);
    if (side == 0 || dim == 0) abort();
    if (l2h_cnn_macs(net) < 2e6 && side <= 64) {
        uint8_t *in = malloc(side * side * 3), *a = malloc(dim), *b = malloc(dim);
        for (size_t i = 0; i < side * side * 3; i++) in[i] = (uint8_t)(i * 37);
        if (l2h_cnn_run(net, in, 1, a) != L2H_OK) abort();
        if (l2h_cnn_run_reference(net, in, 1, b) != L2H_OK) abort();
        if (memcmp(a, b, dim) != 0) abort();
        free(in);
        free(a);
        free(b);
    }
    l2h_cnn_free(net);
    return 0;
}
