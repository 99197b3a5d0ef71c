/* io_named.c -- datasets known by name, read from where Debian or the project puts them.
 *
 *   fashion-mnist  $L2H_FASHION_MNIST_DIR or /usr/share/datasets/fashion-mnist (Debian package
 *                  dataset-fashion-mnist): {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz];
 *                  70,000 x 784, pixel / 255, train rows first; n_train = 60,000
 *   cifar10-gist   <data>/cifar10/cifar10_gist512.f16: 60,000 x 512 float16; n_train = 50,000
 *   cifar10-cnn    <data>/cifar10/cifar10_mobilenetv1_1024.u8: 60,000 x 1024, byte x 0.023528
 *                  (both with <data>/cifar10/cifar10_labels.u8, one class byte per row)
 *   scene          <data>/scene/scene-train.arff then scene-test.arff, 294 features and 6
 *                  labels (multi-label); n_train = rows of scene-train.arff (1,211)
 * <data> is found by these rules, in order (docs/io.md, "Named datasets"):
 *   1. $L2H_DATA_DIR, alone, if set and non-empty;
 *   2. ../shared/data relative to the working directory (a run from the checkout's root);
 *   3. ../shared/data relative to the checkout (or install prefix) of the running program: for
 *      each of the first four ancestors A of the folder holding the executable (as
 *      /proc/self/exe names it), A/../shared/data. A binary in <checkout>/build/release finds
 *      <checkout>/../shared/data; one in <prefix>/bin finds <prefix>/../shared/data.
 * No absolute path of any machine is built in. */
#include "io_read.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PATH_CAP 4096
#define FASHION_DEFAULT_DIR "/usr/share/datasets/fashion-mnist"
#define CIFAR_ROWS 60000
#define CIFAR_TRAIN 50000
#define CIFAR_CNN_SCALE 0.023528f
#define SCENE_LABELS 6

static int is_file(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static l2h_status join(char *out, const char *dir, const char *file)
{
    const int n = snprintf(out, PATH_CAP, "%s/%s", dir, file);
    L2H_FAIL_IF(n < 0 || n >= PATH_CAP, L2H_ERR_ARG, "%s/%s: path too long", dir, file);
    return L2H_OK;
}

/* ---- fashion-mnist ---------------------------------------------------------------------- */

static l2h_status fashion_path(const char *dir, const char *base, char *path)
{
    char gz[PATH_CAP];
    L2H_TRY(join(path, dir, base));
    L2H_TRY(join(gz, dir, base));
    L2H_FAIL_IF(strlen(gz) + 3 >= PATH_CAP, L2H_ERR_ARG, "%s: path too long", gz);
    strcat(gz, ".gz");
    if (is_file(gz)) {
        strcpy(path, gz);
        return L2H_OK;
    }
    L2H_FAIL_IF(!is_file(path), L2H_ERR_IO,
                "fashion-mnist: %s not found (nor %s); run `apt-get install "
                "dataset-fashion-mnist`, or set L2H_FASHION_MNIST_DIR to the folder that holds "
                "{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz",
                gz, path);
    return L2H_OK;
}

typedef struct fashion_parts {
    l2h_mat_view img[2], lab[2]; /* train, test */
    char img_path[2][PATH_CAP], lab_path[2][PATH_CAP];
} fashion_parts;

static l2h_status fashion_open(const char *dir, fashion_parts *fp)
{
    static const char *const img[2] = {"train-images-idx3-ubyte", "t10k-images-idx3-ubyte"};
    static const char *const lab[2] = {"train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"};
    for (int s = 0; s < 2; s++) {
        L2H_TRY(fashion_path(dir, img[s], fp->img_path[s]));
        L2H_TRY(fashion_path(dir, lab[s], fp->lab_path[s]));
    }
    for (int s = 0; s < 2; s++) {
        L2H_TRY(l2h_view_file(fp->img_path[s], L2H_FORMAT_IDX, 0, 0, &fp->img[s]));
        L2H_TRY(l2h_view_file(fp->lab_path[s], L2H_FORMAT_IDX, 0, 0, &fp->lab[s]));
        L2H_FAIL_IF(fp->img[s].one_d || fp->img[s].rows == 0, L2H_ERR_FORMAT,
                    "%s: expected a non-empty IDX image file", fp->img_path[s]);
        L2H_FAIL_IF(!fp->lab[s].one_d || fp->lab[s].rows != fp->img[s].rows, L2H_ERR_FORMAT,
                    "%s: expected %zu labels (one per image of %s), found %zu x %zu",
                    fp->lab_path[s], fp->img[s].rows, fp->img_path[s], fp->lab[s].rows,
                    fp->lab[s].cols);
    }
    L2H_FAIL_IF(fp->img[0].cols != fp->img[1].cols, L2H_ERR_FORMAT,
                "%s: images of %zu pixels, but %s has %zu", fp->img_path[1], fp->img[1].cols,
                fp->img_path[0], fp->img[0].cols);
    return L2H_OK;
}

static l2h_status fashion_build(fashion_parts *fp, l2h_dataset **out, size_t *n_train)
{
    const size_t n0 = fp->img[0].rows, n = n0 + fp->img[1].rows, dim = fp->img[0].cols;
    l2h_dataset *ds;
    L2H_TRY(l2h_dataset_create(&ds, n, dim, NULL));
    l2h_status st = L2H_OK;
    int32_t *labels = l2h_malloc_array(n, sizeof *labels);
    if (!labels) L2H_FAIL_GOTO(L2H_ERR_NOMEM, "fashion-mnist: out of memory");
    L2H_CHECK_GOTO(l2h_view_to_float(&fp->img[0], fp->img_path[0], ds->x));
    L2H_CHECK_GOTO(l2h_view_to_float(&fp->img[1], fp->img_path[1], ds->x + n0 * dim));
    for (size_t i = 0; i < n * dim; i++) ds->x[i] /= 255.0f;
    L2H_CHECK_GOTO(l2h_view_to_classes(&fp->lab[0], fp->lab_path[0], labels));
    L2H_CHECK_GOTO(l2h_view_to_classes(&fp->lab[1], fp->lab_path[1], labels + n0));
    L2H_CHECK_GOTO(l2h_dataset_set_labels(ds, labels));
    *out = ds;
    ds = NULL;
    if (n_train) *n_train = n0;
done:
    l2h_free(labels);
    l2h_dataset_free(ds);
    return st;
}

static l2h_status load_fashion(l2h_dataset **out, size_t *n_train)
{
    const char *env = getenv("L2H_FASHION_MNIST_DIR");
    const char *dir = (env && *env) ? env : FASHION_DEFAULT_DIR;
    fashion_parts *fp = l2h_calloc(1, sizeof *fp);
    L2H_NOMEM_IF_NULL(fp);
    l2h_status st = fashion_open(dir, fp);
    if (st == L2H_OK) st = fashion_build(fp, out, n_train);
    for (int s = 0; s < 2; s++) {
        l2h_view_free(&fp->img[s]);
        l2h_view_free(&fp->lab[s]);
    }
    l2h_free(fp);
    return st;
}

/* ---- the project's shared data folder ----------------------------------------------------- */

/* Candidate roots: $L2H_DATA_DIR alone, else ../shared/data and the checkout-relative ones. */
#define MAX_ROOTS 6
static size_t data_roots(char roots[MAX_ROOTS][PATH_CAP])
{
    const char *env = getenv("L2H_DATA_DIR");
    if (env && *env) {
        snprintf(roots[0], PATH_CAP, "%s", env);
        return 1;
    }
    size_t n = 0;
    snprintf(roots[n++], PATH_CAP, "../shared/data");
    char exe[PATH_CAP];
    const ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0) return n;
    exe[len] = '\0';
    for (int up = 0; up < 4 && n < MAX_ROOTS; up++) {
        char *slash = strrchr(exe, '/');
        if (!slash || slash == exe) break;
        *slash = '\0'; /* exe is now the next ancestor folder */
        const int w = snprintf(roots[n], PATH_CAP, "%s/../shared/data", exe);
        if (w > 0 && w < PATH_CAP) n++;
    }
    return n;
}

/* Folder <data>/<sub> holding `probe`, trying the roots of data_roots in order. */
static l2h_status find_data_dir(const char *dataset, const char *sub, const char *probe,
                                char *dir)
{
    char roots[MAX_ROOTS][PATH_CAP];
    const size_t n_roots = data_roots(roots);
    char tried[1024] = "";
    for (size_t r = 0; r < n_roots; r++) {
        char probe_path[PATH_CAP];
        L2H_TRY(join(dir, roots[r], sub));
        L2H_TRY(join(probe_path, dir, probe));
        if (is_file(probe_path)) return L2H_OK;
        const size_t used = strlen(tried), room = sizeof tried - used;
        if (room > 8) snprintf(tried + used, room, "%s%.*s", r ? ", " : "", (int)(room - 3),
                               probe_path);
    }
    L2H_FAIL(L2H_ERR_IO,
             "%s: data files not found (tried %s); set L2H_DATA_DIR to the folder that holds "
             "%s/%s",
             dataset, tried, sub, probe);
}

static l2h_status load_cifar(l2h_dataset **out, size_t *n_train, int cnn)
{
    const char *dataset = cnn ? "cifar10-cnn" : "cifar10-gist";
    const char *file = cnn ? "cifar10_mobilenetv1_1024.u8" : "cifar10_gist512.f16";
    char dir[PATH_CAP], path[PATH_CAP], lpath[PATH_CAP];
    L2H_TRY(find_data_dir(dataset, "cifar10", file, dir));
    L2H_TRY(join(path, dir, file));
    L2H_TRY(join(lpath, dir, "cifar10_labels.u8"));
    l2h_read_params p = l2h_read_default_params();
    p.format = cnn ? L2H_FORMAT_U8 : L2H_FORMAT_F16;
    p.dim = cnn ? 1024 : 512;
    l2h_dataset *ds;
    L2H_TRY(l2h_dataset_read(&ds, path, &p));
    l2h_status st = L2H_OK;
    if (ds->n != CIFAR_ROWS)
        L2H_FAIL_GOTO(L2H_ERR_FORMAT, "%s: %zu rows, expected %d", path, ds->n, CIFAR_ROWS);
    if (cnn)
        for (size_t i = 0; i < ds->n * ds->dim; i++) ds->x[i] *= CIFAR_CNN_SCALE;
    l2h_read_params lp = l2h_read_default_params();
    lp.format = L2H_FORMAT_U8;
    lp.dim = 1;
    L2H_CHECK_GOTO(l2h_dataset_read_labels(ds, lpath, &lp));
    *out = ds;
    ds = NULL;
    if (n_train) *n_train = CIFAR_TRAIN;
done:
    l2h_dataset_free(ds);
    return st;
}

/* rows of a followed by rows of b (same dim, same label kind). */
static l2h_status concat(const l2h_dataset *a, const l2h_dataset *b, l2h_dataset **out)
{
    L2H_FAIL_IF(a->dim != b->dim || a->n_labels != b->n_labels, L2H_ERR_FORMAT,
                "scene: train and test files disagree (%zu+%zu vs %zu+%zu attributes)", a->dim,
                a->n_labels, b->dim, b->n_labels);
    l2h_dataset *ds;
    L2H_TRY(l2h_dataset_create(&ds, a->n + b->n, a->dim, NULL));
    memcpy(ds->x, a->x, a->n * a->dim * sizeof(float));
    memcpy(ds->x + a->n * a->dim, b->x, b->n * b->dim * sizeof(float));
    ds->multi = l2h_malloc_array(ds->n, a->n_labels);
    if (!ds->multi) {
        l2h_dataset_free(ds);
        L2H_FAIL(L2H_ERR_NOMEM, "scene: out of memory");
    }
    memcpy(ds->multi, a->multi, a->n * a->n_labels);
    memcpy(ds->multi + a->n * a->n_labels, b->multi, b->n * b->n_labels);
    ds->label_kind = L2H_LABELS_MULTI;
    ds->n_labels = a->n_labels;
    *out = ds;
    return L2H_OK;
}

static l2h_status load_scene(l2h_dataset **out, size_t *n_train)
{
    char dir[PATH_CAP], tr[PATH_CAP], te[PATH_CAP];
    L2H_TRY(find_data_dir("scene", "scene", "scene-train.arff", dir));
    L2H_TRY(join(tr, dir, "scene-train.arff"));
    L2H_TRY(join(te, dir, "scene-test.arff"));
    l2h_read_params p = l2h_read_default_params();
    p.format = L2H_FORMAT_ARFF;
    p.n_labels = SCENE_LABELS;
    l2h_dataset *a = NULL, *b = NULL;
    L2H_TRY(l2h_dataset_read(&a, tr, &p));
    l2h_status st = l2h_dataset_read(&b, te, &p);
    if (st == L2H_OK) st = concat(a, b, out);
    if (st == L2H_OK && n_train) *n_train = a->n;
    l2h_dataset_free(a);
    l2h_dataset_free(b);
    return st;
}

l2h_status l2h_dataset_load_named(l2h_dataset **out, const char *name, size_t *n_train)
{
    L2H_FAIL_IF(out == NULL || name == NULL, L2H_ERR_ARG, "load_named: NULL argument");
    *out = NULL;
    if (n_train) *n_train = 0;
    if (strcmp(name, "fashion-mnist") == 0) return load_fashion(out, n_train);
    if (strcmp(name, "cifar10-gist") == 0) return load_cifar(out, n_train, 0);
    if (strcmp(name, "cifar10-cnn") == 0) return load_cifar(out, n_train, 1);
    if (strcmp(name, "scene") == 0) return load_scene(out, n_train);
    L2H_FAIL(L2H_ERR_ARG,
             "unknown dataset '%s' (known: fashion-mnist, cifar10-gist, cifar10-cnn, scene)",
             name);
}
