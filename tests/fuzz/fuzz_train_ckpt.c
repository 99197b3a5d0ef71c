/* fuzz_train_ckpt.c -- libFuzzer target for l2h_train_session_resume(path), the checkpoint reader
 * behind `l2h-mpi train --resume`. Any file must be refused with a message naming it, leaving the
 * session untouched (it still takes its first step from the start), or resume a session that then
 * trains to the end without failing. The session: MIHash, linear 6 -> 8 bits, 24 labelled rows,
 * batch 10, 2 epochs (the corpus's valid checkpoints come from exactly this run). */
#include "fuzz_file.h"
#include "l2h/l2h.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static l2h_dataset *ds;
static l2h_train_session *fresh; /* never resumed into successfully */

static l2h_train_session *make_session(void)
{
    if (!ds) {
        float x[24 * 6];
        int32_t y[24];
        for (size_t i = 0; i < 24; i++) {
            y[i] = (int32_t)(i % 3);
            for (size_t k = 0; k < 6; k++)
                x[i * 6 + k] = (float)((int)((i * 7 + k * 3) % 11) - 5) * 0.25f + (float)y[i];
        }
        if (l2h_dataset_create(&ds, 24, 6, x) != L2H_OK || l2h_dataset_set_labels(ds, y) != L2H_OK)
            abort();
    }
    l2h_train_params p = l2h_train_default_params(8);
    p.epochs = 2;
    p.batch = 10;
    l2h_train_session *s = NULL;
    if (l2h_train_session_create(&s, ds, &p) != L2H_OK) abort();
    return s;
}

static void finish(l2h_train_session *s)
{
    float z[10 * 8], dz[10 * 8], loss;
    for (size_t m; l2h_train_session_next(s, &m) == L2H_OK && m > 0;) {
        if (l2h_train_session_forward(s, 0, m, z) != L2H_OK) abort();
        const l2h_status st = l2h_train_session_objective(s, z, dz, &loss);
        if (st == L2H_ERR_NUMERIC) return; /* saved parameters can be anything finite */
        if (st != L2H_OK || l2h_train_session_backward(s, dz) != L2H_OK) abort();
        const l2h_status u = l2h_train_session_update(s);
        if (u == L2H_ERR_NUMERIC) return;
        if (u != L2H_OK) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file_write(data, size, ".ckpt");
    if (!fresh) fresh = make_session();
    if (l2h_train_session_resume(fresh, path) != L2H_OK) {
        fuzz_file_check_failure(path, l2h_last_error());
        if (l2h_train_session_steps(fresh) != 0) abort(); /* untouched */
        return 0;
    }
    finish(fresh);
    l2h_train_session_free(fresh);
    fresh = NULL;
    return 0;
}

#ifdef FUZZ_TRAIN_CKPT_GEN
/* Writes the corpus's valid checkpoints: after 0, 1, 2 and 3 steps. */
int main(int argc, char **argv)
{
    if (argc != 2) return 2;
    l2h_train_session *s = make_session();
    float z[10 * 8], dz[10 * 8], loss;
    for (int k = 0; k < 4; k++) {
        char out[4096];
        snprintf(out, sizeof out, "%s/valid_step%d.ckpt", argv[1], k);
        if (l2h_train_session_save(s, out) != L2H_OK) return 1;
        size_t m;
        if (l2h_train_session_next(s, &m) || l2h_train_session_forward(s, 0, m, z) ||
            l2h_train_session_objective(s, z, dz, &loss) || l2h_train_session_backward(s, dz) ||
            l2h_train_session_update(s))
            return 1;
    }
    l2h_train_session_free(s);
    return 0;
}
#endif
