/* layer_dropout.c -- inverted dropout (Srivastava et al. 2014), "dropout:<percent>".
 * Training forward (saved != NULL): every element is kept with probability q = 1 − p and scaled
 * by 1/q, y = x · m / q with m ∈ {0, 1} saved per element for backward: dx = dy · m / q.
 * Inference (saved == NULL): y = x.
 * The masks come from a counter-based generator: element k of the t-th training forward of the
 * layer draws splitmix64(seed ⊕ golden·(t + 1) ⊕ k); seed is set by l2h_nn_init (from its seed
 * and the layer index) and t counts this layer's training forwards, so a training run is
 * repeatable for a seed and a gradient check can replay a mask by resetting the counter. */
#include "nn_internal.h"

static l2h_status dropout_setup(l2h_layer *l)
{
    L2H_FAIL_IF(l->spec.out < 1 || l->spec.out > 99, L2H_ERR_ARG,
                "dropout rate %zu %% outside 1..99", l->spec.out);
    L2H_FAIL_IF(l->spec.kh || l->spec.kw || l->spec.stride || l->spec.pad, L2H_ERR_ARG,
                "dropout takes no kernel, stride or padding");
    l->out_c = l->in_c;
    l->out_h = l->in_h;
    l->out_w = l->in_w;
    l->saved_per_item = l->in_dim;
    return L2H_OK;
}

static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void dropout_forward(const l2h_layer *l, const float *params, const float *x, size_t n,
                            float *y, float *scratch, int32_t *saved)
{
    (void)params;
    (void)scratch;
    const size_t m = n * l->in_dim;
    if (!saved) {
        for (size_t i = 0; i < m; i++) y[i] = x[i];
        return;
    }
    l2h_layer *mut = (l2h_layer *)(uintptr_t)l; /* the mask counter; training forward only */
    const uint64_t base = l->rng_seed ^ (0x9e3779b97f4a7c15ull * ++mut->rng_calls);
    /* keep when the top 24 bits of the draw are >= p · 2^24 (p = percent / 100, exact) */
    const uint64_t thr = (uint64_t)l->spec.out * ((uint64_t)1 << 24) / 100;
    const float scale = 100.0f / (float)(100 - l->spec.out);
    for (size_t i = 0; i < m; i++) {
        const int keep = (mix64(base ^ (uint64_t)i) >> 40) >= thr;
        saved[i] = keep;
        y[i] = keep ? x[i] * scale : 0.0f;
    }
}

static void dropout_backward(const l2h_layer *l, const float *params, const float *x,
                             const float *y, const float *dy, size_t n, float *dx, float *dparams,
                             float *scratch, const int32_t *saved)
{
    (void)params;
    (void)x;
    (void)y;
    (void)dparams;
    (void)scratch;
    if (dx == NULL) return;
    const size_t m = n * l->in_dim;
    const float scale = 100.0f / (float)(100 - l->spec.out);
    for (size_t i = 0; i < m; i++) dx[i] = saved[i] ? dy[i] * scale : 0.0f;
}

const l2h_layer_ops l2h_layer_dropout_ops = {
    .kind = L2H_LAYER_DROPOUT,
    .name = "dropout",
    .setup = dropout_setup,
    .forward = dropout_forward,
    .backward = dropout_backward,
};
