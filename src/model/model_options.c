/* model_options.c -- the option values of the method registries (train.h's batch methods,
 * online.h's online methods): text to a typed value in the method's storage and back. */
#include "model_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

l2h_status l2h_option_parse(const l2h_option_info *opt, const char *value, void *dst)
{
    L2H_FAIL_IF(value == NULL || (*value == '\0' && opt->type != L2H_OPT_TEXT), L2H_ERR_ARG,
                "option %s: empty value", opt->name);
    char *end = NULL;
    errno = 0;
    switch (opt->type) {
    case L2H_OPT_DOUBLE: {
        const double v = strtod(value, &end);
        L2H_FAIL_IF(*end != '\0' || errno != 0 || !isfinite(v), L2H_ERR_ARG,
                    "option %s: '%s' is not a finite number", opt->name, value);
        memcpy(dst, &v, sizeof v);
        return L2H_OK;
    }
    case L2H_OPT_SIZE: {
        L2H_FAIL_IF(value[0] < '0' || value[0] > '9', L2H_ERR_ARG,
                    "option %s: '%s' is not a non-negative integer", opt->name, value);
        const unsigned long long v = strtoull(value, &end, 10);
        L2H_FAIL_IF(*end != '\0' || errno != 0 || v > ((unsigned long long)1 << 40),
                    L2H_ERR_ARG, "option %s: '%s' is not a non-negative integer", opt->name,
                    value);
        const size_t z = (size_t)v;
        memcpy(dst, &z, sizeof z);
        return L2H_OK;
    }
    case L2H_OPT_FLAG:
        L2H_FAIL_IF(strcmp(value, "0") != 0 && strcmp(value, "1") != 0, L2H_ERR_ARG,
                    "option %s: '%s' is not 0 or 1", opt->name, value);
        {
            const int i = value[0] == '1';
            memcpy(dst, &i, sizeof i);
        }
        return L2H_OK;
    case L2H_OPT_TEXT: {
        const size_t len = strlen(value);
        L2H_FAIL_IF(len >= L2H_OPT_TEXT_CAP, L2H_ERR_ARG,
                    "option %s: value of %zu bytes (at most %d)", opt->name, len,
                    L2H_OPT_TEXT_CAP - 1);
        memcpy(dst, value, len + 1);
        return L2H_OK;
    }
    case L2H_OPT_INT: {
        const long v = strtol(value, &end, 10);
        L2H_FAIL_IF(*end != '\0' || errno != 0 || v < -(1L << 30) || v > (1L << 30),
                    L2H_ERR_ARG, "option %s: '%s' is not an integer", opt->name, value);
        const int i = (int)v;
        memcpy(dst, &i, sizeof i);
        return L2H_OK;
    }
    }
    L2H_FAIL(L2H_ERR_ARG, "option %s: unknown type", opt->name);
}

void l2h_option_format(const l2h_option_info *opt, const void *src, char *buf, size_t cap)
{
    double d;
    size_t z;
    int i;
    switch (opt->type) {
    case L2H_OPT_DOUBLE:
        memcpy(&d, src, sizeof d);
        snprintf(buf, cap, "%.17g", d);
        return;
    case L2H_OPT_SIZE:
        memcpy(&z, src, sizeof z);
        snprintf(buf, cap, "%zu", z);
        return;
    case L2H_OPT_TEXT:
        snprintf(buf, cap, "%s", (const char *)src);
        return;
    case L2H_OPT_FLAG:
    case L2H_OPT_INT:
        memcpy(&i, src, sizeof i);
        snprintf(buf, cap, "%d", i);
        return;
    }
    snprintf(buf, cap, "?");
}
