/* train_pcah.c -- PCA hashing (PCAH; Wang, Kumar & Chang, CVPR 2010, as the baseline of Gong &
 * Lazebnik's ITQ): bit j = sign of the projection on the j-th principal direction of the
 * preprocessed training rows, z_j = p_jᵀ (x - mu). ITQ without the rotation: the first bits
 * carry most of the variance, which is why ITQ rotates. */
#include "train_methods.h"

#include <stdio.h>

typedef struct pcah_opts {
    size_t max_train;
} pcah_opts;

static const l2h_option_info k_options[] = {
    L2H_TRAIN_OPT("max-train", L2H_OPT_SIZE, "0", pcah_opts, max_train,
                  "use at most N training rows (0 = all)"),
};

static void pcah_defaults(l2h_train_params *p) { p->l2_normalize = 0; }

static l2h_status pcah_fit(l2h_model **out, const l2h_dataset *train, const l2h_train_params *p,
                           const void *opts)
{
    l2h_baseline_params bp = l2h_baseline_default_params(p->bits);
    bp.seed = p->seed;
    bp.max_train = ((const pcah_opts *)opts)->max_train;
    size_t *rows, n;
    L2H_TRY(l2h_baseline_rows(train, &bp, "pcah", &rows, &n));
    const size_t dim = l2h_dataset_dim(train), bits = p->bits;
    double *mu = l2h_malloc_array(dim, sizeof *mu), *pc = l2h_malloc_array(dim, bits * sizeof *pc);
    float *mean = p->center ? l2h_malloc_array(dim, sizeof *mean) : NULL;
    float *w = l2h_malloc_array(dim, bits * sizeof *w), *b = l2h_malloc_array(bits, sizeof *b);
    l2h_net *net = NULL;
    l2h_status st = L2H_OK;
    if (bits > dim)
        L2H_FAIL_GOTO(L2H_ERR_ARG, "pcah: bits = %zu exceeds the feature dimension %zu", bits,
                      dim);
    if (!mu || !pc || !w || !b || (p->center && !mean))
        L2H_FAIL_GOTO(L2H_ERR_NOMEM, "pcah: out of memory for %zu x %zu projections", dim, bits);
    if (mean) L2H_CHECK_GOTO(l2h_rows_mean(l2h_dataset_features(train), dim, rows, n, mean));
    L2H_CHECK_GOTO(l2h_pca_fit(l2h_dataset_features(train), dim, rows, n, mean, p->l2_normalize,
                               bits, mu, pc, NULL));
    for (size_t j = 0; j < bits; j++) { /* W = Pᵀ, b = -(muᵀ P) */
        double acc = 0.0;
        for (size_t i = 0; i < dim; i++) {
            w[j * dim + i] = (float)pc[i * bits + j];
            acc += mu[i] * pc[i * bits + j];
        }
        b[j] = (float)-acc;
    }
    L2H_CHECK_GOTO(l2h_net_linear_create(&net, dim, bits, w, b));
    st = l2h_model_create(out, "pcah", net, mean, p->l2_normalize);
    net = NULL; /* taken */
    if (st == L2H_OK) st = l2h_train_set_meta_num(*out, "n_train", (double)n);
done:
    if (st != L2H_OK) {
        l2h_model_free(*out);
        *out = NULL;
    }
    l2h_net_free(net);
    l2h_free(mu);
    l2h_free(pc);
    l2h_free(mean);
    l2h_free(w);
    l2h_free(b);
    l2h_free(rows);
    return st;
}

const l2h_train_method l2h_train_pcah = {
    .info = {.name = "pcah",
             .summary = "PCA hashing: the sign of the projections on the top principal directions",
             .n_options = L2H_TRAIN_N_OPTS(k_options),
             .options = k_options},
    .opts_size = sizeof(pcah_opts),
    .defaults = pcah_defaults,
    .fit = pcah_fit,
};
