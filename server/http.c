/* http.c -- the HTTP/1.1 + JSON surface of l2hd on libmicrohttpd: the daemon and its thread
 * model, request bodies and their limit, the bearer token and routing to the handlers (http.h
 * lists the files that hold them). Endpoints are listed in docs/service.md. */
#include "http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

extern const unsigned char l2hd_status_html[];
extern const size_t l2hd_status_html_len;

static struct MHD_Daemon *daemon_;
static char token_[256];
static int auth_all_;

/* ---- routing ------------------------------------------------------------------------------- */
static int authorised(struct MHD_Connection *con, int is_write)
{
    if (!token_[0] || (!is_write && !auth_all_)) return 1;
    const char *h = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Authorization");
    if (!h || strncmp(h, "Bearer ", 7) != 0) return 0;
    const char *t = h + 7;
    const size_t tl = strlen(t), kl = strlen(token_);
    unsigned diff = tl != kl;
    for (size_t i = 0; i < kl; i++) diff |= (unsigned)(t[i < tl ? i : 0] ^ token_[i]);
    return diff == 0;
}

static enum MHD_Result route(struct MHD_Connection *con, const char *url, const char *method,
                             const req *q)
{
    const int get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0,
              del = strcmp(method, "DELETE") == 0, put = strcmp(method, "PUT") == 0;
    if (strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0) {
        if (!get) return send_err(con, 405, "GET only");
        char *page = malloc(l2hd_status_html_len);
        if (!page) return MHD_NO;
        memcpy(page, l2hd_status_html, l2hd_status_html_len);
        return send_buf(con, 200, page, l2hd_status_html_len, "text/html; charset=utf-8");
    }
    if (strcmp(url, "/livez") == 0) {
        char *s = strdup("{\"live\":true}");
        return send_buf(con, 200, s, strlen(s), "application/json");
    }
    if (strcmp(url, "/readyz") == 0) {
        const int ready = atomic_load(&g.ready);
        sbuf b = {0};
        /* the recovery report is written before `ready` is published: read it only after */
        if (!ready) sb_printf(&b, "{\"ready\":false}");
        else
            sb_printf(&b, "{\"ready\":true,\"recovery_seconds\":%.3f,\"replayed_records\":%llu,"
                          "\"torn_bytes\":%llu,\"note\":\"%s\"}",
                      g.recovery_seconds, (unsigned long long)g.replayed_records,
                      (unsigned long long)g.torn_bytes, g.recovery_note);
        return send_sb(con, ready ? 200 : 503, &b);
    }
    /* search and encode are POSTs that change nothing: readers */
    const size_t ul = strlen(url);
    const int is_read_post = (ul > 7 && strcmp(url + ul - 7, "/search") == 0) ||
                             (ul > 7 && strcmp(url + ul - 7, "/encode") == 0);
    const int is_write = !get && !is_read_post;
    if (!authorised(con, is_write)) return send_err(con, 401, "missing or wrong bearer token");
    if (strcmp(url, "/metrics") == 0) {
        sbuf b = {0};
        metrics(&b);
        if (b.oom) return send_err(con, 500, "out of memory");
        return send_buf(con, 200, b.p ? b.p : strdup(""), b.n, "text/plain; version=0.0.4");
    }
    if (strncmp(url, "/v1/", 4) != 0) return send_err(con, 404, "no such endpoint: %s", url);
    if (!atomic_load(&g.ready)) return send_err(con, 503, "recovering; see /readyz");
    const char *path = url + 4;
    if (strcmp(path, "status") == 0) return h_list(con, 1);
    if (strcmp(path, "snapshot") == 0) {
        if (!post) return send_err(con, 405, "POST only");
        char err[256];
        const double t0 = now_s();
        if (snapshot_write(err, sizeof err) != 0) return send_err(con, 500, "%s", err);
        sbuf b = {0};
        sb_printf(&b, "{\"snapshot\":true,\"seconds\":%.3f}", now_s() - t0);
        return send_sb(con, 200, &b);
    }
    if (strcmp(path, "collections") == 0) {
        if (get) return h_list(con, 0);
        if (!post && !put) return send_err(con, 405, "GET or POST");
        coll_config cfg;
        char err[256];
        int code = coll_config_from_json(q->body ? q->body : "", q->len, &cfg, err, sizeof err);
        if (code == 0) code = coll_create(&cfg, 1, err, sizeof err);
        if (code != 200) return send_err(con, (unsigned)code, "%s", err);
        coll *c = coll_get(cfg.name, strlen(cfg.name));
        if (!c) return send_err(con, 500, "collection vanished");
        sbuf b = {0};
        describe(&b, c, 0);
        coll_put(c);
        return send_sb(con, 201, &b);
    }
    if (strncmp(path, "collections/", 12) != 0) return send_err(con, 404, "no such endpoint: %s", url);
    const char *name = path + 12;
    const char *slash = strchr(name, '/');
    const size_t nl = slash ? (size_t)(slash - name) : strlen(name);
    if (!proto_valid_name(name, nl)) return send_err(con, 400, "bad collection name");
    coll *c = coll_get(name, nl);
    if (!c) return send_err(con, 404, "no collection '%.*s'", (int)nl, name);
    enum MHD_Result ret;
    const char *act = slash ? slash + 1 : "";
    if (!*act) {
        if (get) {
            sbuf b = {0};
            describe(&b, c, arg_bool(con, "history", 0));
            ret = send_sb(con, 200, &b);
        } else if (del) {
            char nm[81];
            snprintf(nm, sizeof nm, "%s", c->cfg.name);
            coll_put(c);
            c = NULL;
            const int code = coll_drop(nm, 1);
            ret = code == 200 ? send_err(con, 200, "dropped") : send_err(con, (unsigned)code, "drop failed");
        } else {
            ret = send_err(con, 405, "GET or DELETE");
        }
    } else if (strcmp(act, "items") == 0) {
        ret = post || put ? h_insert(con, c, q) : send_err(con, 405, "POST items");
    } else if (strncmp(act, "items/", 6) == 0) {
        ret = get ? h_get_item(con, c, act + 6) : send_err(con, 405, "GET only");
    } else if (strcmp(act, "delete") == 0) {
        ret = post ? h_delete(con, c, q) : send_err(con, 405, "POST only");
    } else if (strcmp(act, "search") == 0) {
        ret = post ? h_search(con, c, q) : send_err(con, 405, "POST only");
    } else if (strcmp(act, "encode") == 0) {
        ret = post ? h_encode(con, c, q) : send_err(con, 405, "POST only");
    } else if (strcmp(act, "codes") == 0) {
        ret = get ? h_codes(con, c) : send_err(con, 405, "GET only");
    } else if (strcmp(act, "rehash") == 0) {
        if (!post) ret = send_err(con, 405, "POST only");
        else {
            coll_request_rehash(c);
            sbuf b = {0};
            sb_printf(&b, "{\"rehash\":\"requested\"}");
            ret = send_sb(con, 202, &b);
        }
    } else {
        ret = send_err(con, 404, "no such endpoint: %s", url);
    }
    coll_put(c);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *con, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **con_cls)
{
    (void)cls;
    (void)version;
    req *q = *con_cls;
    if (!q) {
        q = calloc(1, sizeof *q);
        if (!q) return MHD_NO;
        *con_cls = q;
        atomic_fetch_add(&g.http_requests, 1);
        const char *cl = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > g.max_body) q->too_large = 1;
        return MHD_YES;
    }
    if (*upload_size) {
        if (!q->too_large) {
            if (q->len + *upload_size > g.max_body) {
                q->too_large = 1;
                free(q->body);
                q->body = NULL;
                q->len = q->cap = 0;
            } else {
                if (q->len + *upload_size + 1 > q->cap) {
                    size_t cap = q->cap ? q->cap : 4096;
                    while (cap < q->len + *upload_size + 1) cap *= 2;
                    char *n = realloc(q->body, cap);
                    if (!n) {
                        q->too_large = 1;
                    } else {
                        q->body = n;
                        q->cap = cap;
                    }
                }
                if (!q->too_large) {
                    memcpy(q->body + q->len, upload, *upload_size);
                    q->len += *upload_size;
                    q->body[q->len] = 0;
                }
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (q->done) return MHD_YES;
    q->done = 1;
    if (q->too_large)
        return send_err(con, 413, "request body larger than the limit of %zu bytes", g.max_body);
    return route(con, url, method, q);
}

static void on_done(void *cls, struct MHD_Connection *con, void **con_cls,
                    enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)con;
    (void)toe;
    req *q = *con_cls;
    if (!q) return;
    free(q->body);
    free(q);
    *con_cls = NULL;
}

int http_start(const char *host, int port, int threads, const char *token_file, int auth_all,
               int *bound_port)
{
    if (token_file) {
        FILE *f = fopen(token_file, "r");
        if (!f) {
            log_msg("cannot read the token file %s", token_file);
            return -1;
        }
        const size_t n = fread(token_, 1, sizeof token_ - 1, f);
        fclose(f);
        token_[n] = 0;
        while (n && (token_[strlen(token_) - 1] == '\n' || token_[strlen(token_) - 1] == '\r' ||
                     token_[strlen(token_) - 1] == ' '))
            token_[strlen(token_) - 1] = 0;
        if (!token_[0]) {
            log_msg("the token file %s is empty", token_file);
            return -1;
        }
    }
    auth_all_ = auth_all;
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        log_msg("--host must be an IPv4 address (got '%s')", host);
        return -1;
    }
    /* TURBO: no per-connection fcntl/shutdown calls that loopback keep-alive does not need.
     * Thread per connection (the default) polls with poll(), not select(): a search request
     * may wait in the batching queue (search.c) without holding up any other connection. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_USE_TURBO;
    if (threads > 0) flags |= MHD_USE_EPOLL;
    else flags |= MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL;
    daemon_ = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, NULL,
                               MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                               MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL,
                               MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000,
                               MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
                               threads > 0 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END,
                               (unsigned)threads, MHD_OPTION_END);
    if (!daemon_) return -1;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
    *bound_port = info ? info->port : port;
    return 0;
}

void http_stop(void)
{
    if (daemon_) MHD_stop_daemon(daemon_);
    daemon_ = NULL;
}
