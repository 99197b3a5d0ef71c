/* bench_search.c -- the in-process library rate that l2hd's search rate is compared with: the
 * same LSH mapping as an l2hd "lsh" collection (seed, no centring), the same features, an MIH
 * index, and the same query codes, answered one query per call (k = 10) on one thread, as one
 * l2hd request does; or BATCH queries per call, as l2hd's search batching does when requests
 * arrive together. Usage: bench_search FEATURES.npy QUERIES.npy BITS SEED [SECONDS [BATCH]] */
#include <l2h/l2h.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: bench_search FEATURES.npy QUERIES.npy BITS SEED [SECONDS [BATCH]]\n");
        return 2;
    }
    const size_t bits = strtoul(argv[3], NULL, 10);
    const double secs = argc > 5 ? atof(argv[5]) : 5.0;
    const size_t batch = argc > 6 ? strtoul(argv[6], NULL, 10) : 1;
    if (batch < 1 || batch > 64) {
        fprintf(stderr, "BATCH must be in 1..64\n");
        return 2;
    }
    l2h_set_threads(1);
    l2h_read_params rp = l2h_read_default_params();
    l2h_dataset *x = NULL, *one = NULL;
    l2h_model *m = NULL;
    l2h_index *ix = NULL;
    if (l2h_dataset_read(&x, argv[1], &rp) != L2H_OK ||
        l2h_dataset_create(&one, 1, l2h_dataset_dim(x), NULL) != L2H_OK) {
        fprintf(stderr, "%s\n", l2h_last_error());
        return 1;
    }
    l2h_baseline_params bp = l2h_baseline_default_params(bits);
    bp.seed = strtoull(argv[4], NULL, 10);
    bp.center = 0;
    const size_t n = l2h_dataset_n(x), cb = l2h_code_bytes(bits);
    uint8_t *codes = malloc(n * cb);
    l2h_index_params ip = l2h_index_default_params(bits);
    ip.kind = L2H_INDEX_MIH;
    size_t nq = 0, qb = 0;
    if (!codes || l2h_lsh_train(&m, one, &bp) != L2H_OK ||
        l2h_model_encode(m, l2h_dataset_features(x), n, codes) != L2H_OK ||
        l2h_index_create(&ix, &ip) != L2H_OK || l2h_index_add(ix, codes, NULL, n) != L2H_OK ||
        l2h_codes_npy_shape(argv[2], &nq, &qb) != L2H_OK || qb != cb) {
        fprintf(stderr, "setup: %s\n", l2h_last_error());
        return 1;
    }
    uint8_t *q = malloc(nq * cb);
    if (!q || l2h_codes_read_npy(argv[2], q, nq, cb) != L2H_OK) return 1;
    int32_t d[64 * 10];
    l2h_id id[64 * 10];
    size_t done = 0;
    const clock_t c0 = clock();
    const double t0 = now();
    while (now() - t0 < secs)
        for (size_t i = 0; i + batch <= nq; i += batch, done += batch)
            if (l2h_index_search(ix, q + i * cb, batch, 10, d, id) != L2H_OK) return 1;
    const double t = now() - t0;
    const double cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;
    printf("{\"queries\": %zu, \"seconds\": %.3f, \"qps\": %.1f, \"cpu_seconds\": %.3f, "
           "\"cpu_us_per_query\": %.2f, \"n\": %zu, \"bits\": %zu, \"batch\": %zu}\n",
           done, t, (double)done / t, cpu, cpu / (double)done * 1e6, n, bits, batch);
    free(q);
    free(codes);
    l2h_index_free(ix);
    l2h_model_free(m);
    l2h_dataset_free(x);
    l2h_dataset_free(one);
    return 0;
}
