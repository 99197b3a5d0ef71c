/* SPDX-License-Identifier: MIT (see LICENSE) */
/* l2h/status.h -- status codes, error messages, export macros and process-wide settings.
 *
 * Every fallible function returns an l2h_status; L2H_OK is 0 and failures are negative. The
 * human-readable detail of the last failure on the calling thread is l2h_last_error(): it names
 * the file and the problem for every input error ("x.npy: truncated: ..."). Values are pinned and
 * never renumbered. */
#ifndef L2H_STATUS_H
#define L2H_STATUS_H

#include <stddef.h>
#include <stdint.h>

#if defined(L2H_BUILDING) && defined(__GNUC__)
#define L2H_API __attribute__((visibility("default")))
#else
#define L2H_API
#endif

#if defined(__GNUC__)
#define L2H_NODISCARD __attribute__((warn_unused_result))
#else
#define L2H_NODISCARD
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum l2h_status {
    L2H_OK              = 0,
    L2H_ERR_NOMEM       = -1, /* an allocation failed                                   */
    L2H_ERR_ARG         = -2, /* invalid argument or shape mismatch                     */
    L2H_ERR_STATE       = -3, /* call not valid now (e.g. search on an empty index)     */
    L2H_ERR_IO          = -4, /* open/read/write failed; the message carries strerror   */
    L2H_ERR_FORMAT      = -5, /* bad magic, truncated, inconsistent or corrupt input    */
    L2H_ERR_VERSION     = -6, /* file format version newer than this library            */
    L2H_ERR_UNSUPPORTED = -7, /* a valid request this build cannot serve                */
    L2H_ERR_NUMERIC     = -8  /* NaN or Inf met in data, loss or parameters             */
} l2h_status;

/* Name of a status ("L2H_ERR_FORMAT"); a static string, never NULL. */
L2H_API const char *l2h_status_str(l2h_status s);

/* Detail of the most recent failure on this thread; "" if none. Valid until the next l2h call
 * on this thread. */
L2H_API const char *l2h_last_error(void);

/* Runtime version of the linked library, see l2h/version.h. */
L2H_API unsigned l2h_version_number(void);
L2H_API const char *l2h_version_string(void);

/* Number of threads used by parallel kernels (search, evaluation, training). 0 restores the
 * default (OpenMP's, normally the number of cores). Process-global, like OpenMP's own setting. */
L2H_API void l2h_set_threads(int n);
L2H_API int l2h_threads(void);

/* Description of the build: BLAS in use, OpenMP, Hamming kernel chosen for this CPU. */
L2H_API const char *l2h_build_info(void);

#ifdef __cplusplus
}
#endif
#endif
