/* index_io.c -- the index file format (docs/index-format.md), version 2 (version 1 still loads):
 *
 *   offset  size      field
 *   0       8         magic "L2HINDEX"
 *   8       4         format version (2)
 *   12      4         header size in bytes (64)
 *   16      4         index kind (0 flat, 1 multi-index hashing)
 *   20      4         bits per code, 1..1024
 *   24      8         n, number of ids (codes held, counting repeats)
 *   32      4         flags: bit 1 = a model fingerprint is present (v1: bit 0 = ids 0..n-1)
 *   36      4         n_tables (MIH parameter; 0 for flat)
 *   40      8         v2: nd, number of distinct codes (v1: reserved, zero)
 *   48      16        v2: fingerprint of the model that made the codes, zero if none
 *   64      4 nd      v2: ids per distinct code, uint32, each >= 1, summing to n
 *   ..      8 n       ids, int64 >= 0, grouped by code, increasing within a code
 *   ..      nd*bytes  the distinct codes, packed rows of ceil(bits/8) bytes, unused bits zero
 *   end-4   4         CRC-32 (zlib) of every byte before it
 * Version 1: no counts, n ids (absent if flag bit 0) then n codes, one per id. All integers
 * little-endian. Written through l2h_write_atomic; the loader checks every field, the exact
 * file length, and the checksum before trusting anything. */
#include "index_internal.h"
#include "io_internal.h"

#include <stdio.h>
#include <string.h>
#include <zlib.h>

#define MAGIC "L2HINDEX"
enum {
    FORMAT_VERSION = 2,
    HEADER_SIZE = 64,
    FLAG_SEQUENTIAL_IDS = 1u, /* version 1 only */
    FLAG_FINGERPRINT = 2u,    /* version 2 */
    KNOWN_FLAGS_V1 = FLAG_SEQUENTIAL_IDS,
    KNOWN_FLAGS_V2 = FLAG_FINGERPRINT,
};

static uint32_t crc_update(uint32_t crc, const uint8_t *p, size_t len)
{
    while (len > 0) {
        const uInt part = len > (1u << 30) ? (1u << 30) : (uInt)len;
        crc = (uint32_t)crc32(crc, p, part);
        p += part;
        len -= part;
    }
    return crc;
}

typedef struct save_ctx {
    const l2h_index *ix;
    uint32_t crc;
} save_ctx;

static l2h_status put(FILE *f, const char *path, save_ctx *c, const void *buf, size_t len)
{
    c->crc = crc_update(c->crc, buf, len);
    return l2h_fwrite_all(f, buf, len, path);
}

static l2h_status write_index(FILE *f, const char *path, void *vctx)
{
    save_ctx *c = vctx;
    const l2h_index *ix = c->ix;
    uint8_t hdr[HEADER_SIZE];
    memset(hdr, 0, sizeof hdr);
    memcpy(hdr, MAGIC, 8);
    l2h_wr_le32(hdr + 8, FORMAT_VERSION);
    l2h_wr_le32(hdr + 12, HEADER_SIZE);
    l2h_wr_le32(hdr + 16, (uint32_t)ix->params.kind);
    l2h_wr_le32(hdr + 20, (uint32_t)ix->bits);
    l2h_wr_le64(hdr + 24, (uint64_t)ix->n);
    l2h_wr_le32(hdr + 32, ix->has_fp ? FLAG_FINGERPRINT : 0);
    l2h_wr_le32(hdr + 36, (uint32_t)ix->params.n_tables);
    l2h_wr_le64(hdr + 40, (uint64_t)ix->nd);
    if (ix->has_fp) memcpy(hdr + 48, ix->fp, L2H_FINGERPRINT_LEN);
    c->crc = (uint32_t)crc32(0L, Z_NULL, 0);
    L2H_TRY(put(f, path, c, hdr, sizeof hdr));

    enum { CHUNK = 4096 };
    uint8_t buf[CHUNK * 8];
    for (size_t r0 = 0; r0 < ix->nd; r0 += CHUNK) {
        const size_t m = ix->nd - r0 < CHUNK ? ix->nd - r0 : CHUNK;
        for (size_t i = 0; i < m; i++) l2h_wr_le32(buf + 4 * i, ix->lists[r0 + i].n);
        L2H_TRY(put(f, path, c, buf, 4 * m));
    }
    size_t m = 0;
    for (size_t r = 0; r < ix->nd; r++) {
        const l2h_idlist *l = &ix->lists[r];
        const l2h_id *a = l2h_idlist_ids(l);
        for (size_t i = 0; i < l->n; i++) {
            l2h_wr_le64(buf + 8 * m, (uint64_t)a[i]);
            if (++m == CHUNK) {
                L2H_TRY(put(f, path, c, buf, 8 * m));
                m = 0;
            }
        }
    }
    if (m) L2H_TRY(put(f, path, c, buf, 8 * m));
    const size_t rows = sizeof buf / ix->bytes;
    for (size_t i0 = 0; i0 < ix->nd; i0 += rows) {
        const size_t k = ix->nd - i0 < rows ? ix->nd - i0 : rows;
        l2h_codes_from_groups(ix->codes, i0, k, ix->bits, buf);
        L2H_TRY(put(f, path, c, buf, k * ix->bytes));
    }
    uint8_t tail[4];
    l2h_wr_le32(tail, c->crc);
    return l2h_fwrite_all(f, tail, 4, path);
}

l2h_status l2h_index_save(const l2h_index *index, const char *path)
{
    L2H_FAIL_IF(index == NULL || path == NULL, L2H_ERR_ARG, "l2h_index_save: NULL argument");
    save_ctx c = {index, 0};
    l2h_index_rdlock(index);
    const l2h_status st = l2h_write_atomic(path, write_index, &c);
    l2h_index_unlock(index);
    return st;
}

/* Parsed and validated header. */
typedef struct header {
    uint32_t version, kind, bits, flags, n_tables;
    size_t n, nd, counts_bytes, ids_bytes, codes_bytes;
} header;

static l2h_status parse_header(const uint8_t *b, size_t len, const char *name, header *h)
{
    const size_t ml = len < 8 ? len : 8;
    L2H_FAIL_IF(memcmp(b, MAGIC, ml) != 0, L2H_ERR_FORMAT, "%s: not an l2h index (bad magic)",
                name);
    L2H_FAIL_IF(len < 12, L2H_ERR_FORMAT, "%s: truncated: %zu bytes", name, len);
    const uint32_t version = l2h_rd_le32(b + 8);
    L2H_FAIL_IF(version == 0, L2H_ERR_FORMAT, "%s: invalid format version 0", name);
    L2H_FAIL_IF(version > FORMAT_VERSION, L2H_ERR_VERSION,
                "%s: format version %u is newer than this library reads (%d)", name, version,
                FORMAT_VERSION);
    L2H_FAIL_IF(len < HEADER_SIZE + 4, L2H_ERR_FORMAT, "%s: truncated: %zu bytes", name, len);
    const uint32_t hsize = l2h_rd_le32(b + 12);
    L2H_FAIL_IF(hsize != HEADER_SIZE, L2H_ERR_FORMAT, "%s: header size %u, expected %d", name,
                hsize, HEADER_SIZE);
    h->kind = l2h_rd_le32(b + 16);
    h->bits = l2h_rd_le32(b + 20);
    const uint64_t n = l2h_rd_le64(b + 24);
    h->flags = l2h_rd_le32(b + 32);
    h->n_tables = l2h_rd_le32(b + 36);
    L2H_FAIL_IF(h->bits == 0 || h->bits > L2H_MAX_BITS, L2H_ERR_FORMAT,
                "%s: code length %u bits outside 1..%d", name, h->bits, L2H_MAX_BITS);
    h->version = version;
    const uint32_t known = version == 1 ? KNOWN_FLAGS_V1 : KNOWN_FLAGS_V2;
    L2H_FAIL_IF(h->flags & ~known, L2H_ERR_FORMAT, "%s: unknown flags 0x%x", name, h->flags);
    /* sizes from the header must match the file length exactly */
    const size_t bytes = l2h_code_bytes(h->bits);
    size_t payload;
    if (version == 1) {
        const int seq = (h->flags & FLAG_SEQUENTIAL_IDS) != 0;
        const size_t per_row = bytes + (seq ? 0 : 8);
        L2H_FAIL_IF(n > SIZE_MAX / 16 || !l2h_mul_ok((size_t)n, per_row, &payload) ||
                        payload > SIZE_MAX - HEADER_SIZE - 4,
                    L2H_ERR_FORMAT, "%s: code count %llu is impossible", name,
                    (unsigned long long)n);
        h->nd = (size_t)n;
        h->counts_bytes = 0;
        h->ids_bytes = seq ? 0 : 8 * (size_t)n;
    } else {
        const uint64_t nd = l2h_rd_le64(b + 40);
        size_t cb;
        L2H_FAIL_IF(n > SIZE_MAX / 16 || nd > n || (n > 0 && nd == 0) ||
                        !l2h_mul_ok((size_t)nd, bytes + 4, &cb) || cb > SIZE_MAX / 2 ||
                        8 * (size_t)n > SIZE_MAX / 2 - cb - HEADER_SIZE - 4,
                    L2H_ERR_FORMAT, "%s: %llu codes with %llu distinct is impossible", name,
                    (unsigned long long)n, (unsigned long long)nd);
        payload = cb + 8 * (size_t)n;
        h->nd = (size_t)nd;
        h->counts_bytes = 4 * (size_t)nd;
        h->ids_bytes = 8 * (size_t)n;
    }
    const size_t want = HEADER_SIZE + payload + 4;
    L2H_FAIL_IF(len < want, L2H_ERR_FORMAT,
                "%s: truncated: %zu bytes, the header announces %zu (%llu codes of %u bits)", name,
                len, want, (unsigned long long)n, h->bits);
    L2H_FAIL_IF(len > want, L2H_ERR_FORMAT, "%s: %zu bytes of trailing data after the index",
                name, len - want);
    h->n = (size_t)n;
    h->codes_bytes = bytes * h->nd;
    return L2H_OK;
}

static l2h_status check_payload(const uint8_t *b, size_t len, const char *name, const header *h)
{
    const uint32_t stored = l2h_rd_le32(b + len - 4);
    const uint32_t crc = crc_update((uint32_t)crc32(0L, Z_NULL, 0), b, len - 4);
    L2H_FAIL_IF(stored != crc, L2H_ERR_FORMAT,
                "%s: checksum mismatch (stored 0x%08x, computed 0x%08x): the file is corrupt",
                name, stored, crc);
    const size_t rsv = h->version == 1 ? 40 : (h->flags & FLAG_FINGERPRINT) ? HEADER_SIZE : 48;
    for (size_t i = rsv; i < HEADER_SIZE; i++)
        L2H_FAIL_IF(b[i] != 0, L2H_ERR_FORMAT, "%s: reserved header byte %zu is not zero", name, i);
    const uint8_t *counts = b + HEADER_SIZE;
    size_t sum = 0;
    for (size_t r = 0; r < h->counts_bytes / 4; r++) {
        const uint32_t c = l2h_rd_le32(counts + 4 * r);
        L2H_FAIL_IF(c == 0 || c > h->n - sum, L2H_ERR_FORMAT,
                    "%s: distinct code %zu has %u ids (the counts must be >= 1 and sum to %zu)",
                    name, r, c, h->n);
        sum += c;
    }
    L2H_FAIL_IF(h->version >= 2 && sum != h->n, L2H_ERR_FORMAT,
                "%s: the ids per code sum to %zu, the header announces %zu", name, sum, h->n);
    const uint8_t *ids = counts + h->counts_bytes;
    for (size_t i = 0; i < h->ids_bytes / 8; i++) {
        const uint64_t id = l2h_rd_le64(ids + 8 * i);
        L2H_FAIL_IF(id > (uint64_t)INT64_MAX, L2H_ERR_FORMAT, "%s: id of row %zu is negative",
                    name, i);
    }
    if (h->bits % 8) {
        const size_t bytes = l2h_code_bytes(h->bits);
        const uint8_t *codes = ids + h->ids_bytes;
        const uint8_t mask = (uint8_t)(0xffu << (h->bits % 8));
        for (size_t i = 0; i < h->nd; i++)
            L2H_FAIL_IF(codes[i * bytes + bytes - 1] & mask, L2H_ERR_FORMAT,
                        "%s: code %zu has bits set beyond bit %u", name, i, h->bits);
    }
    return L2H_OK;
}

/* Re-issues the current error message prefixed with the file name. */
static l2h_status with_name(l2h_status st, const char *name)
{
    char msg[768];
    snprintf(msg, sizeof msg, "%s", l2h_last_error());
    return l2h_set_error(st, "%s: %s", name, msg);
}

l2h_status l2h_index_load_mem(l2h_index **out, const void *buf, size_t len, const char *name)
{
    L2H_FAIL_IF(out == NULL, L2H_ERR_ARG, "l2h_index_load_mem: NULL output");
    *out = NULL;
    if (name == NULL) name = "(memory)";
    L2H_FAIL_IF(buf == NULL && len > 0, L2H_ERR_ARG, "%s: NULL buffer", name);
    L2H_FAIL_IF(len == 0, L2H_ERR_FORMAT, "%s: empty file", name);
    const uint8_t *b = buf;
    header h = {0};
    L2H_TRY(parse_header(b, len, name, &h));
    L2H_TRY(check_payload(b, len, name, &h));
    L2H_FAIL_IF(h.kind > (uint32_t)L2H_INDEX_MIH, L2H_ERR_FORMAT, "%s: unknown index kind %u",
                name, h.kind);

    l2h_index_params p = l2h_index_default_params(h.bits);
    p.kind = (l2h_index_kind)h.kind;
    p.n_tables = h.n_tables;
    l2h_index *ix = NULL;
    const l2h_status cs = l2h_index_create(&ix, &p);
    /* parameters the constructor refuses (MIH n_tables) make the file invalid */
    if (cs != L2H_OK) return with_name(cs == L2H_ERR_ARG ? L2H_ERR_FORMAT : cs, name);

    l2h_status st = L2H_OK;
    l2h_id *ids = NULL;
    uint64_t *padded = NULL;
    if (h.version >= 2 && (h.flags & FLAG_FINGERPRINT)) {
        ix->has_fp = 1;
        memcpy(ix->fp, b + 48, L2H_FINGERPRINT_LEN);
    }
    if (h.ids_bytes) {
        ids = l2h_malloc_array(h.n, sizeof *ids);
        if (!ids) L2H_FAIL_GOTO(L2H_ERR_NOMEM, "%s: out of memory for %zu ids", name, h.n);
        const uint8_t *idp = b + HEADER_SIZE + h.counts_bytes;
        for (size_t i = 0; i < h.n; i++) ids[i] = (l2h_id)l2h_rd_le64(idp + 8 * i);
    }
    const uint8_t *codes = b + HEADER_SIZE + h.counts_bytes + h.ids_bytes;
    if (h.version == 1) {
        st = l2h_index_append(ix, codes, ids, h.n);
    } else if (h.n > 0) {
        /* each distinct code with its ids, in file order (which keeps the rows' order) */
        const size_t W = ix->words;
        padded = l2h_malloc_array(h.nd, W * sizeof *padded);
        if (!padded) L2H_FAIL_GOTO(L2H_ERR_NOMEM, "%s: out of memory for %zu codes", name, h.nd);
        l2h_codes_pad(codes, h.nd, h.bits, padded);
        st = l2h_store_reserve(&ix->st, W, h.nd);
        const uint8_t *counts = b + HEADER_SIZE;
        for (size_t r = 0, i = 0; st == L2H_OK && r < h.nd; r++) {
            const uint32_t c = l2h_rd_le32(counts + 4 * r);
            for (uint32_t j = 0; st == L2H_OK && j < c; j++, i++) {
                size_t row;
                st = l2h_store_add(&ix->st, W, padded + r * W, ids[i], &row);
            }
        }
        l2h_index_sync(ix);
        if (st == L2H_OK && ix->ops->added) st = ix->ops->added(ix, 0);
    }
    if (st != L2H_OK) st = with_name(st, name);
done:
    l2h_free(ids);
    l2h_free(padded);
    if (st != L2H_OK) l2h_index_free(ix);
    else *out = ix;
    return st;
}

l2h_status l2h_index_load(l2h_index **out, const char *path)
{
    L2H_FAIL_IF(out == NULL || path == NULL, L2H_ERR_ARG, "l2h_index_load: NULL argument");
    *out = NULL;
    /* map the file (index_map.c); read it only where mapping is impossible */
    const void *map = NULL;
    size_t len = 0;
    if (l2h_index_map_file(path, &map, &len) == L2H_OK) {
        const l2h_status st = l2h_index_load_mem(out, map, len, path);
        l2h_index_unmap_file(map, len);
        return st;
    }
    uint8_t *buf = NULL;
    L2H_TRY(l2h_read_file(path, SIZE_MAX / 2, &buf, &len));
    const l2h_status st = l2h_index_load_mem(out, buf, len, path);
    l2h_free(buf);
    return st;
}
