/* file_atomic.c -- how the library writes files, and the lock that serialises writers.
 *
 * l2h_write_atomic(path): every file the library writes (models, indexes, codes) goes through
 * here.
 *   - A regular file (or a missing one) is replaced atomically: a temporary file next to it,
 *     fsync, rename over `path`, fsync of the folder. The new file keeps the old file's mode
 *     (and, when allowed, owner); a new file gets 0666 minus the umask.
 *   - A symbolic link is followed: its target is replaced and the link stays a link.
 *   - A character device or FIFO (/dev/null, a named pipe) is written through in place: it is
 *     never replaced by a regular file. Directories, sockets and dangling links are refused.
 *   - The write holds the exclusive lock of the target (below), unless this process already
 *     holds it for a read-modify-write.
 *   - Temporary files left by killed writers (`<name>.tmpXXXXXX` next to the target, older than
 *     a few seconds and not locked by a live writer) are removed.
 *
 * l2h_file_lock_acquire(path): an exclusive advisory lock (flock) for a read-modify-write of
 * `path`, such as `l2h index add`: load, change, save. It locks the file's inode and then checks
 * that `path` still names that inode (a writer that finished meanwhile renamed a new file into
 * place; the waiter then locks the new one), so two writers can never both read the same
 * version. Inside one process the held locks are remembered (by device and inode), so the
 * l2h_write_atomic of the holder does not wait for itself. Waits up to L2H_LOCK_WAIT_S. */
#include "io_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define L2H_LOCK_WAIT_S 600   /* a writer holding the lock longer than this is reported */
#define L2H_STALE_TMP_S 10    /* temporary files younger than this are never removed */
#define TMP_SUFFIX ".tmp"     /* <name>.tmpXXXXXX */

l2h_status l2h_fwrite_all(FILE *f, const void *buf, size_t len, const char *path)
{
    if (len == 0) return L2H_OK;
    L2H_FAIL_IF(fwrite(buf, 1, len, f) != len, L2H_ERR_IO, "%s: write failed: %s", path,
                strerror(errno));
    return L2H_OK;
}

/* ---- the locks this process holds ---------------------------------------------------------- */

struct l2h_file_lock {
    int fd;
    dev_t dev;
    ino_t ino;
    struct l2h_file_lock *next;
};

static pthread_mutex_t held_mu = PTHREAD_MUTEX_INITIALIZER;
static struct l2h_file_lock *held;

static int held_by_us(dev_t dev, ino_t ino)
{
    pthread_mutex_lock(&held_mu);
    int found = 0;
    for (const struct l2h_file_lock *l = held; l && !found; l = l->next)
        found = l->dev == dev && l->ino == ino;
    pthread_mutex_unlock(&held_mu);
    return found;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Locks the regular file `path` names: *fd >= 0 on success; *fd = -1 and L2H_OK when the file
 * does not exist (nothing to read-modify-write, and a new file is created by rename). */
static l2h_status lock_path(const char *path, int *fd_out, struct stat *st_out)
{
    *fd_out = -1;
    const double t0 = now_s();
    for (;;) {
        const int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0 && errno == ENOENT) return L2H_OK;
        L2H_FAIL_IF(fd < 0, L2H_ERR_IO, "%s: cannot open to lock: %s", path, strerror(errno));
        int r;
        while ((r = flock(fd, LOCK_EX | LOCK_NB)) != 0 && errno == EWOULDBLOCK) {
            if (now_s() - t0 > L2H_LOCK_WAIT_S) {
                close(fd);
                L2H_FAIL(L2H_ERR_IO,
                         "%s: another process has been changing this file for more than %d s "
                         "(its lock is still held); try again when it has finished",
                         path, L2H_LOCK_WAIT_S);
            }
            const struct timespec pause = {0, 5 * 1000 * 1000};
            nanosleep(&pause, NULL);
        }
        if (r != 0) {
            const int e = errno;
            close(fd);
            L2H_FAIL(L2H_ERR_IO, "%s: cannot lock: %s", path, strerror(e));
        }
        /* the file may have been replaced while we waited: lock what `path` names now */
        struct stat a, b;
        if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
            a.st_ino == b.st_ino) {
            *fd_out = fd;
            *st_out = a;
            return L2H_OK;
        }
        close(fd);
        if (stat(path, &b) != 0 && errno == ENOENT) return L2H_OK;
    }
}

l2h_status l2h_file_lock_acquire(l2h_file_lock **out, const char *path)
{
    L2H_FAIL_IF(out == NULL || path == NULL || path[0] == '\0', L2H_ERR_ARG,
                "file lock: NULL argument");
    *out = NULL;
    char real[PATH_MAX];
    const char *target = realpath(path, real) ? real : path; /* a link: lock its target */
    int fd;
    struct stat st;
    L2H_TRY(lock_path(target, &fd, &st));
    L2H_FAIL_IF(fd < 0, L2H_ERR_IO, "%s: cannot lock: no such file", path);
    L2H_FAIL_IF(held_by_us(st.st_dev, st.st_ino), L2H_ERR_ARG,
                "%s: this process already holds the lock of this file", path);
    struct l2h_file_lock *l = l2h_malloc(sizeof *l);
    if (!l) {
        close(fd);
        L2H_FAIL(L2H_ERR_NOMEM, "%s: out of memory", path);
    }
    *l = (struct l2h_file_lock){fd, st.st_dev, st.st_ino, NULL};
    pthread_mutex_lock(&held_mu);
    l->next = held;
    held = l;
    pthread_mutex_unlock(&held_mu);
    *out = l;
    return L2H_OK;
}

void l2h_file_lock_release(l2h_file_lock *lock)
{
    if (!lock) return;
    pthread_mutex_lock(&held_mu);
    for (struct l2h_file_lock **p = &held; *p; p = &(*p)->next)
        if (*p == lock) {
            *p = lock->next;
            break;
        }
    pthread_mutex_unlock(&held_mu);
    close(lock->fd); /* closing the descriptor releases the flock */
    l2h_free(lock);
}

/* ---- helpers ------------------------------------------------------------------------------- */

static void split_path(const char *path, char *dir, size_t cap, const char **base)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(dir, cap, ".");
        *base = path;
    } else if (slash == path) {
        snprintf(dir, cap, "/");
        *base = slash + 1;
    } else {
        snprintf(dir, cap, "%.*s", (int)(slash - path), path);
        *base = slash + 1;
    }
}

static void fsync_parent(const char *path)
{
    char dir[PATH_MAX];
    const char *base;
    split_path(path, dir, sizeof dir, &base);
    const int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

/* The process umask without changing it (umask() would race with other threads): Linux reports
 * it in /proc/self/status; elsewhere the conservative 022. */
static mode_t current_umask(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    mode_t m = 022;
    if (!f) return m;
    char line[256];
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "Umask:", 6) == 0) {
            m = (mode_t)strtoul(line + 6, NULL, 8) & 0777;
            break;
        }
    fclose(f);
    return m;
}

/* Removes <base>.tmpXXXXXX files of writers that died: old enough and not locked (a live
 * writer holds an flock on its temporary file for the whole write). */
static void clean_stale_temps(const char *path)
{
    char dir[PATH_MAX];
    const char *base;
    split_path(path, dir, sizeof dir, &base);
    const size_t blen = strlen(base), slen = strlen(TMP_SUFFIX);
    DIR *d = opendir(dir);
    if (!d) return;
    const time_t now = time(NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        if (strlen(n) != blen + slen + 6 || strncmp(n, base, blen) != 0 ||
            strncmp(n + blen, TMP_SUFFIX, slen) != 0)
            continue;
        char full[PATH_MAX];
        const int w = snprintf(full, sizeof full, "%s/%s", dir, n);
        if (w < 0 || (size_t)w >= sizeof full) continue;
        const int fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0) continue;
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && now - st.st_mtime > L2H_STALE_TMP_S &&
            flock(fd, LOCK_EX | LOCK_NB) == 0)
            (void)unlink(full);
        close(fd);
    }
    closedir(d);
}

static l2h_status finish_stream(FILE *f, const char *path, l2h_status st, int do_sync)
{
    if (st == L2H_OK && fflush(f) != 0)
        st = l2h_set_error(L2H_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    if (st == L2H_OK && do_sync && fsync(fileno(f)) != 0)
        st = l2h_set_error(L2H_ERR_IO, "%s: fsync failed: %s", path, strerror(errno));
    if (fclose(f) != 0 && st == L2H_OK)
        st = l2h_set_error(L2H_ERR_IO, "%s: close failed: %s", path, strerror(errno));
    return st;
}

/* A character device or FIFO: written through in place, never replaced. */
static l2h_status write_through(const char *path, l2h_write_fn write, void *ctx)
{
    const int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
    L2H_FAIL_IF(fd < 0, L2H_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        const int e = errno;
        close(fd);
        L2H_FAIL(L2H_ERR_IO, "%s: %s", path, strerror(e));
    }
    return finish_stream(f, path, write(f, path, ctx), 0);
}

/* Replaces the regular file (or creates) `path` through a temporary file next to it. */
static l2h_status replace_file(const char *path, const struct stat *old, l2h_write_fn write,
                               void *ctx)
{
    const size_t len = strlen(path);
    char *tmp = l2h_malloc(len + 16);
    L2H_NOMEM_IF_NULL(tmp);
    snprintf(tmp, len + 16, "%s" TMP_SUFFIX "XXXXXX", path);
    const int fd = mkstemp(tmp);
    if (fd >= 0) (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
    if (fd < 0) {
        const int e = errno;
        l2h_free(tmp);
        L2H_FAIL(L2H_ERR_IO, "%s: cannot create temporary file: %s", path, strerror(e));
    }
    (void)flock(fd, LOCK_EX | LOCK_NB); /* marks the temporary file as live (clean_stale_temps) */
    l2h_status st = L2H_OK;
    if (old) {
        /* keep the replaced file's permissions and, where allowed, its owner */
        if (fchmod(fd, old->st_mode & 07777) != 0)
            st = l2h_set_error(L2H_ERR_IO, "%s: cannot set the mode of the new file: %s", path,
                               strerror(errno));
        if (fchown(fd, old->st_uid, old->st_gid) != 0) { /* not permitted: keep ours */
        }
    } else if (fchmod(fd, 0666 & ~current_umask()) != 0) {
        st = l2h_set_error(L2H_ERR_IO, "%s: cannot set the mode of the new file: %s", path,
                           strerror(errno));
    }
    FILE *f = st == L2H_OK ? fdopen(fd, "wb") : NULL;
    if (!f) {
        if (st == L2H_OK) st = l2h_set_error(L2H_ERR_IO, "%s: %s", path, strerror(errno));
        close(fd);
        unlink(tmp);
        l2h_free(tmp);
        return st;
    }
    st = finish_stream(f, path, write(f, path, ctx), 1);
    if (st == L2H_OK && rename(tmp, path) != 0)
        st = l2h_set_error(L2H_ERR_IO, "%s: rename failed: %s", path, strerror(errno));
    if (st != L2H_OK) unlink(tmp);
    else fsync_parent(path);
    l2h_free(tmp);
    return st;
}

l2h_status l2h_write_atomic(const char *path, l2h_write_fn write, void *ctx)
{
    L2H_FAIL_IF(path == NULL || path[0] == '\0', L2H_ERR_ARG, "empty output path");
    struct stat lst;
    char real[PATH_MAX];
    const char *target = path;
    if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) {
        /* a link is followed: its target is replaced, the link stays */
        L2H_FAIL_IF(realpath(path, real) == NULL, L2H_ERR_IO,
                    "%s: a symbolic link whose target cannot be resolved (%s); refusing to "
                    "replace the link",
                    path, strerror(errno));
        target = real;
    }
    struct stat st;
    const int exists = stat(target, &st) == 0;
    if (exists && (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)))
        return write_through(target, write, ctx);
    L2H_FAIL_IF(exists && S_ISDIR(st.st_mode), L2H_ERR_IO, "%s: is a directory", path);
    L2H_FAIL_IF(exists && !S_ISREG(st.st_mode), L2H_ERR_IO,
                "%s: not a regular file, character device or FIFO; refusing to replace it",
                path);
    /* serialise with other writers of this file, unless we hold its lock already */
    int fd = -1;
    struct stat locked;
    if (!exists || !held_by_us(st.st_dev, st.st_ino)) {
        /* a file we may replace but not read (mode -w-) cannot be locked: written unlocked */
        if (!exists || access(target, R_OK) == 0) L2H_TRY(lock_path(target, &fd, &locked));
        if (fd >= 0) st = locked;
    }
    clean_stale_temps(target);
    const int still = stat(target, &st) == 0 && S_ISREG(st.st_mode);
    const l2h_status r = replace_file(target, still ? &st : NULL, write, ctx);
    if (fd >= 0) close(fd);
    return r;
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
