/* wal.c -- write-ahead log with group commit.
 *
 * Segment files wal-NNNNNNNN.log in the data directory. A record is
 *   u32 payload length | u32 CRC-32 of (type, payload) | u8 type | payload
 * (little endian). Writers append records to an in-memory buffer under the log mutex and get a
 * log position; one flusher thread writes the buffer out and fsyncs (fdatasync) it, so many
 * concurrent writers share one fsync (group commit). Policy: ALWAYS flushes and syncs as soon as
 * there is data; INTERVAL syncs every interval_ms unless a waiter asks earlier; NEVER leaves
 * syncing to the OS. wal_wait always means durable: a waiter forces a sync even under NEVER. */
#include "l2hd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

struct wal {
    char dir[512];
    pthread_mutex_t mu;
    pthread_cond_t work_cv, done_cv;
    uint8_t *buf;
    size_t len, cap;
    uint64_t appended;  /* log position after the last appended record      */
    uint64_t written;   /* position written to the file                     */
    uint64_t durable;   /* position fsync'ed                                */
    uint64_t want_sync; /* highest position a waiter needs durable          */
    int fd;
    uint32_t seg;
    fsync_policy pol;
    int interval_ms;
    bool stop, failed, flushing;
    uint64_t fsyncs;
    pthread_t thr;
};

static int open_seg(wal *w, uint32_t seg)
{
    char path[600];
    snprintf(path, sizeof path, "%s/wal-%08u.log", w->dir, seg);
    const int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    /* make the new file's directory entry durable */
    const int dfd = open(w->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    if (w->fd >= 0) close(w->fd);
    w->fd = fd;
    w->seg = seg;
    return 0;
}

static void *flusher(void *arg)
{
    wal *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->stop && w->len == 0 && w->want_sync <= w->durable) {
            if (w->pol == FSYNC_INTERVAL && w->written > w->durable) {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_nsec += (long)w->interval_ms * 1000000L;
                ts.tv_sec += ts.tv_nsec / 1000000000L;
                ts.tv_nsec %= 1000000000L;
                if (pthread_cond_timedwait(&w->work_cv, &w->mu, &ts) == ETIMEDOUT) break;
            } else {
                pthread_cond_wait(&w->work_cv, &w->mu);
            }
        }
        if (w->stop && w->len == 0 && w->written == w->durable) break;
        /* take the buffer */
        uint8_t *b = w->buf;
        const size_t n = w->len;
        const uint64_t upto = w->appended;
        w->buf = NULL;
        w->len = w->cap = 0;
        const int fd = w->fd;
        const bool sync = w->pol == FSYNC_ALWAYS || w->want_sync > w->durable || w->stop ||
                          w->pol == FSYNC_INTERVAL;
        w->flushing = true;
        pthread_mutex_unlock(&w->mu);
        bool ok = true;
        for (size_t off = 0; off < n;) {
            const ssize_t k = write(fd, b + off, n - off);
            if (k < 0 && errno == EINTR) continue;
            if (k <= 0) {
                ok = false;
                break;
            }
            off += (size_t)k;
        }
        free(b);
        if (ok && sync) ok = fdatasync(fd) == 0;
        pthread_mutex_lock(&w->mu);
        w->flushing = false;
        if (!ok) {
            w->failed = true;
            log_msg("wal: write/fsync failed: %s", strerror(errno));
        }
        w->written = upto;
        if (ok && sync) {
            w->durable = upto;
            w->fsyncs++;
        }
        pthread_cond_broadcast(&w->done_cv);
        if (w->stop && w->len == 0 && w->written == w->durable) break;
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

wal *wal_open(const char *dir, uint32_t seg, fsync_policy pol, int interval_ms)
{
    wal *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    snprintf(w->dir, sizeof w->dir, "%s", dir);
    w->fd = -1;
    w->pol = pol;
    w->interval_ms = interval_ms > 0 ? interval_ms : 100;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->work_cv, NULL);
    pthread_cond_init(&w->done_cv, NULL);
    if (open_seg(w, seg) != 0 || pthread_create(&w->thr, NULL, flusher, w) != 0) {
        if (w->fd >= 0) close(w->fd);
        free(w);
        return NULL;
    }
    return w;
}

void wal_close(wal *w)
{
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_broadcast(&w->work_cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thr, NULL);
    if (w->fd >= 0) close(w->fd);
    free(w->buf);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->work_cv);
    pthread_cond_destroy(&w->done_cv);
    free(w);
}

int wal_append(wal *w, uint8_t type, const void *const *parts, const size_t *lens, size_t nparts,
               uint64_t *lsn)
{
    size_t plen = 0;
    for (size_t i = 0; i < nparts; i++) plen += lens[i];
    if (plen > UINT32_MAX - 16) return -1;
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, &type, 1);
    for (size_t i = 0; i < nparts; i++) {
        const uint8_t *p = parts[i];
        for (size_t off = 0; off < lens[i];) { /* zlib takes uInt lengths */
            const size_t k = lens[i] - off > (1u << 30) ? (1u << 30) : lens[i] - off;
            crc = crc32(crc, p + off, (uInt)k);
            off += k;
        }
    }
    uint8_t hdr[9];
    const uint32_t l32 = (uint32_t)plen, c32 = (uint32_t)crc;
    for (int i = 0; i < 4; i++) {
        hdr[i] = (uint8_t)(l32 >> (8 * i));
        hdr[4 + i] = (uint8_t)(c32 >> (8 * i));
    }
    hdr[8] = type;
    pthread_mutex_lock(&w->mu);
    if (w->failed) {
        pthread_mutex_unlock(&w->mu);
        return -1;
    }
    const size_t need = w->len + sizeof hdr + plen;
    if (need > w->cap) {
        size_t cap = w->cap ? w->cap : 65536;
        while (cap < need) cap *= 2;
        uint8_t *nb = realloc(w->buf, cap);
        if (!nb) {
            pthread_mutex_unlock(&w->mu);
            return -1;
        }
        w->buf = nb;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, hdr, sizeof hdr);
    w->len += sizeof hdr;
    for (size_t i = 0; i < nparts; i++) {
        if (lens[i]) memcpy(w->buf + w->len, parts[i], lens[i]);
        w->len += lens[i];
    }
    w->appended += sizeof hdr + plen;
    if (lsn) *lsn = w->appended;
    if (w->pol == FSYNC_ALWAYS || w->len > (8u << 20)) pthread_cond_signal(&w->work_cv);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

int wal_wait(wal *w, uint64_t lsn)
{
    pthread_mutex_lock(&w->mu);
    if (lsn > w->want_sync) w->want_sync = lsn;
    pthread_cond_signal(&w->work_cv);
    while (w->durable < lsn && !w->failed) pthread_cond_wait(&w->done_cv, &w->mu);
    const int r = w->failed ? -1 : 0;
    pthread_mutex_unlock(&w->mu);
    return r;
}

uint32_t wal_rotate(wal *w)
{
    pthread_mutex_lock(&w->mu);
    /* wait for a flush in progress (it writes to the current segment), then, holding mu so no
     * other flush can start, write out and sync whatever is buffered ourselves */
    while (w->flushing) pthread_cond_wait(&w->done_cv, &w->mu);
    if (w->len || w->written > w->durable) {
        for (size_t off = 0; off < w->len;) {
            const ssize_t k = write(w->fd, w->buf + off, w->len - off);
            if (k < 0 && errno == EINTR) continue;
            if (k <= 0) {
                w->failed = true;
                break;
            }
            off += (size_t)k;
        }
        if (fdatasync(w->fd) != 0) w->failed = true;
        w->len = 0;
        w->written = w->durable = w->appended;
        w->fsyncs++;
        pthread_cond_broadcast(&w->done_cv);
    }
    const uint32_t seg = w->seg + 1;
    if (open_seg(w, seg) != 0) w->failed = true;
    pthread_mutex_unlock(&w->mu);
    return seg;
}

uint64_t wal_bytes(wal *w)
{
    pthread_mutex_lock(&w->mu);
    const uint64_t b = w->appended;
    pthread_mutex_unlock(&w->mu);
    return b;
}

uint64_t wal_fsyncs(wal *w)
{
    pthread_mutex_lock(&w->mu);
    const uint64_t b = w->fsyncs;
    pthread_mutex_unlock(&w->mu);
    return b;
}
