/* cli_hashnet.c -- HashNet's side output of `l2h train`: the histogram of |tanh(β·z)| of the
 * training rows at the end of training (--hist CSV, --hist-plot PNG), the data of the seed's
 * Figure 7 (docs/hashnet.md). HashNet's settings are registry options (cli_methods.c). */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HIST_BINS 20

void cli_hashnet_defaults(cli_hashnet_opts *o) { memset(o, 0, sizeof *o); }

void cli_hashnet_options(cli_hashnet_opts *o, cli_opt *opts)
{
    const cli_opt own[CLI_HASHNET_N_OPTS] = {
        {"hist", 0, CLI_STR, &o->hist, "CSV",
         "hashnet: histogram of |tanh(β·z)| of the training rows after training"},
        {"hist-plot", 0, CLI_STR, &o->hist_plot, "PNG", "hashnet: plot of the --hist data"},
    };
    memcpy(opts, own, sizeof own);
}

int cli_hashnet_hist(const cli_hashnet_opts *o, const l2h_model *m, const l2h_dataset *train)
{
    if (!o->hist) return o->hist_plot ? cli_usage_error("train", "--hist-plot needs --hist") : 0;
    const size_t n = l2h_dataset_n(train), bits = l2h_model_bits(m);
    const char *bs = l2h_model_meta(m, "hashnet_beta_final");
    const double beta = *bs ? atof(bs) : 1.0;
    float *z = malloc(n * bits * sizeof *z + 1);
    if (!z) {
        fprintf(stderr, "l2h: error: out of memory for the histogram\n");
        return CLI_ERR;
    }
    const l2h_status st = l2h_model_forward(m, l2h_dataset_features(train), n, z);
    if (st != L2H_OK) {
        free(z);
        return cli_fail(st, "histogram of the outputs");
    }
    double count[HIST_BINS] = {0};
    for (size_t k = 0; k < n * bits; k++) {
        const double a = fabs(tanh(beta * (double)z[k]));
        size_t b = (size_t)(a * HIST_BINS);
        count[b < HIST_BINS ? b : HIST_BINS - 1] += 1;
    }
    free(z);
    FILE *f = cli_out_open(o->hist);
    if (!f) return CLI_ERR;
    fprintf(f, "bin_lo,bin_hi,fraction,count\n");
    for (size_t b = 0; b < HIST_BINS; b++)
        fprintf(f, "%.3f,%.3f,%.6f,%.0f\n", (double)b / HIST_BINS, (double)(b + 1) / HIST_BINS,
                count[b] / (double)(n * bits), count[b]);
    if (cli_out_close(f) != CLI_OK) return CLI_ERR;
    if (!o->hist_plot) return CLI_OK;
    char qhist[8192], script[1024 + 8192];
    if (cli_gp_escape("--hist", o->hist, qhist, sizeof qhist) != CLI_OK) return CLI_USAGE;
    snprintf(script, sizeof script,
             "set datafile separator ','\nset grid\nset style fill solid 0.6\n"
             "set title '%s, %zu bits: |tanh(beta z)| of the training outputs, beta = %.3g'\n"
             "set xlabel '|output| before binarisation'\nset ylabel 'fraction'\n"
             "set xrange [0:1]\nset boxwidth %.3f\n"
             "plot '%s' every ::1 using (($1 + $2) / 2):3 with boxes notitle",
             l2h_model_method(m), bits, beta, 1.0 / HIST_BINS, qhist);
    return cli_gnuplot(o->hist_plot, script);
}
