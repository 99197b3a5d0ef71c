/* cli_fingerprint.c -- `--model` on the index and search commands: which model made the codes
 * (l2h_model_fingerprint, include/l2h/index.h). */
#include "cli.h"

#include <stdio.h>

int cli_model_fingerprint(const char *model_path, uint8_t fp[L2H_FINGERPRINT_BYTES])
{
    l2h_model *m = NULL;
    l2h_status st = l2h_model_load(&m, model_path);
    if (st != L2H_OK) return cli_fail(st, "loading the model");
    st = l2h_model_fingerprint(m, fp);
    l2h_model_free(m);
    return st == L2H_OK ? CLI_OK : cli_fail(st, "fingerprinting the model");
}

int cli_check_model(const l2h_index *idx, const char *model_path, const char *what)
{
    uint8_t fp[L2H_FINGERPRINT_BYTES];
    int r = cli_model_fingerprint(model_path, fp);
    if (r != CLI_OK) return r;
    if (!l2h_index_fingerprint(idx, NULL)) {
        fprintf(stderr, "l2h: warning: the index records no model (built without --model, or "
                        "by a library before index format 2): %s not checked against %s\n",
                what, model_path);
        return CLI_OK;
    }
    const l2h_status st = l2h_index_check_fingerprint(idx, fp, what);
    if (st == L2H_OK) return CLI_OK;
    fprintf(stderr, "l2h: error: %s (model file %s)\n", l2h_last_error(), model_path);
    return CLI_ERR;
}
