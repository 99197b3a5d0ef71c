/* test_nn_norm.c -- batch normalisation and dropout layers (layer_bn.c, layer_dropout.c):
 * forward against plain double loops (training statistics, running statistics, inference),
 * backward against central differences for flat and image inputs and inside an MLP
 * (dropout masks replayed by resetting the layer's mask counter), mask rate, repeatability and
 * inference identity of dropout, architecture text, tensor view and initialisation, errors. */
#include "check.h"
#include "gradcheck.h"

#include "core.h"
#include "nn_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static l2h_rng g_rng;

static void fill_normal(float *x, size_t n, double mu, double s)
{
    for (size_t i = 0; i < n; i++) x[i] = (float)(mu + s * l2h_rng_normal(&g_rng));
}

typedef struct net_ctx {
    l2h_nn *net;
    float *x, *r, *y;
    size_t n;
} net_ctx;

/* L = Σ r ⊙ net(x); every dropout mask counter is reset first so that each evaluation draws
 * the same masks (layer_dropout.c). */
static double net_loss(void *vc)
{
    net_ctx *c = vc;
    for (size_t l = 0; l < c->net->n_layers; l++) c->net->layers[l].rng_calls = 0;
    if (l2h_nn_forward(c->net, c->x, c->n, c->y) != L2H_OK) return NAN;
    const size_t m = c->n * l2h_nn_out_dim(c->net);
    double s = 0.0;
    for (size_t i = 0; i < m; i++) s += (double)c->r[i] * (double)c->y[i];
    return s;
}

static uint64_t net_pattern(void *vc)
{
    const net_ctx *c = vc;
    uint64_t h = 1469598103934665603ULL;
    for (size_t l = 0; l < c->net->n_layers; l++)
        if (c->net->layers[l].spec.kind == L2H_LAYER_RELU) {
            const size_t m = c->n * c->net->layers[l].out_dim;
            for (size_t k = 0; k < m; k++) h = (h ^ (c->net->acts[l][k] > 0.0f)) * 1099511628211ULL;
        }
    return h;
}

static int check_grads(const char *name, l2h_nn *net, float *x, size_t n, double rtol)
{
    const size_t din = l2h_nn_in_dim(net), dout = l2h_nn_out_dim(net), np = l2h_nn_n_params(net);
    net_ctx c = {net, x, malloc(n * dout * sizeof(float)), malloc(n * dout * sizeof(float)), n};
    float *dx = malloc(n * din * sizeof *dx), *g = malloc((np ? np : 1) * sizeof *g);
    fill_normal(c.r, n * dout, 0.0, 1.0);
    l2h_nn_zero_grads(net);
    CHECK(!isnan(net_loss(&c)));
    CHECK_OK(l2h_nn_backward(net, c.r, n, dx));
    memcpy(g, l2h_nn_grads(net), np * sizeof *g);
    gc_opts o = {.h = 1e-2, .rtol = rtol, .atol = 2e-4, .max_coords = 400, .seed = check_seed,
                 .pattern = net_pattern};
    char label[96];
    snprintf(label, sizeof label, "%s dx", name);
    const gc_report rx = gc_check_f32(label, net_loss, &c, x, n * din, dx, &o);
    snprintf(label, sizeof label, "%s dparams", name);
    o.seed++;
    const gc_report rp = gc_check_f32(label, net_loss, &c, l2h_nn_params(net), np, g, &o);
    const int ok = rx.checked > 0 && rx.bad == 0 && (np == 0 || rp.checked > 0) && rp.bad == 0 &&
                   rx.skipped * 10 <= rx.checked + rx.skipped;
    if (!ok)
        fprintf(stderr, "%s: dx %zu/%zu bad (skipped %zu), dparams %zu/%zu bad\n", name, rx.bad,
                rx.checked, rx.skipped, rp.bad, rp.checked);
    free(c.r);
    free(c.y);
    free(dx);
    free(g);
    return ok;
}

/* Training forward of one bn layer against double loops; running statistics; inference. */
static void test_bn_forward(size_t C, size_t H, size_t W, size_t n)
{
    const l2h_layer_spec s = {.kind = L2H_LAYER_BATCHNORM};
    l2h_nn *net = NULL;
    CHECK_OK(l2h_nn_create(&net, "t", C, H, W, &s, 1, n));
    if (!net) return;
    CHECK_OK(l2h_nn_init(net, L2H_INIT_HE, 0.0f, 1));
    size_t nt;
    const l2h_nn_tensor *t = l2h_nn_tensors(net, &nt);
    CHECK_EQ_I(nt, 2);
    CHECK(t[0].rank == 1 && t[0].count == C && t[0].decay_mult == 0.0f);
    CHECK(t[1].count == 3 * C && t[1].is_bias);
    float *p = l2h_nn_params(net);
    int init_ok = 1;
    for (size_t c = 0; c < C; c++)
        init_ok &= p[c] == 1.0f && p[C + c] == 0.0f && p[2 * C + c] == 0.0f && p[3 * C + c] == 1.0f;
    CHECK(init_ok);
    for (size_t c = 0; c < C; c++) { /* γ, β away from their defaults */
        p[c] = (float)(0.5 + 0.25 * (double)c);
        p[C + c] = (float)(0.1 * (double)c - 0.2);
    }
    const size_t hw = H * W, dim = C * hw;
    float *x = malloc(n * dim * sizeof *x), *y = malloc(n * dim * sizeof *y);
    fill_normal(x, n * dim, 3.0, 2.0);
    CHECK_OK(l2h_nn_forward(net, x, n, y));
    double err = 0.0, run_err = 0.0;
    for (size_t c = 0; c < C; c++) {
        double mu = 0, var = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; k < hw; k++) mu += (double)x[(i * C + c) * hw + k];
        mu /= (double)(n * hw);
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; k < hw; k++) var += pow((double)x[(i * C + c) * hw + k] - mu, 2);
        var /= (double)(n * hw);
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; k < hw; k++) {
                const size_t j = (i * C + c) * hw + k;
                const double want =
                    (double)p[c] * ((double)x[j] - mu) / sqrt(var + 1e-5) + (double)p[C + c];
                err = fmax(err, fabs(want - (double)y[j]));
            }
        const double m = (double)(n * hw);
        run_err = fmax(run_err, fabs((double)p[2 * C + c] - 0.1 * mu));
        run_err = fmax(run_err, fabs((double)p[3 * C + c] - (0.9 + 0.1 * var * m / (m - 1))));
    }
    CHECK(err < 1e-5);
    CHECK(run_err < 1e-5);
    /* inference uses the running statistics */
    CHECK_OK(l2h_nn_infer(net, x, n, y));
    double ierr = 0.0;
    for (size_t c = 0; c < C; c++)
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; k < hw; k++) {
                const size_t j = (i * C + c) * hw + k;
                const double want = (double)p[c] * ((double)x[j] - (double)p[2 * C + c]) /
                                        sqrt((double)p[3 * C + c] + 1e-5) +
                                    (double)p[C + c];
                ierr = fmax(ierr, fabs(want - (double)y[j]));
            }
    CHECK(ierr < 1e-4);
    /* gradients (training statistics) */
    char name[64];
    snprintf(name, sizeof name, "bn %zux%zux%zu n=%zu", C, H, W, n);
    CHECK(check_grads(name, net, x, n, 5e-3));
    free(x);
    free(y);
    l2h_nn_free(net);
}

static void test_dropout(void)
{
    const size_t n = 50, dim = 40;
    const l2h_layer_spec s = {.kind = L2H_LAYER_DROPOUT, .out = 30};
    l2h_nn *net = NULL;
    CHECK_OK(l2h_nn_create(&net, "t", dim, 1, 1, &s, 1, n));
    if (!net) return;
    CHECK_EQ_I(l2h_nn_n_params(net), 0);
    CHECK_OK(l2h_nn_init(net, L2H_INIT_HE, 0.0f, 7));
    {
        float xs[6 * 40];
        fill_normal(xs, 6 * 40, 0.0, 1.0);
        CHECK(check_grads("dropout", net, xs, 6, 1e-3));
    }
    CHECK_OK(l2h_nn_init(net, L2H_INIT_HE, 0.0f, 7));
    float *x = malloc(n * dim * sizeof *x), *y = malloc(n * dim * sizeof *y),
          *y2 = malloc(n * dim * sizeof *y2);
    fill_normal(x, n * dim, 1.0, 0.5);
    for (size_t i = 0; i < n * dim; i++)
        if (x[i] == 0.0f) x[i] = 1.0f;
    CHECK_OK(l2h_nn_forward(net, x, n, y));
    size_t dropped = 0, bad = 0;
    for (size_t i = 0; i < n * dim; i++) {
        if (y[i] == 0.0f) dropped++;
        else bad += fabsf(y[i] - x[i] / 0.7f) > 1e-6f * fabsf(x[i]);
    }
    CHECK_EQ_I(bad, 0);
    CHECK(fabs((double)dropped / (double)(n * dim) - 0.3) < 0.04); /* 2,000 draws: sd 0.01 */
    /* a new mask on the next forward, the same one after re-initialising with the same seed */
    CHECK_OK(l2h_nn_forward(net, x, n, y2));
    CHECK(memcmp(y, y2, n * dim * sizeof *y) != 0);
    CHECK_OK(l2h_nn_init(net, L2H_INIT_HE, 0.0f, 7));
    CHECK_OK(l2h_nn_forward(net, x, n, y2));
    CHECK(memcmp(y, y2, n * dim * sizeof *y) == 0);
    /* inference is the identity */
    CHECK_OK(l2h_nn_infer(net, x, n, y2));
    CHECK(memcmp(x, y2, n * dim * sizeof *y) == 0);
    free(x);
    free(y);
    free(y2);
    l2h_nn_free(net);
}

/* MLP with batch norm and dropout, and a CNN stage with 2-d batch norm, end to end. */
static void test_stacks(void)
{
    const l2h_layer_spec mlp[] = {
        {.kind = L2H_LAYER_LINEAR, .out = 12}, {.kind = L2H_LAYER_BATCHNORM},
        {.kind = L2H_LAYER_RELU},              {.kind = L2H_LAYER_DROPOUT, .out = 25},
        {.kind = L2H_LAYER_LINEAR, .out = 6},  {.kind = L2H_LAYER_BATCHNORM},
    };
    l2h_nn *net = NULL;
    CHECK_OK(l2h_nn_create(&net, "mlp", 9, 1, 1, mlp, 6, 8));
    if (!net) return;
    CHECK_OK(l2h_nn_init(net, L2H_INIT_HE, 0.0f, 3));
    float x[8 * 9];
    fill_normal(x, 8 * 9, 0.0, 1.0);
    CHECK(check_grads("mlp+bn+dropout", net, x, 8, 5e-3));
    char text[256];
    size_t ns;
    const l2h_layer_spec *sp = l2h_nn_specs(net, &ns);
    CHECK_OK(l2h_nn_specs_format(sp, ns, text, sizeof text));
    CHECK(strcmp(text, "linear:12,bn,relu,dropout:25,linear:6,bn") == 0);
    l2h_layer_spec back[8];
    size_t nb = 0;
    CHECK_OK(l2h_nn_specs_parse(text, back, 8, &nb));
    CHECK(nb == 6 && back[1].kind == L2H_LAYER_BATCHNORM && back[3].kind == L2H_LAYER_DROPOUT &&
          back[3].out == 25);
    l2h_nn_free(net);

    const l2h_layer_spec cnn[] = {
        {.kind = L2H_LAYER_CONV2D, .out = 3, .kh = 3, .kw = 3, .pad = 1},
        {.kind = L2H_LAYER_BATCHNORM},
        {.kind = L2H_LAYER_RELU},
        {.kind = L2H_LAYER_FLATTEN},
        {.kind = L2H_LAYER_DROPOUT, .out = 50},
        {.kind = L2H_LAYER_LINEAR, .out = 4},
    };
    CHECK_OK(l2h_nn_create(&net, "cnn", 2, 5, 5, cnn, 6, 4));
    if (!net) return;
    CHECK_OK(l2h_nn_init(net, L2H_INIT_HE, 0.0f, 4));
    float xi[4 * 50];
    fill_normal(xi, 4 * 50, 0.5, 1.0);
    CHECK(check_grads("conv+bn2d+dropout", net, xi, 4, 5e-3));
    l2h_nn_free(net);
}

static void test_errors(void)
{
    l2h_nn *net = NULL;
    const l2h_layer_spec d0 = {.kind = L2H_LAYER_DROPOUT, .out = 0};
    const l2h_layer_spec d100 = {.kind = L2H_LAYER_DROPOUT, .out = 100};
    const l2h_layer_spec bn = {.kind = L2H_LAYER_BATCHNORM, .out = 3};
    CHECK(l2h_nn_create(&net, "t", 4, 1, 1, &d0, 1, 2) == L2H_ERR_ARG && net == NULL);
    CHECK(l2h_nn_create(&net, "t", 4, 1, 1, &d100, 1, 2) == L2H_ERR_ARG && net == NULL);
    CHECK(l2h_nn_create(&net, "t", 4, 1, 1, &bn, 1, 2) == L2H_ERR_ARG && net == NULL);
    l2h_layer_spec s[4];
    size_t n;
    CHECK(l2h_nn_specs_parse("dropout:100", s, 4, &n) == L2H_ERR_FORMAT);
    CHECK(l2h_nn_specs_parse("dropout:0", s, 4, &n) == L2H_ERR_FORMAT);
    CHECK(l2h_nn_specs_parse("bnx", s, 4, &n) == L2H_ERR_FORMAT);
    CHECK(l2h_nn_specs_parse("bn:3", s, 4, &n) == L2H_ERR_FORMAT);
}

int main(void)
{
    l2h_rng_seed(&g_rng, test_seed());
    test_bn_forward(5, 1, 1, 7);
    test_bn_forward(3, 4, 3, 2);
    test_bn_forward(2, 2, 2, 1); /* one item: statistics over its plane only */
    test_dropout();
    test_stacks();
    test_errors();
    return check_report();
}
