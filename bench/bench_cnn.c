/* bench_cnn.c -- the MobileNet-v1 network in C against the shared CIFAR-10 features, and its speed.
 *
 *   bench_cnn [--data DIR] [--images N] [--reps R]
 *
 * 1. The 200 loose CIFAR-10 test photos (DIR/cifar10-images, rows in rows.txt): features computed
 *    by l2h from the JPEGs, with TFLite's fixed-point arithmetic and with float requantisation,
 *    against the shared rows of DIR/cifar10/cifar10_mobilenetv1_1024.u8 (max / mean absolute
 *    difference per byte, histogram), and leave-one-out retrieval among the 200 (mAP, P@10,
 *    Euclidean on mean-centred, L2-normalised features; relevant = same class) for each version.
 * 2. Images/s of l2h_cnn_run on N pre-resized images at 1 and 2 threads (median of R runs), the
 *    multiply-add rate that implies, and the machine's peak rate of the instruction the 1x1
 *    kernel uses (AVX-512 VNNI VPDPBUSD, 64 uint8 x int8 multiply-adds), measured here with
 *    independent accumulator chains; plus the reference kernels' speed on one image.
 * Prints one JSON object per line. */
#include "l2h/l2h.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

#if defined(__x86_64__)
#include <immintrin.h>
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static double vnni_peak_1thread(long iters)
{
    __m512i acc[12];
    for (int i = 0; i < 12; i++) acc[i] = _mm512_set1_epi32(i);
    const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-2);
    for (long it = 0; it < iters; it++)
        for (int i = 0; i < 12; i++) acc[i] = _mm512_dpbusd_epi32(acc[i], a, b);
    int32_t s = 0;
    for (int i = 0; i < 12; i++) s += _mm512_reduce_add_epi32(acc[i]);
    return (double)s;
}
#endif

/* Peak VPDPBUSD multiply-adds per second on `threads` threads (0 if the CPU lacks VNNI). */
static double vnni_peak(int threads, double *cpu_peak)
{
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512vnni")) return 0;
    const long iters = 20000000;
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        double sink = 0;
        const double t0 = now(), c0 = cpu_now();
#pragma omp parallel num_threads(threads) reduction(+ : sink)
        sink += vnni_peak_1thread(iters);
        const double dt = now() - t0, dc = cpu_now() - c0;
        const double rate = (double)threads * (double)iters * 12.0 * 64.0 / dt;
        if (rate > best) best = rate;
        if (cpu_peak) { /* per CPU-second of one core, immune to other processes */
            const double r1 = (double)threads * (double)iters * 12.0 * 64.0 / dc;
            if (r1 > *cpu_peak) *cpu_peak = r1;
        }
        if (sink == 0.5) printf("#\n"); /* keep the loop */
    }
    return best;
#else
    (void)threads, (void)cpu_peak;
    return 0;
#endif
}

typedef struct entry {
    char path[512];
    long row;
    int label;
} entry;

static double retrieval_map(const uint8_t *f, const int *lab, size_t n, size_t d, double *p10)
{
    double *x = malloc(n * d * sizeof *x), *mean = calloc(d, sizeof *mean);
    double *dist = malloc(n * sizeof *dist);
    size_t *ord = malloc(n * sizeof *ord);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) mean[j] += f[i * d + j] / (double)n;
    for (size_t i = 0; i < n; i++) {
        double nn = 0;
        for (size_t j = 0; j < d; j++) {
            x[i * d + j] = f[i * d + j] - mean[j];
            nn += x[i * d + j] * x[i * d + j];
        }
        nn = sqrt(nn) + 1e-12;
        for (size_t j = 0; j < d; j++) x[i * d + j] /= nn;
    }
    double map = 0, pk = 0;
    for (size_t q = 0; q < n; q++) {
        for (size_t i = 0; i < n; i++) {
            double s = 0;
            for (size_t j = 0; j < d; j++) s += (x[q * d + j] - x[i * d + j]) * (x[q * d + j] - x[i * d + j]);
            dist[i] = s;
        }
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (i != q) ord[m++] = i;
        for (size_t a = 1; a < m; a++) { /* insertion sort by (distance, index) */
            const size_t v = ord[a];
            size_t b = a;
            while (b > 0 && (dist[ord[b - 1]] > dist[v] || (dist[ord[b - 1]] == dist[v] && ord[b - 1] > v))) {
                ord[b] = ord[b - 1];
                b--;
            }
            ord[b] = v;
        }
        double hits = 0, ap = 0, top = 0;
        for (size_t r = 0; r < m; r++)
            if (lab[ord[r]] == lab[q]) {
                hits++;
                ap += hits / (double)(r + 1);
                if (r < 10) top++;
            }
        map += hits > 0 ? ap / hits : 0;
        pk += top / 10.0;
    }
    free(x);
    free(mean);
    free(dist);
    free(ord);
    *p10 = pk / (double)n;
    return map / (double)n;
}

int main(int argc, char **argv)
{
    const char *data = "../shared/data";
    size_t n_bench = 32;
    int reps = 3;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--data") == 0 && i + 1 < argc) data = argv[++i];
        else if (strcmp(argv[i], "--images") == 0 && i + 1 < argc) n_bench = (size_t)atol(argv[++i]);
        else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) reps = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_cnn [--data DIR] [--images N] [--reps R]\n");
            return 2;
        }
    }
    char p[1024];
    snprintf(p, sizeof p, "%s/mobilenet-v1/mobilenet_v1_1.0_224_quant_embedding_extractor.tflite", data);
    l2h_cnn *net = NULL;
    if (l2h_cnn_load(p, &net) != L2H_OK) {
        fprintf(stderr, "bench_cnn: %s\n", l2h_last_error());
        return 1;
    }
    const size_t d = l2h_cnn_feature_dim(net), side = l2h_cnn_input_size(net);
    snprintf(p, sizeof p, "%s/cifar10-images/rows.txt", data);
    FILE *rf = fopen(p, "r");
    snprintf(p, sizeof p, "%s/cifar10/cifar10_mobilenetv1_1024.u8", data);
    FILE *ff = fopen(p, "rb");
    snprintf(p, sizeof p, "%s/cifar10/cifar10_labels.u8", data);
    FILE *lf = fopen(p, "rb");
    if (!rf || !ff || !lf) {
        fprintf(stderr, "bench_cnn: cannot open the shared CIFAR-10 files under %s\n", data);
        return 1;
    }
    entry *e = calloc(256, sizeof *e);
    size_t n = 0;
    char line[1024];
    while (n < 256 && fgets(line, sizeof line, rf)) {
        char rel[400];
        if (sscanf(line, "%399s %ld", rel, &e[n].row) != 2) continue;
        snprintf(e[n].path, sizeof e[n].path, "%s/cifar10-images/%s", data, rel);
        n++;
    }
    uint8_t *shared = malloc(n * d), *ours[2] = {malloc(n * d), malloc(n * d)};
    int *lab = malloc(n * sizeof *lab);
    const char **paths = malloc(n * sizeof *paths);
    for (size_t i = 0; i < n; i++) {
        unsigned char c;
        if (fseek(ff, e[i].row * (long)d, SEEK_SET) || fread(shared + i * d, 1, d, ff) != d ||
            fseek(lf, e[i].row, SEEK_SET) || fread(&c, 1, 1, lf) != 1) {
            fprintf(stderr, "bench_cnn: short read of the shared rows\n");
            return 1;
        }
        lab[i] = c;
        paths[i] = e[i].path;
    }
    const char *names[2] = {"tflite_fixed_point", "float_requant"};
    for (int a = 0; a < 2; a++) {
        if (l2h_cnn_set_arithmetic(net, a == 0 ? L2H_CNN_TFLITE : L2H_CNN_FLOAT_REQUANT) != L2H_OK ||
            l2h_cnn_features_files(net, paths, n, ours[a], NULL, NULL, NULL) != L2H_OK) {
            fprintf(stderr, "bench_cnn: %s\n", l2h_last_error());
            return 1;
        }
        double sum = 0;
        int mx = 0;
        size_t hist[6] = {0}, exact_rows = 0;
        for (size_t i = 0; i < n; i++) {
            int same = 1;
            for (size_t j = 0; j < d; j++) {
                const int df = abs((int)ours[a][i * d + j] - shared[i * d + j]);
                sum += df;
                if (df > mx) mx = df;
                hist[df == 0 ? 0 : df == 1 ? 1 : df <= 3 ? 2 : df <= 7 ? 3 : df <= 15 ? 4 : 5]++;
                if (df) same = 0;
            }
            exact_rows += (size_t)same;
        }
        const double tot = (double)(n * d);
        printf("{\"check\":\"vs_shared\",\"arithmetic\":\"%s\",\"images\":%zu,\"max_abs\":%d,"
               "\"mean_abs\":%.4f,\"frac_eq\":%.4f,\"frac_1\":%.4f,\"frac_2_3\":%.4f,"
               "\"frac_4_7\":%.4f,\"frac_8_15\":%.4f,\"frac_16up\":%.4f,\"identical_rows\":%zu}\n",
               names[a], n, mx, sum / tot, hist[0] / tot, hist[1] / tot, hist[2] / tot,
               hist[3] / tot, hist[4] / tot, hist[5] / tot, exact_rows);
    }
    {
        double sum = 0;
        int mx = 0;
        for (size_t i = 0; i < n * d; i++) {
            const int df = abs((int)ours[0][i] - ours[1][i]);
            sum += df;
            if (df > mx) mx = df;
        }
        printf("{\"check\":\"fixed_vs_float_requant\",\"max_abs\":%d,\"mean_abs\":%.4f}\n", mx,
               sum / (double)(n * d));
    }
    const uint8_t *sets[3] = {shared, ours[0], ours[1]};
    const char *set_names[3] = {"shared", "l2h_tflite_fixed_point", "l2h_float_requant"};
    for (int s = 0; s < 3; s++) {
        double p10;
        const double map = retrieval_map(sets[s], lab, n, d, &p10);
        printf("{\"check\":\"retrieval_200\",\"features\":\"%s\",\"mAP\":%.4f,\"P@10\":%.4f}\n",
               set_names[s], map, p10);
    }
    if (l2h_cnn_set_arithmetic(net, L2H_CNN_TFLITE) != L2H_OK) return 1;

    /* ---- speed ---- */
    const size_t in_bytes = side * side * 3;
    uint8_t *in = malloc(n_bench * in_bytes), *out = malloc(n_bench * d);
    for (size_t i = 0; i < n_bench; i++) {
        l2h_image *img = NULL;
        if (l2h_image_load(paths[i % n], &img) != L2H_OK ||
            l2h_image_resize_bilinear(l2h_image_pixels(img), l2h_image_width(img),
                                      l2h_image_height(img), in + i * in_bytes, side,
                                      side) != L2H_OK)
            return 1;
        l2h_image_free(img);
    }
    const double macs = l2h_cnn_macs(net);
    for (int threads = 1; threads <= 2; threads++) {
        l2h_set_threads(threads);
        double t[16], c[16];
        if (reps > 16) reps = 16;
        for (int r = 0; r < reps; r++) {
            const double t0 = now(), c0 = cpu_now();
            if (l2h_cnn_run(net, in, n_bench, out) != L2H_OK) return 1;
            t[r] = now() - t0;
            c[r] = cpu_now() - c0;
        }
        qsort(t, (size_t)reps, sizeof t[0], cmp_double);
        qsort(c, (size_t)reps, sizeof c[0], cmp_double);
        const double ips = (double)n_bench / t[reps / 2];
        const double ipc = (double)n_bench / c[reps / 2]; /* images per CPU-second */
        double cpu_peak = 0;
        const double peak = vnni_peak(threads, &cpu_peak);
        printf("{\"check\":\"speed\",\"threads\":%d,\"images\":%zu,\"images_per_s\":%.2f,"
               "\"gmac_per_s\":%.2f,\"peak_vnni_gmac_per_s\":%.2f,\"fraction_of_peak\":%.4f,"
               "\"images_per_cpu_s\":%.2f,\"peak_vnni_gmac_per_cpu_s\":%.2f,"
               "\"fraction_of_peak_cpu\":%.4f}\n",
               threads, n_bench, ips, ips * macs / 1e9, peak / 1e9,
               peak > 0 ? ips * macs / peak : 0.0, ipc, cpu_peak / 1e9,
               cpu_peak > 0 ? ipc * macs / cpu_peak : 0.0);
    }
    l2h_set_threads(1);
    {
        const double t0 = now();
        if (l2h_cnn_run_reference(net, in, 1, out) != L2H_OK) return 1;
        const double dt = now() - t0;
        printf("{\"check\":\"speed_reference\",\"threads\":1,\"images_per_s\":%.3f,\"gmac_per_s\":%.3f}\n",
               1.0 / dt, macs / dt / 1e9);
    }
    printf("{\"macs_per_image\":%.0f}\n", macs);
    l2h_cnn_free(net);
    return 0;
}
