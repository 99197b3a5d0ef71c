/* train_registry.c -- the batch method registry (train_methods.def) and the training handle of
 * l2h/train.h: the shared settings plus the method's own option struct, set by name; fit
 * dispatches to the method's closed form or to the SGD trainer (train_api.c). */
#include "train_methods.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const l2h_train_method *const k_methods[] = {
#define L2H_TRAIN_METHOD(x) &l2h_train_##x,
#include "train_methods.def"
#undef L2H_TRAIN_METHOD
};
#define N_METHODS (sizeof k_methods / sizeof k_methods[0])

static const char *const k_names[] = {
#define L2H_TRAIN_METHOD(x) #x,
#include "train_methods.def"
#undef L2H_TRAIN_METHOD
    NULL};
_Static_assert(sizeof k_names / sizeof k_names[0] == N_METHODS + 1, "one name per method");

struct l2h_train_ctx {
    l2h_train_params p;
    const l2h_train_method *m;
    void *opts; /* [m->opts_size] */
};

size_t l2h_train_method_count(void) { return N_METHODS; }

const l2h_method_info *l2h_train_method_info(size_t i)
{
    return i < N_METHODS ? &k_methods[i]->info : NULL;
}

const l2h_train_method *l2h_train_find(const char *name)
{
    for (size_t i = 0; name && i < N_METHODS; i++)
        if (!strcmp(k_methods[i]->info.name, name)) return k_methods[i];
    return NULL;
}

const l2h_method_info *l2h_train_method_find(const char *name)
{
    const l2h_train_method *m = l2h_train_find(name);
    return m ? &m->info : NULL;
}

const char *const *l2h_train_methods(void) { return k_names; }

l2h_train_params l2h_train_default_params(size_t bits)
{
    l2h_train_params p;
    memset(&p, 0, sizeof p);
    p.method = "mihash";
    p.net = L2H_NET_LINEAR;
    p.bits = bits;
    p.hidden[0] = 1024;
    p.n_hidden = 1;
    p.epochs = 50;
    p.batch = 100;
    p.optimizer = L2H_OPT_SGD;
    p.lr = 0.1;
    p.momentum = 0.9;
    p.weight_decay = 5e-4;
    p.schedule = L2H_SCHED_STEP;
    p.lr_step = 10;
    p.lr_gamma = 0.5;
    p.lr_power = 0.75;
    p.last_lr_mult = 1.0;
    p.seed = 1;
    p.center = 1;
    p.l2_normalize = 1;
    p.val_every = 1;
    return p;
}

l2h_train_params l2h_train_method_params(const char *method, size_t bits)
{
    l2h_train_params p = l2h_train_default_params(bits);
    const l2h_train_method *m = l2h_train_find(method);
    if (m && m->defaults) m->defaults(&p);
    p.method = method;
    return p;
}

static l2h_status unknown_method(const char *name)
{
    char known[256] = "";
    for (size_t i = 0; i < N_METHODS; i++)
        snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", i ? ", " : "",
                 k_methods[i]->info.name);
    L2H_FAIL(L2H_ERR_ARG, "l2h_train: unknown method '%s' (%s)", name ? name : "(null)", known);
}

l2h_status l2h_train_create(l2h_train_ctx **out, const l2h_train_params *p)
{
    L2H_FAIL_IF(out == NULL || p == NULL, L2H_ERR_ARG, "l2h_train_create: NULL argument");
    *out = NULL;
    const l2h_train_method *m = l2h_train_find(p->method);
    if (!m) return unknown_method(p->method);
    l2h_train_ctx *c = l2h_calloc(1, sizeof *c);
    L2H_NOMEM_IF_NULL(c);
    c->p = *p;
    c->p.method = m->info.name; /* the handle does not keep the caller's string */
    c->m = m;
    c->opts = l2h_calloc(1, m->opts_size ? m->opts_size : 1);
    if (!c->opts) {
        l2h_free(c);
        L2H_FAIL(L2H_ERR_NOMEM, "out of memory in %s", __func__);
    }
    for (size_t i = 0; i < m->info.n_options; i++) {
        const l2h_option_info *o = &m->info.options[i];
        const l2h_status st = l2h_option_parse(o, o->def, (char *)c->opts + o->offset);
        if (st != L2H_OK) { /* a bad default in a method's table: a library bug, reported */
            l2h_train_free(c);
            return st;
        }
    }
    *out = c;
    return L2H_OK;
}

void l2h_train_ctx_parts(const l2h_train_ctx *c, const l2h_train_params **p,
                         const l2h_train_method **m, const void **opts)
{
    *p = &c->p;
    *m = c->m;
    *opts = c->opts;
}

void l2h_train_free(l2h_train_ctx *c)
{
    if (!c) return;
    l2h_free(c->opts);
    l2h_free(c);
}

/* The option `name` ("bins" or "mihash.bins") of the handle's method. */
static const l2h_option_info *find_option(const l2h_train_method *m, const char *name)
{
    const size_t ln = strlen(m->info.name);
    if (!strncmp(name, m->info.name, ln) && name[ln] == '.') name += ln + 1;
    for (size_t i = 0; i < m->info.n_options; i++)
        if (!strcmp(m->info.options[i].name, name)) return &m->info.options[i];
    return NULL;
}

static l2h_status unknown_option(const l2h_train_method *m, const char *name)
{
    char known[512] = "";
    for (size_t i = 0; i < m->info.n_options; i++)
        snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", i ? ", " : "",
                 m->info.options[i].name);
    L2H_FAIL(L2H_ERR_ARG, "l2h_train: method %s has no option '%s' (%s)", m->info.name, name,
             m->info.n_options ? known : "it has none");
}

l2h_status l2h_train_set_option(l2h_train_ctx *c, const char *name, const char *value)
{
    L2H_FAIL_IF(c == NULL || name == NULL || value == NULL, L2H_ERR_ARG,
                "l2h_train_set_option: NULL argument");
    const l2h_option_info *o = find_option(c->m, name);
    if (!o) return unknown_option(c->m, name);
    return l2h_option_parse(o, value, (char *)c->opts + o->offset);
}

l2h_status l2h_train_get_option(const l2h_train_ctx *c, const char *name, char *buf, size_t cap)
{
    L2H_FAIL_IF(c == NULL || name == NULL || buf == NULL || cap == 0, L2H_ERR_ARG,
                "l2h_train_get_option: NULL argument");
    const l2h_option_info *o = find_option(c->m, name);
    if (!o) return unknown_option(c->m, name);
    l2h_option_format(o, (const char *)c->opts + o->offset, buf, cap);
    return L2H_OK;
}

l2h_status l2h_train_check(const l2h_train_ctx *c)
{
    L2H_FAIL_IF(c == NULL, L2H_ERR_ARG, "l2h_train_check: NULL handle");
    const l2h_train_params *p = &c->p;
    L2H_FAIL_IF(p->bits == 0 || p->bits > L2H_MAX_BITS, L2H_ERR_ARG,
                "l2h_train: bits %zu outside 1..%d", p->bits, L2H_MAX_BITS);
    if (c->m->info.batch > 0) L2H_TRY(l2h_train_check_sgd(p));
    return c->m->check ? c->m->check(p, c->opts) : L2H_OK;
}

l2h_status l2h_train_fit(l2h_train_ctx *c, const l2h_dataset *train, l2h_model **out)
{
    L2H_FAIL_IF(out == NULL, L2H_ERR_ARG, "l2h_train: NULL output");
    *out = NULL;
    L2H_FAIL_IF(train == NULL, L2H_ERR_ARG, "l2h_train: NULL training set");
    L2H_TRY(l2h_train_check(c));
    if (c->m->fit) return c->m->fit(out, train, &c->p, c->opts);
    return l2h_train_sgd(out, train, &c->p, c->m, c->opts);
}

l2h_status l2h_train(l2h_model **out, const l2h_dataset *train, const l2h_train_params *p)
{
    L2H_FAIL_IF(out == NULL, L2H_ERR_ARG, "l2h_train: NULL output");
    *out = NULL;
    L2H_FAIL_IF(p == NULL || train == NULL, L2H_ERR_ARG, "l2h_train: NULL argument");
    l2h_train_ctx *c;
    L2H_TRY(l2h_train_create(&c, p));
    const l2h_status st = l2h_train_fit(c, train, out);
    l2h_train_free(c);
    return st;
}
