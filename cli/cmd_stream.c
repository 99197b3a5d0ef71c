/* cmd_stream.c -- `l2h stream`: online hashing over a stream with the fixed or trigger update
 * policy; prints the counters and writes the mAP curve (CSV, JSON, PNG). */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Replaces *ds by a copy of its features without labels (unsupervised protocol). */
static l2h_status strip_labels(l2h_dataset **ds)
{
    if (!*ds) return L2H_OK;
    l2h_dataset *c = NULL;
    l2h_status st = l2h_dataset_create(&c, l2h_dataset_n(*ds), l2h_dataset_dim(*ds),
                                       l2h_dataset_features(*ds));
    if (st != L2H_OK) return st;
    l2h_dataset_free(*ds);
    *ds = c;
    return L2H_OK;
}

static int write_outputs(const char *csv, const char *png, const char *title, size_t n,
                         const size_t *items, const double *map, const size_t *updates)
{
    if (csv) {
        FILE *f = cli_out_open(csv);
        if (!f) return CLI_ERR;
        fprintf(f, "items,map,updates,updated_since_last\n");
        for (size_t i = 0; i < n; i++)
            fprintf(f, "%zu,%.6f,%zu,%d\n", items[i], map[i], updates[i],
                    i > 0 && updates[i] > updates[i - 1]);
        if (cli_out_close(f) != CLI_OK) return CLI_ERR;
    }
    if (png) {
        if (!csv) {
            fprintf(stderr, "l2h: error: --plot needs --curve (the plot is drawn from it)\n");
            return CLI_USAGE;
        }
        char qcsv[8192], qtitle[1024], script[2048 + 8192 + 1024];
        if (cli_gp_escape("--curve", csv, qcsv, sizeof qcsv) != CLI_OK ||
            cli_gp_escape("the title", title, qtitle, sizeof qtitle) != CLI_OK)
            return CLI_USAGE;
        snprintf(script, sizeof script,
                 "set datafile separator ','\nset key bottom right\nset grid\n"
                 "set title '%s'\nset xlabel 'stream items seen'\nset ylabel 'mAP'\n"
                 "plot '%s' every ::1 using 1:2 with lines lw 2 title 'mAP of the hash table', "
                 "'' every ::1 using 1:($4 > 0 ? $2 : 1/0) with points pt 7 ps 1.2 "
                 "title 'table updated since the previous checkpoint'",
                 qtitle, qcsv);
        return cli_gnuplot(png, script);
    }
    return CLI_OK;
}

/* Everything `l2h stream` was asked to do. */
typedef struct stream_opts {
    cli_data_opts d;
    l2h_online_params op;
    const char *method, *policy, *curve, *png;
    const char *save_model, *save_current, *save_index, *checkpoint, *resume;
    size_t items, stop_after, prefill;
    bool json, raw;
    /* method options from the registry: --<method>-<option> VALUE */
    size_t n_mopts;
    const char **mopt_values;   /* [n_mopts] given value or NULL */
    const char **mopt_method;   /* [n_mopts] method name         */
    const char **mopt_name;     /* [n_mopts] option name         */
    char **mopt_flag;           /* [n_mopts] "okh-c", help text  */
    char **mopt_help;
} stream_opts;

static void free_stream_opts(stream_opts *o)
{
    for (size_t i = 0; i < o->n_mopts; i++) {
        if (o->mopt_flag) free(o->mopt_flag[i]);
        if (o->mopt_help) free(o->mopt_help[i]);
    }
    free(o->mopt_values);
    free(o->mopt_method);
    free(o->mopt_name);
    free(o->mopt_flag);
    free(o->mopt_help);
}

/* One CLI option per option of every registered method, from the registry's tables. */
static int method_options(stream_opts *o, cli_opt *out)
{
    size_t n = 0;
    for (size_t i = 0; i < l2h_online_method_count(); i++) {
        const l2h_method_info *mi = l2h_online_method_info(i);
        for (size_t j = 0; j < mi->n_options; j++) {
            const l2h_option_info *op = &mi->options[j];
            char flag[96], help[512];
            snprintf(flag, sizeof flag, "%s-%s", mi->name, op->name);
            for (char *c = flag; *c; c++)
                if (*c == '_') *c = '-';
            snprintf(help, sizeof help, "%s: %s (%s)", mi->name, op->help, op->def);
            o->mopt_flag[n] = strdup(flag);
            o->mopt_help[n] = strdup(help);
            if (!o->mopt_flag[n] || !o->mopt_help[n]) return CLI_ERR;
            o->mopt_method[n] = mi->name;
            o->mopt_name[n] = op->name;
            out[n] = (cli_opt){o->mopt_flag[n], 0, CLI_STR, &o->mopt_values[n],
                               op->type == L2H_OPT_DOUBLE ? "X" : "N", o->mopt_help[n]};
            n++;
        }
    }
    return CLI_OK;
}

static size_t count_method_options(void)
{
    size_t n = 0;
    for (size_t i = 0; i < l2h_online_method_count(); i++)
        n += l2h_online_method_info(i)->n_options;
    return n;
}

/* Applies the --<method>-<option> values given for the run's method. */
static int apply_method_options(const stream_opts *o, l2h_online *h, const char *method)
{
    for (size_t i = 0; i < o->n_mopts; i++) {
        if (!o->mopt_values[i] || strcmp(o->mopt_method[i], method) != 0) continue;
        const l2h_status st = l2h_online_set_option(h, o->mopt_name[i], o->mopt_values[i]);
        if (st != L2H_OK) return cli_usage_error("stream", "%s", l2h_last_error());
    }
    return CLI_OK;
}

static const char *method_list(void)
{
    static char list[256];
    size_t len = 0;
    list[0] = '\0';
    for (const char *const *p = l2h_online_methods(); *p && len < sizeof list; p++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", len ? ", " : "", *p);
    return list;
}

static bool method_known(const char *m)
{
    for (const char *const *p = l2h_online_methods(); *p; p++)
        if (strcmp(*p, m) == 0) return true;
    return false;
}

/* Phase 1: options. */
static int parse_stream(int argc, char **argv, stream_opts *o)
{
    cli_data_defaults(&o->d);
    o->d.split = "random";
    o->d.n_train = 0;
    o->op = l2h_online_default_params();
    o->method = "okh";
    o->policy = "trigger";
    o->items = 20000;
    const cli_opt own[] = {
        {"method", 'm', CLI_STR, &o->method, "NAME", "online method (okh); see the list below"},
        {"policy", 0, CLI_STR, &o->policy, "fixed|trigger|trigger-se|trigger-unpaired",
         "table update policy (trigger)"},
        {"bits", 'b', CLI_SIZE, &o->op.bits, "B", "code length (32)"},
        {"reservoir", 0, CLI_SIZE, &o->op.reservoir, "R", "reservoir size (200)"},
        {"interval", 0, CLI_SIZE, &o->op.interval, "U", "stream items between policy checks (100)"},
        {"theta", 0, CLI_DOUBLE, &o->op.theta, "T", "trigger threshold on the MI gain (0)"},
        {"confidence", 0, CLI_DOUBLE, &o->op.confidence, "C",
         "trigger-se/-unpaired: confidence that the MI gain exceeds its noise (0.95)"},
        {"items", 0, CLI_SIZE, &o->items, "N", "stream items to consume (20000)"},
        {"checkpoints", 0, CLI_SIZE, &o->op.n_checkpoints, "N", "mAP evaluations along the run (50)"},
        {"batch", 0, CLI_SIZE, &o->op.batch, "N", "items per learning step (method default)"},
        {"prefill", 0, CLI_SIZE, &o->prefill, "N", "initial items put into the reservoir (0)"},
        {"raw", 0, CLI_FLAG, &o->raw, NULL, "skip mean-centring and L2 normalisation"},
        {"curve", 0, CLI_STR, &o->curve, "CSV", "write the mAP curve"},
        {"plot", 0, CLI_STR, &o->png, "PNG", "plot the curve with gnuplot (needs --curve)"},
        {"save-model", 0, CLI_STR, &o->save_model, "FILE",
         "save the snapshot mapping (the one that built the table) as a model file"},
        {"save-current", 0, CLI_STR, &o->save_current, "FILE",
         "save the current (possibly newer) mapping as a model file"},
        {"save-index", 0, CLI_STR, &o->save_index, "FILE", "save the hash table as an index file"},
        {"checkpoint", 0, CLI_STR, &o->checkpoint, "FILE",
         "write the whole run state at the end (or at --stop-after)"},
        {"stop-after", 0, CLI_SIZE, &o->stop_after, "N",
         "stop after N stream items (with --checkpoint: resume later with --resume)"},
        {"resume", 0, CLI_STR, &o->resume, "FILE",
         "continue the run saved in FILE (give the same data options and --items)"},
        {"json", 0, CLI_FLAG, &o->json, NULL, "print JSON"},
    };
    /* the option list: data options, the command's own, every method's (no fixed-size array) */
    const size_t n_own = sizeof own / sizeof own[0];
    o->n_mopts = count_method_options();
    const size_t n_all = CLI_DATA_N_OPTS + n_own + o->n_mopts;
    cli_opt *opts = calloc(n_all, sizeof *opts);
    o->mopt_values = calloc(o->n_mopts + 1, sizeof *o->mopt_values);
    o->mopt_method = calloc(o->n_mopts + 1, sizeof *o->mopt_method);
    o->mopt_name = calloc(o->n_mopts + 1, sizeof *o->mopt_name);
    o->mopt_flag = calloc(o->n_mopts + 1, sizeof *o->mopt_flag);
    o->mopt_help = calloc(o->n_mopts + 1, sizeof *o->mopt_help);
    if (!opts || !o->mopt_values || !o->mopt_method || !o->mopt_name || !o->mopt_flag ||
        !o->mopt_help || method_options(o, opts + CLI_DATA_N_OPTS + n_own) != CLI_OK) {
        free(opts);
        fprintf(stderr, "l2h: error: out of memory\n");
        return CLI_ERR;
    }
    cli_data_options(&o->d, opts);
    memcpy(opts + CLI_DATA_N_OPTS, own, sizeof own);
    int r = cli_parse(argc, argv, opts, n_all,
                      "l2h stream --method M --policy fixed|trigger|trigger-se|trigger-unpaired [options] [data options]",
                      "Online hashing. --n-query rows (1000) are queries; the other rows are the "
                      "stream pool and the retrieval set whose hash table\nis kept. The method "
                      "learns from --items stream items; every --interval items the policy "
                      "decides whether the table is\nrecomputed (fixed: always; trigger: only if "
                      "the mutual-information quality on the reservoir improves by more than\n"
                      "--theta; trigger-se: only if the gain exceeds its paired standard error "
                      "times the\nnormal quantile of --confidence; trigger-unpaired: ... its unpaired standard error, "
                      "the noise the gain shows from check to check). Reports table updates, bits "
                      "recomputed, final mAP and the area "
                      "under the mAP curve (its mean over checkpoints).\n--ground-truth euclidean "
                      "drops the labels: neighbours are rows within the --percentile (5) distance.\n"
                      "The run's artefacts: --save-model (usable by encode, eval, index, mi), "
                      "--save-index (usable by search), --checkpoint\n(with --stop-after, then "
                      "--resume: continues bit for bit like the uninterrupted run).\n"
                      "Methods and their options (--<method>-<option>) come from the library's "
                      "method registry.",
                      NULL, 0, NULL);
    free(opts);
    if (r != CLI_OK) return r;
    if (strcmp(o->policy, "fixed") == 0) o->op.policy = L2H_ONLINE_POLICY_FIXED;
    else if (strcmp(o->policy, "trigger") == 0) o->op.policy = L2H_ONLINE_POLICY_TRIGGER;
    else if (strcmp(o->policy, "trigger-se") == 0) o->op.policy = L2H_ONLINE_POLICY_TRIGGER_SE;
    else if (strcmp(o->policy, "trigger-unpaired") == 0)
        o->op.policy = L2H_ONLINE_POLICY_TRIGGER_UNPAIRED;
    else
        return cli_usage_error("stream",
                               "--policy must be fixed, trigger, trigger-se or trigger-unpaired");
    if (!method_known(o->method))
        return cli_usage_error("stream", "unknown --method '%s' (%s)", o->method,
                               method_list());
    if (o->d.gt && strcmp(o->d.gt, "euclidean") != 0 && strcmp(o->d.gt, "labels") != 0)
        return cli_usage_error("stream", "--ground-truth must be labels or euclidean");
    if (strcmp(o->d.split, "random") != 0)
        return cli_usage_error("stream", "the stream protocol uses --split random");
    for (size_t i = 0; i < o->n_mopts; i++) { /* checked before any data is read */
        if (!o->mopt_values[i]) continue;
        if (o->resume)
            return cli_usage_error("stream", "--%s: a resumed run keeps its settings",
                                   o->mopt_flag[i]);
        if (strcmp(o->mopt_method[i], o->method) != 0)
            return cli_usage_error("stream", "--%s is an option of %s, not of %s",
                                   o->mopt_flag[i], o->mopt_method[i], o->method);
    }
    if (o->stop_after && !o->checkpoint)
        return cli_usage_error("stream", "--stop-after needs --checkpoint (nothing would be kept)");
    o->op.method = o->method;
    o->op.reservoir_prefill = o->prefill;
    o->op.seed = o->d.seed;
    o->op.center = o->op.l2_normalize = o->raw ? 0 : 1;
    if (o->d.gt && strcmp(o->d.gt, "euclidean") == 0 && o->d.percentile != 5.0)
        o->op.dist_percentile = o->d.percentile;
    return CLI_OK;
}

/* Phase 2: data (labels dropped for the Euclidean protocol). */
static int load_stream_data(const stream_opts *o, cli_data *data)
{
    cli_progress("stream: loading %s", o->d.data);
    int r = cli_data_load(&o->d, true, data);
    cli_progress_done();
    if (r != CLI_OK) return r;
    if (o->d.gt && strcmp(o->d.gt, "euclidean") == 0) {
        l2h_status ls = strip_labels(&data->train);
        if (ls == L2H_OK) ls = strip_labels(&data->db);
        if (ls == L2H_OK) ls = strip_labels(&data->query);
        if (ls != L2H_OK) return cli_fail(ls, "stream");
    }
    return CLI_OK;
}

/* Phase 4: the artefacts. */
static int save_artefacts(const stream_opts *o, const l2h_online *h)
{
    const char *paths[2] = {o->save_model, o->save_current};
    const l2h_online_mapping which[2] = {L2H_ONLINE_SNAPSHOT, L2H_ONLINE_CURRENT};
    for (int i = 0; i < 2; i++) {
        if (!paths[i]) continue;
        l2h_model *m = NULL;
        l2h_status st = l2h_online_model(h, which[i], &m);
        if (st == L2H_OK) st = l2h_model_save(m, paths[i]);
        l2h_model_free(m);
        if (st != L2H_OK) return cli_fail(st, paths[i]);
    }
    if (o->save_index) {
        const l2h_index *ix = l2h_online_index(h);
        const l2h_status st = ix ? l2h_index_save(ix, o->save_index) : L2H_ERR_STATE;
        if (st != L2H_OK) return cli_fail(st, o->save_index);
    }
    if (o->checkpoint) {
        const l2h_status st = l2h_online_save(h, o->checkpoint);
        if (st != L2H_OK) return cli_fail(st, o->checkpoint);
    }
    return CLI_OK;
}

/* Phase 5: the report. */
static int report(const stream_opts *o, const l2h_online *h, const cli_data *data, double secs,
                  bool finished)
{
    l2h_online_stats s;
    l2h_status st = l2h_online_get_stats(h, &s);
    if (st != L2H_OK) return cli_fail(st, "stream");
    l2h_online_params p;
    st = l2h_online_get_params(h, &p);
    if (st != L2H_OK) return cli_fail(st, "stream");
    const char *method = p.method;
    if (!finished) {
        fprintf(stderr, "l2h: stream: stopped after %zu items (%zu table updates); checkpoint "
                        "written to %s\n", s.items, s.updates, o->checkpoint);
        return CLI_OK;
    }
    size_t *it = calloc(s.n_checkpoints + 1, sizeof *it);
    size_t *up = calloc(s.n_checkpoints + 1, sizeof *up);
    double *mp = calloc(s.n_checkpoints + 1, sizeof *mp);
    st = it && up && mp ? l2h_online_curve(h, s.n_checkpoints, it, mp, up) : L2H_ERR_NOMEM;
    int r = st == L2H_OK ? CLI_OK : cli_fail(st, "stream curve");
    if (r == CLI_OK) {
        char title[256];
        snprintf(title, sizeof title, "%s, %s policy, %zu bits, %s", method, o->policy,
                 l2h_online_bits(h), o->d.data);
        r = write_outputs(o->curve, o->png, title, s.n_checkpoints, it, mp, up);
    }
    if (r == CLI_OK) {
        const char *policy = p.policy == L2H_ONLINE_POLICY_FIXED ? "fixed" : "trigger";
        if (o->json)
            printf("{\"method\": \"%s\", \"policy\": \"%s\", \"bits\": %zu, \"items\": %zu, "
                   "\"checks\": %zu, \"updates\": %zu, \"bits_recomputed\": %llu, "
                   "\"map_final\": %.6f, \"map_auc\": %.6f, \"seconds\": %.3f}\n",
                   method, policy, l2h_online_bits(h), s.items, s.checks, s.updates,
                   (unsigned long long)s.bits_recomputed, s.map_final, s.map_auc, secs);
        else
            printf("%s\n%s, %s policy, %zu bits: %zu items, %zu checks, %zu table updates, "
                   "%llu bits recomputed\nmAP final %.4f, area under the mAP curve %.4f "
                   "(%zu checkpoints), %.1f s\n",
                   data->description, method, policy, l2h_online_bits(h), s.items, s.checks,
                   s.updates, (unsigned long long)s.bits_recomputed, s.map_final, s.map_auc,
                   s.n_checkpoints, secs);
    }
    free(it);
    free(up);
    free(mp);
    return r;
}

int cmd_stream(int argc, char **argv)
{
    stream_opts o;
    memset(&o, 0, sizeof o);
    int r = parse_stream(argc, argv, &o);
    if (r != CLI_OK) {
        free_stream_opts(&o);
        return r == CLI_HELP ? CLI_OK : r;
    }
    cli_data data;
    memset(&data, 0, sizeof data);
    r = load_stream_data(&o, &data);
    if (r != CLI_OK) {
        cli_data_free(&data);
        free_stream_opts(&o);
        return r;
    }
    /* Phase 3: a new run or the one in the checkpoint, streamed to --items (or --stop-after) */
    l2h_online *h = NULL;
    l2h_status st = o.resume ? l2h_online_load(&h, o.resume)
                             : l2h_online_create(&h, &o.op, l2h_dataset_dim(data.all));
    if (st != L2H_OK) {
        cli_data_free(&data);
        free_stream_opts(&o);
        return cli_fail(st, o.resume ? o.resume : "stream");
    }
    r = apply_method_options(&o, h, o.method);
    const size_t stop = o.stop_after && o.stop_after < o.items ? o.stop_after : o.items;
    cli_progress("stream: %s%s, %zu bits, %zu items over a pool of %zu",
                 o.resume ? "resuming a run, " : "", o.resume ? "" : o.method, l2h_online_bits(h),
                 o.items, l2h_dataset_n(data.train));
    const double t0 = cli_now();
    st = r == CLI_OK ? l2h_online_run_part(h, data.train, data.db, data.query, o.items, stop)
                     : L2H_OK;
    const double secs = cli_now() - t0;
    cli_progress_done();
    if (st != L2H_OK) r = cli_fail(st, "stream");
    if (r == CLI_OK) r = save_artefacts(&o, h);
    if (r == CLI_OK) r = report(&o, h, &data, secs, stop >= o.items);
    l2h_online_free(h);
    cli_data_free(&data);
    free_stream_opts(&o);
    return r;
}
