/* cli_args.c -- a small long-option parser with generated --help text. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* the options the last cli_parse saw, by name: the names belong to the command's option tables,
 * which outlive the parse, while the table cli_parse read may be a joined copy
 * (cli_parse_groups) that is gone when the command asks cli_given */
#define MAX_GIVEN 128
static const char *given[MAX_GIVEN];
static size_t n_given;

bool cli_given(const char *name)
{
    for (size_t i = 0; i < n_given; i++)
        if (strcmp(given[i], name) == 0) return true;
    return false;
}

static const cli_opt *find_long(const cli_opt *opts, size_t n, const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0) return &opts[i];
    return NULL;
}

static const cli_opt *find_short(const cli_opt *opts, size_t n, char c)
{
    for (size_t i = 0; i < n; i++)
        if (opts[i].short_name && opts[i].short_name == c) return &opts[i];
    return NULL;
}

static void print_help(const cli_opt *opts, size_t n, const char *usage, const char *desc)
{
    printf("usage: %s\n\n%s\n\noptions:\n", usage, desc);
    for (size_t i = 0; i < n; i++) {
        if (opts[i].help == NULL) continue; /* an alias, documented by its main spelling */
        char left[64];
        if (opts[i].short_name)
            snprintf(left, sizeof left, "-%c, --%s%s%s", opts[i].short_name, opts[i].name,
                     opts[i].metavar ? " " : "", opts[i].metavar ? opts[i].metavar : "");
        else
            snprintf(left, sizeof left, "    --%s%s%s", opts[i].name, opts[i].metavar ? " " : "",
                     opts[i].metavar ? opts[i].metavar : "");
        printf("  %-30s %s\n", left, opts[i].help);
    }
    printf("  %-30s %s\n", "-h, --help", "show this help and exit");
}

static int set_value(const char *cmd, const cli_opt *o, const char *v)
{
    char *end = NULL;
    errno = 0;
    switch (o->type) {
    case CLI_FLAG: *(bool *)o->dest = true; return CLI_OK;
    case CLI_STR: *(const char **)o->dest = v; return CLI_OK;
    case CLI_SIZE:
    case CLI_U64: {
        if (v[0] == '-' || v[0] == '\0') break;
        const unsigned long long x = strtoull(v, &end, 10);
        if (errno || *end) break;
        if (o->type == CLI_SIZE) *(size_t *)o->dest = (size_t)x;
        else *(uint64_t *)o->dest = (uint64_t)x;
        return CLI_OK;
    }
    case CLI_INT: {
        const long x = strtol(v, &end, 10);
        if (errno || *end || v[0] == '\0' || x < -1000000000L || x > 1000000000L) break;
        *(int *)o->dest = (int)x;
        return CLI_OK;
    }
    case CLI_DOUBLE:
    case CLI_DOUBLE_POS:
    case CLI_DOUBLE_NONNEG: {
        /* nan, inf and out-of-range values are never a setting: refused, never replaced by a
         * default further down */
        const double x = strtod(v, &end);
        if (errno || *end || v[0] == '\0' || !isfinite(x)) break;
        if (o->type == CLI_DOUBLE_POS && !(x > 0))
            return cli_usage_error(cmd, "--%s must be a number > 0, not '%s'", o->name, v);
        if (o->type == CLI_DOUBLE_NONNEG && !(x >= 0))
            return cli_usage_error(cmd, "--%s must be a number >= 0, not '%s'", o->name, v);
        *(double *)o->dest = x;
        return CLI_OK;
    }
    }
    return cli_usage_error(cmd, "invalid value '%s' for --%s", v, o->name);
}

int cli_parse(int argc, char **argv, const cli_opt *opts, size_t n_opts, const char *usage,
              const char *description, const char **pos, int max_pos, int *n_pos)
{
    const char *cmd = argv[0];
    int np = 0;
    n_given = 0;
    bool only_pos = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!only_pos && (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)) {
            print_help(opts, n_opts, usage, description);
            return CLI_HELP;
        }
        if (!only_pos && strcmp(a, "--") == 0) {
            only_pos = true;
            continue;
        }
        const cli_opt *o = NULL;
        const char *val = NULL;
        if (!only_pos && a[0] == '-' && a[1] == '-') {
            const char *eq = strchr(a + 2, '=');
            const size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
            o = find_long(opts, n_opts, a + 2, len);
            if (!o) return cli_usage_error(cmd, "unknown option '%.*s'", (int)len + 2, a);
            if (eq) {
                if (o->type == CLI_FLAG)
                    return cli_usage_error(cmd, "option --%s takes no value", o->name);
                val = eq + 1;
            }
        } else if (!only_pos && a[0] == '-' && a[1] != '\0' && a[2] == '\0' &&
                   !(a[1] >= '0' && a[1] <= '9')) {
            o = find_short(opts, n_opts, a[1]);
            if (!o) return cli_usage_error(cmd, "unknown option '%s'", a);
        }
        if (o) {
            for (size_t g = 0; g < n_given; g++)
                if (strcmp(given[g], o->name) == 0)
                    return cli_usage_error(cmd, "option --%s is given twice", o->name);
            if (n_given < MAX_GIVEN) given[n_given++] = o->name;
            if (o->type != CLI_FLAG && !val) {
                if (i + 1 >= argc) return cli_usage_error(cmd, "option --%s needs a value", o->name);
                val = argv[++i];
            }
            const int r = set_value(cmd, o, val);
            if (r != CLI_OK) return r;
            continue;
        }
        if (np >= max_pos) return cli_usage_error(cmd, "unexpected argument '%s'", a);
        pos[np++] = a;
    }
    if (n_pos) *n_pos = np;
    return CLI_OK;
}

int cli_fail(l2h_status st, const char *what)
{
    const char *detail = l2h_last_error();
    fprintf(stderr, "l2h: error: %s: %s\n", what, detail[0] ? detail : l2h_status_str(st));
    return CLI_ERR;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "l2h %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'l2h %s --help'.\n", cmd);
    va_end(ap);
    return CLI_USAGE;
}

int cli_parse_groups(int argc, char **argv, const cli_group *groups, size_t n_groups,
                     const char *usage, const char *description, const char **pos, int max_pos,
                     int *n_pos)
{
    size_t n = 0;
    for (size_t g = 0; g < n_groups; g++)
        n += groups[g].n;
    cli_opt *all = calloc(n ? n : 1, sizeof *all);
    if (all == NULL) {
        fprintf(stderr, "l2h: error: out of memory\n");
        return CLI_ERR;
    }
    size_t k = 0;
    for (size_t g = 0; g < n_groups; g++)
        for (size_t i = 0; i < groups[g].n; i++)
            all[k++] = groups[g].opts[i];
    const int r = cli_parse(argc, argv, all, n, usage, description, pos, max_pos, n_pos);
    free(all);
    return r;
}
