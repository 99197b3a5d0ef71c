/* nn_build.c -- the standard hash networks (linear, MLP, LeNet-style CNN) and parameter
 * initialisation (Gaussian, He, Glorot) from a seeded l2h_rng. */
#include "nn_internal.h"

#include <math.h>
#include <string.h>

l2h_status l2h_nn_init(l2h_nn *net, l2h_init_kind kind, float std, uint64_t seed)
{
    L2H_FAIL_IF(net == NULL, L2H_ERR_ARG, "network init: NULL network");
    L2H_FAIL_IF(kind != L2H_INIT_GAUSSIAN && kind != L2H_INIT_HE && kind != L2H_INIT_GLOROT,
                L2H_ERR_ARG, "network init: unknown kind %d", (int)kind);
    L2H_FAIL_IF(kind == L2H_INIT_GAUSSIAN && (!isfinite(std) || std < 0.0f), L2H_ERR_ARG,
                "network init: Gaussian std %g must be finite and >= 0", (double)std);
    l2h_rng rng;
    l2h_rng_seed(&rng, seed);
    for (size_t i = 0; i < net->n_layers; i++) {
        const l2h_layer *l = &net->layers[i];
        if (l->w_count == 0) continue;
        float *w = net->params + l->w_off;
        float *b = net->params + l->b_off;
        const double fi = (double)l->fan_in, fo = (double)l->fan_out;
        if (kind == L2H_INIT_GLOROT) {
            const double r = sqrt(6.0 / (fi + fo));
            for (size_t k = 0; k < l->w_count; k++)
                w[k] = (float)((2.0 * l2h_rng_uniform(&rng) - 1.0) * r);
        } else {
            const double s = kind == L2H_INIT_HE ? sqrt(2.0 / fi) : (double)std;
            for (size_t k = 0; k < l->w_count; k++)
                w[k] = (float)(s * l2h_rng_normal(&rng));
        }
        memset(b, 0, l->b_count * sizeof *b);
        if (l->spec.kind == L2H_LAYER_BATCHNORM) { /* γ = 1; β, running mean 0; running var 1 */
            for (size_t k = 0; k < l->w_count; k++) w[k] = 1.0f;
            for (size_t k = 2 * l->w_count; k < l->b_count; k++) b[k] = 1.0f;
        }
    }
    for (size_t i = 0; i < net->n_layers; i++) { /* dropout mask streams (layer_dropout.c) */
        net->layers[i].rng_seed = seed * 0x2545f4914f6cdd1dull + 0x632be59bd9b4e019ull * (i + 1);
        net->layers[i].rng_calls = 0;
    }
    return L2H_OK;
}

l2h_status l2h_nn_centre_output(l2h_nn *net, float *z, size_t n, int *centred)
{
    L2H_FAIL_IF(net == NULL || centred == NULL || (n > 0 && z == NULL), L2H_ERR_ARG,
                "network centring: NULL argument");
    *centred = 0;
    if (net->n_layers < 2 || n == 0) return L2H_OK;
    const l2h_layer *l = &net->layers[net->n_layers - 1];
    if (l->spec.kind != L2H_LAYER_LINEAR) return L2H_OK;
    const size_t d = l->out_dim;
    float *b = net->params + l->b_off;
    for (size_t k = 0; k < d; k++) {
        double s = 0.0;
        for (size_t i = 0; i < n; i++) s += (double)z[i * d + k];
        L2H_FAIL_IF(!isfinite(s), L2H_ERR_NUMERIC, "network centring: output %zu is not finite",
                    k);
        const float mu = (float)(s / (double)n);
        b[k] -= mu;
        for (size_t i = 0; i < n; i++) z[i * d + k] -= mu;
    }
    *centred = 1;
    return L2H_OK;
}

l2h_status l2h_nn_create_linear(l2h_nn **out, size_t dim, size_t bits, size_t max_batch)
{
    const l2h_layer_spec s = {.kind = L2H_LAYER_LINEAR, .out = bits};
    return l2h_nn_create(out, "linear", dim, 1, 1, &s, 1, max_batch);
}

#define NN_MAX_HIDDEN 64

l2h_status l2h_nn_create_mlp(l2h_nn **out, size_t dim, const size_t *hidden, size_t n_hidden,
                             size_t bits, size_t max_batch)
{
    const l2h_nn_reg none = {0, 0, 0};
    return l2h_nn_create_mlp_reg(out, dim, hidden, n_hidden, bits, &none, max_batch);
}

static l2h_status reg_check(const l2h_nn_reg *reg)
{
    L2H_FAIL_IF(reg == NULL, L2H_ERR_ARG, "network: NULL regularisation settings");
    L2H_FAIL_IF(reg->dropout_pct > 99, L2H_ERR_ARG, "network: dropout %zu %% outside 0..99",
                reg->dropout_pct);
    return L2H_OK;
}

l2h_status l2h_nn_create_mlp_reg(l2h_nn **out, size_t dim, const size_t *hidden, size_t n_hidden,
                                 size_t bits, const l2h_nn_reg *reg, size_t max_batch)
{
    L2H_FAIL_IF(out == NULL, L2H_ERR_ARG, "mlp: NULL output");
    *out = NULL;
    L2H_FAIL_IF(n_hidden > NN_MAX_HIDDEN || (n_hidden > 0 && hidden == NULL), L2H_ERR_ARG,
                "mlp: %zu hidden layers (at most %d)", n_hidden, NN_MAX_HIDDEN);
    L2H_TRY(reg_check(reg));
    l2h_layer_spec s[4 * NN_MAX_HIDDEN + 2];
    size_t n = 0;
    for (size_t i = 0; i < n_hidden; i++) {
        L2H_FAIL_IF(hidden[i] == 0, L2H_ERR_ARG, "mlp: hidden layer %zu has 0 units", i);
        s[n++] = (l2h_layer_spec){.kind = L2H_LAYER_LINEAR, .out = hidden[i]};
        if (reg->bn) s[n++] = (l2h_layer_spec){.kind = L2H_LAYER_BATCHNORM};
        s[n++] = (l2h_layer_spec){.kind = L2H_LAYER_RELU};
        if (reg->dropout_pct)
            s[n++] = (l2h_layer_spec){.kind = L2H_LAYER_DROPOUT, .out = reg->dropout_pct};
    }
    s[n++] = (l2h_layer_spec){.kind = L2H_LAYER_LINEAR, .out = bits};
    if (reg->out_bn) s[n++] = (l2h_layer_spec){.kind = L2H_LAYER_BATCHNORM};
    return l2h_nn_create(out, "mlp", dim, 1, 1, s, n, max_batch);
}

l2h_cnn_params l2h_cnn_default_params(void)
{
    return (l2h_cnn_params){
        .in_c = 1,
        .in_h = 28,
        .in_w = 28,
        .n_conv = 2,
        .channels = {20, 50, 0, 0},
        .kernel = 5,
        .pad = 0,
        .pool = 2,
        .fc_hidden = 500,
    };
}

l2h_status l2h_nn_create_cnn(l2h_nn **out, const l2h_cnn_params *p, size_t bits, size_t max_batch)
{
    const l2h_nn_reg none = {0, 0, 0};
    return l2h_nn_create_cnn_reg(out, p, bits, &none, max_batch);
}

l2h_status l2h_nn_create_cnn_reg(l2h_nn **out, const l2h_cnn_params *p, size_t bits,
                                 const l2h_nn_reg *reg, size_t max_batch)
{
    L2H_FAIL_IF(out == NULL || p == NULL, L2H_ERR_ARG, "cnn: NULL argument");
    L2H_TRY(reg_check(reg));
    *out = NULL;
    L2H_FAIL_IF(p->n_conv < 1 || p->n_conv > 4, L2H_ERR_ARG, "cnn: %zu conv stages (1..4)",
                p->n_conv);
    L2H_FAIL_IF(p->kernel == 0 || p->pool == 0, L2H_ERR_ARG, "cnn: kernel and pool must be >= 1");
    l2h_layer_spec s[24];
    size_t n = 0;
    for (size_t i = 0; i < p->n_conv; i++) {
        L2H_FAIL_IF(p->channels[i] == 0, L2H_ERR_ARG, "cnn: stage %zu has 0 channels", i);
        s[n++] = (l2h_layer_spec){.kind = L2H_LAYER_CONV2D,
                                  .out = p->channels[i],
                                  .kh = p->kernel,
                                  .kw = p->kernel,
                                  .stride = 1,
                                  .pad = p->pad};
        if (reg->bn) s[n++] = (l2h_layer_spec){.kind = L2H_LAYER_BATCHNORM};
        s[n++] = (l2h_layer_spec){.kind = L2H_LAYER_RELU};
        if (p->pool > 1)
            s[n++] = (l2h_layer_spec){
                .kind = L2H_LAYER_MAXPOOL, .kh = p->pool, .kw = p->pool, .stride = p->pool};
    }
    s[n++] = (l2h_layer_spec){.kind = L2H_LAYER_FLATTEN};
    if (p->fc_hidden) {
        s[n++] = (l2h_layer_spec){.kind = L2H_LAYER_LINEAR, .out = p->fc_hidden};
        if (reg->bn) s[n++] = (l2h_layer_spec){.kind = L2H_LAYER_BATCHNORM};
        s[n++] = (l2h_layer_spec){.kind = L2H_LAYER_RELU};
        if (reg->dropout_pct)
            s[n++] = (l2h_layer_spec){.kind = L2H_LAYER_DROPOUT, .out = reg->dropout_pct};
    }
    s[n++] = (l2h_layer_spec){.kind = L2H_LAYER_LINEAR, .out = bits};
    if (reg->out_bn) s[n++] = (l2h_layer_spec){.kind = L2H_LAYER_BATCHNORM};
    return l2h_nn_create(out, "cnn", p->in_c, p->in_h, p->in_w, s, n, max_batch);
}
