"""Online: hashing learned from a stream, with a hash table kept by an update policy."""
import threading

import numpy as np

from . import _arrays as A
from ._errors import check
from ._l2h_cffi import ffi, lib
from ._methods import online_params


class Online:
    """An online hashing run (docs/online.md): ``Online(dim, method="mihash", bits=32,
    policy="trigger", reservoir=200, interval=100, ...)``; the options are the fields of the C
    ``l2h_online_params``.

    Feed it yourself with :meth:`begin` (optional initial items and the retrieval set whose
    hash table it maintains) and :meth:`push`, or run the whole protocol with :meth:`run`.
    Calls on one Online object are serialised by a lock (the C handle is single-threaded);
    the GIL is released inside each call."""

    def __init__(self, dim, method="mihash", bits=32, **options):
        keep = []
        p = online_params(method, bits, dict(options), keep)
        out = ffi.new("l2h_online **")
        check(lib.l2h_online_create(out, p, int(dim)), "Online")
        self._o = ffi.gc(out[0], lib.l2h_online_free)
        self._lock = threading.Lock()
        self._db = ffi.NULL
        self._n_db = 0
        self.method = method

    @property
    def bits(self):
        return lib.l2h_online_bits(self._o)

    @property
    def dim(self):
        return lib.l2h_online_dim(self._o)

    def __repr__(self):
        return f"<l2h.Online {self.method}, {self.dim} -> {self.bits} bits>"

    def begin(self, init_x=None, init_labels=None, db=None):
        """Resets the run and initialises the method from init_x (n_init, dim) (labels
        optional; OKH needs at least okh_anchors items). db (n_db, dim): the retrieval set;
        its hash table is built now and maintained by later pushes (see :meth:`table`)."""
        if init_x is None:
            x = np.empty((0, self.dim), np.float32)
        else:
            x = A.features(init_x, "init_x", self.dim)
        lp = ffi.NULL
        if init_labels is not None:
            kind, y = A.labels(init_labels, x.shape[0], "init_labels")
            if kind != "single":
                raise ValueError("init_labels: online methods take single class ids")
            lp = A.ptr("int32_t *", y)
        dbh = ffi.NULL
        n_db = 0
        if db is not None:
            dbh = A.dataset(db, None, "db", self.dim)
            n_db = lib.l2h_dataset_n(dbh)
        with self._lock:
            check(lib.l2h_online_begin(self._o, A.ptr("float *", x) if x.size else ffi.NULL,
                                       lp, x.shape[0], dbh), "begin")
            self._db, self._n_db = dbh, n_db

    def push(self, x, labels=None):
        """Consumes stream items x (n, dim) (labels (n,) or None) in order; learning happens in
        batches of the method's batch size (a partial batch waits; :meth:`flush` learns it)."""
        xa = A.features(x, "x", self.dim)
        lp = ffi.NULL
        if labels is not None:
            kind, y = A.labels(labels, xa.shape[0], "labels")
            if kind != "single":
                raise ValueError("labels: online methods take single class ids")
            lp = A.ptr("int32_t *", y)
        if xa.shape[0] == 0:
            return
        with self._lock:
            check(lib.l2h_online_push(self._o, A.ptr("float *", xa), lp, xa.shape[0],
                                      self._db), "push")

    def flush(self):
        """Learns from a partial batch still waiting."""
        with self._lock:
            check(lib.l2h_online_flush(self._o, self._db), "flush")

    def encode(self, x):
        """Codes of x with the snapshot mapping (the one that built the table; queries use it)."""
        return self._encode(x, lib.l2h_online_encode)

    def encode_current(self, x):
        """Codes of x with the current, possibly newer, mapping."""
        return self._encode(x, lib.l2h_online_encode_current)

    def _encode(self, x, fn):
        xa = A.features(x, "x", self.dim)
        out = np.empty((xa.shape[0], A.code_bytes(self.bits)), np.uint8)
        if xa.shape[0]:
            with self._lock:
                check(fn(self._o, A.ptr("float *", xa), xa.shape[0],
                         ffi.from_buffer("uint8_t[]", out)), "encode")
        return out

    def model(self, which="snapshot"):
        """The hash function of the run: "snapshot" (the one that built the table and encodes
        queries) or "current" (the one being learned).

        With a library that has ``l2h_online_model`` this is a :class:`l2h.Model` copy (savable,
        usable by Index/evaluate, unaffected by later pushes). Otherwise it is an
        :class:`OnlineMapping`: an ``encode``-only view of this run that follows later updates."""
        if which not in ("snapshot", "current"):
            raise ValueError(f"which must be 'snapshot' or 'current', got {which!r}")
        if hasattr(lib, "l2h_online_model"):
            from ._model import Model
            out = ffi.new("l2h_model **")
            w = lib.L2H_ONLINE_SNAPSHOT if which == "snapshot" else lib.L2H_ONLINE_CURRENT
            with self._lock:
                check(lib.l2h_online_model(self._o, w, out), "model")
            return Model(ffi.gc(out[0], lib.l2h_model_free))
        return OnlineMapping(self, which)

    def table(self):
        """A copy of the hash table: codes (n_db, ceil(bits/8)) of the db given to begin()."""
        if self._db == ffi.NULL:
            raise ValueError("table: begin(db=...) was not given a retrieval set")
        out = np.empty((self._n_db, A.code_bytes(self.bits)), np.uint8)
        with self._lock:
            check(lib.l2h_online_table(self._o, ffi.from_buffer("uint8_t[]", out), self._n_db),
                  "table")
        return out

    def stats(self):
        """dict: items, steps, checks, updates, bits_recomputed, n_checkpoints, map_auc,
        map_final."""
        s = ffi.new("l2h_online_stats *")
        with self._lock:
            check(lib.l2h_online_get_stats(self._o, s), "stats")
        return {k: getattr(s, k) for k in ("items", "steps", "checks", "updates",
                                            "bits_recomputed", "n_checkpoints", "map_auc",
                                            "map_final")}

    def curve(self):
        """The mAP curve of the last :meth:`run`: dict of arrays items, map, updates."""
        n = self.stats()["n_checkpoints"]
        items = np.zeros(n, np.uint64)
        m = np.zeros(n, np.float64)
        upd = np.zeros(n, np.uint64)
        if n:
            with self._lock:
                check(lib.l2h_online_curve(self._o, n, ffi.from_buffer("size_t[]", items),
                                           ffi.from_buffer("double[]", m),
                                           ffi.from_buffer("size_t[]", upd)), "curve")
        return {"items": items.astype(np.int64), "map": m, "updates": upd.astype(np.int64)}

    def run(self, pool_x, pool_labels, db_x, db_labels, queries_x, queries_labels, n_items):
        """The whole protocol in one call (l2h_online_run): initialise from the pool, build the
        table of db, stream n_items pool items in a seeded order, evaluate the queries against
        the table at every checkpoint. Returns :meth:`stats`; :meth:`curve` gives the curve."""
        pool = A.dataset(pool_x, pool_labels, "pool_x", self.dim)
        db = A.dataset(db_x, db_labels, "db_x", self.dim)
        qs = A.dataset(queries_x, queries_labels, "queries_x", self.dim)
        with self._lock:
            check(lib.l2h_online_run(self._o, pool, db, qs, int(n_items)), "run")
            self._db, self._n_db = ffi.NULL, 0
        return self.stats()


class OnlineMapping:
    """The snapshot mapping of an :class:`Online` run, usable where a Model's encode is."""

    def __init__(self, online, which="snapshot"):
        self._online = online
        self.which = which

    @property
    def bits(self):
        return self._online.bits

    @property
    def dim(self):
        return self._online.dim

    @property
    def code_bytes(self):
        return A.code_bytes(self.bits)

    def encode(self, x):
        if self.which == "current":
            return self._online.encode_current(x)
        return self._online.encode(x)

    def __repr__(self):
        return f"<l2h.OnlineMapping {self.which} of {self._online!r}>"
