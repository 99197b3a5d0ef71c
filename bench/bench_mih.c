/* bench_mih.c -- multi-index hashing vs the flat scan on the same codes and queries: queries/s
 * for radius search and k-NN, speed-up, candidates verified per query, fallbacks, build time and
 * memory, with every MIH answer checked equal to the flat one (element for element).
 *
 *   bench_mih --random N --bits B                       uniform random codes (seed 1234)
 *   bench_mih --npy codes.npy --replicate N [--flip F]  real codes (l2h encode), replicated to N
 *                                                       rows, each copy with 0..F random flips
 *   bench_mih --db db.u8 --queries q.u8 --bits B           raw packed rows (faiss_binary.py --dump)
 *   options: --nq 1000 --qflip 3 (queries = database codes with 0..qflip flips; --qrandom for
 *            uniform random queries) --radius 0,1,2,3,4 --k 1,10,100 --threads 1 --repeat 3
 *            --tables M (0 = automatic) --dump PREFIX (write the codes and queries as raw rows
 *            PREFIX.db.u8 / PREFIX.q.u8 for bench/faiss_mih.py) --single (one query per call,
 *            as one l2hd request is answered; the answers compared are those of one batched
 *            call after the timed runs)
 * One warm-up, then --repeat timed runs of each configuration; medians. One JSON line per
 * configuration. Public API only. */
#include "l2h/l2h.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* CPU time of the process: with one search thread it is the search's own time, whatever else
 * the (shared) machine runs; wall-clock time would count every preemption. */
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

static void flips(uint8_t *c, size_t bits, size_t maxf)
{
    const size_t f = maxf ? (size_t)(rnd() % (maxf + 1)) : 0;
    for (size_t i = 0; i < f; i++) {
        const size_t b = (size_t)(rnd() % bits);
        c[b / 8] ^= (uint8_t)(1u << (b % 8));
    }
}

static uint8_t *read_raw(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    const long l = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = l > 0 ? malloc((size_t)l) : NULL;
    if (b && fread(b, 1, (size_t)l, f) != (size_t)l) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = b ? (size_t)l : 0;
    return b;
}

static int cmp_d(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static size_t parse_list(const char *s, long *out, size_t max)
{
    size_t n = 0;
    while (*s && n < max) {
        char *e;
        out[n++] = strtol(s, &e, 10);
        s = *e == ',' ? e + 1 : e;
        if (e == s && *e != ',') break;
    }
    return n;
}

#define DIE(...)                                                                                   \
    do {                                                                                           \
        fprintf(stderr, "bench_mih: " __VA_ARGS__);                                                \
        fprintf(stderr, " (%s)\n", l2h_last_error());                                              \
        exit(1);                                                                                   \
    } while (0)

typedef struct run_out {
    double qps;
    double cand_per_q, probes_per_q, fallback_frac;
    int32_t *d;
    l2h_id *id;
    l2h_range_result *rr;
} run_out;

/* Median time of `repeat` runs (after a warm-up); keeps the results of the last run. */
static int single;      /* --single: one query per call */
static size_t qbytes; /* bytes of one packed query */

static l2h_status search_once(l2h_index *ix, const uint8_t *q, size_t nq, long k, long radius,
                              run_out *o)
{
    if (!single) {
        if (k > 0) return l2h_index_search(ix, q, nq, (size_t)k, o->d, o->id);
        return l2h_index_range_search(ix, q, nq, (uint32_t)radius, &o->rr);
    }
    const size_t bytes = qbytes;
    for (size_t i = 0; i < nq; i++) {
        l2h_status st;
        if (k > 0) {
            st = l2h_index_search(ix, q + i * bytes, 1, (size_t)k, o->d + i * (size_t)k,
                                  o->id + i * (size_t)k);
        } else {
            l2h_range_result *r = NULL;
            st = l2h_index_range_search(ix, q + i * bytes, 1, (uint32_t)radius, &r);
            l2h_range_result_free(r);
        }
        if (st != L2H_OK) return st;
    }
    return L2H_OK;
}

static void timed(l2h_index *ix, const uint8_t *q, size_t nq, long k, long radius, int repeat,
                  run_out *o)
{
    double t[32];
    l2h_index_info a, b;
    for (int r = -1; r < repeat; r++) {
        if (o->rr) l2h_range_result_free(o->rr);
        o->rr = NULL;
        if (l2h_index_describe(ix, &a) != L2H_OK) DIE("describe");
        const double t0 = now();
        const l2h_status st = search_once(ix, q, nq, k, radius, o);
        const double t1 = now();
        if (st != L2H_OK) DIE("search");
        if (l2h_index_describe(ix, &b) != L2H_OK) DIE("describe");
        if (r >= 0) t[r] = t1 - t0;
    }
    if (single && k <= 0 && l2h_index_range_search(ix, q, nq, (uint32_t)radius, &o->rr) != L2H_OK)
        DIE("search");
    qsort(t, (size_t)repeat, sizeof t[0], cmp_d);
    o->qps = (double)nq / t[repeat / 2];
    const double dq = (double)(b.queries - a.queries);
    o->cand_per_q = dq > 0 ? (double)(b.candidates - a.candidates) / dq : 0;
    o->probes_per_q = dq > 0 ? (double)(b.probes - a.probes) / dq : 0;
    o->fallback_frac = dq > 0 ? (double)(b.fallbacks - a.fallbacks) / dq : 0;
}

static int same(const run_out *x, const run_out *y, size_t nq, long k)
{
    if (k > 0)
        return memcmp(x->d, y->d, nq * (size_t)k * sizeof *x->d) == 0 &&
               memcmp(x->id, y->id, nq * (size_t)k * sizeof *x->id) == 0;
    const size_t *lx = l2h_range_result_lims(x->rr), *ly = l2h_range_result_lims(y->rr);
    if (memcmp(lx, ly, (nq + 1) * sizeof *lx) != 0) return 0;
    return memcmp(l2h_range_result_ids(x->rr), l2h_range_result_ids(y->rr),
                  lx[nq] * sizeof(l2h_id)) == 0 &&
           memcmp(l2h_range_result_dists(x->rr), l2h_range_result_dists(y->rr),
                  lx[nq] * sizeof(int32_t)) == 0;
}

/* Writes len bytes to prefix + suffix; nonzero on failure. */
static int write_raw(const char *prefix, const char *suffix, const uint8_t *b, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s%s", prefix, suffix);
    FILE *f = fopen(path, "wb");
    if (!f) return 1;
    const int bad = fwrite(b, 1, len, f) != len;
    return fclose(f) != 0 || bad;
}

int main(int argc, char **argv)
{
    size_t n = 0, bits = 64, nq = 1000, qflip = 3, flip = 2, tables = 0;
    const char *npy = NULL, *dbf = NULL, *qf = NULL, *dump = NULL;
    int threads = 1, repeat = 3, qrandom = 0;
    long radii[16] = {0, 1, 2, 3, 4}, ks[16] = {1, 10, 100};
    size_t nr = 5, nk = 3;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(a, "--random"))
            n = strtoull(v, NULL, 10), i++;
        else if (!strcmp(a, "--bits"))
            bits = strtoull(v, NULL, 10), i++;
        else if (!strcmp(a, "--npy"))
            npy = v, i++;
        else if (!strcmp(a, "--db"))
            dbf = v, i++;
        else if (!strcmp(a, "--queries"))
            qf = v, i++;
        else if (!strcmp(a, "--replicate"))
            n = strtoull(v, NULL, 10), i++;
        else if (!strcmp(a, "--flip"))
            flip = strtoull(v, NULL, 10), i++;
        else if (!strcmp(a, "--nq"))
            nq = strtoull(v, NULL, 10), i++;
        else if (!strcmp(a, "--qflip"))
            qflip = strtoull(v, NULL, 10), i++;
        else if (!strcmp(a, "--qrandom"))
            qrandom = 1;
        else if (!strcmp(a, "--radius"))
            nr = parse_list(v, radii, 16), i++;
        else if (!strcmp(a, "--k"))
            nk = parse_list(v, ks, 16), i++;
        else if (!strcmp(a, "--threads"))
            threads = atoi(v), i++;
        else if (!strcmp(a, "--repeat"))
            repeat = atoi(v), i++;
        else if (!strcmp(a, "--tables"))
            tables = strtoull(v, NULL, 10), i++;
        else if (!strcmp(a, "--single"))
            single = 1;
        else if (!strcmp(a, "--dump"))
            dump = v, i++;
        else {
            fprintf(stderr, "bench_mih: unknown option %s (see the comment at the top)\n", a);
            return 2;
        }
    }
    uint8_t *rawdb = NULL, *rawq = NULL;
    if (dbf) { /* raw rows: n and nq from the file sizes */
        size_t lb = 0, lq = 0;
        rawdb = read_raw(dbf, &lb);
        rawq = qf ? read_raw(qf, &lq) : NULL;
        if (!rawdb || (qf && !rawq)) DIE("cannot read %s / %s", dbf, qf ? qf : "-");
        n = lb / l2h_code_bytes(bits);
        if (rawq && lq / l2h_code_bytes(bits) < nq) nq = lq / l2h_code_bytes(bits);
    }
    if (repeat < 1 || repeat > 31 || n == 0) {
        fprintf(stderr, "bench_mih: need --random N or --npy FILE --replicate N; repeat 1..31\n");
        return 2;
    }
    uint8_t *src = NULL;
    size_t nsrc = 0, bytes;
    if (npy) {
        if (l2h_codes_npy_shape(npy, &nsrc, &bytes) != L2H_OK) DIE("cannot read %s", npy);
        bits = 8 * bytes;
        src = malloc(nsrc * bytes);
        if (!src || l2h_codes_read_npy(npy, src, nsrc, bytes) != L2H_OK) DIE("reading %s", npy);
    }
    bytes = l2h_code_bytes(bits);
    qbytes = bytes;
    uint8_t *db = malloc(n * bytes), *q = malloc(nq * bytes);
    if (!db || !q) DIE("out of memory");
    for (size_t i = 0; i < n; i++) {
        uint8_t *c = db + i * bytes;
        if (rawdb) {
            memcpy(c, rawdb + i * bytes, bytes);
        } else if (src) {
            memcpy(c, src + (i % nsrc) * bytes, bytes);
            if (i >= nsrc) flips(c, bits, flip); /* copies beyond the originals get noise */
        } else {
            for (size_t j = 0; j < bytes; j++)
                c[j] = (uint8_t)rnd();
        }
    }
    for (size_t i = 0; i < nq; i++) {
        uint8_t *c = q + i * bytes;
        if (rawq) {
            memcpy(c, rawq + i * bytes, bytes);
        } else if (qrandom) {
            for (size_t j = 0; j < bytes; j++)
                c[j] = (uint8_t)rnd();
        } else {
            memcpy(c, db + (rnd() % n) * bytes, bytes);
            flips(c, bits, qflip);
        }
    }
    if (dump &&
        (write_raw(dump, ".db.u8", db, n * bytes) || write_raw(dump, ".q.u8", q, nq * bytes)))
        DIE("cannot write %s.db.u8 / %s.q.u8", dump, dump);
    l2h_set_threads(threads);
    l2h_index_params p = l2h_index_default_params(bits);
    l2h_index *flat = NULL, *mih = NULL;
    if (l2h_index_create(&flat, &p) != L2H_OK || l2h_index_add(flat, db, NULL, n) != L2H_OK)
        DIE("flat index");
    p.kind = L2H_INDEX_MIH;
    p.n_tables = tables;
    const double b0 = now();
    if (l2h_index_create(&mih, &p) != L2H_OK || l2h_index_add(mih, db, NULL, n) != L2H_OK)
        DIE("mih index");
    const double build_s = now() - b0;
    l2h_index_info fi, mi;
    if (l2h_index_describe(flat, &fi) != L2H_OK || l2h_index_describe(mih, &mi) != L2H_OK)
        DIE("describe");
    printf("{\"what\":\"build\",\"codes\":\"%s\",\"n\":%zu,\"distinct\":%zu,\"bits\":%zu,"
           "\"tables\":%zu,\"build_s\":%.3f,\"flat_mb\":%.1f,\"mih_mb\":%.1f,\"kernel\":\"%s\","
           "\"threads\":%d,\"single\":%d}\n",
           npy ? npy : (dbf ? dbf : "random"), n, mi.distinct, bits, mi.n_tables, build_s,
           (double)fi.memory_bytes / 1e6, (double)mi.memory_bytes / 1e6, l2h_hamming_kernel(),
           threads, single);
    fflush(stdout);
    long kmax = 1;
    for (size_t i = 0; i < nk; i++)
        kmax = ks[i] > kmax ? ks[i] : kmax;
    run_out fo = {0}, mo = {0};
    fo.d = malloc(nq * (size_t)kmax * sizeof *fo.d);
    mo.d = malloc(nq * (size_t)kmax * sizeof *mo.d);
    fo.id = malloc(nq * (size_t)kmax * sizeof *fo.id);
    mo.id = malloc(nq * (size_t)kmax * sizeof *mo.id);
    int all_exact = 1;
    for (size_t c = 0; c < nr + nk; c++) {
        const long k = c < nr ? 0 : ks[c - nr], r = c < nr ? radii[c] : -1;
        timed(flat, q, nq, k, r, repeat, &fo);
        timed(mih, q, nq, k, r, repeat, &mo);
        const int exact = same(&fo, &mo, nq, k);
        all_exact &= exact;
        double nres = 0;
        long long total = 0; /* range: results; k-NN: sum of distances (FAISS's checksums) */
        if (k == 0) {
            total = (long long)l2h_range_result_lims(mo.rr)[nq];
            nres = (double)total / (double)nq;
        } else {
            for (size_t j = 0; j < nq * (size_t)k; j++)
                total += mo.d[j] >= 0 ? mo.d[j] : 0;
        }
        printf("{\"what\":\"%s\",\"%s\":%ld,\"nq\":%zu,\"flat_qps\":%.0f,\"mih_qps\":%.0f,"
               "\"speedup\":%.1f,\"cand_per_q\":%.0f,\"probes_per_q\":%.0f,\"fallback_frac\":%.3f,"
               "\"res_per_q\":%.1f,\"%s\":%lld,\"identical\":%s}\n",
               k ? "knn" : "range", k ? "k" : "radius", k ? k : r, nq, fo.qps, mo.qps,
               mo.qps / fo.qps, mo.cand_per_q, mo.probes_per_q, mo.fallback_frac, nres,
               k ? "dist_checksum" : "nres_total", total, exact ? "true" : "false");
        fflush(stdout);
    }
    l2h_range_result_free(fo.rr);
    l2h_range_result_free(mo.rr);
    free(fo.d), free(mo.d), free(fo.id), free(mo.id);
    l2h_index_free(flat);
    l2h_index_free(mih);
    free(db), free(q), free(src), free(rawdb), free(rawq);
    return all_exact ? 0 : 1;
}
