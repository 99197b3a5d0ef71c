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
    FILE *f = cli_out_open(path);
    if (!f) return CLI_ERR;
    fprintf(f, "kind,x,precision,recall\n");
    for (size_t i = 0; i < n_cut; i++)
        fprintf(f, "at_n,%zu,%.6f,%.6f\n", cut[i], p_at[i], r_at[i]);
    for (size_t r = 0; r <= bits; r++) fprintf(f, "radius,%zu,%.6f,%.6f\n", r, pr_p[r], pr_r[r]);
    return cli_out_close(f);
}

/* --codes-query/--codes-db: codes made elsewhere, labelled by label files (no model). */
static int load_codes(const char *path, uint8_t **codes, size_t *n, size_t *bytes)
{
    l2h_status st = l2h_codes_npy_shape(path, n, bytes);
    if (st != L2H_OK) return cli_fail(st, "reading codes");
    *codes = malloc(*n * *bytes + 1);
    if (!*codes) return cli_fail(L2H_ERR_NOMEM, "reading codes");
    st = l2h_codes_read_npy(path, *codes, *n, *bytes);
    if (st != L2H_OK) return cli_fail(st, "reading codes");
    return CLI_OK;
}

static int labelled_rows(const char *labels, size_t n, l2h_dataset **out)
{
    l2h_status st = l2h_dataset_create(out, n, 1, NULL);
    if (st != L2H_OK) return cli_fail(st, "labels");
    const l2h_read_params lp = l2h_read_default_params();
    st = l2h_dataset_read_labels(*out, labels, &lp);
    return st == L2H_OK ? CLI_OK : cli_fail(st, "reading labels");
}

typedef struct eval_inputs {
    const char *model, *codes_q, *codes_db, *labels_q, *labels_db;
    size_t bits;
} eval_inputs;

/* Queries and database codes, ground truth and a description, from a model and a split or from
 * two code files. */
typedef struct eval_set {
    uint8_t *qc, *dc;
    size_t nq, n_db, bits;
    l2h_dataset *lq, *ldb;
    const char *method;
    char description[512];
} eval_set;

static int codes_set(const eval_inputs *in, eval_set *e, l2h_groundtruth **gt)
{
    size_t qb = 0, db = 0;
    int r = load_codes(in->codes_q, &e->qc, &e->nq, &qb);
    if (r == CLI_OK) r = load_codes(in->codes_db, &e->dc, &e->n_db, &db);
    if (r != CLI_OK) return r;
    if (qb != db) {
        fprintf(stderr, "l2h: error: query codes have %zu bytes each, database codes %zu\n", qb,
                db);
        return CLI_ERR;
    }
    e->bits = in->bits ? in->bits : 8 * qb;
    if (l2h_code_bytes(e->bits) != qb) {
        fprintf(stderr, "l2h: error: --bits %zu does not fit %zu bytes per code\n", e->bits, qb);
        return CLI_USAGE;
    }
    r = labelled_rows(in->labels_q, e->nq, &e->lq);
    if (r == CLI_OK) r = labelled_rows(in->labels_db, e->n_db, &e->ldb);
    if (r != CLI_OK) return r;
    const l2h_status st = l2h_groundtruth_from_labels(gt, e->lq, e->ldb);
    if (st != L2H_OK) return cli_fail(st, "ground truth");
    e->method = "codes";
    snprintf(e->description, sizeof e->description,
             "codes: %zu queries (%s) against %zu database codes (%s), %zu bits; relevant = "
             "sharing a label",
             e->nq, in->codes_q, e->n_db, in->codes_db, e->bits);
    return CLI_OK;
}

int cmd_eval(int argc, char **argv)
{
    cli_data_opts d;
    cli_data_defaults(&d);
    eval_inputs in = {0};
    const char *curves = NULL;
    size_t map_at = 0, min_shared = 1, ndcg_at = 0;
    int radius = 2;
    bool json = false, empty_zero = false, force = false;
    cli_report_opts rep; /* --report: HTML page of query results (cli_report.c) */
    cli_report_defaults(&rep);
    cli_opt opts[CLI_DATA_N_OPTS], rep_opts[CLI_REPORT_N_OPTS];
    cli_data_options(&d, opts);
    const cli_opt own[] = {
        {"model", 'm', CLI_STR, &in.model, "FILE", "model file (or --codes-query/--codes-db)"},
        {"codes-query", 0, CLI_STR, &in.codes_q, "CODES.npy",
         "query codes made elsewhere (uint8 .npy), with --labels-query"},
        {"codes-db", 0, CLI_STR, &in.codes_db, "CODES.npy",
         "database codes made elsewhere, with --labels-db"},
        {"labels-query", 0, CLI_STR, &in.labels_q, "FILE", "labels of --codes-query rows"},
        {"labels-db", 0, CLI_STR, &in.labels_db, "FILE", "labels of --codes-db rows"},
        {"bits", 'b', CLI_SIZE, &in.bits, "B", "codes: length if not 8 x bytes per code"},
        {"radius", 'r', CLI_INT, &radius, "R", "Hamming radius for precision/recall (2)"},
        {"map-at", 0, CLI_SIZE, &map_at, "K", "also report mAP@K and how many queries score 0"},
        {"empty-as-zero", 0, CLI_FLAG, &empty_zero, NULL,
         "count queries without relevant items as AP 0 (default: excluded)"},
        {"curves", 0, CLI_STR, &curves, "CSV", "write precision@N, recall@N and the PR curve"},
        {"force", 0, CLI_FLAG, &force, NULL,
         "evaluate even if the queries hold rows the model was trained on (loud warning)"},
        {"json", 0, CLI_FLAG, &json, NULL, "print JSON"},
        {"min-shared", 0, CLI_SIZE, &min_shared, "M",
         "multi-label: relevant = shares at least M labels (1)"},
        {"ndcg-at", 0, CLI_SIZE, &ndcg_at, "K",
         "also report graded metrics (grade = shared labels): NDCG@K, ACG@K, weighted mAP"},
    };
    cli_report_options(&rep, rep_opts);
    const cli_group groups[] = {
        {opts, CLI_DATA_N_OPTS}, {own, CLI_COUNT(own)}, {rep_opts, CLI_REPORT_N_OPTS}};
    int r = cli_parse_groups(argc, argv, groups, CLI_COUNT(groups),
                      "l2h eval --model MODEL [data options]\n"
                      "       l2h eval --codes-query Q.npy --labels-query LQ --codes-db D.npy "
                      "--labels-db LD",
                      "Encodes the queries and the database of the split with the model (by "
                      "default the split recorded in the model, so\nno training row becomes a "
                      "query) and reports mAP with ties in database order, tie-aware mAP (the\n"
                      "expectation over random orders of tied items), precision and recall "
                      "within a Hamming radius, and\noptionally mAP@K and curves. With "
                      "--codes-query/--codes-db it scores codes made elsewhere. Graded metrics (--ndcg-at):\n"
                      "NDCG@K, ACG@K and weighted mAP with grade = shared labels.",
                      NULL, 0, NULL);
    if (r != CLI_OK) return r == CLI_HELP ? CLI_OK : r;
    const bool by_codes = in.codes_q || in.codes_db;
    if (by_codes) {
        if (in.model)
            return cli_usage_error("eval", "give --model or --codes-query/--codes-db, not both");
        if (!in.codes_q || !in.codes_db || !in.labels_q || !in.labels_db)
            return cli_usage_error("eval", "codes need --codes-query, --codes-db, --labels-query "
                                           "and --labels-db");
        for (size_t i = 0; i < CLI_DATA_N_OPTS; i++)
            if (cli_given(opts[i].name))
                return cli_usage_error("eval", "--%s does not apply to --codes-query/--codes-db",
                                       opts[i].name);
        if (force) return cli_usage_error("eval", "--force applies to --model only");
        if (rep.html)
            return cli_usage_error("eval", "--report shows the model's data: it needs --model");
        if (min_shared > 1 || ndcg_at)
            return cli_usage_error("eval", "--min-shared and --ndcg-at need --model");
    } else {
        if (!in.model) return cli_usage_error("eval", "--model is required");
        if (in.labels_q || in.labels_db || in.bits)
            return cli_usage_error("eval", "--labels-query/--labels-db/--bits go with "
                                           "--codes-query/--codes-db");
    }
    if (radius < 0) return cli_usage_error("eval", "--radius must be >= 0");
    if (min_shared < 1) return cli_usage_error("eval", "--min-shared must be >= 1");

    eval_set e = {0};
    l2h_model *m = NULL;
    cli_data data = {0};
    l2h_groundtruth *gt = NULL;
    double te = 0, tv = 0;
    if (by_codes) {
        cli_progress("eval: loading codes");
        r = codes_set(&in, &e, &gt);
    } else {
        l2h_status st = l2h_model_load(&m, in.model);
        if (st != L2H_OK) return cli_fail(st, "loading the model");
        cli_apply_recorded_split(&d, m);
        cli_progress("eval: loading %s", d.data);
        r = cli_data_load(&d, true, &data);
        if (r == CLI_OK) r = cli_check_split_leak(&d, m, &data, force);
        if (r == CLI_OK && l2h_dataset_dim(data.all) != l2h_model_dim(m)) {
            fprintf(stderr, "l2h: error: the model expects %zu features per row, the data has "
                            "%zu\n",
                    l2h_model_dim(m), l2h_dataset_dim(data.all));
            r = CLI_ERR;
        }
        if (r == CLI_OK) r = cli_groundtruth(&d, &data, &gt);
        if (r == CLI_OK) {
            e.bits = l2h_model_bits(m);
            e.nq = l2h_dataset_n(data.query);
            e.n_db = l2h_dataset_n(data.db);
            e.method = l2h_model_method(m);
            snprintf(e.description, sizeof e.description, "%s", data.description);
            const double t0 = cli_now();
            st = encode_all(m, data.query, &e.qc);
            if (st == L2H_OK) st = encode_all(m, data.db, &e.dc);
            te = cli_now() - t0;
            if (st != L2H_OK) r = cli_fail(st, "encoding");
        }
    }
    if (r == CLI_OK && min_shared > 1) {
        l2h_groundtruth_free(gt);
        gt = NULL;
        const l2h_status st = l2h_groundtruth_from_labels_min(&gt, data.query, data.db, min_shared);
        if (st != L2H_OK) r = cli_fail(st, "--min-shared");
    }
    const size_t bits = e.bits;
    static const size_t cut[] = {1, 10, 50, 100, 500, 1000, 2000, 5000};
    const size_t n_cut = sizeof cut / sizeof cut[0];
    double p_at[8], r_at[8];
    double *pr_p = calloc(bits + 1, sizeof(double)), *pr_r = calloc(bits + 1, sizeof(double));
    l2h_eval_result res;
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
        cli_progress("eval: %zu queries against %zu database items", e.nq, e.n_db);
        const double t1 = cli_now();
        const l2h_status st = l2h_eval_codes(e.qc, e.nq, e.dc, e.n_db, bits, gt, &ep, &res);
        tv = cli_now() - t1;
        if (st != L2H_OK) r = cli_fail(st, "evaluation");
    }
    l2h_graded_result gr;
    memset(&gr, 0, sizeof gr);
    if (r == CLI_OK && ndcg_at) r = evaluate_graded(m, &data, gt, ndcg_at, empty_zero, &gr);
    cli_progress_done();
    /* a cut-off beyond the database is computed at the database size: label it by what was
     * used ("P@5000" on 1,000 items is P@1000) */
    size_t used[8];
    for (size_t i = 0; i < n_cut; i++) used[i] = cut[i] < e.n_db ? cut[i] : e.n_db;
    const size_t k_used = map_at < e.n_db ? map_at : e.n_db;
    size_t n_shown = 0; /* cut-offs after the first one clamped are repeats */
    while (n_shown < n_cut && (n_shown == 0 || used[n_shown - 1] < used[n_shown])) n_shown++;
    if (r == CLI_OK && rep.html) r = cli_report_eval(&rep, m, &data, res.map);
    if (r == CLI_OK && curves) r = write_curves(curves, used, n_shown, p_at, r_at, pr_p, pr_r, bits);
    if (r == CLI_OK) {
        char qm[CLI_JSON_PATH_CAP];
        if (json) {
            printf("{\"method\": \"%s\", \"bits\": %zu, \"queries\": %zu, \"database\": %zu, "
                   "\"map\": %.6f, \"map_tie_aware\": %.6f, ",
                   cli_json_escape(e.method, qm, sizeof qm), bits, res.n_queries, e.n_db, res.map,
                   res.map_tie);
            if (map_at)
                printf("\"map_at_%zu\": %.6f, \"n_zero_at_k\": %zu, ", k_used, res.map_at_k,
                       res.n_zero_at_k);
            if (min_shared > 1) printf("\"min_shared\": %zu, ", min_shared);
            if (ndcg_at)
                printf("\"ndcg_at_%zu\": %.6f, \"acg_at_%zu\": %.6f, \"map_weighted\": %.6f, ",
                       ndcg_at, gr.ndcg_at_k, ndcg_at, gr.acg_at_k, gr.map_weighted);
            printf("\"precision_radius_%d\": %.6f, \"recall_radius_%d\": %.6f, "
                   "\"empty_queries\": %zu, \"precision_at\": {",
                   radius, res.prec_radius, radius, res.recall_radius, res.n_empty);
            for (size_t i = 0; i < n_shown; i++)
                printf("%s\"%zu\": %.6f", i ? ", " : "", used[i], p_at[i]);
            printf("}, \"ties\": \"map: database order; map_tie_aware: expectation over random "
                   "order of tied items\", \"encode_seconds\": %.3f, \"eval_seconds\": %.3f}\n",
                   te, tv);
        } else {
            printf("%s\n", e.description);
            printf("model            %s, %zu bits\n", e.method, bits);
            printf("mAP              %.4f   (ties in database order)\n", res.map);
            printf("mAP tie-aware    %.4f   (expectation over random orders of ties)\n",
                   res.map_tie);
            if (map_at) {
                printf("mAP@%-12zu %.4f\n", k_used, res.map_at_k);
                printf("zero AP@%-8zu %zu queries (relevant items exist, none in the top %zu)\n",
                       k_used, res.n_zero_at_k, k_used);
            }
            if (min_shared > 1) printf("relevant         shares at least %zu labels\n", min_shared);
            if (ndcg_at) {
                printf("NDCG@%-11zu %.4f   (grade = shared labels)\n", ndcg_at, gr.ndcg_at_k);
                printf("ACG@%-12zu %.4f\n", ndcg_at, gr.acg_at_k);
                printf("weighted mAP     %.4f\n", gr.map_weighted);
            }
            printf("P@H<=%-11d %.4f\n", radius, res.prec_radius);
            printf("R@H<=%-11d %.4f\n", radius, res.recall_radius);
            for (size_t i = 0; i < n_shown; i++) printf("P@%-14zu %.4f\n", used[i], p_at[i]);
            if (n_shown < n_cut)
                printf("                 (cut-offs above the %zu database items are not shown)\n",
                       e.n_db);
            printf("queries          %zu (%zu without relevant items, %s)\n", res.n_queries,
                   res.n_empty, empty_zero ? "counted as 0" : "excluded");
            printf("time             encode %.2f s, evaluate %.2f s\n", te, tv);
        }
    }
    free(pr_p);
    free(pr_r);
    free(e.qc);
    free(e.dc);
    l2h_dataset_free(e.lq);
    l2h_dataset_free(e.ldb);
    l2h_groundtruth_free(gt);
    cli_data_free(&data);
    l2h_model_free(m);
    return r;
}
