/* cmd_info.c -- `l2h info [FILE]`: the build, or what a model / index / codes / data file holds. */
#include "cli.h"

#include <string.h>

static bool has_suffix(const char *s, const char *suf)
{
    const size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

static int info_model(const char *path)
{
    l2h_model *m = NULL;
    const l2h_status st = l2h_model_load(&m, path);
    if (st != L2H_OK) return cli_fail(st, "reading the model");
    printf("file        %s\nkind        model\nmethod      %s\narch        %s\nbits        %zu\n"
           "input dim   %zu\n",
           path, l2h_model_method(m), l2h_model_arch(m), l2h_model_bits(m), l2h_model_dim(m));
    static const char *const keys[] = {"format_version", "library_version", "center",
                                       "l2_normalize", "seed"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *v = l2h_model_meta(m, keys[i]);
        if (v && v[0]) printf("%-11s %s\n", keys[i], v);
    }
    l2h_model_free(m);
    return CLI_OK;
}

static int info_index(const char *path)
{
    l2h_index *idx = NULL;
    const l2h_status st = l2h_index_load(&idx, path);
    if (st != L2H_OK) return cli_fail(st, "reading the index");
    l2h_index_info in;
    if (l2h_index_describe(idx, &in) != L2H_OK) in.kind = L2H_INDEX_FLAT;
    printf("file        %s\nkind        index (%s)\nbits        %zu\ncodes       %zu\n", path,
           in.kind == L2H_INDEX_MIH ? "multi-index hashing" : "flat", l2h_index_bits(idx),
           l2h_index_size(idx));
    l2h_index_free(idx);
    return CLI_OK;
}

static int info_data(const char *path)
{
    size_t n, bytes;
    if (has_suffix(path, ".npy") && l2h_codes_npy_shape(path, &n, &bytes) == L2H_OK) {
        printf("file        %s\nkind        packed codes (uint8 .npy)\nrows        %zu\n"
               "bytes/code  %zu (up to %zu bits)\n", path, n, bytes, 8 * bytes);
        return CLI_OK;
    }
    l2h_dataset *ds = NULL;
    const l2h_read_params rp = l2h_read_default_params();
    const l2h_status st = l2h_dataset_read(&ds, path, &rp);
    if (st != L2H_OK) return cli_fail(st, "reading the file");
    printf("file        %s\nkind        feature matrix\nrows        %zu\ndim         %zu\n", path,
           l2h_dataset_n(ds), l2h_dataset_dim(ds));
    l2h_dataset_free(ds);
    return CLI_OK;
}

int cmd_info(int argc, char **argv)
{
    const char *pos[1];
    int n_pos = 0;
    const int r = cli_parse(argc, argv, NULL, 0, "l2h info [FILE]",
                            "Without FILE: the version, the Hamming kernel chosen for this CPU, "
                            "the BLAS library and the thread count.\nWith FILE: what a model "
                            "(.safetensors), index (.l2hi), codes (.npy) or data file holds.",
                            pos, 1, &n_pos);
    if (r != CLI_OK) return r == CLI_HELP ? CLI_OK : r;
    if (n_pos == 0) {
        printf("%s\n", l2h_build_info());
        return CLI_OK;
    }
    const char *path = pos[0];
    if (has_suffix(path, ".safetensors") || has_suffix(path, ".st") || has_suffix(path, ".l2hm"))
        return info_model(path);
    if (has_suffix(path, ".l2hi")) return info_index(path);
    return info_data(path);
}
