"""Index: exact k-NN and radius search over packed binary codes, FAISS-like."""
import os
import tempfile

import numpy as np

from . import _arrays as A
from ._errors import check
from ._l2h_cffi import ffi, lib

_KINDS = {"flat": lib.L2H_INDEX_FLAT, "mih": lib.L2H_INDEX_MIH}
_KIND_NAMES = {v: k for k, v in _KINDS.items()}
_U8 = np.dtype(np.uint8)


class Index:
    """An exact Hamming index over `bits`-bit packed codes (uint8 (n, ceil(bits/8)), LSB-first).

    kind: "flat" (exhaustive scan, run-time chosen popcount kernel) or "mih" (multi-index
    hashing: the same results, sublinear on near neighbours); n_tables: MIH substrings
    (0 = automatic). Results are ordered by distance, then by id, identically for both kinds.

    Threads: searches, len(), save() may run from many Python threads at once (the GIL is
    released and the index has a reader-writer lock); add/remove/replace wait for running
    searches. Pickling stores the index file's bytes."""

    __slots__ = ("_ix", "_bits", "_width", "__weakref__")

    def __init__(self, bits, kind="flat", n_tables=0, _handle=None):
        if _handle is not None:
            self._set(_handle)
            return
        if kind not in _KINDS:
            raise ValueError(f"kind must be 'flat' or 'mih', got {kind!r}")
        p = ffi.new("l2h_index_params *", lib.l2h_index_default_params(int(bits)))
        p.kind = _KINDS[kind]
        p.n_tables = int(n_tables)
        out = ffi.new("l2h_index **")
        check(lib.l2h_index_create(out, p), "Index")
        self._set(ffi.gc(out[0], lib.l2h_index_free))

    def _set(self, handle):
        self._ix = handle
        self._bits = lib.l2h_index_bits(handle)  # fixed for the index's life
        self._width = A.code_bytes(self._bits)

    def _queries(self, q):
        """Fast path of A.codes for the common case (right dtype, shape, C order)."""
        if (type(q) is np.ndarray and q.dtype is _U8 and q.ndim == 2
                and q.shape[1] == self._width and q.flags.c_contiguous):
            return q
        return A.codes(q, self._bits, "queries")

    # ---- properties ----
    @property
    def bits(self):
        return self._bits

    @property
    def code_bytes(self):
        return self._width

    @property
    def ntotal(self):
        """Codes held (FAISS's name); also len(index)."""
        return lib.l2h_index_size(self._ix)

    def __len__(self):
        return lib.l2h_index_size(self._ix)

    @property
    def kind(self):
        return _KIND_NAMES[self.describe()["kind"]]

    def describe(self):
        """dict: kind, bits, size, n_tables, memory_bytes and the MIH search counters."""
        info = ffi.new("l2h_index_info *")
        check(lib.l2h_index_describe(self._ix, info))
        return {k: getattr(info, k) for k in ("kind", "bits", "size", "n_tables",
                                               "memory_bytes", "queries", "probes",
                                               "candidates", "fallbacks")}

    def __repr__(self):
        return f"<l2h.Index {self.kind}, {self.bits} bits, {len(self)} codes>"

    # ---- changing ----
    def add(self, codes, ids=None):
        """Adds codes (n, ceil(bits/8)); ids int64 (n,) >= 0, or None for row numbers
        continuing from the current size. Raises ValueError for a negative id."""
        c = A.codes(codes, self.bits, "codes")
        n = c.shape[0]
        if n == 0:
            return
        ip = ffi.NULL
        if ids is not None:
            ia = A.ids(ids, n)
            ip = A.ptr("int64_t *", ia)
        check(lib.l2h_index_add(self._ix, A.ptr("uint8_t *", c), ip, n), "add")

    def remove(self, ids):
        """Removes every code whose id is in ids; returns how many codes were removed (ids not
        in the index are ignored). Other ids never shift."""
        ia = A.ids(ids, None)
        out = ffi.new("size_t *")
        if ia.shape[0] == 0:
            return 0
        check(lib.l2h_index_remove(self._ix, A.ptr("int64_t *", ia), ia.shape[0], out), "remove")
        return out[0]

    def replace(self, ids, codes):
        """Replaces the code of each id (all must be present, none repeated): all or nothing."""
        c = A.codes(codes, self.bits, "codes")
        ia = A.ids(ids, c.shape[0])
        if c.shape[0] == 0:
            return
        check(lib.l2h_index_replace(self._ix, A.ptr("int64_t *", ia), A.ptr("uint8_t *", c),
                                    c.shape[0]), "replace")

    # ---- searching ----
    def search(self, queries, k):
        """k nearest codes of each query: (D int32 (nq, k), I int64 (nq, k)), distances first
        as in FAISS. Row q is nearest first, ties by smaller id; when the index holds fewer
        than k codes the row is padded with D = -1, I = -1 (FAISS pads I with -1 too)."""
        q = self._queries(queries)
        k = int(k)
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        nq = q.shape[0]
        D = np.empty((nq, k), dtype=np.int32)
        I = np.empty((nq, k), dtype=np.int64)
        if nq:
            check(lib.l2h_index_search(self._ix, ffi.from_buffer("uint8_t[]", q), nq, k,
                                       ffi.from_buffer("int32_t[]", D),
                                       ffi.from_buffer("int64_t[]", I)), "search")
        return D, I

    def range_search(self, queries, radius):
        """All codes within Hamming distance <= radius (INCLUSIVE) of each query:
        (lims int64 (nq+1,), D int32, I int64); query q's results are D[lims[q]:lims[q+1]].

        FAISS's binary range_search keeps distance < radius (strict): FAISS radius r is
        l2h radius r - 1."""
        q = self._queries(queries)
        radius = int(radius)
        if radius < 0:
            raise ValueError(f"radius must be >= 0, got {radius}")
        radius = min(radius, 0xFFFFFFFF)
        nq = q.shape[0]
        if nq == 0:
            return (np.zeros(1, np.int64), np.empty(0, np.int32), np.empty(0, np.int64))
        out = ffi.new("l2h_range_result **")
        check(lib.l2h_index_range_search(self._ix, ffi.from_buffer("uint8_t[]", q), nq,
                                         radius, out), "range_search")
        r = out[0]
        try:
            lims = np.frombuffer(ffi.buffer(lib.l2h_range_result_lims(r), (nq + 1) * 8),
                                 dtype=np.uint64).astype(np.int64)
            total = int(lims[-1])
            D = np.frombuffer(ffi.buffer(lib.l2h_range_result_dists(r), total * 4),
                              dtype=np.int32).copy()
            I = np.frombuffer(ffi.buffer(lib.l2h_range_result_ids(r), total * 8),
                              dtype=np.int64).copy()
        finally:
            lib.l2h_range_result_free(r)
        return lims, D, I

    # ---- files ----
    def save(self, path):
        """Writes the index file atomically (checksummed; the CLI's `l2h index` format)."""
        p = os.fspath(path)
        check(lib.l2h_index_save(self._ix, os.fsencode(p)), filename=p)

    @classmethod
    def load(cls, path):
        """Reads an index file (from :meth:`save` or `l2h index build`). Raises
        :class:`l2h.LibraryOSError` (an OSError with ``filename``) or :class:`l2h.FormatError`."""
        p = os.fspath(path)
        out = ffi.new("l2h_index **")
        check(lib.l2h_index_load(out, os.fsencode(p)), filename=p)
        return cls(0, _handle=ffi.gc(out[0], lib.l2h_index_free))

    @classmethod
    def from_bytes(cls, data, name="<bytes>"):
        buf = ffi.from_buffer(data)
        out = ffi.new("l2h_index **")
        check(lib.l2h_index_load_mem(out, buf, len(buf), name.encode()))
        return cls(0, _handle=ffi.gc(out[0], lib.l2h_index_free))

    def to_bytes(self):
        """The index file's bytes."""
        with tempfile.TemporaryDirectory(prefix="l2h-") as d:
            f = os.path.join(d, "index.l2hidx")
            self.save(f)
            with open(f, "rb") as fh:
                return fh.read()

    def __reduce__(self):
        # the file keeps the kind; MIH tables are rebuilt on load
        return (Index.from_bytes, (self.to_bytes(), "<pickle>"))


def hamming(query, codes, bits):
    """Hamming distances int32 (n,) from one packed query (1, B) or (B,) to codes (n, B)."""
    q = np.asarray(query)
    if q.ndim == 1:
        q = q.reshape(1, -1)
    q = A.codes(q, bits, "query")
    if q.shape[0] != 1:
        raise ValueError("hamming: one query at a time (use Index.search for many)")
    c = A.codes(codes, bits, "codes")
    out = np.empty(c.shape[0], dtype=np.int32)
    if c.shape[0]:
        check(lib.l2h_hamming_many(A.ptr("uint8_t *", q), A.ptr("uint8_t *", c), c.shape[0],
                                   int(bits), ffi.from_buffer("int32_t[]", out)), "hamming")
    return out
