/* fuzz_online_load.c -- libFuzzer target for the online checkpoint loader through its file
 * entry point (l2h_online_load on a file holding the input). Any input must be refused cleanly
 * (no handle, a message naming the file) or give a handle that (a) saves again and loads back
 * to a handle whose checkpoint file is byte-identical, and (b) without a table, keeps learning
 * from pushed items (or reports a numeric failure). */
#include "l2h/l2h.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int write_file(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    const int ok = fwrite(data, 1, size, f) == size;
    return fclose(f) == 0 && ok;
}

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    const long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
    *len = b ? fread(b, 1, (size_t)n, f) : 0;
    fclose(f);
    return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char in[64], a[64], b[64];
    snprintf(in, sizeof in, "/tmp/l2h_fuzz_ckpt_%ld.in", (long)getpid());
    snprintf(a, sizeof a, "/tmp/l2h_fuzz_ckpt_%ld.a", (long)getpid());
    snprintf(b, sizeof b, "/tmp/l2h_fuzz_ckpt_%ld.b", (long)getpid());
    if (!write_file(in, data, size)) abort();
    l2h_online *o = NULL;
    if (l2h_online_load(&o, in) != L2H_OK) {
        if (o != NULL) abort(); /* a failed load must not hand out a handle */
        if (strncmp(l2h_last_error(), in, strlen(in)) != 0 &&
            strncmp(l2h_last_error(), "out of memory", 13) != 0)
            abort(); /* input errors name the file */
        (void)remove(in);
        return 0;
    }
    /* round trip: save, load, save again -> the same bytes */
    l2h_online *again = NULL;
    if (l2h_online_save(o, a) != L2H_OK) abort();
    if (l2h_online_load(&again, a) != L2H_OK) abort();
    if (l2h_online_save(again, b) != L2H_OK) abort();
    size_t la = 0, lb = 0;
    uint8_t *ba = read_all(a, &la), *bb = read_all(b, &lb);
    if (!ba || !bb || la != lb || memcmp(ba, bb, la) != 0) abort();
    free(ba);
    free(bb);
    /* the loaded mapping encodes and, without a table, keeps learning */
    const size_t dim = l2h_online_dim(o), bits = l2h_online_bits(o);
    if (dim == 0 || bits == 0 || bits > L2H_MAX_BITS) abort();
    if (dim <= 4096) {
        enum { ROWS = 4 };
        float *x = calloc(ROWS * dim, sizeof *x);
        int32_t y[ROWS] = {0, 1, 0, 1};
        uint8_t *c = calloc(ROWS, l2h_code_bytes(bits));
        for (size_t i = 0; i < ROWS * dim; i++) x[i] = (float)((int)(i % 7) - 3) * 0.25f;
        const l2h_status se = l2h_online_encode(o, x, ROWS, c);
        if (se != L2H_OK && se != L2H_ERR_NUMERIC) abort();
        if (l2h_online_index(o) == NULL) {
            l2h_online_params p;
            if (l2h_online_get_params(o, &p) != L2H_OK) abort();
            l2h_status sp = l2h_online_push(o, x, y, ROWS, NULL);
            if (sp == L2H_ERR_ARG) sp = l2h_online_push(o, x, NULL, ROWS, NULL); /* mode */
            if (sp != L2H_OK && sp != L2H_ERR_NUMERIC && sp != L2H_ERR_ARG) abort();
        }
        free(x);
        free(c);
    }
    l2h_online_free(again);
    l2h_online_free(o);
    (void)remove(in);
    (void)remove(a);
    (void)remove(b);
    return 0;
}
