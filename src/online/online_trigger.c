/* online_trigger.c -- the Trigger Update's decision (MIHash §3.1, eq. 6; methods.md §1.5;
 * docs/online.md §4) and the caches that make a check cheap.
 *
 * Q_R in the reference code's conventions: for every reservoir item j (anchor), Hamming
 * distances d_ij to all reservoir items i, INCLUDING i = j (the item is its own positive at
 * distance 0); hard histograms with unit-width bins on [0, b] (b bins, distances b − 1 and b
 * share the last one) of the positives and of the negatives; P(+) = |pos| / R;
 * MI_j = H(D) − P(+) H(D | +) − P(−) H(D | −) in bits, clipped at 0; Q_R = mean_j MI_j.
 * Computed by the popcount kernel of src/eval/mi_codes.c (tested against a plain reference and
 * against l2h_mi_quality).
 *
 * What a check costs, and what is cached between checks:
 *   - Q_R(Φ_t): the reservoir encoded with Φ_t; the histograms of the last check's codes are
 *     kept (and follow reservoir slot changes like the snapshot's), so a check takes out and
 *     puts back only the items whose code under Φ_t changed since (two scans each), or runs the
 *     full kernel (R scans + R histograms) when more than R / 16 changed;
 *   - Q_R(Φˢ): the snapshot's per-anchor histograms are kept; when a reservoir slot changes the
 *     old item is taken out of every histogram and the new one put in (two scans), so a check
 *     only re-reads the histograms. After an update that installs Φ_t the current histograms
 *     become the snapshot's (Φˢ := Φ_t encodes the reservoir to the same codes);
 *   - unsupervised data: the R × R Euclidean affinity of the reservoir is kept and only the row
 *     and column of a changed slot are recomputed (with l2h_online_similar, the same rule as
 *     before, so the decisions do not change).
 *
 * Policies: TRIGGER fires iff Q_R(Φ_t) − Q_R(Φˢ) > θ. TRIGGER_SE fires iff the improvement
 * exceeds its own estimation noise: with Δ_j = MI_j(Φ_t) − MI_j(Φˢ) the per-anchor differences
 * (paired: same anchors, same neighbours), mean Δ̄ = Q_R(Φ_t) − Q_R(Φˢ) and standard error
 * SE = sd(Δ) / sqrt(R), it fires iff Δ̄ − θ > z·SE, z the one-sided normal quantile of the
 * confidence level (0.95: z = 1.645).
 * TRIGGER_UNPAIRED fires iff Δ̄ − θ > z·SE_u, SE_u = sqrt(var(MI(Φ_t)) / R + var(MI(Φˢ)) / R) the
 * standard error of the difference of two Q_R measured on independent reservoirs. The paired SE
 * sees only which anchors were drawn; the gain measured from check to check also moves with the
 * reservoir's turnover (which items are neighbours) and the learner's own step-to-step jitter,
 * measured at about 3× the paired SE for OSH on cifar10-cnn (docs/results.md); SE_u is the
 * bound that counts every anchor's and neighbour's draw as independent (no parameter beyond the
 * confidence; docs/online.md §4.2). */
#include "online_internal.h"

#include "hamming_internal.h"

#include "l2h/codes.h"

#include <math.h>
#include <string.h>

l2h_status l2h_online_quality(const uint8_t *codes, size_t n, size_t bits, const uint8_t *aff,
                              const int32_t *labels, double *q)
{
    L2H_FAIL_IF(aff == NULL && labels == NULL, L2H_ERR_ARG,
                "online quality: no affinity and no labels");
    const l2h_mi_codes_opts o = l2h_mi_codes_reference_opts();
    return l2h_mi_codes_eval(codes, n, bits, labels, labels ? NULL : aff, &o, q, NULL);
}

/* Φ⁻¹(p) for 0 < p < 1: bisection on 0.5 erfc(−z/√2) = p (to 1e-12; called once per run). */
double l2h_online_normal_quantile(double p)
{
    double lo = -40.0, hi = 40.0;
    for (int it = 0; it < 200 && hi - lo > 1e-12; it++) {
        const double mid = 0.5 * (lo + hi);
        if (0.5 * erfc(-mid / sqrt(2.0)) < p) lo = mid;
        else hi = mid;
    }
    return 0.5 * (lo + hi);
}

void l2h_trigger_release(l2h_trigger *t)
{
    if (t == NULL) return;
    l2h_mi_codes_release(&t->snap);
    l2h_mi_codes_release(&t->cur);
    l2h_free(t->aff);
    l2h_free(t->mi_snap);
    l2h_free(t->mi_cur);
    memset(t, 0, sizeof *t);
}

l2h_status l2h_trigger_init(l2h_trigger *t, size_t cap, size_t dim, size_t bits)
{
    memset(t, 0, sizeof *t);
    t->cap = cap;
    t->dim = dim;
    t->bits = bits;
    t->bytes = l2h_code_bytes(bits);
    if (cap == 0) return L2H_OK;
    t->aff = l2h_calloc(cap * cap, 1);
    t->mi_snap = l2h_malloc_array(cap, sizeof *t->mi_snap);
    t->mi_cur = l2h_malloc_array(cap, sizeof *t->mi_cur);
    if (!t->aff || !t->mi_snap || !t->mi_cur) {
        l2h_trigger_release(t);
        L2H_FAIL(L2H_ERR_NOMEM, "trigger: out of memory (reservoir %zu)", cap);
    }
    const l2h_mi_codes_opts o = l2h_mi_codes_reference_opts();
    l2h_status st = l2h_mi_codes_init(&t->snap, cap, bits, &o, NULL, 0);
    if (st == L2H_OK) st = l2h_mi_codes_init(&t->cur, cap, bits, &o, NULL, 0);
    if (st != L2H_OK) l2h_trigger_release(t);
    return st;
}

void l2h_trigger_reset(l2h_trigger *t, int active)
{
    t->active = active && t->cap > 0;
    t->mode = -1;
    t->n_aff = 0;
    t->snap_valid = 0;
    t->cur_valid = 0;
}

void l2h_trigger_snapshot_changed(l2h_trigger *t)
{
    t->snap_valid = 0;
}

/* Fixes label / affinity mode on the first item; the caches borrow the affinity matrix. */
static void set_mode(l2h_trigger *t, int labelled)
{
    if (t->mode != -1) return;
    t->mode = labelled ? 1 : 0;
    const uint8_t *aff = labelled ? NULL : t->aff;
    t->snap.aff = t->cur.aff = aff;
    t->snap.aff_stride = t->cur.aff_stride = t->cap;
}

void l2h_trigger_slot_changed(l2h_trigger *t, const l2h_reservoir *r, size_t k, int labelled,
                              float thr)
{
    if (!t->active) return;
    set_mode(t, labelled);
    L2H_ASSERT(k < r->n && k <= t->n_aff);
    const int replace = k < t->n_aff;
    if (t->cur_valid && t->cur.n != t->n_aff) t->cur_valid = 0;
    if (t->snap_valid && replace) l2h_mi_codes_remove(&t->snap, k);
    if (t->cur_valid && replace) l2h_mi_codes_remove(&t->cur, k); /* with the old affinity */
    if (t->mode == 0) { /* the affinity row and column of slot k, from its new features */
        const size_t c = t->cap, n = r->n;
        const float *xk = r->x + k * r->dim;
        for (size_t i = 0; i < n; i++) {
            const uint8_t a =
                l2h_online_similar(r->x + i * r->dim, xk, r->dim, NULL, NULL, thr) ? 1 : 0;
            t->aff[i * c + k] = a;
            t->aff[k * c + i] = a;
        }
    }
    if (!replace) t->n_aff = k + 1;
    if (t->snap_valid) l2h_mi_codes_insert(&t->snap, k, r->codes + k * r->bytes, r->labels[k]);
    /* the new item enters cur with its snapshot code; the next check replaces it if its code
     * under Φ_t differs */
    if (t->cur_valid) l2h_mi_codes_insert(&t->cur, k, r->codes + k * r->bytes, r->labels[k]);
}

/* cur := histograms of cur_codes[n]: only the items whose code changed since cur was last
 * brought up to date, when few did; else the full kernel. Same integer histograms either way. */
static l2h_status update_current(l2h_trigger *t, const l2h_reservoir *r, const uint8_t *cur_codes,
                                 size_t n)
{
    l2h_mi_codes *c = &t->cur;
    if (t->cur_valid && c->n == n) {
        const size_t W = c->words, limit = n / 16;
        size_t changed = 0;
        for (size_t i = 0; i < n && changed <= limit; i++) {
            uint64_t w[L2H_MAX_WORDS];
            l2h_codes_pad(cur_codes + i * t->bytes, 1, c->bits, w);
            changed += memcmp(w, c->pc + i * W, W * sizeof *w) != 0;
        }
        if (changed <= limit) {
            for (size_t i = 0; i < n && changed > 0; i++) {
                uint64_t w[L2H_MAX_WORDS];
                l2h_codes_pad(cur_codes + i * t->bytes, 1, c->bits, w);
                if (memcmp(w, c->pc + i * W, W * sizeof *w) == 0) continue;
                l2h_mi_codes_remove(c, i);
                l2h_mi_codes_insert(c, i, cur_codes + i * t->bytes, r->labels[i]);
                changed--;
            }
            return L2H_OK;
        }
    }
    t->cur_valid = 0;
    L2H_TRY(l2h_mi_codes_build(c, cur_codes, n, r->labels));
    t->cur_valid = 1;
    return L2H_OK;
}

l2h_status l2h_trigger_decide(l2h_trigger *t, const l2h_reservoir *r, const uint8_t *cur_codes,
                              l2h_online_policy policy, double theta, double z, int *fire,
                              l2h_trigger_eval *ev)
{
    *fire = 0;
    const size_t n = r->n;
    L2H_FAIL_IF(!t->active || t->mode == -1 || t->n_aff != n, L2H_ERR_STATE,
                "trigger: caches out of step with the reservoir (%zu of %zu items)", t->n_aff, n);
    if (n < 2) return L2H_OK; /* nothing to judge by */
    double q_cur = 0.0, q_snap = 0.0;
    L2H_TRY(update_current(t, r, cur_codes, n));
    L2H_TRY(l2h_mi_codes_quality(&t->cur, &q_cur, t->mi_cur));
    if (!t->snap_valid) {
        L2H_TRY(l2h_mi_codes_build(&t->snap, r->codes, n, r->labels));
        t->snap_valid = 1;
    }
    L2H_TRY(l2h_mi_codes_quality(&t->snap, &q_snap, t->mi_snap));
    /* Q_R is a mean of per-anchor MI in doubles: two mappings of equal quality can differ by
     * rounding (~1e-16) when their anchors' terms are summed in another order. Such a gain is no
     * improvement and must not re-hash the table (the plain reference agreed only up to it). */
    const double delta = fabs(q_cur - q_snap) <= 1e-12 ? 0.0 : q_cur - q_snap;
    double se = 0.0;
    if (policy == L2H_ONLINE_POLICY_TRIGGER_UNPAIRED) {
        double mc = 0.0, ms = 0.0, vc = 0.0, vs = 0.0;
        for (size_t i = 0; i < n; i++) {
            mc += t->mi_cur[i];
            ms += t->mi_snap[i];
        }
        mc /= (double)n;
        ms /= (double)n;
        for (size_t i = 0; i < n; i++) {
            vc += (t->mi_cur[i] - mc) * (t->mi_cur[i] - mc);
            vs += (t->mi_snap[i] - ms) * (t->mi_snap[i] - ms);
        }
        se = sqrt((vc + vs) / (double)(n - 1) / (double)n);
        *fire = delta - theta > z * se;
    } else if (policy == L2H_ONLINE_POLICY_TRIGGER_SE) {
        double m = 0.0, ss = 0.0;
        for (size_t i = 0; i < n; i++)
            m += t->mi_cur[i] - t->mi_snap[i];
        m /= (double)n;
        for (size_t i = 0; i < n; i++) {
            const double e = t->mi_cur[i] - t->mi_snap[i] - m;
            ss += e * e;
        }
        se = sqrt(ss / (double)(n - 1) / (double)n);
        *fire = delta - theta > z * se;
    } else {
        *fire = delta > theta;
    }
    if (ev) {
        ev->q_cur = q_cur;
        ev->q_snap = q_snap;
        ev->se = se;
    }
    return L2H_OK;
}

void l2h_trigger_adopt_current(l2h_trigger *t, const uint8_t *snap_codes, const uint8_t *cur_codes,
                               size_t n)
{
    if (!t->active) return;
    if (!t->cur_valid || t->cur.n != n || memcmp(snap_codes, cur_codes, n * t->bytes) != 0) {
        t->snap_valid = 0;
        return;
    }
    const l2h_mi_codes tmp = t->snap;
    t->snap = t->cur;
    t->cur = tmp;
    t->cur_valid = t->snap_valid; /* the old snapshot histograms match their own codes */
    t->snap_valid = 1;
}
