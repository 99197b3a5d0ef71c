"""Model: a hash function (features -> packed codes), loaded, trained or saved."""
import os
import tempfile

import numpy as np

from . import _arrays as A
from ._errors import check
from ._l2h_cffi import ffi, lib
from ._methods import train_model


def _path(path):
    p = os.fspath(path)
    return p.encode() if isinstance(p, str) else p, p


class Model:
    """A hash function: preprocessing, a network (linear, MLP or CNN) and the sign.

    Create one with :func:`l2h.train` or :meth:`Model.load` (the CLI's safetensors model files).
    Encoding is thread-safe; the GIL is released while the library works."""

    __slots__ = ("_m", "__weakref__")

    def __init__(self, handle):
        if not isinstance(handle, ffi.CData):
            raise TypeError("use l2h.Model.load(path) or l2h.train(...) to create a model")
        self._m = handle

    # ---- files ----
    @classmethod
    def load(cls, path):
        """Reads a model file written by ``l2h train`` or :meth:`save`. Raises FileNotFoundError-
        like :class:`l2h.LibraryOSError` (with ``filename``), :class:`l2h.FormatError` for a
        malformed or newer file, :class:`l2h.UnsupportedError` for an unknown method/arch."""
        b, p = _path(path)
        out = ffi.new("l2h_model **")
        check(lib.l2h_model_load(out, b), filename=p)
        return cls(ffi.gc(out[0], lib.l2h_model_free))

    @classmethod
    def from_bytes(cls, data, name="<bytes>"):
        """Parses a model file held in memory."""
        buf = ffi.from_buffer(data)
        out = ffi.new("l2h_model **")
        check(lib.l2h_model_load_mem(out, buf, len(buf), name.encode()))
        return cls(ffi.gc(out[0], lib.l2h_model_free))

    def save(self, path):
        """Writes the model file atomically (temporary file, fsync, rename)."""
        b, p = _path(path)
        check(lib.l2h_model_save(self._m, b), filename=p)

    def to_bytes(self):
        """The model file's bytes."""
        with tempfile.TemporaryDirectory(prefix="l2h-") as d:
            f = os.path.join(d, "model.safetensors")
            self.save(f)
            with open(f, "rb") as fh:
                return fh.read()

    def __reduce__(self):
        return (Model.from_bytes, (self.to_bytes(), "<pickle>"))

    # ---- properties ----
    @property
    def bits(self):
        """Code length in bits."""
        return lib.l2h_model_bits(self._m)

    @property
    def dim(self):
        """Input features per row."""
        return lib.l2h_model_dim(self._m)

    @property
    def code_bytes(self):
        """Bytes per packed code: ceil(bits / 8)."""
        return A.code_bytes(self.bits)

    @property
    def method(self):
        """"lsh", "itq", "mihash", "hashnet", "jmlh", ..."""
        return ffi.string(lib.l2h_model_method(self._m)).decode()

    @property
    def arch(self):
        """"linear", "mlp" or "cnn"."""
        return ffi.string(lib.l2h_model_arch(self._m)).decode()

    def meta(self, key):
        """A metadata value of the model file ("" if absent)."""
        return ffi.string(lib.l2h_model_meta(self._m, str(key).encode())).decode()

    def __repr__(self):
        return f"<l2h.Model {self.method}/{self.arch}, {self.dim} -> {self.bits} bits>"

    # ---- computing ----
    def encode(self, x, out=None):
        """Packed codes uint8 (n, ceil(bits/8)), LSB-first, for features x (n, dim).

        float32 C-contiguous input is used in place; other real dtypes / orders are converted.
        NaN or Inf in x raises :class:`l2h.NumericError` (a ValueError)."""
        xa = A.features(x, "x", self.dim)
        n = xa.shape[0]
        if out is None:
            out = np.empty((n, self.code_bytes), dtype=np.uint8)
        elif (not isinstance(out, np.ndarray) or out.dtype != np.uint8
              or out.shape != (n, self.code_bytes) or not out.flags.c_contiguous
              or not out.flags.writeable):
            raise ValueError(f"out must be a writable C-contiguous uint8 array of shape "
                             f"({n}, {self.code_bytes})")
        if n:
            _finite(xa, "x")
            check(lib.l2h_model_encode(self._m, A.ptr("float *", xa), n,
                                       ffi.from_buffer("uint8_t[]", out)), "encode")
        return out

    def forward(self, x):
        """Real outputs z float32 (n, bits) before the sign (bit j = 1 iff z_j > 0)."""
        xa = A.features(x, "x", self.dim)
        n = xa.shape[0]
        z = np.empty((n, self.bits), dtype=np.float32)
        if n:
            _finite(xa, "x")
            check(lib.l2h_model_forward(self._m, A.ptr("float *", xa), n,
                                        ffi.from_buffer("float[]", z)), "forward")
        return z


def _finite(xa, name):
    """The library encodes NaN as bit 0 in some paths; refuse non-finite input up front with a
    message naming the row (one pass, vectorised)."""
    if not np.isfinite(xa).all():
        bad = np.argwhere(~np.isfinite(xa))[0]
        from ._errors import NumericError
        raise NumericError(f"{name}: non-finite value {xa[bad[0], bad[1]]} at row {bad[0]}, "
                           f"column {bad[1]}", "L2H_ERR_NUMERIC")


def train(x, labels=None, method="mihash", bits=32, model="linear", progress=None, **options):
    """Learns a hash function from x (n, dim) and optional labels, returns a :class:`Model`.

    method: any batch method of the library's registry (``l2h.batch_methods()``): "lsh",
    "itq", "pcah" (unsupervised baselines) or "mihash", "hashnet", "jmlh" (learned, need
    labels: class ids (n,) or a 0/1 multi-label matrix (n, L)). model: "linear", "mlp", "cnn"
    for learned methods. options: the CLI's ``l2h train`` options with '_' for '-', e.g.
    epochs=50, batch=100, optimizer="adam", lr=1e-3, hidden=(1024,), seed=1, l2_normalize=True,
    and each method's own registry options (``l2h train --help``: bins, scale, mi_grades;
    alpha, weighting, beta_schedule, beta_stages, no_continuation, self_pairs; gamma, variant,
    deterministic; iters, max_train), also as <method>_<option> (itq_iters, jmlh_variant).
    Earlier keywords still work (HashNet weight, beta_gamma, beta_power, beta_step,
    continuation; JMLH regularizer, continuous). Unknown options raise TypeError listing the
    valid ones.
    progress (learned methods): called with a dict (epoch, epochs, loss, loss_aux, val_map,
    val_map_tie, examples_per_s, seconds) after every epoch; returning True stops training
    (:class:`l2h.StateError`), an exception raised in it (Ctrl-C included) stops training and
    propagates. The GIL is released while training; x is copied once into the library."""
    return Model(train_model(x, labels, method, bits, model, dict(options), progress))
