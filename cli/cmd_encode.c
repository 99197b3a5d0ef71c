/* cmd_encode.c -- `l2h encode`: apply a model to data, write packed codes as .npy. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

int cmd_encode(int argc, char **argv)
{
    cli_data_opts d;
    cli_data_defaults(&d);
    d.split = NULL; /* not given: none for --rows all, else split 1 */
    const char *model_path = NULL, *output = NULL, *rows = "all";
    cli_opt data_opts[CLI_DATA_N_OPTS];
    cli_data_options(&d, data_opts);
    const cli_opt own[] = {
        {"model", 'm', CLI_STR, &model_path, "FILE", "model file (required)"},
        {"output", 'o', CLI_STR, &output, "FILE", "codes .npy to write (uint8, n x ceil(bits/8))"},
        {"rows", 0, CLI_STR, &rows, "all|train|query|db",
         "which rows of the split to encode (all)"},
    };
    const cli_group groups[] = {{data_opts, CLI_DATA_N_OPTS}, {own, CLI_COUNT(own)}};
    int r = cli_parse_groups(argc, argv, groups, CLI_COUNT(groups),
                      "l2h encode --model MODEL --output CODES.npy [--rows R] [data options]",
                      "Encodes rows with a model (LSH, ITQ or a learned model) and writes the "
                      "packed codes as a uint8 .npy file: bit j of a code\nis bit j%8 of byte "
                      "j/8, least significant first (FAISS's layout). By default every row of the "
                      "data is encoded (--split none);\nwith --rows train|query|db the split "
                      "defaults to 1.",
                      NULL, 0, NULL);
    if (r != CLI_OK) return r == CLI_HELP ? CLI_OK : r;
    if (!model_path) return cli_usage_error("encode", "--model is required");
    if (!output) return cli_usage_error("encode", "--output is required");
    const bool all = strcmp(rows, "all") == 0;
    if (!all && strcmp(rows, "train") && strcmp(rows, "query") && strcmp(rows, "db"))
        return cli_usage_error("encode", "--rows must be all, train, query or db");
    if (!d.split) d.split = all ? "none" : "1";
    if (!all && strcmp(d.split, "none") == 0)
        return cli_usage_error("encode", "--rows %s needs a split, not --split none", rows);

    l2h_model *m = NULL;
    l2h_status st = l2h_model_load(&m, model_path);
    if (st != L2H_OK) return cli_fail(st, "loading the model");
    cli_data data;
    cli_progress("encode: loading %s", d.data);
    r = cli_data_load(&d, false, &data);
    const l2h_dataset *ds = NULL;
    if (r == CLI_OK) {
        ds = all ? (data.split ? data.all : data.train)
             : strcmp(rows, "train") == 0 ? data.train
             : strcmp(rows, "query") == 0 ? data.query
                                          : data.db;
        if (l2h_dataset_dim(ds) != l2h_model_dim(m)) {
            fprintf(stderr, "l2h: error: the model expects %zu features per row, the data has "
                            "%zu\n", l2h_model_dim(m), l2h_dataset_dim(ds));
            r = CLI_ERR;
        }
    }
    uint8_t *codes = NULL;
    if (r == CLI_OK) {
        const size_t n = l2h_dataset_n(ds), bits = l2h_model_bits(m);
        codes = malloc(n * l2h_code_bytes(bits) + 1);
        cli_progress("encode: %zu rows, %zu bits", n, bits);
        const double t0 = cli_now();
        st = codes ? l2h_model_encode(m, l2h_dataset_features(ds), n, codes) : L2H_ERR_NOMEM;
        if (st == L2H_OK) st = l2h_codes_write_npy(output, codes, n, bits);
        cli_progress_done();
        if (st != L2H_OK) r = cli_fail(st, "encoding");
        else
            fprintf(stderr, "encoded %zu rows to %zu-bit codes in %.2f s -> %s\n", n, bits,
                    cli_now() - t0, output);
    }
    free(codes);
    cli_data_free(&data);
    l2h_model_free(m);
    return r;
}
