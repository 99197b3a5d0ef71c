/* info.c -- l2h_build_info(): what this build and this CPU use. The only file allowed to see
 * every module, since it reports on all of them. */
#include "core.h"
#include "linalg.h"
#include "l2h/codes.h"

#include <stdio.h>

const char *l2h_build_info(void)
{
    static _Thread_local char buf[512];
    snprintf(buf, sizeof buf, "l2h %s; hamming kernel: %s; BLAS: %s; OpenMP threads: %d",
             l2h_version_string(), l2h_hamming_kernel(), l2h_blas_name(), l2h_threads());
    return buf;
}
