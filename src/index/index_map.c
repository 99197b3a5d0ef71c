/* index_map.c -- memory-mapping of index files for l2h_index_load: the loader parses and
 * checksums the mapped bytes directly, so a large index is never held twice in memory (file
 * buffer + index) and its pages are read once, sequentially, by the checksum pass. */
#include "index_internal.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

l2h_status l2h_index_map_file(const char *path, const void **map, size_t *len)
{
    *map = NULL;
    *len = 0;
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return L2H_ERR_IO;
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size <= 0 ||
        (uint64_t)sb.st_size > (uint64_t)(SIZE_MAX / 2)) {
        close(fd);
        return L2H_ERR_IO;
    }
    const size_t n = (size_t)sb.st_size;
    void *p = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd); /* the mapping stays valid */
    if (p == MAP_FAILED) return L2H_ERR_IO;
    (void)madvise(p, n, MADV_SEQUENTIAL);
    *map = p;
    *len = n;
    return L2H_OK;
}

void l2h_index_unmap_file(const void *map, size_t len)
{
    if (map) munmap((void *)(uintptr_t)map, len);
}
