/* cmd_index.c -- `l2h index build|add|remove|replace|info`: a saved search index (flat or
 * multi-index hashing) built from packed codes and kept up to date as data changes. Every
 * command that changes an index writes it back atomically (l2h_index_save: temporary file,
 * fsync, rename), to -o FILE or in place. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* ---- inputs -------------------------------------------------------------------------------- */

static int load_codes(const char *path, uint8_t **codes, size_t *n, size_t *bytes)
{
    l2h_status st = l2h_codes_npy_shape(path, n, bytes);
    if (st != L2H_OK) return cli_fail(st, "reading codes");
    *codes = malloc(*n * *bytes + 1);
    if (!*codes) return cli_fail(L2H_ERR_NOMEM, "reading codes");
    st = l2h_codes_read_npy(path, *codes, *n, *bytes);
    if (st != L2H_OK) {
        free(*codes);
        *codes = NULL;
        return cli_fail(st, "reading codes");
    }
    return CLI_OK;
}

static int push_id(l2h_id **ids, size_t *n, size_t *cap, l2h_id v)
{
    if (*n == *cap) {
        const size_t nc = *cap ? 2 * *cap : 256;
        l2h_id *p = realloc(*ids, nc * sizeof *p);
        if (!p) return cli_fail(L2H_ERR_NOMEM, "reading ids");
        *ids = p;
        *cap = nc;
    }
    (*ids)[(*n)++] = v;
    return CLI_OK;
}

/* Ids from `spec`: a comma-separated list ("3,5,8") when it holds only digits and commas
 * (whether or not a file of that name exists: `--ids 5` is id 5, never a file named 5; write
 * ./5 for that file), else a text file with one non-negative decimal id per line ("-" = stdin;
 * blank lines and lines starting with '#' are skipped). Every malformed entry is an error
 * naming the file and line. */
static int read_ids(const char *spec, l2h_id **ids, size_t *n)
{
    size_t cap = 0;
    *ids = NULL;
    *n = 0;
    const bool is_list = spec[0] != '\0' && strspn(spec, "0123456789,") == strlen(spec);
    FILE *f = is_list ? NULL : strcmp(spec, "-") == 0 ? stdin : fopen(spec, "r");
    if (is_list) {
        for (const char *s = spec; *s;) {
            char *end;
            errno = 0;
            const long long v = strtoll(s, &end, 10);
            if (end == s || errno || v < 0 || (*end && *end != ',')) {
                fprintf(stderr, "l2h: error: --ids: '%s' is not a list of non-negative ids\n",
                        spec);
                return CLI_USAGE;
            }
            if (push_id(ids, n, &cap, (l2h_id)v) != CLI_OK) return CLI_ERR;
            s = *end ? end + 1 : end;
        }
        return CLI_OK;
    }
    if (!f) {
        fprintf(stderr, "l2h: error: cannot read ids file %s: %s\n", spec, strerror(errno));
        return CLI_ERR;
    }
    char line[256];
    size_t lineno = 0;
    int r = CLI_OK;
    while (r == CLI_OK && fgets(line, sizeof line, f)) {
        lineno++;
        const size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            fprintf(stderr, "l2h: error: %s:%zu: line too long for an id\n", spec, lineno);
            r = CLI_ERR;
            break;
        }
        char *s = line;
        while (isspace((unsigned char)*s)) s++;
        if (!*s || *s == '#') continue;
        char *end;
        errno = 0;
        const long long v = strtoll(s, &end, 10);
        while (isspace((unsigned char)*end)) end++;
        if (end == s || *end || errno || v < 0) {
            fprintf(stderr, "l2h: error: %s:%zu: not a non-negative decimal id\n", spec, lineno);
            r = CLI_ERR;
        } else {
            r = push_id(ids, n, &cap, (l2h_id)v);
        }
    }
    if (r == CLI_OK && ferror(f)) {
        fprintf(stderr, "l2h: error: reading %s failed\n", spec);
        r = CLI_ERR;
    }
    if (f != stdin) fclose(f);
    if (r != CLI_OK) {
        free(*ids);
        *ids = NULL;
    }
    return r;
}

static int save_index(const l2h_index *idx, const char *path)
{
    const l2h_status st = l2h_index_save(idx, path);
    return st == L2H_OK ? CLI_OK : cli_fail(st, "saving the index");
}

static int print_info(const l2h_index *idx, const char *path, bool json)
{
    l2h_index_info in;
    const l2h_status st = l2h_index_describe(idx, &in);
    if (st != L2H_OK) return cli_fail(st, "describing the index");
    const char *kind = in.kind == L2H_INDEX_MIH ? "mih" : "flat";
    uint8_t fp[L2H_FINGERPRINT_BYTES];
    char fph[33] = "none";
    if (l2h_index_fingerprint(idx, fp)) l2h_fingerprint_hex(fp, fph);
    if (json) {
        char qpath[CLI_JSON_PATH_CAP];
        printf("{\"file\": \"%s\", \"kind\": \"%s\", \"bits\": %zu, \"codes\": %zu, "
               "\"tables\": %zu, \"memory_bytes\": %zu, \"distinct\": %zu, \"model\": \"%s\"}\n",
               cli_json_escape(path, qpath, sizeof qpath), kind, in.bits, in.size, in.n_tables,
               in.memory_bytes, in.distinct, fph);
    } else {
        printf("file        %s\nkind        index (%s)\nbits        %zu\ncodes       %zu\n", path,
               kind, in.bits, in.size);
        printf("distinct    %zu\nmodel       %s\n", in.distinct, fph);
        if (in.kind == L2H_INDEX_MIH)
            printf("tables      %zu%s\n", in.n_tables,
                   in.n_tables ? "" : " (none built: searches scan)");
        printf("memory      %.1f MiB\n", (double)in.memory_bytes / (1024.0 * 1024.0));
    }
    return CLI_OK;
}

/* ---- subcommands --------------------------------------------------------------------------- */

typedef struct index_opts {
    const char *codes, *ids, *output, *kind;
    const char *model; /* the model that made the codes (fingerprint recorded / checked) */
    size_t bits, tables;
    bool json;
} index_opts;

static int check_bytes(size_t bytes, size_t bits)
{
    if (l2h_code_bytes(bits) == bytes) return CLI_OK;
    fprintf(stderr, "l2h: error: codes have %zu bytes each, the index holds %zu-bit codes (%zu "
                    "bytes)\n",
            bytes, bits, l2h_code_bytes(bits));
    return CLI_ERR;
}

static int index_build(const index_opts *o, const char *path)
{
    if (!o->codes) return cli_usage_error("index build", "--codes is required");
    l2h_index_params ip = l2h_index_default_params(0);
    if (!strcmp(o->kind, "mih")) ip.kind = L2H_INDEX_MIH;
    else if (strcmp(o->kind, "flat")) return cli_usage_error("index build", "--kind: flat or mih");
    ip.n_tables = o->tables;
    uint8_t *codes = NULL;
    l2h_id *ids = NULL;
    size_t n = 0, bytes = 0, n_ids = 0;
    int r = load_codes(o->codes, &codes, &n, &bytes);
    ip.bits = o->bits ? o->bits : 8 * bytes;
    if (r == CLI_OK) r = check_bytes(bytes, ip.bits);
    if (r == CLI_OK && o->ids) r = read_ids(o->ids, &ids, &n_ids);
    if (r == CLI_OK && o->ids && n_ids != n) {
        fprintf(stderr, "l2h: error: %zu ids in %s for %zu codes in %s\n", n_ids, o->ids, n,
                o->codes);
        r = CLI_ERR;
    }
    l2h_index *idx = NULL;
    if (r == CLI_OK) {
        const double t0 = cli_now();
        cli_progress("index build: %zu codes of %zu bits", n, ip.bits);
        l2h_status st = l2h_index_create(&idx, &ip);
        if (st == L2H_OK && o->model) {
            uint8_t fp[L2H_FINGERPRINT_BYTES];
            if (cli_model_fingerprint(o->model, fp) != CLI_OK) st = L2H_ERR_ARG;
            else st = l2h_index_set_fingerprint(idx, fp);
        }
        if (st == L2H_OK) st = l2h_index_add(idx, codes, ids, n);
        cli_progress_done();
        r = st == L2H_OK ? save_index(idx, path) : cli_fail(st, "building the index");
        if (r == CLI_OK) {
            fprintf(stderr, "built in %.3f s\n", cli_now() - t0);
            r = print_info(idx, path, o->json);
        }
    }
    l2h_index_free(idx);
    free(codes);
    free(ids);
    return r;
}

/* add / remove / replace: load `path`, change it, save to -o or in place. */
static int index_change(const char *sub, const index_opts *o, const char *path)
{
    const bool add = !strcmp(sub, "add"), remove = !strcmp(sub, "remove");
    if ((add || !remove) && !o->codes) return cli_usage_error("index", "%s needs --codes", sub);
    if (!add && !o->ids) return cli_usage_error("index", "%s needs --ids", sub);
    if (remove && o->codes) return cli_usage_error("index", "remove takes no --codes");
    /* read-modify-write: hold the file's exclusive lock from the load to the save, so that a
     * concurrent add/remove/replace waits and then starts from this one's result */
    l2h_file_lock *lock = NULL;
    l2h_status st = l2h_file_lock_acquire(&lock, path);
    if (st != L2H_OK) return cli_fail(st, "locking the index");
    l2h_index *idx = NULL;
    st = l2h_index_load(&idx, path);
    if (st != L2H_OK) {
        l2h_file_lock_release(lock);
        return cli_fail(st, "loading the index");
    }
    uint8_t *codes = NULL;
    l2h_id *ids = NULL;
    size_t n = 0, bytes = 0, n_ids = 0, removed = 0;
    const size_t before = l2h_index_size(idx);
    int r = CLI_OK;
    if (o->codes) r = load_codes(o->codes, &codes, &n, &bytes);
    if (r == CLI_OK && o->codes) r = check_bytes(bytes, l2h_index_bits(idx));
    if (r == CLI_OK && o->model && !remove)
        r = cli_check_model(idx, o->model, add ? "codes to add" : "new codes");
    if (r == CLI_OK && o->ids) r = read_ids(o->ids, &ids, &n_ids);
    if (r == CLI_OK && o->ids && o->codes && n_ids != n) {
        fprintf(stderr, "l2h: error: %zu ids in %s for %zu codes in %s\n", n_ids, o->ids, n,
                o->codes);
        r = CLI_ERR;
    }
    if (r == CLI_OK) {
        if (add) st = l2h_index_add(idx, codes, ids, n);
        else if (remove) st = l2h_index_remove(idx, ids, n_ids, &removed);
        else st = l2h_index_replace(idx, ids, codes, n);
        if (st != L2H_OK) r = cli_fail(st, sub);
    }
    if (r == CLI_OK) r = save_index(idx, o->output ? o->output : path);
    l2h_file_lock_release(lock);
    if (r == CLI_OK) {
        const size_t after = l2h_index_size(idx);
        if (o->json)
            printf("{\"operation\": \"%s\", \"before\": %zu, \"after\": %zu, \"changed\": %zu}\n",
                   sub, before, after, add ? n : remove ? removed : n);
        else if (add)
            printf("added %zu codes: %zu -> %zu\n", n, before, after);
        else if (remove)
            printf("removed %zu codes (%zu ids given): %zu -> %zu\n", removed, n_ids, before,
                   after);
        else
            printf("replaced the codes of %zu ids (%zu codes held)\n", n, after);
    }
    l2h_index_free(idx);
    free(codes);
    free(ids);
    return r;
}

int cmd_index(int argc, char **argv)
{
    index_opts o = {.kind = "flat"};
    const cli_opt opts[] = {
        {"codes", 'c', CLI_STR, &o.codes, "CODES.npy", "packed codes (uint8 .npy, n x bytes)"},
        {"ids", 0, CLI_STR, &o.ids, "FILE|LIST",
         "ids: a text file, one per line ('-' = stdin), or a list 3,5,8"},
        {"kind", 0, CLI_STR, &o.kind, "flat|mih", "build: exhaustive scan or multi-index (flat)"},
        {"tables", 0, CLI_SIZE, &o.tables, "M", "build, mih: substring tables (0 = automatic)"},
        {"bits", 'b', CLI_SIZE, &o.bits, "B", "build: code length if not 8 x bytes per code"},
        {"output", 'o', CLI_STR, &o.output, "FILE",
         "write the index here (build: required; others: default in place)"},
        {"json", 0, CLI_FLAG, &o.json, NULL, "print the summary as JSON"},
        {"model", 0, CLI_STR, &o.model, "MODEL",
         "the model that made the codes: build records its fingerprint, add/replace refuse "
         "codes of another model"},
    };
    const char *pos[2];
    int n_pos = 0;
    int r = cli_parse(argc, argv, opts, sizeof opts / sizeof opts[0],
                      "l2h index build --codes CODES.npy [--ids IDS] [--kind flat|mih] "
                      "[--model MODEL] -o INDEX\n"
                      "       l2h index add INDEX --codes CODES.npy [--ids IDS] [--model MODEL] "
                      "[-o OUT]\n"
                      "       l2h index remove INDEX --ids IDS [-o OUT]\n"
                      "       l2h index replace INDEX --ids IDS --codes CODES.npy [-o OUT]\n"
                      "       l2h index info INDEX [--json]",
                      "A saved search index of packed codes with 64-bit ids, searched by `l2h "
                      "search --index`. Ids never shift: removing\ncodes leaves every other id "
                      "as it was; codes added without --ids get the row numbers that follow "
                      "the\ncurrent size. Changes are written atomically (temporary file, "
                      "fsync, rename).",
                      pos, 2, &n_pos);
    if (r != CLI_OK) return r == CLI_HELP ? CLI_OK : r;
    if (n_pos < 1) return cli_usage_error("index", "a subcommand is required: build, add, "
                                                   "remove, replace or info");
    const char *sub = pos[0];
    if (!strcmp(sub, "build")) {
        if (n_pos != 1) return cli_usage_error("index", "build takes no INDEX argument, use -o");
        if (!o.output) return cli_usage_error("index", "build needs -o INDEX");
        return index_build(&o, o.output);
    }
    if (strcmp(sub, "add") && strcmp(sub, "remove") && strcmp(sub, "replace") &&
        strcmp(sub, "info"))
        return cli_usage_error("index", "unknown subcommand '%s' (build, add, remove, replace, "
                                        "info)", sub);
    if (n_pos != 2) return cli_usage_error("index", "%s needs the INDEX file", sub);
    if (!strcmp(sub, "info")) {
        l2h_index *idx = NULL;
        const l2h_status st = l2h_index_load(&idx, pos[1]);
        if (st != L2H_OK) return cli_fail(st, "loading the index");
        r = print_info(idx, pos[1], o.json);
        l2h_index_free(idx);
        return r;
    }
    return index_change(sub, &o, pos[1]);
}
