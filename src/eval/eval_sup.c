/* eval_sup.c -- the check of a supervision view (eval_mi.h), shared by the evaluation code and
 * the objectives. */
#include "eval_mi.h"

l2h_status l2h_sup_check(const l2h_supervision *s, size_t n)
{
    L2H_FAIL_IF(s == NULL, L2H_ERR_ARG, "supervision: NULL");
    L2H_FAIL_IF(s->n != n, L2H_ERR_ARG, "supervision describes %zu items, expected %zu", s->n, n);
    switch (s->kind) {
    case L2H_SUP_LABELS:
        L2H_FAIL_IF(n > 0 && s->labels == NULL, L2H_ERR_ARG, "supervision: NULL labels");
        return L2H_OK;
    case L2H_SUP_MULTILABELS:
        L2H_FAIL_IF(s->n_labels == 0, L2H_ERR_ARG, "supervision: multi-labels with 0 columns");
        L2H_FAIL_IF(n > 0 && s->multilabels == NULL, L2H_ERR_ARG, "supervision: NULL multi-labels");
        return L2H_OK;
    case L2H_SUP_AFFINITY:
        L2H_FAIL_IF(n > 0 && s->affinity == NULL, L2H_ERR_ARG, "supervision: NULL affinity");
        L2H_FAIL_IF(n > ((size_t)1 << 31), L2H_ERR_ARG, "supervision: affinity too large");
        return L2H_OK;
    }
    L2H_FAIL(L2H_ERR_ARG, "supervision: unknown kind %d", (int)s->kind);
}
