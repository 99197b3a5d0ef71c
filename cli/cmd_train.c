/* cmd_train.c -- `l2h train`: learn a hash function on the training split, save it. */
#include "cli.h"

#include <string.h>

int cli_train_baseline(const char *method, const l2h_dataset *train,
                       const l2h_baseline_params *bp, l2h_model **out)
{
    l2h_status st;
    if (strcmp(method, "lsh") == 0) st = l2h_lsh_train(out, train, bp);
    else if (strcmp(method, "itq") == 0) st = l2h_itq_train(out, train, bp);
    else {
        fprintf(stderr, "l2h: error: unknown method '%s' (lsh or itq)\n", method);
        return CLI_USAGE;
    }
    if (st != L2H_OK) return cli_fail(st, method);
    return CLI_OK;
}

int cmd_train(int argc, char **argv)
{
    cli_data_opts d;
    cli_data_defaults(&d);
    const char *method = NULL, *output = NULL;
    size_t bits = 32, max_train = 0, itq_iters = 50;
    bool no_center = false, l2norm = false, json = false;
    cli_opt opts[CLI_DATA_N_OPTS + 9];
    cli_data_options(&d, opts);
    const cli_opt own[] = {
        {"method", 'm', CLI_STR, &method, "lsh|itq", "hashing method (required)"},
        {"bits", 'b', CLI_SIZE, &bits, "B", "code length in bits (32)"},
        {"output", 'o', CLI_STR, &output, "FILE", "model file to write (safetensors; required)"},
        {"no-center", 0, CLI_FLAG, &no_center, NULL, "do not subtract the training mean"},
        {"l2-normalize", 0, CLI_FLAG, &l2norm, NULL, "scale rows to unit length after centring"},
        {"itq-iters", 0, CLI_SIZE, &itq_iters, "N", "ITQ rotation iterations (50)"},
        {"max-train", 0, CLI_SIZE, &max_train, "N", "use at most N training rows (0 = all)"},
        {"json", 0, CLI_FLAG, &json, NULL, "print the summary as JSON"},
    };
    memcpy(opts + CLI_DATA_N_OPTS, own, sizeof own);
    const size_t n_opts = CLI_DATA_N_OPTS + sizeof own / sizeof own[0];
    int r = cli_parse(argc, argv, opts, n_opts,
                      "l2h train --method lsh|itq --bits B --output MODEL [data options]",
                      "Learns a hash function from the training rows of the chosen split (or from "
                      "all rows with --split none) and writes it as a model file that\n"
                      "`l2h encode` and `l2h eval` apply.",
                      NULL, 0, NULL);
    if (r != CLI_OK) return r == CLI_HELP ? CLI_OK : r;
    if (!method) return cli_usage_error("train", "--method is required");
    if (!output) return cli_usage_error("train", "--output is required");

    cli_data data;
    const double t0 = cli_now();
    cli_progress("train: loading %s", d.data);
    r = cli_data_load(&d, false, &data);
    if (r != CLI_OK) {
        cli_progress_done();
        cli_data_free(&data);
        return r;
    }
    l2h_baseline_params bp = l2h_baseline_default_params(bits);
    bp.seed = d.seed;
    bp.center = !no_center;
    bp.l2_normalize = l2norm;
    bp.itq_iters = (unsigned)itq_iters;
    bp.max_train = max_train;
    cli_progress("train: %s, %zu bits, on %zu rows", method, bits, l2h_dataset_n(data.train));
    const double t1 = cli_now();
    l2h_model *m = NULL;
    r = cli_train_baseline(method, data.train, &bp, &m);
    const double t2 = cli_now();
    cli_progress_done();
    if (r == CLI_OK) {
        const l2h_status st = l2h_model_save(m, output);
        if (st != L2H_OK) r = cli_fail(st, "saving the model");
    }
    if (r == CLI_OK) {
        if (json)
            printf("{\"method\": \"%s\", \"bits\": %zu, \"dim\": %zu, \"train_rows\": %zu, "
                   "\"train_seconds\": %.3f, \"total_seconds\": %.3f, \"output\": \"%s\"}\n",
                   method, bits, l2h_model_dim(m), l2h_dataset_n(data.train), t2 - t1,
                   cli_now() - t0, output);
        else
            printf("trained %s, %zu bits, on %zu x %zu in %.2f s -> %s\n", method, bits,
                   l2h_dataset_n(data.train), l2h_model_dim(m), t2 - t1, output);
    }
    l2h_model_free(m);
    cli_data_free(&data);
    return r;
}
