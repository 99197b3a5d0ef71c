/* file_atomic.c -- atomic file replacement (temporary file, fsync, rename, fsync of the
 * folder) and whole-file reads with a size cap. */
#include "io_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

l2h_status l2h_fwrite_all(FILE *f, const void *buf, size_t len, const char *path)
{
    if (len == 0) return L2H_OK;
    L2H_FAIL_IF(fwrite(buf, 1, len, f) != len, L2H_ERR_IO, "%s: write failed: %s", path,
                strerror(errno));
    return L2H_OK;
}

static void fsync_parent(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == path) snprintf(dir, sizeof dir, "/");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    const int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

l2h_status l2h_write_atomic(const char *path, l2h_write_fn write, void *ctx)
{
    L2H_FAIL_IF(path == NULL || path[0] == '\0', L2H_ERR_ARG, "empty output path");
    const size_t len = strlen(path);
    char *tmp = l2h_malloc(len + 16);
    L2H_NOMEM_IF_NULL(tmp);
    snprintf(tmp, len + 16, "%s.tmpXXXXXX", path);
    const int fd = mkstemp(tmp);
    if (fd < 0) {
        const int e = errno;
        l2h_free(tmp);
        L2H_FAIL(L2H_ERR_IO, "%s: cannot create temporary file: %s", path, strerror(e));
    }
    (void)fchmod(fd, 0644);
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        const int e = errno;
        close(fd);
        unlink(tmp);
        l2h_free(tmp);
        L2H_FAIL(L2H_ERR_IO, "%s: %s", path, strerror(e));
    }
    l2h_status st = write(f, path, ctx);
    if (st == L2H_OK && fflush(f) != 0)
        st = l2h_set_error(L2H_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    if (st == L2H_OK && fsync(fileno(f)) != 0)
        st = l2h_set_error(L2H_ERR_IO, "%s: fsync failed: %s", path, strerror(errno));
    if (fclose(f) != 0 && st == L2H_OK)
        st = l2h_set_error(L2H_ERR_IO, "%s: close failed: %s", path, strerror(errno));
    if (st == L2H_OK && rename(tmp, path) != 0)
        st = l2h_set_error(L2H_ERR_IO, "%s: rename failed: %s", path, strerror(errno));
    if (st != L2H_OK) unlink(tmp);
    else fsync_parent(path);
    l2h_free(tmp);
    return st;
}

l2h_status l2h_read_file(const char *path, size_t max_len, uint8_t **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    L2H_FAIL_IF(!f, L2H_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        L2H_FAIL(L2H_ERR_IO, "%s: not a regular file", path);
    }
    const size_t size = (size_t)st.st_size;
    if (size > max_len) {
        fclose(f);
        L2H_FAIL(L2H_ERR_FORMAT, "%s: file of %zu bytes is larger than the %zu allowed", path,
                 size, max_len);
    }
    uint8_t *b = l2h_malloc(size + 1);
    if (!b) {
        fclose(f);
        L2H_FAIL(L2H_ERR_NOMEM, "%s: out of memory for %zu bytes", path, size);
    }
    const size_t got = fread(b, 1, size, f);
    const int err = ferror(f);
    fclose(f);
    if (got != size || err) {
        l2h_free(b);
        L2H_FAIL(L2H_ERR_IO, "%s: read failed", path);
    }
    b[size] = 0;
    *buf = b;
    *len = size;
    return L2H_OK;
}
