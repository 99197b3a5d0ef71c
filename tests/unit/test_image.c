/* test_image.c -- JPEG/PNG decoding (images written here with libjpeg/libpng: grey, RGB, RGBA,
 * clean errors for corrupt, truncated and unsupported files, and the bilinear resize
 * against its double-precision reference. With the shared data present, the features of a few
 * CIFAR-10 photos against the shared rows (skipped with a message otherwise).
 *   test_image [--write-corpus DIR]   also writes the fuzz seeds of fuzz_image. */
#include "check.h"
#include "cnn_internal.h"

#include <jpeglib.h>
#include <png.h>
#include <stdio.h>
#include <string.h>

enum { W = 21, H = 13 };

static void pattern(uint8_t *px, int comps)
{
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            for (int c = 0; c < comps; c++)
                px[(y * W + x) * comps + c] = (uint8_t)(20 + 5 * x + 4 * y + 20 * c);
}

static uint8_t *make_png(int format, size_t *len)
{
    uint8_t px[W * H * 4];
    const int comps = format == PNG_FORMAT_GRAY ? 1 : format == PNG_FORMAT_RGBA ? 4 : 3;
    pattern(px, comps);
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    pi.width = W;
    pi.height = H;
    pi.format = (png_uint_32)format;
    png_alloc_size_t size = 0;
    if (!png_image_write_to_memory(&pi, NULL, &size, 0, px, 0, NULL)) return NULL;
    uint8_t *buf = malloc(size);
    if (!png_image_write_to_memory(&pi, buf, &size, 0, px, 0, NULL)) {
        free(buf);
        return NULL;
    }
    *len = size;
    return buf;
}

static uint8_t *make_jpeg(int grey, size_t *len)
{
    uint8_t px[W * H * 3];
    pattern(px, grey ? 1 : 3);
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    unsigned char *mem = NULL;
    unsigned long size = 0;
    jpeg_mem_dest(&c, &mem, &size);
    c.image_width = W;
    c.image_height = H;
    c.input_components = grey ? 1 : 3;
    c.in_color_space = grey ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 95, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < H) {
        JSAMPROW row = px + c.next_scanline * W * (grey ? 1 : 3);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    uint8_t *buf = malloc(size);
    memcpy(buf, mem, size);
    free(mem);
    *len = size;
    return buf;
}

static void test_png(void)
{
    const int formats[3] = {PNG_FORMAT_GRAY, PNG_FORMAT_RGB, PNG_FORMAT_RGBA};
    for (int f = 0; f < 3; f++) {
        size_t len = 0;
        uint8_t *buf = make_png(formats[f], &len);
        CHECK(buf != NULL);
        if (!buf) continue;
        l2h_image *img = NULL;
        CHECK_OK(l2h_image_decode(buf, len, "t.png", &img));
        if (img) {
            CHECK_EQ_I(l2h_image_width(img), W);
            CHECK_EQ_I(l2h_image_height(img), H);
            uint8_t want[W * H * 4], exp3[W * H * 3];
            const int comps = f == 0 ? 1 : f == 2 ? 4 : 3;
            pattern(want, comps);
            for (int i = 0; i < W * H; i++)
                for (int c = 0; c < 3; c++) exp3[3 * i + c] = want[i * comps + (comps == 1 ? 0 : c)];
            CHECK(memcmp(l2h_image_pixels(img), exp3, sizeof exp3) == 0);
        }
        l2h_image_free(img);
        /* truncated: a clean format error */
        img = NULL;
        CHECK_STATUS(l2h_image_decode(buf, len - 20, "cut.png", &img), L2H_ERR_FORMAT);
        CHECK(img == NULL);
        CHECK(strncmp(l2h_last_error(), "cut.png", 7) == 0);
        free(buf);
    }
}

static void test_jpeg(void)
{
    for (int grey = 0; grey < 2; grey++) {
        size_t len;
        uint8_t *buf = make_jpeg(grey, &len);
        l2h_image *img = NULL;
        CHECK_OK(l2h_image_decode(buf, len, "t.jpg", &img));
        if (img) {
            CHECK_EQ_I(l2h_image_width(img), W);
            CHECK_EQ_I(l2h_image_height(img), H);
            uint8_t want[W * H * 3];
            pattern(want, grey ? 1 : 3);
            const uint8_t *px = l2h_image_pixels(img);
            int worst = 0, grey_ok = 1;
            for (int i = 0; i < W * H; i++)
                for (int c = 0; c < 3; c++) {
                    const int d = abs((int)px[3 * i + c] - want[grey ? i : 3 * i + c]);
                    if (d > worst) worst = d;
                    if (grey && px[3 * i + c] != px[3 * i]) grey_ok = 0;
                }
            if (worst > 12) fprintf(stderr, "grey=%d worst=%d\n", grey, worst);
            CHECK(worst <= 12); /* lossy, quality 95, smooth ramp */
            CHECK(grey_ok);
        }
        l2h_image_free(img);
        for (size_t cut = 0; cut < len; cut += len / 16 + 1) { /* every truncation refused */
            img = NULL;
            const l2h_status st = l2h_image_decode(buf, cut, "cut.jpg", &img);
            CHECK(st == L2H_ERR_FORMAT || (cut < 3 && st == L2H_ERR_UNSUPPORTED));
            CHECK(img == NULL);
        }
        free(buf);
    }
    l2h_image *img = NULL;
    CHECK_STATUS(l2h_image_decode("GIF89a\x01\x00\x01\x00", 10, "x.gif", &img), L2H_ERR_UNSUPPORTED);
    CHECK(strstr(l2h_last_error(), "JPEG and PNG") != NULL);
    CHECK_STATUS(l2h_image_decode("hello", 5, "x.txt", &img), L2H_ERR_UNSUPPORTED);
    CHECK_STATUS(l2h_image_decode("", 0, "empty", &img), L2H_ERR_UNSUPPORTED);
    CHECK_STATUS(l2h_image_load("no/such/file.jpg", &img), L2H_ERR_IO);
    /* a PNG header claiming 100000 x 100000 pixels is refused before any pixel buffer */
    size_t len;
    uint8_t *buf = make_png(PNG_FORMAT_RGB, &len);
    const uint8_t big[8] = {0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0};
    memcpy(buf + 16, big, 8);
    CHECK(l2h_image_decode(buf, len, "big.png", &img) != L2H_OK); /* CRC or size */
    CHECK(img == NULL);
    free(buf);
}

static void test_resize(void)
{
    const size_t sizes[][4] = {{32, 32, 224, 224}, {224, 160, 32, 20}, {7, 5, 3, 11},
                               {1, 1, 4, 4},       {9, 9, 9, 9},       {640, 3, 5, 7}};
    l2h_rng rng;
    l2h_rng_seed(&rng, 21);
    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
        const size_t sw = sizes[t][0], sh = sizes[t][1], dw = sizes[t][2], dh = sizes[t][3];
        uint8_t *src = malloc(sw * sh * 3), *dst = malloc(dw * dh * 3);
        float *ref = malloc(dw * dh * 3 * sizeof *ref);
        for (size_t i = 0; i < sw * sh * 3; i++) src[i] = (uint8_t)l2h_rng_below(&rng, 256);
        CHECK_OK(l2h_image_resize_bilinear(src, sw, sh, dst, dw, dh));
        CHECK_OK(image_resize_reference(src, sw, sh, ref, dw, dh));
        double worst = 0;
        for (size_t i = 0; i < dw * dh * 3; i++) {
            const double d = fabs((double)dst[i] - (double)ref[i]);
            if (d > worst) worst = d;
        }
        CHECK(worst <= 1.0); /* fixed-point weights + 8-bit intermediate: within one level */
        if (sw == dw && sh == dh) CHECK(memcmp(src, dst, sw * sh * 3) == 0);
        memset(src, 77, sw * sh * 3);
        CHECK_OK(l2h_image_resize_bilinear(src, sw, sh, dst, dw, dh));
        int flat = 1;
        for (size_t i = 0; i < dw * dh * 3; i++) flat &= dst[i] == 77;
        CHECK(flat);
        free(src);
        free(dst);
        free(ref);
    }
    uint8_t px[3] = {1, 2, 3};
    CHECK_STATUS(l2h_image_resize_bilinear(px, 1, 1, px, 0, 1), L2H_ERR_ARG);
}

/* The shared CIFAR-10 features of a few loose photos (if ../shared/data is there). */
static void test_shared_rows(void)
{
    const char *dir = getenv("L2H_SHARED_DATA");
    char p[1024];
    snprintf(p, sizeof p, "%s/mobilenet-v1/mobilenet_v1_1.0_224_quant_embedding_extractor.tflite",
             dir ? dir : "../shared/data");
    l2h_cnn *net = NULL;
    FILE *ff = NULL;
    if (!dir || l2h_cnn_load(p, &net) != L2H_OK) {
        printf("shared-data check skipped: no MobileNet model under $L2H_SHARED_DATA\n");
        return;
    }
    snprintf(p, sizeof p, "%s/cifar10/cifar10_mobilenetv1_1024.u8", dir);
    ff = fopen(p, "rb");
    if (!ff) {
        printf("shared-data check skipped: no %s\n", p);
        l2h_cnn_free(net);
        return;
    }
    CHECK_EQ_I(l2h_cnn_feature_dim(net), 1024);
    CHECK_EQ_I(l2h_cnn_input_size(net), 224);
    CHECK_NEAR(l2h_cnn_macs(net), 567716352.0, 0, 0.5);
    /* four photos of different classes; rows from rows.txt */
    const char *rel[4] = {"test/airplane/0000.jpg", "test/cat/0003.jpg", "test/ship/0010.jpg",
                          "test/truck/0019.jpg"};
    const long rows[4] = {50000, 53003, 58010, 59019};
    char paths[4][1024];
    const char *pp[4];
    for (int i = 0; i < 4; i++) {
        snprintf(paths[i], sizeof paths[i], "%s/cifar10-images/%s", dir, rel[i]);
        pp[i] = paths[i];
    }
    uint8_t shared[4 * 1024], ours[4 * 1024];
    for (int i = 0; i < 4; i++) {
        CHECK(fseek(ff, rows[i] * 1024, SEEK_SET) == 0);
        CHECK(fread(shared + i * 1024, 1, 1024, ff) == 1024);
    }
    fclose(ff);
    const double limit[2] = {2.5, 1.2}; /* measured over all 200: 1.46 and 0.80 */
    for (int ar = 0; ar < 2; ar++) {
        CHECK_OK(l2h_cnn_set_arithmetic(net, ar ? L2H_CNN_FLOAT_REQUANT : L2H_CNN_TFLITE));
        CHECK_OK(l2h_cnn_features_files(net, pp, 4, ours, NULL, NULL, NULL));
        double sum = 0;
        for (int i = 0; i < 4 * 1024; i++) sum += abs((int)ours[i] - shared[i]);
        printf("mean |l2h - shared| per byte (%s): %.3f\n", ar ? "float" : "tflite", sum / 4096);
        CHECK(sum / 4096 < limit[ar]);
    }
    /* a failing file is named, with its index */
    const char *bad[2] = {pp[0], "no/such.jpg"};
    size_t failed = 0;
    CHECK_STATUS(l2h_cnn_features_files(net, bad, 2, ours, NULL, NULL, &failed), L2H_ERR_IO);
    CHECK_EQ_I(failed, 1);
    CHECK(strstr(l2h_last_error(), "no/such.jpg") != NULL);
    l2h_cnn_free(net);
}

static int write_corpus(const char *dir)
{
    char p[1024];
    const struct { const char *name; int kind; } files[] = {
        {"grey.png", 0}, {"rgb.png", 1}, {"rgba.png", 2}, {"rgb.jpg", 3}, {"grey.jpg", 4}};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        size_t len;
        const int k = files[i].kind;
        uint8_t *buf = k <= 2 ? make_png(k == 0 ? PNG_FORMAT_GRAY : k == 1 ? PNG_FORMAT_RGB : PNG_FORMAT_RGBA, &len)
                              : make_jpeg(k == 4, &len);
        snprintf(p, sizeof p, "%s/%s", dir, files[i].name);
        FILE *f = fopen(p, "wb");
        if (!f || fwrite(buf, 1, len, f) != len) return 1;
        fclose(f);
        if (k == 1 || k == 3) {
            snprintf(p, sizeof p, "%s/truncated_%s", dir, files[i].name);
            if ((f = fopen(p, "wb")) != NULL) {
                fwrite(buf, 1, len * 2 / 3, f);
                fclose(f);
            }
        }
        free(buf);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write-corpus") == 0) return write_corpus(argv[2]);
    test_png();
    test_jpeg();
    test_resize();
    test_shared_rows();
    return check_report();
}
