/* store.c -- the feature store (append-only rows in fixed blocks), the id map, encoders. */
#include "l2hd.h"

#include <stdlib.h>
#include <string.h>

store *store_create(size_t dim)
{
    store *s = calloc(1, sizeof *s);
    if (s) s->dim = dim;
    return s;
}

void store_free(store *s)
{
    if (!s) return;
    for (size_t b = 0; b < STORE_MAX_BLOCKS && s->x[b]; b++) {
        free(s->x[b]);
        free(s->id[b]);
        free(s->label[b]);
        free((void *)(uintptr_t)s->flags[b]);
    }
    free(s);
}

size_t store_append(store *s, const float *x, const int64_t *ids, const int32_t *labels,
                    size_t n, uint8_t flags)
{
    const size_t first = atomic_load(&s->n);
    if (first + n > (size_t)STORE_BLOCK_ROWS * STORE_MAX_BLOCKS) return SIZE_MAX;
    /* allocate every block the new rows need before publishing any of them */
    for (size_t b = first / STORE_BLOCK_ROWS; b <= (first + n - 1) / STORE_BLOCK_ROWS; b++) {
        if (s->x[b]) continue;
        s->x[b] = malloc((size_t)STORE_BLOCK_ROWS * s->dim * sizeof(float));
        s->id[b] = malloc((size_t)STORE_BLOCK_ROWS * sizeof(int64_t));
        s->label[b] = malloc((size_t)STORE_BLOCK_ROWS * sizeof(int32_t));
        s->flags[b] = calloc((size_t)STORE_BLOCK_ROWS, 1);
        if (!s->x[b] || !s->id[b] || !s->label[b] || !s->flags[b]) {
            free(s->x[b]);
            free(s->id[b]);
            free(s->label[b]);
            free((void *)(uintptr_t)s->flags[b]);
            s->x[b] = NULL;
            s->id[b] = NULL;
            s->label[b] = NULL;
            s->flags[b] = NULL;
            return SIZE_MAX;
        }
    }
    for (size_t i = 0; i < n; i++) {
        const size_t r = first + i, b = r / STORE_BLOCK_ROWS, o = r % STORE_BLOCK_ROWS;
        memcpy(s->x[b] + o * s->dim, x + i * s->dim, s->dim * sizeof(float));
        s->id[b][o] = ids[i];
        s->label[b][o] = labels ? labels[i] : -1;
        atomic_store_explicit(&s->flags[b][o], flags, memory_order_relaxed);
    }
    atomic_store_explicit(&s->n, first + n, memory_order_release);
    return first;
}

/* ---- id map ------------------------------------------------------------------------------ */
static size_t hash64(int64_t k)
{
    uint64_t z = (uint64_t)k + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return (size_t)(z ^ (z >> 31));
}

static int idmap_grow(idmap *m)
{
    const size_t cap = m->cap ? m->cap * 2 : 1024;
    int64_t *k = malloc(cap * sizeof *k);
    size_t *r = malloc(cap * sizeof *r);
    if (!k || !r) {
        free(k);
        free(r);
        return -1;
    }
    for (size_t i = 0; i < cap; i++) k[i] = -1;
    for (size_t i = 0; i < m->cap; i++) {
        if (m->keys[i] < 0) continue;
        size_t h = hash64(m->keys[i]) & (cap - 1);
        while (k[h] != -1) h = (h + 1) & (cap - 1);
        k[h] = m->keys[i];
        r[h] = m->rows[i];
    }
    free(m->keys);
    free(m->rows);
    m->keys = k;
    m->rows = r;
    m->cap = cap;
    m->used = m->live;
    return 0;
}

int idmap_put(idmap *m, int64_t id, size_t row)
{
    if ((m->used + 1) * 2 > m->cap && idmap_grow(m) != 0) return -1;
    size_t h = hash64(id) & (m->cap - 1), tomb = SIZE_MAX;
    while (m->keys[h] != -1) {
        if (m->keys[h] == id) {
            m->rows[h] = row;
            return 0;
        }
        if (m->keys[h] == -2 && tomb == SIZE_MAX) tomb = h;
        h = (h + 1) & (m->cap - 1);
    }
    if (tomb != SIZE_MAX) h = tomb;
    else m->used++;
    m->keys[h] = id;
    m->rows[h] = row;
    m->live++;
    return 0;
}

int idmap_get(const idmap *m, int64_t id, size_t *row)
{
    if (!m->cap) return 0;
    size_t h = hash64(id) & (m->cap - 1);
    while (m->keys[h] != -1) {
        if (m->keys[h] == id) {
            *row = m->rows[h];
            return 1;
        }
        h = (h + 1) & (m->cap - 1);
    }
    return 0;
}

void idmap_del(idmap *m, int64_t id)
{
    if (!m->cap) return;
    size_t h = hash64(id) & (m->cap - 1);
    while (m->keys[h] != -1) {
        if (m->keys[h] == id) {
            m->keys[h] = -2;
            m->live--;
            return;
        }
        h = (h + 1) & (m->cap - 1);
    }
}

void idmap_free(idmap *m)
{
    free(m->keys);
    free(m->rows);
    memset(m, 0, sizeof *m);
}

/* ---- encoders ------------------------------------------------------------------------------ */
static enc *enc_new(void)
{
    enc *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    atomic_init(&e->refs, 1);
    return e;
}

enc *enc_from_model(l2h_model *m)
{
    enc *e = enc_new();
    if (e) e->model = m;
    return e;
}

void enc_ref(enc *e)
{
    atomic_fetch_add(&e->refs, 1);
}

void enc_unref(enc *e)
{
    if (!e || atomic_fetch_sub(&e->refs, 1) != 1) return;
    l2h_model_free(e->model);
    free(e);
}

int enc_encode(enc *e, const float *x, size_t n, uint8_t *codes)
{
    return l2h_model_encode(e->model, x, n, codes) == L2H_OK ? 0 : -1;
}
