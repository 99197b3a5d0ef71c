/* l2h.c -- the `l2h` command: subcommand table, global usage, exit codes.
 * Exit codes: 0 success, 1 runtime error (message on stderr), 2 usage error.
 * Results go to stdout; progress and messages to stderr. */
#include "cli.h"

#include <string.h>

int cmd_client(int argc, char **argv); /* cmd_client.c */

static const cli_command commands[] = {
    {"demo", "run every method on Fashion-MNIST and print the results table", cmd_demo},
    {"train", "learn a hash function (LSH, ITQ, MIHash, JMLH) and save it as a model file",
     cmd_train},
    {"encode", "encode data with a model into packed codes (.npy)", cmd_encode},
    {"search", "exact k-NN / radius search of codes by Hamming distance", cmd_search},
    {"index", "build a saved index (flat or multi-index), add, remove, replace codes", cmd_index},
    {"eval", "retrieval quality of a model: mAP, tie-aware mAP, P@H<=r, curves", cmd_eval},
    {"mi", "MI quality of a model's codes on a labelled set (+ distance histograms)", cmd_mi},
    {"stream", "online hashing with the fixed or trigger (MI) table update policy", cmd_stream},
    {"features", "CNN features (MobileNet-v1) of JPEG/PNG photos into a .npy matrix", cmd_features},
    {"finetune", "train MobileNet-v1's last block with the hash layer (deep hashing)",
     cmd_finetune},
    {"info", "build information, or what a model/index/codes/data file holds", cmd_info},
    {"client", "talk to a running l2hd: create, insert, search, show, drop", cmd_client},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: l2h COMMAND [options]   (l2h COMMAND --help for details)\n\n"
               "Learning to hash: compact binary codes from feature vectors, exact Hamming "
               "search.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nglobal options: --help, --version\n"
               "exit codes: 0 success, 1 error, 2 usage error\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return cli_finish_stdout(CLI_OK);
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("l2h %s\n%s\n", l2h_version_string(), l2h_build_info());
        return cli_finish_stdout(CLI_OK);
    }
    /* stdout is checked at exit (a full disk or a closed pipe is an error, exit 1), and the
     * side files of a failed command are removed (cli_output.c) */
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return cli_finish_stdout(commands[i].run(argc - 1, argv + 1));
    fprintf(stderr, "l2h: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return CLI_USAGE;
}
