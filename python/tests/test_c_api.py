"""Results through Python are the C API's results, byte for byte: a small C program (compiled
here against include/ and the release libl2h) and the binding run the same calls on the same
files."""
import os
import shutil
import subprocess

import numpy as np
import pytest

import l2h
from conftest import BUILD, REPO

C_PROG = r"""
#include "l2h/l2h.h"
#include <stdio.h>
#include <stdlib.h>
static void die(l2h_status s) { fprintf(stderr, "%s\n", l2h_last_error()); exit(s ? 1 : 0); }
#define CK(x) do { l2h_status s_ = (x); if (s_) die(s_); } while (0)
static void dump(const char *path, const void *p, size_t n)
{ FILE *f = fopen(path, "wb"); fwrite(p, 1, n, f); fclose(f); }
int main(int argc, char **argv)
{
    /* argv: model x.npy db.npy q.npy bits k radius kind outdir */
    const size_t bits = strtoul(argv[5], 0, 10), k = strtoul(argv[6], 0, 10);
    const unsigned radius = strtoul(argv[7], 0, 10);
    char path[4096];
    l2h_model *m; CK(l2h_model_load(&m, argv[1]));
    l2h_read_params rp = l2h_read_default_params();
    l2h_dataset *x; CK(l2h_dataset_read(&x, argv[2], &rp));
    const size_t n = l2h_dataset_n(x), B = l2h_code_bytes(l2h_model_bits(m));
    uint8_t *codes = malloc(n * B);
    CK(l2h_model_encode(m, l2h_dataset_features(x), n, codes));
    snprintf(path, sizeof path, "%s/encode.bin", argv[9]); dump(path, codes, n * B);
    size_t nd, bd, nq, bq;
    CK(l2h_codes_npy_shape(argv[3], &nd, &bd)); CK(l2h_codes_npy_shape(argv[4], &nq, &bq));
    uint8_t *db = malloc(nd * bd), *q = malloc(nq * bq);
    CK(l2h_codes_read_npy(argv[3], db, nd, bd)); CK(l2h_codes_read_npy(argv[4], q, nq, bq));
    l2h_index_params ip = l2h_index_default_params(bits);
    ip.kind = argv[8][0] == 'm' ? L2H_INDEX_MIH : L2H_INDEX_FLAT;
    l2h_index *ix; CK(l2h_index_create(&ix, &ip)); CK(l2h_index_add(ix, db, NULL, nd));
    int32_t *D = malloc(nq * k * 4); l2h_id *I = malloc(nq * k * 8);
    CK(l2h_index_search(ix, q, nq, k, D, I));
    snprintf(path, sizeof path, "%s/D.bin", argv[9]); dump(path, D, nq * k * 4);
    snprintf(path, sizeof path, "%s/I.bin", argv[9]); dump(path, I, nq * k * 8);
    l2h_range_result *r; CK(l2h_index_range_search(ix, q, nq, radius, &r));
    const size_t *lims = l2h_range_result_lims(r);
    snprintf(path, sizeof path, "%s/lims.bin", argv[9]); dump(path, lims, (nq + 1) * 8);
    snprintf(path, sizeof path, "%s/rD.bin", argv[9]);
    dump(path, l2h_range_result_dists(r), lims[nq] * 4);
    snprintf(path, sizeof path, "%s/rI.bin", argv[9]);
    dump(path, l2h_range_result_ids(r), lims[nq] * 8);
    l2h_range_result_free(r); l2h_index_free(ix); l2h_model_free(m); l2h_dataset_free(x);
    free(codes); free(db); free(q); free(D); free(I);
    return 0;
}
"""


@pytest.fixture(scope="module")
def cprog(tmp_path_factory):
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        pytest.skip("no C compiler to build the C API reference program")
    d = tmp_path_factory.mktemp("capi")
    (d / "ref.c").write_text(C_PROG)
    lib = os.path.join(BUILD, "src")
    subprocess.run([cc, "-std=c11", "-O1", "-o", str(d / "ref"), str(d / "ref.c"),
                    "-I", os.path.join(REPO, "include"), "-L", lib, "-l", "l2h",
                    f"-Wl,-rpath,{lib}"], check=True)
    return d / "ref"


@pytest.mark.parametrize("kind,bits", [("flat", 48), ("mih", 48), ("flat", 13)])
def test_same_results_as_c_api(data, tmp_path, cprog, kind, bits):
    m = l2h.train(data["x"], method="lsh", bits=bits, seed=11)
    m.save(tmp_path / "m.st")
    codes = m.encode(data["x"])
    rng = np.random.default_rng(0)
    q = np.concatenate([codes[:30], rng.integers(0, 256, (10, codes.shape[1]), np.uint8)])
    np.save(tmp_path / "db.npy", codes)
    np.save(tmp_path / "q.npy", q)
    k, radius = 9, bits // 6
    args = [cprog, tmp_path / "m.st", data["dir"] / "x.npy", tmp_path / "db.npy",
            tmp_path / "q.npy", bits, k, radius, kind, tmp_path]
    subprocess.run(list(map(str, args)), check=True)
    raw = lambda name, dt: np.fromfile(tmp_path / name, dtype=dt)
    np.testing.assert_array_equal(raw("encode.bin", np.uint8).reshape(codes.shape), codes)
    ix = l2h.Index(bits, kind=kind)
    ix.add(codes)
    D, I = ix.search(q, k)
    np.testing.assert_array_equal(raw("D.bin", np.int32).reshape(D.shape), D)
    np.testing.assert_array_equal(raw("I.bin", np.int64).reshape(I.shape), I)
    lims, rD, rI = ix.range_search(q, radius)
    np.testing.assert_array_equal(raw("lims.bin", np.uint64).astype(np.int64), lims)
    np.testing.assert_array_equal(raw("rD.bin", np.int32), rD)
    np.testing.assert_array_equal(raw("rI.bin", np.int64), rI)
