/* objective_common.c -- mini-batch gathering of the supervision (its check is in
 * src/eval/eval_sup.c), and the objective
 * dispatcher that validates arguments once for every method. */
#include "objective.h"

#include <string.h>

size_t l2h_sup_gather_bytes(const l2h_supervision *src, size_t m)
{
    switch (src->kind) {
    case L2H_SUP_LABELS:
        return m * sizeof(int32_t);
    case L2H_SUP_MULTILABELS:
        return m * src->n_labels;
    case L2H_SUP_AFFINITY:
        return m * m;
    }
    return 0;
}

l2h_status l2h_sup_gather(const l2h_supervision *src, const size_t *idx, size_t m, void *buf,
                          l2h_supervision *dst)
{
    L2H_TRY(l2h_sup_check(src, src ? src->n : 0));
    L2H_FAIL_IF(dst == NULL || (m > 0 && (idx == NULL || buf == NULL)), L2H_ERR_ARG,
                "supervision gather: NULL argument");
    for (size_t i = 0; i < m; i++)
        L2H_FAIL_IF(idx[i] >= src->n, L2H_ERR_ARG, "supervision gather: index %zu >= %zu", idx[i],
                    src->n);
    *dst = *src;
    dst->n = m;
    switch (src->kind) {
    case L2H_SUP_LABELS: {
        int32_t *lab = buf;
        for (size_t i = 0; i < m; i++)
            lab[i] = src->labels[idx[i]];
        dst->labels = lab;
        break;
    }
    case L2H_SUP_MULTILABELS: {
        uint8_t *ml = buf;
        const size_t L = src->n_labels;
        for (size_t i = 0; i < m; i++)
            memcpy(ml + i * L, src->multilabels + idx[i] * L, L);
        dst->multilabels = ml;
        break;
    }
    case L2H_SUP_AFFINITY: {
        uint8_t *a = buf;
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < m; j++)
                a[i * m + j] = src->affinity[idx[i] * src->n + idx[j]];
        dst->affinity = a;
        break;
    }
    }
    return L2H_OK;
}

l2h_status l2h_objective_loss_grad(l2h_objective *obj, const float *z, size_t n,
                                   const l2h_supervision *s, float *dz, float *loss)
{
    L2H_FAIL_IF(obj == NULL || z == NULL || loss == NULL, L2H_ERR_ARG, "objective: NULL argument");
    L2H_FAIL_IF(n == 0, L2H_ERR_ARG, "objective %s: empty batch", obj->ops->name);
    L2H_TRY(l2h_sup_check(s, n));
    return obj->ops->loss_grad(obj, z, n, s, dz, loss);
}

l2h_status l2h_objective_begin_step(l2h_objective *obj, size_t step, size_t epoch, size_t epochs)
{
    L2H_FAIL_IF(obj == NULL, L2H_ERR_ARG, "objective: NULL argument");
    return obj->ops->begin_step ? obj->ops->begin_step(obj, step, epoch, epochs) : L2H_OK;
}

void l2h_objective_free(l2h_objective *obj)
{
    if (obj) obj->ops->free(obj);
}

l2h_status l2h_f64_stage_load(l2h_f64_stage *st, const float *z, size_t n, size_t bits,
                              const char *who, size_t *nb)
{
    L2H_FAIL_IF(!l2h_mul_ok(n, bits, nb), L2H_ERR_ARG, "%s: batch of %zu too large", who, n);
    if (*nb > st->cap) {
        double *zd = l2h_malloc_array(*nb, sizeof *zd), *dzd = l2h_malloc_array(*nb, sizeof *dzd);
        if (!zd || !dzd) {
            l2h_free(zd);
            l2h_free(dzd);
            L2H_FAIL(L2H_ERR_NOMEM, "%s: out of memory for a batch of %zu", who, n);
        }
        l2h_f64_stage_free(st);
        st->z = zd;
        st->dz = dzd;
        st->cap = *nb;
    }
    for (size_t k = 0; k < *nb; k++)
        st->z[k] = (double)z[k];
    return L2H_OK;
}

void l2h_f64_stage_store(const l2h_f64_stage *st, size_t nb, float *dz)
{
    for (size_t k = 0; dz && k < nb; k++)
        dz[k] = (float)st->dz[k];
}

void l2h_f64_stage_free(l2h_f64_stage *st)
{
    l2h_free(st->z);
    l2h_free(st->dz);
    st->z = st->dz = NULL;
    st->cap = 0;
}
