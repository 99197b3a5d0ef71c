/* cmd_eval.c -- `l2h eval`: retrieval quality of a model on a split. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static l2h_status encode_all(const l2h_model *m, const l2h_dataset *ds, uint8_t **codes)
{
    const size_t n = l2h_dataset_n(ds), bytes = l2h_code_bytes(l2h_model_bits(m));
    *codes = malloc(n * bytes + 1);
    if (!*codes) return L2H_ERR_NOMEM;
    return l2h_model_encode(m, l2h_dataset_features(ds), n, *codes);
}

int cli_evaluate_model(const l2h_model *m, const cli_data *data, const l2h_groundtruth *gt,
                       const l2h_eval_params *ep, l2h_eval_result *res, double *t_encode,
                       double *t_eval)
{
    uint8_t *qc = NULL, *dc = NULL;
    const double t0 = cli_now();
    l2h_status st = encode_all(m, data->query, &qc);
    if (st == L2H_OK) st = encode_all(m, data->db, &dc);
    const double t1 = cli_now();
    if (st == L2H_OK)
        st = l2h_eval_codes(qc, l2h_dataset_n(data->query), dc, l2h_dataset_n(data->db),
                            l2h_model_bits(m), gt, ep, res);
    const double t2 = cli_now();
    free(qc);
    free(dc);
    if (t_encode) *t_encode = t1 - t0;
    if (t_eval) *t_eval = t2 - t1;
    return st == L2H_OK ? CLI_OK : cli_fail(st, "evaluation");
}

/* Graded metrics (NDCG@k, ACG@k, weighted mAP) of the model's codes on the split. */
static int evaluate_graded(const l2h_model *m, const cli_data *data, const l2h_groundtruth *gt,
                           size_t k, bool empty_zero, l2h_graded_result *g)
{
    uint8_t *qc = NULL, *dc = NULL;
    l2h_status st = encode_all(m, data->query, &qc);
    if (st == L2H_OK) st = encode_all(m, data->db, &dc);
    if (st == L2H_OK)
        st = l2h_eval_graded(qc, l2h_dataset_n(data->query), dc, l2h_dataset_n(data->db),
                             l2h_model_bits(m), gt, k, empty_zero, g);
    free(qc);
    free(dc);
    return st == L2H_OK ? CLI_OK : cli_fail(st, "graded evaluation");
}

static int write_curves(const char *path, const size_t *cut, size_t n_cut, const double *p_at,
                        const double *r_at, const double *pr_p, const double *pr_r, size_t bits)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "l2h: error: cannot write %s\n", path);
        return CLI_ERR;
    }
    fprintf(f, "kind,x,precision,recall\n");
    for (size_t i = 0; i < n_cut; i++)
        fprintf(f, "at_n,%zu,%.6f,%.6f\n", cut[i], p_at[i], r_at[i]);
    for (size_t r = 0; r <= bits; r++) fprintf(f, "radius,%zu,%.6f,%.6f\n", r, pr_p[r], pr_r[r]);
    const int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        fprintf(stderr, "l2h: error: writing %s failed\n", path);
        return CLI_ERR;
    }
    return CLI_OK;
}

int cmd_eval(int argc, char **argv)
{
    cli_data_opts d;
    cli_data_defaults(&d);
    const char *model_path = NULL, *curves = NULL;
    size_t map_at = 0, min_shared = 1, ndcg_at = 0;
    int radius = 2;
    bool json = false, empty_zero = false;
    cli_opt opts[CLI_DATA_N_OPTS + 10];
    cli_data_options(&d, opts);
    const cli_opt own[] = {
        {"model", 'm', CLI_STR, &model_path, "FILE", "model file (required)"},
        {"radius", 'r', CLI_INT, &radius, "R", "Hamming radius for precision/recall (2)"},
        {"map-at", 0, CLI_SIZE, &map_at, "K", "also report mAP@K"},
        {"empty-as-zero", 0, CLI_FLAG, &empty_zero, NULL,
         "count queries without relevant items as AP 0 (default: excluded)"},
        {"curves", 0, CLI_STR, &curves, "CSV", "write precision@N, recall@N and the PR curve"},
        {"json", 0, CLI_FLAG, &json, NULL, "print JSON"},
        {"min-shared", 0, CLI_SIZE, &min_shared, "M",
         "multi-label: relevant = shares at least M labels (1)"},
        {"ndcg-at", 0, CLI_SIZE, &ndcg_at, "K",
         "also report graded metrics (grade = shared labels): NDCG@K, ACG@K, weighted mAP"},
    };
    memcpy(opts + CLI_DATA_N_OPTS, own, sizeof own);
    int r = cli_parse(argc, argv, opts, CLI_DATA_N_OPTS + sizeof own / sizeof own[0],
                      "l2h eval --model MODEL [data options]",
                      "Encodes the queries and the database of the split with the model and "
                      "reports mAP (ties in database order), tie-aware mAP,\nprecision and recall "
                      "within a Hamming radius, and optionally mAP@K, curves and graded metrics "
                      "(NDCG@K,\nweighted mAP).",
                      NULL, 0, NULL);
    if (r != CLI_OK) return r == CLI_HELP ? CLI_OK : r;
    if (!model_path) return cli_usage_error("eval", "--model is required");
    if (radius < 0) return cli_usage_error("eval", "--radius must be >= 0");
    if (min_shared < 1) return cli_usage_error("eval", "--min-shared must be >= 1");

    l2h_model *m = NULL;
    l2h_status st = l2h_model_load(&m, model_path);
    if (st != L2H_OK) return cli_fail(st, "loading the model");
    cli_data data;
    l2h_groundtruth *gt = NULL;
    cli_progress("eval: loading %s", d.data);
    r = cli_data_load(&d, true, &data);
    if (r == CLI_OK && l2h_dataset_dim(data.all) != l2h_model_dim(m)) {
        fprintf(stderr, "l2h: error: the model expects %zu features per row, the data has %zu\n",
                l2h_model_dim(m), l2h_dataset_dim(data.all));
        r = CLI_ERR;
    }
    if (r == CLI_OK) r = cli_groundtruth(&d, &data, &gt);
    if (r == CLI_OK && min_shared > 1) {
        l2h_groundtruth_free(gt);
        gt = NULL;
        st = l2h_groundtruth_from_labels_min(&gt, data.query, data.db, min_shared);
        if (st != L2H_OK) r = cli_fail(st, "--min-shared");
    }
    const size_t bits = l2h_model_bits(m);
    static const size_t cut[] = {1, 10, 50, 100, 500, 1000, 2000, 5000};
    const size_t n_cut = sizeof cut / sizeof cut[0];
    double p_at[8], r_at[8];
    double *pr_p = calloc(bits + 1, sizeof(double)), *pr_r = calloc(bits + 1, sizeof(double));
    l2h_eval_result res;
    double te = 0, tv = 0;
    if (r == CLI_OK && (!pr_p || !pr_r)) r = CLI_ERR;
    if (r == CLI_OK) {
        l2h_eval_params ep = l2h_eval_default_params();
        ep.radius = (uint32_t)radius;
        ep.map_at_k = map_at;
        ep.empty_as_zero = empty_zero;
        ep.n_cutoffs = n_cut;
        ep.cutoffs = cut;
        ep.precision_at = p_at;
        ep.recall_at = r_at;
        ep.pr_precision = pr_p;
        ep.pr_recall = pr_r;
        cli_progress("eval: %zu queries against %zu database items", l2h_dataset_n(data.query),
                     l2h_dataset_n(data.db));
        r = cli_evaluate_model(m, &data, gt, &ep, &res, &te, &tv);
    }
    l2h_graded_result gr;
    memset(&gr, 0, sizeof gr);
    if (r == CLI_OK && ndcg_at) r = evaluate_graded(m, &data, gt, ndcg_at, empty_zero, &gr);
    cli_progress_done();
    if (r == CLI_OK && curves) r = write_curves(curves, cut, n_cut, p_at, r_at, pr_p, pr_r, bits);
    if (r == CLI_OK) {
        if (json) {
            printf("{\"method\": \"%s\", \"bits\": %zu, \"queries\": %zu, \"database\": %zu, "
                   "\"map\": %.6f, \"map_tie_aware\": %.6f, ",
                   l2h_model_method(m), bits, res.n_queries, l2h_dataset_n(data.db), res.map,
                   res.map_tie);
            if (map_at) printf("\"map_at_%zu\": %.6f, ", map_at, res.map_at_k);
            if (min_shared > 1) printf("\"min_shared\": %zu, ", min_shared);
            if (ndcg_at)
                printf("\"ndcg_at_%zu\": %.6f, \"acg_at_%zu\": %.6f, \"map_weighted\": %.6f, ",
                       ndcg_at, gr.ndcg_at_k, ndcg_at, gr.acg_at_k, gr.map_weighted);
            printf("\"precision_radius_%d\": %.6f, \"recall_radius_%d\": %.6f, "
                   "\"empty_queries\": %zu, \"precision_at\": {",
                   radius, res.prec_radius, radius, res.recall_radius, res.n_empty);
            for (size_t i = 0; i < n_cut; i++)
                printf("%s\"%zu\": %.6f", i ? ", " : "", cut[i], p_at[i]);
            printf("}, \"encode_seconds\": %.3f, \"eval_seconds\": %.3f}\n", te, tv);
        } else {
            printf("%s\n", data.description);
            printf("model            %s, %zu bits\n", l2h_model_method(m), bits);
            printf("mAP              %.4f   (ties in database order)\n", res.map);
            printf("mAP tie-aware    %.4f\n", res.map_tie);
            if (map_at) printf("mAP@%-12zu %.4f\n", map_at, res.map_at_k);
            if (min_shared > 1) printf("relevant         shares at least %zu labels\n", min_shared);
            if (ndcg_at) {
                printf("NDCG@%-11zu %.4f   (grade = shared labels)\n", ndcg_at, gr.ndcg_at_k);
                printf("ACG@%-12zu %.4f\n", ndcg_at, gr.acg_at_k);
                printf("weighted mAP     %.4f\n", gr.map_weighted);
            }
            printf("P@H<=%-11d %.4f\n", radius, res.prec_radius);
            printf("R@H<=%-11d %.4f\n", radius, res.recall_radius);
            for (size_t i = 0; i < n_cut; i++) printf("P@%-14zu %.4f\n", cut[i], p_at[i]);
            printf("queries          %zu (%zu without relevant items, %s)\n", res.n_queries,
                   res.n_empty, empty_zero ? "counted as 0" : "excluded");
            printf("time             encode %.2f s, evaluate %.2f s\n", te, tv);
        }
    }
    free(pr_p);
    free(pr_r);
    l2h_groundtruth_free(gt);
    cli_data_free(&data);
    l2h_model_free(m);
    return r;
}
