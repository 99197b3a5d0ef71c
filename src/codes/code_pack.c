/* code_pack.c -- packing real outputs into codes, code sizes, the padded internal layouts and
 * the public single-pair / one-to-many Hamming functions.
 *
 * Bit j of a packed code is bit j % 8 of byte j / 8 (LSB first). Padded words are read
 * little-endian from the bytes, so bit j is also bit j % 64 of word j / 64. */
#include "hamming_internal.h"

#include <math.h>
#include <string.h>

size_t l2h_code_bytes(size_t bits)
{
    return bits / 8 + (bits % 8 != 0);
}

size_t l2h_code_words(size_t bits)
{
    return bits / 64 + (bits % 64 != 0);
}

static l2h_status check_bits(size_t bits)
{
    L2H_FAIL_IF(bits == 0 || bits > L2H_MAX_BITS, L2H_ERR_ARG,
                "code length %zu bits outside 1..%d", bits, L2H_MAX_BITS);
    return L2H_OK;
}

l2h_status l2h_codes_pack(const float *z, size_t n, size_t bits, uint8_t *out)
{
    L2H_TRY(check_bits(bits));
    if (n == 0) return L2H_OK;
    L2H_FAIL_IF(z == NULL || out == NULL, L2H_ERR_ARG, "l2h_codes_pack: NULL buffer");
    const size_t bytes = l2h_code_bytes(bits);
    size_t total;
    L2H_FAIL_IF(!l2h_mul_ok(n, bits, &total), L2H_ERR_ARG, "l2h_codes_pack: n * bits overflows");
    for (size_t i = 0; i < n; i++) {
        const float *row = z + i * bits;
        uint8_t *dst = out + i * bytes;
        memset(dst, 0, bytes);
        for (size_t j = 0; j < bits; j++) {
            const float v = row[j];
            L2H_FAIL_IF(isnan(v), L2H_ERR_NUMERIC, "l2h_codes_pack: NaN at row %zu, bit %zu", i, j);
            if (v > 0.0f) dst[j / 8] = (uint8_t)(dst[j / 8] | (1u << (j % 8)));
        }
    }
    return L2H_OK;
}

l2h_status l2h_codes_unpack(const uint8_t *codes, size_t n, size_t bits, float *out)
{
    L2H_TRY(check_bits(bits));
    if (n == 0) return L2H_OK;
    L2H_FAIL_IF(codes == NULL || out == NULL, L2H_ERR_ARG, "l2h_codes_unpack: NULL buffer");
    size_t total;
    L2H_FAIL_IF(!l2h_mul_ok(n, bits, &total), L2H_ERR_ARG,
                "l2h_codes_unpack: n * bits overflows");
    const size_t bytes = l2h_code_bytes(bits);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *src = codes + i * bytes;
        float *row = out + i * bits;
        for (size_t j = 0; j < bits; j++) row[j] = ((src[j / 8] >> (j % 8)) & 1u) ? 1.0f : -1.0f;
    }
    return L2H_OK;
}

/* Word w of a packed code (bytes 8w .. min(8w + 8, bytes) - 1), little-endian. */
static inline uint64_t load_word(const uint8_t *code, size_t bytes, size_t w)
{
    const size_t off = 8 * w;
    const size_t len = bytes - off < 8 ? bytes - off : 8;
    uint64_t v = 0;
    for (size_t b = 0; b < len; b++) v |= (uint64_t)code[off + b] << (8 * b);
    return v;
}

static inline void store_word(uint8_t *code, size_t bytes, size_t w, uint64_t v)
{
    const size_t off = 8 * w;
    const size_t len = bytes - off < 8 ? bytes - off : 8;
    for (size_t b = 0; b < len; b++) code[off + b] = (uint8_t)(v >> (8 * b));
}

void l2h_codes_pad(const uint8_t *restrict codes, size_t n, size_t bits, uint64_t *restrict out)
{
    const size_t bytes = l2h_code_bytes(bits), words = l2h_code_words(bits);
    const uint64_t last = l2h_last_word_mask(bits);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *src = codes + i * bytes;
        uint64_t *dst = out + i * words;
        if (bytes % 8 == 0) {
            memcpy(dst, src, bytes);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
            for (size_t w = 0; w < words; w++) dst[w] = load_word(src, bytes, w);
#endif
        } else {
            for (size_t w = 0; w < words; w++) dst[w] = load_word(src, bytes, w);
        }
        dst[words - 1] &= last;
    }
}

void l2h_codes_unpad(const uint64_t *restrict padded, size_t n, size_t bits,
                     uint8_t *restrict out)
{
    const size_t bytes = l2h_code_bytes(bits), words = l2h_code_words(bits);
    const uint64_t last = l2h_last_word_mask(bits);
    for (size_t i = 0; i < n; i++) {
        const uint64_t *src = padded + i * words;
        uint8_t *dst = out + i * bytes;
        for (size_t w = 0; w < words; w++)
            store_word(dst, bytes, w, w + 1 == words ? src[w] & last : src[w]);
    }
}

void l2h_codes_to_groups(const uint8_t *restrict codes, size_t n, size_t bits,
                         uint64_t *restrict groups, size_t first)
{
    const size_t bytes = l2h_code_bytes(bits), words = l2h_code_words(bits);
    const uint64_t last = l2h_last_word_mask(bits);
    for (size_t i = 0; i < n; i++) {
        const size_t r = first + i;
        uint64_t *g = groups + (r / 8) * words * 8 + r % 8;
        const uint8_t *src = codes + i * bytes;
        for (size_t w = 0; w < words; w++) {
            const uint64_t v = load_word(src, bytes, w);
            g[w * 8] = w + 1 == words ? v & last : v;
        }
    }
}

void l2h_codes_from_groups(const uint64_t *restrict groups, size_t first, size_t n, size_t bits,
                           uint8_t *restrict out)
{
    const size_t bytes = l2h_code_bytes(bits), words = l2h_code_words(bits);
    const uint64_t last = l2h_last_word_mask(bits);
    for (size_t i = 0; i < n; i++) {
        const size_t r = first + i;
        const uint64_t *g = groups + (r / 8) * words * 8 + r % 8;
        uint8_t *dst = out + i * bytes;
        for (size_t w = 0; w < words; w++)
            store_word(dst, bytes, w, w + 1 == words ? g[w * 8] & last : g[w * 8]);
    }
}

/* SWAR popcount: no libgcc call, no special instruction. */
static inline unsigned popcount_swar(uint64_t x)
{
    x = x - ((x >> 1) & 0x5555555555555555u);
    x = (x & 0x3333333333333333u) + ((x >> 2) & 0x3333333333333333u);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fu;
    return (unsigned)((x * 0x0101010101010101u) >> 56);
}

uint32_t l2h_hamming(const uint8_t *a, const uint8_t *b, size_t bits)
{
    if (a == NULL || b == NULL || bits == 0 || bits > L2H_MAX_BITS) return 0;
    const size_t bytes = l2h_code_bytes(bits), words = l2h_code_words(bits);
    const uint64_t last = l2h_last_word_mask(bits);
    uint32_t d = 0;
    for (size_t w = 0; w < words; w++) {
        uint64_t x = load_word(a, bytes, w) ^ load_word(b, bytes, w);
        if (w + 1 == words) x &= last;
        d += popcount_swar(x);
    }
    return d;
}

void l2h_hamming_cross(const l2h_hamming_kernels *kt, const uint64_t *q, size_t nq,
                       const uint64_t *codes, size_t n, size_t words, int32_t *out)
{
    /* 32 KiB slices of codes: stay in L1/L2 while every query scans them. */
    size_t slice = (32u * 1024u) / (8 * words);
    if (slice < 64) slice = 64;
    for (size_t s0 = 0; s0 < n; s0 += slice) {
        const size_t len = n - s0 < slice ? n - s0 : slice;
        for (size_t i = 0; i < nq; i++)
            kt->scan(q + i * words, codes + s0 * words, len, words, out + i * n + s0);
    }
}

l2h_status l2h_hamming_many(const uint8_t *query, const uint8_t *codes, size_t n, size_t bits,
                            int32_t *out)
{
    L2H_TRY(check_bits(bits));
    if (n == 0) return L2H_OK;
    L2H_FAIL_IF(query == NULL || codes == NULL || out == NULL, L2H_ERR_ARG,
                "l2h_hamming_many: NULL buffer");
    const l2h_hamming_kernels *kt = NULL;
    L2H_TRY(l2h_hamming_active(&kt));
    const size_t bytes = l2h_code_bytes(bits), words = l2h_code_words(bits);
    enum { CHUNK = 512 };
    uint64_t qpad[L2H_MAX_WORDS];
    uint64_t *buf = l2h_malloc((size_t)CHUNK * words * sizeof(uint64_t));
    L2H_NOMEM_IF_NULL(buf);
    l2h_codes_pad(query, 1, bits, qpad);
    for (size_t s0 = 0; s0 < n; s0 += CHUNK) {
        const size_t len = n - s0 < CHUNK ? n - s0 : CHUNK;
        l2h_codes_pad(codes + s0 * bytes, len, bits, buf);
        kt->scan(qpad, buf, len, words, out + s0);
    }
    l2h_free(buf);
    return L2H_OK;
}
