/* http.h -- what the l2hd HTTP files share: the request context, a growable text buffer, the
 * answer helpers (JSON errors count toward l2hd_http_errors_total), query-string arguments and
 * the handlers that route() dispatches to. The files:
 *   http.c        the libmicrohttpd daemon, request bodies and limits, bearer token, routing;
 *   http_util.c   text buffer, answers, arguments, batch bodies (JSON or .npy);
 *   http_state.c  describe, collection list and /metrics;
 *   http_items.c  insert, delete, get, encode, export of the codes;
 *   search.c      search, with the batching of concurrent k-NN requests. */
#ifndef L2HD_HTTP_H
#define L2HD_HTTP_H

#include "l2hd.h"
#include "proto.h"

#include <microhttpd.h>

typedef struct sbuf {
    char *p;
    size_t n, cap;
    int oom;
} sbuf;
void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_num(sbuf *b, double v);

typedef struct req {
    char *body;
    size_t len, cap;
    int too_large;
    int done;
} req;

/* Answers. data / b->p are taken over (freed by libmicrohttpd). */
enum MHD_Result send_buf(struct MHD_Connection *con, unsigned code, char *data, size_t len,
                         const char *ctype);
enum MHD_Result send_sb(struct MHD_Connection *con, unsigned code, sbuf *b);
enum MHD_Result send_err(struct MHD_Connection *con, unsigned code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

const char *arg(struct MHD_Connection *con, const char *key);
int arg_bool(struct MHD_Connection *con, const char *key, int def);
int arg_size(struct MHD_Connection *con, const char *key, size_t def, size_t lo, size_t hi,
             size_t *out);
int is_npy(struct MHD_Connection *con);
int parse_body(struct MHD_Connection *con, const req *q, const coll *c, int codes_ok,
               proto_batch *b, proto_error *e);

/* http_state.c */
void describe(sbuf *b, coll *c, int with_history);
void metrics(sbuf *b);
enum MHD_Result h_list(struct MHD_Connection *con, int full);

/* http_items.c */
enum MHD_Result h_insert(struct MHD_Connection *con, coll *c, const req *q);
enum MHD_Result h_delete(struct MHD_Connection *con, coll *c, const req *q);
enum MHD_Result h_encode(struct MHD_Connection *con, coll *c, const req *q);
enum MHD_Result h_codes(struct MHD_Connection *con, coll *c);
enum MHD_Result h_get_item(struct MHD_Connection *con, coll *c, const char *idtxt);

/* search.c */
enum MHD_Result h_search(struct MHD_Connection *con, coll *c, const req *q);

#endif
