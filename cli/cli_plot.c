/* cli_plot.c -- PNG plots through gnuplot (Debian's gnuplot-nox). The CLI writes the data as CSV
 * and sends the gnuplot script on gnuplot's standard input: gnuplot is started with fork/exec and
 * an argument vector (no shell sees any path), and every path inside the script is a
 * single-quoted gnuplot string escaped by cli_gp_escape. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int cli_gp_escape(const char *what, const char *s, char *out, size_t cap)
{
    size_t j = 0;
    for (const char *p = s; *p; p++) {
        const unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c == 0x7f) {
            fprintf(stderr, "l2h: error: %s '%s' contains a control character; gnuplot cannot "
                            "use it\n", what, s);
            return CLI_USAGE;
        }
        const size_t need = c == '\'' ? 2 : 1;
        if (j + need + 1 > cap) {
            fprintf(stderr, "l2h: error: %s is too long for a plot\n", what);
            return CLI_USAGE;
        }
        out[j++] = (char)c;
        if (c == '\'') out[j++] = '\''; /* '' is a literal ' inside '...' */
    }
    out[j] = '\0';
    return CLI_OK;
}

static int write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        const ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

int cli_gnuplot(const char *png, const char *script)
{
    char qpng[8192];
    int r = cli_gp_escape("the plot file name", png, qpng, sizeof qpng);
    if (r != CLI_OK) return CLI_ERR;
#define GP_HEAD "set terminal pngcairo size 900,560 noenhanced font ',10'\nset output '%s'\n"
    const size_t cap = sizeof GP_HEAD + strlen(qpng) + strlen(script) + 16;
    char *full = malloc(cap);
    if (!full) return cli_fail(L2H_ERR_NOMEM, "plot");
    int len = snprintf(full, cap, GP_HEAD, qpng);
    len += snprintf(full + len, cap - (size_t)len, "%s\nset output\n", script);

    int in[2];
    if (pipe(in) != 0) {
        fprintf(stderr, "l2h: error: plot %s: pipe failed: %s\n", png, strerror(errno));
        free(full);
        return CLI_ERR;
    }
    fflush(stdout);
    fflush(stderr);
    const pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "l2h: error: plot %s: fork failed: %s\n", png, strerror(errno));
        close(in[0]);
        close(in[1]);
        free(full);
        return CLI_ERR;
    }
    if (pid == 0) {
        /* the child: script on stdin, its messages on stderr; its stdout goes nowhere (stdout
         * carries the command's data, and gnuplot writes the image there when it cannot open
         * the output file) */
        dup2(in[0], STDIN_FILENO);
        const int null_fd = open("/dev/null", O_WRONLY);
        if (null_fd >= 0) dup2(null_fd, STDOUT_FILENO);
        else close(STDOUT_FILENO);
        close(in[0]);
        close(in[1]);
        char *const argv[] = {"gnuplot", NULL};
        execvp("gnuplot", argv);
        _exit(127);
    }
    close(in[0]);
    /* gnuplot may exit before reading everything: a write error, not a SIGPIPE */
    struct sigaction ign = {0}, old;
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, &old);
    const int wr = write_all(in[1], full, (size_t)len);
    close(in[1]);
    sigaction(SIGPIPE, &old, NULL);
    free(full);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            fprintf(stderr, "l2h: error: plot %s: waiting for gnuplot failed: %s\n", png,
                    strerror(errno));
            return CLI_ERR;
        }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
        fprintf(stderr, "l2h: error: plot %s: cannot run gnuplot: not installed (apt-get "
                        "install gnuplot-nox)\n", png);
        return CLI_ERR;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || wr != 0) {
        fprintf(stderr, "l2h: error: plot %s: gnuplot failed (%s %d; its messages are above)\n",
                png, WIFEXITED(status) ? "exit status" : "signal",
                WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        return CLI_ERR;
    }
    return CLI_OK;
}
