/* cli_methods.c -- the batch methods' own options on the command line, built from the
 * library's registry (l2h_train_method_info): one `--<method>-<option>` per option of every
 * method, plus the bare `--<option>` (hidden from --help, the spelling of earlier releases)
 * applied to the chosen method. The values are handed to l2h_train_set_option as given. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

void cli_method_opts_free(cli_method_opts *o)
{
    for (size_t i = 0; o->names && i < o->n_opts; i++) free(o->names[i]);
    for (size_t i = 0; o->helps && i < o->n_opts; i++) free(o->helps[i]);
    free(o->names);
    free(o->helps);
    free(o->values);
    free(o->flags);
    free(o->bare_of);
    free(o->method);
    free(o->option);
    free(o->opts);
    memset(o, 0, sizeof *o);
}

static int add(cli_method_opts *o, const l2h_method_info *mi, const l2h_option_info *op,
               bool bare)
{
    const size_t k = o->n_opts;
    char name[160], help[512];
    if (bare) {
        for (size_t i = 0; i < k; i++) /* one bare name for all methods that have the option */
            if (o->bare_of[i] && !strcmp(o->names[i], op->name)) return CLI_OK;
        snprintf(name, sizeof name, "%s", op->name);
    } else {
        snprintf(name, sizeof name, "%s-%s", mi->name, op->name);
    }
    snprintf(help, sizeof help, "%s: %s (%s; also --%s)", mi->name, op->help,
             op->def[0] ? op->def : "none", op->name);
    o->names[k] = strdup(name);
    o->helps[k] = bare ? NULL : strdup(help);
    if (!o->names[k] || (!bare && !o->helps[k])) return CLI_ERR;
    o->method[k] = mi;
    o->option[k] = op;
    o->bare_of[k] = bare;
    const bool flag = op->type == L2H_OPT_FLAG;
    o->opts[k] = (cli_opt){o->names[k], 0, flag ? CLI_FLAG : CLI_STR,
                           flag ? (void *)&o->flags[k] : (void *)&o->values[k],
                           flag                         ? NULL
                           : op->type == L2H_OPT_TEXT   ? "TEXT"
                           : op->type == L2H_OPT_DOUBLE ? "X"
                                                        : "N",
                           o->helps[k]};
    o->n_opts = k + 1;
    return CLI_OK;
}

int cli_method_opts_init(cli_method_opts *o)
{
    memset(o, 0, sizeof *o);
    size_t n = 0;
    for (size_t i = 0; i < l2h_train_method_count(); i++)
        n += l2h_train_method_info(i)->n_options;
    n *= 2; /* prefixed and bare */
    o->names = calloc(n + 1, sizeof *o->names);
    o->helps = calloc(n + 1, sizeof *o->helps);
    o->values = calloc(n + 1, sizeof *o->values);
    o->flags = calloc(n + 1, sizeof *o->flags);
    o->method = calloc(n + 1, sizeof *o->method);
    o->option = calloc(n + 1, sizeof *o->option);
    o->bare_of = calloc(n + 1, sizeof *o->bare_of);
    o->opts = calloc(n + 1, sizeof *o->opts);
    if (!o->names || !o->helps || !o->values || !o->flags || !o->method || !o->option ||
        !o->bare_of || !o->opts)
        goto nomem;
    for (int bare = 0; bare < 2; bare++)
        for (size_t i = 0; i < l2h_train_method_count(); i++) {
            const l2h_method_info *mi = l2h_train_method_info(i);
            for (size_t j = 0; j < mi->n_options; j++)
                if (add(o, mi, &mi->options[j], bare) != CLI_OK) goto nomem;
        }
    return CLI_OK;
nomem:
    fprintf(stderr, "l2h: error: out of memory\n");
    return CLI_ERR;
}

cli_group cli_method_opts_group(const cli_method_opts *o) { return (cli_group){o->opts, o->n_opts}; }

static bool given(const cli_method_opts *o, size_t k)
{
    return o->values[k] != NULL || o->flags[k];
}

static const l2h_option_info *option_of(const l2h_method_info *mi, const char *name)
{
    for (size_t j = 0; mi && j < mi->n_options; j++)
        if (!strcmp(mi->options[j].name, name)) return &mi->options[j];
    return NULL;
}

int cli_method_opts_check(const cli_method_opts *o, const char *cmd, const char *method)
{
    const l2h_method_info *mi = l2h_train_method_find(method);
    for (size_t k = 0; k < o->n_opts; k++) {
        if (!given(o, k)) continue;
        if (o->bare_of[k] ? option_of(mi, o->option[k]->name) == NULL : o->method[k] != mi) {
            /* name the methods that do have it */
            char owners[256] = "";
            for (size_t i = 0; i < l2h_train_method_count(); i++) {
                const l2h_method_info *m2 = l2h_train_method_info(i);
                if (option_of(m2, o->option[k]->name) && (o->bare_of[k] || m2 == o->method[k]))
                    snprintf(owners + strlen(owners), sizeof owners - strlen(owners), "%s%s",
                             owners[0] ? ", " : "", m2->name);
            }
            return cli_usage_error(cmd, "--%s is an option of %s, not of %s", o->names[k], owners,
                                   method);
        }
        for (size_t k2 = 0; k2 < k; k2++) /* --bins and --mihash-bins together */
            if (given(o, k2) && o->bare_of[k2] != o->bare_of[k] &&
                !strcmp(o->option[k2]->name, o->option[k]->name) &&
                (o->bare_of[k2] ? o->method[k] : o->method[k2]) == mi)
                return cli_usage_error(cmd, "--%s and --%s are the same option", o->names[k2],
                                       o->names[k]);
    }
    return CLI_OK;
}

int cli_method_opts_apply(const cli_method_opts *o, const char *method, l2h_train_ctx *c)
{
    for (size_t k = 0; k < o->n_opts; k++) {
        if (!given(o, k)) continue;
        const l2h_status st =
            l2h_train_set_option(c, o->option[k]->name, o->flags[k] ? "1" : o->values[k]);
        if (st != L2H_OK) return cli_fail(st, method);
    }
    return CLI_OK;
}

const char *cli_method_list(char *buf, size_t cap, bool sgd_only)
{
    buf[0] = '\0';
    for (size_t i = 0; i < l2h_train_method_count(); i++) {
        const l2h_method_info *mi = l2h_train_method_info(i);
        if (sgd_only && mi->batch == 0) continue;
        snprintf(buf + strlen(buf), cap - strlen(buf), "%s%s", buf[0] ? "|" : "", mi->name);
    }
    return buf;
}
