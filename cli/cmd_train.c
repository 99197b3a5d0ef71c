/* cmd_train.c -- `l2h train`: learn a hash function on the training split, save it. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- options of the learned methods (network, optimiser, schedule, method settings) ----- */

void cli_mihash_defaults(cli_mihash_opts *o)
{
    memset(o, 0, sizeof *o);
    o->model = "linear";
    o->hidden = "1024";
    o->epochs = 50;
    o->batch = 100;
    o->optimizer = NULL; /* the method's: adam for jmlh, else sgd */
    o->lr = 0;           /* 0: 0.1 for SGD, 1e-3 for Adam */
    o->momentum = 0.9;
    o->weight_decay = -1; /* the method's: 0 for jmlh, else 5e-4 */
    o->schedule = NULL;   /* the method's: const for jmlh, else step */
    o->lr_step = 10;
    o->lr_gamma = 0.5;
    o->last_lr_mult = 0; /* 0: the method's default (hashnet 10, as its reference; else 1) */
    o->val_every = 1;
}

void cli_mihash_options(cli_mihash_opts *o, cli_opt *opts)
{
    const cli_opt own[CLI_MIHASH_N_OPTS] = {
        {"model", 0, CLI_STR, &o->model, "linear|mlp|cnn", "network of a learned method (linear)"},
        {"hidden", 0, CLI_STR, &o->hidden, "H1,H2", "MLP hidden sizes (1024)"},
        {"epochs", 0, CLI_SIZE, &o->epochs, "N", "training epochs of a learned method (50)"},
        {"batch", 0, CLI_SIZE, &o->batch, "N", "mini-batch size (100)"},
        {"optimizer", 0, CLI_STR, &o->optimizer, "sgd|adam", "optimiser (jmlh: adam, else sgd)"},
        {"lr", 0, CLI_DOUBLE_POS, &o->lr, "LR", "learning rate (0.1 sgd, 1e-3 adam)"},
        {"momentum", 0, CLI_DOUBLE_NONNEG, &o->momentum, "M", "SGD momentum (0.9)"},
        {"nesterov", 0, CLI_FLAG, &o->nesterov, NULL, "Nesterov momentum"},
        {"weight-decay", 0, CLI_DOUBLE_NONNEG, &o->weight_decay, "W",
         "L2 weight decay (jmlh: 0, else 5e-4)"},
        {"schedule", 0, CLI_STR, &o->schedule, "const|step|inv",
         "learning-rate schedule (jmlh: const, else step)"},
        {"lr-step", 0, CLI_SIZE, &o->lr_step, "N", "step schedule: epochs per decay (10)"},
        {"lr-gamma", 0, CLI_DOUBLE_POS, &o->lr_gamma, "G", "step factor / inv gamma (0.5)"},
        {"last-lr-mult", 0, CLI_DOUBLE_NONNEG, &o->last_lr_mult, "X",
         "last layer lr multiplier (0 = hashnet 10, others 1)"},
        {"val-fraction", 0, CLI_DOUBLE_NONNEG, &o->val_fraction, "F",
         "hold out F of the training rows for validation mAP (0)"},
        {"val-every", 0, CLI_SIZE, &o->val_every, "N", "validation every N epochs (1)"},
        {"log", 0, CLI_STR, &o->log, "CSV", "per-epoch loss / validation mAP log"},
        {"plot", 0, CLI_STR, &o->plot, "PNG", "plot of the --log data (gnuplot)"},
        {"batch-norm", 0, CLI_FLAG, &o->batch_norm, NULL,
         "mlp/cnn: batch normalisation after every hidden layer"},
        {"out-bn", 0, CLI_FLAG, &o->out_bn, NULL, "batch normalisation of the hash outputs"},
        {"dropout", 0, CLI_DOUBLE, &o->dropout, "P", "mlp/cnn: dropout rate after hidden fc (0)"},
        {"shift", 0, CLI_SIZE, &o->shift, "S",
         "28x28 images: random translations by up to S pixels in training (0)"},
    };
    memcpy(opts, own, sizeof own);
}

typedef struct progress_ctx {
    FILE *log;
    const char *what;
    bool has_aux; /* the method reports a second loss (HashNet: L(h)) */
} progress_ctx;

static int train_progress(const l2h_train_progress *p, void *user)
{
    progress_ctx *c = user;
    const double eta = p->epoch ? p->seconds / (double)p->epoch * (double)(p->epochs - p->epoch)
                                : 0.0;
    char val[48] = "";
    if (p->val_map >= 0) snprintf(val, sizeof val, ", val mAP %.4f", p->val_map);
    cli_progress("%s: epoch %zu/%zu, loss %.4f, %.0f ex/s, ETA %.0f s%s", c->what, p->epoch,
                 p->epochs, p->loss, p->examples_per_s, eta, val);
    if (c->log) {
        fprintf(c->log, "%zu,%.6f,", p->epoch, p->loss);
        if (p->val_map >= 0) fprintf(c->log, "%.6f,%.6f", p->val_map, p->val_map_tie);
        else fprintf(c->log, ",");
        fprintf(c->log, ",%.1f,%.3f,", p->examples_per_s, p->seconds);
        if (isfinite(p->loss_aux)) fprintf(c->log, "%.6f", p->loss_aux);
        fprintf(c->log, "\n");
        fflush(c->log);
    }
    if (isfinite(p->loss_aux)) c->has_aux = true;
    return 0;
}

bool cli_is_method(const char *method) { return l2h_train_method_find(method) != NULL; }

bool cli_is_learned_method(const char *method)
{
    const l2h_method_info *mi = l2h_train_method_find(method);
    return mi && mi->batch > 0;
}

/* Phase 1 of a learned method: the network / optimiser / schedule options into p. */
static int sgd_settings(const cli_mihash_opts *o, l2h_train_params *p)
{
    if (!strcmp(o->model, "linear")) p->net = L2H_NET_LINEAR;
    else if (!strcmp(o->model, "mlp")) p->net = L2H_NET_MLP;
    else if (!strcmp(o->model, "cnn")) p->net = L2H_NET_CNN;
    else return cli_usage_error("train", "--model must be linear, mlp or cnn");
    p->n_hidden = 0;
    for (const char *s = o->hidden; s && *s && p->n_hidden < 4;) {
        char *end;
        const unsigned long v = strtoul(s, &end, 10);
        if (end == s || v == 0) return cli_usage_error("train", "--hidden: bad list '%s'", o->hidden);
        p->hidden[p->n_hidden++] = v;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') return cli_usage_error("train", "--hidden: bad list '%s'", o->hidden);
    }
    /* options not given keep the method's defaults (l2h_train_method_params) */
    if (o->optimizer) {
        if (!strcmp(o->optimizer, "sgd")) p->optimizer = L2H_OPT_SGD;
        else if (!strcmp(o->optimizer, "adam")) p->optimizer = L2H_OPT_ADAM;
        else return cli_usage_error("train", "--optimizer must be sgd or adam");
    }
    if (o->schedule) {
        if (!strcmp(o->schedule, "const")) p->schedule = L2H_SCHED_CONST;
        else if (!strcmp(o->schedule, "step")) p->schedule = L2H_SCHED_STEP;
        else if (!strcmp(o->schedule, "inv")) p->schedule = L2H_SCHED_INV;
        else return cli_usage_error("train", "--schedule must be const, step or inv");
    }
    p->epochs = o->epochs;
    p->batch = o->batch;
    if (o->lr > 0) p->lr = o->lr;
    else if (o->optimizer) p->lr = p->optimizer == L2H_OPT_ADAM ? 1e-3 : 0.1;
    p->momentum = o->momentum;
    p->nesterov = o->nesterov;
    if (o->weight_decay >= 0) p->weight_decay = o->weight_decay;
    p->lr_step = o->lr_step;
    p->lr_gamma = o->lr_gamma;
    if (o->last_lr_mult > 0) p->last_lr_mult = o->last_lr_mult;
    p->val_fraction = o->val_fraction;
    p->val_every = o->val_every;
    p->batch_norm = o->batch_norm;
    p->out_bn = o->out_bn;
    p->dropout = o->dropout;
    p->shift = o->shift;
    return CLI_OK;
}

/* The handle of `method` with the command's settings and options (CLI_OK, CLI_USAGE, CLI_ERR). */
static int make_ctx(const char *method, const cli_mihash_opts *o, const cli_method_opts *mo,
                    size_t bits, uint64_t seed, int center, int l2_normalize,
                    progress_ctx *progress, l2h_train_ctx **c)
{
    *c = NULL;
    if (!cli_is_method(method)) {
        char list[256];
        return cli_usage_error("train", "unknown --method '%s' (%s)", method,
                               cli_method_list(list, sizeof list, false));
    }
    l2h_train_params p = l2h_train_method_params(method, bits);
    p.seed = seed;
    if (center >= 0) p.center = center;
    if (l2_normalize >= 0) p.l2_normalize = l2_normalize;
    if (o && cli_is_learned_method(method)) {
        const int r = sgd_settings(o, &p);
        if (r != CLI_OK) return r;
        if (progress) {
            p.callback = train_progress;
            p.user = progress;
        }
    }
    l2h_status st = l2h_train_create(c, &p);
    if (st != L2H_OK) return cli_fail(st, method);
    if (mo) {
        const int r = cli_method_opts_apply(mo, method, *c);
        if (r != CLI_OK) {
            l2h_train_free(*c);
            *c = NULL;
            return r;
        }
    }
    return CLI_OK;
}

/* After training a learned method: HashNet's histogram and the --plot of the --log. */
static int train_outputs(const char *method, const cli_mihash_opts *o, const l2h_model *m,
                         const l2h_dataset *train, size_t bits, bool has_aux)
{
    if (!strcmp(method, "hashnet") && o->hashnet) {
        const int r = cli_hashnet_hist(o->hashnet, m, train);
        if (r != CLI_OK) return r;
    }
    if (!o->plot) return CLI_OK;
    /* the plot is an extra: its failure is a warning with its cause, and the model is still
     * saved (the caller saves it after this returns) */
    char qlog[8192], script[2048 + 8192];
    if (cli_gp_escape("--log", o->log, qlog, sizeof qlog) != CLI_OK) return CLI_USAGE;
    /* HashNet: J(g) on tanh(βz) and L(h) on the sign codes (the seed's Figure 6) */
    /* without --val-fraction the log has no validation column to draw (gnuplot would refuse an
     * all-undefined series) */
    const char *val = o->val_fraction > 0
                          ? ", '' every ::1 using 1:($3 == $3 ? $3 : 1/0) axes x1y2 with "
                            "linespoints lw 2 pt 7 title 'validation mAP'"
                          : "";
    const char *aux = has_aux ? ", '' every ::1 using 1:7 with lines lw 2 dt 2 "
                                "title 'loss of the sign codes L(h)'"
                              : "";
    snprintf(script, sizeof script,
             "set datafile separator ','\nset key center right\nset grid\n"
             "set title '%s (%s, %zu bits): training loss and validation mAP'\n"
             "set xlabel 'epoch'\nset ylabel 'loss'\nset y2label 'validation mAP'\n"
             "set ytics nomirror\nset y2tics\n"
             "plot '%s' every ::1 using 1:2 with lines lw 2 title 'training loss'%s%s",
             method, o->model, bits, qlog, val, aux);
    if (cli_gnuplot(o->plot, script) != CLI_OK)
        fprintf(stderr, "l2h: warning: the plot %s was not drawn (cause above); the model is "
                        "saved all the same\n", o->plot);
    return CLI_OK;
}

int cli_train_method(const char *method, const cli_mihash_opts *o, const cli_method_opts *mo,
                     const l2h_dataset *train, size_t bits, uint64_t seed, int center,
                     int l2_normalize, l2h_model **out)
{
    cli_mihash_opts def;
    cli_mihash_defaults(&def);
    if (!o) o = &def;
    l2h_train_ctx *c;
    progress_ctx pc = {NULL, "train", false};
    int r = make_ctx(method, o, mo, bits, seed, center, l2_normalize, &pc, &c);
    if (r != CLI_OK) return r;
    const bool learned = cli_is_learned_method(method);
    if (learned && o->plot && !o->log) r = cli_usage_error("train", "--plot needs --log");
    if (r == CLI_OK && learned && o->log) {
        pc.log = cli_out_open(o->log);
        if (!pc.log) r = CLI_ERR;
        else fprintf(pc.log, "epoch,loss,val_map,val_map_tie,examples_per_s,seconds,loss_aux\n");
    }
    if (r != CLI_OK) {
        l2h_train_free(c);
        return r;
    }
    const l2h_status st = l2h_train_fit(c, train, out);
    cli_progress_done();
    l2h_train_free(c);
    const int lr = pc.log ? cli_out_close(pc.log) : CLI_OK;
    if (st != L2H_OK) return cli_fail(st, method);
    if (lr != CLI_OK) return lr;
    return learned ? train_outputs(method, o, *out, train, bits, pc.has_aux) : CLI_OK;
}

int cli_check_method(const char *cmd, const char *method, const cli_mihash_opts *o,
                     const cli_method_opts *mo, size_t bits)
{
    if (!cli_is_method(method)) {
        char list[256];
        return cli_usage_error(cmd, "unknown method '%s' (%s)", method,
                               cli_method_list(list, sizeof list, false));
    }
    if (mo) {
        const int r = cli_method_opts_check(mo, cmd, method);
        if (r != CLI_OK) return r;
    }
    l2h_train_ctx *c;
    const int r = make_ctx(method, o, mo, bits, 1, -1, -1, NULL, &c);
    if (r != CLI_OK) return r;
    const l2h_status st = l2h_train_check(c);
    l2h_train_free(c);
    if (st != L2H_OK) {
        fprintf(stderr, "l2h %s: %s\nTry 'l2h %s --help'.\n", cmd, l2h_last_error(), cmd);
        return CLI_USAGE;
    }
    return CLI_OK;
}

typedef struct train_cmd {
    cli_data_opts d;
    const char *method, *output;
    size_t bits;
    bool no_center, l2norm, no_l2, json;
    cli_mihash_opts mo;
    cli_hashnet_opts ho;
    cli_method_opts reg;
} train_cmd;

/* Phase 1: options, checked against the method's registry entry before any data is read. */
static int parse_train(int argc, char **argv, train_cmd *t)
{
    cli_data_defaults(&t->d);
    t->bits = 32;
    cli_mihash_defaults(&t->mo);
    cli_hashnet_defaults(&t->ho);
    t->mo.hashnet = &t->ho;
    if (cli_method_opts_init(&t->reg) != CLI_OK) return CLI_ERR;
    cli_opt data_opts[CLI_DATA_N_OPTS], mihash_opts[CLI_MIHASH_N_OPTS],
        hashnet_opts[CLI_HASHNET_N_OPTS];
    cli_data_options(&t->d, data_opts);
    cli_mihash_options(&t->mo, mihash_opts);
    cli_hashnet_options(&t->ho, hashnet_opts);
    char list[256], sgd[256], usage[512];
    cli_method_list(list, sizeof list, false);
    cli_method_list(sgd, sizeof sgd, true);
    const cli_opt own[] = {
        {"method", 'm', CLI_STR, &t->method, list, "hashing method (required)"},
        {"bits", 'b', CLI_SIZE, &t->bits, "B", "code length in bits (32)"},
        {"output", 'o', CLI_STR, &t->output, "FILE", "model file to write (safetensors; required)"},
        {"no-center", 0, CLI_FLAG, &t->no_center, NULL, "do not subtract the training mean"},
        {"l2-normalize", 0, CLI_FLAG, &t->l2norm, NULL,
         "scale rows to unit length after centring (default of the learned methods)"},
        {"no-l2-normalize", 0, CLI_FLAG, &t->no_l2, NULL, "no L2 normalisation"},
        {"json", 0, CLI_FLAG, &t->json, NULL, "print the summary as JSON"},
    };
    const cli_group groups[] = {{data_opts, CLI_DATA_N_OPTS},
                                {own, CLI_COUNT(own)},
                                {mihash_opts, CLI_MIHASH_N_OPTS},
                                {hashnet_opts, CLI_HASHNET_N_OPTS},
                                cli_method_opts_group(&t->reg)};
    snprintf(usage, sizeof usage,
             "l2h train --method %s --bits B --output MODEL [--model linear|mlp|cnn] "
             "[data options]", list);
    int r = cli_parse_groups(argc, argv, groups, CLI_COUNT(groups), usage,
                             "Learns a hash function from the training rows of the chosen split "
                             "(or from all rows with --split none) and writes it as a model file "
                             "that\n`l2h encode` and `l2h eval` apply. The methods and their own "
                             "options (--<method>-<option>) come from the library's registry.",
                             NULL, 0, NULL);
    if (r != CLI_OK) return r;
    if (!t->method) return cli_usage_error("train", "--method is required");
    if (!t->output) return cli_usage_error("train", "--output is required");
    if (t->l2norm && t->no_l2)
        return cli_usage_error("train", "--l2-normalize and --no-l2-normalize contradict");
    /* an option the method would ignore is a usage error */
    const bool learned = cli_is_learned_method(t->method);
    for (size_t g = 2; cli_is_method(t->method) && !learned && g < 4; g++) /* SGD groups */
        for (size_t i = 0; i < groups[g].n; i++)
            if (cli_given(groups[g].opts[i].name))
                return cli_usage_error("train", "--%s applies to the methods trained by SGD (%s), "
                                       "not to %s", groups[g].opts[i].name, sgd, t->method);
    return cli_check_method("train", t->method, &t->mo, &t->reg, t->bits);
}

int cmd_train(int argc, char **argv)
{
    train_cmd t = {0};
    int r = parse_train(argc, argv, &t);
    if (r != CLI_OK) {
        cli_method_opts_free(&t.reg);
        return r == CLI_HELP ? CLI_OK : r;
    }
    cli_data data;
    const double t0 = cli_now();
    cli_progress("train: loading %s", t.d.data);
    r = cli_data_load(&t.d, false, &data);
    if (r != CLI_OK) {
        cli_progress_done();
        cli_data_free(&data);
        cli_method_opts_free(&t.reg);
        return r;
    }
    cli_progress("train: %s, %zu bits, on %zu rows", t.method, t.bits, l2h_dataset_n(data.train));
    const double t1 = cli_now();
    l2h_model *m = NULL;
    r = cli_train_method(t.method, &t.mo, &t.reg, data.train, t.bits, t.d.seed,
                         t.no_center ? 0 : 1, t.l2norm ? 1 : t.no_l2 ? 0 : -1, &m);
    const double t2 = cli_now();
    cli_progress_done();
    if (r == CLI_OK) r = cli_record_split(&t.d, m); /* eval keeps training rows out of queries */
    if (r == CLI_OK) {
        const l2h_status st = l2h_model_save(m, t.output);
        if (st != L2H_OK) r = cli_fail(st, "saving the model");
    }
    char qout[CLI_JSON_PATH_CAP];
    if (r == CLI_OK) {
        if (t.json)
            printf("{\"method\": \"%s\", \"bits\": %zu, \"dim\": %zu, \"train_rows\": %zu, "
                   "\"train_seconds\": %.3f, \"total_seconds\": %.3f, \"output\": \"%s\"}\n",
                   t.method, t.bits, l2h_model_dim(m), l2h_dataset_n(data.train), t2 - t1,
                   cli_now() - t0, cli_json_escape(t.output, qout, sizeof qout));
        else
            printf("trained %s, %zu bits, on %zu x %zu in %.2f s -> %s\n", t.method, t.bits,
                   l2h_dataset_n(data.train), l2h_model_dim(m), t2 - t1, t.output);
    }
    l2h_model_free(m);
    cli_data_free(&data);
    cli_method_opts_free(&t.reg);
    return r;
}
