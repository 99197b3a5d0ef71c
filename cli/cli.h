/* cli.h -- shared pieces of the l2h command-line tool: option parsing, data loading with the
 * evaluation protocols, output formatting, progress on stderr. The CLI uses the public API only. */
#ifndef L2H_CLI_H
#define L2H_CLI_H

#include <l2h/l2h.h>

#include <stdbool.h>
#include <stdio.h>

/* exit codes */
enum { CLI_OK = 0, CLI_ERR = 1, CLI_USAGE = 2, CLI_HELP = -1 };

typedef enum cli_opt_type {
    CLI_FLAG,   /* bool, no value           */
    CLI_STR,    /* const char *             */
    CLI_SIZE,   /* size_t (non-negative)    */
    CLI_U64,    /* uint64_t                 */
    CLI_DOUBLE, /* double                   */
    CLI_INT     /* int                      */
} cli_opt_type;

typedef struct cli_opt {
    const char *name;   /* long name without "--" */
    char short_name;    /* 0 if none */
    cli_opt_type type;
    void *dest;
    const char *metavar;
    const char *help;
} cli_opt;

typedef struct cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} cli_command;

/* Parses argv[1..] (argv[0] is the command name). Options may be given as --name value or
 * --name=value; "--" ends options. Positional arguments are collected into pos (at most max_pos).
 * Returns CLI_OK, CLI_USAGE (message printed) or CLI_HELP (help printed to stdout). */
int cli_parse(int argc, char **argv, const cli_opt *opts, size_t n_opts, const char *usage,
              const char *description, const char **pos, int max_pos, int *n_pos);

/* Prints "l2h: error: <what>: <l2h_last_error()>" and returns CLI_ERR. */
int cli_fail(l2h_status st, const char *what);
int cli_usage_error(const char *cmd, const char *fmt, ...);

/* ---- data and protocol options shared by train / encode / eval / demo ------------------- */
typedef struct cli_data_opts {
    const char *data;      /* named dataset or file path                          */
    const char *format;    /* reader format name, NULL = by extension             */
    size_t dim;            /* row length for headerless formats                   */
    const char *labels;    /* labels file                                         */
    size_t n_labels;       /* ARFF: trailing 0/1 label columns                    */
    const char *split;     /* "1", "2", "random", "none"                          */
    size_t q_per_class;    /* split 1                                             */
    size_t t_per_class;    /* split 1                                             */
    size_t n_query;        /* split random                                        */
    size_t n_train;        /* split random                                        */
    size_t test_from;      /* split 2 for files: first test row                    */
    const char *gt;        /* "labels" (default when labelled) or "euclidean"      */
    double percentile;     /* euclidean ground truth percentile                    */
    uint64_t seed;
} cli_data_opts;

#define CLI_DATA_N_OPTS 14
void cli_data_defaults(cli_data_opts *d);
/* Fills opts[0..CLI_DATA_N_OPTS) with the shared data options bound to d. */
void cli_data_options(cli_data_opts *d, cli_opt *opts);

typedef struct cli_data {
    l2h_dataset *all;
    l2h_split *split;   /* NULL with --split none */
    l2h_dataset *train; /* training rows (all rows with --split none) */
    l2h_dataset *query; /* NULL with --split none */
    l2h_dataset *db;    /* NULL with --split none */
    size_t n_train_named; /* rows before the official test part, 0 if unknown */
    char description[256];
} cli_data;

int cli_data_load(const cli_data_opts *d, bool need_split, cli_data *out);
void cli_data_free(cli_data *d);
/* Ground truth between query and db according to the options. */
int cli_groundtruth(const cli_data_opts *d, const cli_data *data, l2h_groundtruth **gt);

/* ---- output --------------------------------------------------------------------------- */
bool cli_stderr_tty(void);
/* A progress line on stderr: redrawn in place on a terminal, plain lines otherwise. */
void cli_progress(const char *fmt, ...);
void cli_progress_done(void);
double cli_now(void);

/* Encodes queries and database with the model and evaluates them. Times in seconds. */
int cli_evaluate_model(const l2h_model *m, const cli_data *data, const l2h_groundtruth *gt,
                       const l2h_eval_params *ep, l2h_eval_result *res, double *t_encode,
                       double *t_eval);
/* Trains a baseline ("lsh" or "itq") on data->train. */
int cli_train_baseline(const char *method, const l2h_dataset *train,
                       const l2h_baseline_params *bp, l2h_model **out);
/* Options of the learned methods (network, optimiser, schedule, method settings), shared by
 * train and demo. */
typedef struct cli_mihash_opts {
    /* optimizer / schedule NULL and weight_decay < 0: the method's default (jmlh: Adam, constant
     * rate, no decay; others: SGD, step schedule, 5e-4) */
    const char *model, *hidden, *optimizer, *schedule, *log, *plot, *jmlh_variant;
    size_t epochs, batch, lr_step, bins, val_every;
    double lr, momentum, weight_decay, lr_gamma, last_lr_mult, scale, val_fraction, gamma;
    bool nesterov, deterministic;
    const struct cli_hashnet_opts *hashnet; /* HashNet settings; NULL = defaults */
    /* deep-network regularisation and graded MIHash (issue 16) */
    bool batch_norm, out_bn;
    double dropout;
    size_t shift, mi_grades;
} cli_mihash_opts;
#define CLI_MIHASH_N_OPTS 27
void cli_mihash_defaults(cli_mihash_opts *o);
void cli_mihash_options(cli_mihash_opts *o, cli_opt *opts);
/* HashNet's own options (cli_hashnet.c). */
typedef struct cli_hashnet_opts {
    double alpha;
    const char *weighting, *beta_schedule, *beta_stages, *hist, *hist_plot;
    bool no_continuation, self_pairs;
} cli_hashnet_opts;
#define CLI_HASHNET_N_OPTS 8
void cli_hashnet_defaults(cli_hashnet_opts *o);
void cli_hashnet_options(cli_hashnet_opts *o, cli_opt *opts);
/* Sets p->hashnet from the options; CLI_OK or CLI_USAGE. */
int cli_hashnet_apply(const cli_hashnet_opts *o, l2h_train_params *p);
/* With --hist: the histogram of |tanh(β_final·z)| of the training rows as CSV (and PNG). */
int cli_hashnet_hist(const cli_hashnet_opts *o, const l2h_model *m, const l2h_dataset *train);
/* Whether `method` is one of the learned methods l2h_train knows (mihash, ...). */
bool cli_is_learned_method(const char *method);
/* Trains a learned method with a progress bar (and the --log / --plot outputs). */
int cli_train_learned(const char *method, const cli_mihash_opts *o, const l2h_dataset *train,
                      size_t bits, uint64_t seed, int center, int l2_normalize, l2h_model **out);
/* Parses "16,32,64" into bits[] (at most max). */
int cli_parse_bits_list(const char *cmd, const char *s, size_t *bits, size_t max, size_t *n);

/* Renders `script` (gnuplot commands after the terminal/output lines) to the PNG `png`. */
int cli_gnuplot(const char *png, const char *script);

/* commands */
int cmd_train(int argc, char **argv);
int cmd_encode(int argc, char **argv);
int cmd_search(int argc, char **argv);
int cmd_index(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_stream(int argc, char **argv);
int cmd_mi(int argc, char **argv);

#endif
