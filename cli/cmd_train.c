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
    o->gamma = NAN; /* the library default (0.1) */
    o->jmlh_variant = "full";
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
        {"bins", 0, CLI_SIZE, &o->bins, "K", "MIHash histogram bins (min(16, bits))"},
        {"scale", 0, CLI_DOUBLE_NONNEG, &o->scale, "A", "sigmoid scale (0 = auto 2/rms)"},
        {"gamma", 0, CLI_DOUBLE_NONNEG, &o->gamma, "G", "jmlh: regulariser weight (0.1)"},
        {"deterministic", 0, CLI_FLAG, &o->deterministic, NULL,
         "jmlh: threshold 0.5 in training instead of U(0,1)"},
        {"jmlh-variant", 0, CLI_STR, &o->jmlh_variant, "full|cont|qr|nr",
         "jmlh: KL prior, sigmoid bottleneck, quantisation or no regulariser (full)"},
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
        {"mi-grades", 0, CLI_SIZE, &o->mi_grades, "G",
         "mihash: MI with graded relevance min(shared labels, G-1); 0 = binary (0)"},
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

static const char *const learned_methods[] = {"mihash", "hashnet", "jmlh"};

bool cli_is_learned_method(const char *method)
{
    for (size_t i = 0; i < sizeof learned_methods / sizeof *learned_methods; i++)
        if (!strcmp(method, learned_methods[i])) return true;
    return false;
}

int cli_train_learned(const char *method, const cli_mihash_opts *o, const l2h_dataset *train,
                      size_t bits, uint64_t seed, int center, int l2_normalize, l2h_model **out)
{
    l2h_train_params p = l2h_train_method_params(method, bits);
    if (!strcmp(o->model, "linear")) p.net = L2H_NET_LINEAR;
    else if (!strcmp(o->model, "mlp")) p.net = L2H_NET_MLP;
    else if (!strcmp(o->model, "cnn")) p.net = L2H_NET_CNN;
    else return cli_usage_error("train", "--model must be linear, mlp or cnn");
    p.n_hidden = 0;
    for (const char *s = o->hidden; s && *s && p.n_hidden < 4;) {
        char *end;
        const unsigned long v = strtoul(s, &end, 10);
        if (end == s || v == 0) return cli_usage_error("train", "--hidden: bad list '%s'", o->hidden);
        p.hidden[p.n_hidden++] = v;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') return cli_usage_error("train", "--hidden: bad list '%s'", o->hidden);
    }
    /* options not given keep the method's defaults (l2h_train_method_params) */
    if (o->optimizer) {
        if (!strcmp(o->optimizer, "sgd")) p.optimizer = L2H_OPT_SGD;
        else if (!strcmp(o->optimizer, "adam")) p.optimizer = L2H_OPT_ADAM;
        else return cli_usage_error("train", "--optimizer must be sgd or adam");
    }
    if (o->schedule) {
        if (!strcmp(o->schedule, "const")) p.schedule = L2H_SCHED_CONST;
        else if (!strcmp(o->schedule, "step")) p.schedule = L2H_SCHED_STEP;
        else if (!strcmp(o->schedule, "inv")) p.schedule = L2H_SCHED_INV;
        else return cli_usage_error("train", "--schedule must be const, step or inv");
    }
    if (!isnan(o->gamma)) p.jmlh.gamma = o->gamma;
    p.jmlh.deterministic = o->deterministic;
    if (!strcmp(o->jmlh_variant, "full")) p.jmlh.regularizer = L2H_JMLH_REG_KL;
    else if (!strcmp(o->jmlh_variant, "qr")) p.jmlh.regularizer = L2H_JMLH_REG_QR;
    else if (!strcmp(o->jmlh_variant, "nr")) p.jmlh.regularizer = L2H_JMLH_REG_NONE;
    else if (!strcmp(o->jmlh_variant, "cont")) p.jmlh.continuous = 1;
    else return cli_usage_error("train", "--jmlh-variant must be full, cont, qr or nr");
    p.epochs = o->epochs;
    p.batch = o->batch;
    if (o->lr > 0) p.lr = o->lr;
    else if (o->optimizer) p.lr = p.optimizer == L2H_OPT_ADAM ? 1e-3 : 0.1;
    p.momentum = o->momentum;
    p.nesterov = o->nesterov;
    if (o->weight_decay >= 0) p.weight_decay = o->weight_decay;
    p.lr_step = o->lr_step;
    p.lr_gamma = o->lr_gamma;
    if (o->last_lr_mult > 0) p.last_lr_mult = o->last_lr_mult;
    p.bins = o->bins;
    p.scale = o->scale;
    p.seed = seed;
    p.center = center;
    p.l2_normalize = l2_normalize;
    p.val_fraction = o->val_fraction;
    p.val_every = o->val_every;
    p.batch_norm = o->batch_norm;
    p.out_bn = o->out_bn;
    p.dropout = o->dropout;
    p.shift = o->shift;
    p.mi_grades = o->mi_grades;
    cli_hashnet_opts hdef;
    cli_hashnet_defaults(&hdef);
    const cli_hashnet_opts *ho = o->hashnet ? o->hashnet : &hdef;
    const int hr = cli_hashnet_apply(ho, &p);
    if (hr != CLI_OK) return hr;
    progress_ctx c = {NULL, "train", false};
    if (o->plot && !o->log) return cli_usage_error("train", "--plot needs --log");
    if (o->log) {
        c.log = cli_out_open(o->log);
        if (!c.log) return CLI_ERR;
        fprintf(c.log, "epoch,loss,val_map,val_map_tie,examples_per_s,seconds,loss_aux\n");
    }
    p.callback = train_progress;
    p.user = &c;
    const l2h_status st = l2h_train(out, train, &p);
    cli_progress_done();
    const int lr = c.log ? cli_out_close(c.log) : CLI_OK;
    if (st != L2H_OK) return cli_fail(st, method);
    if (lr != CLI_OK) return lr;
    if (!strcmp(method, "hashnet")) {
        const int r = cli_hashnet_hist(ho, *out, train);
        if (r != CLI_OK) return r;
    }
    if (o->plot) {
        /* the plot is an extra: its failure is a warning with its cause, and the model is
         * still saved (the caller saves it after this returns) */
        char qlog[8192], script[2048 + 8192];
        if (cli_gp_escape("--log", o->log, qlog, sizeof qlog) != CLI_OK) return CLI_USAGE;
        /* HashNet: J(g) on tanh(βz) and L(h) on the sign codes (the seed's Figure 6) */
        /* without --val-fraction the log has no validation column to draw (gnuplot would
         * refuse an all-undefined series) */
        const char *val = o->val_fraction > 0
                              ? ", '' every ::1 using 1:($3 == $3 ? $3 : 1/0) axes x1y2 with "
                                "linespoints lw 2 pt 7 title 'validation mAP'"
                              : "";
        const char *aux = c.has_aux ? ", '' every ::1 using 1:7 with lines lw 2 dt 2 "
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
            fprintf(stderr, "l2h: warning: the plot %s was not drawn (cause above); the model "
                            "is saved all the same\n", o->plot);
    }
    return CLI_OK;
}

int cli_train_baseline(const char *method, const l2h_dataset *train,
                       const l2h_baseline_params *bp, l2h_model **out)
{
    l2h_status st;
    if (strcmp(method, "lsh") == 0) st = l2h_lsh_train(out, train, bp);
    else if (strcmp(method, "itq") == 0) st = l2h_itq_train(out, train, bp);
    else {
        fprintf(stderr, "l2h: error: unknown method '%s' (lsh, itq, mihash or jmlh)\n", method);
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
    bool no_l2 = false;
    cli_mihash_opts mo;
    cli_mihash_defaults(&mo);
    cli_hashnet_opts ho;
    cli_hashnet_defaults(&ho);
    mo.hashnet = &ho;
    cli_opt data_opts[CLI_DATA_N_OPTS], mihash_opts[CLI_MIHASH_N_OPTS],
        hashnet_opts[CLI_HASHNET_N_OPTS];
    cli_data_options(&d, data_opts);
    cli_mihash_options(&mo, mihash_opts);
    cli_hashnet_options(&ho, hashnet_opts);
    const cli_opt own[] = {
        {"method", 'm', CLI_STR, &method, "lsh|itq|mihash|hashnet|jmlh",
         "hashing method (required)"},
        {"bits", 'b', CLI_SIZE, &bits, "B", "code length in bits (32)"},
        {"output", 'o', CLI_STR, &output, "FILE", "model file to write (safetensors; required)"},
        {"no-center", 0, CLI_FLAG, &no_center, NULL, "do not subtract the training mean"},
        {"l2-normalize", 0, CLI_FLAG, &l2norm, NULL,
         "scale rows to unit length after centring (always on for mihash, jmlh)"},
        {"no-l2-normalize", 0, CLI_FLAG, &no_l2, NULL, "mihash, jmlh: no L2 normalisation"},
        {"itq-iters", 0, CLI_SIZE, &itq_iters, "N", "ITQ rotation iterations (50)"},
        {"max-train", 0, CLI_SIZE, &max_train, "N", "use at most N training rows (0 = all)"},
        {"json", 0, CLI_FLAG, &json, NULL, "print the summary as JSON"},
    };
    const cli_group groups[] = {{data_opts, CLI_DATA_N_OPTS},
                                {own, CLI_COUNT(own)},
                                {mihash_opts, CLI_MIHASH_N_OPTS},
                                {hashnet_opts, CLI_HASHNET_N_OPTS}};
    int r = cli_parse_groups(argc, argv, groups, CLI_COUNT(groups),
                      "l2h train --method lsh|itq|mihash|hashnet|jmlh --bits B --output MODEL "
                      "[--model linear|mlp|cnn] [data options]",
                      "Learns a hash function from the training rows of the chosen split (or from "
                      "all rows with --split none) and writes it as a model file that\n"
                      "`l2h encode` and `l2h eval` apply.",
                      NULL, 0, NULL);
    if (r != CLI_OK) return r == CLI_HELP ? CLI_OK : r;
    if (!method) return cli_usage_error("train", "--method is required");
    if (!output) return cli_usage_error("train", "--output is required");
    if (cli_is_learned_method(method) && strcmp(mo.model, "linear") && strcmp(mo.model, "mlp") &&
        strcmp(mo.model, "cnn"))
        return cli_usage_error("train", "--model must be linear, mlp or cnn");
    /* an option the method would ignore, or two that contradict, is a usage error */
    const bool learned = cli_is_learned_method(method);
    if (!learned && strcmp(method, "lsh") && strcmp(method, "itq"))
        return cli_usage_error("train", "unknown --method '%s' (lsh, itq, mihash, hashnet, jmlh)",
                               method);
    if (l2norm && no_l2)
        return cli_usage_error("train", "--l2-normalize and --no-l2-normalize contradict");
    for (size_t g = 2; !learned && g < CLI_COUNT(groups); g++) /* the learned methods' groups */
        for (size_t i = 0; i < groups[g].n; i++)
            if (cli_given(groups[g].opts[i].name))
                return cli_usage_error("train",
                                       "--%s applies to the learned methods only, not to %s",
                                       groups[g].opts[i].name, method);
    if (strcmp(method, "itq") && cli_given("itq-iters"))
        return cli_usage_error("train", "--itq-iters applies to itq only, not to %s", method);
    if (!learned && no_l2)
        return cli_usage_error("train", "--no-l2-normalize applies to the learned methods only");

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
    if (cli_is_learned_method(method))
        r = cli_train_learned(method, &mo, data.train, bits, d.seed, !no_center, !no_l2, &m);
    else
        r = cli_train_baseline(method, data.train, &bp, &m);
    const double t2 = cli_now();
    cli_progress_done();
    if (r == CLI_OK) r = cli_record_split(&d, m); /* eval keeps training rows out of queries */
    if (r == CLI_OK) {
        const l2h_status st = l2h_model_save(m, output);
        if (st != L2H_OK) r = cli_fail(st, "saving the model");
    }
    char qout[CLI_JSON_PATH_CAP];
    if (r == CLI_OK) {
        if (json)
            printf("{\"method\": \"%s\", \"bits\": %zu, \"dim\": %zu, \"train_rows\": %zu, "
                   "\"train_seconds\": %.3f, \"total_seconds\": %.3f, \"output\": \"%s\"}\n",
                   method, bits, l2h_model_dim(m), l2h_dataset_n(data.train), t2 - t1,
                   cli_now() - t0, cli_json_escape(output, qout, sizeof qout));
        else
            printf("trained %s, %zu bits, on %zu x %zu in %.2f s -> %s\n", method, bits,
                   l2h_dataset_n(data.train), l2h_model_dim(m), t2 - t1, output);
    }
    l2h_model_free(m);
    cli_data_free(&data);
    return r;
}
