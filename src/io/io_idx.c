/* io_idx.c -- MNIST IDX files (LeCun's format, also Fashion-MNIST), plain or gzip-compressed.
 *
 * Layout (integers big endian):
 *   [0, 2)     zero
 *   2          element type: 0x08 unsigned byte (the only one supported; 0x09 int8, 0x0B int16,
 *              0x0C int32, 0x0D float32, 0x0E float64 are L2H_ERR_UNSUPPORTED)
 *   3          number of dimensions k: 1 (labels, magic 0x00000801), 2, or 3 (images,
 *              magic 0x00000803)
 *   then       k uint32 sizes; n = size[0], a row is the product of the others (28 x 28 = 784)
 *   then       n * row bytes, nothing after
 *
 * A buffer starting with 1f 8b is gzip: it is inflated with zlib, checking the CRC, and must
 * decompress to exactly the size the IDX header declares. The header is inflated first, a
 * declared size beyond deflate's maximum ratio (1032:1) is refused at once, and the output
 * buffer grows only as data actually arrives, so a small file cannot make us allocate much. */
#include "io_read.h"

#include <limits.h>
#include <string.h>

#define ZLIB_CONST
#include <zlib.h>

#define IDX_MAX_DIMS 3
#define DEFLATE_MAX_RATIO 1032u

static l2h_status idx_magic(const uint8_t *m, const char *name, size_t *ndim)
{
    L2H_FAIL_IF(m[0] != 0 || m[1] != 0, L2H_ERR_FORMAT,
                "%s: not an IDX file (bad magic %02x%02x%02x%02x)", name, m[0], m[1], m[2], m[3]);
    const uint8_t t = m[2];
    L2H_FAIL_IF(t == 0x09 || t == 0x0B || t == 0x0C || t == 0x0D || t == 0x0E, L2H_ERR_UNSUPPORTED,
                "%s: IDX element type 0x%02x is not supported (unsigned byte 0x08 only)", name, t);
    L2H_FAIL_IF(t != 0x08, L2H_ERR_FORMAT, "%s: not an IDX file (unknown element type 0x%02x)",
                name, t);
    L2H_FAIL_IF(m[3] == 0, L2H_ERR_FORMAT, "%s: IDX file with 0 dimensions", name);
    L2H_FAIL_IF(m[3] > IDX_MAX_DIMS, L2H_ERR_UNSUPPORTED,
                "%s: IDX file with %u dimensions (1 to %d supported)", name, m[3], IDX_MAX_DIMS);
    *ndim = m[3];
    return L2H_OK;
}

static l2h_status idx_dims(const uint8_t *d, size_t ndim, const char *name, size_t *rows,
                           size_t *cols, size_t *data_bytes)
{
    size_t n[IDX_MAX_DIMS] = {0};
    for (size_t k = 0; k < ndim; k++)
        n[k] = (size_t)d[4 * k] << 24 | (size_t)d[4 * k + 1] << 16 | (size_t)d[4 * k + 2] << 8 |
               d[4 * k + 3];
    *rows = n[0];
    *cols = 1;
    for (size_t k = 1; k < ndim; k++)
        L2H_FAIL_IF(!l2h_mul_ok(*cols, n[k], cols), L2H_ERR_FORMAT, "%s: IDX sizes overflow",
                    name);
    L2H_FAIL_IF(!l2h_mul_ok(*rows, *cols, data_bytes), L2H_ERR_FORMAT, "%s: IDX sizes overflow",
                name);
    return L2H_OK;
}

static void fill_view(l2h_mat_view *v, const uint8_t *data, size_t rows, size_t cols,
                      size_t ndim)
{
    v->data = data;
    v->rows = rows;
    v->cols = cols;
    v->stride = cols;
    v->elem = L2H_ELEM_U8;
    v->one_d = ndim == 1;
}

static l2h_status idx_plain(const uint8_t *buf, size_t len, const char *name, size_t max_rows,
                            l2h_mat_view *v)
{
    L2H_FAIL_IF(len < 4, L2H_ERR_FORMAT, "%s: truncated: %zu bytes, an IDX header needs >= 8",
                name, len);
    size_t ndim = 0, rows, cols, bytes;
    L2H_TRY(idx_magic(buf, name, &ndim));
    const size_t hdr = 4 + 4 * ndim;
    L2H_FAIL_IF(len < hdr, L2H_ERR_FORMAT, "%s: truncated: the IDX header needs %zu bytes, got %zu",
                name, hdr, len);
    L2H_TRY(idx_dims(buf + 4, ndim, name, &rows, &cols, &bytes));
    L2H_FAIL_IF(len - hdr < bytes, L2H_ERR_FORMAT,
                "%s: truncated: the header declares %zu data bytes, the file has %zu", name, bytes,
                len - hdr);
    L2H_FAIL_IF(len - hdr > bytes, L2H_ERR_FORMAT,
                "%s: %zu unexpected bytes after the %zu data bytes the header declares", name,
                len - hdr - bytes, bytes);
    fill_view(v, buf + hdr, (max_rows && max_rows < rows) ? max_rows : rows, cols, ndim);
    return L2H_OK;
}

/* ---- gzip ------------------------------------------------------------------------------- */

typedef struct gz_reader {
    z_stream zs;
    const uint8_t *src;
    size_t len, fed; /* input bytes handed to zlib so far */
    int ended;       /* every gzip member finished and no input left */
    const char *name;
} gz_reader;

/* Next input chunk (zlib counts in uInt). */
static void gz_feed(gz_reader *g)
{
    if (g->zs.avail_in != 0 || g->fed == g->len) return;
    const size_t chunk = g->len - g->fed > UINT_MAX ? UINT_MAX : g->len - g->fed;
    g->zs.next_in = g->src + g->fed;
    g->zs.avail_in = (uInt)chunk;
    g->fed += chunk;
}

/* A gzip member ended: either the input is done, or another member follows (concatenated
 * gzip files are one stream, as gunzip treats them), or it is garbage. */
static l2h_status gz_member_end(gz_reader *g)
{
    const size_t left = g->zs.avail_in + (g->len - g->fed);
    if (left == 0) {
        g->ended = 1;
        return L2H_OK;
    }
    const uint8_t *next = g->src + (g->len - left);
    L2H_FAIL_IF(left < 2 || next[0] != 0x1f || next[1] != 0x8b, L2H_ERR_FORMAT,
                "%s: %zu bytes of garbage after the gzip stream", g->name, left);
    L2H_FAIL_IF(inflateReset(&g->zs) != Z_OK, L2H_ERR_FORMAT, "%s: gzip: cannot reset inflater",
                g->name);
    return L2H_OK;
}

/* Inflates up to `want` bytes into dst; *got < want only at the end of the stream. */
static l2h_status gz_read(gz_reader *g, uint8_t *dst, size_t want, size_t *got)
{
    *got = 0;
    while (*got < want && !g->ended) {
        gz_feed(g);
        const size_t room = want - *got;
        g->zs.next_out = dst + *got;
        g->zs.avail_out = room > UINT_MAX ? UINT_MAX : (uInt)room;
        const uInt before_out = g->zs.avail_out, before_in = g->zs.avail_in;
        const int rc = inflate(&g->zs, Z_NO_FLUSH);
        *got += before_out - g->zs.avail_out;
        if (rc == Z_STREAM_END) {
            L2H_TRY(gz_member_end(g));
        } else if (rc == Z_BUF_ERROR ||
                   (rc == Z_OK && g->zs.avail_out == before_out && g->zs.avail_in == before_in)) {
            L2H_FAIL_IF(g->zs.avail_in == 0 && g->fed == g->len, L2H_ERR_FORMAT,
                        "%s: truncated gzip stream (%zu compressed bytes end mid-stream)",
                        g->name, g->len);
            L2H_FAIL(L2H_ERR_FORMAT, "%s: gzip: inflate made no progress", g->name);
        } else if (rc == Z_MEM_ERROR) {
            L2H_FAIL(L2H_ERR_NOMEM, "%s: gzip: out of memory", g->name);
        } else if (rc != Z_OK) {
            L2H_FAIL(L2H_ERR_FORMAT, "%s: corrupt gzip data: %s", g->name,
                     g->zs.msg ? g->zs.msg : "inflate failed");
        }
    }
    return L2H_OK;
}

/* Reads exactly `want` bytes or fails naming `what`. */
static l2h_status gz_exact(gz_reader *g, uint8_t *dst, size_t want, const char *what,
                           size_t declared)
{
    size_t got;
    L2H_TRY(gz_read(g, dst, want, &got));
    L2H_FAIL_IF(got < want, L2H_ERR_FORMAT,
                "%s: decompressed data smaller than declared: %s ends after %zu of %zu bytes",
                g->name, what, got, declared ? declared : want);
    return L2H_OK;
}

/* Decompresses the data part: keeps the first `keep` bytes in a buffer that grows as data
 * arrives, skips the rest of `bytes` through a scratch buffer, then requires the stream end. */
static l2h_status gz_data(gz_reader *g, size_t keep, size_t bytes, uint8_t **out)
{
    l2h_status st = L2H_OK;
    /* start at max(64 KiB, 4 x the compressed size), never above what is kept */
    size_t start = g->len > SIZE_MAX / 4 ? SIZE_MAX : 4 * g->len, filled = 0;
    if (start < ((size_t)1 << 16)) start = (size_t)1 << 16;
    size_t cap = keep < start ? keep : start;
    uint8_t *buf = l2h_malloc(cap);
    L2H_NOMEM_IF_NULL(buf);
    while (filled < keep) {
        if (filled == cap) {
            const size_t ncap = cap > keep / 2 ? keep : cap * 2;
            uint8_t *nb = l2h_realloc(buf, ncap);
            if (!nb) L2H_FAIL_GOTO(L2H_ERR_NOMEM, "%s: out of memory for %zu bytes", g->name, ncap);
            buf = nb;
            cap = ncap;
        }
        size_t got;
        L2H_CHECK_GOTO(gz_read(g, buf + filled, cap - filled, &got));
        filled += got;
        if (got == 0) break;
    }
    uint8_t scratch[4096];
    size_t skipped = 0;
    while (filled == keep && skipped < bytes - keep) {
        const size_t want = bytes - keep - skipped < sizeof scratch ? bytes - keep - skipped
                                                                    : sizeof scratch;
        size_t got;
        L2H_CHECK_GOTO(gz_read(g, scratch, want, &got));
        skipped += got;
        if (got < want) break;
    }
    if (filled + skipped < bytes)
        L2H_FAIL_GOTO(L2H_ERR_FORMAT,
                      "%s: decompressed data smaller than declared: %zu of %zu data bytes",
                      g->name, filled + skipped, bytes);
    size_t extra;
    L2H_CHECK_GOTO(gz_read(g, scratch, 1, &extra));
    if (extra)
        L2H_FAIL_GOTO(L2H_ERR_FORMAT,
                      "%s: decompressed data larger than the %zu data bytes the header declares",
                      g->name, bytes);
    *out = buf;
    return L2H_OK;
done:
    l2h_free(buf);
    return st;
}

static l2h_status idx_gzip_run(gz_reader *g, size_t max_rows, l2h_mat_view *v)
{
    const char *name = g->name;
    uint8_t hdr[4 + 4 * IDX_MAX_DIMS];
    size_t ndim = 0, rows, cols, bytes;
    L2H_TRY(gz_exact(g, hdr, 4, "the IDX magic", 0));
    L2H_TRY(idx_magic(hdr, name, &ndim));
    L2H_TRY(gz_exact(g, hdr + 4, 4 * ndim, "the IDX header", 0));
    L2H_TRY(idx_dims(hdr + 4, ndim, name, &rows, &cols, &bytes));
    /* deflate cannot expand more than 1032:1, so this input cannot hold the declared data */
    L2H_FAIL_IF(bytes / DEFLATE_MAX_RATIO > g->len, L2H_ERR_FORMAT,
                "%s: decompressed data smaller than declared: the header declares %zu bytes, "
                "more than %zu compressed bytes can hold",
                name, bytes, g->len);
    const size_t kept_rows = (max_rows && max_rows < rows) ? max_rows : rows;
    uint8_t *data = NULL;
    L2H_TRY(gz_data(g, kept_rows * cols, bytes, &data));
    fill_view(v, data, kept_rows, cols, ndim);
    v->owned = data;
    return L2H_OK;
}

static l2h_status idx_gzip(const uint8_t *buf, size_t len, const char *name, size_t max_rows,
                           l2h_mat_view *v)
{
    gz_reader g;
    memset(&g, 0, sizeof g);
    g.src = buf;
    g.len = len;
    g.name = name;
    const int rc = inflateInit2(&g.zs, 15 + 16); /* gzip wrapper only */
    L2H_FAIL_IF(rc == Z_MEM_ERROR, L2H_ERR_NOMEM, "%s: gzip: out of memory", name);
    L2H_FAIL_IF(rc != Z_OK, L2H_ERR_FORMAT, "%s: gzip: cannot start inflater", name);
    const l2h_status st = idx_gzip_run(&g, max_rows, v);
    inflateEnd(&g.zs);
    return st;
}

l2h_status l2h_idx_view(const uint8_t *buf, size_t len, const char *name, size_t max_rows,
                        l2h_mat_view *v)
{
    memset(v, 0, sizeof *v);
    if (len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b) return idx_gzip(buf, len, name, max_rows, v);
    return idx_plain(buf, len, name, max_rows, v);
}
