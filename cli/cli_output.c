/* cli_output.c -- every file the CLI writes besides the library's own (CSV logs, curves,
 * histograms) and stdout itself go through here, so that no write error is ignored:
 *   cli_out_open / cli_out_close   open a side file and register it; closing checks every
 *                                  buffered write and the close itself;
 *   cli_out_discard                when a command fails, the side files it created are removed,
 *                                  so no empty or partial file is left behind a failure;
 *   cli_finish_stdout              at exit, stdout is flushed and closed and a failure (a full
 *                                  disk, a closed pipe) turns the exit code into 1. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SIDE_FILES 16

typedef struct side_file {
    FILE *f;
    char *path;
} side_file;

static side_file sides[MAX_SIDE_FILES];
static size_t n_sides;

FILE *cli_out_open(const char *path)
{
    if (n_sides == MAX_SIDE_FILES) {
        fprintf(stderr, "l2h: error: too many output files\n");
        return NULL;
    }
    /* a FIFO or device is written through, never replaced; only regular files are removed
     * again after a failure */
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "l2h: error: cannot write %s: %s\n", path, strerror(errno));
        return NULL;
    }
    struct stat sb;
    char *copy = NULL;
    if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode)) copy = strdup(path);
    sides[n_sides].f = f;
    sides[n_sides].path = copy;
    n_sides++;
    return f;
}

int cli_out_close(FILE *f)
{
    const char *path = "an output file";
    for (size_t i = 0; i < n_sides; i++)
        if (sides[i].f == f) {
            sides[i].f = NULL;
            if (sides[i].path) path = sides[i].path;
        }
    errno = 0;
    const int bad = ferror(f);
    const int e0 = errno;
    if (fclose(f) != 0 || bad) {
        const int e = errno ? errno : e0;
        fprintf(stderr, "l2h: error: writing %s failed: %s\n", path,
                e ? strerror(e) : "write error");
        return CLI_ERR;
    }
    return CLI_OK;
}

static void cli_out_discard(void)
{
    for (size_t i = 0; i < n_sides; i++) {
        if (sides[i].f) fclose(sides[i].f);
        if (sides[i].path) unlink(sides[i].path);
        free(sides[i].path);
        sides[i] = (side_file){NULL, NULL};
    }
    n_sides = 0;
}

static void cli_out_keep(void)
{
    for (size_t i = 0; i < n_sides; i++) {
        if (sides[i].f) (void)cli_out_close(sides[i].f);
        free(sides[i].path);
        sides[i] = (side_file){NULL, NULL};
    }
    n_sides = 0;
}

int cli_finish_stdout(int rc)
{
    errno = 0;
    const int bad = ferror(stdout);
    const int flushed = fflush(stdout);
    const int e = errno;
    const int closed = fclose(stdout);
    if (bad || flushed != 0 || closed != 0) {
        fprintf(stderr, "l2h: error: writing the output failed: %s\n",
                e ? strerror(e) : errno ? strerror(errno) : "write error");
        if (rc == CLI_OK) rc = CLI_ERR;
    }
    if (rc == CLI_OK) cli_out_keep();
    else cli_out_discard();
    return rc;
}

const char *cli_json_escape(const char *s, char *out, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    size_t j = 0;
    if (cap == 0) return out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char buf[7];
        size_t n = 0;
        if (*p == '"' || *p == '\\') {
            buf[n++] = '\\';
            buf[n++] = (char)*p;
        } else if (*p < 0x20 || *p == 0x7f) {
            buf[n++] = '\\';
            buf[n++] = 'u';
            buf[n++] = '0';
            buf[n++] = '0';
            buf[n++] = hex[*p >> 4];
            buf[n++] = hex[*p & 15];
        } else {
            buf[n++] = (char)*p;
        }
        if (j + n + 4 > cap) { /* keep room for "..." and the terminator */
            if (j + 4 <= cap) memcpy(out + j, "...", 3), j += 3;
            break;
        }
        memcpy(out + j, buf, n);
        j += n;
    }
    out[j] = '\0';
    return out;
}
