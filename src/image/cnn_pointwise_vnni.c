/* cnn_pointwise_vnni.c -- 1x1 stride-1 quantised convolution (95% of MobileNet's multiply-adds)
 * with AVX-512 VNNI, selected at run time.
 *
 * VPDPBUSD multiplies unsigned bytes by signed bytes, four at a time, into int32 lanes. The
 * activations are uint8 with zero point 0 (checked at load), the weights are stored as
 * (w - 128) in int8, and the difference to (w - w_zp) is added back per pixel:
 *   sum_k x_k (w_k - w_zp) = sum_k x_k (w_k - 128) + (128 - w_zp) sum_k x_k.
 * No intermediate saturates (VPDPBUSD adds the four 16-bit products exactly). The int32 results
 * then go through TFLite's fixed-point requantisation, 16 lanes at a time, bit-identical to
 * cnn_requant (tests compare against the reference kernel). */
#include "cnn_internal.h"

#include <string.h>

int cnn_disable_vnni = 0;

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>

#define VNNI_TARGET __attribute__((target("avx512f,avx512bw,avx512vnni")))

/* TFLite's MultiplyByQuantizedMultiplier for 16 lanes, right shifts only. */
VNNI_TARGET static inline __m512i requant16(__m512i x, __m512i mult, __m512i rshift)
{
    const __m512i nudge_pos = _mm512_set1_epi64((int64_t)1 << 30);
    const __m512i nudge_neg = _mm512_set1_epi64(1 - ((int64_t)1 << 30));
    const __m512i round_adj = _mm512_set1_epi64(((int64_t)1 << 31) - 1);
    const __m512i zero = _mm512_setzero_si512();
    __m512i pe = _mm512_mul_epi32(x, mult);
    __m512i po = _mm512_mul_epi32(_mm512_srli_epi64(x, 32), _mm512_srli_epi64(mult, 32));
    /* (ab + nudge) / 2^31, truncating toward zero */
    __mmask8 ne = _mm512_cmplt_epi64_mask(pe, zero), no = _mm512_cmplt_epi64_mask(po, zero);
    pe = _mm512_add_epi64(pe, _mm512_mask_blend_epi64(ne, nudge_pos, nudge_neg));
    po = _mm512_add_epi64(po, _mm512_mask_blend_epi64(no, nudge_pos, nudge_neg));
    ne = _mm512_cmplt_epi64_mask(pe, zero);
    no = _mm512_cmplt_epi64_mask(po, zero);
    pe = _mm512_srai_epi64(_mm512_mask_add_epi64(pe, ne, pe, round_adj), 31);
    po = _mm512_srai_epi64(_mm512_mask_add_epi64(po, no, po, round_adj), 31);
    const __m512i hi = _mm512_mask_blend_epi32(0xAAAA, pe, _mm512_slli_epi64(po, 32));
    /* rounding divide by 2^rshift */
    const __m512i one = _mm512_set1_epi32(1);
    const __m512i mask = _mm512_sub_epi32(_mm512_sllv_epi32(one, rshift), one);
    const __m512i rem = _mm512_and_si512(hi, mask);
    const __m512i thr = _mm512_add_epi32(_mm512_srai_epi32(mask, 1), _mm512_srli_epi32(hi, 31));
    const __m512i q = _mm512_srav_epi32(hi, rshift);
    return _mm512_mask_add_epi32(q, _mm512_cmpgt_epi32_mask(rem, thr), q, one);
}

/* Block of R pixels x NB*16 output channels; R and NB are compile-time constants at the call
 * sites, so the accumulators live in registers. */
VNNI_TARGET static inline __attribute__((always_inline)) void
block(const cnn_layer *L, const uint8_t *x, const int32_t *sx, size_t p0, size_t o0, int R,
      int NB, uint8_t *out)
{
    const size_t ic = (size_t)L->ic, kq_n = ic / 4, oc = (size_t)L->oc;
    __m512i acc[6][4];
    for (int r = 0; r < R; r++)
        for (int j = 0; j < NB; j++) acc[r][j] = _mm512_setzero_si512();
    const int8_t *wb = L->wpack + (o0 / 16) * kq_n * 64;
    for (size_t kq = 0; kq < kq_n; kq++) {
        __m512i w[4];
        for (int j = 0; j < NB; j++)
            w[j] = _mm512_load_si512((const void *)(wb + ((size_t)j * kq_n + kq) * 64));
        for (int r = 0; r < R; r++) {
            int32_t xv;
            memcpy(&xv, x + (p0 + (size_t)r) * ic + 4 * kq, 4);
            const __m512i b = _mm512_set1_epi32(xv);
            for (int j = 0; j < NB; j++) acc[r][j] = _mm512_dpbusd_epi32(acc[r][j], b, w[j]);
        }
    }
    const __m512i zp = _mm512_set1_epi32(L->out_zp);
    const __m512i lo = _mm512_set1_epi32(L->act_min), hi = _mm512_set1_epi32(L->act_max);
    for (int j = 0; j < NB; j++) {
        const size_t o = o0 + (size_t)j * 16;
        const __m512i bias = _mm512_loadu_si512((const void *)(L->bias + o));
        const __m512i corr = _mm512_loadu_si512((const void *)(L->corr + o));
        const __m512i mult = _mm512_loadu_si512((const void *)(L->mult + o));
        const __m512i rsh = _mm512_loadu_si512((const void *)(L->rshift + o));
        const __m512 fm = _mm512_loadu_ps(L->fmult + o);
        for (int r = 0; r < R; r++) {
            __m512i v = _mm512_add_epi32(acc[r][j], bias);
            v = _mm512_add_epi32(v, _mm512_mullo_epi32(corr, _mm512_set1_epi32(sx[p0 + r])));
            if (L->rq_float) /* float32 product rounded to nearest even, as lrintf */
                v = _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(_mm512_cvtepi32_ps(v), fm)), zp);
            else v = _mm512_add_epi32(requant16(v, mult, rsh), zp);
            v = _mm512_min_epi32(_mm512_max_epi32(v, lo), hi);
            _mm_storeu_si128((__m128i *)(out + (p0 + (size_t)r) * oc + o), _mm512_cvtepi32_epi8(v));
        }
    }
}

VNNI_TARGET static void pointwise(const cnn_layer *L, const uint8_t *in, uint8_t *out, int32_t *sx)
{
    const size_t P = (size_t)L->oh * L->ow, ic = (size_t)L->ic, oc = (size_t)L->oc;
    for (size_t p = 0; p < P; p++) {
        int32_t s = 0;
        for (size_t k = 0; k < ic; k++) s += in[p * ic + k];
        sx[p] = s;
    }
    size_t o0 = 0;
    for (; o0 + 64 <= oc; o0 += 64) {
        size_t p = 0;
        for (; p + 6 <= P; p += 6) block(L, in, sx, p, o0, 6, 4, out);
        for (; p < P; p++) block(L, in, sx, p, o0, 1, 4, out);
    }
    for (; o0 < oc; o0 += 16) {
        size_t p = 0;
        for (; p + 6 <= P; p += 6) block(L, in, sx, p, o0, 6, 1, out);
        for (; p < P; p++) block(L, in, sx, p, o0, 1, 1, out);
    }
}

static int have_vnni(void)
{
    static _Atomic int have = -1;
    if (have < 0) {
        __builtin_cpu_init();
        have = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vnni");
    }
    return have && !cnn_disable_vnni;
}

int cnn_pointwise_vnni(const cnn_layer *L, const uint8_t *in, uint8_t *out, int32_t *scratch)
{
    if (!have_vnni()) return 0;
    pointwise(L, in, out, scratch);
    return 1;
}

VNNI_TARGET static void requant_row(const cnn_layer *L, const int32_t *acc, uint8_t *out)
{
    const __m512i zp = _mm512_set1_epi32(L->out_zp);
    const __m512i lo = _mm512_set1_epi32(L->act_min), hi = _mm512_set1_epi32(L->act_max);
    for (int o = 0; o < L->oc; o += 16) {
        __m512i v = _mm512_loadu_si512((const void *)(acc + o));
        if (L->rq_float)
            v = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_cvtepi32_ps(v), _mm512_loadu_ps(L->fmult + o)));
        else
            v = requant16(v, _mm512_loadu_si512((const void *)(L->mult + o)),
                          _mm512_loadu_si512((const void *)(L->rshift + o)));
        v = _mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(v, zp), lo), hi);
        _mm_storeu_si128((__m128i *)(out + o), _mm512_cvtepi32_epi8(v));
    }
}

/* Depthwise (multiplier 1, channels a multiple of 16): per output pixel and 16-channel group,
 * the accumulator stays in a register over the taps. */
VNNI_TARGET static void dwconv(const cnn_layer *L, const uint8_t *in, uint8_t *out, int32_t *acc)
{
    const int C = L->oc;
    const __m512i zp = _mm512_set1_epi32(L->in_zp);
    for (int oy = 0; oy < L->oh; oy++)
        for (int ox = 0; ox < L->ow; ox++) {
            const int iy0 = oy * L->sh - L->pad_t, ix0 = ox * L->sw - L->pad_l;
            for (int c = 0; c < C; c += 16) {
                __m512i a = _mm512_loadu_si512((const void *)(L->bias + c));
                for (int ky = 0; ky < L->kh; ky++) {
                    const int iy = iy0 + ky;
                    if (iy < 0 || iy >= L->ih) continue;
                    for (int kx = 0; kx < L->kw; kx++) {
                        const int ix = ix0 + kx;
                        if (ix < 0 || ix >= L->iw) continue;
                        const __m512i x = _mm512_sub_epi32(_mm512_cvtepu8_epi32(_mm_loadu_si128(
                            (const __m128i *)(in + ((size_t)iy * L->iw + ix) * C + c))), zp);
                        const __m512i w = _mm512_cvtepi16_epi32(_mm256_loadu_si256(
                            (const __m256i *)(L->w16 + ((size_t)ky * L->kw + kx) * C + c)));
                        a = _mm512_add_epi32(a, _mm512_mullo_epi32(x, w));
                    }
                }
                _mm512_storeu_si512((void *)(acc + c), a);
            }
            requant_row(L, acc, out + ((size_t)oy * L->ow + ox) * C);
        }
}

int cnn_dwconv_avx512(const cnn_layer *L, const uint8_t *in, uint8_t *out, int32_t *scratch)
{
    if (L->rshift == NULL || L->oc % 16 != 0 || L->depth_mult != 1 || !have_vnni()) return 0;
    dwconv(L, in, out, scratch);
    return 1;
}

int cnn_requant_row(const cnn_layer *L, const int32_t *acc, uint8_t *out)
{
    if (L->rshift != NULL && L->oc % 16 == 0 && have_vnni()) {
        requant_row(L, acc, out);
        return 1;
    }
    for (int o = 0; o < L->oc; o++) out[o] = cnn_out(L, acc[o], (size_t)o);
    return 0;
}
#else
int cnn_pointwise_vnni(const cnn_layer *L, const uint8_t *in, uint8_t *out, int32_t *scratch)
{
    (void)L, (void)in, (void)out, (void)scratch;
    return 0;
}
int cnn_dwconv_avx512(const cnn_layer *L, const uint8_t *in, uint8_t *out, int32_t *scratch)
{
    (void)L, (void)in, (void)out, (void)scratch;
    return 0;
}
int cnn_requant_row(const cnn_layer *L, const int32_t *acc, uint8_t *out)
{
    for (int o = 0; o < L->oc; o++) out[o] = cnn_out(L, acc[o], (size_t)o);
    return 0;
}
#endif
