/* cmd_mi.c -- `l2h mi`: the MI quality measure (MIHash seed eqs. 2-6) of a model's codes, or of
 * a code file, on a labelled set of the chosen split; optionally the neighbour / non-neighbour
 * Hamming distance distributions (the seed's Figure 6) as CSV and a gnuplot PNG, with a second
 * model (e.g. the untrained initialisation) drawn beside it. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static int codes_of_model(const char *path, const l2h_dataset *set, size_t *bits,
                          uint8_t **codes)
{
    l2h_model *m;
    l2h_status st = l2h_model_load(&m, path);
    if (st != L2H_OK) return cli_fail(st, path);
    *bits = l2h_model_bits(m);
    const size_t n = l2h_dataset_n(set);
    *codes = malloc(n * l2h_code_bytes(*bits) + 1);
    st = *codes ? l2h_model_encode(m, l2h_dataset_features(set), n, *codes) : L2H_ERR_NOMEM;
    l2h_model_free(m);
    return st == L2H_OK ? CLI_OK : cli_fail(st, "encoding");
}

static int codes_of_file(const char *path, const l2h_dataset *set, size_t bits, uint8_t **codes)
{
    size_t n, bytes;
    l2h_status st = l2h_codes_npy_shape(path, &n, &bytes);
    if (st != L2H_OK) return cli_fail(st, path);
    if (n != l2h_dataset_n(set) || bytes != l2h_code_bytes(bits)) {
        fprintf(stderr, "l2h: error: %s holds %zu codes of %zu bytes; the set has %zu rows and "
                        "--bits %zu needs %zu bytes\n",
                path, n, bytes, l2h_dataset_n(set), bits, l2h_code_bytes(bits));
        return CLI_ERR;
    }
    *codes = malloc(n * bytes + 1);
    if (!*codes) return cli_fail(L2H_ERR_NOMEM, "codes");
    st = l2h_codes_read_npy(path, *codes, n, bytes);
    return st == L2H_OK ? CLI_OK : cli_fail(st, path);
}

int cmd_mi(int argc, char **argv)
{
    cli_data_opts d;
    cli_data_defaults(&d);
    const char *model = NULL, *codes_path = NULL, *before = NULL, *set_name = "query";
    const char *hist = NULL, *plot = NULL;
    size_t bits = 0;
    bool json = false;
    cli_opt data_opts[CLI_DATA_N_OPTS];
    cli_data_options(&d, data_opts);
    const cli_opt own[] = {
        {"model", 'M', CLI_STR, &model, "FILE", "model whose codes are measured"},
        {"codes", 'c', CLI_STR, &codes_path, "FILE.npy", "or: packed codes of the set's rows"},
        {"bits", 'b', CLI_SIZE, &bits, "B", "code length of --codes"},
        {"set", 0, CLI_STR, &set_name, "query|train|db", "labelled rows to measure on (query)"},
        {"before", 0, CLI_STR, &before, "FILE", "second model drawn beside (e.g. untrained)"},
        {"hist", 0, CLI_STR, &hist, "CSV", "distance distributions of (non-)neighbour pairs"},
        {"plot", 0, CLI_STR, &plot, "PNG", "plot of --hist (gnuplot)"},
        {"json", 0, CLI_FLAG, &json, NULL, "print the result as JSON"},
    };
    const cli_group groups[] = {{data_opts, CLI_DATA_N_OPTS}, {own, CLI_COUNT(own)}};
    int r = cli_parse_groups(argc, argv, groups, CLI_COUNT(groups),
                      "l2h mi --model MODEL | --codes C.npy --bits B [--hist CSV] [data options]",
                      "MI quality of binary codes on a labelled set: mean over anchors of the "
                      "mutual information between the Hamming distance to another item and "
                      "whether it is a neighbour (same label), in bits; self pairs excluded.",
                      NULL, 0, NULL);
    if (r != CLI_OK) return r == CLI_HELP ? CLI_OK : r;
    if (!model == !codes_path) return cli_usage_error("mi", "give exactly one of --model, --codes");
    if (codes_path && (bits == 0 || bits > 64 * 64))
        return cli_usage_error("mi", "--codes needs --bits");
    if (plot && !hist) return cli_usage_error("mi", "--plot needs --hist");
    if (before && !model) return cli_usage_error("mi", "--before needs --model");
    cli_data data;
    r = cli_data_load(&d, strcmp(set_name, "train") != 0, &data);
    if (r != CLI_OK) {
        cli_data_free(&data);
        return r;
    }
    const l2h_dataset *set = !strcmp(set_name, "train") ? data.train
                             : !strcmp(set_name, "db")  ? data.db
                                                        : data.query;
    if (!set || (strcmp(set_name, "train") && strcmp(set_name, "db") && strcmp(set_name, "query"))) {
        cli_data_free(&data);
        return cli_usage_error("mi", "--set must be query, train or db (with a split)");
    }
    uint8_t *codes = NULL, *codes0 = NULL;
    size_t bits0 = 0;
    r = model ? codes_of_model(model, set, &bits, &codes) : codes_of_file(codes_path, set, bits,
                                                                          &codes);
    if (r == CLI_OK && before) r = codes_of_model(before, set, &bits0, &codes0);
    if (r == CLI_OK && before && bits0 != bits) {
        fprintf(stderr, "l2h: error: --before has %zu bits, the model %zu\n", bits0, bits);
        r = CLI_ERR;
    }
    const size_t n = l2h_dataset_n(set);
    double q = 0, q0 = 0;
    double *h = calloc(2 * (bits + 1), sizeof *h), *h0 = calloc(2 * (bits + 1), sizeof *h0);
    if (r == CLI_OK && (!h || !h0)) r = cli_fail(L2H_ERR_NOMEM, "histograms");
    if (r == CLI_OK) {
        const l2h_status st = l2h_mi_quality_codes(codes, n, bits, set, &q, h);
        if (st != L2H_OK) r = cli_fail(st, "MI quality");
    }
    if (r == CLI_OK && before) {
        const l2h_status st = l2h_mi_quality_codes(codes0, n, bits, set, &q0, h0);
        if (st != L2H_OK) r = cli_fail(st, "MI quality");
    }
    if (r == CLI_OK && hist) {
        FILE *f = cli_out_open(hist);
        if (!f) {
            r = CLI_ERR;
        } else {
            double s[4] = {0};
            for (size_t k = 0; k <= bits; k++) {
                s[0] += h[k];
                s[1] += h[bits + 1 + k];
                s[2] += h0[k];
                s[3] += h0[bits + 1 + k];
            }
            for (int i = 0; i < 4; i++) s[i] = s[i] > 0 ? s[i] : 1;
            fprintf(f, "distance,neighbours,non_neighbours,neighbours_before,"
                       "non_neighbours_before\n");
            for (size_t k = 0; k <= bits; k++)
                fprintf(f, "%zu,%.6g,%.6g,%.6g,%.6g\n", k, h[k] / s[0], h[bits + 1 + k] / s[1],
                        h0[k] / s[2], h0[bits + 1 + k] / s[3]);
            r = cli_out_close(f);
        }
    }
    if (r == CLI_OK) {
        if (json)
            printf("{\"mi\": %.6f, \"mi_before\": %s%.6f, \"bits\": %zu, \"rows\": %zu}\n", q,
                   "", before ? q0 : -1.0, bits, n);
        else if (before)
            printf("MI quality on %zu %s rows, %zu bits: %.4f (before: %.4f)\n", n, set_name, bits,
                   q, q0);
        else
            printf("MI quality on %zu %s rows, %zu bits: %.4f\n", n, set_name, bits, q);
    }
    if (r == CLI_OK && plot) {
        char qhist[8192], script[2048 + 8192];
        if (cli_gp_escape("--hist", hist, qhist, sizeof qhist) != CLI_OK) r = CLI_USAGE;
        int len = r != CLI_OK ? -1 : snprintf(
            script, sizeof script,
            "set datafile separator ','\nset key top right\nset grid\nset style fill "
            "transparent solid 0.35\nset title 'Hamming distances on the %s set, %zu bits: MI "
            "%.3f%s'\nset xlabel 'Hamming distance'\nset ylabel 'fraction of pairs'\n"
            "plot '%s' every ::1 using 1:2 with boxes lc rgb '#1f77b4' title 'neighbours', "
            "'' every ::1 using 1:3 with boxes lc rgb '#d62728' title 'non-neighbours'",
            set_name, bits, q, before ? " (after training)" : "", qhist);
        if (before && len > 0 && (size_t)len < sizeof script)
            snprintf(script + len, sizeof script - (size_t)len,
                     ", '' every ::1 using 1:4 with linespoints lw 2 lc rgb '#1f77b4' dt 2 "
                     "title 'neighbours, before (MI %.3f)', '' every ::1 using 1:5 with "
                     "linespoints lw 2 lc rgb '#d62728' dt 2 title 'non-neighbours, before'",
                     q0);
        if (r == CLI_OK) r = cli_gnuplot(plot, script);
    }
    free(h);
    free(h0);
    free(codes);
    free(codes0);
    cli_data_free(&data);
    return r;
}
