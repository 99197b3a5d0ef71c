/* check.h -- the test harness: a few assertion macros, a seed from the environment, and the
 * "N passed, N failed" closing line that ctest/CI read. Each test executable is one main(). */
#ifndef L2H_CHECK_H
#define L2H_CHECK_H

#include "l2h/status.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int check_passed, check_failed;
static uint64_t check_seed;

/* Exit code of a test that cannot run here (missing data, unsupported CPU): ctest counts it as
 * skipped (SKIP_RETURN_CODE 77), so a skip is visible instead of a silent pass. */
#define CHECK_SKIP 77
static inline int check_skip(const char *why)
{
    printf("skipped: %s\n", why);
    return CHECK_SKIP;
}

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (cond) check_passed++;                                                                  \
        else {                                                                                     \
            check_failed++;                                                                        \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_I(a, b)                                                                           \
    do {                                                                                           \
        const long long ca_ = (long long)(a), cb_ = (long long)(b);                                \
        if (ca_ == cb_) check_passed++;                                                            \
        else {                                                                                     \
            check_failed++;                                                                        \
            fprintf(stderr, "%s:%d: %s == %s failed: %lld vs %lld\n", __FILE__, __LINE__, #a, #b,  \
                    ca_, cb_);                                                                     \
        }                                                                                          \
    } while (0)

static inline int check_near(double a, double b, double rtol, double atol)
{
    return fabs(a - b) <= atol + rtol * fabs(b);
}

#define CHECK_NEAR(a, b, rtol, atol)                                                               \
    do {                                                                                           \
        const double ca_ = (double)(a), cb_ = (double)(b);                                         \
        if (check_near(ca_, cb_, rtol, atol)) check_passed++;                                      \
        else {                                                                                     \
            check_failed++;                                                                        \
            fprintf(stderr, "%s:%d: %s ~ %s failed: %.10g vs %.10g\n", __FILE__, __LINE__, #a, #b, \
                    ca_, cb_);                                                                     \
        }                                                                                          \
    } while (0)

#define CHECK_ALL_NEAR(n, a, b, rtol, atol)                                                        \
    do {                                                                                           \
        size_t bad_ = (size_t)-1;                                                                  \
        for (size_t i_ = 0; i_ < (size_t)(n); i_++)                                                \
            if (!check_near((double)(a)[i_], (double)(b)[i_], rtol, atol)) {                       \
                bad_ = i_;                                                                         \
                break;                                                                             \
            }                                                                                      \
        if (bad_ == (size_t)-1) check_passed++;                                                    \
        else {                                                                                     \
            check_failed++;                                                                        \
            fprintf(stderr, "%s:%d: %s ~ %s failed at [%zu]: %.10g vs %.10g\n", __FILE__,          \
                    __LINE__, #a, #b, bad_, (double)(a)[bad_], (double)(b)[bad_]);                 \
        }                                                                                          \
    } while (0)

#define CHECK_OK(expr)                                                                             \
    do {                                                                                           \
        const l2h_status cs_ = (expr);                                                             \
        if (cs_ == L2H_OK) check_passed++;                                                         \
        else {                                                                                     \
            check_failed++;                                                                        \
            fprintf(stderr, "%s:%d: %s returned %s: %s\n", __FILE__, __LINE__, #expr,              \
                    l2h_status_str(cs_), l2h_last_error());                                        \
        }                                                                                          \
    } while (0)

#define CHECK_STATUS(expr, want)                                                                   \
    do {                                                                                           \
        const l2h_status cs_ = (expr);                                                             \
        if (cs_ == (want)) check_passed++;                                                         \
        else {                                                                                     \
            check_failed++;                                                                        \
            fprintf(stderr, "%s:%d: %s returned %s, expected %s (%s)\n", __FILE__, __LINE__,       \
                    #expr, l2h_status_str(cs_), l2h_status_str(want), l2h_last_error());           \
        }                                                                                          \
    } while (0)

/* Seed for randomised tests: $L2H_SEED or a fixed default; printed on failure. */
static inline uint64_t test_seed(void)
{
    const char *s = getenv("L2H_SEED");
    check_seed = s ? strtoull(s, NULL, 10) : 20261122u;
    return check_seed;
}

static inline int check_report(void)
{
    if (check_failed) fprintf(stderr, "(seed %llu; rerun with L2H_SEED=%llu)\n",
                              (unsigned long long)check_seed, (unsigned long long)check_seed);
    printf("%d passed, %d failed\n", check_passed, check_failed);
    if (check_passed + check_failed == 0) {
        /* a test that checked nothing cannot have failed, so it must not pass either */
        fprintf(stderr, "no checks ran: the test checked nothing\n");
        return 1;
    }
    return check_failed ? 1 : 0;
}

#endif
