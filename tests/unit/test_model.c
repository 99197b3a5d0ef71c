/* test_model.c -- models: LSH (determinism, N(0,1) weights, balanced bits on centred data),
 * ITQ (orthogonal R, quantisation loss non-increasing, Procrustes step optimal, PCA against
 * power iteration, codes of a hand-made dataset, bits > dim refused), forward against a
 * hand computation, encode = pack(forward), save -> load -> identical outputs, and malformed
 * model files refused with the right status. */
#include "check.h"

#include "l2h/l2h.h"
#include "model_internal.h"

#include <string.h>
#include <unistd.h>

static l2h_rng rng;

/* n x dim Gaussian data with per-column scale and offset. */
static l2h_dataset *gaussian_data(size_t n, size_t dim, float offset)
{
    float *x = malloc(n * dim * sizeof *x);
    for (size_t i = 0; i < n * dim; i++)
        x[i] = offset + (float)l2h_rng_normal(&rng) * (1.0f + (float)(i % dim) / (float)dim);
    l2h_dataset *ds = NULL;
    CHECK_OK(l2h_dataset_create(&ds, n, dim, x));
    free(x);
    return ds;
}

static const float *linear_w(const l2h_model *m)
{
    const float *w = NULL, *b = NULL;
    CHECK_OK(l2h_net_linear_params(l2h_model_net(m), &w, &b));
    return w;
}

static void test_lsh(void)
{
    const size_t n = 2000, dim = 32, bits = 64;
    l2h_dataset *ds = gaussian_data(n, dim, 5.0f);
    l2h_baseline_params p = l2h_baseline_default_params(bits);
    p.seed = 7;
    l2h_model *a = NULL, *b = NULL, *c = NULL, *raw = NULL;
    CHECK_OK(l2h_lsh_train(&a, ds, &p));
    CHECK_OK(l2h_lsh_train(&b, ds, &p));
    p.seed = 8;
    CHECK_OK(l2h_lsh_train(&c, ds, &p));
    p.seed = 7;
    p.center = 0;
    CHECK_OK(l2h_lsh_train(&raw, ds, &p));
    if (!a || !b || !c || !raw) return;
    CHECK_EQ_I(l2h_model_bits(a), bits);
    CHECK_EQ_I(l2h_model_dim(a), dim);
    CHECK(strcmp(l2h_model_method(a), "lsh") == 0 && strcmp(l2h_model_arch(a), "linear") == 0);
    CHECK(strcmp(l2h_model_meta(a, "seed"), "7") == 0);
    CHECK(strcmp(l2h_model_meta(a, "center"), "1") == 0);
    CHECK(strcmp(l2h_model_meta(raw, "center"), "0") == 0);
    CHECK(strcmp(l2h_model_meta(a, "format"), "l2h-model") == 0);
    CHECK(strcmp(l2h_model_meta(a, "nope"), "") == 0);

    /* determinism for a seed; another seed gives other weights */
    CHECK(memcmp(linear_w(a), linear_w(b), bits * dim * sizeof(float)) == 0);
    CHECK(memcmp(linear_w(a), linear_w(c), bits * dim * sizeof(float)) != 0);
    CHECK(memcmp(linear_w(a), linear_w(raw), bits * dim * sizeof(float)) == 0);

    /* W ~ N(0, 1) */
    double s = 0, s2 = 0;
    const float *w = linear_w(a);
    for (size_t i = 0; i < bits * dim; i++) {
        s += (double)w[i];
        s2 += (double)w[i] * (double)w[i];
    }
    const double mean = s / (double)(bits * dim), var = s2 / (double)(bits * dim) - mean * mean;
    CHECK_NEAR(mean, 0.0, 0, 0.1);
    CHECK_NEAR(var, 1.0, 0, 0.15);

    /* balanced bits on centred data; strongly unbalanced without centring (offset 5) */
    const size_t bytes = l2h_code_bytes(bits);
    uint8_t *codes = malloc(n * bytes), *codes2 = malloc(n * bytes);
    CHECK_OK(l2h_model_encode(a, l2h_dataset_features(ds), n, codes));
    CHECK_OK(l2h_model_encode(b, l2h_dataset_features(ds), n, codes2));
    CHECK(memcmp(codes, codes2, n * bytes) == 0);
    double worst = 0;
    for (size_t j = 0; j < bits; j++) {
        size_t ones = 0;
        for (size_t i = 0; i < n; i++) ones += codes[i * bytes + j / 8] >> (j % 8) & 1;
        const double dev = fabs((double)ones / (double)n - 0.5);
        if (dev > worst) worst = dev;
    }
    CHECK(worst < 0.1);
    CHECK_OK(l2h_model_encode(raw, l2h_dataset_features(ds), n, codes));
    double avg = 0;
    for (size_t j = 0; j < bits; j++) {
        size_t ones = 0;
        for (size_t i = 0; i < n; i++) ones += codes[i * bytes + j / 8] >> (j % 8) & 1;
        avg += fabs((double)ones / (double)n - 0.5) / (double)bits;
    }
    CHECK(avg > 0.3);
    free(codes);
    free(codes2);

    /* subsampling: deterministic, recorded */
    p.center = 1;
    p.max_train = 100;
    l2h_model *s1 = NULL, *s2m = NULL;
    CHECK_OK(l2h_lsh_train(&s1, ds, &p));
    CHECK_OK(l2h_lsh_train(&s2m, ds, &p));
    CHECK(s1 && strcmp(l2h_model_meta(s1, "n_train"), "100") == 0);
    CHECK(s1 && s2m && memcmp(s1->mean, s2m->mean, dim * sizeof(float)) == 0);
    CHECK(s1 && memcmp(s1->mean, a->mean, dim * sizeof(float)) != 0);

    /* argument errors */
    l2h_model *bad = (l2h_model *)&rng;
    p = l2h_baseline_default_params(0);
    CHECK_STATUS(l2h_lsh_train(&bad, ds, &p), L2H_ERR_ARG);
    CHECK(bad == NULL);
    p.bits = L2H_MAX_BITS + 1;
    CHECK_STATUS(l2h_lsh_train(&bad, ds, &p), L2H_ERR_ARG);
    CHECK_STATUS(l2h_lsh_train(&bad, NULL, &p), L2H_ERR_ARG);
    l2h_model_free(s1);
    l2h_model_free(s2m);
    l2h_model_free(a);
    l2h_model_free(b);
    l2h_model_free(c);
    l2h_model_free(raw);
    l2h_dataset_free(ds);
}

/* z = preprocess(x) · Wᵀ + b, in double, against l2h_model_forward; encode = pack(forward). */
static void test_forward(void)
{
    const size_t n = 37, dim = 5, bits = 13;
    float w[13 * 5], b[13], mean[5], x[37 * 5];
    for (size_t i = 0; i < bits * dim; i++) w[i] = (float)l2h_rng_normal(&rng);
    for (size_t i = 0; i < bits; i++) b[i] = (float)l2h_rng_normal(&rng) * 0.1f;
    for (size_t i = 0; i < dim; i++) mean[i] = (float)i - 2.0f;
    for (size_t i = 0; i < n * dim; i++) x[i] = (float)l2h_rng_normal(&rng) + 1.0f;
    for (size_t j = 0; j < dim; j++) x[3 * dim + j] = mean[j]; /* a row that centres to zero */
    for (int l2n = 0; l2n <= 1; l2n++) {
        l2h_net *net = NULL;
        CHECK_OK(l2h_net_linear_create(&net, dim, bits, w, b));
        l2h_model *m = NULL;
        CHECK_OK(l2h_model_create(&m, "lsh", net, mean, l2n));
        if (!m) return;
        float z[37 * 13];
        CHECK_OK(l2h_model_forward(m, x, n, z));
        double ref[37 * 13], refxp[37 * 5];
        for (size_t i = 0; i < n; i++) {
            double *xp = refxp + i * dim, norm = 0;
            for (size_t j = 0; j < dim; j++) {
                xp[j] = (double)x[i * dim + j] - (double)mean[j];
                norm += xp[j] * xp[j];
            }
            for (size_t j = 0; j < dim && l2n && norm > 0; j++) xp[j] /= sqrt(norm);
            for (size_t k = 0; k < bits; k++) {
                double acc = (double)b[k];
                for (size_t j = 0; j < dim; j++) acc += xp[j] * (double)w[k * dim + j];
                ref[i * bits + k] = acc;
            }
        }
        CHECK_ALL_NEAR(n * bits, z, ref, 1e-5, 1e-5);
        CHECK_ALL_NEAR(bits, z + 3 * bits, b, 0, 1e-6); /* zero row: only the bias */
        uint8_t codes[37 * 2], want[37 * 2];
        CHECK_OK(l2h_model_encode(m, x, n, codes));
        CHECK_OK(l2h_codes_pack(z, n, bits, want));
        CHECK(memcmp(codes, want, sizeof codes) == 0);
        float xp[37 * 5];
        CHECK_OK(l2h_model_preprocess(m, x, n, xp));
        CHECK_ALL_NEAR(n * dim, xp, refxp, 1e-6, 1e-6);
        /* edge cases */
        CHECK_OK(l2h_model_forward(m, NULL, 0, NULL));
        CHECK_STATUS(l2h_model_forward(m, NULL, 3, z), L2H_ERR_ARG);
        CHECK_STATUS(l2h_model_encode(NULL, x, 3, codes), L2H_ERR_ARG);
        float xn[5] = {0, NAN, 0, 0, 0};
        CHECK_STATUS(l2h_model_encode(m, xn, 1, codes), L2H_ERR_NUMERIC);
        l2h_model_free(m);
    }
    l2h_model *m = NULL;
    CHECK_STATUS(l2h_model_create(&m, "lsh", NULL, NULL, 0), L2H_ERR_ARG);
    l2h_model_free(NULL);
}

/* ||sign(V R) - V R||_F^2 (the loss after an optimal B-step) */
static double quant_loss(const double *v, size_t n, size_t b, const double *r)
{
    double loss = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < b; j++) {
            double z = 0;
            for (size_t k = 0; k < b; k++) z += v[i * b + k] * r[k * b + j];
            const double s = z > 0 ? 1 : -1;
            loss += (s - z) * (s - z);
        }
    return loss;
}

/* ||B - V R||_F^2 for a fixed B */
static double fixed_loss(const double *v, const double *bm, size_t n, size_t b, const double *r)
{
    double loss = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < b; j++) {
            double z = 0;
            for (size_t k = 0; k < b; k++) z += v[i * b + k] * r[k * b + j];
            loss += (bm[i * b + j] - z) * (bm[i * b + j] - z);
        }
    return loss;
}

static void test_itq_rotation(void)
{
    enum { N = 300, B = 8, IT = 12 };
    static double v[N * B];
    for (size_t i = 0; i < N * B; i++) v[i] = l2h_rng_normal(&rng) * (0.5 + 0.2 * (double)(i % B));
    double r[B * B], loss[2 * IT + 1];
    CHECK_OK(l2h_itq_rotation(v, N, B, IT, 5, r, loss));
    /* RᵀR = I */
    double worst = 0;
    for (size_t a = 0; a < B; a++)
        for (size_t c = 0; c < B; c++) {
            double dot = 0;
            for (size_t k = 0; k < B; k++) dot += r[k * B + a] * r[k * B + c];
            const double e = fabs(dot - (a == c ? 1.0 : 0.0));
            if (e > worst) worst = e;
        }
    CHECK(worst < 1e-6);
    /* the recorded loss never increases, and ITQ does reduce it */
    int mono = 1;
    for (size_t t = 1; t < 2 * IT + 1; t++)
        if (loss[t] > loss[t - 1] * (1 + 1e-12) + 1e-9) {
            fprintf(stderr, "loss[%zu] = %.12g > loss[%zu] = %.12g\n", t, loss[t], t - 1,
                    loss[t - 1]);
            mono = 0;
        }
    CHECK(mono);
    CHECK(loss[2 * IT] < 0.95 * loss[0]);
    CHECK_NEAR(quant_loss(v, N, B, r), loss[2 * IT], 1e-9, 1e-9);

    /* independently: the optimal-B loss after t rounds (separate runs) is non-increasing */
    double prev = INFINITY, r0[B * B], r1[B * B];
    for (unsigned t = 0; t <= 6; t++) {
        double rt[B * B];
        CHECK_OK(l2h_itq_rotation(v, N, B, t, 5, rt, NULL));
        const double l = quant_loss(v, N, B, rt);
        CHECK(l <= prev * (1 + 1e-12));
        prev = l;
        if (t == 0) memcpy(r0, rt, sizeof r0);
        if (t == 1) memcpy(r1, rt, sizeof r1);
    }
    /* the Procrustes step is optimal for its B = sign(V R0): no small rotation of R1 (Givens,
     * every plane, both signs) does better, and R0 does not either. A transposed update fails
     * this. */
    static double bm[N * B];
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < B; j++) {
            double z = 0;
            for (size_t k = 0; k < B; k++) z += v[i * B + k] * r0[k * B + j];
            bm[i * B + j] = z > 0 ? 1 : -1;
        }
    const double l1 = fixed_loss(v, bm, N, B, r1);
    CHECK(l1 <= fixed_loss(v, bm, N, B, r0));
    int optimal = 1;
    for (size_t p = 0; p < B; p++)
        for (size_t q = p + 1; q < B; q++)
            for (int sgn = -1; sgn <= 1; sgn += 2) {
                const double th = 0.01 * sgn, c = cos(th), s = sin(th);
                double rq[B * B];
                memcpy(rq, r1, sizeof rq);
                for (size_t k = 0; k < B; k++) { /* rq = r1 · G(p, q, th) */
                    const double a = r1[k * B + p], bb = r1[k * B + q];
                    rq[k * B + p] = c * a - s * bb;
                    rq[k * B + q] = s * a + c * bb;
                }
                if (fixed_loss(v, bm, N, B, rq) < l1 - 1e-9) optimal = 0;
            }
    CHECK(optimal);
    CHECK_STATUS(l2h_itq_rotation(v, 0, B, 1, 5, r, NULL), L2H_ERR_ARG);
}

/* top eigenvector of a symmetric c[d,d] by power iteration */
static void power_iteration(const double *c, size_t d, double *v)
{
    for (size_t i = 0; i < d; i++) v[i] = 1.0 + 0.1 * (double)i;
    for (int it = 0; it < 3000; it++) {
        double nv[16], norm = 0;
        for (size_t i = 0; i < d; i++) {
            nv[i] = 0;
            for (size_t j = 0; j < d; j++) nv[i] += c[i * d + j] * v[j];
            norm += nv[i] * nv[i];
        }
        for (size_t i = 0; i < d; i++) v[i] = nv[i] / sqrt(norm);
    }
}

static void test_pca(void)
{
    enum { N = 4000, D = 6, K = 3 };
    static float x[N * D];
    static const double scale[D] = {5, 3, 2, 1, 0.5, 0.2};
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < D; j++)
            x[i * D + j] = (float)(l2h_rng_normal(&rng) * scale[j] + 3.0);
    /* mix the columns so the principal axes are not the coordinate axes */
    for (size_t i = 0; i < N; i++) {
        float *r = x + i * D;
        const float a = r[0], b = r[1], c = r[2];
        r[0] = 0.6f * a + 0.8f * b;
        r[1] = -0.8f * a + 0.6f * b;
        r[2] = c;
    }
    double mu[D], p[D * K], ev[K];
    CHECK_OK(l2h_pca_fit(x, D, NULL, N, NULL, 0, K, mu, p, ev));
    double m[D] = {0}, c[D * D] = {0};
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < D; j++) m[j] += (double)x[i * D + j] / N;
    CHECK_ALL_NEAR(D, mu, m, 1e-9, 1e-9);
    for (size_t i = 0; i < N; i++)
        for (size_t a = 0; a < D; a++)
            for (size_t b = 0; b < D; b++)
                c[a * D + b] += ((double)x[i * D + a] - m[a]) * ((double)x[i * D + b] - m[b]) / N;
    /* deflation: the k-th eigenvector of c is the top one of c - Σ λ v vᵀ */
    for (size_t k = 0; k < K; k++) {
        double v[D];
        power_iteration(c, D, v);
        double lam = 0, dot = 0;
        for (size_t a = 0; a < D; a++)
            for (size_t b = 0; b < D; b++) lam += v[a] * c[a * D + b] * v[b];
        for (size_t a = 0; a < D; a++) dot += v[a] * p[a * K + k];
        CHECK_NEAR(fabs(dot), 1.0, 0, 1e-6);
        CHECK_NEAR(ev[k], lam, 1e-6, 1e-9);
        for (size_t a = 0; a < D; a++)
            for (size_t b = 0; b < D; b++) c[a * D + b] -= lam * v[a] * v[b];
        /* sign convention: the largest-magnitude entry is positive */
        size_t arg = 0;
        for (size_t a = 1; a < D; a++)
            if (fabs(p[a * K + k]) > fabs(p[arg * K + k])) arg = a;
        CHECK(p[arg * K + k] > 0);
    }
    CHECK(ev[0] > ev[1] && ev[1] > ev[2]);
    /* the leading direction is (0.6, -0.8, 0...) up to sign: column 0 of the mix */
    CHECK_NEAR(fabs(p[0 * K + 0]), 0.6, 0, 0.05);
    CHECK_NEAR(fabs(p[1 * K + 0]), 0.8, 0, 0.05);
}

/* Four tight clusters in 2-D, one per quadrant: ITQ with 2 bits gives each its own code, one
 * code per cluster, opposite clusters at Hamming distance 2. (With very unequal spreads, e.g.
 * (±3, ±1), ITQ rightly prefers the 45° rotation that balances the variance of the two bits,
 * and two clusters share a code; so the spreads here are close.) */
static void test_itq_clusters(void)
{
    enum { PER = 10, N = 4 * PER };
    static const float cx[4] = {2.2f, -2.2f, -2.2f, 2.2f}, cy[4] = {1.8f, 1.8f, -1.8f, -1.8f};
    float x[N * 2];
    for (size_t c = 0; c < 4; c++)
        for (size_t i = 0; i < PER; i++) {
            x[(c * PER + i) * 2 + 0] = cx[c] + 0.1f * (float)l2h_rng_normal(&rng);
            x[(c * PER + i) * 2 + 1] = cy[c] + 0.1f * (float)l2h_rng_normal(&rng);
        }
    l2h_dataset *ds = NULL;
    CHECK_OK(l2h_dataset_create(&ds, N, 2, x));
    for (uint64_t seed = 1; seed <= 4; seed++) {
        l2h_baseline_params p = l2h_baseline_default_params(2);
        p.seed = seed;
        l2h_model *m = NULL;
        CHECK_OK(l2h_itq_train(&m, ds, &p));
        if (!m) continue;
        CHECK(strcmp(l2h_model_method(m), "itq") == 0);
        CHECK(strcmp(l2h_model_meta(m, "itq_iters"), "50") == 0);
        uint8_t codes[N];
        CHECK_OK(l2h_model_encode(m, x, N, codes));
        int same = 1, seen = 0;
        for (size_t c = 0; c < 4; c++) {
            for (size_t i = 1; i < PER; i++) same &= codes[c * PER + i] == codes[c * PER];
            seen |= 1 << codes[c * PER];
        }
        CHECK(same);
        CHECK_EQ_I(seen, 0xF); /* all four 2-bit codes used */
        CHECK_EQ_I(codes[0] ^ codes[2 * PER], 3);
        CHECK_EQ_I(codes[PER] ^ codes[3 * PER], 3);
        l2h_model_free(m);
    }
    l2h_baseline_params p = l2h_baseline_default_params(3);
    l2h_model *m = NULL;
    CHECK_STATUS(l2h_itq_train(&m, ds, &p), L2H_ERR_ARG);
    CHECK(strstr(l2h_last_error(), "exceeds the feature dimension") != NULL);
    CHECK(m == NULL);
    l2h_dataset_free(ds);
}

/* Save -> load (memory and file) gives bit-identical outputs and keeps the metadata. */
static void check_round_trip(const l2h_model *m, const float *x, size_t n)
{
    const size_t bits = l2h_model_bits(m), bytes = l2h_code_bytes(bits);
    uint8_t *buf = NULL;
    size_t len = 0;
    CHECK_OK(l2h_model_to_mem(m, &buf, &len));
    l2h_model *a = NULL, *b = NULL;
    CHECK_OK(l2h_model_load_mem(&a, buf, len, "mem.safetensors"));
    char path[] = "/tmp/l2h_model_XXXXXX";
    const int fd = mkstemp(path);
    close(fd);
    CHECK_OK(l2h_model_save(m, path));
    CHECK_OK(l2h_model_load(&b, path));
    unlink(path);
    if (!a || !b) return;
    float *z0 = malloc(n * bits * sizeof *z0), *z1 = malloc(n * bits * sizeof *z1);
    uint8_t *c0 = malloc(n * bytes), *c1 = malloc(n * bytes);
    CHECK_OK(l2h_model_forward(m, x, n, z0));
    const l2h_model *loaded[2] = {a, b};
    for (int k = 0; k < 2; k++) {
        const l2h_model *l = loaded[k];
        CHECK_EQ_I(l2h_model_bits(l), bits);
        CHECK_EQ_I(l2h_model_dim(l), l2h_model_dim(m));
        CHECK(strcmp(l2h_model_method(l), l2h_model_method(m)) == 0);
        static const char *const keys[] = {"seed", "itq_iters", "n_train", "center",
                                           "l2_normalize", "bits", "dim", "library_version"};
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
            CHECK(strcmp(l2h_model_meta(l, keys[i]), l2h_model_meta(m, keys[i])) == 0);
        CHECK_OK(l2h_model_forward(l, x, n, z1));
        CHECK(memcmp(z0, z1, n * bits * sizeof *z0) == 0);
        CHECK_OK(l2h_model_encode(m, x, n, c0));
        CHECK_OK(l2h_model_encode(l, x, n, c1));
        CHECK(memcmp(c0, c1, n * bytes) == 0);
    }
    /* saving the loaded model gives the same bytes */
    uint8_t *buf2 = NULL;
    size_t len2 = 0;
    CHECK_OK(l2h_model_to_mem(a, &buf2, &len2));
    CHECK(len2 == len && memcmp(buf, buf2, len) == 0);
    /* every truncation is refused */
    int refused = 0;
    for (size_t cut = 0; cut < len; cut += 1 + cut / 64) {
        l2h_model *t = NULL;
        refused += l2h_model_load_mem(&t, buf, cut, "cut") == L2H_ERR_FORMAT && t == NULL;
        l2h_model_free(t);
    }
    size_t tries = 0;
    for (size_t cut = 0; cut < len; cut += 1 + cut / 64) tries++;
    CHECK_EQ_I(refused, tries);
    free(z0);
    free(z1);
    free(c0);
    free(c1);
    l2h_free(buf);
    l2h_free(buf2);
    l2h_model_free(a);
    l2h_model_free(b);
}

static void test_save_load(void)
{
    const size_t n = 300, dim = 20;
    l2h_dataset *ds = gaussian_data(n, dim, 1.0f);
    const float *x = l2h_dataset_features(ds);
    for (int method = 0; method < 2; method++)
        for (int center = 0; center <= 1; center++)
            for (int l2n = 0; l2n <= 1; l2n++) {
                l2h_baseline_params p = l2h_baseline_default_params(method ? 16 : 24);
                p.center = center;
                p.l2_normalize = l2n;
                p.itq_iters = 10;
                p.seed = 99;
                l2h_model *m = NULL;
                CHECK_OK(method ? l2h_itq_train(&m, ds, &p) : l2h_lsh_train(&m, ds, &p));
                if (m) check_round_trip(m, x, n);
                l2h_model_free(m);
            }
    l2h_dataset_free(ds);
    l2h_model *m = (l2h_model *)&rng;
    CHECK_STATUS(l2h_model_load(&m, "/nonexistent/model.safetensors"), L2H_ERR_IO);
    CHECK(m == NULL);
}

/* ---- malformed model files ------------------------------------------------------------ */

typedef enum mutation {
    MUT_NONE, MUT_FORMAT, MUT_VERSION_NEW, MUT_VERSION_TEXT, MUT_VERSION_MISSING, MUT_METHOD,
    MUT_ARCH, MUT_BITS_ZERO, MUT_BITS_BIG, MUT_BITS_SIGN, MUT_DIM_MISSING, MUT_CENTER_TWO,
    MUT_W_SHAPE, MUT_B_DTYPE, MUT_B_MISSING, MUT_MEAN_MISSING, MUT_MEAN_EXTRA, MUT_W_NAN,
    MUT_MEAN_INF, MUT_DIM_MISMATCH, MUT_COUNT
} mutation;

static const l2h_status mutation_status[MUT_COUNT] = {
    [MUT_NONE] = L2H_OK, [MUT_VERSION_NEW] = L2H_ERR_VERSION, [MUT_METHOD] = L2H_ERR_FORMAT,
    [MUT_ARCH] = L2H_ERR_UNSUPPORTED, [MUT_FORMAT] = L2H_ERR_FORMAT,
    [MUT_VERSION_TEXT] = L2H_ERR_FORMAT, [MUT_VERSION_MISSING] = L2H_ERR_FORMAT,
    [MUT_BITS_ZERO] = L2H_ERR_FORMAT, [MUT_BITS_BIG] = L2H_ERR_FORMAT,
    [MUT_BITS_SIGN] = L2H_ERR_FORMAT, [MUT_DIM_MISSING] = L2H_ERR_FORMAT,
    [MUT_CENTER_TWO] = L2H_ERR_FORMAT, [MUT_W_SHAPE] = L2H_ERR_FORMAT,
    [MUT_B_DTYPE] = L2H_ERR_FORMAT, [MUT_B_MISSING] = L2H_ERR_FORMAT,
    [MUT_MEAN_MISSING] = L2H_ERR_FORMAT, [MUT_MEAN_EXTRA] = L2H_ERR_FORMAT,
    [MUT_W_NAN] = L2H_ERR_FORMAT, [MUT_MEAN_INF] = L2H_ERR_FORMAT,
    [MUT_DIM_MISMATCH] = L2H_ERR_FORMAT,
};

/* A tiny linear model file (dim 4, bits 3, centred) with one thing wrong. */
static l2h_status load_mutated(mutation mu, l2h_model **out)
{
    float w[3 * 5], b[3] = {0.1f, -0.2f, 0.3f}, mean[4] = {1, 2, 3, 4};
    double b64[3] = {0};
    for (size_t i = 0; i < 15; i++) w[i] = (float)i - 6.0f;
    if (mu == MUT_W_NAN) w[4] = NAN;
    if (mu == MUT_MEAN_INF) mean[2] = INFINITY;
    l2h_st_writer *wr = NULL;
    CHECK_OK(l2h_st_writer_create(&wr));
    const char *meta[][2] = {
        {"format", mu == MUT_FORMAT ? "gguf" : "l2h-model"},
        {"format_version", mu == MUT_VERSION_NEW ? "2" : mu == MUT_VERSION_TEXT ? "v1" : "1"},
        {"library_version", "0.1.0"},
        {"method", mu == MUT_METHOD ? "Spectral hash!" : "lsh"},
        {"arch", mu == MUT_ARCH ? "transformer" : "linear"},
        {"bits", mu == MUT_BITS_ZERO ? "0" : mu == MUT_BITS_BIG ? "4096" : mu == MUT_BITS_SIGN ? "+3" : "3"},
        {"dim", mu == MUT_DIM_MISMATCH ? "5" : "4"},
        {"center", mu == MUT_CENTER_TWO ? "2" : mu == MUT_MEAN_EXTRA ? "0" : "1"},
        {"l2_normalize", "0"},
        {"seed", "3"},
    };
    for (size_t i = 0; i < sizeof meta / sizeof meta[0]; i++) {
        if (mu == MUT_VERSION_MISSING && i == 1) continue;
        if (mu == MUT_DIM_MISSING && i == 6) continue;
        CHECK_OK(l2h_st_writer_set_meta(wr, meta[i][0], meta[i][1]));
    }
    const size_t wshape[2] = {3, mu == MUT_W_SHAPE ? 5 : 4}, bshape = 3, mshape = 4;
    CHECK_OK(l2h_st_writer_add(wr, "linear.weight", L2H_ST_F32, 2, wshape, w));
    if (mu == MUT_B_DTYPE) CHECK_OK(l2h_st_writer_add(wr, "linear.bias", L2H_ST_F64, 1, &bshape, b64));
    else if (mu != MUT_B_MISSING)
        CHECK_OK(l2h_st_writer_add(wr, "linear.bias", L2H_ST_F32, 1, &bshape, b));
    if (mu != MUT_MEAN_MISSING)
        CHECK_OK(l2h_st_writer_add(wr, "preprocess.mean", L2H_ST_F32, 1, &mshape, mean));
    uint8_t *buf = NULL;
    size_t len = 0;
    CHECK_OK(l2h_st_writer_to_mem(wr, &buf, &len));
    l2h_st_writer_free(wr);
    const l2h_status st = l2h_model_load_mem(out, buf, len, "tiny.safetensors");
    l2h_free(buf);
    return st;
}

static void test_malformed_models(void)
{
    for (int mu = 0; mu < MUT_COUNT; mu++) {
        l2h_model *m = (l2h_model *)&rng;
        const l2h_status st = load_mutated((mutation)mu, &m);
        if (st != mutation_status[mu]) {
            fprintf(stderr, "mutation %d: %s (%s), expected %s\n", mu, l2h_status_str(st),
                    l2h_last_error(), l2h_status_str(mutation_status[mu]));
        }
        CHECK_STATUS(st, mutation_status[mu]);
        if (st != L2H_OK) {
            CHECK(m == NULL);
            CHECK(strncmp(l2h_last_error(), "tiny.safetensors: ", 18) == 0);
            continue;
        }
        /* the valid one: z = (x - mean) · Wᵀ + b by hand */
        const float x[4] = {2, 2, 2, 2};
        float z[3];
        CHECK_OK(l2h_model_forward(m, x, 1, z));
        const float want[3] = {-6 * 1 - 5 * 0 - 4 * -1 - 3 * -2 + 0.1f,
                               -2 * 1 - 1 * 0 + 0 * -1 + 1 * -2 - 0.2f,
                               2 * 1 + 3 * 0 + 4 * -1 + 5 * -2 + 0.3f};
        CHECK_ALL_NEAR(3, z, want, 1e-6, 1e-6);
        CHECK(strcmp(l2h_model_meta(m, "seed"), "3") == 0);
        CHECK(strcmp(l2h_model_meta(m, "library_version"), "0.1.0") == 0);
        l2h_model_free(m);
    }
    /* a safetensors file that is not a model */
    l2h_st_writer *wr = NULL;
    CHECK_OK(l2h_st_writer_create(&wr));
    uint8_t *buf;
    size_t len;
    CHECK_OK(l2h_st_writer_to_mem(wr, &buf, &len));
    l2h_model *m = NULL;
    CHECK_STATUS(l2h_model_load_mem(&m, buf, len, "empty.safetensors"), L2H_ERR_FORMAT);
    CHECK(strstr(l2h_last_error(), "\"format\" is missing") != NULL);
    l2h_free(buf);
    l2h_st_writer_free(wr);
    CHECK_STATUS(l2h_model_load_mem(&m, "abc", 3, NULL), L2H_ERR_FORMAT);
    CHECK_STATUS(l2h_model_load_mem(NULL, "abc", 3, NULL), L2H_ERR_ARG);
}

/* With L2H_FAULT_INJECTION, failing each allocation in turn must give L2H_ERR_NOMEM, no
 * handle and (under ASan) no leak; in other builds the first attempt succeeds. */
static void test_nomem(void)
{
    float x[10 * 4];
    for (size_t i = 0; i < 40; i++) x[i] = (float)((i * 37) % 11) - 5.0f;
    l2h_dataset *ds = NULL;
    CHECK_OK(l2h_dataset_create(&ds, 10, 4, x));
    l2h_baseline_params p = l2h_baseline_default_params(3);
    p.max_train = 8;
    p.l2_normalize = 1;
    p.itq_iters = 3;
    l2h_model *ref = NULL;
    CHECK_OK(l2h_itq_train(&ref, ds, &p));
    uint8_t *file = NULL;
    size_t flen = 0;
    CHECK_OK(l2h_model_to_mem(ref, &file, &flen));
    for (int what = 0; what < 3; what++) {
        int bad = 0;
        long k = 0;
        for (; k < 10000; k++) {
            l2h_model *m = NULL;
            l2h_fault_inject_after(k);
            const l2h_status st = what == 0   ? l2h_model_load_mem(&m, file, flen, "f")
                                  : what == 1 ? l2h_lsh_train(&m, ds, &p)
                                              : l2h_itq_train(&m, ds, &p);
            l2h_fault_inject_after(-1);
            if (st != L2H_OK && (st != L2H_ERR_NOMEM || m != NULL)) bad++;
            l2h_model_free(m);
            if (st == L2H_OK) break;
        }
        CHECK_EQ_I(bad, 0);
        CHECK(k < 10000);
    }
    l2h_free(file);
    l2h_model_free(ref);
    l2h_dataset_free(ds);
}

int main(void)
{
    l2h_rng_seed(&rng, test_seed());
    test_lsh();
    test_forward();
    test_itq_rotation();
    test_pca();
    test_itq_clusters();
    test_save_load();
    test_malformed_models();
    test_nomem();
    return check_report();
}
