/* online_linear.c -- helpers shared by the online methods: the method registry, the affinity
 * rule between stream items, and the linear hash h(x) = [w_kᵀx > 0]_k with W stored as
 * [bits, dim] rows (LSH initialisation, row normalisation, encoding, parameter distance). */
#include "online_internal.h"

#include "l2h/codes.h"
#include "linalg.h"

#include <math.h>
#include <string.h>

static const l2h_online_ops *const k_methods[] = {
    &l2h_online_okh_ops,        &l2h_online_osh_ops,    &l2h_online_adapthash_ops,
    &l2h_online_sketchhash_ops, &l2h_online_mihash_ops,
};
#define N_METHODS (sizeof k_methods / sizeof k_methods[0])

const l2h_online_ops *l2h_online_find_ops(const char *name)
{
    if (name == NULL) return NULL;
    for (size_t i = 0; i < N_METHODS; i++)
        if (strcmp(k_methods[i]->name, name) == 0) return k_methods[i];
    return NULL;
}

const char *const *l2h_online_methods(void)
{
    static const char *const names[] = {"okh", "osh", "adapthash", "sketchhash", "mihash", NULL};
    _Static_assert(sizeof names / sizeof names[0] == N_METHODS + 1, "method name table");
    return names;
}

bool l2h_online_similar(const float *xa, const float *xb, size_t dim, const int32_t *la,
                        const int32_t *lb, float dist_threshold)
{
    if (la != NULL && lb != NULL) return *la == *lb;
    double d2 = 0.0;
    for (size_t i = 0; i < dim; i++) {
        const double d = (double)xa[i] - (double)xb[i];
        d2 += d * d;
    }
    return d2 <= (double)dist_threshold * (double)dist_threshold;
}

void l2h_online_normalize_rows(float *w, size_t bits, size_t dim)
{
    for (size_t k = 0; k < bits; k++) {
        float *row = w + k * dim;
        double s = 0.0;
        for (size_t i = 0; i < dim; i++)
            s += (double)row[i] * (double)row[i];
        if (s <= 0.0) continue;
        const float inv = (float)(1.0 / sqrt(s));
        for (size_t i = 0; i < dim; i++)
            row[i] *= inv;
    }
}

void l2h_online_lsh_init(float *w, size_t bits, size_t dim, l2h_rng *rng)
{
    for (size_t i = 0; i < bits * dim; i++)
        w[i] = (float)l2h_rng_normal(rng);
    l2h_online_normalize_rows(w, bits, dim);
}

l2h_status l2h_online_linear_encode(const float *w, const float *offset, size_t bits, size_t dim,
                                    const float *x, size_t n, uint8_t *codes)
{
    if (n == 0) return L2H_OK;
    L2H_FAIL_IF(x == NULL || codes == NULL, L2H_ERR_ARG, "online encode: NULL buffer");
    /* Encode in blocks of rows so the scratch stays small for large tables. */
    const size_t block = 1024;
    float *z = l2h_malloc_array(block * bits, sizeof *z); /* [block, bits] */
    L2H_NOMEM_IF_NULL(z);
    const size_t bytes = l2h_code_bytes(bits);
    l2h_status st = L2H_OK;
    for (size_t i0 = 0; i0 < n && st == L2H_OK; i0 += block) {
        const size_t m = n - i0 < block ? n - i0 : block;
        l2h_sgemm(false, true, m, bits, dim, 1.0f, x + i0 * dim, dim, w, dim, 0.0f, z,
                  bits); /* Z = X · Wᵀ */
        if (offset != NULL)
            for (size_t r = 0; r < m; r++)
                for (size_t k = 0; k < bits; k++)
                    z[r * bits + k] -= offset[k];
        st = l2h_codes_pack(z, m, bits, codes + i0 * bytes);
    }
    l2h_free(z);
    return st;
}

double l2h_online_l1(const float *a, const float *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += fabs((double)a[i] - (double)b[i]);
    return s;
}
