/* cmd_client.c -- `l2h client`: talk to a running l2hd (docs/service.md) from files: create a
 * collection, insert a data file in batches (as .npy bodies), search with a query file, show a
 * collection. A minimal HTTP/1.1 client over one keep-alive connection; plain http only. */
#include "cli.h"

#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int cmd_client(int argc, char **argv);

typedef struct conn {
    int fd;
    char host[256], port[16];
    char auth[300];
} conn;

static int conn_open(conn *c, const char *url)
{
    if (strncmp(url, "http://", 7) != 0) {
        fprintf(stderr, "l2h: error: --url must start with http:// (got %s)\n", url);
        return CLI_USAGE;
    }
    const char *h = url + 7, *colon = strchr(h, ':'), *slash = strchr(h, '/');
    const size_t hl = colon && (!slash || colon < slash) ? (size_t)(colon - h)
                      : slash                          ? (size_t)(slash - h)
                                                       : strlen(h);
    if (hl == 0 || hl >= sizeof c->host) return cli_usage_error("client", "bad --url %s", url);
    memcpy(c->host, h, hl);
    c->host[hl] = 0;
    if (colon && (!slash || colon < slash)) {
        const size_t pl = slash ? (size_t)(slash - colon - 1) : strlen(colon + 1);
        if (pl == 0 || pl >= sizeof c->port) return cli_usage_error("client", "bad --url %s", url);
        memcpy(c->port, colon + 1, pl);
        c->port[pl] = 0;
    } else {
        snprintf(c->port, sizeof c->port, "80");
    }
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(c->host, c->port, &hints, &res) != 0 || !res) {
        fprintf(stderr, "l2h: error: cannot resolve %s\n", c->host);
        return CLI_ERR;
    }
    c->fd = socket(res->ai_family, SOCK_STREAM, 0);
    if (c->fd < 0 || connect(c->fd, res->ai_addr, res->ai_addrlen) != 0) {
        fprintf(stderr, "l2h: error: cannot connect to %s:%s: %s\n", c->host, c->port,
                strerror(errno));
        freeaddrinfo(res);
        if (c->fd >= 0) close(c->fd);
        c->fd = -1;
        return CLI_ERR;
    }
    freeaddrinfo(res);
    return CLI_OK;
}

static int send_all(int fd, const void *p, size_t n)
{
    const char *b = p;
    while (n) {
        const ssize_t k = send(fd, b, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        b += k;
        n -= (size_t)k;
    }
    return 0;
}

/* One request; the response body (NUL-terminated) goes to *body, its status to *status. */
static int request(conn *c, const char *method, const char *path, const char *ctype,
                   const void *data, size_t len, int *status, char **body, size_t *body_len)
{
    char head[1024];
    const int hl = snprintf(head, sizeof head,
                            "%s %s HTTP/1.1\r\nHost: %s:%s\r\nContent-Type: %s\r\n"
                            "Content-Length: %zu\r\n%s\r\n",
                            method, path, c->host, c->port, ctype, len, c->auth);
    if (hl < 0 || (size_t)hl >= sizeof head || send_all(c->fd, head, (size_t)hl) != 0 ||
        (len && send_all(c->fd, data, len) != 0)) {
        fprintf(stderr, "l2h: error: sending to the server failed\n");
        return CLI_ERR;
    }
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    size_t hend = 0;
    while (buf) {
        if (n + 1 >= cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) break;
            buf = nb;
        }
        const ssize_t k = recv(c->fd, buf + n, cap - n - 1, 0);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        n += (size_t)k;
        buf[n] = 0;
        char *e = strstr(buf, "\r\n\r\n");
        if (e) {
            hend = (size_t)(e - buf) + 4;
            break;
        }
    }
    if (!buf || !hend) {
        free(buf);
        fprintf(stderr, "l2h: error: no answer from the server\n");
        return CLI_ERR;
    }
    *status = atoi(buf + 9);
    size_t clen = 0;
    for (char *p = buf; p < buf + hend; p = strstr(p, "\r\n") + 2) {
        if (strncasecmp(p, "Content-Length:", 15) == 0) clen = strtoull(p + 15, NULL, 10);
        if (!strstr(p, "\r\n")) break;
    }
    char *out = malloc(clen + 1);
    if (!out) {
        free(buf);
        return CLI_ERR;
    }
    const size_t have = n - hend < clen ? n - hend : clen;
    memcpy(out, buf + hend, have);
    free(buf);
    size_t got = have;
    while (got < clen) {
        const ssize_t k = recv(c->fd, out + got, clen - got, 0);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        got += (size_t)k;
    }
    out[got] = 0;
    if (got < clen) {
        free(out);
        fprintf(stderr, "l2h: error: truncated answer\n");
        return CLI_ERR;
    }
    *body = out;
    if (body_len) *body_len = got;
    return CLI_OK;
}

static size_t npy_header(char *hdr, const char *descr, size_t rows, size_t cols)
{
    char dict[128];
    const int dl = cols ? snprintf(dict, sizeof dict,
                                   "{'descr': '%s', 'fortran_order': False, 'shape': (%zu, %zu), }",
                                   descr, rows, cols)
                        : snprintf(dict, sizeof dict,
                                   "{'descr': '%s', 'fortran_order': False, 'shape': (%zu,), }",
                                   descr, rows);
    size_t total = (10 + (size_t)dl + 1 + 63) / 64 * 64;
    memcpy(hdr, "\x93NUMPY\x01\x00", 8);
    hdr[8] = (char)((total - 10) & 255);
    hdr[9] = (char)((total - 10) >> 8);
    memcpy(hdr + 10, dict, (size_t)dl);
    memset(hdr + 10 + dl, ' ', total - 11 - (size_t)dl);
    hdr[total - 1] = '\n';
    return total;
}

/* features rows [r0, r0+n) (+ ids, + labels) as concatenated .npy arrays */
static char *npy_body(const l2h_dataset *ds, size_t r0, size_t n, int64_t first_id, int labels,
                      size_t *len)
{
    const size_t dim = l2h_dataset_dim(ds);
    char h[3][192];
    size_t hl[3] = {npy_header(h[0], "<f4", n, dim), 0, 0};
    if (first_id >= 0) hl[1] = npy_header(h[1], "<i8", n, 0);
    if (labels) hl[2] = npy_header(h[2], "<i4", n, 0);
    const size_t total = hl[0] + n * dim * 4 + (hl[1] ? hl[1] + n * 8 : 0) + (hl[2] ? hl[2] + n * 4 : 0);
    char *b = malloc(total), *p = b;
    if (!b) return NULL;
    memcpy(p, h[0], hl[0]);
    p += hl[0];
    memcpy(p, l2h_dataset_features(ds) + r0 * dim, n * dim * 4);
    p += n * dim * 4;
    if (hl[1]) {
        memcpy(p, h[1], hl[1]);
        p += hl[1];
        for (size_t i = 0; i < n; i++, p += 8) {
            const int64_t id = first_id + (int64_t)(r0 + i);
            memcpy(p, &id, 8);
        }
    }
    if (hl[2]) {
        memcpy(p, h[2], hl[2]);
        p += hl[2];
        memcpy(p, l2h_dataset_labels(ds) + r0, n * 4);
        p += n * 4;
    }
    *len = total;
    return b;
}

int cmd_client(int argc, char **argv)
{
    const char *url = "http://127.0.0.1:8080", *coll = NULL, *data = NULL, *labels = NULL,
               *format = NULL, *token_file = NULL, *config = NULL;
    size_t batch = 1000, k = 10, radius = SIZE_MAX, dim = 0, max_rows = 0;
    long long first_id = -1;
    bool no_wait = false, no_learn = false, no_index = false;
    int first_id_i = -1;
    const cli_opt opts[] = {
        {"url", 0, CLI_STR, &url, "URL", "server (http://127.0.0.1:8080)"},
        {"collection", 'c', CLI_STR, &coll, "NAME", "collection"},
        {"data", 'd', CLI_STR, &data, "FILE", "features to insert or query (any l2h format)"},
        {"format", 0, CLI_STR, &format, "FMT", "data format (by extension)"},
        {"dim", 0, CLI_SIZE, &dim, "D", "row length of headerless data"},
        {"labels", 0, CLI_STR, &labels, "FILE", "labels of the data rows (insert)"},
        {"max-rows", 0, CLI_SIZE, &max_rows, "N", "use at most N rows (all)"},
        {"batch", 0, CLI_SIZE, &batch, "N", "rows per request (1000)"},
        {"first-id", 0, CLI_INT, &first_id_i, "ID", "ids first-id + row (default: the server's)"},
        {"k", 'k', CLI_SIZE, &k, "K", "neighbours per query (10)"},
        {"radius", 'r', CLI_SIZE, &radius, "R", "radius search instead of k-NN"},
        {"no-wait", 0, CLI_FLAG, &no_wait, NULL, "do not wait until inserts are durable"},
        {"no-learn", 0, CLI_FLAG, &no_learn, NULL, "inserted rows are not given to the learner"},
        {"no-index", 0, CLI_FLAG, &no_index, NULL, "inserted rows only train the learner"},
        {"config", 0, CLI_STR, &config, "JSON", "create: the collection's settings"},
        {"token-file", 0, CLI_STR, &token_file, "F", "bearer token for the server"},
    };
    const char *pos[1];
    int n_pos = 0;
    int r = cli_parse(argc, argv, opts, sizeof opts / sizeof opts[0],
                      "l2h client create|insert|search|show|drop [options]",
                      "Talks to a running l2hd. create: --config '{\"name\":..,\"dim\":..,...}'; "
                      "insert: --data (+ --labels) into --collection,\nin batches, durable unless "
                      "--no-wait; search: each row of --data, prints 'query<TAB>id:distance ...'; "
                      "show: the collection's state as JSON; drop: deletes the collection.",
                      pos, 1, &n_pos);
    if (r != CLI_OK) return r == CLI_HELP ? CLI_OK : r;
    if (n_pos != 1) return cli_usage_error("client", "give one action: create, insert, search, show or drop");
    first_id = first_id_i;
    const char *act = pos[0];
    const bool needs_coll = strcmp(act, "create") != 0;
    if (needs_coll && !coll) return cli_usage_error("client", "--collection is required");
    if ((strcmp(act, "insert") == 0 || strcmp(act, "search") == 0) && !data)
        return cli_usage_error("client", "--data is required");
    if (strcmp(act, "create") == 0 && !config) return cli_usage_error("client", "--config is required");
    if (batch == 0) return cli_usage_error("client", "--batch must be >= 1");
    conn c;
    memset(&c, 0, sizeof c);
    c.fd = -1;
    if (token_file) {
        FILE *f = fopen(token_file, "r");
        char tok[256] = "";
        if (!f || !fgets(tok, sizeof tok, f)) {
            if (f) fclose(f);
            fprintf(stderr, "l2h: error: cannot read %s\n", token_file);
            return CLI_ERR;
        }
        fclose(f);
        tok[strcspn(tok, "\r\n ")] = 0;
        snprintf(c.auth, sizeof c.auth, "Authorization: Bearer %s\r\n", tok);
    }
    if ((r = conn_open(&c, url)) != CLI_OK) return r;
    char path[512];
    int status = 0;
    char *body = NULL;
    if (strcmp(act, "create") == 0 || strcmp(act, "show") == 0 || strcmp(act, "drop") == 0) {
        if (strcmp(act, "create") == 0)
            r = request(&c, "POST", "/v1/collections", "application/json", config, strlen(config),
                        &status, &body, NULL);
        else {
            snprintf(path, sizeof path, "/v1/collections/%s%s", coll,
                     strcmp(act, "show") == 0 ? "?history=1" : "");
            r = request(&c, strcmp(act, "show") == 0 ? "GET" : "DELETE", path, "application/json",
                        NULL, 0, &status, &body, NULL);
        }
        if (r == CLI_OK) {
            printf("%s\n", body);
            if (status >= 300) r = CLI_ERR;
        }
        free(body);
        close(c.fd);
        return r;
    }
    if (strcmp(act, "insert") != 0 && strcmp(act, "search") != 0) {
        close(c.fd);
        return cli_usage_error("client", "unknown action '%s'", act);
    }
    l2h_read_params rp = l2h_read_default_params();
    rp.dim = dim;
    rp.max_rows = max_rows;
    if (format && l2h_format_parse(format, &rp.format) != L2H_OK) {
        close(c.fd);
        return cli_usage_error("client", "unknown --format %s", format);
    }
    l2h_dataset *ds = NULL;
    l2h_status st = l2h_dataset_read(&ds, data, &rp);
    if (st == L2H_OK && labels) {
        l2h_read_params rl = l2h_read_default_params(); /* one label per row */
        rl.max_rows = max_rows;
        st = l2h_dataset_read_labels(ds, labels, &rl);
    }
    if (st != L2H_OK) {
        close(c.fd);
        l2h_dataset_free(ds);
        return cli_fail(st, data);
    }
    const size_t n = l2h_dataset_n(ds);
    const int with_labels = labels && l2h_dataset_label_kind(ds) == L2H_LABELS_SINGLE;
    const double t0 = cli_now();
    size_t done_rows = 0;
    for (size_t r0 = 0; r0 < n && r == CLI_OK; r0 += batch) {
        const size_t m = n - r0 < batch ? n - r0 : batch;
        size_t len = 0;
        const bool ins = strcmp(act, "insert") == 0;
        char *b = npy_body(ds, r0, m, ins ? first_id : -1, ins && with_labels, &len);
        if (!b) {
            r = CLI_ERR;
            break;
        }
        if (ins)
            snprintf(path, sizeof path, "/v1/collections/%s/items?wait=%d&learn=%d&index=%d&ids=%d&labels=%d",
                     coll, !no_wait, !no_learn, !no_index, first_id >= 0, with_labels);
        else if (radius != SIZE_MAX)
            snprintf(path, sizeof path, "/v1/collections/%s/search?radius=%zu", coll, radius);
        else
            snprintf(path, sizeof path, "/v1/collections/%s/search?k=%zu", coll, k);
        r = request(&c, "POST", path, "application/octet-stream", b, len, &status, &body, NULL);
        free(b);
        if (r != CLI_OK) break;
        if (status != 200) {
            fprintf(stderr, "l2h: error: server answered %d: %s\n", status, body);
            r = CLI_ERR;
        } else if (!ins) {
            /* results: {"version":V,"results":[{"ids":[..],"distances":[..]},..]} */
            const char *p = body;
            for (size_t q = 0; q < m; q++) {
                const char *ids = strstr(p, "\"ids\":["), *ds_ = ids ? strstr(ids, "\"distances\":[") : NULL;
                if (!ids || !ds_) break;
                ids += 7;
                ds_ += 13;
                printf("%zu", r0 + q);
                while (*ids && *ids != ']' && *ds_ && *ds_ != ']') {
                    char *e1, *e2;
                    const long long id = strtoll(ids, &e1, 10);
                    const long d = strtol(ds_, &e2, 10);
                    if (e1 == ids || e2 == ds_) break;
                    printf("\t%lld:%ld", id, d);
                    ids = *e1 == ',' ? e1 + 1 : e1;
                    ds_ = *e2 == ',' ? e2 + 1 : e2;
                }
                printf("\n");
                p = ds_;
            }
        }
        free(body);
        done_rows += m;
        cli_progress("client %s: %zu / %zu rows", act, done_rows, n);
    }
    cli_progress_done();
    const double secs = cli_now() - t0;
    if (r == CLI_OK)
        fprintf(stderr, "l2h client %s: %zu rows in %.3f s (%.0f rows/s)\n", act, done_rows, secs,
                secs > 0 ? (double)done_rows / secs : 0.0);
    l2h_dataset_free(ds);
    close(c.fd);
    return r;
}
