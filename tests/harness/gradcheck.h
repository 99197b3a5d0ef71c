/* gradcheck.h -- numerical gradient checks for hand-written backward passes (style.md 7.7).
 *
 * (a) Per-coordinate central differences: for each checked coordinate i of x,
 *       num_i = (f(x + h e_i) − f(x − h e_i)) / (x_i⁺ − x_i⁻)
 *     where x_i± are the values actually stored (for float arrays the float rounding of x_i ± h,
 *     so the step in the denominator is exact); f returns a double. A coordinate passes when
 *       |num_i − grad_i| <= atol + rtol · max(|num_i|, |grad_i|).
 * (b) kann's random-direction check for whole models: δ_i = ±h, compares
 *       ½ (f(x + δ) − f(x − δ))  with  grad · δ
 *     (two loss evaluations for the whole parameter vector; the difference is exact for a
 *     quadratic f, so the error measures the third-order term and any bug in grad).
 * The callback evaluates the loss at the current contents of x (it closes over x through
 * ctx); x is restored exactly after every perturbation.
 *
 * Kinks (ReLU at 0, a max-pool argmax switching, a relaxed distance crossing a histogram bin
 * centre) make a central difference meaningless when x ± h lie on different smooth pieces. An
 * optional pattern callback, called right after each loss evaluation, returns a signature of
 * the piece (e.g. a hash of ReLU masks and argmax indices); a coordinate whose perturbations
 * change the signature is skipped, not failed, so the comparison stays exact where it is
 * defined. Tests bound the number of skipped coordinates.
 *
 * Near a singular point that is not a kink (e.g. −q log q for an almost empty histogram bin,
 * whose curvature grows like 1/q) a central difference converges only for tiny h. With
 * converge = 1 every coordinate is also differenced with h/4; when the two quotients disagree
 * beyond the tolerance the coordinate is counted as unconverged instead of compared, and the
 * h/4 quotient is the one compared otherwise. A wrong gradient still fails: its error does not
 * shrink with h. */
#ifndef L2H_GRADCHECK_H
#define L2H_GRADCHECK_H

#include <stddef.h>
#include <stdint.h>

typedef double (*gc_loss_fn)(void *ctx);
typedef uint64_t (*gc_pattern_fn)(void *ctx);

typedef struct gc_report {
    size_t checked;     /* coordinates compared                              */
    size_t bad;         /* coordinates outside the tolerance                 */
    size_t skipped;     /* coordinates whose steps crossed a kink            */
    size_t unconverged; /* coordinates whose quotient still moved with h    */
    double max_ratio;   /* max |num − grad| / (atol + rtol·max(|num|,|grad|)) */
    size_t worst;       /* coordinate of max_ratio                           */
    double worst_num, worst_grad;
} gc_report;

/* Step and tolerances of a check. */
typedef struct gc_opts {
    double h;          /* step                                                      */
    double rtol, atol; /* per-coordinate tolerance (see above)                      */
    size_t max_coords; /* check min(n, max_coords) coordinates (seeded subset)      */
    uint64_t seed;
    gc_pattern_fn pattern; /* NULL: no kink detection                           */
    int converge;          /* also difference with h/4 (see above)              */
} gc_opts;

/* Per-coordinate check. Prints a one-line summary to stderr, prefixed by name, when a
 * coordinate fails. */
gc_report gc_check_f32(const char *name, gc_loss_fn f, void *ctx, float *x, size_t n,
                       const float *grad, const gc_opts *o);
gc_report gc_check_f64(const char *name, gc_loss_fn f, void *ctx, double *x, size_t n,
                       const double *grad, const gc_opts *o);

/* Random-direction check along δ_i = ±h, the sign of grad_i with probability 3/4 (so that
 * grad · δ does not cancel down to the float noise of the loss); returns |num − ana| / max(|num|,
 * |ana|, 1e-30); num and ana (may be NULL) receive the two sides. With o->pattern, up to 8
 * directions are tried, each with a step 4 times smaller, until one stays on the smooth piece;
 * *kinked (may be NULL) = 1 if none did (the result is then that of the last direction). */
double gc_direction_f32(gc_loss_fn f, void *ctx, float *x, size_t n, const float *grad,
                        const gc_opts *o, double *num, double *ana, int *kinked);
double gc_direction_f64(gc_loss_fn f, void *ctx, double *x, size_t n, const double *grad,
                        const gc_opts *o, double *num, double *ana, int *kinked);

#endif
