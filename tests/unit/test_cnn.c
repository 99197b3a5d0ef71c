/* test_cnn.c -- the .tflite reader and the quantised network on small synthetic graphs written by
 * tflite_writer.h: fast kernels bit-identical to the plain references (both requantisations, with
 * and without the AVX-512 paths), TFLite's fixed-point multiply against exact arithmetic, clean
 * refusal of truncated, bit-flipped and unsupported models.
 *   test_cnn [--write-corpus DIR]   also writes the fuzz seeds of fuzz_tflite. */
#include "check.h"
#include "cnn_internal.h"
#include "nn.h"
#include "tflite_writer.h"

#include <stdio.h>
#include <string.h>

enum { S = 13 }; /* odd input side: SAME padding at both ends, stride-2 remainders */

typedef struct synth {
    tflw_tensor t[32];
    tflw_op o[16];
    size_t nt, no;
    uint8_t wbuf[8][4096];
    int32_t bbuf[8][64];
    int nw;
} synth;

static int32_t add_act(synth *s, int h, int w, int c, float scale, int zp)
{
    tflw_tensor *t = &s->t[s->nt];
    memset(t, 0, sizeof *t);
    t->ndim = 4;
    t->shape[0] = 1;
    t->shape[1] = h;
    t->shape[2] = w;
    t->shape[3] = c;
    t->type = 3;
    t->scale = scale;
    t->zp = zp;
    return (int32_t)s->nt++;
}

static int32_t add_weights(synth *s, l2h_rng *rng, int o, int kh, int kw, int i, float scale, int zp)
{
    const int k = s->nw++;
    const size_t n = (size_t)o * kh * kw * i;
    for (size_t j = 0; j < n; j++) s->wbuf[k][j] = (uint8_t)(zp - 60 + (int)l2h_rng_below(rng, 121));
    tflw_tensor *t = &s->t[s->nt];
    memset(t, 0, sizeof *t);
    t->ndim = 4;
    t->shape[0] = o;
    t->shape[1] = kh;
    t->shape[2] = kw;
    t->shape[3] = i;
    t->type = 3;
    t->data = s->wbuf[k];
    t->len = n;
    t->scale = scale;
    t->zp = zp;
    const int32_t wi = (int32_t)s->nt++;
    const int oc = o == 1 ? i : o;
    for (int j = 0; j < oc; j++) s->bbuf[k][j] = (int32_t)l2h_rng_below(rng, 4001) - 2000;
    tflw_tensor *b = &s->t[s->nt];
    memset(b, 0, sizeof *b);
    b->ndim = 1;
    b->shape[0] = oc;
    b->type = 2;
    b->data = s->bbuf[k];
    b->len = 4 * (size_t)oc;
    b->scale = 1e-4f;
    b->zp = 0;
    s->nt++;
    return wi;
}

static void add_op(synth *s, int code, int32_t in, int32_t w, int32_t out, int padding, int stride,
                   int filter)
{
    tflw_op *op = &s->o[s->no++];
    memset(op, 0, sizeof *op);
    op->code = code;
    op->in[0] = in;
    op->n_in = 1;
    if (w >= 0) {
        op->in[1] = w;
        op->in[2] = w + 1;
        op->n_in = 3;
    }
    op->out = out;
    op->padding = padding;
    op->stride = stride;
    op->act = 3;
    op->filter = filter;
    op->depth_mult = 1;
}

/* input S x S x 3 (zp 128) -> conv 3x3/2 SAME 16 -> dw 3x3/1 SAME -> conv 1x1 32 -> dw 3x3/2
 * SAME -> conv 1x1 48 -> conv 3x3/1 VALID 8 (not a multiple of 16: scalar requantisation) ->
 * avg pool VALID -> reshape. */
static uint8_t *synth_model(uint64_t seed, int variant, size_t *len)
{
    static synth s;
    memset(&s, 0, sizeof s);
    l2h_rng rng;
    l2h_rng_seed(&rng, seed);
    const float a = 6.0f / 255.0f;
    int32_t x = add_act(&s, S, S, 3, 1.0f / 128.0f, 128);
    int32_t w = add_weights(&s, &rng, 16, 3, 3, 3, 0.012f, 120), y = add_act(&s, 7, 7, 16, a, 0);
    add_op(&s, 3, x, w, y, 0, 2, 0);
    x = y;
    w = add_weights(&s, &rng, 1, 3, 3, 16, 0.01f, 131), y = add_act(&s, 7, 7, 16, a, 0);
    add_op(&s, 4, x, w, y, 0, 1, 0);
    x = y;
    w = add_weights(&s, &rng, 32, 1, 1, 16, 0.008f, 125), y = add_act(&s, 7, 7, 32, a, 0);
    add_op(&s, 3, x, w, y, 0, 1, 0);
    x = y;
    w = add_weights(&s, &rng, 1, 3, 3, 32, 0.01f, 140), y = add_act(&s, 4, 4, 32, a, 0);
    add_op(&s, 4, x, w, y, 0, 2, 0);
    x = y;
    w = add_weights(&s, &rng, 48, 1, 1, 32, 0.006f, 110), y = add_act(&s, 4, 4, 48, a, 0);
    add_op(&s, 3, x, w, y, 0, 1, 0);
    x = y;
    if (variant == 2) { /* MobileNet's end: the separable block, then a global average pool */
        y = add_act(&s, 1, 1, 48, a, 0);
        add_op(&s, 1, x, -1, y, 1, 1, 4);
        x = y;
        tflw_tensor *r2 = &s.t[s.nt];
        *r2 = s.t[y];
        r2->ndim = 2;
        r2->shape[0] = 1;
        r2->shape[1] = 48;
        y = (int32_t)s.nt++;
        add_op(&s, 22, x, -1, y, 0, 0, 0);
        return tflw_write(s.t, s.nt, s.o, s.no, 0, y, len);
    }
    w = add_weights(&s, &rng, 8, 3, 3, 48, 0.004f, 128), y = add_act(&s, 2, 2, 8, a, 0);
    add_op(&s, 3, x, w, y, 1, 1, 0);
    x = y;
    y = add_act(&s, 1, 1, 8, a, 0);
    add_op(&s, 1, x, -1, y, 1, 2, 2);
    x = y;
    tflw_tensor *r = &s.t[s.nt];
    *r = s.t[y];
    r->ndim = 2;
    r->shape[0] = 1;
    r->shape[1] = 8;
    y = (int32_t)s.nt++;
    add_op(&s, variant == 1 ? 25 : 22, x, -1, y, 0, 0, 0); /* 25 = SOFTMAX: unsupported */
    return tflw_write(s.t, s.nt, s.o, s.no, 0, y, len);
}

static void fill_input(uint8_t *in, size_t n, l2h_rng *rng)
{
    for (size_t i = 0; i < n; i++) in[i] = (uint8_t)l2h_rng_below(rng, 256);
}

static void test_synthetic_exact(void)
{
    size_t len;
    uint8_t *buf = synth_model(7, 0, &len);
    l2h_cnn *net = NULL;
    CHECK_OK(l2h_cnn_load_memory(buf, len, "synth", &net));
    if (!net) {
        free(buf);
        return;
    }
    CHECK_EQ_I(l2h_cnn_input_size(net), S);
    CHECK_EQ_I(l2h_cnn_feature_dim(net), 8);
    const double macs = 7.0 * 7 * 16 * 27 + 49 * 16 * 9 + 49 * 32 * 16 + 16 * 32 * 9 +
                        16 * 48 * 32 + 4 * 8 * 9 * 48;
    CHECK_NEAR(l2h_cnn_macs(net), macs, 0, 0.5);
    enum { N = 6 };
    uint8_t in[N * S * S * 3], fast[N * 8], ref[N * 8];
    l2h_rng rng;
    l2h_rng_seed(&rng, 11);
    fill_input(in, sizeof in, &rng);
    for (int ar = 0; ar < 2; ar++) {
        CHECK_OK(l2h_cnn_set_arithmetic(net, ar ? L2H_CNN_FLOAT_REQUANT : L2H_CNN_TFLITE));
        CHECK_OK(l2h_cnn_run_reference(net, in, N, ref));
        for (int dis = 0; dis < 2; dis++) {
            cnn_disable_vnni = dis;
            memset(fast, 0xAA, sizeof fast);
            CHECK_OK(l2h_cnn_run(net, in, N, fast));
            CHECK(memcmp(fast, ref, sizeof ref) == 0);
        }
        cnn_disable_vnni = 0;
        /* the check is not vacuous: outputs vary */
        int distinct = 0, seen[256] = {0};
        for (size_t i = 0; i < sizeof ref; i++)
            if (!seen[ref[i]]++) distinct++;
        CHECK(distinct >= 5);
    }
    /* each layer, fast against reference, on the same random activations, both arithmetics */
    const l2h_cnn *c = net;
    uint8_t *act = malloc(c->max_act), *o1 = malloc(c->max_act), *o2 = malloc(c->max_act);
    int32_t *scr = l2h_aligned_alloc(64, (c->max_act + 4096) * 4);
    for (size_t li = 0; li < 2 * c->n_layers; li++) {
        if (li % c->n_layers == 0) /* first pass TFLite fixed point, second float requant */
            CHECK_OK(l2h_cnn_set_arithmetic(net, li ? L2H_CNN_FLOAT_REQUANT : L2H_CNN_TFLITE));
        const cnn_layer *L = &c->layers[li % c->n_layers];
        fill_input(act, (size_t)L->ih * L->iw * L->ic, &rng);
        for (size_t i = 0; i < (size_t)L->ih * L->iw * L->ic; i++) act[i] = (uint8_t)(act[i] % 60);
        const size_t on = (size_t)L->oh * L->ow * L->oc;
        for (int dis = 0; dis < 2; dis++) {
            cnn_disable_vnni = dis;
            if (L->kind == CNN_CONV) {
                cnn_conv_ref(L, act, o1);
                cnn_conv_fast(L, act, o2, scr);
            } else if (L->kind == CNN_DWCONV) {
                cnn_dwconv_ref(L, act, o1);
                cnn_dwconv_fast(L, act, o2, scr);
            } else continue;
            CHECK(memcmp(o1, o2, on) == 0);
        }
        cnn_disable_vnni = 0;
    }
    free(act);
    free(o1);
    free(o2);
    l2h_aligned_free(scr);
    l2h_cnn_free(net);
    free(buf);
}

/* TFLite's fixed point against exact rational arithmetic. TFLite rounds twice (the doubling high
 * multiply to an integer, then the rounding right shift by r = -shift bits), so it may differ
 * from the exactly rounded product by one, but only when the product lies within half a unit
 * of 2^-r of a tie. */
static void test_requant(void)
{
    l2h_rng rng;
    l2h_rng_seed(&rng, 3);
    long exact = 0, total = 0, off_by_more = 0;
    for (int t = 0; t < 200000; t++) {
        const double real = exp(-10.0 * l2h_rng_uniform(&rng)) * 0.999;
        int32_t m;
        int sh;
        cnn_quantize_multiplier(real, &m, &sh);
        const double back = ldexp((double)m, sh - 31);
        if (fabs(back - real) > real * 1e-9) off_by_more++;
        const int32_t x = (int32_t)l2h_rng_below(&rng, 2000001) - 1000000;
        const int32_t got = cnn_requant(x, m, sh);
        const double want = (double)x * back;
        const double r = want >= 0 ? floor(want + 0.5) : -floor(-want + 0.5);
        if (fabs((double)got - r) > 1) off_by_more++;
        const double tie = floor(want) + 0.5;
        if (got != (int32_t)r && fabs(want - tie) > ldexp(0.5, sh)) off_by_more++;
        exact += got == (int32_t)r;
        total++;
    }
    CHECK_EQ_I(off_by_more, 0);
    CHECK((double)exact / (double)total > 0.9);
    int32_t m;
    int sh;
    cnn_quantize_multiplier(0.5, &m, &sh);
    CHECK_EQ_I(m, 1 << 30);
    CHECK_EQ_I(sh, 0);
    CHECK_EQ_I(cnn_requant(100, m, sh), 50);
    CHECK_EQ_I(cnn_requant(-100, m, sh), -50);
    cnn_quantize_multiplier(0.25, &m, &sh);
    CHECK_EQ_I(cnn_requant(6, m, sh), 2);   /* 1.5 rounds away from zero */
    CHECK_EQ_I(cnn_requant(-6, m, sh), -2);
}

static void test_corrupt(void)
{
    size_t len;
    uint8_t *buf = synth_model(5, 0, &len);
    l2h_cnn *net = NULL;
    int bad_ok = 0, named = 1;
    for (size_t cut = 0; cut < len; cut += 3) { /* every truncation is refused */
        const l2h_status st = l2h_cnn_load_memory(buf, cut, "cut", &net);
        if (st == L2H_OK || net != NULL) bad_ok++;
        if (strncmp(l2h_last_error(), "cut", 3) != 0) named = 0;
        l2h_cnn_free(net);
        net = NULL;
    }
    CHECK_EQ_I(bad_ok, 0);
    CHECK(named);
    l2h_rng rng;
    l2h_rng_seed(&rng, 9);
    uint8_t *m = malloc(len);
    int loaded = 0;
    for (int t = 0; t < 400; t++) { /* bit flips: refused or a network that runs */
        memcpy(m, buf, len);
        for (int k = 0; k < 3; k++) m[l2h_rng_below(&rng, len)] ^= (uint8_t)(1u << l2h_rng_below(&rng, 8));
        if (l2h_cnn_load_memory(m, len, "flip", &net) == L2H_OK) {
            loaded++;
            const size_t side = l2h_cnn_input_size(net);
            if (l2h_cnn_macs(net) < 1e8 && side <= 64) {
                uint8_t *in = calloc(side * side * 3, 1), *out = malloc(l2h_cnn_feature_dim(net));
                CHECK_OK(l2h_cnn_run(net, in, 1, out));
                free(in);
                free(out);
            }
            l2h_cnn_free(net);
            net = NULL;
        }
    }
    CHECK(loaded > 0); /* some flips only touch weight bytes */
    free(m);
    CHECK_STATUS(l2h_cnn_load_memory("GIF89a......", 12, "gif", &net), L2H_ERR_FORMAT);
    free(buf);
    buf = synth_model(5, 1, &len);
    CHECK_STATUS(l2h_cnn_load_memory(buf, len, "softmax", &net), L2H_ERR_UNSUPPORTED);
    CHECK(strstr(l2h_last_error(), "25") != NULL);
    CHECK(net == NULL);
    free(buf);
    CHECK_STATUS(l2h_cnn_load("no/such/model.tflite", &net), L2H_ERR_IO);
}

static int write_corpus(const char *dir)
{
    char p[1024];
    for (int v = 0; v < 2; v++) {
        size_t len;
        uint8_t *buf = synth_model(5 + (uint64_t)v, v, &len);
        snprintf(p, sizeof p, "%s/synth_%s.tflite", dir, v ? "softmax" : "ok");
        FILE *f = fopen(p, "wb");
        if (!f || fwrite(buf, 1, len, f) != len) return 1;
        fclose(f);
        snprintf(p, sizeof p, "%s/synth_truncated.tflite", dir);
        if (v == 0 && (f = fopen(p, "wb")) != NULL) {
            fwrite(buf, 1, len / 2, f);
            fclose(f);
        }
        free(buf);
    }
    return 0;
}

/* The last block for fine-tuning: found in a network that ends like MobileNet, refused in one
 * that does not; the cached block inputs equal the activations the network computed; the block
 * rebuilt in float from the dequantised weights (src/nn: dwconv, relu6, 1x1 conv, relu6,
 * avgpool) on those inputs reproduces the uint8 features to within the rounding of the uint8
 * intermediate (which checks every weight layout and scale). */
static void test_last_block(void)
{
    size_t len;
    uint8_t *buf = synth_model(7, 0, &len);
    l2h_cnn *net = NULL;
    CHECK_OK(l2h_cnn_load_memory(buf, len, "synth", &net));
    l2h_cnn_block bi;
    if (net) CHECK_STATUS(l2h_cnn_last_block(net, &bi, NULL, NULL, NULL, NULL), L2H_ERR_UNSUPPORTED);
    uint8_t in1[S * S * 3] = {0}, o1[8], tap1[32 * 49];
    if (net) CHECK_STATUS(l2h_cnn_run_tap(net, in1, 1, o1, tap1), L2H_ERR_UNSUPPORTED);
    l2h_cnn_free(net);
    free(buf);
    buf = synth_model(7, 2, &len);
    net = NULL;
    CHECK_OK(l2h_cnn_load_memory(buf, len, "synth2", &net));
    if (!net) {
        free(buf);
        return;
    }
    CHECK_OK(l2h_cnn_last_block(net, &bi, NULL, NULL, NULL, NULL));
    CHECK(bi.channels == 32 && bi.height == 7 && bi.width == 7 && bi.kernel == 3 &&
          bi.stride == 2 && bi.pad == 1 && bi.out_channels == 48 && bi.in_zero_point == 0);
    CHECK_EQ_I(l2h_cnn_feature_dim(net), 48);
    enum { N = 5, TD = 32 * 49 };
    float dww[32 * 9], dwb[32], pww[48 * 32], pwb[48];
    CHECK_OK(l2h_cnn_last_block(net, NULL, dww, dwb, pww, pwb));
    uint8_t in[N * S * S * 3], feat[N * 48], feat2[N * 48], tap[N * TD];
    l2h_rng rng;
    l2h_rng_seed(&rng, 5);
    fill_input(in, sizeof in, &rng);
    CHECK_OK(l2h_cnn_run_tap(net, in, N, feat, tap));
    CHECK_OK(l2h_cnn_run(net, in, N, feat2));
    CHECK(memcmp(feat, feat2, sizeof feat) == 0);
    /* the tap is the input of the depthwise layer, transposed to channel-major */
    size_t d = 0;
    for (size_t i = 0; i < net->n_layers; i++)
        if (net->layers[i].kind == CNN_DWCONV) d = i;
    const l2h_cnn *c = net;
    uint8_t *a = malloc(c->max_act), *b = malloc(c->max_act);
    int32_t *scr = l2h_aligned_alloc(64, (c->max_act + 4096) * 4);
    int tap_ok = 1, nonzero = 0;
    for (size_t i = 0; i < N; i++) {
        memcpy(a, in + i * S * S * 3, S * S * 3);
        for (size_t l = 0; l < d; l++) {
            const cnn_layer *L = &c->layers[l];
            if (L->kind == CNN_CONV) cnn_conv_ref(L, a, b);
            else cnn_dwconv_ref(L, a, b);
            memcpy(a, b, (size_t)L->oh * L->ow * L->oc);
        }
        for (size_t p = 0; p < 49; p++)
            for (size_t ch = 0; ch < 32; ch++) {
                tap_ok &= tap[i * TD + ch * 49 + p] == a[p * 32 + ch];
                nonzero += a[p * 32 + ch] != 0;
            }
    }
    CHECK(tap_ok && nonzero > 100);
    free(a);
    free(b);
    l2h_aligned_free(scr);
    /* float block on the dequantised tap */
    const l2h_layer_spec specs[] = {
        {.kind = L2H_LAYER_DWCONV, .kh = 3, .kw = 3, .stride = 2, .pad = 1},
        {.kind = L2H_LAYER_RELU6},
        {.kind = L2H_LAYER_CONV2D, .out = 48, .kh = 1, .kw = 1, .stride = 1},
        {.kind = L2H_LAYER_RELU6},
        {.kind = L2H_LAYER_AVGPOOL},
    };
    l2h_nn *nn = NULL;
    CHECK_OK(l2h_nn_create(&nn, "cnn", 32, 7, 7, specs, 5, 0));
    if (nn) {
        float *w = l2h_nn_params(nn);
        memcpy(w, dww, sizeof dww);
        memcpy(w + 32 * 9, dwb, sizeof dwb);
        memcpy(w + 32 * 10, pww, sizeof pww);
        memcpy(w + 32 * 10 + 48 * 32, pwb, sizeof pwb);
        float x[N * TD], y[N * 48];
        for (size_t i = 0; i < N * TD; i++)
            x[i] = (float)(((int)tap[i] - bi.in_zero_point) * bi.in_scale);
        CHECK_OK(l2h_nn_infer(nn, x, N, y));
        double max_err = 0, mean_err = 0, mean_val = 0;
        for (size_t i = 0; i < N * 48; i++) {
            const double q = (double)feat[i] * bi.out_scale; /* output zero point 0 */
            max_err = fmax(max_err, fabs(q - (double)y[i]));
            mean_err += fabs(q - (double)y[i]) / (N * 48);
            mean_val += q / (N * 48);
        }
        /* in output steps: the uint8 depthwise output is rounded (±0.5 step of its scale) and
         * the pool rounds once more */
        printf("last block in float vs uint8: max %.3f, mean %.3f output steps (mean value "
               "%.1f steps)\n", max_err / bi.out_scale, mean_err / bi.out_scale,
               mean_val / bi.out_scale);
        CHECK(mean_val / bi.out_scale > 5);
        CHECK(max_err <= 1.5 * bi.out_scale && mean_err <= 0.4 * bi.out_scale);
        l2h_nn_free(nn);
    }
    l2h_cnn_free(net);
    free(buf);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write-corpus") == 0) return write_corpus(argv[2]);
    test_requant();
    test_synthetic_exact();
    test_last_block();
    test_corrupt();
    return check_report();
}
