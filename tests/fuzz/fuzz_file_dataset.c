/* fuzz_file_dataset.c -- libFuzzer target for the dataset file readers through the path
 * functions the CLI calls (l2h_dataset_read, l2h_dataset_read_labels) in every format, so the
 * whole-file read, the format choice and the parsers run as they do for `--data FILE` and
 * `--labels FILE`. The first input byte picks the format; the rest is the file. */
#include "fuzz_file.h"
#include "fuzz_io_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const l2h_format formats[] = {L2H_FORMAT_NPY,  L2H_FORMAT_FVECS, L2H_FORMAT_IVECS,
                                         L2H_FORMAT_BVECS, L2H_FORMAT_IDX,  L2H_FORMAT_F32,
                                         L2H_FORMAT_F16,  L2H_FORMAT_U8,    L2H_FORMAT_ARFF};
    const size_t nf = sizeof formats / sizeof formats[0];
    if (size == 0) return 0;
    const l2h_format f = formats[data[0] % nf];
    const size_t dim = (size_t)(data[0] / nf) % 5; /* raw formats: 0 (refused) to 4 */
    const char *path = fuzz_file_write(data + 1, size - 1, ".bin");
    l2h_read_params p = l2h_read_default_params();
    p.format = f;
    p.dim = f == L2H_FORMAT_F32 || f == L2H_FORMAT_F16 || f == L2H_FORMAT_U8 ? dim : 0;
    l2h_dataset *ds = NULL;
    l2h_status st = l2h_dataset_read(&ds, path, &p);
    size_t n = 0;
    if (st != L2H_OK) {
        if (ds != NULL) abort();
        fuzz_file_check_failure(path, l2h_last_error());
    } else {
        fuzz_check_dataset(ds);
        n = l2h_dataset_n(ds);
        if (n > size) abort(); /* memory bounded by the input */
        l2h_dataset_free(ds);
    }
    /* the same file as labels of a dataset with as many rows (or one) */
    if (f == L2H_FORMAT_ARFF || f == L2H_FORMAT_F32 || f == L2H_FORMAT_F16 ||
        f == L2H_FORMAT_FVECS)
        return 0; /* not label formats */
    if (l2h_dataset_create(&ds, n ? n : 1, 1, NULL) != L2H_OK) return 0;
    l2h_read_params lp = l2h_read_default_params();
    lp.format = f;
    st = l2h_dataset_read_labels(ds, path, &lp);
    if (st != L2H_OK) {
        fuzz_file_check_failure(path, l2h_last_error());
        if (l2h_dataset_label_kind(ds) != L2H_LABELS_NONE) abort();
    } else {
        fuzz_check_dataset(ds);
        /* class ids are bounded so that per-class tables stay proportional to the input */
        if (l2h_dataset_label_kind(ds) == L2H_LABELS_SINGLE &&
            l2h_dataset_n_labels(ds) > (l2h_dataset_n(ds) > 65536 ? l2h_dataset_n(ds) : 65536))
            abort();
    }
    l2h_dataset_free(ds);
    return 0;
}
