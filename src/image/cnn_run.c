/* cnn_run.c -- running the network: one image per thread (OpenMP), two ping-pong activation
 * buffers and one int32 scratch per thread; and the files -> features pipeline. */
#include "cnn_internal.h"

#include <omp.h>
#include <stdio.h>
#include <string.h>

typedef struct cnn_ws {
    uint8_t *a, *b;
    int32_t *scratch;
} cnn_ws;

static size_t scratch_ints(const l2h_cnn *net)
{
    size_t k = 0;
    for (size_t i = 0; i < net->n_layers; i++) {
        const cnn_layer *L = &net->layers[i];
        const size_t need = (size_t)L->kh * L->kw * L->ic / 2 + 32 + (size_t)L->oc;
        if (need > k) k = need;
    }
    return net->max_act + k;
}

static void ws_free(cnn_ws *w)
{
    l2h_aligned_free(w->a);
    l2h_aligned_free(w->b);
    l2h_aligned_free(w->scratch);
}

static int ws_alloc(const l2h_cnn *net, cnn_ws *w)
{
    const size_t act = (net->max_act + 63) / 64 * 64;
    w->a = l2h_aligned_alloc(64, act);
    w->b = l2h_aligned_alloc(64, act);
    w->scratch = l2h_aligned_alloc(64, (scratch_ints(net) * 4 + 63) / 64 * 64);
    if (w->a && w->b && w->scratch) return 1;
    ws_free(w);
    return 0;
}

/* tap (may be NULL): layer tap_layer's input, transposed from HWC to CHW. */
static void forward_tap(const l2h_cnn *net, const uint8_t *input, uint8_t *out, cnn_ws *w,
                        int ref, uint8_t *tap, size_t tap_layer)
{
    const uint8_t *cur = input;
    for (size_t i = 0; i < net->n_layers; i++) {
        const cnn_layer *L = &net->layers[i];
        if (tap && i == tap_layer) {
            const size_t hw = (size_t)L->ih * L->iw, C = (size_t)L->ic;
            for (size_t p = 0; p < hw; p++)
                for (size_t c = 0; c < C; c++) tap[c * hw + p] = cur[p * C + c];
        }
        uint8_t *dst = i + 1 == net->n_layers ? out : (cur == w->a ? w->b : w->a);
        switch (L->kind) {
        case CNN_CONV:
            if (ref) cnn_conv_ref(L, cur, dst);
            else cnn_conv_fast(L, cur, dst, w->scratch);
            break;
        case CNN_DWCONV:
            if (ref) cnn_dwconv_ref(L, cur, dst);
            else cnn_dwconv_fast(L, cur, dst, w->scratch);
            break;
        case CNN_AVGPOOL: cnn_avgpool_ref(L, cur, dst); break;
        case CNN_RESHAPE: break;
        }
        cur = dst;
    }
}


static l2h_status run(const l2h_cnn *net, const uint8_t *input, size_t n, uint8_t *out, int ref,
                      uint8_t *tap)
{
    L2H_FAIL_IF(net == NULL || (n > 0 && (input == NULL || out == NULL)), L2H_ERR_ARG,
                "l2h_cnn_run: NULL argument");
    const size_t in_bytes = (size_t)net->in_size * net->in_size * 3;
    size_t tap_layer = 0, tap_dim = 0;
    if (tap) {
        L2H_TRY(cnn_find_last_block(net, &tap_layer));
        const cnn_layer *T = &net->layers[tap_layer];
        tap_dim = (size_t)T->ih * T->iw * T->ic;
    }
    int nomem = 0;
#pragma omp parallel num_threads(l2h_threads()) if (n > 1)
    {
        cnn_ws w;
        const int ok = ws_alloc(net, &w);
        if (!ok) {
#pragma omp atomic write
            nomem = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (size_t i = 0; i < n; i++)
            if (ok)
                forward_tap(net, input + i * in_bytes, out + i * net->feature_dim, &w, ref,
                            tap ? tap + i * tap_dim : NULL, tap_layer);
        if (ok) ws_free(&w);
    }
    L2H_FAIL_IF(nomem, L2H_ERR_NOMEM, "l2h_cnn_run: out of memory for the activations");
    return L2H_OK;
}

l2h_status l2h_cnn_run(const l2h_cnn *net, const uint8_t *input, size_t n, uint8_t *out)
{
    return run(net, input, n, out, 0, NULL);
}

l2h_status l2h_cnn_run_tap(const l2h_cnn *net, const uint8_t *input, size_t n, uint8_t *out,
                           uint8_t *tap)
{
    return run(net, input, n, out, 0, tap);
}

l2h_status l2h_cnn_run_reference(const l2h_cnn *net, const uint8_t *input, size_t n, uint8_t *out)
{
    return run(net, input, n, out, 1, NULL);
}

l2h_status l2h_cnn_features_files(const l2h_cnn *net, const char *const *paths, size_t n,
                                  uint8_t *out, l2h_image_progress_fn progress, void *ctx,
                                  size_t *failed)
{
    return l2h_cnn_features_files_tap(net, paths, n, out, NULL, progress, ctx, failed);
}

l2h_status l2h_cnn_features_files_tap(const l2h_cnn *net, const char *const *paths, size_t n,
                                      uint8_t *out, uint8_t *tap, l2h_image_progress_fn progress,
                                      void *ctx, size_t *failed)
{
    L2H_FAIL_IF(net == NULL || (n > 0 && (paths == NULL || out == NULL)), L2H_ERR_ARG,
                "l2h_cnn_features_files: NULL argument");
    size_t tap_layer = 0, tap_dim = 0;
    if (tap) {
        L2H_TRY(cnn_find_last_block(net, &tap_layer));
        const cnn_layer *T = &net->layers[tap_layer];
        tap_dim = (size_t)T->ih * T->iw * T->ic;
    }
    const size_t side = (size_t)net->in_size;
    size_t done = 0, bad = (size_t)-1;
    l2h_status first = L2H_OK;
    char msg[512] = "";
#pragma omp parallel num_threads(l2h_threads())
    {
        cnn_ws w;
        uint8_t *rgb = l2h_malloc(side * side * 3);
        const int ws_ok = ws_alloc(net, &w);
        const int ok = ws_ok && rgb != NULL;
#pragma omp for schedule(dynamic, 1)
        for (size_t i = 0; i < n; i++) {
            int stop;
#pragma omp critical
            stop = first;
            if (stop != L2H_OK) continue;
            l2h_status st = ok ? L2H_OK : l2h_set_error(L2H_ERR_NOMEM, "out of memory");
            l2h_image *img = NULL;
            if (st == L2H_OK) st = l2h_image_load(paths[i], &img);
            if (st == L2H_OK)
                st = l2h_image_resize_bilinear(l2h_image_pixels(img), l2h_image_width(img),
                                               l2h_image_height(img), rgb, side, side);
            l2h_image_free(img);
            if (st == L2H_OK)
                forward_tap(net, rgb, out + i * net->feature_dim, &w, 0,
                            tap ? tap + i * tap_dim : NULL, tap_layer);
#pragma omp critical
            {
                if (st != L2H_OK) {
                    if (first == L2H_OK || i < bad) {
                        first = st;
                        bad = i;
                        snprintf(msg, sizeof msg, "%s", l2h_last_error());
                    }
                } else {
                    done++;
                    if (progress && omp_get_thread_num() == 0) progress(done, n, ctx);
                }
            }
        }
        if (ws_ok) ws_free(&w);
        l2h_free(rgb);
    }
    if (first != L2H_OK) {
        if (failed) *failed = bad;
        return l2h_set_error(first, "%s", msg);
    }
    if (progress) progress(n, n, ctx);
    return L2H_OK;
}
