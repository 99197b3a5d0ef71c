/* hamming_internal.h -- padded code layouts and the dispatched Hamming kernels, shared by the
 * codes, index and eval modules.
 *
 * Two internal layouts, both built from 64-bit words with ZERO padding bits (query and database
 * alike, so padding never contributes to a distance):
 *
 *  - row-major padded: code i is words[i * W .. i * W + W - 1], W = l2h_code_words(bits);
 *    word w holds bytes 8w .. 8w+7 of the packed code, little-endian (bit j of the code is bit
 *    j % 64 of word j / 64). Made by l2h_codes_pad().
 *  - interleaved by 8 ("group" layout, used by the index): codes are grouped 8 at a time; group g
 *    holds W * 8 words and word w of code 8g + l sits at [(g * W + w) * 8 + l]. Lanes of a last,
 *    partial group are zero. With W = 1 this is the same as row-major. Vector kernels then read
 *    word w of 8 codes with one 512-bit load and sum distances with vertical adds only.
 *
 * Kernels: "portable" (SWAR popcount, any CPU), "popcnt" (scalar POPCNT), "avx2" (nibble LUT
 * with vpshufb + vpsadbw), "avx512-vpopcntdq" (VPOPCNTQ on 8 codes per instruction). The choice
 * is made once (best for the CPU, or $L2H_KERNEL), or forced by l2h_hamming_set_kernel(). */
#ifndef L2H_HAMMING_INTERNAL_H
#define L2H_HAMMING_INTERNAL_H

#include "core.h"
#include "l2h/codes.h"

#define L2H_MAX_WORDS (L2H_MAX_BITS / 64)

/* A candidate emitted by a filter kernel: position j (relative to the codes pointer given to the
 * kernel) and its distance d. */
typedef struct l2h_cand {
    uint32_t j;
    int32_t d;
} l2h_cand;

/* Smallest `cap` a filter kernel accepts: it emits at most this many per inner step. */
#define L2H_FILTER_MIN_CAP 64

/* Row-major scan: out[i] = distance(q, codes[i]) for i < n. q[W], codes[n, W] (padded). */
typedef void (*l2h_hamming_scan_fn)(const uint64_t *restrict q, const uint64_t *restrict codes,
                                    size_t n, size_t words, int32_t *restrict out);

/* Interleaved filter: scans codes begin .. n-1 of `codes` (group layout, begin % 8 == 0) and
 * appends {j, d} to out[*n_out ..] for every code with d <= thr, in increasing j. It stops early,
 * at a group boundary, when fewer than L2H_FILTER_MIN_CAP free slots remain, and returns the
 * position where it stopped (n when done); call again from there after draining `out`.
 * Requires cap >= L2H_FILTER_MIN_CAP and n < 2^32. */
typedef size_t (*l2h_hamming_filter_fn)(const uint64_t *restrict q,
                                        const uint64_t *restrict codes, size_t words,
                                        size_t begin, size_t n, int32_t thr,
                                        l2h_cand *restrict out, size_t cap, size_t *n_out);

typedef struct l2h_hamming_kernels {
    const char *name;
    int (*supported)(void); /* nonzero if this CPU (and OS) can run it */
    l2h_hamming_scan_fn scan;
    l2h_hamming_filter_fn filter;
} l2h_hamming_kernels;

/* The kernel in use. Fails (L2H_ERR_UNSUPPORTED or L2H_ERR_ARG) only when $L2H_KERNEL names an
 * unknown kernel or one this CPU lacks. Thread-safe; cheap after the first call. */
l2h_status l2h_hamming_active(const l2h_hamming_kernels **out);

/* Every kernel compiled in, supported here or not (tests iterate them): i < count. */
size_t l2h_hamming_kernel_count(void);
const l2h_hamming_kernels *l2h_hamming_kernel_at(size_t i);

/* Per-kernel tables (one file each). */
extern const l2h_hamming_kernels l2h_hamming_portable;
extern const l2h_hamming_kernels l2h_hamming_popcnt;
extern const l2h_hamming_kernels l2h_hamming_avx2;
extern const l2h_hamming_kernels l2h_hamming_avx512;

/* Mask of the valid bits in the last word of a `bits`-bit code (all ones if bits % 64 == 0). */
static inline uint64_t l2h_last_word_mask(size_t bits)
{
    const unsigned r = (unsigned)(bits % 64);
    return r ? (((uint64_t)1 << r) - 1) : ~(uint64_t)0;
}

/* Packed bytes -> row-major padded words: out[n, W]. Bits beyond `bits` in the input (high bits
 * of the last byte) are ignored, i.e. cleared. */
void l2h_codes_pad(const uint8_t *restrict codes, size_t n, size_t bits, uint64_t *restrict out);
/* Row-major padded words -> packed bytes: out[n, l2h_code_bytes(bits)]. */
void l2h_codes_unpad(const uint64_t *restrict padded, size_t n, size_t bits,
                     uint8_t *restrict out);

/* Packed bytes of codes [0, n) -> group layout, writing rows first .. first+n-1 of `groups`
 * (which must hold ceil((first + n) / 8) groups; lanes not written are left as they are). */
void l2h_codes_to_groups(const uint8_t *restrict codes, size_t n, size_t bits,
                         uint64_t *restrict groups, size_t first);
/* Group layout rows first .. first+n-1 -> packed bytes out[n, l2h_code_bytes(bits)]. */
void l2h_codes_from_groups(const uint64_t *restrict groups, size_t first, size_t n, size_t bits,
                           uint8_t *restrict out);

/* Distance matrix out[nq, n] between padded queries q[nq, W] and padded codes[n, W], blocked so
 * a slice of codes stays in cache while all queries scan it. Serial (callers parallelise). */
void l2h_hamming_cross(const l2h_hamming_kernels *kt, const uint64_t *q, size_t nq,
                       const uint64_t *codes, size_t n, size_t words, int32_t *out);

#endif
