/* bench_mi_corr.c -- the MIHash paper's Figure 3 experiment (Cakir et al., ICCV 2017, §3.1):
 * Pearson correlation between the mutual-information quality I(D; C) of a query (D = Hamming
 * distance from the query to the items of the hash table, C = neighbour or not) and the ranking
 * metrics AP, DCG and NDCG of the same query, over random LSH mappings (Gaussian hyperplanes).
 * Per trial: 100 random queries, the other rows fill the table, one fresh mapping; 50 trials.
 * Reported: (a) per-query correlation within a trial (over its 100 queries), mean ± std over
 * trials; (b) pooled over all (query, trial) pairs; (c) per mapping: mean MI vs mAP over trials.
 * Ranking: by Hamming distance, ties in table order; AP over the full ranking; DCG = Σ rel_i /
 * log2(i + 1) over the full ranking; NDCG = DCG / ideal DCG. Relevance = same label, or with
 * --euclidean the Euclidean 5th-percentile rule (labels ignored). Features are mean-centred and
 * L2-normalised (the online protocol's preprocessing).
 * Usage: bench_mi_corr [--data cifar10-cnn] [--bits 32] [--trials 50] [--queries 100]
 *                      [--seed 1] [--euclidean] */
#include "l2h/l2h.h"
#include "linalg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double pearson(const double *a, const double *b, size_t n)
{
    double ma = 0, mb = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(a[i]) && !isnan(b[i])) ma += a[i], mb += b[i], k++;
    if (k < 3) return (double)NAN;
    ma /= (double)k;
    mb /= (double)k;
    double sab = 0, saa = 0, sbb = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(a[i]) || isnan(b[i])) continue;
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
    }
    return saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : (double)NAN;
}

static void mean_sd(const double *v, size_t n, double *m, double *sd)
{
    double s = 0, ss = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(v[i])) s += v[i], k++;
    *m = k ? s / (double)k : (double)NAN;
    for (size_t i = 0; i < n; i++)
        if (!isnan(v[i])) ss += (v[i] - *m) * (v[i] - *m);
    *sd = k > 1 ? sqrt(ss / (double)(k - 1)) : 0;
}

static double entropy(const double *c, size_t n, double tot)
{
    double h = 0;
    for (size_t i = 0; i < n; i++)
        if (c[i] > 0) h -= c[i] / tot * log2(c[i] / tot);
    return h;
}

int main(int argc, char **argv)
{
    const char *data = "cifar10-cnn";
    size_t bits = 32, trials = 50, nq = 100;
    uint64_t seed = 1;
    int euclid = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--euclidean")) euclid = 1;
        else if (i + 1 < argc && !strcmp(argv[i], "--data")) data = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--bits")) bits = strtoul(argv[++i], NULL, 10);
        else if (i + 1 < argc && !strcmp(argv[i], "--trials")) trials = strtoul(argv[++i], NULL, 10);
        else if (i + 1 < argc && !strcmp(argv[i], "--queries")) nq = strtoul(argv[++i], NULL, 10);
        else if (i + 1 < argc && !strcmp(argv[i], "--seed")) seed = strtoull(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "bench_mi_corr: bad option %s\n", argv[i]);
            return 2;
        }
    }
    if (bits < 1 || bits > 64 || trials < 2 || nq < 3) {
        fprintf(stderr, "bench_mi_corr: bits 1..64, trials >= 2, queries >= 3\n");
        return 2;
    }
    l2h_dataset *ds = NULL;
    size_t n_named = 0;
    l2h_status st = l2h_dataset_load_named(&ds, data, &n_named);
    if (st != L2H_OK) {
        fprintf(stderr, "bench_mi_corr: cannot load %s: %s\n", data, l2h_status_str(st));
        return 1;
    }
    const size_t n = l2h_dataset_n(ds), dim = l2h_dataset_dim(ds), ndb = n - nq;
    const int32_t *lab = l2h_dataset_labels(ds);
    if (!lab) euclid = 1;
    float *x = l2h_dataset_features_mut(ds);
    { /* centre + L2-normalise */
        double *mean = calloc(dim, sizeof *mean);
        if (!mean) return 1;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < dim; j++) mean[j] += (double)x[i * dim + j];
        for (size_t j = 0; j < dim; j++) mean[j] /= (double)n;
        for (size_t i = 0; i < n; i++) {
            double s = 0;
            for (size_t j = 0; j < dim; j++) {
                x[i * dim + j] = (float)((double)x[i * dim + j] - mean[j]);
                s += (double)x[i * dim + j] * (double)x[i * dim + j];
            }
            const double inv = s > 0 ? 1 / sqrt(s) : 0;
            for (size_t j = 0; j < dim; j++) x[i * dim + j] = (float)((double)x[i * dim + j] * inv);
        }
        free(mean);
    }
    float thr2 = 0;
    if (euclid) {
        float thr = 0;
        st = l2h_distance_percentile(ds, 2000, 5.0, seed, &thr);
        if (st != L2H_OK) return 1;
        thr2 = thr * thr;
    }
    float *w = malloc(bits * dim * sizeof *w), *proj = malloc(n * bits * sizeof *proj);
    uint64_t *code = malloc(n * sizeof *code);
    size_t *perm = malloc(n * sizeof *perm), *order = malloc(ndb * sizeof *order);
    uint8_t *rel = malloc(ndb);
    double *mi = malloc(trials * nq * sizeof *mi), *ap = malloc(trials * nq * sizeof *ap),
           *dcg = malloc(trials * nq * sizeof *dcg), *ndcg = malloc(trials * nq * sizeof *ndcg);
    double *c_ap = malloc(trials * sizeof *c_ap), *c_dcg = malloc(trials * sizeof *c_dcg),
           *c_ndcg = malloc(trials * sizeof *c_ndcg), *m_mi = malloc(trials * sizeof *m_mi),
           *m_ap = malloc(trials * sizeof *m_ap), *m_ndcg = malloc(trials * sizeof *m_ndcg);
    double *disc = malloc((ndb + 1) * sizeof *disc);
    if (!w || !proj || !code || !perm || !order || !rel || !mi || !ap || !dcg || !ndcg || !c_ap ||
        !c_dcg || !c_ndcg || !m_mi || !m_ap || !m_ndcg || !disc)
        return 1;
    for (size_t i = 1; i <= ndb; i++) disc[i] = 1 / log2((double)i + 1);
    l2h_rng rng;
    l2h_rng_seed(&rng, seed);
    for (size_t t = 0; t < trials; t++) {
        for (size_t i = 0; i < n; i++) perm[i] = i;
        l2h_rng_shuffle(&rng, perm, n); /* perm[0..nq) queries, the rest the table (in order) */
        for (size_t i = 0; i < bits * dim; i++) w[i] = (float)l2h_rng_normal(&rng);
        l2h_sgemm(false, true, n, bits, dim, 1.f, x, dim, w, dim, 0.f, proj, bits);
        for (size_t i = 0; i < n; i++) {
            uint64_t c = 0;
            for (size_t k = 0; k < bits; k++) c |= (uint64_t)(proj[i * bits + k] > 0.f) << k;
            code[i] = c;
        }
        for (size_t q = 0; q < nq; q++) {
            const size_t qi = perm[q];
            size_t cnt[65] = {0}, start[66];
            double pos[65] = {0}, neg[65] = {0}, all[65];
            size_t npos = 0;
            for (size_t r = 0; r < ndb; r++) {
                const size_t di = perm[nq + r];
                int s;
                if (euclid) {
                    const float *a = x + qi * dim, *b = x + di * dim;
                    float d2 = 0;
                    for (size_t j = 0; j < dim; j++) d2 += (a[j] - b[j]) * (a[j] - b[j]);
                    s = d2 <= thr2;
                } else
                    s = lab[qi] == lab[di];
                rel[r] = (uint8_t)s;
                const unsigned d = (unsigned)__builtin_popcountll(code[qi] ^ code[di]);
                cnt[d]++;
                if (s) pos[d] += 1, npos++;
                else neg[d] += 1;
            }
            /* I(D; C) = H(D) - P(+) H(D|+) - P(-) H(D|-), bits */
            for (size_t d = 0; d <= bits; d++) all[d] = pos[d] + neg[d];
            const double pp = (double)npos / (double)ndb;
            double I = entropy(all, bits + 1, (double)ndb);
            if (npos) I -= pp * entropy(pos, bits + 1, (double)npos);
            if (npos < ndb) I -= (1 - pp) * entropy(neg, bits + 1, (double)(ndb - npos));
            /* ranking: counting sort by distance, ties in table order */
            start[0] = 0;
            for (size_t d = 0; d <= bits; d++) start[d + 1] = start[d] + cnt[d];
            for (size_t r = 0; r < ndb; r++) {
                const unsigned d = (unsigned)__builtin_popcountll(code[perm[q]] ^ code[perm[nq + r]]);
                order[start[d]++] = r;
            }
            double sap = 0, sdcg = 0, idcg = 0;
            size_t hit = 0;
            for (size_t i = 0; i < ndb; i++)
                if (rel[order[i]]) {
                    hit++;
                    sap += (double)hit / (double)(i + 1);
                    sdcg += disc[i + 1];
                }
            for (size_t i = 1; i <= npos; i++) idcg += disc[i];
            const size_t k = t * nq + q;
            mi[k] = I;
            ap[k] = npos ? sap / (double)npos : (double)NAN;
            dcg[k] = sdcg;
            ndcg[k] = idcg > 0 ? sdcg / idcg : (double)NAN;
        }
        c_ap[t] = pearson(mi + t * nq, ap + t * nq, nq);
        c_dcg[t] = pearson(mi + t * nq, dcg + t * nq, nq);
        c_ndcg[t] = pearson(mi + t * nq, ndcg + t * nq, nq);
        double a = 0, b = 0, c = 0;
        size_t cq = 0;
        for (size_t q = 0; q < nq; q++)
            if (!isnan(ap[t * nq + q])) a += mi[t * nq + q], b += ap[t * nq + q], c += ndcg[t * nq + q], cq++;
        m_mi[t] = a / (double)cq;
        m_ap[t] = b / (double)cq;
        m_ndcg[t] = c / (double)cq;
    }
    double m1, s1, m2, s2, m3, s3, mm, sm, ma, sa;
    mean_sd(c_ap, trials, &m1, &s1);
    mean_sd(c_dcg, trials, &m2, &s2);
    mean_sd(c_ndcg, trials, &m3, &s3);
    mean_sd(m_mi, trials, &mm, &sm);
    mean_sd(m_ap, trials, &ma, &sa);
    printf("%s (%zu x %zu), %s relevance, %zu bits, %zu trials x %zu queries, table %zu\n", data, n,
           dim, euclid ? "Euclidean 5th-percentile" : "label", bits, trials, nq, ndb);
    printf("mean MI %.4f ± %.4f bits, mAP %.4f ± %.4f over mappings\n", mm, sm, ma, sa);
    printf("per-query Pearson within a trial (mean ± std over trials): MI-AP %.3f ± %.3f, "
           "MI-DCG %.3f ± %.3f, MI-NDCG %.3f ± %.3f\n", m1, s1, m2, s2, m3, s3);
    printf("pooled over all (query, trial) pairs: MI-AP %.3f, MI-DCG %.3f, MI-NDCG %.3f\n",
           pearson(mi, ap, trials * nq), pearson(mi, dcg, trials * nq),
           pearson(mi, ndcg, trials * nq));
    printf("per mapping (mean over its queries, %zu mappings): MI-mAP %.3f, MI-mean NDCG %.3f\n",
           trials, pearson(m_mi, m_ap, trials), pearson(m_mi, m_ndcg, trials));
    free(w); free(proj); free(code); free(perm); free(order); free(rel); free(mi); free(ap);
    free(dcg); free(ndcg); free(c_ap); free(c_dcg); free(c_ndcg); free(m_mi); free(m_ap);
    free(m_ndcg); free(disc);
    l2h_dataset_free(ds);
    return 0;
}
