/* nn_spec.c -- the architecture text of a network (model-file metadata):
 *   "conv:20:5x5:s1:p0,relu,maxpool:2x2:s2,flatten,linear:500,relu,linear:16"
 * One token per layer, comma-separated, no spaces: linear:<out>; conv:<out_c>:<kh>x<kw>:s<stride>
 * :p<pad>; maxpool:<kh>x<kw>:s<stride>; rbf:<anchors>:g<gamma>; relu; sigmoid; tanh; flatten;
 * bn; dropout:<percent>; dwconv:<kh>x<kw>:s<stride>:p<pad>; relu6; avgpool. Numbers are decimal,
 * at most 2^31 − 1. The parser is strict (a model file is untrusted input). */
#include "nn_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

l2h_status l2h_nn_specs_format(const l2h_layer_spec *specs, size_t n, char *buf, size_t cap)
{
    L2H_FAIL_IF(specs == NULL || buf == NULL || cap == 0, L2H_ERR_ARG, "specs format: NULL");
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const l2h_layer_spec *s = &specs[i];
        char tok[128];
        switch (s->kind) {
        case L2H_LAYER_LINEAR:
            snprintf(tok, sizeof tok, "linear:%zu", s->out);
            break;
        case L2H_LAYER_CONV2D:
            snprintf(tok, sizeof tok, "conv:%zu:%zux%zu:s%zu:p%zu", s->out, s->kh, s->kw,
                     s->stride ? s->stride : 1, s->pad);
            break;
        case L2H_LAYER_MAXPOOL:
            snprintf(tok, sizeof tok, "maxpool:%zux%zu:s%zu", s->kh, s->kw,
                     s->stride ? s->stride : s->kh);
            break;
        case L2H_LAYER_RBF:
            snprintf(tok, sizeof tok, "rbf:%zu:g%.17g", s->out, s->gamma);
            break;
        case L2H_LAYER_DROPOUT:
            snprintf(tok, sizeof tok, "dropout:%zu", s->out);
            break;
        case L2H_LAYER_DWCONV:
            snprintf(tok, sizeof tok, "dwconv:%zux%zu:s%zu:p%zu", s->kh, s->kw,
                     s->stride ? s->stride : 1, s->pad);
            break;
        case L2H_LAYER_RELU:
        case L2H_LAYER_SIGMOID:
        case L2H_LAYER_TANH:
        case L2H_LAYER_FLATTEN:
        case L2H_LAYER_BATCHNORM:
        case L2H_LAYER_RELU6:
        case L2H_LAYER_AVGPOOL:
            snprintf(tok, sizeof tok, "%s", l2h_layer_kind_name(s->kind));
            break;
        default:
            L2H_FAIL(L2H_ERR_ARG, "specs format: layer %zu has unknown kind %d", i, (int)s->kind);
        }
        const size_t tl = strlen(tok) + (i ? 1 : 0);
        L2H_FAIL_IF(len + tl + 1 > cap, L2H_ERR_ARG, "specs format: buffer of %zu bytes too small",
                    cap);
        snprintf(buf + len, cap - len, "%s%s", i ? "," : "", tok);
        len += tl;
    }
    return L2H_OK;
}

/* A decimal number in [lo, 2^31 - 1] at *p; advances *p. */
static int read_num(const char **p, size_t lo, size_t *out)
{
    const char *s = *p;
    size_t v = 0, digits = 0;
    while (*s >= '0' && *s <= '9') {
        v = v * 10 + (size_t)(*s - '0');
        if (v > 0x7fffffffu) return 0;
        s++;
        digits++;
    }
    if (digits == 0 || v < lo) return 0;
    *p = s;
    *out = v;
    return 1;
}

static int expect(const char **p, const char *lit)
{
    const size_t n = strlen(lit);
    if (strncmp(*p, lit, n) != 0) return 0;
    *p += n;
    return 1;
}

/* Parses one token ending at ',' or '\0'. */
static int parse_token(const char **p, l2h_layer_spec *s)
{
    memset(s, 0, sizeof *s);
    if (expect(p, "linear:")) {
        s->kind = L2H_LAYER_LINEAR;
        return read_num(p, 1, &s->out);
    }
    if (expect(p, "conv:")) {
        s->kind = L2H_LAYER_CONV2D;
        return read_num(p, 1, &s->out) && expect(p, ":") && read_num(p, 1, &s->kh) &&
               expect(p, "x") && read_num(p, 1, &s->kw) && expect(p, ":s") &&
               read_num(p, 1, &s->stride) && expect(p, ":p") && read_num(p, 0, &s->pad);
    }
    if (expect(p, "rbf:")) {
        s->kind = L2H_LAYER_RBF;
        if (!read_num(p, 1, &s->out) || !expect(p, ":g")) return 0;
        if (**p < '0' || **p > '9') return 0; /* strtod would skip spaces, take "inf" */
        char *end = NULL;
        s->gamma = strtod(*p, &end);
        if (end == *p || !isfinite(s->gamma) || !(s->gamma > 0.0)) return 0;
        *p = end;
        return 1;
    }
    if (expect(p, "maxpool:")) {
        s->kind = L2H_LAYER_MAXPOOL;
        return read_num(p, 1, &s->kh) && expect(p, "x") && read_num(p, 1, &s->kw) &&
               expect(p, ":s") && read_num(p, 1, &s->stride);
    }
    if (expect(p, "dwconv:")) {
        s->kind = L2H_LAYER_DWCONV;
        return read_num(p, 1, &s->kh) && expect(p, "x") && read_num(p, 1, &s->kw) &&
               expect(p, ":s") && read_num(p, 1, &s->stride) && expect(p, ":p") &&
               read_num(p, 0, &s->pad);
    }
    if (expect(p, "dropout:")) {
        s->kind = L2H_LAYER_DROPOUT;
        return read_num(p, 1, &s->out) && s->out <= 99;
    }
    static const l2h_layer_kind plain[] = {L2H_LAYER_RELU, L2H_LAYER_SIGMOID, L2H_LAYER_TANH,
                                           L2H_LAYER_FLATTEN, L2H_LAYER_BATCHNORM,
                                           L2H_LAYER_RELU6, L2H_LAYER_AVGPOOL};
    for (size_t k = 0; k < sizeof plain / sizeof plain[0]; k++) {
        const char *name = l2h_layer_kind_name(plain[k]);
        const size_t len = strlen(name);
        if (strncmp(*p, name, len) == 0 && ((*p)[len] == ',' || (*p)[len] == '\0')) {
            s->kind = plain[k];
            *p += len;
            return 1;
        }
    }
    return 0;
}

l2h_status l2h_nn_specs_parse(const char *text, l2h_layer_spec *specs, size_t cap, size_t *n)
{
    L2H_FAIL_IF(text == NULL || specs == NULL || n == NULL, L2H_ERR_ARG, "specs parse: NULL");
    *n = 0;
    const char *p = text;
    L2H_FAIL_IF(*p == '\0', L2H_ERR_FORMAT, "network layers: empty description");
    for (size_t i = 0;; i++) {
        L2H_FAIL_IF(i >= cap, L2H_ERR_ARG, "network layers: more than %zu layers", cap);
        const char *start = p;
        L2H_FAIL_IF(!parse_token(&p, &specs[i]) || (*p != ',' && *p != '\0'), L2H_ERR_FORMAT,
                    "network layers: bad layer %zu at \"%.32s\"", i, start);
        *n = i + 1;
        if (*p == '\0') return L2H_OK;
        p++;
    }
}
