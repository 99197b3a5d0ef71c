/* fingerprint.c -- l2h_model_fingerprint(): which model made a set of codes (index.h). It lives
 * here because it joins two modules (model and index) through their public APIs only.
 *
 * The fingerprint hashes what the model computes, not the bytes of its file (which also hold
 * the library version and other metadata): the method, architecture, bits and input dimension,
 * then the codes the model gives to 64 fixed pseudo-random inputs spread over magnitudes
 * 10^-2 .. 10^3 (so models centred and scaled for any feature range give distinct codes).
 * Two models that encode every probe identically get the same fingerprint; re-saving or
 * re-loading a model keeps it. 16 bytes = two independent 64-bit hashes. */
#include "core.h"
#include "l2h/index.h"
#include "l2h/codes.h"
#include "l2h/model.h"

#include <string.h>

enum { N_PROBES = 64 };

typedef struct fp_hash {
    uint64_t a, b;
} fp_hash;

static uint64_t mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void feed(fp_hash *h, const void *p, size_t len)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < len; i++) {
        h->a = (h->a ^ b[i]) * 0x100000001b3ull;        /* FNV-1a */
        h->b = mix(h->b + b[i] + 0x9e3779b97f4a7c15ull); /* splitmix chain */
    }
}

static void feed_str(fp_hash *h, const char *s)
{
    feed(h, s ? s : "", strlen(s ? s : "") + 1);
}

l2h_status l2h_model_fingerprint(const struct l2h_model *m, uint8_t out[L2H_FINGERPRINT_BYTES])
{
    L2H_FAIL_IF(m == NULL || out == NULL, L2H_ERR_ARG, "l2h_model_fingerprint: NULL argument");
    const size_t dim = l2h_model_dim(m), bits = l2h_model_bits(m), bytes = l2h_code_bytes(bits);
    L2H_FAIL_IF(dim == 0 || bits == 0, L2H_ERR_ARG, "l2h_model_fingerprint: empty model");
    float *x = l2h_malloc_array(N_PROBES, dim * sizeof *x);
    uint8_t *codes = l2h_malloc_array(N_PROBES, bytes);
    if (!x || !codes) {
        l2h_free(x);
        l2h_free(codes);
        L2H_FAIL(L2H_ERR_NOMEM, "out of memory fingerprinting a model of dimension %zu", dim);
    }
    static const float scales[6] = {0.01f, 0.1f, 1.0f, 10.0f, 100.0f, 1000.0f};
    uint64_t s = 0x6c3268ull; /* fixed: the probes never change */
    for (size_t i = 0; i < N_PROBES; i++) {
        const float sc = scales[i % 6];
        for (size_t j = 0; j < dim; j++) {
            s += 0x9e3779b97f4a7c15ull;
            const double u = (double)(mix(s) >> 11) * 0x1.0p-53; /* [0, 1) */
            /* half the probes are non-negative, like pixels and CNN activations */
            x[i * dim + j] = (float)((i % 2 ? u : 2 * u - 1) * (double)sc);
        }
    }
    const l2h_status st = l2h_model_encode(m, x, N_PROBES, codes);
    if (st == L2H_OK) {
        fp_hash h = {0xcbf29ce484222325ull, 0x2545f4914f6cdd1dull};
        feed_str(&h, l2h_model_method(m));
        feed_str(&h, l2h_model_arch(m));
        const uint64_t shape[2] = {(uint64_t)bits, (uint64_t)dim};
        uint8_t le[16];
        for (int i = 0; i < 16; i++) le[i] = (uint8_t)(shape[i / 8] >> (8 * (i % 8)));
        feed(&h, le, sizeof le);
        feed(&h, codes, N_PROBES * bytes);
        const uint64_t a = mix(h.a), b = mix(h.b ^ h.a);
        for (int i = 0; i < 8; i++) {
            out[i] = (uint8_t)(a >> (8 * i));
            out[8 + i] = (uint8_t)(b >> (8 * i));
        }
    }
    l2h_free(x);
    l2h_free(codes);
    return st;
}
