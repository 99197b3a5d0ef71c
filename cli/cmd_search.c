/* cmd_search.c -- `l2h search`: exact k-NN or radius search of query codes in database codes. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

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

static void print_row(bool json, bool *first, size_t q, size_t rank, l2h_id id, int32_t dist)
{
    if (json) {
        printf("%s{\"query\": %zu, \"rank\": %zu, \"id\": %lld, \"distance\": %d}",
               *first ? "" : ",\n", q, rank, (long long)id, (int)dist);
        *first = false;
    } else {
        printf("%zu\t%zu\t%lld\t%d\n", q, rank, (long long)id, (int)dist);
    }
}

int cmd_search(int argc, char **argv)
{
    const char *db_path = NULL, *index_path = NULL, *q_path = NULL, *save = NULL;
    const char *model_path = NULL;
    size_t k = 0, bits_opt = 0;
    int radius = -1, threads = 0;
    bool json = false;
    cli_report_opts rep; /* --report: HTML page of the results (cli_report.c) */
    cli_report_defaults(&rep);
    const char *rep_ql = NULL, *rep_dl = NULL;
    const cli_opt opts[] = {
        {"db", 0, CLI_STR, &db_path, "CODES.npy", "database codes (uint8 .npy)"},
        {"index", 'i', CLI_STR, &index_path, "FILE", "a saved index instead of --db"},
        {"queries", 'q', CLI_STR, &q_path, "CODES.npy", "query codes (required)"},
        {"k", 'k', CLI_SIZE, &k, "K", "k nearest neighbours"},
        {"radius", 'r', CLI_INT, &radius, "R", "all codes within Hamming distance <= R"},
        {"bits", 'b', CLI_SIZE, &bits_opt, "B", "code length if not 8 x bytes per code"},
        {"save-index", 0, CLI_STR, &save, "FILE", "save the index built from --db"},
        {"threads", 't', CLI_INT, &threads, "N", "threads (default: all cores)"},
        {"json", 0, CLI_FLAG, &json, NULL, "print a JSON array instead of TSV"},
        {"model", 0, CLI_STR, &model_path, "MODEL",
         "the model that made the queries: refused if the index holds another model's codes "
         "(with --db and --save-index: recorded in the saved index)"},
    };
    enum { N_OWN = sizeof opts / sizeof opts[0] };
    cli_opt all[N_OWN + CLI_REPORT_N_OPTS + 2];
    memcpy(all, opts, sizeof opts);
    cli_report_options(&rep, all + N_OWN);
    all[N_OWN + CLI_REPORT_N_OPTS] = (cli_opt){"query-labels", 0, CLI_STR, &rep_ql, "FILE",
                                               "report: labels of the query rows (relevance)"};
    all[N_OWN + CLI_REPORT_N_OPTS + 1] = (cli_opt){"db-labels", 0, CLI_STR, &rep_dl, "FILE",
                                                   "report: labels of the database rows"};
    int r = cli_parse(argc, argv, all, sizeof all / sizeof all[0],
                      "l2h search (--db CODES.npy | --index FILE) --queries CODES.npy (-k K | "
                      "--radius R)",
                      "Exact search by Hamming distance. Results are ordered by distance, then by "
                      "id; ids are database row numbers (or the ids\nstored in the index). Output: "
                      "one line per result, tab-separated: query, rank, id, distance.",
                      NULL, 0, NULL);
    if (r != CLI_OK) return r == CLI_HELP ? CLI_OK : r;
    if (!db_path == !index_path) return cli_usage_error("search", "give exactly one of --db, --index");
    if (!q_path) return cli_usage_error("search", "--queries is required");
    if ((k == 0) == (radius < 0)) return cli_usage_error("search", "give exactly one of -k, --radius");
    if (threads > 0) l2h_set_threads(threads);

    l2h_index *idx = NULL;
    uint8_t *db = NULL, *qc = NULL;
    size_t n_db = 0, db_bytes = 0, nq = 0, q_bytes = 0;
    l2h_status st = L2H_OK;
    if (index_path) {
        st = l2h_index_load(&idx, index_path);
        if (st != L2H_OK) return cli_fail(st, "loading the index");
        if (model_path) r = cli_check_model(idx, model_path, "queries");
    } else {
        r = load_codes(db_path, &db, &n_db, &db_bytes);
        const size_t bits = bits_opt ? bits_opt : 8 * db_bytes;
        if (r == CLI_OK && l2h_code_bytes(bits) != db_bytes) {
            fprintf(stderr, "l2h: error: --bits %zu does not fit %zu bytes per code\n", bits,
                    db_bytes);
            r = CLI_ERR;
        }
        if (r == CLI_OK) {
            const l2h_index_params ip = l2h_index_default_params(bits);
            st = l2h_index_create(&idx, &ip);
            uint8_t fp[L2H_FINGERPRINT_BYTES];
            if (st == L2H_OK && model_path && save) {
                if (cli_model_fingerprint(model_path, fp) != CLI_OK) st = L2H_ERR_ARG;
                else st = l2h_index_set_fingerprint(idx, fp);
            }
            if (st == L2H_OK) st = l2h_index_add(idx, db, NULL, n_db);
            if (st == L2H_OK && save) st = l2h_index_save(idx, save);
            if (st != L2H_OK) r = cli_fail(st, "building the index");
        }
        free(db);
    }
    if (r == CLI_OK) r = load_codes(q_path, &qc, &nq, &q_bytes);
    if (r == CLI_OK && q_bytes != l2h_code_bytes(l2h_index_bits(idx))) {
        fprintf(stderr, "l2h: error: queries have %zu bytes per code, the index %zu\n", q_bytes,
                l2h_code_bytes(l2h_index_bits(idx)));
        r = CLI_ERR;
    }
    bool first = true;
    const double t0 = cli_now();
    if (r == CLI_OK && json) printf("[");
    /* No more than the index holds can be returned: k is clamped to its size so that a large
     * -k on a small index does not allocate for results that cannot exist. */
    if (r == CLI_OK && k && k > l2h_index_size(idx)) k = l2h_index_size(idx);
    if (r == CLI_OK && radius < 0 && k == 0) {
        /* an empty index: nothing to report */
    } else if (r == CLI_OK && k) {
        size_t total = 0;
        if (nq != 0 && k > SIZE_MAX / nq / sizeof(l2h_id)) {
            fprintf(stderr, "l2h: error: %zu queries x k = %zu results do not fit in memory\n",
                    nq, k);
            r = CLI_ERR;
        }
        total = r == CLI_OK ? nq * k : 0;
        int32_t *dist = malloc(total * sizeof *dist + 1);
        l2h_id *ids = malloc(total * sizeof *ids + 1);
        if (r == CLI_OK) {
            st = dist && ids ? l2h_index_search(idx, qc, nq, k, dist, ids) : L2H_ERR_NOMEM;
            if (st != L2H_OK) r = cli_fail(st, "search");
        }
        for (size_t q = 0; r == CLI_OK && q < nq; q++)
            for (size_t j = 0; j < k && ids[q * k + j] >= 0; j++)
                print_row(json, &first, q, j, ids[q * k + j], dist[q * k + j]);
        if (r == CLI_OK && rep.html)
            r = cli_report_search(&rep, rep_ql, rep_dl, nq, l2h_index_size(idx), k, ids, dist);
        free(dist);
        free(ids);
    } else if (r == CLI_OK) {
        l2h_range_result *res = NULL;
        st = l2h_index_range_search(idx, qc, nq, (uint32_t)radius, &res);
        if (st != L2H_OK) r = cli_fail(st, "search");
        else {
            const size_t *lims = l2h_range_result_lims(res);
            const l2h_id *ids = l2h_range_result_ids(res);
            const int32_t *dist = l2h_range_result_dists(res);
            for (size_t q = 0; q < nq; q++)
                for (size_t j = lims[q]; j < lims[q + 1]; j++)
                    print_row(json, &first, q, j - lims[q], ids[j], dist[j]);
        }
        l2h_range_result_free(res);
    }
    if (r == CLI_OK && json) printf("]\n");
    if (r == CLI_OK)
        fprintf(stderr, "searched %zu queries in %zu codes in %.3f s\n", nq, l2h_index_size(idx),
                cli_now() - t0);
    free(qc);
    l2h_index_free(idx);
    return r;
}
