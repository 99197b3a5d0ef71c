/* io_test_util.h -- helpers shared by the io tests (test_io.c, test_io_datasets.c): a growable
 * byte buffer to build files by hand, gzip, a temporary folder, and EXPECT_ERR, which checks
 * both the status and that the message starts with the file name. */
#ifndef L2H_IO_TEST_UTIL_H
#define L2H_IO_TEST_UTIL_H

#include "check.h"

#include "../../src/io/io_read.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static l2h_rng rng;
static char tmpdir[256];

/* ---- helpers ---------------------------------------------------------------------------- */

static inline int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static inline void expect_msg(const char *file, int line, const char *name, const char *part)
{
    const char *m = l2h_last_error();
    if (starts_with(m, name) && (part == NULL || strstr(m, part) != NULL)) {
        check_passed++;
        return;
    }
    check_failed++;
    fprintf(stderr, "%s:%d: message \"%s\" should start with \"%s\" and contain \"%s\"\n", file,
            line, m, name, part ? part : "");
}

/* The call fails with `want`, the message starts with `name` and contains `part` (or NULL). */
#define EXPECT_ERR(expr, want, name, part)                                                         \
    do {                                                                                           \
        CHECK_STATUS(expr, want);                                                                  \
        expect_msg(__FILE__, __LINE__, name, part);                                                \
    } while (0)

typedef struct bytes {
    uint8_t *p;
    size_t n, cap;
} bytes;

static inline void put(bytes *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}

static inline void put_le32(bytes *b, uint32_t v)
{
    uint8_t t[4];
    l2h_wr_le32(t, v);
    put(b, t, 4);
}

static inline void put_f32(bytes *b, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    put_le32(b, u);
}

static inline void put_be32(bytes *b, uint32_t v)
{
    const uint8_t t[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    put(b, t, 4);
}

static inline void put_str(bytes *b, const char *s)
{
    put(b, s, strlen(s));
}

static inline void reset(bytes *b)
{
    b->n = 0;
}

static inline l2h_status rd(l2h_dataset **ds, const bytes *b, const char *name, l2h_format f,
                     size_t dim, size_t max_rows)
{
    l2h_read_params p = l2h_read_default_params();
    p.format = f;
    p.dim = dim;
    p.max_rows = max_rows;
    return l2h_dataset_read_mem(ds, b->p ? (const void *)b->p : "", b->n, name, &p);
}

static inline void tmp_path(char *out, const char *file)
{
    snprintf(out, 512, "%s/%s", tmpdir, file);
}

static inline void write_file(const char *path, const void *d, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(d, 1, n, f) != n) fprintf(stderr, "cannot write %s\n", path);
    if (f) fclose(f);
}

/* gzip (RFC 1952) of d[0, n) appended to out */
static inline void gzip_into(bytes *out, const void *d, size_t n)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    const size_t cap = deflateBound(&zs, (uLong)n) + 32;
    uint8_t *tmp = malloc(cap);
    zs.next_in = (Bytef *)(uintptr_t)d;
    zs.avail_in = (uInt)n;
    zs.next_out = tmp;
    zs.avail_out = (uInt)cap;
    deflate(&zs, Z_FINISH);
    put(out, tmp, cap - zs.avail_out);
    deflateEnd(&zs);
    free(tmp);
}


static inline void make_npy(bytes *b, int major, const char *dict, const void *data, size_t n)
{
    reset(b);
    put(b, "\x93NUMPY", 6);
    const uint8_t ver[2] = {(uint8_t)major, 0};
    put(b, ver, 2);
    const size_t hlen = strlen(dict) + 1;
    if (major == 1) {
        const uint8_t l[2] = {(uint8_t)(hlen & 0xff), (uint8_t)(hlen >> 8)};
        put(b, l, 2);
    } else {
        put_le32(b, (uint32_t)hlen);
    }
    put_str(b, dict);
    put(b, "\n", 1);
    put(b, data, n);
}

static const float npy_f[6] = {0.5f, -1.0f, 2.0f, 3.25f, 0.0f, 100.0f};

/* IDX ubyte file: dims[0..k) then data (values i * 7 mod 256) */
static inline void make_idx(bytes *b, int k, const uint32_t *dims, size_t extra)
{
    reset(b);
    const uint8_t magic[4] = {0, 0, 8, (uint8_t)k};
    put(b, magic, 4);
    size_t total = 1;
    for (int i = 0; i < k; i++) {
        put_be32(b, dims[i]);
        total *= dims[i];
    }
    for (size_t i = 0; i < total + extra; i++) {
        const uint8_t v = (uint8_t)(i * 7);
        put(b, &v, 1);
    }
}


/* Seeds the RNG and makes a fresh temporary folder in the working directory. */
static inline int io_test_setup(void)
{
    l2h_rng_seed(&rng, test_seed());
    snprintf(tmpdir, sizeof tmpdir, "io_test_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        fprintf(stderr, "cannot create a temporary folder\n");
        return 0;
    }
    return 1;
}

static inline void io_test_teardown(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
}

#endif
