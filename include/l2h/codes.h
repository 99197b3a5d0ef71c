/* SPDX-License-Identifier: MIT (see LICENSE) */
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

/* Hamming distance between two packed codes of `bits` bits. Bits beyond `bits` in the last byte
 * are ignored (here and in every function taking packed codes). Returns 0 if a pointer is NULL
 * or bits is outside 1..L2H_MAX_BITS. Portable code; use l2h_hamming_many for many codes. */
L2H_API uint32_t l2h_hamming(const uint8_t *a, const uint8_t *b, size_t bits);

/* Distances from one packed query to n packed codes[n, l2h_code_bytes(bits)]: out[n]. Uses the
 * dispatched kernel. Errors: L2H_ERR_ARG (bits, NULL buffers), L2H_ERR_NOMEM, and the kernel
 * errors of l2h_hamming_kernel(). Thread-safe. */
L2H_API L2H_NODISCARD l2h_status l2h_hamming_many(const uint8_t *query, const uint8_t *codes,
                                                  size_t n, size_t bits, int32_t *out);

/* Name of the kernel in use: "portable" (any CPU), "popcnt", "avx2" or "avx512-vpopcntdq"; by
 * default the fastest one this CPU supports, chosen at run time (the library is not compiled
 * for a particular CPU). The environment variable L2H_KERNEL (same names, or "auto") forces a
 * kernel; if it names an unknown kernel or one this CPU cannot run, this returns
 * "invalid (see L2H_KERNEL)" and Hamming and index searches fail with L2H_ERR_ARG or
 * L2H_ERR_UNSUPPORTED instead of silently running another kernel. */
L2H_API const char *l2h_hamming_kernel(void);
/* Force a kernel by name (tests, benchmarks); "auto" = fastest supported; NULL restores the
 * default choice (re-reading L2H_KERNEL). L2H_ERR_ARG for an unknown name, L2H_ERR_UNSUPPORTED
 * if this CPU cannot run it. Process-wide; do not call while searches run on other threads. */
L2H_API L2H_NODISCARD l2h_status l2h_hamming_set_kernel(const char *name);

#ifdef __cplusplus
}
#endif
#endif
