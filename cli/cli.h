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
    CLI_DOUBLE, /* double, finite           */
    CLI_DOUBLE_POS,    /* double, finite and > 0  */
    CLI_DOUBLE_NONNEG, /* double, finite and >= 0 */
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
/* Whether the last cli_parse saw --name on the command line (an option given twice is a usage
 * error there, so "given" is unambiguous). Commands use it to refuse options that would be
 * ignored or that conflict. */
bool cli_given(const char *name);

/* Options in groups (data options, a command's own, a method's...): the parser joins them, so no
 * caller sizes an array by hand. CLI_COUNT(a) is the element count of a static array. */
typedef struct cli_group {
    const cli_opt *opts;
    size_t n;
} cli_group;
#define CLI_COUNT(a) (sizeof(a) / sizeof((a)[0]))
int cli_parse_groups(int argc, char **argv, const cli_group *groups, size_t n_groups,
                     const char *usage, const char *description, const char **pos, int max_pos,
                     int *n_pos);

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
    uint64_t split_seed;   /* seed of the split; CLI_SPLIT_SEED_SAME = --seed           */
} cli_data_opts;
#define CLI_SPLIT_SEED_SAME UINT64_MAX

#define CLI_DATA_N_OPTS 15
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
/* The seed the split is drawn with (--split-seed, else --seed). */
uint64_t cli_split_seed(const cli_data_opts *d);
/* Records the split options in the model ("train.split", "train.split_seed", ...). */
int cli_record_split(const cli_data_opts *d, l2h_model *m);
/* Before evaluating a model: takes the split the model records unless split options were given;
 * with given options whose query rows overlap the model's training rows, refuses (CLI_USAGE)
 * unless `force` (then a loud warning). Call after cli_data_load with the recorded split
 * applied, i.e. twice: cli_apply_recorded_split first, cli_check_split_leak after loading. */
void cli_apply_recorded_split(cli_data_opts *d, const l2h_model *m);
int cli_check_split_leak(const cli_data_opts *d, const l2h_model *m, const cli_data *data,
                         bool force);
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
/* The batch methods' own options, from the library's registry (cli_methods.c):
 * --<method>-<option> for every option of every method and the bare --<option> (hidden) for the
 * chosen method. */
typedef struct cli_method_opts {
    size_t n_opts;
    cli_opt *opts;                   /* [n_opts] the generated options                 */
    char **names, **helps;           /* [n_opts] their long names and help texts        */
    const char **values;             /* [n_opts] given value (NULL = not given)         */
    bool *flags;                     /* [n_opts] FLAG options given                     */
    bool *bare_of;                   /* [n_opts] the bare spelling                      */
    const l2h_method_info **method;  /* [n_opts]                                         */
    const l2h_option_info **option;  /* [n_opts]                                         */
} cli_method_opts;
int cli_method_opts_init(cli_method_opts *o);
void cli_method_opts_free(cli_method_opts *o);
cli_group cli_method_opts_group(const cli_method_opts *o);
/* CLI_USAGE (message printed) if an option given does not belong to `method`. */
int cli_method_opts_check(const cli_method_opts *o, const char *cmd, const char *method);
/* Sets the given options on the handle (CLI_ERR with the library's message). */
int cli_method_opts_apply(const cli_method_opts *o, const char *method, l2h_train_ctx *c);
/* "lsh|itq|mihash|..." from the registry (sgd_only: the methods trained by SGD) into buf. */
const char *cli_method_list(char *buf, size_t cap, bool sgd_only);
/* Whether `method` is registered (batch methods) and whether it is trained by SGD. */
bool cli_is_method(const char *method);
bool cli_is_learned_method(const char *method);

/* Options of the methods trained by SGD (network, optimiser, schedule), shared by train and
 * demo. */
typedef struct cli_mihash_opts {
    /* optimizer / schedule NULL and weight_decay < 0: the method's default (jmlh: Adam, constant
     * rate, no decay; others: SGD, step schedule, 5e-4) */
    const char *model, *hidden, *optimizer, *schedule, *log, *plot;
    size_t epochs, batch, lr_step, val_every;
    double lr, momentum, weight_decay, lr_gamma, last_lr_mult, val_fraction;
    bool nesterov;
    const struct cli_hashnet_opts *hashnet; /* HashNet outputs; NULL = none */
    /* deep-network regularisation (issue 16) */
    bool batch_norm, out_bn;
    double dropout;
    size_t shift;
} cli_mihash_opts;
#define CLI_MIHASH_N_OPTS 21
void cli_mihash_defaults(cli_mihash_opts *o);
void cli_mihash_options(cli_mihash_opts *o, cli_opt *opts);
/* HashNet's output side files (cli_hashnet.c). */
typedef struct cli_hashnet_opts {
    const char *hist, *hist_plot;
} cli_hashnet_opts;
#define CLI_HASHNET_N_OPTS 2
void cli_hashnet_defaults(cli_hashnet_opts *o);
void cli_hashnet_options(cli_hashnet_opts *o, cli_opt *opts);
/* With --hist: the histogram of |tanh(β_final·z)| of the training rows as CSV (and PNG). */
int cli_hashnet_hist(const cli_hashnet_opts *o, const l2h_model *m, const l2h_dataset *train);
/* Trains any registered batch method on `train` (a progress bar and the --log / --plot outputs
 * for the methods trained by SGD); o: the SGD settings (NULL = defaults), mo: the method's own
 * options (NULL = defaults); center / l2_normalize < 0: the method's default. */
/* Before loading data: `method` is registered, the options given are its own, and every
 * setting that does not depend on the data is valid (CLI_USAGE with the reason otherwise). */
int cli_check_method(const char *cmd, const char *method, const cli_mihash_opts *o,
                     const cli_method_opts *mo, size_t bits);
int cli_train_method(const char *method, const cli_mihash_opts *o, const cli_method_opts *mo,
                     const l2h_dataset *train, size_t bits, uint64_t seed, int center,
                     int l2_normalize, l2h_model **out);
/* Parses "16,32,64" into bits[] (at most max). */
int cli_parse_bits_list(const char *cmd, const char *s, size_t *bits, size_t max, size_t *n);

/* Renders `script` (gnuplot commands after the terminal/output lines) to the PNG `png`. gnuplot
 * runs without a shell (fork/exec), the script goes to its standard input, and no script file is
 * left behind. Returns CLI_OK, or CLI_ERR with the real cause on stderr. */
int cli_gnuplot(const char *png, const char *script);
/* Escapes s for a single-quoted gnuplot string (a ' is written ''); refuses control characters
 * (a newline would end the command). CLI_OK, or CLI_USAGE with a message naming `what`. */
int cli_gp_escape(const char *what, const char *s, char *out, size_t cap);

/* ---- side files and stdout (cli_output.c) ---------------------------------------------- */
/* Opens a side file for writing (CSV logs, curves, histograms); NULL with a message. */
FILE *cli_out_open(const char *path);
/* Closes it, checking every buffered write and the close: CLI_OK or CLI_ERR with a message. */
int cli_out_close(FILE *f);
/* At exit: flushes and closes stdout (a write failure makes rc 1), then removes the side files
 * of a failed command (no empty or partial file is left behind) or keeps them. Returns rc. */
int cli_finish_stdout(int rc);
/* Escapes s as the contents of a JSON string (quotes, backslashes, control characters) into
 * out (cap bytes, truncated with "..." if too long); returns out. */
const char *cli_json_escape(const char *s, char *out, size_t cap);
#define CLI_JSON_PATH_CAP (6 * 4096 + 8) /* room for any escaped path */

/* ---- HTML report of query results (cli_report.c), for search and eval ----------------- */
typedef struct cli_report_opts {
    const char *html;         /* --report FILE.html (NULL: no report)          */
    const char *images;       /* --images PATHS.txt: image of each (db) row    */
    const char *query_images; /* --query-images PATHS.txt (search)             */
    size_t n_queries;         /* --report-queries (8)                          */
    size_t k;                 /* results per query shown (eval: 10)            */
} cli_report_opts;
#define CLI_REPORT_N_OPTS 4
void cli_report_defaults(cli_report_opts *o);
void cli_report_options(cli_report_opts *o, cli_opt *opts);
typedef struct cli_paths {
    char **v;
    size_t n;
} cli_paths;
int cli_paths_read(const char *file, cli_paths *out);
void cli_paths_free(cli_paths *p);
typedef struct cli_report_data {
    const char *title, *subtitle;
    size_t nq, k;                 /* queries with results, results per query          */
    const l2h_id *ids;            /* nq x k database ids (-1 = none)                  */
    const int32_t *dist;          /* nq x k Hamming distances                         */
    const cli_paths *q_paths, *db_paths;
    const size_t *q_rows, *db_rows; /* row of query q / database id in the path lists (NULL = same) */
    const int32_t *q_labels, *db_labels; /* NULL: relevance unknown                   */
} cli_report_data;
int cli_report_write(const cli_report_opts *o, const cli_report_data *d);
/* Single labels for n rows from any label file l2h reads (caller frees). */
int cli_report_labels(const char *path, size_t n, int32_t **out);
int cli_report_search(const cli_report_opts *o, const char *q_labels_path,
                      const char *db_labels_path, size_t nq, size_t n_db, size_t k,
                      const l2h_id *ids, const int32_t *dist);
int cli_report_eval(const cli_report_opts *o, const l2h_model *m, const cli_data *data,
                    double map);

/* commands */
/* --model of `index` and `search` (cli_fingerprint.c): the model's fingerprint, and a check
 * that an index holds codes of that model (a warning when the index records none). */
int cli_model_fingerprint(const char *model_path, uint8_t fp[L2H_FINGERPRINT_BYTES]);
int cli_check_model(const l2h_index *idx, const char *model_path, const char *what);

int cmd_train(int argc, char **argv);
int cmd_encode(int argc, char **argv);
int cmd_search(int argc, char **argv);
int cmd_index(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_stream(int argc, char **argv);
int cmd_mi(int argc, char **argv);
int cmd_features(int argc, char **argv);
int cmd_finetune(int argc, char **argv); /* cmd_finetune.c */

#endif
