/* gradcheck.c -- see gradcheck.h. */
#include "gradcheck.h"

#include "core.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Coordinates to check: all, or a seeded partial Fisher-Yates sample of max_coords. */
static size_t *pick_coords(size_t n, size_t max_coords, uint64_t seed, size_t *m)
{
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    if (!idx) {
        *m = 0;
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    *m = n < max_coords ? n : max_coords;
    if (*m < n) {
        l2h_rng rng;
        l2h_rng_seed(&rng, seed);
        for (size_t i = 0; i < *m; i++) {
            const size_t j = i + (size_t)l2h_rng_below(&rng, n - i);
            const size_t t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
        }
    }
    return idx;
}

static void account(gc_report *r, size_t i, double num, double ana, const gc_opts *o)
{
    const double scale = fmax(fabs(num), fabs(ana));
    const double ratio = fabs(num - ana) / (o->atol + o->rtol * scale);
    r->checked++;
    if (!(ratio <= 1.0)) r->bad++;
    if (!(ratio <= r->max_ratio)) {
        r->max_ratio = ratio;
        r->worst = i;
        r->worst_num = num;
        r->worst_grad = ana;
    }
}

static void summary(const char *name, const gc_report *r)
{
    if (r->bad == 0) return;
    fprintf(stderr,
            "gradcheck %s: %zu of %zu coordinates off (%zu skipped at kinks, %zu unconverged); "
            "worst [%zu]: numeric %.9g analytic %.9g (%.3g x tolerance)\n",
            name, r->bad, r->checked, r->skipped, r->unconverged, r->worst, r->worst_num,
            r->worst_grad, r->max_ratio);
}

/* Loss at the current x; *pat receives the piece signature (0 without a pattern callback). */
static double eval(gc_loss_fn f, void *ctx, const gc_opts *o, uint64_t *pat)
{
    const double v = f(ctx);
    *pat = o->pattern ? o->pattern(ctx) : 0;
    return v;
}

/* The central-difference quotient at x[i] with step h (float array); 0 in *ok when a kink
 * was crossed. */
static double quotient_f32(gc_loss_fn f, void *ctx, const gc_opts *o, float *x, size_t i, double h,
                           uint64_t base, int *ok)
{
    uint64_t pp, pm;
    const float v = x[i];
    const float vp = (float)((double)v + h), vm = (float)((double)v - h);
    x[i] = vp;
    const double fp = eval(f, ctx, o, &pp);
    x[i] = vm;
    const double fm = eval(f, ctx, o, &pm);
    x[i] = v;
    *ok = pp == base && pm == base;
    return (fp - fm) / ((double)vp - (double)vm);
}

static double quotient_f64(gc_loss_fn f, void *ctx, const gc_opts *o, double *x, size_t i, double h,
                           uint64_t base, int *ok)
{
    uint64_t pp, pm;
    const double v = x[i];
    const double vp = v + h, vm = v - h;
    x[i] = vp;
    const double fp = eval(f, ctx, o, &pp);
    x[i] = vm;
    const double fm = eval(f, ctx, o, &pm);
    x[i] = v;
    *ok = pp == base && pm == base;
    return (fp - fm) / (vp - vm);
}

static int within(double a, double b, const gc_opts *o)
{
    return fabs(a - b) <= o->atol + o->rtol * fmax(fabs(a), fabs(b));
}

gc_report gc_check_f32(const char *name, gc_loss_fn f, void *ctx, float *x, size_t n,
                       const float *grad, const gc_opts *o)
{
    gc_report r = {0};
    size_t m;
    size_t *idx = pick_coords(n, o->max_coords, o->seed, &m);
    if (!idx) {
        r.bad = 1;
        return r;
    }
    uint64_t base;
    (void)eval(f, ctx, o, &base);
    for (size_t c = 0; c < m; c++) {
        const size_t i = idx[c];
        int ok, ok2 = 1;
        double num = quotient_f32(f, ctx, o, x, i, o->h, base, &ok);
        if (ok && o->converge) {
            const double fine = quotient_f32(f, ctx, o, x, i, o->h / 4, base, &ok2);
            if (ok2 && !within(num, fine, o)) {
                r.unconverged++;
                continue;
            }
            num = fine;
        }
        if (!ok || !ok2) {
            r.skipped++;
            continue;
        }
        account(&r, i, num, (double)grad[i], o);
    }
    (void)f(ctx); /* leave the callee's state at x */
    free(idx);
    summary(name, &r);
    return r;
}

gc_report gc_check_f64(const char *name, gc_loss_fn f, void *ctx, double *x, size_t n,
                       const double *grad, const gc_opts *o)
{
    gc_report r = {0};
    size_t m;
    size_t *idx = pick_coords(n, o->max_coords, o->seed, &m);
    if (!idx) {
        r.bad = 1;
        return r;
    }
    uint64_t base;
    (void)eval(f, ctx, o, &base);
    for (size_t c = 0; c < m; c++) {
        const size_t i = idx[c];
        int ok, ok2 = 1;
        double num = quotient_f64(f, ctx, o, x, i, o->h, base, &ok);
        if (ok && o->converge) {
            const double fine = quotient_f64(f, ctx, o, x, i, o->h / 4, base, &ok2);
            if (ok2 && !within(num, fine, o)) {
                r.unconverged++;
                continue;
            }
            num = fine;
        }
        if (!ok || !ok2) {
            r.skipped++;
            continue;
        }
        account(&r, i, num, grad[i], o);
    }
    (void)f(ctx);
    free(idx);
    summary(name, &r);
    return r;
}

double gc_direction_f32(gc_loss_fn f, void *ctx, float *x, size_t n, const float *grad,
                        const gc_opts *o, double *num, double *ana, int *kinked)
{
    float *x0 = malloc((n ? n : 1) * sizeof *x0);
    float *xp = malloc((n ? n : 1) * sizeof *xp);
    float *xm = malloc((n ? n : 1) * sizeof *xm);
    if (!x0 || !xp || !xm) {
        free(x0);
        free(xp);
        free(xm);
        return INFINITY;
    }
    for (size_t i = 0; i < n; i++)
        x0[i] = x[i];
    uint64_t base, pp = 0, pm = 0;
    (void)eval(f, ctx, o, &base);
    l2h_rng rng;
    l2h_rng_seed(&rng, o->seed);
    double nd = 0.0, a = 0.0;
    int tries = o->pattern ? 8 : 1, bent = 1;
    double h = o->h;
    for (; tries-- > 0 && bent; h *= 0.25) {
        a = 0.0;
        for (size_t i = 0; i < n; i++) {
            /* along sign(grad) with probability 3/4: keeps grad · δ away from the float noise
             * that a fully random direction's cancellation would expose */
            const int agree = (l2h_rng_next(&rng) >> 62) != 0;
            const int up = (grad[i] >= 0.0f) == agree;
            const double d = up ? h : -h;
            xp[i] = (float)((double)x0[i] + d);
            xm[i] = (float)((double)x0[i] - d);
            /* the directional derivative along the step actually taken */
            a += (double)grad[i] * 0.5 * ((double)xp[i] - (double)xm[i]);
        }
        for (size_t i = 0; i < n; i++)
            x[i] = xp[i];
        const double fp = eval(f, ctx, o, &pp);
        for (size_t i = 0; i < n; i++)
            x[i] = xm[i];
        const double fm = eval(f, ctx, o, &pm);
        nd = 0.5 * (fp - fm);
        bent = pp != base || pm != base;
    }
    for (size_t i = 0; i < n; i++)
        x[i] = x0[i];
    (void)f(ctx);
    free(x0);
    free(xp);
    free(xm);
    if (num) *num = nd;
    if (ana) *ana = a;
    if (kinked) *kinked = bent;
    return fabs(nd - a) / fmax(fmax(fabs(nd), fabs(a)), 1e-30);
}

double gc_direction_f64(gc_loss_fn f, void *ctx, double *x, size_t n, const double *grad,
                        const gc_opts *o, double *num, double *ana, int *kinked)
{
    double *x0 = malloc((n ? n : 1) * sizeof *x0);
    double *xp = malloc((n ? n : 1) * sizeof *xp);
    double *xm = malloc((n ? n : 1) * sizeof *xm);
    if (!x0 || !xp || !xm) {
        free(x0);
        free(xp);
        free(xm);
        return INFINITY;
    }
    for (size_t i = 0; i < n; i++)
        x0[i] = x[i];
    uint64_t base, pp = 0, pm = 0;
    (void)eval(f, ctx, o, &base);
    l2h_rng rng;
    l2h_rng_seed(&rng, o->seed);
    double nd = 0.0, a = 0.0;
    int tries = o->pattern ? 8 : 1, bent = 1;
    double h = o->h;
    for (; tries-- > 0 && bent; h *= 0.25) {
        a = 0.0;
        for (size_t i = 0; i < n; i++) {
            /* along sign(grad) with probability 3/4: keeps grad · δ away from the float noise
             * that a fully random direction's cancellation would expose */
            const int agree = (l2h_rng_next(&rng) >> 62) != 0;
            const int up = (grad[i] >= 0.0) == agree;
            const double d = up ? h : -h;
            xp[i] = x0[i] + d;
            xm[i] = x0[i] - d;
            /* the directional derivative along the step actually taken */
            a += grad[i] * 0.5 * (xp[i] - xm[i]);
        }
        for (size_t i = 0; i < n; i++)
            x[i] = xp[i];
        const double fp = eval(f, ctx, o, &pp);
        for (size_t i = 0; i < n; i++)
            x[i] = xm[i];
        const double fm = eval(f, ctx, o, &pm);
        nd = 0.5 * (fp - fm);
        bent = pp != base || pm != base;
    }
    for (size_t i = 0; i < n; i++)
        x[i] = x0[i];
    (void)f(ctx);
    free(x0);
    free(xp);
    free(xm);
    if (num) *num = nd;
    if (ana) *ana = a;
    if (kinked) *kinked = bent;
    return fabs(nd - a) / fmax(fmax(fabs(nd), fabs(a)), 1e-30);
}
