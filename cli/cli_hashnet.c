/* cli_hashnet.c -- the HashNet options of `l2h train` / `l2h demo` (--alpha, --weighting,
 * --beta-schedule, --beta-stages, --no-continuation, --self-pairs) and the histogram of
 * |tanh(β·z)| of the training rows at the end of training (--hist CSV, --hist-plot PNG): the
 * data of the seed's Figure 7. docs/hashnet.md. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HIST_BINS 20

void cli_hashnet_defaults(cli_hashnet_opts *o)
{
    memset(o, 0, sizeof *o);
    o->weighting = "batch";
}

void cli_hashnet_options(cli_hashnet_opts *o, cli_opt *opts)
{
    const cli_opt own[CLI_HASHNET_N_OPTS] = {
        {"alpha", 0, CLI_DOUBLE, &o->alpha, "A", "hashnet: sigmoid parameter α (0 = 10/bits)"},
        {"weighting", 0, CLI_STR, &o->weighting, "batch|none|C",
         "hashnet: pair weights |S|/|S1|, |S|/|S0| per batch; none (HashNet-W); or similar "
         "pairs weigh C (batch)"},
        {"beta-schedule", 0, CLI_STR, &o->beta_schedule, "G,P,S",
         "hashnet: β = (1 + G·t)^P, t stepped every S iterations (0.005,0.5,200)"},
        {"beta-stages", 0, CLI_STR, &o->beta_stages, "B1,B2,..",
         "hashnet: explicit β stages, equal shares of the epochs"},
        {"no-continuation", 0, CLI_FLAG, &o->no_continuation, NULL,
         "hashnet: β = 1 throughout (HashNet-C)"},
        {"self-pairs", 0, CLI_FLAG, &o->self_pairs, NULL, "hashnet: include the pairs (i, i)"},
        {"hist", 0, CLI_STR, &o->hist, "CSV",
         "hashnet: histogram of |tanh(β·z)| of the training rows after training"},
        {"hist-plot", 0, CLI_STR, &o->hist_plot, "PNG", "hashnet: plot of the --hist data"},
    };
    memcpy(opts, own, sizeof own);
}

/* Up to max numbers separated by commas. */
static int parse_list(const char *what, const char *s, double *v, size_t max, size_t *n)
{
    *n = 0;
    for (const char *p = s; *p;) {
        char *end;
        const double x = strtod(p, &end);
        if (end == p || *n >= max || (*end && *end != ','))
            return cli_usage_error("train", "%s: bad list '%s' (at most %zu numbers)", what, s,
                                   max);
        v[(*n)++] = x;
        p = *end ? end + 1 : end;
    }
    return *n ? CLI_OK : cli_usage_error("train", "%s: empty list", what);
}

int cli_hashnet_apply(const cli_hashnet_opts *o, l2h_train_params *p)
{
    l2h_hashnet_options *h = &p->hashnet;
    h->alpha = o->alpha;
    if (!strcmp(o->weighting, "batch"))
        h->weighting = L2H_HASHNET_WEIGHT_BATCH;
    else if (!strcmp(o->weighting, "none"))
        h->weighting = L2H_HASHNET_WEIGHT_NONE;
    else {
        char *end;
        h->weighting = L2H_HASHNET_WEIGHT_CONST;
        h->weight = strtod(o->weighting, &end);
        if (end == o->weighting || *end || !(h->weight > 0) || !isfinite(h->weight))
            return cli_usage_error("train", "--weighting must be batch, none or a weight > 0");
    }
    h->continuation = !o->no_continuation;
    h->self_pairs = o->self_pairs;
    if (o->beta_schedule && o->beta_stages)
        return cli_usage_error("train", "give --beta-schedule or --beta-stages, not both");
    if (o->beta_schedule) {
        double v[3];
        size_t n;
        const int r = parse_list("--beta-schedule", o->beta_schedule, v, 3, &n);
        if (r != CLI_OK) return r;
        if (n != 3 || !(v[2] >= 1) || v[2] != floor(v[2]))
            return cli_usage_error("train", "--beta-schedule needs gamma,power,step (step >= 1)");
        h->beta_gamma = v[0];
        h->beta_power = v[1];
        h->beta_step = (size_t)v[2];
        h->n_beta_stages = 0;
    }
    if (o->beta_stages) {
        const int r =
            parse_list("--beta-stages", o->beta_stages, h->beta_stages,
                       sizeof h->beta_stages / sizeof h->beta_stages[0], &h->n_beta_stages);
        if (r != CLI_OK) return r;
    }
    return CLI_OK;
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
