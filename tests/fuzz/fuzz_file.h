/* fuzz_file.h -- the file entry points users call (l2h_dataset_read, l2h_codes_read_npy,
 * l2h_index_load, l2h_model_load) take a path, not a buffer, and some of them parse the file
 * with their own reads (the codes reader reads the header, then the data). The fuzz_file_*
 * targets therefore write every input to a temporary file and call the path readers, so the
 * same code runs as under `l2h info`, `search`, `index`, `mi` and `eval`. */
#ifndef L2H_FUZZ_FILE_H
#define L2H_FUZZ_FILE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Writes data to a per-process temporary file whose name ends in `suffix` (the readers choose
 * the format by extension) and returns its path; the file is removed at exit. */
static char fuzz_file_path[4096];

static void fuzz_file_cleanup(void)
{
    if (fuzz_file_path[0]) unlink(fuzz_file_path);
}

static inline const char *fuzz_file_write(const uint8_t *data, size_t size, const char *suffix)
{
    if (!fuzz_file_path[0]) {
        const char *dir = getenv("TMPDIR");
        snprintf(fuzz_file_path, sizeof fuzz_file_path, "%s/l2h_fuzz_XXXXXX%s",
                 dir && dir[0] ? dir : "/tmp", suffix);
        const int fd = mkstemps(fuzz_file_path, (int)strlen(suffix));
        if (fd < 0) abort();
        close(fd);
        atexit(fuzz_file_cleanup);
    }
    FILE *f = fopen(fuzz_file_path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    if (fclose(f) != 0) abort();
    return fuzz_file_path;
}

/* A refusal must name the file (or be an allocation failure). */
static inline void fuzz_file_check_failure(const char *path, const char *msg)
{
    if (strncmp(msg, path, strlen(path)) != 0 && strstr(msg, "out of memory") == NULL) {
        fprintf(stderr, "refusal does not name the file: %s\n", msg);
        abort();
    }
}

#endif
