/* cli_report.c -- the HTML page of query results that `l2h search` and `l2h eval` can write:
 * each shown query's image next to its top-k retrieved images, with the Hamming distance, the
 * rank and whether each result is relevant (same label). One self-contained file: no scripts, no
 * external style sheets, images embedded as data: URIs (files over 2 MB are linked by path). */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define EMBED_MAX (2u << 20)

void cli_report_defaults(cli_report_opts *o)
{
    memset(o, 0, sizeof *o);
    o->n_queries = 8;
    o->k = 10;
}

void cli_report_options(cli_report_opts *o, cli_opt *opts)
{
    const cli_opt own[CLI_REPORT_N_OPTS] = {
        {"report", 0, CLI_STR, &o->html, "FILE.html",
         "write an HTML page of query images and their top-k results"},
        {"images", 0, CLI_STR, &o->images, "PATHS.txt",
         "image path of each row, one per line (as `l2h features` writes them)"},
        {"query-images", 0, CLI_STR, &o->query_images, "PATHS.txt",
         "search: image paths of the query rows (default: --images)"},
        {"report-queries", 0, CLI_SIZE, &o->n_queries, "N", "queries shown in the report (8)"},
    };
    memcpy(opts, own, sizeof own);
}

void cli_paths_free(cli_paths *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->n; i++) free(p->v[i]);
    free(p->v);
    memset(p, 0, sizeof *p);
}

int cli_paths_read(const char *file, cli_paths *out)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(file, "r");
    if (!f) {
        fprintf(stderr, "l2h: error: %s: %s\n", file, strerror(errno));
        return CLI_ERR;
    }
    char line[4096];
    size_t cap = 0;
    int r = CLI_OK;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\t\r\n")] = 0;
        if (out->n == cap) {
            cap = cap ? 2 * cap : 1024;
            char **v = realloc(out->v, cap * sizeof *v);
            if (!v) {
                r = CLI_ERR;
                break;
            }
            out->v = v;
        }
        if (!(out->v[out->n] = strdup(line))) {
            r = CLI_ERR;
            break;
        }
        out->n++;
    }
    fclose(f);
    if (r != CLI_OK) {
        fprintf(stderr, "l2h: error: out of memory reading %s\n", file);
        cli_paths_free(out);
    }
    return r;
}

static void html_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* <img> of a file: embedded as base64 when it is a JPEG/PNG of at most EMBED_MAX bytes. */
static void html_image(FILE *f, const char *path)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    FILE *in = fopen(path, "rb");
    unsigned char *buf = NULL;
    long len = -1;
    if (in && fseek(in, 0, SEEK_END) == 0) len = ftell(in);
    if (in && len > 8 && len <= (long)EMBED_MAX && fseek(in, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)len)) != NULL && fread(buf, 1, (size_t)len, in) == (size_t)len &&
        ((buf[0] == 0xff && buf[1] == 0xd8) || memcmp(buf, "\x89PNG", 4) == 0)) {
        fprintf(f, "<img src=\"data:image/%s;base64,", buf[0] == 0xff ? "jpeg" : "png");
        for (long i = 0; i < len; i += 3) {
            const unsigned v = (unsigned)buf[i] << 16 | (i + 1 < len ? (unsigned)buf[i + 1] << 8 : 0) |
                               (i + 2 < len ? buf[i + 2] : 0);
            fputc(b64[v >> 18 & 63], f);
            fputc(b64[v >> 12 & 63], f);
            fputc(i + 1 < len ? b64[v >> 6 & 63] : '=', f);
            fputc(i + 2 < len ? b64[v & 63] : '=', f);
        }
        fputs("\" alt=\"", f);
    } else {
        fputs("<img src=\"", f);
        html_text(f, path);
        fputs("\" alt=\"", f);
    }
    html_text(f, path);
    fputs("\">", f);
    free(buf);
    if (in) fclose(in);
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    if (!s) return p;
    /* keep the parent folder too (the class folder of CIFAR-style trees) */
    const char *t = s;
    while (t > p && t[-1] != '/') t--;
    return t;
}

int cli_report_write(const cli_report_opts *o, const cli_report_data *d)
{
    FILE *f = fopen(o->html, "w");
    if (!f) {
        fprintf(stderr, "l2h: error: %s: %s\n", o->html, strerror(errno));
        return CLI_ERR;
    }
    const size_t nq = d->nq < o->n_queries ? d->nq : o->n_queries;
    size_t rel = 0, shown = 0;
    for (size_t q = 0; q < nq; q++)
        for (size_t j = 0; j < d->k && d->ids[q * d->k + j] >= 0; j++) {
            shown++;
            const size_t id = (size_t)d->ids[q * d->k + j];
            if (d->q_labels && d->db_labels && d->q_labels[q] == d->db_labels[id]) rel++;
        }
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>", f);
    html_text(f, d->title);
    fputs("</title>\n<style>\n"
          "body{font-family:sans-serif;margin:16px;background:#fafafa;color:#222}\n"
          "h1{font-size:20px;margin:0 0 4px}p.sub{margin:0 0 12px;color:#555;font-size:13px}\n"
          "table{border-collapse:collapse}td{padding:3px;text-align:center;vertical-align:top;"
          "font-size:11px}\n"
          "td.q{border-right:3px solid #333;padding-right:10px}\n"
          "img{width:64px;height:64px;object-fit:cover;image-rendering:pixelated;display:block;"
          "margin:0 auto;border:4px solid #bbb}\n"
          "td.rel img{border-color:#2a9d3a}td.irr img{border-color:#d03030}td.q img{border-color:"
          "#333}\n"
          ".d{font-weight:bold}.cap{color:#666;max-width:80px;overflow:hidden;"
          "white-space:nowrap;text-overflow:ellipsis}\n"
          "</style></head><body>\n<h1>",
          f);
    html_text(f, d->title);
    fputs("</h1>\n<p class=\"sub\">", f);
    html_text(f, d->subtitle);
    if (d->q_labels && d->db_labels && shown > 0)
        fprintf(f, " &middot; relevant among the results shown: %zu of %zu (%.1f%%)", rel, shown,
                100.0 * (double)rel / (double)shown);
    fputs(" &middot; border: <b style=\"color:#2a9d3a\">green</b> = same label as the query, "
          "<b style=\"color:#d03030\">red</b> = different; d = Hamming distance</p>\n<table>\n",
          f);
    for (size_t q = 0; q < nq; q++) {
        const size_t qrow = d->q_rows ? d->q_rows[q] : q;
        fputs("<tr><td class=\"q\">", f);
        if (qrow < d->q_paths->n) html_image(f, d->q_paths->v[qrow]);
        fprintf(f, "<div>query %zu</div><div class=\"cap\">", q);
        if (qrow < d->q_paths->n) html_text(f, base_name(d->q_paths->v[qrow]));
        fputs("</div></td>", f);
        for (size_t j = 0; j < d->k; j++) {
            const l2h_id id = d->ids[q * d->k + j];
            if (id < 0) break;
            const size_t row = d->db_rows ? d->db_rows[id] : (size_t)id;
            const char *cls = "";
            if (d->q_labels && d->db_labels)
                cls = d->q_labels[q] == d->db_labels[id] ? " class=\"rel\"" : " class=\"irr\"";
            fprintf(f, "<td%s>", cls);
            if (row < d->db_paths->n) html_image(f, d->db_paths->v[row]);
            fprintf(f, "<div><span class=\"d\">d=%d</span> #%zu</div><div class=\"cap\">",
                    (int)d->dist[q * d->k + j], j + 1);
            if (row < d->db_paths->n) html_text(f, base_name(d->db_paths->v[row]));
            fputs("</div></td>", f);
        }
        fputs("</tr>\n", f);
    }
    fputs("</table>\n</body></html>\n", f);
    const int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        fprintf(stderr, "l2h: error: writing %s failed\n", o->html);
        return CLI_ERR;
    }
    fprintf(stderr, "report: wrote %s (%zu queries, top %zu)\n", o->html, nq, d->k);
    return CLI_OK;
}

/* Labels of a file for n rows (any label format l2h reads), as int32. */
int cli_report_labels(const char *path, size_t n, int32_t **out)
{
    *out = NULL;
    l2h_dataset *ds = NULL;
    l2h_status st = l2h_dataset_create(&ds, n, 1, NULL);
    if (st == L2H_OK) {
        l2h_read_params rp = l2h_read_default_params();
        st = l2h_dataset_read_labels(ds, path, &rp);
    }
    if (st == L2H_OK && l2h_dataset_label_kind(ds) != L2H_LABELS_SINGLE)
        st = L2H_ERR_UNSUPPORTED;
    if (st == L2H_OK) {
        *out = malloc(n * sizeof **out + 1);
        if (*out) memcpy(*out, l2h_dataset_labels(ds), n * sizeof **out);
        else st = L2H_ERR_NOMEM;
    }
    l2h_dataset_free(ds);
    return st == L2H_OK ? CLI_OK : cli_fail(st, "reading report labels");
}

/* `l2h search --report`: the query and database rows are the code files' rows. */
int cli_report_search(const cli_report_opts *o, const char *q_labels_path,
                      const char *db_labels_path, size_t nq, size_t n_db, size_t k,
                      const l2h_id *ids, const int32_t *dist)
{
    if (!o->images) return cli_usage_error("search", "--report needs --images (database paths)");
    cli_paths dbp = {0}, qp = {0};
    int32_t *ql = NULL, *dl = NULL;
    int r = cli_paths_read(o->images, &dbp);
    if (r == CLI_OK) r = cli_paths_read(o->query_images ? o->query_images : o->images, &qp);
    if (r == CLI_OK && (dbp.n < n_db || qp.n < nq)) {
        fprintf(stderr, "l2h: error: the image lists have %zu/%zu paths for %zu queries and %zu "
                        "database rows\n", qp.n, dbp.n, nq, n_db);
        r = CLI_ERR;
    }
    if (r == CLI_OK && q_labels_path) r = cli_report_labels(q_labels_path, nq, &ql);
    if (r == CLI_OK && db_labels_path) r = cli_report_labels(db_labels_path, n_db, &dl);
    if (r == CLI_OK) {
        char sub[256];
        snprintf(sub, sizeof sub, "%zu queries against %zu database codes, exact Hamming k-NN "
                 "(k = %zu)", nq, n_db, k);
        const cli_report_data d = {"l2h search: query results", sub, nq, k, ids, dist, &qp, &dbp,
                                   NULL, NULL, ql, dl};
        r = cli_report_write(o, &d);
    }
    free(ql);
    free(dl);
    cli_paths_free(&dbp);
    cli_paths_free(&qp);
    return r;
}

/* `l2h eval --report`: the split's first queries against its database, with the model. */
int cli_report_eval(const cli_report_opts *o, const l2h_model *m, const cli_data *data,
                    double map)
{
    if (!o->images) return cli_usage_error("eval", "--report needs --images (one path per row)");
    if (!data->split || !data->query || !data->db) return CLI_OK;
    cli_paths paths = {0};
    int r = cli_paths_read(o->images, &paths);
    if (r == CLI_OK && paths.n < l2h_dataset_n(data->all)) {
        fprintf(stderr, "l2h: error: %s has %zu paths for %zu rows\n", o->images, paths.n,
                l2h_dataset_n(data->all));
        r = CLI_ERR;
    }
    const size_t bits = l2h_model_bits(m), bytes = l2h_code_bytes(bits);
    const size_t n_db = l2h_dataset_n(data->db);
    size_t nq = l2h_dataset_n(data->query);
    if (nq > o->n_queries) nq = o->n_queries;
    const size_t k = o->k < n_db ? o->k : n_db;
    uint8_t *qc = malloc(nq * bytes + 1), *dc = malloc(n_db * bytes + 1);
    l2h_id *ids = malloc(nq * k * sizeof *ids + 1);
    int32_t *dist = malloc(nq * k * sizeof *dist + 1);
    l2h_index *idx = NULL;
    l2h_status st = qc && dc && ids && dist ? L2H_OK : L2H_ERR_NOMEM;
    if (r == CLI_OK) {
        if (st == L2H_OK) st = l2h_model_encode(m, l2h_dataset_features(data->query), nq, qc);
        if (st == L2H_OK) st = l2h_model_encode(m, l2h_dataset_features(data->db), n_db, dc);
        const l2h_index_params ip = l2h_index_default_params(bits);
        if (st == L2H_OK) st = l2h_index_create(&idx, &ip);
        if (st == L2H_OK) st = l2h_index_add(idx, dc, NULL, n_db);
        if (st == L2H_OK) st = l2h_index_search(idx, qc, nq, k, dist, ids);
        if (st != L2H_OK) r = cli_fail(st, "report search");
    }
    if (r == CLI_OK) {
        char title[160], sub[512];
        snprintf(title, sizeof title, "l2h eval: %s, %zu bits", l2h_model_method(m), bits);
        snprintf(sub, sizeof sub, "%s; mAP %.4f; first %zu queries of the split, top %zu by "
                 "Hamming distance (ties by database order)", data->description, map, nq, k);
        const cli_report_data d = {title, sub, nq, k, ids, dist, &paths, &paths,
                                   l2h_split_query(data->split), l2h_split_db(data->split),
                                   l2h_dataset_labels(data->query), l2h_dataset_labels(data->db)};
        r = cli_report_write(o, &d);
    }
    l2h_index_free(idx);
    free(qc);
    free(dc);
    free(ids);
    free(dist);
    cli_paths_free(&paths);
    return r;
}
