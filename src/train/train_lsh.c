/* train_lsh.c -- LSH (random hyperplanes, Charikar 2002): W[bits, dim] with i.i.d. N(0, 1)
 * entries from an RNG seeded with `seed`, drawn row by row; b = 0; applied after the model's
 * preprocessing (centring by the training mean, optional L2 normalisation), so on centred data
 * each bit splits the data roughly in half. The training data only provide the mean. */
#include "train_methods.h"

#include <stdio.h>

typedef struct lsh_opts {
    size_t max_train;
} lsh_opts;

static const l2h_option_info k_options[] = {
    L2H_TRAIN_OPT("max-train", L2H_OPT_SIZE, "0", lsh_opts, max_train,
                  "use at most N training rows for the mean (0 = all)"),
};

l2h_status l2h_lsh_train(l2h_model **out, const l2h_dataset *train, const l2h_baseline_params *p)
{
    L2H_FAIL_IF(out == NULL, L2H_ERR_ARG, "lsh: NULL output");
    *out = NULL;
    size_t *rows, n;
    L2H_TRY(l2h_baseline_rows(train, p, "lsh", &rows, &n));
    const size_t dim = l2h_dataset_dim(train), bits = p->bits;
    l2h_status st = L2H_OK;
    float *mean = NULL, *w = l2h_malloc_array(bits * dim, sizeof *w); /* [bits, dim] */
    l2h_net *net = NULL;
    l2h_model *m = NULL;
    if (!w) L2H_FAIL_GOTO(L2H_ERR_NOMEM, "lsh: out of memory for %zu x %zu weights", bits, dim);
    if (p->center) {
        mean = l2h_malloc_array(dim, sizeof *mean);
        if (!mean) L2H_FAIL_GOTO(L2H_ERR_NOMEM, "out of memory in %s", __func__);
        L2H_CHECK_GOTO(l2h_rows_mean(l2h_dataset_features(train), dim, rows, n, mean));
    }
    l2h_rng rng;
    l2h_rng_seed(&rng, p->seed);
    for (size_t i = 0; i < bits * dim; i++) w[i] = (float)l2h_rng_normal(&rng);
    L2H_CHECK_GOTO(l2h_net_linear_create(&net, dim, bits, w, NULL));
    st = l2h_model_create(&m, "lsh", net, mean, p->l2_normalize);
    net = NULL; /* taken */
    if (st != L2H_OK) goto done;
    char num[32];
    snprintf(num, sizeof num, "%llu", (unsigned long long)p->seed);
    L2H_CHECK_GOTO(l2h_model_set_meta(m, "seed", num));
    snprintf(num, sizeof num, "%zu", n);
    L2H_CHECK_GOTO(l2h_model_set_meta(m, "n_train", num));
    *out = m;
    m = NULL;
done:
    l2h_model_free(m);
    l2h_net_free(net);
    l2h_free(mean);
    l2h_free(w);
    l2h_free(rows);
    return st;
}

static void lsh_defaults(l2h_train_params *p) { p->l2_normalize = 0; }

static l2h_status lsh_fit(l2h_model **out, const l2h_dataset *train, const l2h_train_params *p,
                          const void *opts)
{
    l2h_baseline_params bp = l2h_baseline_default_params(p->bits);
    bp.seed = p->seed;
    bp.center = p->center;
    bp.l2_normalize = p->l2_normalize;
    bp.max_train = ((const lsh_opts *)opts)->max_train;
    return l2h_lsh_train(out, train, &bp);
}

const l2h_train_method l2h_train_lsh = {
    .info = {.name = "lsh",
             .summary = "random hyperplanes (Charikar 2002): W with N(0,1) entries, b = 0",
             .n_options = L2H_TRAIN_N_OPTS(k_options),
             .options = k_options},
    .opts_size = sizeof(lsh_opts),
    .defaults = lsh_defaults,
    .fit = lsh_fit,
};
