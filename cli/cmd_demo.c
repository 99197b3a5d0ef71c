/* cmd_demo.c -- `l2h demo`: the front door. Every method that has landed, on Fashion-MNIST
 * split 1 by default, at 16/32/64 bits: mAP, tie-aware mAP, P@H<=2 and the time of each step. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#define DEMO_MAX_BITS 8
#define DEMO_MAX_METHODS 8

int cli_parse_bits_list(const char *cmd, const char *s, size_t *bits, size_t max, size_t *n)
{
    *n = 0;
    const char *p = s;
    while (*p) {
        char *end;
        const unsigned long v = strtoul(p, &end, 10);
        if (end == p || v == 0 || v > L2H_MAX_BITS || *n >= max)
            return cli_usage_error(cmd, "bad bit list '%s' (e.g. 16,32,64; 1..%d)", s,
                                   L2H_MAX_BITS);
        bits[(*n)++] = v;
        p = end;
        if (*p == ',') p++;
        else if (*p) return cli_usage_error(cmd, "bad bit list '%s'", s);
    }
    return *n ? CLI_OK : cli_usage_error(cmd, "empty bit list");
}

static size_t split_methods(char *s, const char **out, size_t max)
{
    size_t n = 0;
    for (char *tok = strtok(s, ","); tok && n < max; tok = strtok(NULL, ",")) out[n++] = tok;
    return n;
}

int cmd_demo(int argc, char **argv)
{
    cli_data_opts d;
    cli_data_defaults(&d);
    const char *bits_s = "16,32,64", *methods_s = "lsh,itq,mihash,hashnet,jmlh";
    size_t mh_epochs = 10, jm_epochs = 20;
    bool json = false;
    cli_opt data_opts[CLI_DATA_N_OPTS];
    cli_data_options(&d, data_opts);
    const cli_opt own[] = {
        {"bits", 'b', CLI_STR, &bits_s, "LIST", "code lengths (16,32,64)"},
        {"methods", 0, CLI_STR, &methods_s, "LIST",
         "methods to run (lsh,itq,mihash,hashnet,jmlh)"},
        {"mihash-epochs", 0, CLI_SIZE, &mh_epochs, "N",
         "MIHash / HashNet epochs (10; linear layer on the pixels, SGD)"},
        {"jmlh-epochs", 0, CLI_SIZE, &jm_epochs, "N",
         "JMLH epochs (20; linear layer on the pixels, Adam 1e-3, gamma 0.1)"},
        {"json", 0, CLI_FLAG, &json, NULL, "print one JSON object per row"},
    };
    const cli_group groups[] = {{data_opts, CLI_DATA_N_OPTS}, {own, CLI_COUNT(own)}};
    int r = cli_parse_groups(argc, argv, groups, CLI_COUNT(groups),
                      "l2h demo [--bits 16,32,64] [--methods lsh,itq,mihash,hashnet,jmlh] "
                      "[data options]",
                      "Runs every method on Fashion-MNIST split 1 (100 queries and 500 training "
                      "images per class, database = the other 69,000\nimages) and prints mAP, "
                      "tie-aware mAP, precision within Hamming radius 2 and the time of each "
                      "step.",
                      NULL, 0, NULL);
    if (r != CLI_OK) return r == CLI_HELP ? CLI_OK : r;
    size_t bits[DEMO_MAX_BITS], n_bits;
    r = cli_parse_bits_list("demo", bits_s, bits, DEMO_MAX_BITS, &n_bits);
    if (r != CLI_OK) return r;
    char methods_buf[256];
    snprintf(methods_buf, sizeof methods_buf, "%s", methods_s);
    const char *methods[DEMO_MAX_METHODS];
    const size_t n_methods = split_methods(methods_buf, methods, DEMO_MAX_METHODS);
    if (n_methods == 0) return cli_usage_error("demo", "empty method list");
    for (size_t mi = 0; mi < n_methods; mi++) /* every method checked before the data load */
        for (size_t bi = 0; bi < n_bits; bi++) {
            r = cli_check_method("demo", methods[mi], NULL, NULL, bits[bi]);
            if (r != CLI_OK) return r;
        }

    const double t0 = cli_now();
    cli_progress("demo: loading %s", d.data);
    cli_data data;
    l2h_groundtruth *gt = NULL;
    r = cli_data_load(&d, true, &data);
    if (r == CLI_OK) r = cli_groundtruth(&d, &data, &gt);
    const double t_load = cli_now() - t0;
    cli_progress_done();
    if (r != CLI_OK) {
        cli_data_free(&data);
        return r;
    }
    if (!json) {
        printf("%s\n", data.description);
        printf("data loaded in %.2f s; %s\n\n", t_load, l2h_build_info());
        printf("| method  | bits |    mAP | mAP (tie-aware) | P@H<=2 | train s | encode s | eval s |\n");
        printf("|---------|-----:|-------:|----------------:|-------:|--------:|---------:|-------:|\n");
        fflush(stdout);
    }
    const size_t total = n_methods * n_bits;
    size_t step = 0;
    for (size_t mi = 0; mi < n_methods && r == CLI_OK; mi++) {
        for (size_t bi = 0; bi < n_bits && r == CLI_OK; bi++) {
            step++;
            cli_progress("demo [%zu/%zu] %s %zu bits: training", step, total, methods[mi],
                         bits[bi]);
            l2h_model *m = NULL;
            const double t1 = cli_now();
            cli_mihash_opts mo;
            cli_mihash_defaults(&mo);
            mo.epochs = strcmp(methods[mi], "jmlh") ? mh_epochs : jm_epochs;
            /* each method with its defaults (lsh, itq: centred, no L2 normalisation; the
             * learned ones: centred and L2-normalised) */
            r = cli_train_method(methods[mi], &mo, NULL, data.train, bits[bi], d.seed, -1, -1,
                                 &m);
            const double t_train = cli_now() - t1;
            if (r != CLI_OK) break;
            cli_progress("demo [%zu/%zu] %s %zu bits: evaluating", step, total, methods[mi],
                         bits[bi]);
            l2h_eval_params ep = l2h_eval_default_params();
            l2h_eval_result res;
            double te = 0, tv = 0;
            r = cli_evaluate_model(m, &data, gt, &ep, &res, &te, &tv);
            cli_progress_done();
            l2h_model_free(m);
            if (r != CLI_OK) break;
            if (json)
                printf("{\"method\": \"%s\", \"bits\": %zu, \"map\": %.6f, \"map_tie_aware\": "
                       "%.6f, \"precision_radius_2\": %.6f, \"train_seconds\": %.3f, "
                       "\"encode_seconds\": %.3f, \"eval_seconds\": %.3f}\n",
                       methods[mi], bits[bi], res.map, res.map_tie, res.prec_radius, t_train, te,
                       tv);
            else
                printf("| %-7s | %4zu | %6.4f | %15.4f | %6.4f | %7.2f | %8.2f | %6.2f |\n",
                       methods[mi], bits[bi], res.map, res.map_tie, res.prec_radius, t_train, te,
                       tv);
            fflush(stdout);
        }
    }
    cli_progress_done();
    if (r == CLI_OK && !json) printf("\ntotal %.1f s\n", cli_now() - t0);
    l2h_groundtruth_free(gt);
    cli_data_free(&data);
    return r;
}
