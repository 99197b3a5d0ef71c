/* snapshot.c -- periodic atomic snapshots and crash recovery.
 *
 * A snapshot is one file, snapshot.l2hs, written to a temporary name, fsync'ed and renamed
 * (then the directory is fsync'ed), so it is either the old or the new one. It holds, for every
 * collection, its configuration and its whole store (ids, labels, row flags including
 * "learned", features), and the number of the first log segment that is NOT in it. Indexes and
 * learner states are derived data: recovery re-encodes the store (fixed mappings) or replays the
 * learned rows (online mappings, learner.c). Layout (little endian):
 *   "L2HSNAP1" | u32 first_segment | u32 n_collections |
 *   per collection: u32 len, config JSON | u64 rows, u64 dim, i64 next_id |
 *                   i64 ids[rows] | i32 labels[rows] | u8 flags[rows] | f32 x[rows*dim]
 *   | u32 CRC-32 of everything before.
 * Taking a snapshot: every collection lock is held for an instant while the log is rotated and
 * the row counts and flags are copied; the rows themselves never change once written, so they
 * are written out afterwards with writes going on. Then older log segments are deleted.
 * Compaction: a fixed-mapping collection's snapshot holds its alive rows only (deleted and
 * superseded rows are dropped; nothing refers to a row by its number there: the log names
 * items by id), so their space is reclaimed on disk and, after a restart, in memory. An online
 * collection keeps every row: its learner is rebuilt by replaying learned rows by number.
 *
 * Recovery: load the snapshot (a bad checksum is an error: the previous snapshot was replaced
 * only after this one was durable), replay the log segments from first_segment in order; a torn
 * or corrupt record in the last segment ends the log there: the file is cut at the last good
 * record and the cut is reported. */
#include "l2hd.h"
#include "proto.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

typedef struct wfile {
    FILE *f;
    uLong crc;
    int err;
} wfile;

static void wput(wfile *w, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t off = 0; off < n;) {
        const size_t k = n - off > (1u << 30) ? (1u << 30) : n - off;
        w->crc = crc32(w->crc, b + off, (uInt)k);
        off += k;
    }
    if (n && fwrite(p, 1, n, w->f) != n) w->err = 1;
}

static void fsync_dir(const char *dir)
{
    const int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

typedef struct snap_coll {
    coll *c;
    size_t n;
    int64_t next_id;
    uint8_t *flags;
} snap_coll;

/* A fixed-mapping collection's rows, alive ones only (compaction), column by column as the
 * loader reads them, gathered one store block at a time. */
static int write_alive(wfile *w, coll *c, const snap_coll *s)
{
    const size_t dim = c->cfg.dim;
    uint64_t alive = 0;
    for (size_t r = 0; r < s->n; r++) alive += (s->flags[r] & ROW_ALIVE) != 0;
    const uint64_t d64 = dim;
    wput(w, &alive, 8);
    wput(w, &d64, 8);
    wput(w, &s->next_id, 8);
    void *buf = malloc((size_t)STORE_BLOCK_ROWS * (dim * 4 > 8 ? dim * 4 : 8));
    if (!buf) return -1;
    for (int col = 0; col < 4; col++) {
        const size_t width = col == 0 ? 8 : col == 1 ? 4 : col == 2 ? 1 : dim * 4;
        for (size_t r0 = 0; r0 < s->n; r0 += STORE_BLOCK_ROWS) {
            const size_t b = r0 / STORE_BLOCK_ROWS;
            const size_t r1 = s->n - r0 < STORE_BLOCK_ROWS ? s->n : r0 + STORE_BLOCK_ROWS;
            const uint8_t *src = col == 0   ? (const uint8_t *)c->st->id[b]
                                 : col == 1 ? (const uint8_t *)c->st->label[b]
                                 : col == 2 ? s->flags + r0
                                            : (const uint8_t *)c->st->x[b];
            size_t k = 0;
            for (size_t r = r0; r < r1; r++)
                if (s->flags[r] & ROW_ALIVE)
                    memcpy((uint8_t *)buf + k++ * width, src + (r - r0) * width, width);
            wput(w, buf, k * width);
        }
    }
    free(buf);
    return 0;
}

int snapshot_write(char *err, size_t el)
{
    pthread_mutex_lock(&g.snap_mu);
    pthread_rwlock_rdlock(&g.reg_mu);
    const size_t nc = g.n_colls;
    snap_coll *sc = calloc(nc ? nc : 1, sizeof *sc);
    if (!sc) {
        pthread_rwlock_unlock(&g.reg_mu);
        pthread_mutex_unlock(&g.snap_mu);
        snprintf(err, el, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < nc; i++) {
        sc[i].c = g.colls[i];
        atomic_fetch_add(&sc[i].c->refs, 1);
        pthread_mutex_lock(&sc[i].c->mu);
    }
    const uint32_t seg = wal_rotate(g.log);
    int rc = 0;
    for (size_t i = 0; i < nc; i++) {
        coll *c = sc[i].c;
        sc[i].n = atomic_load(&c->st->n);
        sc[i].next_id = c->next_id;
        sc[i].flags = malloc(sc[i].n ? sc[i].n : 1);
        if (!sc[i].flags) rc = -1;
        for (size_t r = 0; sc[i].flags && r < sc[i].n; r++) sc[i].flags[r] = store_flags(c->st, r);
    }
    for (size_t i = 0; i < nc; i++) pthread_mutex_unlock(&sc[i].c->mu);
    pthread_rwlock_unlock(&g.reg_mu);

    char tmp[700], path[700];
    snprintf(tmp, sizeof tmp, "%s/snapshot.l2hs.tmp", g.dir);
    snprintf(path, sizeof path, "%s/snapshot.l2hs", g.dir);
    wfile w = {fopen(tmp, "wb"), crc32(0L, Z_NULL, 0), 0};
    if (!w.f || rc != 0) {
        snprintf(err, el, "cannot write %s: %s", tmp, strerror(errno));
        rc = -1;
    } else {
        const uint32_t hdr[2] = {seg, (uint32_t)nc};
        wput(&w, "L2HSNAP1", 8);
        wput(&w, hdr, sizeof hdr);
        for (size_t i = 0; i < nc; i++) {
            coll *c = sc[i].c;
            char *js = coll_config_to_json(&c->cfg);
            const uint32_t jl = js ? (uint32_t)strlen(js) : 0;
            wput(&w, &jl, 4);
            wput(&w, js, jl);
            free(js);
            const uint64_t rows = sc[i].n, dim = c->cfg.dim;
            if (c->cfg.model[0]) {
                if (write_alive(&w, c, &sc[i]) != 0) {
                    w.err = 1;
                    break;
                }
                continue;
            }
            wput(&w, &rows, 8);
            wput(&w, &dim, 8);
            wput(&w, &sc[i].next_id, 8);
            /* arrays, one block at a time (blocks are contiguous) */
            for (size_t r = 0; r < rows; r += STORE_BLOCK_ROWS) {
                const size_t k = rows - r < STORE_BLOCK_ROWS ? rows - r : STORE_BLOCK_ROWS;
                wput(&w, c->st->id[r / STORE_BLOCK_ROWS], k * 8);
            }
            for (size_t r = 0; r < rows; r += STORE_BLOCK_ROWS) {
                const size_t k = rows - r < STORE_BLOCK_ROWS ? rows - r : STORE_BLOCK_ROWS;
                wput(&w, c->st->label[r / STORE_BLOCK_ROWS], k * 4);
            }
            wput(&w, sc[i].flags, rows);
            for (size_t r = 0; r < rows; r += STORE_BLOCK_ROWS) {
                const size_t k = rows - r < STORE_BLOCK_ROWS ? rows - r : STORE_BLOCK_ROWS;
                wput(&w, c->st->x[r / STORE_BLOCK_ROWS], k * dim * 4);
            }
        }
        const uint32_t crc = (uint32_t)w.crc;
        if (fwrite(&crc, 4, 1, w.f) != 1) w.err = 1;
        if (fflush(w.f) != 0 || fsync(fileno(w.f)) != 0) w.err = 1;
        if (fclose(w.f) != 0) w.err = 1;
        if (w.err || rename(tmp, path) != 0) {
            snprintf(err, el, "writing the snapshot failed: %s", strerror(errno));
            (void)unlink(tmp);
            rc = -1;
        } else {
            fsync_dir(g.dir);
        }
    }
    for (size_t i = 0; i < nc; i++) {
        free(sc[i].flags);
        coll_put(sc[i].c);
    }
    free(sc);
    if (rc == 0) { /* older segments are covered by the snapshot */
        for (uint32_t s = seg; s-- > 1;) {
            char p[700];
            snprintf(p, sizeof p, "%s/wal-%08u.log", g.dir, s);
            if (unlink(p) != 0 && errno == ENOENT && s + 64 < seg) break;
        }
        atomic_fetch_add(&g.snapshots, 1);
        g.last_snapshot = now_s();
    }
    pthread_mutex_unlock(&g.snap_mu);
    return rc;
}

/* ---- recovery -------------------------------------------------------------------------------- */

static int rd(const uint8_t *b, size_t len, size_t *pos, void *out, size_t n)
{
    if (n > len - *pos) return -1;
    memcpy(out, b + *pos, n);
    *pos += n;
    return 0;
}

static coll *find_coll(const char *name)
{
    return coll_get(name, strlen(name));
}

/* Rows straight from a snapshot: per-row flags. */
static int load_rows(coll *c, const int64_t *ids, const int32_t *labels, const uint8_t *flags,
                     const float *x, size_t n, int64_t next_id)
{
    pthread_mutex_lock(&c->mu);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const size_t r = store_append(c->st, x + i * c->cfg.dim, ids + i, labels + i, 1, flags[i]);
        if (r == SIZE_MAX) rc = -1;
        else if ((flags[i] & ROW_ALIVE) && idmap_put(&c->ids, ids[i], r) != 0) rc = -1;
        if (flags[i] & ROW_LEARN) atomic_fetch_add(&c->learn_rows, 1);
    }
    c->next_id = next_id;
    pthread_mutex_unlock(&c->mu);
    return rc;
}

static int load_snapshot(uint32_t *seg)
{
    char path[700];
    snprintf(path, sizeof path, "%s/snapshot.l2hs", g.dir);
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? 0 : -1;
    struct stat sb;
    if (fstat(fd, &sb) != 0 || sb.st_size < 20) {
        close(fd);
        log_msg("recovery: %s is truncated", path);
        return -1;
    }
    const size_t len = (size_t)sb.st_size;
    uint8_t *b = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (b == MAP_FAILED) return -1;
    int rc = -1;
    uLong crc = crc32(0L, Z_NULL, 0);
    for (size_t off = 0; off < len - 4;) {
        const size_t k = len - 4 - off > (1u << 30) ? (1u << 30) : len - 4 - off;
        crc = crc32(crc, b + off, (uInt)k);
        off += k;
    }
    uint32_t stored;
    memcpy(&stored, b + len - 4, 4);
    size_t pos = 8;
    uint32_t hdr[2];
    if (memcmp(b, "L2HSNAP1", 8) != 0 || stored != (uint32_t)crc) {
        log_msg("recovery: %s: bad magic or checksum", path);
        goto done;
    }
    if (rd(b, len - 4, &pos, hdr, sizeof hdr)) goto done;
    *seg = hdr[0];
    for (uint32_t i = 0; i < hdr[1]; i++) {
        uint32_t jl;
        uint64_t rows, dim;
        int64_t next_id;
        if (rd(b, len - 4, &pos, &jl, 4) || jl > len - 4 - pos) goto done;
        coll_config cfg;
        char err[256];
        if (coll_config_from_json((const char *)b + pos, jl, &cfg, err, sizeof err) != 0) {
            log_msg("recovery: snapshot config: %s", err);
            goto done;
        }
        pos += jl;
        if (rd(b, len - 4, &pos, &rows, 8) || rd(b, len - 4, &pos, &dim, 8) ||
            rd(b, len - 4, &pos, &next_id, 8) || dim != cfg.dim)
            goto done;
        if (rows > (len - 4 - pos) / (8 + 4 + 1 + 4 * dim)) goto done;
        if (coll_create(&cfg, 0, err, sizeof err) != 200) goto done;
        coll *c = find_coll(cfg.name);
        const uint8_t *ids = b + pos, *labels = ids + rows * 8, *flags = labels + rows * 4,
                      *x = flags + rows;
        /* the mapping is MAP_PRIVATE and page aligned; copy unaligned arrays to be safe */
        int64_t *i64 = malloc((rows ? rows : 1) * 8);
        int32_t *i32 = malloc((rows ? rows : 1) * 4);
        float *f32 = malloc((rows ? rows : 1) * dim * 4);
        int ok = i64 && i32 && f32 && c;
        if (ok) {
            memcpy(i64, ids, rows * 8);
            memcpy(i32, labels, rows * 4);
            memcpy(f32, x, rows * dim * 4);
            ok = load_rows(c, i64, i32, flags, f32, rows, next_id) == 0;
        }
        free(i64);
        free(i32);
        free(f32);
        coll_put(c);
        if (!ok) goto done;
        pos += rows * (8 + 4 + 1 + 4 * dim);
    }
    rc = pos == len - 4 ? 0 : -1;
done:
    munmap(b, len);
    return rc;
}

/* Applies one log record; -1 if it is malformed (then the log is cut there). */
static int apply_record(uint8_t type, const uint8_t *p, size_t n)
{
    if (type == WAL_CREATE) {
        coll_config cfg;
        char err[256];
        if (coll_config_from_json((const char *)p, n, &cfg, err, sizeof err) != 0) return -1;
        (void)coll_create(&cfg, 0, err, sizeof err); /* 409: already in the snapshot */
        return 0;
    }
    if (type == WAL_DROP) {
        char name[81];
        if (n == 0 || n > 80) return -1;
        memcpy(name, p, n);
        name[n] = 0;
        (void)coll_drop(name, 0);
        return 0;
    }
    if (n < 1 || p[0] == 0 || (size_t)p[0] + 1 > n || p[0] > 80) return -1;
    char name[81];
    memcpy(name, p + 1, p[0]);
    name[p[0]] = 0;
    size_t pos = 1 + (size_t)p[0];
    coll *c = find_coll(name);
    if (!c) return 0; /* a record of a dropped collection */
    int rc = -1;
    if (type == WAL_INSERT) {
        uint8_t fl[2];
        uint64_t rows, dim;
        if (rd(p, n, &pos, fl, 2) || rd(p, n, &pos, &rows, 8) || rd(p, n, &pos, &dim, 8)) goto out;
        if (dim != c->cfg.dim || rows > n) goto out;
        const size_t need = rows * 8 + (fl[1] ? rows * 4 : 0) + rows * dim * 4;
        if (need != n - pos) goto out;
        int64_t *ids = malloc((rows ? rows : 1) * 8);
        int32_t *lab = fl[1] ? malloc(rows * 4) : NULL;
        float *x = malloc((rows ? rows : 1) * dim * 4);
        if (ids && x && (!fl[1] || lab)) {
            rd(p, n, &pos, ids, rows * 8);
            if (lab) rd(p, n, &pos, lab, rows * 4);
            rd(p, n, &pos, x, rows * dim * 4);
            coll_apply_insert(c, x, ids, lab, rows, fl[0]);
            rc = 0;
        }
        free(ids);
        free(lab);
        free(x);
    } else if (type == WAL_DELETE) {
        uint64_t k;
        if (rd(p, n, &pos, &k, 8) || k > n || k * 8 != n - pos) goto out;
        int64_t *ids = malloc((k ? k : 1) * 8);
        if (ids) {
            memcpy(ids, p + pos, k * 8);
            coll_apply_delete(c, ids, k);
            rc = 0;
        }
        free(ids);
    } else if (type == WAL_LEARN) {
        uint64_t v[3];
        if (rd(p, n, &pos, v, sizeof v) || pos != n) goto out;
        coll_apply_learned(c, v[0], v[1], v[2]);
        rc = 0;
    }
out:
    coll_put(c);
    return rc;
}

static int cmp_u32(const void *a, const void *b)
{
    const uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Replays one segment; returns -1 if it ended in a torn/corrupt record (cut there). */
static int replay_segment(uint32_t s, int is_last)
{
    char path[700];
    snprintf(path, sizeof path, "%s/wal-%08u.log", g.dir, s);
    const int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) return 0;
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        close(fd);
        return -1;
    }
    const size_t len = (size_t)sb.st_size;
    uint8_t *b = len ? mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
    if (len && b == MAP_FAILED) {
        close(fd);
        return -1;
    }
    size_t pos = 0;
    int torn = 0;
    while (pos < len) {
        if (len - pos < 9) {
            torn = 1;
            break;
        }
        uint32_t l, crc;
        memcpy(&l, b + pos, 4);
        memcpy(&crc, b + pos + 4, 4);
        if (l > len - pos - 9) {
            torn = 1;
            break;
        }
        uLong c = crc32(0L, Z_NULL, 0);
        c = crc32(c, b + pos + 8, 1);
        for (size_t off = 0; off < l;) {
            const size_t k = l - off > (1u << 30) ? (1u << 30) : l - off;
            c = crc32(c, b + pos + 9 + off, (uInt)k);
            off += k;
        }
        if ((uint32_t)c != crc || apply_record(b[pos + 8], b + pos + 9, l) != 0) {
            torn = 1;
            break;
        }
        g.replayed_records++;
        pos += 9 + (size_t)l;
    }
    if (b) munmap(b, len);
    if (torn) {
        g.torn_bytes += len - pos;
        snprintf(g.recovery_note, sizeof g.recovery_note,
                 "wal-%08u.log: torn or corrupt tail of %zu bytes cut at offset %zu%s", s,
                 len - pos, pos, is_last ? "" : " (not the last segment: later ones ignored)");
        log_msg("recovery: %s", g.recovery_note);
        if (ftruncate(fd, (off_t)pos) != 0 || fsync(fd) != 0) log_msg("recovery: cannot cut");
    }
    close(fd);
    return torn ? -1 : 0;
}

int recover(void)
{
    const double t0 = now_s();
    uint32_t seg = 1;
    if (load_snapshot(&seg) != 0) {
        log_msg("recovery: cannot load the snapshot");
        return -1;
    }
    /* segments >= seg, in order */
    DIR *d = opendir(g.dir);
    if (!d) return -1;
    uint32_t *segs = NULL;
    size_t ns = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        unsigned v;
        char tail[8];
        if (sscanf(e->d_name, "wal-%8u.%3s", &v, tail) != 2 || strcmp(tail, "log") != 0) continue;
        if (ns == cap) {
            cap = cap ? cap * 2 : 16;
            uint32_t *n = realloc(segs, cap * sizeof *n);
            if (!n) break;
            segs = n;
        }
        segs[ns++] = v;
    }
    closedir(d);
    if (ns) qsort(segs, ns, sizeof *segs, cmp_u32);
    uint32_t last = seg;
    for (size_t i = 0; i < ns; i++) {
        if (segs[i] < seg) continue; /* left over from before the snapshot */
        last = segs[i];
        if (replay_segment(segs[i], i + 1 == ns) != 0) {
            /* later segments cannot be trusted to follow: remove them */
            for (size_t j = i + 1; j < ns; j++) {
                char p[700];
                snprintf(p, sizeof p, "%s/wal-%08u.log", g.dir, segs[j]);
                (void)unlink(p);
            }
            break;
        }
    }
    free(segs);
    g.seg = last + 1;
    g.log = wal_open(g.dir, g.seg, g.fsync, g.fsync_ms);
    if (!g.log) return -1;
    /* indexes and learners */
    pthread_rwlock_rdlock(&g.reg_mu);
    const size_t nc = g.n_colls;
    coll **cs = malloc((nc ? nc : 1) * sizeof *cs);
    for (size_t i = 0; cs && i < nc; i++) {
        cs[i] = g.colls[i];
        atomic_fetch_add(&cs[i]->refs, 1);
    }
    pthread_rwlock_unlock(&g.reg_mu);
    if (!cs) return -1;
    for (size_t i = 0; i < nc; i++)
        if (coll_start(cs[i]) != 0) log_msg("recovery: %s: cannot start", cs[i]->cfg.name);
    for (size_t i = 0; i < nc; i++) {
        while (cs[i]->cfg.method[0] && cs[i]->learner_started && !atomic_load(&cs[i]->recovered)) {
            const struct timespec ts = {0, 2000000};
            nanosleep(&ts, NULL);
        }
        coll_put(cs[i]);
    }
    free(cs);
    g.recovery_seconds = now_s() - t0;
    log_msg("recovery: %zu collections, %llu log records replayed in %.3f s%s%s", nc,
            (unsigned long long)g.replayed_records, g.recovery_seconds,
            g.recovery_note[0] ? "; " : "", g.recovery_note);
    return 0;
}
