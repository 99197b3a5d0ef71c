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
        FILE *f = fopen(csv, "w");
        if (!f) {
            fprintf(stderr, "l2h: error: cannot write %s\n", csv);
            return CLI_ERR;
        }
        fprintf(f, "items,map,updates,updated_since_last\n");
        for (size_t i = 0; i < n; i++)
            fprintf(f, "%zu,%.6f,%zu,%d\n", items[i], map[i], updates[i],
                    i > 0 && updates[i] > updates[i - 1]);
        if (fclose(f) != 0) {
            fprintf(stderr, "l2h: error: writing %s failed\n", csv);
            return CLI_ERR;
        }
    }
    if (png) {
        if (!csv) {
            fprintf(stderr, "l2h: error: --plot needs --curve (the plot is drawn from it)\n");
            return CLI_USAGE;
        }
        char script[2048];
        snprintf(script, sizeof script,
                 "set datafile separator ','\nset key bottom right\nset grid\n"
                 "set title '%s'\nset xlabel 'stream items seen'\nset ylabel 'mAP'\n"
                 "plot '%s' every ::1 using 1:2 with lines lw 2 title 'mAP of the hash table', "
                 "'' every ::1 using 1:($4 > 0 ? $2 : 1/0) with points pt 7 ps 1.2 "
                 "title 'table updated since the previous checkpoint'",
                 title, csv);
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
} stream_opts;

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
    cli_opt opts[CLI_DATA_N_OPTS + 24];
    cli_data_options(&o->d, opts);
    const cli_opt own[] = {
        {"method", 'm', CLI_STR, &o->method, "NAME",
         "okh, osh, adapthash, sketchhash or mihash (okh)"},
        {"policy", 0, CLI_STR, &o->policy, "fixed|trigger", "table update policy (trigger)"},
        {"bits", 'b', CLI_SIZE, &o->op.bits, "B", "code length (32)"},
        {"reservoir", 0, CLI_SIZE, &o->op.reservoir, "R", "reservoir size (200)"},
        {"interval", 0, CLI_SIZE, &o->op.interval, "U", "stream items between policy checks (100)"},
        {"theta", 0, CLI_DOUBLE, &o->op.theta, "T", "trigger threshold on the MI gain (0)"},
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
    memcpy(opts + CLI_DATA_N_OPTS, own, sizeof own);
    int r = cli_parse(argc, argv, opts, CLI_DATA_N_OPTS + sizeof own / sizeof own[0],
                      "l2h stream --method M --policy fixed|trigger [options] [data options]",
                      "Online hashing. --n-query rows (1000) are queries; the other rows are the "
                      "stream pool and the retrieval set whose hash table\nis kept. The method "
                      "learns from --items stream items; every --interval items the policy "
                      "decides whether the table is\nrecomputed (fixed: always; trigger: only if "
                      "the mutual-information quality on the reservoir improves by more than\n"
                      "--theta). Reports table updates, bits recomputed, final mAP and the area "
                      "under the mAP curve (its mean over checkpoints).\n--ground-truth euclidean "
                      "drops the labels: neighbours are rows within the --percentile (5) distance.\n"
                      "The run's artefacts: --save-model (usable by encode, eval, index, mi), "
                      "--save-index (usable by search), --checkpoint\n(with --stop-after, then "
                      "--resume: continues bit for bit like the uninterrupted run).",
                      NULL, 0, NULL);
    if (r != CLI_OK) return r;
    if (strcmp(o->policy, "fixed") == 0) o->op.policy = L2H_ONLINE_POLICY_FIXED;
    else if (strcmp(o->policy, "trigger") == 0) o->op.policy = L2H_ONLINE_POLICY_TRIGGER;
    else return cli_usage_error("stream", "--policy must be fixed or trigger");
    if (!method_known(o->method))
        return cli_usage_error("stream", "unknown --method '%s' (okh, osh, adapthash, "
                                         "sketchhash, mihash)", o->method);
    if (o->d.gt && strcmp(o->d.gt, "euclidean") != 0 && strcmp(o->d.gt, "labels") != 0)
        return cli_usage_error("stream", "--ground-truth must be labels or euclidean");
    if (strcmp(o->d.split, "random") != 0)
        return cli_usage_error("stream", "the stream protocol uses --split random");
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
    if (r != CLI_OK) return r == CLI_HELP ? CLI_OK : r;
    cli_data data;
    memset(&data, 0, sizeof data);
    r = load_stream_data(&o, &data);
    if (r != CLI_OK) {
        cli_data_free(&data);
        return r;
    }
    /* Phase 3: a new run or the one in the checkpoint, streamed to --items (or --stop-after) */
    l2h_online *h = NULL;
    l2h_status st = o.resume ? l2h_online_load(&h, o.resume)
                             : l2h_online_create(&h, &o.op, l2h_dataset_dim(data.all));
    if (st != L2H_OK) {
        cli_data_free(&data);
        return cli_fail(st, o.resume ? o.resume : "stream");
    }
    const size_t stop = o.stop_after && o.stop_after < o.items ? o.stop_after : o.items;
    cli_progress("stream: %s%s, %zu bits, %zu items over a pool of %zu",
                 o.resume ? "resuming a run, " : "", o.resume ? "" : o.method, l2h_online_bits(h),
                 o.items, l2h_dataset_n(data.train));
    const double t0 = cli_now();
    st = l2h_online_run_part(h, data.train, data.db, data.query, o.items, stop);
    const double secs = cli_now() - t0;
    cli_progress_done();
    if (st != L2H_OK) r = cli_fail(st, "stream");
    if (r == CLI_OK) r = save_artefacts(&o, h);
    if (r == CLI_OK) r = report(&o, h, &data, secs, stop >= o.items);
    l2h_online_free(h);
    cli_data_free(&data);
    return r;
}
