/* test_nn_tail.c -- the layers of MobileNet's last block (issue 17, fine-tuning): depthwise
 * convolution, ReLU6 and global average pooling. Forward against plain double loops, backward
 * (dx and every parameter) against central differences, alone and stacked as the fine-tuned
 * tail (dwconv 3x3 -> relu6 -> conv 1x1 -> relu6 -> avgpool -> flatten -> linear), the
 * architecture text, tensor shapes, and the inference path against the training forward. */
#include "check.h"
#include "gradcheck.h"

#include "core.h"
#include "nn_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static l2h_rng g_rng;

static void fill_normal(float *x, size_t n, double s)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(s * l2h_rng_normal(&g_rng));
}

typedef struct net_ctx {
    l2h_nn *net;
    float *x;
    size_t n;
    float *r, *y;
} net_ctx;

static double net_loss(void *vc)
{
    net_ctx *c = vc;
    if (l2h_nn_forward(c->net, c->x, c->n, c->y) != L2H_OK) return NAN;
    const size_t m = c->n * l2h_nn_out_dim(c->net);
    double s = 0.0;
    for (size_t i = 0; i < m; i++)
        s += (double)c->r[i] * (double)c->y[i];
    return s;
}

/* The smooth piece: every ReLU6 output's region (below 0, inside, above 6). */
static uint64_t net_pattern(void *vc)
{
    const net_ctx *c = vc;
    const l2h_nn *net = c->net;
    uint64_t h = 1469598103934665603ULL;
    for (size_t l = 0; l < net->n_layers; l++) {
        const l2h_layer *ly = &net->layers[l];
        if (ly->spec.kind != L2H_LAYER_RELU6) continue;
        for (size_t k = 0; k < c->n * ly->out_dim; k++) {
            const float v = net->acts[l][k];
            h = (h ^ (uint64_t)(v > 0.0f) ^ ((uint64_t)(v < 6.0f) << 1)) * 1099511628211ULL;
        }
    }
    return h;
}

/* dL/dx and dL/dθ of L = Σ r ⊙ net(x) against central differences, and the whole parameter
 * gradient along a random direction; 1 when all agree. */
static int check_grads(const char *name, l2h_nn *net, float *x, size_t n, double h,
                       size_t max_coords)
{
    const size_t din = l2h_nn_in_dim(net), dout = l2h_nn_out_dim(net);
    net_ctx c = {net, x, n, malloc(n * dout * sizeof(float)), malloc(n * dout * sizeof(float))};
    float *dx = malloc(n * din * sizeof *dx);
    fill_normal(c.r, n * dout, 1.0);
    l2h_nn_zero_grads(net);
    CHECK_OK(l2h_nn_forward(net, x, n, c.y));
    CHECK_OK(l2h_nn_backward(net, c.r, n, dx));
    const size_t np = l2h_nn_n_params(net);
    float *g = malloc((np ? np : 1) * sizeof *g);
    memcpy(g, l2h_nn_grads(net), np * sizeof *g);
    gc_opts o = {.h = h, .rtol = 2e-3, .atol = 2e-4, .max_coords = max_coords,
                 .seed = check_seed, .pattern = net_pattern};
    char label[96];
    snprintf(label, sizeof label, "%s dx", name);
    const gc_report rx = gc_check_f32(label, net_loss, &c, x, n * din, dx, &o);
    o.seed++;
    snprintf(label, sizeof label, "%s dparams", name);
    const gc_report rp = gc_check_f32(label, net_loss, &c, l2h_nn_params(net), np, g, &o);
    int ok = rx.checked > 0 && rx.bad == 0 && rp.bad == 0 && (np == 0 || rp.checked > 0);
    if (rx.skipped * 10 > rx.checked + rx.skipped || rp.skipped * 10 > rp.checked + rp.skipped) {
        fprintf(stderr, "%s: too many kinks (dx %zu, dparams %zu skipped)\n", name, rx.skipped,
                rp.skipped);
        ok = 0;
    }
    if (np > 0) {
        o.h = h / 100;
        double num, ana;
        int kinked;
        const double e =
            gc_direction_f32(net_loss, &c, l2h_nn_params(net), np, g, &o, &num, &ana, &kinked);
        if (!(e < 2e-2)) {
            fprintf(stderr, "%s direction: %g vs %g (rel %g)\n", name, num, ana, e);
            ok = 0;
        }
    }
    free(c.r);
    free(c.y);
    free(dx);
    free(g);
    return ok;
}

static l2h_nn *make(size_t c, size_t h, size_t w, const l2h_layer_spec *s, size_t ns)
{
    l2h_nn *net = NULL;
    CHECK_OK(l2h_nn_create(&net, "t", c, h, w, s, ns, 4));
    if (!net) return NULL;
    CHECK_OK(l2h_nn_init(net, L2H_INIT_GAUSSIAN, 0.5f, check_seed));
    size_t nt;
    const l2h_nn_tensor *t = l2h_nn_tensors(net, &nt);
    for (size_t k = 0; k < nt; k++)
        if (t[k].is_bias) fill_normal(l2h_nn_params(net) + t[k].offset, t[k].count, 0.3);
    return net;
}

/* Depthwise convolution: plain double loop, two geometries (padding, stride 2). */
static void test_dwconv(size_t stride, size_t pad)
{
    const size_t n = 3, C = 4, H = 6, W = 5, k = 3;
    const l2h_layer_spec s = {.kind = L2H_LAYER_DWCONV, .kh = k, .kw = k, .stride = stride,
                              .pad = pad};
    l2h_nn *net = make(C, H, W, &s, 1);
    if (!net) return;
    const size_t oh = (H + 2 * pad - k) / stride + 1, ow = (W + 2 * pad - k) / stride + 1;
    CHECK_EQ_I(l2h_nn_out_dim(net), C * oh * ow);
    size_t nt;
    const l2h_nn_tensor *t = l2h_nn_tensors(net, &nt);
    CHECK(nt == 2 && t[0].rank == 4 && t[0].shape[0] == C && t[0].shape[1] == 1 &&
          t[0].shape[2] == k && t[0].shape[3] == k && t[1].count == C);
    float x[3 * 4 * 6 * 5], y[3 * 4 * 6 * 5];
    fill_normal(x, n * C * H * W, 1.0);
    CHECK_OK(l2h_nn_forward(net, x, n, y));
    const float *wt = l2h_nn_params(net), *b = wt + C * k * k;
    double err = 0.0;
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < C; c++)
            for (size_t r = 0; r < oh; r++)
                for (size_t q = 0; q < ow; q++) {
                    double acc = b[c];
                    for (size_t u = 0; u < k; u++)
                        for (size_t v = 0; v < k; v++) {
                            const long iy = (long)(r * stride + u) - (long)pad;
                            const long ix = (long)(q * stride + v) - (long)pad;
                            if (iy < 0 || ix < 0 || iy >= (long)H || ix >= (long)W) continue;
                            acc += (double)wt[(c * k + u) * k + v] *
                                   (double)x[((i * C + c) * H + (size_t)iy) * W + (size_t)ix];
                        }
                    err = fmax(err, fabs(acc - (double)y[((i * C + c) * oh + r) * ow + q]));
                }
    CHECK(err < 1e-5);
    CHECK(check_grads(stride == 1 ? "dwconv s1" : "dwconv s2", net, x, n, 1e-2, 2000));
    l2h_nn_free(net);
}

static void test_relu6_avgpool(void)
{
    const size_t n = 2, C = 3, H = 4, W = 4, d = C * H * W;
    const l2h_layer_spec r6 = {.kind = L2H_LAYER_RELU6};
    l2h_nn *net = make(C, H, W, &r6, 1);
    float x[2 * 48], y[2 * 48];
    /* values in (-2, 8) kept 0.05 or more from the kinks at 0 and 6 */
    for (size_t i = 0; i < n * d; i++) {
        float v;
        do v = (float)(10.0 * l2h_rng_uniform(&g_rng) - 2.0);
        while (fabsf(v) < 0.05f || fabsf(v - 6.0f) < 0.05f);
        x[i] = v;
    }
    if (net) {
        CHECK_OK(l2h_nn_forward(net, x, n, y));
        int ok = 1, seen_lo = 0, seen_hi = 0, seen_mid = 0;
        for (size_t i = 0; i < n * d; i++) {
            const float e = x[i] < 0 ? 0.0f : x[i] > 6 ? 6.0f : x[i];
            ok &= y[i] == e;
            seen_lo |= x[i] < 0;
            seen_hi |= x[i] > 6;
            seen_mid |= x[i] > 0 && x[i] < 6;
        }
        CHECK(ok && seen_lo && seen_hi && seen_mid);
        CHECK(check_grads("relu6", net, x, n, 1e-2, 1000));
        l2h_nn_free(net);
    }
    const l2h_layer_spec ap = {.kind = L2H_LAYER_AVGPOOL};
    net = make(C, H, W, &ap, 1);
    if (!net) return;
    CHECK_EQ_I(l2h_nn_out_dim(net), C);
    fill_normal(x, n * d, 1.0);
    CHECK_OK(l2h_nn_forward(net, x, n, y));
    double err = 0.0;
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < C; c++) {
            double s = 0.0;
            for (size_t k = 0; k < H * W; k++)
                s += (double)x[(i * C + c) * H * W + k];
            err = fmax(err, fabs(s / (double)(H * W) - (double)y[i * C + c]));
        }
    CHECK(err < 1e-6);
    CHECK(check_grads("avgpool", net, x, n, 1e-2, 1000));
    l2h_nn_free(net);
}

/* The fine-tuned MobileNet tail at a small size, trained end to end: every gradient. Inputs
 * are like the cached activations (non-negative, ReLU6 outputs). */
static const l2h_layer_spec k_tail[] = {
    {.kind = L2H_LAYER_DWCONV, .kh = 3, .kw = 3, .stride = 1, .pad = 1},
    {.kind = L2H_LAYER_RELU6},
    {.kind = L2H_LAYER_CONV2D, .out = 6, .kh = 1, .kw = 1, .stride = 1},
    {.kind = L2H_LAYER_RELU6},
    {.kind = L2H_LAYER_AVGPOOL},
    {.kind = L2H_LAYER_FLATTEN},
    {.kind = L2H_LAYER_LINEAR, .out = 5},
};

static void test_tail_stack(void)
{
    const size_t n = 3, C = 5, H = 4, W = 4, d = C * H * W;
    l2h_nn *net = make(C, H, W, k_tail, sizeof k_tail / sizeof k_tail[0]);
    if (!net) return;
    CHECK_EQ_I(l2h_nn_out_dim(net), 5);
    float x[3 * 80], y[3 * 5], yi[3 * 5];
    for (size_t i = 0; i < n * d; i++)
        x[i] = (float)(3.0 * l2h_rng_uniform(&g_rng));
    CHECK(check_grads("tail", net, x, n, 5e-3, 3000));
    /* inference (thread-safe path) equals the training forward */
    CHECK_OK(l2h_nn_forward(net, x, n, y));
    CHECK_OK(l2h_nn_infer(net, x, n, yi));
    CHECK(memcmp(y, yi, sizeof y) == 0);
    /* architecture text round trip */
    char text[512];
    size_t ns;
    const l2h_layer_spec *specs = l2h_nn_specs(net, &ns);
    CHECK_OK(l2h_nn_specs_format(specs, ns, text, sizeof text));
    CHECK(strcmp(text, "dwconv:3x3:s1:p1,relu6,conv:6:1x1:s1:p0,relu6,avgpool,flatten,linear:5") ==
          0);
    l2h_layer_spec back[16];
    size_t nb = 0;
    CHECK_OK(l2h_nn_specs_parse(text, back, 16, &nb));
    CHECK(nb == ns && back[0].kind == L2H_LAYER_DWCONV && back[0].pad == 1 &&
          back[1].kind == L2H_LAYER_RELU6 && back[4].kind == L2H_LAYER_AVGPOOL);
    l2h_nn_free(net);
}

static void test_errors(void)
{
    l2h_layer_spec out[4];
    size_t n;
    CHECK(l2h_nn_specs_parse("dwconv:0x3:s1:p1", out, 4, &n) == L2H_ERR_FORMAT);
    CHECK(l2h_nn_specs_parse("dwconv:3x3:s1", out, 4, &n) == L2H_ERR_FORMAT);
    CHECK(l2h_nn_specs_parse("relu6x", out, 4, &n) == L2H_ERR_FORMAT);
    CHECK(l2h_nn_specs_parse("avgpool:2", out, 4, &n) == L2H_ERR_FORMAT);
    l2h_nn *net = NULL;
    const l2h_layer_spec big = {.kind = L2H_LAYER_DWCONV, .kh = 5, .kw = 5};
    CHECK(l2h_nn_create(&net, "t", 2, 3, 3, &big, 1, 2) == L2H_ERR_ARG && net == NULL);
    const l2h_layer_spec wo = {.kind = L2H_LAYER_DWCONV, .out = 4, .kh = 1, .kw = 1};
    CHECK(l2h_nn_create(&net, "t", 2, 3, 3, &wo, 1, 2) == L2H_ERR_ARG && net == NULL);
    const l2h_layer_spec ap = {.kind = L2H_LAYER_AVGPOOL, .kh = 2};
    CHECK(l2h_nn_create(&net, "t", 2, 3, 3, &ap, 1, 2) == L2H_ERR_ARG && net == NULL);
}

int main(void)
{
    l2h_rng_seed(&g_rng, test_seed());
    test_dwconv(1, 1);
    test_dwconv(2, 0);
    test_relu6_avgpool();
    test_tail_stack();
    test_errors();
    return check_report();
}
