"""Checking and converting numpy inputs, and handing them to C without copies.

Rules (README, "Python"): an array that already has the right dtype, is C-contiguous and
aligned is passed to the library as it is (zero-copy); an array of another real dtype or in
another memory order is converted explicitly with ``np.ascontiguousarray`` (one copy); anything
that cannot be converted without changing its meaning raises TypeError / ValueError naming the
argument, before the library is called."""
import numpy as np

from ._l2h_cffi import ffi, lib


def code_bytes(bits):
    """Bytes of one packed code: ceil(bits / 8)."""
    return (int(bits) + 7) // 8


def _plain(x, name):
    if isinstance(x, np.ndarray):
        return x
    try:
        return np.asarray(x)
    except Exception as e:  # e.g. ragged lists
        raise TypeError(f"{name}: cannot be read as an array ({e})") from None


def _contiguous(a, dtype):
    if a.dtype == dtype and a.flags.c_contiguous and a.flags.aligned:
        return a
    return np.ascontiguousarray(a, dtype=dtype)


def features(x, name="x", dim=None):
    """float32 (n, dim) C-contiguous view or copy of x."""
    a = _plain(x, name)
    if a.dtype.kind not in "fiu" or a.dtype.kind == "b":
        raise TypeError(f"{name}: features must be real numbers (float32 preferred), "
                        f"got dtype {a.dtype}")
    if a.ndim != 2:
        raise ValueError(f"{name}: features must be a 2-D array (n, dim), got shape {a.shape}"
                         + ("; use x.reshape(1, -1) for one row" if a.ndim == 1 else ""))
    if dim is not None and a.shape[1] != dim:
        raise ValueError(f"{name}: {a.shape[1]} features per row, expected {dim}")
    return _contiguous(a, np.float32)


def codes(c, bits, name="codes"):
    """uint8 (n, ceil(bits/8)) C-contiguous view or copy of packed codes."""
    a = _plain(c, name)
    width = code_bytes(bits)
    if a.dtype != np.uint8:
        hint = ("l2h.packbits(bits) packs 0/1 bits" if a.dtype.kind in "bfiu" else "")
        raise TypeError(f"{name}: packed codes must be uint8 (n, {width}) in the LSB-first "
                        f"layout, got dtype {a.dtype}" + (f"; {hint}" if hint else ""))
    if a.ndim != 2:
        raise ValueError(f"{name}: codes must be a 2-D array (n, {width}), got shape {a.shape}"
                         + ("; use c.reshape(1, -1) for one code" if a.ndim == 1 else ""))
    if a.shape[1] != width:
        raise ValueError(f"{name}: {a.shape[1]} bytes per code, but {bits}-bit codes take "
                         f"{width} (ceil(bits/8))")
    return _contiguous(a, np.uint8)


def ids(i, n, name="ids"):
    """int64 (n,) C-contiguous view or copy of item ids."""
    a = _plain(i, name)
    if a.dtype.kind not in "iu":
        raise TypeError(f"{name}: ids must be integers (int64), got dtype {a.dtype}")
    if a.ndim != 1:
        a = a.reshape(-1) if a.ndim == 2 and 1 in a.shape else a
        if a.ndim != 1:
            raise ValueError(f"{name}: ids must be a 1-D array, got shape {a.shape}")
    if n is not None and a.shape[0] != n:
        raise ValueError(f"{name}: {a.shape[0]} ids for {n} codes")
    if a.dtype.kind == "u" and a.size and a.max() > np.iinfo(np.int64).max:
        raise ValueError(f"{name}: an id does not fit int64")
    return _contiguous(a, np.int64)


def labels(y, n, name="labels"):
    """(kind, array): ("single", int32 (n,)) or ("multi", uint8 (n, L) of 0/1)."""
    a = _plain(y, name)
    if a.dtype.kind not in "biu":
        raise TypeError(f"{name}: labels must be integer class ids (n,) or a 0/1 / bool "
                        f"matrix (n, L), got dtype {a.dtype}")
    if a.shape[:1] != (n,):
        raise ValueError(f"{name}: {a.shape[0] if a.ndim else 0} label rows for {n} rows of data")
    if a.ndim == 1 and a.dtype.kind != "b":
        if a.size and (a.min() < 0 or a.max() > np.iinfo(np.int32).max):
            raise ValueError(f"{name}: class ids must be in 0..2^31-1")
        return "single", _contiguous(a, np.int32)
    if a.ndim == 2:
        if a.dtype.kind != "b" and a.size and (a.min() < 0 or a.max() > 1):
            raise ValueError(f"{name}: a multi-label matrix holds only 0 and 1")
        return "multi", _contiguous(a, np.uint8)
    raise ValueError(f"{name}: labels must be 1-D (class ids) or 2-D (0/1 multi-labels), "
                     f"got shape {a.shape}")


def ptr(ctype, a):
    """A C pointer into the array's own memory (no copy) for a C-contiguous array; the returned
    object keeps the array alive. ctype names the element type, e.g. "float *"."""
    return ffi.from_buffer(ctype.replace("*", "[]"), a, require_writable=False)


def dataset(x, y=None, name="x", dim=None):
    """A new l2h_dataset (freed when garbage) holding a copy of x and labels y."""
    from ._errors import check
    xa = features(x, name, dim)
    n, d = xa.shape
    out = ffi.new("l2h_dataset **")
    check(lib.l2h_dataset_create(out, n, d, ptr("float *", xa)), f"{name}")
    ds = ffi.gc(out[0], lib.l2h_dataset_free)
    if y is not None:
        kind, ya = labels(y, n)
        if kind == "single":
            check(lib.l2h_dataset_set_labels(ds, ptr("int32_t *", ya)), "labels")
        else:
            check(lib.l2h_dataset_set_multilabels(ds, ya.shape[1], ptr("uint8_t *", ya)),
                  "labels")
    return ds


def packbits(bits01, axis=-1):
    """Packs 0/1 (or bool) bits into l2h codes: bit j of a row goes to byte j // 8, bit j % 8,
    least significant first (numpy's own default, ``bitorder='big'``, is MSB-first and gives
    different bytes). Returns uint8 (..., ceil(nbits / 8))."""
    a = np.asarray(bits01)
    if a.dtype.kind not in "biu":
        raise TypeError(f"packbits: bits must be 0/1 integers or bool, got dtype {a.dtype}")
    if a.dtype.kind != "b" and a.size and (a.min() < 0 or a.max() > 1):
        raise ValueError("packbits: bits must be 0 or 1 (use (z > 0) for signs)")
    return np.packbits(a.astype(bool, copy=False), axis=axis, bitorder="little")


def unpackbits(codes_, bits, axis=-1):
    """Inverse of packbits for `bits`-bit codes: uint8 0/1 array (..., bits), LSB-first."""
    a = np.asarray(codes_)
    if a.dtype != np.uint8:
        raise TypeError(f"unpackbits: codes must be uint8, got dtype {a.dtype}")
    if a.shape[axis] != code_bytes(bits):
        raise ValueError(f"unpackbits: {a.shape[axis]} bytes per code, {bits} bits need "
                         f"{code_bytes(bits)}")
    return np.unpackbits(a, axis=axis, count=int(bits), bitorder="little")
