"""l2h: learning to hash — numpy in, numpy out, over the l2h C library.

Arrays: features float32 (n, dim); packed codes uint8 (n, ceil(bits/8)) with bit j of a code
in byte j // 8 at bit position j % 8 (least significant first — the bytes FAISS uses; numpy's
np.packbits default is MSB-first, so use l2h.packbits / l2h.unpackbits or bitorder="little");
ids int64; search distances int32. Arrays of the right dtype that are C-contiguous are used
in place; others are converted explicitly (one copy); nonsensical input raises TypeError or
ValueError before the library sees it. Library failures raise subclasses of l2h.Error that are
also the matching built-in exceptions (ValueError, MemoryError, OSError with ``filename``,
RuntimeError), with l2h_last_error()'s message. The GIL is released in every library call.
"""
from ._l2h_cffi import ffi as _ffi, lib as _lib
from ._arrays import code_bytes, packbits, unpackbits
from ._errors import (ArgumentError, Error, FormatError, LibraryMemoryError, LibraryOSError,
                      NumericError, StateError, UnsupportedError, last_error)
from ._data import load_dataset, read_dataset
from ._evaluate import CLI_CUTOFFS, distance_percentile, evaluate
from ._index import Index, hamming
from ._methods import BATCH_METHODS, online_methods
from ._model import Model, train
from ._online import Online, OnlineMapping

__version__ = _ffi.string(_lib.l2h_version_string()).decode()

__all__ = [
    "ArgumentError", "BATCH_METHODS", "CLI_CUTOFFS", "Error", "FormatError", "Index",
    "LibraryMemoryError", "LibraryOSError", "Model", "NumericError", "Online", "OnlineMapping",
    "StateError", "UnsupportedError", "batch_methods", "build_info", "code_bytes",
    "distance_percentile", "evaluate", "hamming", "kernel", "last_error", "load_dataset", "read_dataset", "online_methods",
    "packbits", "set_threads", "threads", "train", "unpackbits",
]


def batch_methods():
    """Names of the batch (train-once) methods: lsh, itq, mihash, hashnet, jmlh."""
    return tuple(BATCH_METHODS)


def set_threads(n):
    """Threads of the library's parallel kernels (search, evaluation, training); 0 = default
    (OpenMP's, normally the number of cores). Process-wide."""
    _lib.l2h_set_threads(int(n))


def threads():
    """Threads the library's parallel kernels use."""
    return _lib.l2h_threads()


def build_info():
    """BLAS in use, OpenMP, and the Hamming kernel chosen for this CPU."""
    return _ffi.string(_lib.l2h_build_info()).decode()


def kernel():
    """Name of the Hamming kernel in use ("avx512-vpopcntdq", "avx2", "popcnt", "portable")."""
    return _ffi.string(_lib.l2h_hamming_kernel()).decode()
