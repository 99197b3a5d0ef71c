/* l2hd.c -- the l2h retrieval service: options, start-up (recovery), periodic snapshots,
 * shutdown. Exit codes: 0 clean stop (SIGTERM/SIGINT), 1 runtime error, 2 usage error. */
#include "l2hd.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

service g;

double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void log_msg(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(stderr, "l2hd: %s\n", buf);
}

static atomic_int stop_flag; /* lock-free, so safe in a signal handler */
static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: l2hd --data DIR [options]\n\n"
            "The l2h retrieval service: collections of items hashed to binary codes, exact\n"
            "Hamming search, online learning of the hash mapping with background re-hashing,\n"
            "a write-ahead log and snapshots (docs/service.md). HTTP/1.1 + JSON; the status\n"
            "page is at / .\n\n"
            "options:\n"
            "  --data DIR             data directory (log, snapshots, model copies); created\n"
            "  --host ADDR            IPv4 address to bind (127.0.0.1)\n"
            "  --port N               TCP port (8080; 0 = any free port)\n"
            "  --threads N            HTTP worker threads (0 = one thread per connection; 0)\n"
            "  --lib-threads N        threads of one library call (search, encode; 1): requests\n"
            "                         already run in parallel, one per connection\n"
            "  --search-batch N       concurrent k-NN searches answered by one library call,\n"
            "                         at most N queries (32; 1 = each alone): one pass over the\n"
            "                         codes serves them all\n"
            "  --search-batches N     such calls running at once (1)\n"
            "  --rehash-nice N        nice value of background re-hashes (19; 0 = as requests)\n"
            "  --fsync POLICY         always | interval | never (always); wait=1 writes are\n"
            "                         durable under every policy\n"
            "  --fsync-ms N           interval of the 'interval' policy (100)\n"
            "  --snapshot-s N         take a snapshot every N seconds (300; 0 = never)\n"
            "  --snapshot-mb N        ... or when the log has grown by N MB (256)\n"
            "  --max-body-mb N        largest request body (64)\n"
            "  --max-rows N           largest batch (100000)\n"
            "  --token-file F         require 'Authorization: Bearer <token in F>'\n"
            "  --auth write|all       which endpoints need the token (write)\n"
            "  --help                 this text\n\n"
            "On start it prints 'l2hd: listening on http://HOST:PORT' to stdout; /readyz turns\n"
            "200 once recovery is done. Exit codes: 0 stopped by SIGTERM/SIGINT, 1 error, 2 usage.\n");
}

static int parse_num(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    const long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static void *snapshotter(void *arg)
{
    (void)arg;
    uint64_t base = wal_bytes(g.log);
    double last = now_s();
    while (!stop_flag) {
        const struct timespec ts = {0, 200000000};
        nanosleep(&ts, NULL);
        const uint64_t b = wal_bytes(g.log);
        const int by_time = g.snapshot_every > 0 && now_s() - last >= g.snapshot_every;
        const int by_size = g.snapshot_wal_bytes && b - base >= g.snapshot_wal_bytes;
        if (!by_time && !by_size) continue;
        char err[256];
        if (snapshot_write(err, sizeof err) != 0) log_msg("snapshot failed: %s", err);
        base = wal_bytes(g.log);
        last = now_s();
    }
    return NULL;
}

int main(int argc, char **argv)
{
    const char *dir = NULL, *host = "127.0.0.1", *token = NULL;
    long port = 8080, threads = 0, lib_threads = 1, fsync_ms = 100, snap_s = 300, snap_mb = 256, body_mb = 64,
         max_rows = 100000, search_batch = 32, search_batches = 1, rehash_nice = 19;
    int auth_all = 0;
    fsync_policy pol = FSYNC_ALWAYS;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "l2hd: unknown option or missing value: %s\n\n", a);
            usage(stderr);
            return 2;
        }
        const char *v = argv[++i];
        long n = 0;
        int bad = 0;
        if (strcmp(a, "--data") == 0) dir = v;
        else if (strcmp(a, "--host") == 0) host = v;
        else if (strcmp(a, "--token-file") == 0) token = v;
        else if (strcmp(a, "--port") == 0) bad = parse_num(v, 0, 65535, &port);
        else if (strcmp(a, "--threads") == 0) bad = parse_num(v, 0, 256, &threads);
        else if (strcmp(a, "--lib-threads") == 0) bad = parse_num(v, 1, 256, &lib_threads);
        else if (strcmp(a, "--search-batch") == 0) bad = parse_num(v, 1, 256, &search_batch);
        else if (strcmp(a, "--search-batches") == 0) bad = parse_num(v, 1, 256, &search_batches);
        else if (strcmp(a, "--rehash-nice") == 0) bad = parse_num(v, 0, 19, &rehash_nice);
        else if (strcmp(a, "--fsync-ms") == 0) bad = parse_num(v, 1, 60000, &fsync_ms);
        else if (strcmp(a, "--snapshot-s") == 0) bad = parse_num(v, 0, 86400 * 30, &snap_s);
        else if (strcmp(a, "--snapshot-mb") == 0) bad = parse_num(v, 0, 1 << 20, &snap_mb);
        else if (strcmp(a, "--max-body-mb") == 0) bad = parse_num(v, 1, 4096, &body_mb);
        else if (strcmp(a, "--max-rows") == 0) bad = parse_num(v, 1, 100000000, &max_rows);
        else if (strcmp(a, "--auth") == 0) {
            if (strcmp(v, "all") == 0) auth_all = 1;
            else if (strcmp(v, "write") != 0) bad = 1;
        } else if (strcmp(a, "--fsync") == 0) {
            if (strcmp(v, "always") == 0) pol = FSYNC_ALWAYS;
            else if (strcmp(v, "interval") == 0) pol = FSYNC_INTERVAL;
            else if (strcmp(v, "never") == 0) pol = FSYNC_NEVER;
            else bad = 1;
        } else {
            fprintf(stderr, "l2hd: unknown option %s\n\n", a);
            usage(stderr);
            return 2;
        }
        (void)n;
        if (bad) {
            fprintf(stderr, "l2hd: bad value for %s: %s\n", a, v);
            return 2;
        }
    }
    if (!dir) {
        fprintf(stderr, "l2hd: --data DIR is required\n\n");
        usage(stderr);
        return 2;
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        log_msg("cannot create %s: %s", dir, strerror(errno));
        return 1;
    }
    snprintf(g.dir, sizeof g.dir, "%s", dir);
    pthread_rwlock_init(&g.reg_mu, NULL);
    pthread_mutex_init(&g.snap_mu, NULL);
    g.max_body = (size_t)body_mb << 20;
    g.max_rows = (size_t)max_rows;
    g.fsync = pol;
    g.fsync_ms = (int)fsync_ms;
    g.snapshot_every = (double)snap_s;
    g.snapshot_wal_bytes = (uint64_t)snap_mb << 20;
    g.started = now_s();
    g.search_batch = (size_t)search_batch;
    g.search_batches = (int)search_batches;
    g.rehash_nice = (int)rehash_nice;
    l2h_set_threads((int)lib_threads);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* serve /livez and /readyz while recovering */
    int bound = 0;
    if (http_start(host, (int)port, (int)threads, token, auth_all, &bound) != 0) {
        log_msg("cannot listen on %s:%ld", host, port);
        return 1;
    }
    printf("l2hd: listening on http://%s:%d\n", host, bound);
    fflush(stdout);
    if (recover() != 0) {
        log_msg("recovery failed");
        http_stop();
        return 1;
    }
    atomic_store(&g.ready, true);
    log_msg("ready");
    pthread_t snap;
    const int snap_ok = pthread_create(&snap, NULL, snapshotter, NULL) == 0;
    while (!stop_flag) {
        const struct timespec ts = {0, 100000000};
        nanosleep(&ts, NULL);
    }
    log_msg("stopping");
    http_stop();
    if (snap_ok) pthread_join(snap, NULL);
    pthread_rwlock_wrlock(&g.reg_mu);
    coll **cs = g.colls;
    const size_t nc = g.n_colls;
    g.colls = NULL;
    g.n_colls = g.cap_colls = 0;
    pthread_rwlock_unlock(&g.reg_mu);
    for (size_t i = 0; i < nc; i++) {
        coll_stop_threads(cs[i]);
        coll_put(cs[i]);
    }
    free(cs);
    wal_close(g.log);
    return 0;
}
