/* cli_progress.c -- progress on stderr: one line redrawn in place on a terminal, plain lines
 * (no control characters) when stderr is a file or a pipe. */
#include "cli.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int tty = -1;
static int line_open;

bool cli_stderr_tty(void)
{
    if (tty < 0) tty = isatty(fileno(stderr)) ? 1 : 0;
    return tty == 1;
}

void cli_progress(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (cli_stderr_tty()) {
        fprintf(stderr, "\r\033[K%s", buf);
        line_open = 1;
    } else {
        fprintf(stderr, "%s\n", buf);
    }
    fflush(stderr);
}

void cli_progress_done(void)
{
    if (line_open) {
        fprintf(stderr, "\r\033[K");
        fflush(stderr);
        line_open = 0;
    }
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
