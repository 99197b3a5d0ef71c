/* cli_data.c -- the data options shared by the commands: load a named dataset or a file, attach
 * labels, make the split, build the ground truth. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

void cli_data_defaults(cli_data_opts *d)
{
    memset(d, 0, sizeof *d);
    d->data = "fashion-mnist";
    d->split = "1";
    d->q_per_class = 100;
    d->t_per_class = 500;
    d->n_query = 1000;
    d->n_train = 5000;
    d->percentile = 5.0;
    d->seed = 1;
    d->split_seed = CLI_SPLIT_SEED_SAME;
}

uint64_t cli_split_seed(const cli_data_opts *d)
{
    return d->split_seed == CLI_SPLIT_SEED_SAME ? d->seed : d->split_seed;
}

void cli_data_options(cli_data_opts *d, cli_opt *o)
{
    const cli_opt opts[CLI_DATA_N_OPTS] = {
        {"data", 'd', CLI_STR, &d->data, "NAME|FILE",
         "dataset: fashion-mnist (default), cifar10-gist, cifar10-cnn, scene, or a file"},
        {"format", 0, CLI_STR, &d->format, "FMT",
         "file format: fvecs bvecs ivecs npy idx f32 f16 u8 arff (default: by extension)"},
        {"dim", 0, CLI_SIZE, &d->dim, "D", "row length of headerless f32/f16/u8 files"},
        {"labels", 0, CLI_STR, &d->labels, "FILE", "labels: one class id per row, or 0/1 rows"},
        {"n-labels", 0, CLI_SIZE, &d->n_labels, "L", "ARFF: the last L attributes are labels"},
        {"split", 0, CLI_STR, &d->split, "1|2|random|none",
         "protocol: 1 = per-class queries/training, database = non-queries (default); 2 = test "
         "rows as queries, the rest as training and database"},
        {"queries-per-class", 0, CLI_SIZE, &d->q_per_class, "N", "split 1 queries per class (100)"},
        {"train-per-class", 0, CLI_SIZE, &d->t_per_class, "N", "split 1 training per class (500)"},
        {"n-query", 0, CLI_SIZE, &d->n_query, "N", "split random: queries (1000)"},
        {"n-train", 0, CLI_SIZE, &d->n_train, "N", "split random: training rows (5000)"},
        {"test-from", 0, CLI_SIZE, &d->test_from, "ROW", "split 2 on a file: first test row"},
        {"ground-truth", 0, CLI_STR, &d->gt, "labels|euclidean",
         "relevance: shared label (default when labelled) or Euclidean percentile rule"},
        {"percentile", 0, CLI_DOUBLE_POS, &d->percentile, "P",
         "euclidean ground truth: distance percentile among 2,000 training rows (5)"},
        {"seed", 0, CLI_U64, &d->seed, "S",
         "seed of the initialisation and every random choice; of the split too unless "
         "--split-seed (1)"},
        {"split-seed", 0, CLI_U64, &d->split_seed, "S",
         "seed of the split alone (default: --seed), so one can vary with the other fixed"},
    };
    memcpy(o, opts, sizeof opts);
}

static bool is_named(const char *s)
{
    static const char *const names[] = {"fashion-mnist", "cifar10-gist", "cifar10-cnn", "scene"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(s, names[i]) == 0) return true;
    return false;
}

static int load_all(const cli_data_opts *d, cli_data *out)
{
    l2h_status st;
    if (is_named(d->data)) {
        st = l2h_dataset_load_named(&out->all, d->data, &out->n_train_named);
        if (st != L2H_OK) return cli_fail(st, "loading dataset");
    } else {
        l2h_read_params rp = l2h_read_default_params();
        if (d->format) {
            st = l2h_format_parse(d->format, &rp.format);
            if (st != L2H_OK) return cli_fail(st, "--format");
        }
        rp.dim = d->dim;
        /* an explicit --n-labels 0: trailing {0,1} attributes are features */
        rp.n_labels = cli_given("n-labels") && d->n_labels == 0 ? L2H_ARFF_NO_LABELS : d->n_labels;
        st = l2h_dataset_read(&out->all, d->data, &rp);
        if (st != L2H_OK) return cli_fail(st, "reading data");
    }
    if (d->labels) {
        l2h_read_params lp = l2h_read_default_params();
        st = l2h_dataset_read_labels(out->all, d->labels, &lp);
        if (st != L2H_OK) return cli_fail(st, "reading labels");
    }
    return CLI_OK;
}

static int make_split(const cli_data_opts *d, cli_data *out)
{
    const size_t n = l2h_dataset_n(out->all);
    l2h_status st;
    if (strcmp(d->split, "1") == 0) {
        if (l2h_dataset_label_kind(out->all) != L2H_LABELS_SINGLE) {
            fprintf(stderr, "l2h: error: split 1 draws queries and training items per class and "
                            "needs single labels; use --split random (or 2)\n");
            return CLI_USAGE;
        }
        st = l2h_split_per_class(&out->split, out->all, d->q_per_class, d->t_per_class,
                                 cli_split_seed(d));
    } else if (strcmp(d->split, "2") == 0) {
        const size_t first = d->test_from ? d->test_from : out->n_train_named;
        if (first == 0) {
            fprintf(stderr, "l2h: error: split 2 needs --test-from ROW for a file dataset\n");
            return CLI_USAGE;
        }
        st = l2h_split_holdout(&out->split, n, first);
    } else if (strcmp(d->split, "random") == 0) {
        st = l2h_split_random(&out->split, n, d->n_query, d->n_train, cli_split_seed(d));
    } else {
        fprintf(stderr, "l2h: error: unknown --split '%s' (1, 2, random or none)\n", d->split);
        return CLI_USAGE;
    }
    if (st != L2H_OK) return cli_fail(st, "making the split");
    st = l2h_dataset_subset(&out->train, out->all, l2h_split_train(out->split),
                            l2h_split_n_train(out->split));
    if (st == L2H_OK)
        st = l2h_dataset_subset(&out->query, out->all, l2h_split_query(out->split),
                                l2h_split_n_query(out->split));
    if (st == L2H_OK)
        st = l2h_dataset_subset(&out->db, out->all, l2h_split_db(out->split),
                                l2h_split_n_db(out->split));
    if (st != L2H_OK) return cli_fail(st, "building the split");
    return CLI_OK;
}

/* Options of one protocol given with another are usage errors (they would be ignored). */
static int check_protocol_options(const cli_data_opts *d)
{
    static const struct {
        const char *opt, *split;
    } only[] = {{"queries-per-class", "1"}, {"train-per-class", "1"}, {"test-from", "2"},
                {"n-query", "random"},      {"n-train", "random"}};
    for (size_t i = 0; i < sizeof only / sizeof only[0]; i++)
        if (cli_given(only[i].opt) && strcmp(d->split, only[i].split) != 0) {
            fprintf(stderr, "l2h: error: --%s applies to --split %s only, not to --split %s\n",
                    only[i].opt, only[i].split, d->split);
            return CLI_USAGE;
        }
    if (cli_given("percentile") && d->gt && strcmp(d->gt, "euclidean") != 0) {
        fprintf(stderr, "l2h: error: --percentile applies to --ground-truth euclidean only\n");
        return CLI_USAGE;
    }
    if (d->format) {
        l2h_format f;
        if (l2h_format_parse(d->format, &f) != L2H_OK) {
            fprintf(stderr, "l2h: error: unknown --format '%s' (fvecs bvecs ivecs npy idx f32 "
                            "f16 u8 arff)\n", d->format);
            return CLI_USAGE;
        }
    }
    return CLI_OK;
}

int cli_data_load(const cli_data_opts *d, bool need_split, cli_data *out)
{
    memset(out, 0, sizeof *out);
    const int pr = check_protocol_options(d);
    if (pr != CLI_OK) return pr;
    int r = load_all(d, out);
    if (r != CLI_OK) return r;
    const bool none = strcmp(d->split, "none") == 0;
    if (none && need_split) {
        fprintf(stderr, "l2h: error: this command needs queries and a database: --split none "
                        "is not possible here\n");
        return CLI_USAGE;
    }
    if (none) {
        const size_t n = l2h_dataset_n(out->all);
        size_t *rows = malloc(n * sizeof *rows);
        if (!rows) return CLI_ERR;
        for (size_t i = 0; i < n; i++) rows[i] = i;
        const l2h_status st = l2h_dataset_subset(&out->train, out->all, rows, n);
        free(rows);
        if (st != L2H_OK) return cli_fail(st, "copying the data");
    } else {
        r = make_split(d, out);
        if (r != CLI_OK) return r;
    }
    snprintf(out->description, sizeof out->description,
             "%s: %zu rows x %zu dims, split %s (seed %llu): %zu train, %zu queries, %zu database",
             d->data, l2h_dataset_n(out->all), l2h_dataset_dim(out->all), d->split,
             (unsigned long long)cli_split_seed(d), l2h_dataset_n(out->train),
             out->query ? l2h_dataset_n(out->query) : 0, out->db ? l2h_dataset_n(out->db) : 0);
    return CLI_OK;
}

void cli_data_free(cli_data *d)
{
    l2h_dataset_free(d->all);
    l2h_dataset_free(d->train);
    l2h_dataset_free(d->query);
    l2h_dataset_free(d->db);
    l2h_split_free(d->split);
    memset(d, 0, sizeof *d);
}

int cli_groundtruth(const cli_data_opts *d, const cli_data *data, l2h_groundtruth **gt)
{
    const bool labelled = l2h_dataset_label_kind(data->all) != L2H_LABELS_NONE;
    const bool euclid = d->gt ? strcmp(d->gt, "euclidean") == 0 : !labelled;
    if (d->gt && !euclid && strcmp(d->gt, "labels") != 0) {
        fprintf(stderr, "l2h: error: unknown --ground-truth '%s' (labels or euclidean)\n", d->gt);
        return CLI_USAGE;
    }
    l2h_status st;
    if (euclid) {
        float thr;
        st = l2h_distance_percentile(data->train, 2000, d->percentile, d->seed, &thr);
        if (st != L2H_OK) return cli_fail(st, "ground-truth threshold");
        st = l2h_groundtruth_euclidean(gt, data->query, data->db, thr);
    } else {
        if (!labelled) {
            fprintf(stderr, "l2h: error: --ground-truth labels needs labelled data\n");
            return CLI_USAGE;
        }
        st = l2h_groundtruth_from_labels(gt, data->query, data->db);
    }
    if (st != L2H_OK) return cli_fail(st, "ground truth");
    return CLI_OK;
}

/* ---- the split a model was trained on (issue 14, item 8) -------------------------------- */

static const char *const split_opts[] = {"split", "split-seed", "seed", "queries-per-class",
                                         "train-per-class", "n-query", "n-train", "test-from"};

int cli_record_split(const cli_data_opts *d, l2h_model *m)
{
    char v[64];
    l2h_status st = l2h_model_set_provenance(m, "train.split", d->split);
    snprintf(v, sizeof v, "%llu", (unsigned long long)cli_split_seed(d));
    if (st == L2H_OK) st = l2h_model_set_provenance(m, "train.split_seed", v);
    const size_t nums[4] = {d->q_per_class, d->t_per_class, d->n_query, d->n_train};
    static const char *const keys[4] = {"train.queries_per_class", "train.train_per_class",
                                        "train.n_query", "train.n_train"};
    for (int i = 0; i < 4 && st == L2H_OK; i++) {
        snprintf(v, sizeof v, "%zu", nums[i]);
        st = l2h_model_set_provenance(m, keys[i], v);
    }
    snprintf(v, sizeof v, "%zu", d->test_from);
    if (st == L2H_OK) st = l2h_model_set_provenance(m, "train.test_from", v);
    return st == L2H_OK ? CLI_OK : cli_fail(st, "recording the split in the model");
}

static bool any_split_option_given(void)
{
    for (size_t i = 0; i < sizeof split_opts / sizeof split_opts[0]; i++)
        if (cli_given(split_opts[i])) return true;
    return false;
}

static size_t meta_size(const l2h_model *m, const char *key, size_t fallback)
{
    const char *v = l2h_model_meta(m, key);
    if (!v || !v[0]) return fallback;
    char *end;
    const unsigned long long x = strtoull(v, &end, 10);
    return *end ? fallback : (size_t)x;
}

static void apply_record(cli_data_opts *d, const l2h_model *m)
{
    const char *split = l2h_model_meta(m, "train.split");
    if (!split || !split[0]) return;
    static char split_buf[16];
    snprintf(split_buf, sizeof split_buf, "%s", split);
    d->split = split_buf;
    const char *s = l2h_model_meta(m, "train.split_seed");
    if (s && s[0]) d->split_seed = strtoull(s, NULL, 10);
    d->q_per_class = meta_size(m, "train.queries_per_class", d->q_per_class);
    d->t_per_class = meta_size(m, "train.train_per_class", d->t_per_class);
    d->n_query = meta_size(m, "train.n_query", d->n_query);
    d->n_train = meta_size(m, "train.n_train", d->n_train);
    d->test_from = meta_size(m, "train.test_from", d->test_from);
}

void cli_apply_recorded_split(cli_data_opts *d, const l2h_model *m)
{
    /* no split option given: evaluate on the split the model was trained on */
    if (!any_split_option_given()) apply_record(d, m);
}

int cli_check_split_leak(const cli_data_opts *d, const l2h_model *m, const cli_data *data,
                         bool force)
{
    const char *split = l2h_model_meta(m, "train.split");
    if (!split || !split[0] || !data->split) return CLI_OK; /* a model without a record */
    /* rebuild the training rows of the recorded split and look for them among the queries */
    cli_data_opts rec = *d;
    cli_data_defaults(&rec);
    rec.data = d->data;
    apply_record(&rec, m);
    if (strcmp(rec.split, "none") == 0) return CLI_OK; /* trained on everything: nothing held out */
    l2h_split *train_split = NULL;
    const size_t n = l2h_dataset_n(data->all);
    l2h_status st;
    const size_t first = rec.test_from ? rec.test_from : data->n_train_named;
    if (strcmp(rec.split, "1") == 0)
        st = l2h_split_per_class(&train_split, data->all, rec.q_per_class, rec.t_per_class,
                                 cli_split_seed(&rec));
    else if (strcmp(rec.split, "2") == 0 && first > 0)
        st = l2h_split_holdout(&train_split, n, first);
    else if (strcmp(rec.split, "random") == 0)
        st = l2h_split_random(&train_split, n, rec.n_query, rec.n_train, cli_split_seed(&rec));
    else
        st = L2H_ERR_ARG;
    size_t overlap = 0;
    if (st == L2H_OK) {
        unsigned char *is_train = calloc(n ? n : 1, 1);
        if (!is_train) {
            l2h_split_free(train_split);
            return cli_fail(L2H_ERR_NOMEM, "checking the split");
        }
        const size_t *tr = l2h_split_train(train_split);
        for (size_t i = 0; i < l2h_split_n_train(train_split); i++)
            if (tr[i] < n) is_train[tr[i]] = 1;
        const size_t *q = l2h_split_query(data->split);
        for (size_t i = 0; i < l2h_split_n_query(data->split); i++)
            overlap += q[i] < n && is_train[q[i]];
        free(is_train);
    }
    l2h_split_free(train_split);
    if (st != L2H_OK) {
        fprintf(stderr, "l2h: %s: the model records split %s, which cannot be rebuilt on this "
                        "data; the queries cannot be checked for training rows\n",
                force ? "warning" : "error", rec.split);
        return force ? CLI_OK : CLI_USAGE;
    }
    if (overlap == 0) return CLI_OK;
    const size_t nq = l2h_split_n_query(data->split);
    if (!force) {
        fprintf(stderr,
                "l2h: error: %zu of the %zu queries are rows the model was trained on (it records "
                "--split %s --split-seed %s); the scores would be inflated. Evaluate without split "
                "options to use the recorded split, or pass --force to evaluate anyway\n",
                overlap, nq, rec.split, l2h_model_meta(m, "train.split_seed"));
        return CLI_USAGE;
    }
    fprintf(stderr,
            "l2h: WARNING: --force: %zu of the %zu queries are TRAINING ROWS of this model; the "
            "scores below are inflated and not comparable\n",
            overlap, nq);
    return CLI_OK;
}
