"""Reading data with the library's readers (every format of `l2h --data`)."""
import os

import numpy as np

from ._errors import check
from ._l2h_cffi import ffi, lib


def _to_numpy(ds):
    n, dim = lib.l2h_dataset_n(ds), lib.l2h_dataset_dim(ds)
    x = np.frombuffer(ffi.buffer(lib.l2h_dataset_features(ds), n * dim * 4),
                      dtype=np.float32).reshape(n, dim).copy()
    kind = lib.l2h_dataset_label_kind(ds)
    y = None
    if kind == lib.L2H_LABELS_SINGLE:
        y = np.frombuffer(ffi.buffer(lib.l2h_dataset_labels(ds), n * 4), dtype=np.int32).copy()
    elif kind == lib.L2H_LABELS_MULTI:
        L = lib.l2h_dataset_n_labels(ds)
        y = np.frombuffer(ffi.buffer(lib.l2h_dataset_multilabels(ds), n * L),
                          dtype=np.uint8).reshape(n, L).copy()
    return x, y


def load_dataset(name):
    """A dataset installed by a Debian package: ``"fashion-mnist"`` (dataset-fashion-mnist)
    gives (x float32 (70000, 784) in [0, 1], labels int32 (70000,), n_train=60000): the 60,000
    training images first, then the 10,000 test images."""
    out = ffi.new("l2h_dataset **")
    nt = ffi.new("size_t *")
    check(lib.l2h_dataset_load_named(out, str(name).encode(), nt), f"load_dataset({name!r})")
    ds = ffi.gc(out[0], lib.l2h_dataset_free)
    x, y = _to_numpy(ds)
    return x, y, int(nt[0])


def read_dataset(path, format=None, dim=0, labels=None, n_labels=0, max_rows=0):
    """Reads features (and labels) with the library's readers: .fvecs/.bvecs/.ivecs, .npy,
    MNIST IDX (.gz too), headerless f32/f16/u8 (give dim), ARFF (n_labels trailing label
    attributes). Returns (x float32 (n, dim), labels or None). Errors name the file."""
    p = ffi.new("l2h_read_params *", lib.l2h_read_default_params())
    if format is not None:
        fmt = ffi.new("l2h_format *")
        check(lib.l2h_format_parse(str(format).encode(), fmt), "format")
        p.format = fmt[0]
    p.dim, p.n_labels, p.max_rows = int(dim), int(n_labels), int(max_rows)
    out = ffi.new("l2h_dataset **")
    f = os.fspath(path)
    check(lib.l2h_dataset_read(out, os.fsencode(f), p), filename=f)
    ds = ffi.gc(out[0], lib.l2h_dataset_free)
    if labels is not None:
        lp = ffi.new("l2h_read_params *", lib.l2h_read_default_params())
        lp.max_rows = int(max_rows)
        lf = os.fspath(labels)
        check(lib.l2h_dataset_read_labels(ds, os.fsencode(lf), lp), filename=lf)
    return _to_numpy(ds)
