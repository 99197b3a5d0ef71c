/* cmd_stream.c -- `l2h stream`: online hashing over a stream with the fixed or trigger update
 * policy; prints the counters and writes the mAP curve (CSV, JSON, PNG). */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Centre by the mean of `ref` and scale rows to unit length, in place (the reference loaders'
 * preprocessing: statistics from the stream pool). */
static void preprocess(l2h_dataset *const *sets, size_t n_sets, const l2h_dataset *ref)
{
    const size_t dim = l2h_dataset_dim(ref), n = l2h_dataset_n(ref);
    double *mean = calloc(dim, sizeof *mean);
    if (!mean) return;
    const float *x = l2h_dataset_features(ref);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < dim; j++) mean[j] += (double)x[i * dim + j];
    for (size_t j = 0; j < dim; j++) mean[j] /= (double)(n ? n : 1);
    for (size_t s = 0; s < n_sets; s++) {
        if (!sets[s]) continue;
        float *y = l2h_dataset_features_mut(sets[s]);
        for (size_t i = 0; i < l2h_dataset_n(sets[s]); i++) {
            double norm = 0;
            for (size_t j = 0; j < dim; j++) {
                const double v = (double)y[i * dim + j] - mean[j];
                y[i * dim + j] = (float)v;
                norm += v * v;
            }
            const double inv = norm > 0 ? 1.0 / sqrt(norm) : 0.0;
            for (size_t j = 0; j < dim; j++) y[i * dim + j] = (float)((double)y[i * dim + j] * inv);
        }
    }
    free(mean);
}

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

int cmd_stream(int argc, char **argv)
{
    cli_data_opts d;
    cli_data_defaults(&d);
    d.split = "random";
    d.n_train = 0;
    l2h_online_params op = l2h_online_default_params();
    const char *method = "okh", *policy = "trigger", *curve = NULL, *png = NULL;
    size_t items = 20000;
    bool json = false, raw = false;
    size_t prefill = 0;
    cli_opt opts[CLI_DATA_N_OPTS + 16];
    cli_data_options(&d, opts);
    const cli_opt own[] = {
        {"method", 'm', CLI_STR, &method, "NAME",
         "okh, osh, adapthash, sketchhash or mihash (okh)"},
        {"policy", 0, CLI_STR, &policy, "fixed|trigger|trigger-se",
         "table update policy (trigger)"},
        {"bits", 'b', CLI_SIZE, &op.bits, "B", "code length (32)"},
        {"reservoir", 0, CLI_SIZE, &op.reservoir, "R", "reservoir size (200)"},
        {"interval", 0, CLI_SIZE, &op.interval, "U", "stream items between policy checks (100)"},
        {"theta", 0, CLI_DOUBLE, &op.theta, "T", "trigger threshold on the MI gain (0)"},
        {"confidence", 0, CLI_DOUBLE, &op.confidence, "C",
         "trigger-se: confidence that the MI gain exceeds its noise (0.95)"},
        {"items", 0, CLI_SIZE, &items, "N", "stream items to consume (20000)"},
        {"checkpoints", 0, CLI_SIZE, &op.n_checkpoints, "N", "mAP evaluations along the run (50)"},
        {"batch", 0, CLI_SIZE, &op.batch, "N", "items per learning step (method default)"},
        {"prefill", 0, CLI_SIZE, &prefill, "N", "initial items put into the reservoir (0)"},
        {"raw", 0, CLI_FLAG, &raw, NULL, "skip mean-centring and L2 normalisation"},
        {"curve", 0, CLI_STR, &curve, "CSV", "write the mAP curve"},
        {"plot", 0, CLI_STR, &png, "PNG", "plot the curve with gnuplot (needs --curve)"},
        {"json", 0, CLI_FLAG, &json, NULL, "print JSON"},
    };
    memcpy(opts + CLI_DATA_N_OPTS, own, sizeof own);
    int r = cli_parse(argc, argv, opts, CLI_DATA_N_OPTS + sizeof own / sizeof own[0],
                      "l2h stream --method M --policy fixed|trigger|trigger-se [options] [data options]",
                      "Online hashing. --n-query rows (1000) are queries; the other rows are the "
                      "stream pool and the retrieval set whose hash table\nis kept. The method "
                      "learns from --items stream items; every --interval items the policy "
                      "decides whether the table is\nrecomputed (fixed: always; trigger: only if "
                      "the mutual-information quality on the reservoir improves by more than\n"
                      "--theta; trigger-se: only if the gain exceeds its paired standard error times the\n"
                      "normal quantile of --confidence). Reports table updates, bits recomputed, final mAP and the area "
                      "under the mAP curve (its mean over checkpoints).\n--ground-truth euclidean drops the "
                      "labels: neighbours are rows within the --percentile (5) distance.",
                      NULL, 0, NULL);
    if (r != CLI_OK) return r == CLI_HELP ? CLI_OK : r;
    if (strcmp(policy, "fixed") == 0) op.policy = L2H_ONLINE_POLICY_FIXED;
    else if (strcmp(policy, "trigger") == 0) op.policy = L2H_ONLINE_POLICY_TRIGGER;
    else if (strcmp(policy, "trigger-se") == 0) op.policy = L2H_ONLINE_POLICY_TRIGGER_SE;
    else return cli_usage_error("stream", "--policy must be fixed, trigger or trigger-se");
    op.method = method;
    op.reservoir_prefill = prefill;
    const bool euclid = d.gt && strcmp(d.gt, "euclidean") == 0;
    if (d.gt && !euclid && strcmp(d.gt, "labels") != 0)
        return cli_usage_error("stream", "--ground-truth must be labels or euclidean");
    op.seed = d.seed;
    if (strcmp(d.split, "random") != 0)
        return cli_usage_error("stream", "the stream protocol uses --split random");

    cli_data data;
    cli_progress("stream: loading %s", d.data);
    r = cli_data_load(&d, true, &data);
    if (r != CLI_OK) {
        cli_progress_done();
        cli_data_free(&data);
        return r;
    }
    if (!raw) {
        l2h_dataset *sets[3] = {data.train, data.db, data.query};
        preprocess(sets, 3, data.train);
    }
    if (euclid) { /* labels dropped: neighbours by the Euclidean percentile rule */
        l2h_status ls = strip_labels(&data.train);
        if (ls == L2H_OK) ls = strip_labels(&data.db);
        if (ls == L2H_OK) ls = strip_labels(&data.query);
        if (ls == L2H_OK && d.percentile != 5.0) {
            float thr = 0;
            ls = l2h_distance_percentile(data.train, 2000, d.percentile, d.seed, &thr);
            op.dist_threshold = thr;
        }
        if (ls != L2H_OK) {
            cli_progress_done();
            cli_data_free(&data);
            return cli_fail(ls, "stream");
        }
    }
    l2h_online *o = NULL;
    l2h_status st = l2h_online_create(&o, &op, l2h_dataset_dim(data.all));
    if (st != L2H_OK) {
        cli_progress_done();
        cli_data_free(&data);
        return cli_fail(st, "stream");
    }
    cli_progress("stream: %s, %s policy, %zu bits, %zu items over a pool of %zu", method, policy,
                 op.bits, items, l2h_dataset_n(data.train));
    const double t0 = cli_now();
    st = l2h_online_run(o, data.train, data.db, data.query, items);
    const double secs = cli_now() - t0;
    cli_progress_done();
    l2h_online_stats s;
    if (st == L2H_OK) st = l2h_online_get_stats(o, &s);
    if (st != L2H_OK) r = cli_fail(st, "stream");
    size_t *it = NULL, *up = NULL;
    double *mp = NULL;
    if (r == CLI_OK) {
        it = calloc(s.n_checkpoints + 1, sizeof *it);
        up = calloc(s.n_checkpoints + 1, sizeof *up);
        mp = calloc(s.n_checkpoints + 1, sizeof *mp);
        st = it && up && mp ? l2h_online_curve(o, s.n_checkpoints, it, mp, up) : L2H_ERR_NOMEM;
        if (st != L2H_OK) r = cli_fail(st, "stream curve");
    }
    if (r == CLI_OK) {
        char title[256];
        snprintf(title, sizeof title, "%s, %s policy, %zu bits, %s", method, policy, op.bits,
                 d.data);
        r = write_outputs(curve, png, title, s.n_checkpoints, it, mp, up);
    }
    if (r == CLI_OK) {
        if (json)
            printf("{\"method\": \"%s\", \"policy\": \"%s\", \"bits\": %zu, \"items\": %zu, "
                   "\"checks\": %zu, \"updates\": %zu, \"bits_recomputed\": %llu, "
                   "\"map_final\": %.6f, \"map_auc\": %.6f, \"seconds\": %.3f}\n",
                   method, policy, op.bits, s.items, s.checks, s.updates,
                   (unsigned long long)s.bits_recomputed, s.map_final, s.map_auc, secs);
        else
            printf("%s\n%s, %s policy, %zu bits: %zu items, %zu checks, %zu table updates, "
                   "%llu bits recomputed\nmAP final %.4f, area under the mAP curve %.4f "
                   "(%zu checkpoints), %.1f s\n",
                   data.description, method, policy, op.bits, s.items, s.checks, s.updates,
                   (unsigned long long)s.bits_recomputed, s.map_final, s.map_auc,
                   s.n_checkpoints, secs);
    }
    free(it);
    free(up);
    free(mp);
    l2h_online_free(o);
    cli_data_free(&data);
    return r;
}
