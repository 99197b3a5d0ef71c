/* l2h/codes.h -- packed binary codes and Hamming distance.
 *
 * Layout (the same bytes FAISS uses): a code of `bits` bits occupies l2h_code_bytes(bits) =
 * ceil(bits/8) bytes; bit j lives in byte j/8 at bit position j%8 (least significant first).
 * Unused high bits of the last byte are zero. Code lengths from 1 to L2H_MAX_BITS are accepted;
 * the papers' lengths are 8..256. Internally (index, evaluation) rows are padded with zero
 * bytes to whole 64-bit words so the popcount kernels read uint64_t words. */
#ifndef L2H_CODES_H
#define L2H_CODES_H

#include "l2h/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define L2H_MAX_BITS 1024

/* ceil(bits / 8): bytes of one packed code. */
L2H_API size_t l2h_code_bytes(size_t bits);
/* ceil(bits / 64): 64-bit words of one padded code. */
L2H_API size_t l2h_code_words(size_t bits);

/* Binarise n rows of `bits` real outputs z[n, bits] into packed codes out[n, l2h_code_bytes]:
 * bit = 1 iff z > 0 (zero and NaN give 0; NaN is rejected with L2H_ERR_NUMERIC). */
L2H_API L2H_NODISCARD l2h_status l2h_codes_pack(const float *z, size_t n, size_t bits,
                                                uint8_t *out);
/* Inverse for inspection: out[n, bits] = +1 / -1. */
L2H_API L2H_NODISCARD l2h_status l2h_codes_unpack(const uint8_t *codes, size_t n, size_t bits,
                                                  float *out);

/* Hamming distance between two packed codes of `bits` bits. */
L2H_API uint32_t l2h_hamming(const uint8_t *a, const uint8_t *b, size_t bits);

/* Distances from one packed query to n packed codes: out[n]. Uses the dispatched kernel. */
L2H_API L2H_NODISCARD l2h_status l2h_hamming_many(const uint8_t *query, const uint8_t *codes,
                                                  size_t n, size_t bits, int32_t *out);

/* Name of the kernel chosen for this CPU: "portable", "popcnt", "avx2" or "avx512-vpopcntdq".
 * The environment variable L2H_KERNEL (same names) forces a kernel if the CPU supports it. */
L2H_API const char *l2h_hamming_kernel(void);
/* Force a kernel by name (tests, benchmarks); NULL restores automatic choice.
 * L2H_ERR_UNSUPPORTED if this CPU cannot run it. Not thread-safe against running searches. */
L2H_API L2H_NODISCARD l2h_status l2h_hamming_set_kernel(const char *name);

#ifdef __cplusplus
}
#endif
#endif
