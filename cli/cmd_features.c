/* cmd_features.c -- `l2h features`: photos (folders, list files, globs, single files) -> the
 * MobileNet-v1 CNN feature matrix (.npy, uint8, n x 1024) plus the paths in row order (and,
 * optionally, class labels from the parent folder names). */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DEFAULT_MODEL "mobilenet-v1/mobilenet_v1_1.0_224_quant_embedding_extractor.tflite"

typedef struct path_list {
    char **v;
    size_t n, cap;
} path_list;

static int list_add(path_list *l, const char *p)
{
    if (l->n == l->cap) {
        const size_t cap = l->cap ? 2 * l->cap : 256;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v) return 0;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n] = strdup(p);
    if (!l->v[l->n]) return 0;
    l->n++;
    return 1;
}

static void list_free(path_list *l)
{
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
}

static int is_image_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot) return 0;
    return strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0 ||
           strcasecmp(dot, ".png") == 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every .jpg/.jpeg/.png under dir (recursively), sorted by path. */
static int walk(const char *dir, path_list *out, int depth)
{
    if (depth > 32) {
        fprintf(stderr, "l2h: error: %s: folders nested too deep\n", dir);
        return CLI_ERR;
    }
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "l2h: error: %s: %s\n", dir, strerror(errno));
        return CLI_ERR;
    }
    path_list here = {0};
    struct dirent *e;
    int r = CLI_OK;
    while (r == CLI_OK && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char *p = malloc(strlen(dir) + strlen(e->d_name) + 2);
        if (!p) {
            r = CLI_ERR;
            break;
        }
        sprintf(p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(p, &st) == 0 && (S_ISDIR(st.st_mode) || is_image_name(e->d_name)))
            if (!list_add(&here, p)) r = CLI_ERR;
        free(p);
    }
    closedir(d);
    qsort(here.v, here.n, sizeof *here.v, cmp_str);
    for (size_t i = 0; r == CLI_OK && i < here.n; i++) {
        struct stat st;
        if (stat(here.v[i], &st) == 0 && S_ISDIR(st.st_mode)) r = walk(here.v[i], out, depth + 1);
        else if (!list_add(out, here.v[i])) r = CLI_ERR;
    }
    list_free(&here);
    return r;
}

static int add_arg(const char *a, path_list *out)
{
    struct stat st;
    if (stat(a, &st) == 0) {
        if (S_ISDIR(st.st_mode)) return walk(a, out, 0);
        return list_add(out, a) ? CLI_OK : CLI_ERR;
    }
    if (strpbrk(a, "*?[")) { /* a quoted glob: expand it ourselves */
        glob_t g;
        const int gr = glob(a, 0, NULL, &g);
        if (gr == GLOB_NOMATCH) {
            fprintf(stderr, "l2h: error: no file matches '%s'\n", a);
            return CLI_ERR;
        }
        int r = gr == 0 ? CLI_OK : CLI_ERR;
        for (size_t i = 0; r == CLI_OK && i < g.gl_pathc; i++) r = add_arg(g.gl_pathv[i], out);
        globfree(&g);
        return r;
    }
    fprintf(stderr, "l2h: error: %s: %s\n", a, strerror(errno));
    return CLI_ERR;
}

/* A list file: one path per line (blank lines and lines starting with # skipped); relative
 * paths are taken relative to `root` when given. A tab ends the path (so rows.txt-style
 * "path<TAB>row" files work). */
static int add_list(const char *file, const char *root, path_list *out)
{
    FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
    if (!f) {
        fprintf(stderr, "l2h: error: %s: %s\n", file, strerror(errno));
        return CLI_ERR;
    }
    char line[4096];
    int r = CLI_OK;
    size_t ln = 0;
    while (r == CLI_OK && fgets(line, sizeof line, f)) {
        ln++;
        const size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            fprintf(stderr, "l2h: error: %s:%zu: line too long\n", file, ln);
            r = CLI_ERR;
            break;
        }
        line[strcspn(line, "\t\r\n")] = 0;
        if (line[0] == 0 || line[0] == '#') continue;
        if (root && line[0] != '/') {
            char *p = malloc(strlen(root) + strlen(line) + 2);
            if (!p) {
                r = CLI_ERR;
                break;
            }
            sprintf(p, "%s/%s", root, line);
            if (!list_add(out, p)) r = CLI_ERR;
            free(p);
        } else if (!list_add(out, line)) r = CLI_ERR;
    }
    if (f != stdin) fclose(f);
    return r;
}

typedef struct progress_state {
    double t0, last;
} progress_state;

/* At most one line per second (every line is kept when stderr is not a terminal). */
static void progress_cb(size_t done, size_t total, void *ctx)
{
    progress_state *ps = ctx;
    const double t = cli_now(), dt = t - ps->t0;
    if (done < total && t - ps->last < 1.0) return;
    ps->last = t;
    cli_progress("features: %zu/%zu images (%.0f%%), %.1f images/s", done, total,
                 100.0 * (double)done / (double)(total ? total : 1), dt > 0 ? done / dt : 0.0);
}

/* Class of a path = its parent folder's name; ids by sorted name. */
static int write_labels(const char *path, char **paths, size_t n)
{
    char **names = calloc(n ? n : 1, sizeof *names);
    uint8_t *lab = malloc(n ? n : 1);
    size_t k = 0;
    int r = names && lab ? CLI_OK : CLI_ERR;
    for (size_t i = 0; r == CLI_OK && i < n; i++) {
        const char *end = strrchr(paths[i], '/');
        const char *beg = end;
        while (beg && beg > paths[i] && beg[-1] != '/') beg--;
        names[i] = end ? strndup(beg, (size_t)(end - beg)) : strdup(".");
        if (!names[i]) r = CLI_ERR;
    }
    char **uniq = r == CLI_OK ? malloc((n ? n : 1) * sizeof *uniq) : NULL;
    if (r == CLI_OK && uniq) {
        memcpy(uniq, names, n * sizeof *uniq);
        qsort(uniq, n, sizeof *uniq, cmp_str);
        for (size_t i = 0; i < n; i++)
            if (k == 0 || strcmp(uniq[k - 1], uniq[i]) != 0) uniq[k++] = uniq[i];
        if (k > 256) {
            fprintf(stderr, "l2h: error: --labels: %zu classes, at most 256 supported\n", k);
            r = CLI_ERR;
        }
        for (size_t i = 0; r == CLI_OK && i < n; i++) {
            char **hit = bsearch(&names[i], uniq, k, sizeof *uniq, cmp_str);
            lab[i] = (uint8_t)(hit - uniq);
        }
        if (r == CLI_OK) {
            const l2h_status st = l2h_codes_write_npy(path, lab, n, 8);
            if (st != L2H_OK) r = cli_fail(st, "writing the labels");
            else {
                fprintf(stderr, "features: %zu classes from folder names:", k);
                for (size_t i = 0; i < k && i < 12; i++) fprintf(stderr, " %zu=%s", i, uniq[i]);
                fprintf(stderr, "%s\n", k > 12 ? " ..." : "");
            }
        }
    } else r = CLI_ERR;
    for (size_t i = 0; names && i < n; i++) free(names[i]);
    free(names);
    free(uniq);
    free(lab);
    return r;
}

int cmd_features(int argc, char **argv)
{
    const char *model = NULL, *output = NULL, *paths_out = NULL, *list = NULL, *root = NULL;
    const char *labels = NULL, *arith = "tflite", *block_out = NULL;
    size_t threads = 0;
    const cli_opt opts[] = {
        {"output", 'o', CLI_STR, &output, "FILE.npy", "feature matrix to write (required)"},
        {"paths", 0, CLI_STR, &paths_out, "FILE",
         "where to write the image paths in row order (default: OUTPUT with .txt)"},
        {"list", 'l', CLI_STR, &list, "FILE", "read image paths from FILE, one per line (- = stdin)"},
        {"root", 0, CLI_STR, &root, "DIR", "folder that relative paths of --list are under"},
        {"labels", 0, CLI_STR, &labels, "FILE.npy",
         "also write class ids from the parent folder names (uint8 .npy, for --labels)"},
        {"model", 'm', CLI_STR, &model, "FILE.tflite",
         "network (default: $L2H_DATA_DIR or ../shared/data, + " DEFAULT_MODEL ")"},
        {"arithmetic", 0, CLI_STR, &arith, "tflite|float",
         "requantisation: TFLite fixed point (default) or float, as the shared features"},
        {"threads", 't', CLI_SIZE, &threads, "N", "threads (default: all cores)"},
        {"block-input", 0, CLI_STR, &block_out, "FILE.npy",
         "also write each image's input of the last block (n x 1024*7*7 uint8, channel-major; "
         "l2h finetune trains that block from it)"},
    };
    const char *pos[64];
    int n_pos = 0;
    int r = cli_parse(argc, argv, opts, sizeof opts / sizeof opts[0],
                      "l2h features -o FEATURES.npy [IMAGE|FOLDER|'GLOB' ...] [--list FILE]",
                      "Decodes JPEG/PNG photos, resizes them bilinearly to 224x224 and runs the "
                      "uint8 MobileNet-v1 network on them; writes\nthe 1024-byte global-average-"
                      "pooled features as an n x 1024 uint8 .npy (real value = byte x 6/255) and "
                      "the paths in\nrow order. Folders are searched recursively for .jpg/.jpeg/"
                      ".png files, sorted by path. Every command that reads data\naccepts the .npy "
                      "(e.g. l2h train --data FEATURES.npy --labels LABELS.npy).",
                      pos, 64, &n_pos);
    if (r != CLI_OK) return r == CLI_HELP ? CLI_OK : r;
    if (!output) return cli_usage_error("features", "--output is required");
    if (n_pos == 0 && !list)
        return cli_usage_error("features", "give images, folders, globs or --list FILE");
    l2h_cnn_arithmetic ar;
    if (strcmp(arith, "tflite") == 0) ar = L2H_CNN_TFLITE;
    else if (strcmp(arith, "float") == 0) ar = L2H_CNN_FLOAT_REQUANT;
    else return cli_usage_error("features", "--arithmetic must be tflite or float");
    if (threads > 0) l2h_set_threads((int)threads);

    char model_buf[4096];
    if (!model) {
        const char *dir = getenv("L2H_DATA_DIR");
        snprintf(model_buf, sizeof model_buf, "%s/%s", dir && *dir ? dir : "../shared/data",
                 DEFAULT_MODEL);
        model = model_buf;
    }
    path_list paths = {0};
    for (int i = 0; r == CLI_OK && i < n_pos; i++) r = add_arg(pos[i], &paths);
    if (r == CLI_OK && list) r = add_list(list, root, &paths);
    if (r == CLI_OK && paths.n == 0) {
        fprintf(stderr, "l2h: error: no images found\n");
        r = CLI_ERR;
    }
    l2h_cnn *net = NULL;
    if (r == CLI_OK) {
        const l2h_status st = l2h_cnn_load(model, &net);
        if (st != L2H_OK) r = cli_fail(st, "loading the network");
        else if (l2h_cnn_set_arithmetic(net, ar) != L2H_OK) r = cli_fail(L2H_ERR_ARG, "arithmetic");
    }
    uint8_t *feat = NULL, *block = NULL;
    const size_t dim = net ? l2h_cnn_feature_dim(net) : 0;
    size_t block_dim = 0;
    if (r == CLI_OK && !(feat = malloc(paths.n * dim))) {
        fprintf(stderr, "l2h: error: out of memory for %zu features\n", paths.n);
        r = CLI_ERR;
    }
    if (r == CLI_OK && block_out) {
        l2h_cnn_block bi;
        const l2h_status st = l2h_cnn_last_block(net, &bi, NULL, NULL, NULL, NULL);
        if (st != L2H_OK) r = cli_fail(st, "--block-input");
        else {
            block_dim = bi.channels * bi.height * bi.width;
            if (paths.n > SIZE_MAX / block_dim || !(block = malloc(paths.n * block_dim))) {
                fprintf(stderr, "l2h: error: out of memory for %zu block inputs of %zu bytes\n",
                        paths.n, block_dim);
                r = CLI_ERR;
            }
        }
    }
    if (r == CLI_OK) {
        progress_state ps = {cli_now(), 0};
        const double t0 = ps.t0;
        size_t bad = 0;
        const l2h_status st = l2h_cnn_features_files_tap(net, (const char *const *)paths.v,
                                                         paths.n, feat, block, progress_cb, &ps,
                                                         &bad);
        cli_progress_done();
        if (st != L2H_OK) r = cli_fail(st, "computing features");
        else {
            const double dt = cli_now() - t0;
            fprintf(stderr, "features: %zu images in %.1f s (%.1f images/s, %d threads)\n",
                    paths.n, dt, dt > 0 ? paths.n / dt : 0.0, l2h_threads());
        }
    }
    if (r == CLI_OK) {
        const l2h_status st = l2h_codes_write_npy(output, feat, paths.n, dim * 8);
        if (st != L2H_OK) r = cli_fail(st, "writing the features");
    }
    if (r == CLI_OK && block) {
        const l2h_status st = l2h_codes_write_npy(block_out, block, paths.n, block_dim * 8);
        if (st != L2H_OK) r = cli_fail(st, "writing the block inputs");
        else
            fprintf(stderr, "features: wrote %s (%zu x %zu uint8)\n", block_out, paths.n,
                    block_dim);
    }
    char txt[4096];
    if (r == CLI_OK) {
        if (!paths_out) {
            const char *dot = strrchr(output, '.'), *slash = strrchr(output, '/');
            const size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - output) : strlen(output);
            snprintf(txt, sizeof txt, "%.*s.txt", (int)stem, output);
            paths_out = txt;
        }
        FILE *f = fopen(paths_out, "w");
        if (!f) {
            fprintf(stderr, "l2h: error: %s: %s\n", paths_out, strerror(errno));
            r = CLI_ERR;
        } else {
            for (size_t i = 0; i < paths.n; i++) fprintf(f, "%s\n", paths.v[i]);
            if (fclose(f) != 0) {
                fprintf(stderr, "l2h: error: writing %s failed\n", paths_out);
                r = CLI_ERR;
            }
        }
    }
    if (r == CLI_OK && labels) r = write_labels(labels, paths.v, paths.n);
    if (r == CLI_OK)
        fprintf(stderr, "features: wrote %s (%zu x %zu uint8) and %s\n", output, paths.n, dim,
                paths_out);
    free(feat);
    free(block);
    l2h_cnn_free(net);
    list_free(&paths);
    return r;
}
