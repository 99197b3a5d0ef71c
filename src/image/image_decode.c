/* image_decode.c -- JPEG (libjpeg-turbo) and PNG (libpng) files to 8-bit RGB.
 *
 * Both libraries report errors through longjmp; every buffer that must survive the jump is
 * reached through a struct that lives outside the setjmp frame, so nothing leaks and nothing
 * is read from a clobbered local. The pixel count is checked against L2H_IMAGE_MAX_PIXELS
 * before any pixel buffer is allocated. */
#include "image_internal.h"

#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>

struct l2h_image {
    size_t w, h;
    uint8_t *px; /* w * h * 3 */
};

void l2h_image_free(l2h_image *img)
{
    if (img == NULL) return;
    l2h_free(img->px);
    l2h_free(img);
}
size_t l2h_image_width(const l2h_image *img) { return img ? img->w : 0; }
size_t l2h_image_height(const l2h_image *img) { return img ? img->h : 0; }
const uint8_t *l2h_image_pixels(const l2h_image *img) { return img ? img->px : NULL; }

static l2h_status image_alloc(const char *name, size_t w, size_t h, l2h_image **out)
{
    L2H_FAIL_IF(w == 0 || h == 0, L2H_ERR_FORMAT, "%s: image has size %zux%zu", name, w, h);
    L2H_FAIL_IF(w > L2H_IMAGE_MAX_PIXELS / h, L2H_ERR_UNSUPPORTED,
                "%s: image of %zux%zu pixels is larger than the limit of %u pixels", name, w, h,
                L2H_IMAGE_MAX_PIXELS);
    l2h_image *img = l2h_calloc(1, sizeof *img);
    L2H_NOMEM_IF_NULL(img);
    img->w = w;
    img->h = h;
    img->px = l2h_malloc(w * h * 3);
    if (img->px == NULL) {
        l2h_free(img);
        L2H_FAIL(L2H_ERR_NOMEM, "%s: out of memory for a %zux%zu image", name, w, h);
    }
    *out = img;
    return L2H_OK;
}

/* ---- JPEG ----------------------------------------------------------------------------- */
typedef struct jpeg_err {
    struct jpeg_error_mgr mgr;
    jmp_buf jmp;
    char msg[JMSG_LENGTH_MAX];
} jpeg_err;

static void jpeg_on_error(j_common_ptr cinfo)
{
    jpeg_err *e = (jpeg_err *)cinfo->err;
    e->mgr.format_message(cinfo, e->msg);
    longjmp(e->jmp, 1);
}

/* Warnings (e.g. "premature end of data segment") mean corrupt data: treat them as errors
 * rather than returning an image padded with grey. Trace messages (level > 0) are ignored. */
static void jpeg_on_message(j_common_ptr cinfo, int level)
{
    if (level < 0) jpeg_on_error(cinfo);
}

typedef struct jpeg_job {
    struct jpeg_decompress_struct cinfo;
    jpeg_err err;
    l2h_image *img;
    uint8_t *row; /* one decoded row (grey input) */
} jpeg_job;

static l2h_status decode_jpeg(const uint8_t *data, size_t size, const char *name, jpeg_job *j)
{
    j->cinfo.err = jpeg_std_error(&j->err.mgr);
    j->err.mgr.error_exit = jpeg_on_error;
    j->err.mgr.emit_message = jpeg_on_message;
    if (setjmp(j->err.jmp)) return l2h_set_error(L2H_ERR_FORMAT, "%s: corrupt JPEG: %s", name,
                                                 j->err.msg);
    jpeg_create_decompress(&j->cinfo);
    L2H_FAIL_IF(size > (unsigned long)-1, L2H_ERR_UNSUPPORTED, "%s: file too large", name);
    jpeg_mem_src(&j->cinfo, data, (unsigned long)size);
    jpeg_read_header(&j->cinfo, TRUE);
    const J_COLOR_SPACE cs = j->cinfo.jpeg_color_space;
    L2H_FAIL_IF(cs != JCS_GRAYSCALE && cs != JCS_YCbCr && cs != JCS_RGB, L2H_ERR_UNSUPPORTED,
                "%s: JPEG colour space %d (CMYK/YCCK) is not supported", name, (int)cs);
    /* libjpeg's defaults (accurate integer IDCT, fancy chroma upsampling), as Pillow uses them;
     * the fast IDCT or plain upsampling moves the CIFAR-10 features further from the shared ones. */
    j->cinfo.out_color_space = cs == JCS_GRAYSCALE ? JCS_GRAYSCALE : JCS_RGB;
    j->cinfo.dct_method = JDCT_ISLOW;
    j->cinfo.do_fancy_upsampling = TRUE;
    jpeg_start_decompress(&j->cinfo);
    const size_t w = j->cinfo.output_width, h = j->cinfo.output_height;
    const int comps = j->cinfo.output_components;
    L2H_FAIL_IF(comps != 1 && comps != 3, L2H_ERR_UNSUPPORTED, "%s: %d JPEG components", name,
                comps);
    L2H_TRY(image_alloc(name, w, h, &j->img));
    if (comps == 1) {
        j->row = l2h_malloc(w);
        L2H_NOMEM_IF_NULL(j->row);
    }
    while (j->cinfo.output_scanline < h) {
        const size_t y = j->cinfo.output_scanline;
        uint8_t *dst = j->img->px + y * w * 3;
        JSAMPROW rp = comps == 3 ? dst : j->row;
        if (jpeg_read_scanlines(&j->cinfo, &rp, 1) != 1)
            L2H_FAIL(L2H_ERR_FORMAT, "%s: truncated JPEG at row %zu", name, y);
        if (comps == 1)
            for (size_t x = 0; x < w; x++) dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = j->row[x];
    }
    jpeg_finish_decompress(&j->cinfo);
    return L2H_OK;
}

/* ---- PNG (libpng's simplified API, which does its own setjmp) -------------------------- */
static l2h_status decode_png(const uint8_t *data, size_t size, const char *name, l2h_image **out)
{
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&pi, data, size)) {
        l2h_status st = l2h_set_error(L2H_ERR_FORMAT, "%s: corrupt PNG: %s", name, pi.message);
        png_image_free(&pi);
        return st;
    }
    /* RGBA then drop alpha: the colour channels unchanged, as PIL's convert("RGB") does. */
    pi.format = PNG_FORMAT_RGBA;
    const size_t w = pi.width, h = pi.height;
    l2h_image *img = NULL;
    l2h_status st = image_alloc(name, w, h, &img);
    uint8_t *rgba = NULL;
    if (st == L2H_OK) {
        rgba = l2h_malloc_array(w * h, 4);
        if (rgba == NULL) st = l2h_set_error(L2H_ERR_NOMEM, "%s: out of memory", name);
    }
    if (st == L2H_OK && !png_image_finish_read(&pi, NULL, rgba, 0, NULL))
        st = l2h_set_error(L2H_ERR_FORMAT, "%s: corrupt PNG: %s", name, pi.message);
    png_image_free(&pi);
    if (st == L2H_OK) {
        for (size_t i = 0; i < w * h; i++) memcpy(img->px + 3 * i, rgba + 4 * i, 3);
        *out = img;
        img = NULL;
    }
    l2h_free(rgba);
    l2h_image_free(img);
    return st;
}

l2h_status l2h_image_decode(const void *data, size_t size, const char *name, l2h_image **out)
{
    L2H_FAIL_IF(out == NULL || (data == NULL && size > 0), L2H_ERR_ARG, "l2h_image_decode: NULL");
    *out = NULL;
    if (name == NULL) name = "(memory)";
    const uint8_t *p = data;
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (size >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff) {
        jpeg_job *j = l2h_calloc(1, sizeof *j);
        L2H_NOMEM_IF_NULL(j);
        l2h_status st = decode_jpeg(p, size, name, j);
        jpeg_destroy_decompress(&j->cinfo);
        l2h_free(j->row);
        if (st == L2H_OK) *out = j->img;
        else l2h_image_free(j->img);
        l2h_free(j);
        return st;
    }
    if (size >= 8 && memcmp(p, png_sig, 8) == 0) return decode_png(p, size, name, out);
    if (size >= 4 && (memcmp(p, "GIF8", 4) == 0 || memcmp(p, "RIFF", 4) == 0 ||
                      (p[0] == 'B' && p[1] == 'M')))
        L2H_FAIL(L2H_ERR_UNSUPPORTED, "%s: only JPEG and PNG images are supported", name);
    L2H_FAIL(L2H_ERR_UNSUPPORTED, "%s: not a JPEG or PNG file (%zu bytes, unknown signature)",
             name, size);
}

l2h_status l2h_image_load(const char *path, l2h_image **out)
{
    L2H_FAIL_IF(path == NULL || out == NULL, L2H_ERR_ARG, "l2h_image_load: NULL argument");
    *out = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    L2H_TRY(l2h_image_read_file(path, (size_t)1 << 30, &buf, &len));
    l2h_status st = l2h_image_decode(buf, len, path, out);
    l2h_free(buf);
    return st;
}

l2h_status l2h_image_read_file(const char *path, size_t max_len, uint8_t **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    L2H_FAIL_IF(f == NULL, L2H_ERR_IO, "%s: %s", path, strerror(errno));
    l2h_status st = L2H_OK;
    uint8_t *b = NULL;
    long sz = -1;
    if (fseek(f, 0, SEEK_END) == 0) sz = ftell(f);
    if (sz < 0 || fseek(f, 0, SEEK_SET) != 0) L2H_FAIL_GOTO(L2H_ERR_IO, "%s: cannot seek", path);
    if ((unsigned long)sz > max_len)
        L2H_FAIL_GOTO(L2H_ERR_UNSUPPORTED, "%s: %ld bytes, more than the limit of %zu", path, sz,
                      max_len);
    b = l2h_malloc(sz > 0 ? (size_t)sz : 1);
    if (b == NULL) L2H_FAIL_GOTO(L2H_ERR_NOMEM, "%s: out of memory", path);
    if (sz > 0 && fread(b, 1, (size_t)sz, f) != (size_t)sz)
        L2H_FAIL_GOTO(L2H_ERR_IO, "%s: read failed", path);
    *buf = b;
    *len = (size_t)sz;
    b = NULL;
done:
    l2h_free(b);
    fclose(f);
    return st;
}
