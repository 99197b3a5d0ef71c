/* fuzz_file_codes.c -- libFuzzer target for the packed-codes .npy reader through the path
 * functions `l2h info`, `search --db/--queries`, `index build/add/replace --codes` and
 * `mi --codes` call (l2h_codes_npy_shape, then l2h_codes_read_npy). The in-memory .npy target
 * did not reach this reader's own header read, which had a heap overflow (issue 14, item 1). */
#include "fuzz_file.h"
#include "l2h/l2h.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file_write(data, size, ".npy");
    size_t n = 0, bytes = 0;
    const l2h_status st = l2h_codes_npy_shape(path, &n, &bytes);
    if (st != L2H_OK) {
        fuzz_file_check_failure(path, l2h_last_error());
        return 0;
    }
    if (bytes == 0 || n > size || n * bytes > size) abort(); /* shape bounded by the file */
    uint8_t *codes = malloc(n * bytes + 1);
    if (!codes) return 0;
    if (l2h_codes_read_npy(path, codes, n, bytes) != L2H_OK) abort();
    /* the data are the file's last n * bytes bytes */
    if (n * bytes != 0 && memcmp(codes, data + size - n * bytes, n * bytes) != 0) abort();
    /* a wrong expected shape is refused */
    if (l2h_codes_read_npy(path, codes, n + 1, bytes) == L2H_OK) abort();
    free(codes);
    return 0;
}
