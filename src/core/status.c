/* status.c -- status names, the thread-local last-error buffer, version and build info. */
#include "core.h"
#include "l2h/version.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static _Thread_local char last_error[1024];

l2h_status l2h_set_error(l2h_status code, const char *fmt, ...)
{
    /* formatted into a copy first: callers may pass l2h_last_error() itself as an argument
     * ("%s: bad file: %s", name, l2h_last_error()), and vsnprintf must not read the buffer it
     * writes */
    char msg[sizeof last_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    memcpy(last_error, msg, sizeof msg);
    return code;
}

void l2h_clear_error(void)
{
    last_error[0] = '\0';
}

const char *l2h_last_error(void)
{
    return last_error;
}

const char *l2h_status_str(l2h_status s)
{
    switch (s) {
    case L2H_OK: return "L2H_OK";
    case L2H_ERR_NOMEM: return "L2H_ERR_NOMEM";
    case L2H_ERR_ARG: return "L2H_ERR_ARG";
    case L2H_ERR_STATE: return "L2H_ERR_STATE";
    case L2H_ERR_IO: return "L2H_ERR_IO";
    case L2H_ERR_FORMAT: return "L2H_ERR_FORMAT";
    case L2H_ERR_VERSION: return "L2H_ERR_VERSION";
    case L2H_ERR_UNSUPPORTED: return "L2H_ERR_UNSUPPORTED";
    case L2H_ERR_NUMERIC: return "L2H_ERR_NUMERIC";
    }
    return "L2H_ERR_UNKNOWN";
}

void l2h_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "l2h: internal error: assertion '%s' failed at %s:%d\n", expr, file, line);
    abort();
}

#define L2H_STR2(x) #x
#define L2H_STR(x) L2H_STR2(x)

unsigned l2h_version_number(void)
{
    return L2H_VERSION_NUMBER;
}

const char *l2h_version_string(void)
{
    return L2H_STR(L2H_VERSION_MAJOR) "." L2H_STR(L2H_VERSION_MINOR) "." L2H_STR(
        L2H_VERSION_PATCH);
}

static int thread_setting; /* 0 = OpenMP default */

void l2h_set_threads(int n)
{
    thread_setting = n > 0 ? n : 0;
#ifdef _OPENMP
    if (n > 0) omp_set_num_threads(n);
    else omp_set_num_threads(omp_get_num_procs());
#endif
}

int l2h_threads(void)
{
#ifdef _OPENMP
    return thread_setting > 0 ? thread_setting : omp_get_max_threads();
#else
    return 1;
#endif
}

double l2h_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
