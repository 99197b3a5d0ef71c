/* cli_plot.c -- PNG plots through gnuplot (Debian's gnuplot-nox): the CLI writes the data as CSV,
 * a gnuplot script next to it, and runs gnuplot on the script. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

int cli_gnuplot(const char *png, const char *script)
{
    char gp[4096];
    snprintf(gp, sizeof gp, "%s.gp", png);
    FILE *f = fopen(gp, "w");
    if (!f) {
        fprintf(stderr, "l2h: error: cannot write %s\n", gp);
        return CLI_ERR;
    }
    fprintf(f, "set terminal pngcairo size 900,560 noenhanced font ',10'\nset output '%s'\n%s\n",
            png, script);
    if (fclose(f) != 0) {
        fprintf(stderr, "l2h: error: writing %s failed\n", gp);
        return CLI_ERR;
    }
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "gnuplot '%s' 2>&1", gp);
    FILE *p = popen(cmd, "r");
    if (!p) {
        fprintf(stderr, "l2h: error: cannot run gnuplot (apt-get install gnuplot-nox)\n");
        return CLI_ERR;
    }
    char line[512];
    while (fgets(line, sizeof line, p)) fprintf(stderr, "gnuplot: %s", line);
    const int rc = pclose(p);
    if (rc != 0) {
        fprintf(stderr, "l2h: error: gnuplot failed (is gnuplot-nox installed?); the script is "
                        "%s\n", gp);
        return CLI_ERR;
    }
    return CLI_OK;
}
