/* bench_mih_loop.c -- MIH radius search on uniform random 64-bit codes, timed over many calls:
 * CPU time per query of `calls` calls of `nq` queries each (queries = database codes with 0-1
 * flipped bits), after one warm-up call. bench_mih times 3 calls of 200 queries (tens of µs
 * each at small radii), where one preemption of the virtual machine decides the figure; this
 * loop runs for seconds. Public API only, so the same source builds against an older library
 * for a side-by-side run:
 *
 *   bench_mih_loop [--n 1000000] [--nq 1000] [--calls 1500] [--radius 0]
 *   cc -O2 -I OLD/include bench/bench_mih_loop.c -L OLD/build/release/src -ll2h \
 *       -Wl,-rpath,OLD/build/release/src -o mih_loop_old
 *
 * Prints one JSON line. Exit 0, 1 on a library error, 2 on bad arguments. */
#include "l2h/l2h.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t rs = 1234;
static uint64_t rnd(void)
{
    uint64_t z = (rs += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

int main(int argc, char **argv)
{
    size_t n = 1000000, nq = 1000, calls = 1500;
    long radius = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help")) {
            printf("usage: bench_mih_loop [--n N] [--nq NQ] [--calls C] [--radius R]\n");
            return 0;
        }
        if (!v) {
            fprintf(stderr, "bench_mih_loop: %s needs a value (see --help)\n", a);
            return 2;
        }
        if (!strcmp(a, "--n")) n = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--nq")) nq = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--calls")) calls = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--radius")) radius = strtol(v, NULL, 10);
        else {
            fprintf(stderr, "bench_mih_loop: unknown option %s (see --help)\n", a);
            return 2;
        }
        i++;
    }
    if (n == 0 || nq == 0 || calls == 0 || radius < 0 || radius > 64) {
        fprintf(stderr, "bench_mih_loop: need n, nq, calls >= 1 and radius 0..64\n");
        return 2;
    }
    uint8_t *db = malloc(n * 8), *q = malloc(nq * 8);
    if (!db || !q) return 1;
    for (size_t i = 0; i < n * 8; i++) db[i] = (uint8_t)rnd();
    for (size_t i = 0; i < nq; i++) {
        memcpy(q + i * 8, db + (rnd() % n) * 8, 8);
        if (rnd() % 2) q[i * 8 + rnd() % 8] ^= (uint8_t)(1u << (rnd() % 8));
    }
    l2h_set_threads(1);
    l2h_index_params p = l2h_index_default_params(64);
    p.kind = L2H_INDEX_MIH;
    l2h_index *ix = NULL;
    if (l2h_index_create(&ix, &p) != L2H_OK || l2h_index_add(ix, db, NULL, n) != L2H_OK) {
        fprintf(stderr, "bench_mih_loop: %s\n", l2h_last_error());
        return 1;
    }
    size_t results = 0;
    double t0 = 0;
    for (size_t c = 0; c <= calls; c++) { /* call 0: warm-up */
        if (c == 1) t0 = now();
        l2h_range_result *r = NULL;
        if (l2h_index_range_search(ix, q, nq, (uint32_t)radius, &r) != L2H_OK) {
            fprintf(stderr, "bench_mih_loop: %s\n", l2h_last_error());
            return 1;
        }
        results = l2h_range_result_lims(r)[nq];
        l2h_range_result_free(r);
    }
    const double us = (now() - t0) / (double)calls / (double)nq * 1e6;
    printf("{\"n\": %zu, \"nq\": %zu, \"calls\": %zu, \"radius\": %ld, \"results\": %zu, "
           "\"cpu_us_per_query\": %.4f}\n",
           n, nq, calls, radius, results, us);
    l2h_index_free(ix);
    free(db);
    free(q);
    return 0;
}
