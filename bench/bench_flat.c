/* bench_flat.c -- exhaustive k-NN throughput of the flat index on raw code files, for a
 * side-by-side comparison with FAISS IndexBinaryFlat on identical bytes (bench/flat_vs_faiss.sh).
 *
 *   bench_flat --db FILE --queries FILE --bits B [--k 100] [--threads 1] [--repeat 5]
 *              [--kernel NAME] [--nq N] [--wait-idle SECONDS]
 *   bench_flat --random N --bits B [--nq 1000] ...   (uniform random codes, seed 1234)
 *   --radius R: radius search (distance <= R) instead of k-NN; reports "nres_total", which
 *   equals FAISS's range_search nres_total for FAISS radius R + 1 (FAISS keeps d < radius).
 *
 * Files are raw packed rows (bit j = bit j%8 of byte j/8), as faiss_binary.py --dump writes them.
 * One warm-up run, then --repeat timed runs; prints ONE JSON line with the median, every time,
 * the sum of all returned distances ("dist_checksum", must equal FAISS's on the same files) and
 * the share of the machine's CPU used by other processes while timing ("foreign_cpu_frac").
 * Public API only. */
#include "l2h/l2h.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Busy jiffies of the whole machine and CPU seconds of this process. */
static double machine_busy_s(void)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return 0;
    unsigned long long v[10] = {0};
    const int got = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                           &v[3], &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (got < 5) return 0;
    const unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    return (double)busy / (double)sysconf(_SC_CLK_TCK);
}

static double own_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
           (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

/* Waits (at most max_s seconds) until other processes use < 5 % of the machine. */
static double wait_idle(double max_s)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (ncpu < 1) ncpu = 1;
    const double end = now() + max_s;
    double f = 0;
    do {
        const double b0 = machine_busy_s(), o0 = own_cpu_s(), w0 = now();
        const struct timespec sec = {1, 0};
        nanosleep(&sec, NULL);
        f = ((machine_busy_s() - b0) - (own_cpu_s() - o0)) / ((now() - w0) * (double)ncpu);
    } while (f >= 0.05 && now() < end);
    return f;
}

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "bench_flat: cannot open %s\n", path);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    const long l = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(l > 0 ? (size_t)l : 1);
    if (!b || fread(b, 1, (size_t)l, f) != (size_t)l) {
        fprintf(stderr, "bench_flat: cannot read %s\n", path);
        fclose(f);
        free(b);
        return NULL;
    }
    fclose(f);
    *len = (size_t)l;
    return b;
}

static uint8_t *random_bytes(size_t len, uint64_t seed)
{
    uint8_t *b = malloc(len ? len : 1);
    uint64_t s = seed;
    for (size_t i = 0; b && i < len; i++) { /* splitmix64 */
        uint64_t z = (s += 0x9E3779B97F4A7C15u);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
        b[i] = (uint8_t)(z ^ (z >> 31));
    }
    return b;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_flat (--db FILE --queries FILE | --random N) --bits B [--nq N]"
                    " [--k K] [--threads T] [--repeat R] [--kernel NAME] [--wait-idle SECONDS]"
                    " [--radius R]\n");
}

int main(int argc, char **argv)
{
    const char *db_path = NULL, *q_path = NULL, *kernel = NULL;
    size_t bits = 0, k = 100, nq_max = 0, random_n = 0;
    int threads = 1, repeat = 5;
    double idle_wait = 0;
    long radius = -1; /* >= 0: radius search (distance <= radius) instead of k-NN */
    for (int a = 1; a < argc; a++) {
        const char *v = a + 1 < argc ? argv[a + 1] : NULL;
        if (!v) {
            usage();
            return 2;
        }
        if (!strcmp(argv[a], "--db")) db_path = v;
        else if (!strcmp(argv[a], "--queries")) q_path = v;
        else if (!strcmp(argv[a], "--bits")) bits = strtoul(v, NULL, 10);
        else if (!strcmp(argv[a], "--k")) k = strtoul(v, NULL, 10);
        else if (!strcmp(argv[a], "--nq")) nq_max = strtoul(v, NULL, 10);
        else if (!strcmp(argv[a], "--random")) random_n = strtoul(v, NULL, 10);
        else if (!strcmp(argv[a], "--threads")) threads = atoi(v);
        else if (!strcmp(argv[a], "--repeat")) repeat = atoi(v);
        else if (!strcmp(argv[a], "--kernel")) kernel = v;
        else if (!strcmp(argv[a], "--wait-idle")) idle_wait = atof(v);
        else if (!strcmp(argv[a], "--radius")) radius = atol(v);
        else {
            usage();
            return 2;
        }
        a++;
    }
    if (bits == 0 || bits % 8 || k == 0 || repeat < 1 || threads < 1 ||
        (!random_n && (!db_path || !q_path))) {
        usage();
        return 2;
    }
    const size_t bytes = l2h_code_bytes(bits);
    size_t db_len = 0, q_len = 0;
    uint8_t *db, *q;
    if (random_n) {
        if (!nq_max) nq_max = 1000;
        db_len = random_n * bytes;
        q_len = nq_max * bytes;
        db = random_bytes(db_len, 1234);
        q = random_bytes(q_len, 1235);
    } else {
        db = read_all(db_path, &db_len);
        q = read_all(q_path, &q_len);
    }
    if (!db || !q || db_len % bytes || q_len % bytes) {
        fprintf(stderr, "bench_flat: file sizes are not multiples of %zu bytes\n", bytes);
        return 1;
    }
    const size_t n = db_len / bytes;
    size_t nq = q_len / bytes;
    if (nq_max && nq > nq_max) nq = nq_max;

    if (kernel && l2h_hamming_set_kernel(kernel) != L2H_OK) {
        fprintf(stderr, "bench_flat: %s\n", l2h_last_error());
        return 1;
    }
    l2h_set_threads(threads);
    l2h_index_params p = l2h_index_default_params(bits);
    l2h_index *ix = NULL;
    const double t_add0 = now();
    if (l2h_index_create(&ix, &p) != L2H_OK || l2h_index_add(ix, db, NULL, n) != L2H_OK) {
        fprintf(stderr, "bench_flat: %s\n", l2h_last_error());
        return 1;
    }
    const double t_add = now() - t_add0;
    int32_t *dist = malloc(nq * k * sizeof *dist);
    l2h_id *ids = malloc(nq * k * sizeof *ids);
    double *times = malloc((size_t)repeat * sizeof *times);
    if (!dist || !ids || !times) return 1;

    if (idle_wait > 0) wait_idle(idle_wait);
    size_t nres = 0;
    double b0 = 0, o0 = 0, w0 = 0;
    for (int r = -1; r < repeat; r++) { /* r = -1: warm-up */
        if (r == 0) {
            b0 = machine_busy_s();
            o0 = own_cpu_s();
            w0 = now();
        }
        const double t0 = now();
        l2h_status st;
        if (radius >= 0) {
            l2h_range_result *res = NULL;
            st = l2h_index_range_search(ix, q, nq, (uint32_t)radius, &res);
            if (st == L2H_OK) nres = l2h_range_result_lims(res)[nq];
            l2h_range_result_free(res);
        } else {
            st = l2h_index_search(ix, q, nq, k, dist, ids);
        }
        if (st != L2H_OK) {
            fprintf(stderr, "bench_flat: %s\n", l2h_last_error());
            return 1;
        }
        if (r >= 0) times[r] = now() - t0;
    }
    const double wall = now() - w0, b1 = machine_busy_s(), o1 = own_cpu_s();
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (ncpu < 1) ncpu = 1;
    double foreign = ((b1 - b0) - (o1 - o0)) / (wall * (double)ncpu);
    if (foreign < 0) foreign = 0;

    long long checksum = 0;
    if (radius < 0)
        for (size_t i = 0; i < nq * k; i++) checksum += dist[i];
    double *sorted = malloc((size_t)repeat * sizeof *sorted);
    memcpy(sorted, times, (size_t)repeat * sizeof *sorted);
    qsort(sorted, (size_t)repeat, sizeof *sorted, cmp_double);
    const double med = repeat % 2 ? sorted[repeat / 2]
                                  : 0.5 * (sorted[repeat / 2 - 1] + sorted[repeat / 2]);
    printf("{\"lib\":\"l2h\",\"mode\":\"%s\",\"radius\":%ld,\"nres_total\":%zu,\"kernel\":\"%s\",\"bits\":%zu,\"nb\":%zu,\"nq\":%zu,"
           "\"k\":%zu,\"threads\":%d,\"repeat\":%d,\"add_time_s\":%.4f,\"time_s\":%.6f,"
           "\"time_min_s\":%.6f,\"qps\":%.1f,\"us_per_query\":%.2f,\"distances_per_s\":%.4g,"
           "\"bytes_scanned_per_s\":%.4g,\"dist_checksum\":%lld,\"foreign_cpu_frac\":%.3f,"
           "\"times_s\":[",
           radius >= 0 ? "flat_range" : "flat", radius, nres, l2h_hamming_kernel(), bits, n, nq, k, threads, repeat, t_add, med, sorted[0],
           (double)nq / med, 1e6 * med / (double)nq, (double)nq * (double)n / med,
           (double)nq * (double)n * (double)bytes / med, checksum, foreign);
    for (int r = 0; r < repeat; r++) printf("%s%.6f", r ? "," : "", times[r]);
    printf("]}\n");
    l2h_index_free(ix);
    free(db), free(q), free(dist), free(ids), free(times), free(sorted);
    return 0;
}
