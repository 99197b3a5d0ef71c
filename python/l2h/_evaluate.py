"""evaluate(): the retrieval metrics of `l2h eval`, on codes and labels held in numpy arrays."""
import numpy as np

from . import _arrays as A
from ._errors import check
from ._l2h_cffi import ffi, lib

#: The precision@N / recall@N cut-offs `l2h eval` reports.
CLI_CUTOFFS = (1, 10, 50, 100, 500, 1000, 2000, 5000)


def _label_dataset(y, name):
    y = np.asarray(y)
    n = y.shape[0] if y.ndim else 0
    out = ffi.new("l2h_dataset **")
    check(lib.l2h_dataset_create(out, n, 1, ffi.NULL), name)
    ds = ffi.gc(out[0], lib.l2h_dataset_free)
    kind, ya = A.labels(y, n, name)
    if kind == "single":
        check(lib.l2h_dataset_set_labels(ds, A.ptr("int32_t *", ya)), name)
    else:
        check(lib.l2h_dataset_set_multilabels(ds, ya.shape[1], A.ptr("uint8_t *", ya)), name)
    return ds


def distance_percentile(x, percentile=5.0, sample=2000, seed=1):
    """The Euclidean distance at `percentile` (0..100) of the pairwise distances among
    min(sample, n) rows of x (the MIHash LabelMe rule; `l2h eval --ground-truth euclidean`
    uses the training rows, sample 2000, percentile 5, the split seed)."""
    ds = A.dataset(x)
    t = ffi.new("float *")
    check(lib.l2h_distance_percentile(ds, int(sample), float(percentile), int(seed), t),
          "distance_percentile")
    return float(t[0])


def evaluate(codes_q, codes_db, labels_q=None, labels_db=None, bits=None, *, radius=2,
             map_at=0, empty_as_zero=False, cutoffs=CLI_CUTOFFS, features_q=None,
             features_db=None, threshold=None):
    """Retrieval quality of query codes against database codes, exactly as `l2h eval`.

    codes_q (nq, B), codes_db (n_db, B): packed uint8 codes; bits defaults to 8 * B.
    Relevance: labels_q / labels_db (class ids (n,) -> same class; 0/1 matrices (n, L) -> at
    least one shared label), or Euclidean: features_q, features_db and threshold
    (distance <= threshold; see :func:`distance_percentile`).

    Returns a dict with the keys of ``l2h eval --json``: ``map`` (ties in database order),
    ``map_tie_aware`` (expected AP over random orders within each distance), ``map_at_K``
    (if map_at=K > 0), ``precision_radius_R`` / ``recall_radius_R`` (Hamming distance <= R),
    ``queries`` (averaged), ``database``, ``empty_queries`` (queries without a relevant item,
    excluded from the means unless empty_as_zero), ``precision_at`` / ``recall_at`` ({N: value}
    for the cut-offs, a cut-off beyond the database keyed by the database size, as the CLI
    labels it), plus ``bits``, ``radius``, ``map_at_k`` / ``zero_at_k`` and
    ``pr_curve``: {"radius", "precision", "recall"} arrays over radii 0..bits.
    Printed with 6 decimals (``%.6f``) or 4 they equal the CLI's figures digit for digit."""
    if bits is None:
        b = np.asarray(codes_q)
        if b.ndim != 2:
            raise ValueError(f"codes_q: must be 2-D (nq, bytes), got shape {b.shape}")
        bits = 8 * b.shape[1]
    bits = int(bits)
    q = A.codes(codes_q, bits, "codes_q")
    db = A.codes(codes_db, bits, "codes_db")
    nq, ndb = q.shape[0], db.shape[0]
    if nq == 0 or ndb == 0:
        raise ValueError("evaluate: needs at least one query and one database code")
    gt_out = ffi.new("l2h_groundtruth **")
    if labels_q is not None or labels_db is not None:
        if labels_q is None or labels_db is None or features_q is not None:
            raise ValueError("evaluate: give labels_q and labels_db, or features_q, "
                             "features_db and threshold")
        lq, ld = np.asarray(labels_q), np.asarray(labels_db)
        if lq.shape[:1] != (nq,) or ld.shape[:1] != (ndb,):
            raise ValueError(f"evaluate: {lq.shape[:1]} query labels for {nq} query codes, "
                             f"{ld.shape[:1]} database labels for {ndb} database codes")
        dq, dd = _label_dataset(lq, "labels_q"), _label_dataset(ld, "labels_db")
        check(lib.l2h_groundtruth_from_labels(gt_out, dq, dd), "ground truth")
    else:
        if features_q is None or features_db is None or threshold is None:
            raise ValueError("evaluate: give labels_q and labels_db, or features_q, "
                             "features_db and threshold")
        fq = A.features(features_q, "features_q")
        fd = A.features(features_db, "features_db", fq.shape[1])
        if fq.shape[0] != nq or fd.shape[0] != ndb:
            raise ValueError("evaluate: features and codes have different row counts")
        dq, dd = A.dataset(fq, None, "features_q"), A.dataset(fd, None, "features_db")
        check(lib.l2h_groundtruth_euclidean(gt_out, dq, dd, float(threshold)), "ground truth")
    gt = ffi.gc(gt_out[0], lib.l2h_groundtruth_free)

    radius = int(radius)
    if radius < 0:
        raise ValueError("radius must be >= 0")
    cut = np.ascontiguousarray(np.asarray(cutoffs, dtype=np.uint64).reshape(-1))
    if cut.size and cut.min() < 1:
        raise ValueError("cutoffs must be >= 1")
    p_at = np.zeros(cut.size, np.float64)
    r_at = np.zeros(cut.size, np.float64)
    pr_p = np.zeros(bits + 1, np.float64)
    pr_r = np.zeros(bits + 1, np.float64)
    p = ffi.new("l2h_eval_params *", lib.l2h_eval_default_params())
    p.radius = radius
    p.map_at_k = int(map_at)
    p.empty_as_zero = bool(empty_as_zero)
    p.n_cutoffs = cut.size
    keep = [ffi.from_buffer("size_t[]", cut), ffi.from_buffer("double[]", p_at),
            ffi.from_buffer("double[]", r_at), ffi.from_buffer("double[]", pr_p),
            ffi.from_buffer("double[]", pr_r)]
    if cut.size:
        p.cutoffs, p.precision_at, p.recall_at = keep[0], keep[1], keep[2]
    p.pr_precision, p.pr_recall = keep[3], keep[4]
    res = ffi.new("l2h_eval_result *")
    check(lib.l2h_eval_codes(A.ptr("uint8_t *", q), nq, A.ptr("uint8_t *", db), ndb, bits, gt,
                             p, res), "evaluate")
    out = {"bits": bits, "queries": res.n_queries, "database": ndb, "map": res.map,
           "map_tie_aware": res.map_tie}
    if map_at:
        # as `l2h eval`: a k beyond the database is computed, and labelled, at the database size
        out[f"map_at_{min(int(map_at), ndb)}"] = res.map_at_k
        out["map_at_k"] = res.map_at_k
        out["zero_at_k"] = out["n_zero_at_k"] = res.n_zero_at_k
    out.update({
        "radius": radius,
        f"precision_radius_{radius}": res.prec_radius,
        f"recall_radius_{radius}": res.recall_radius,
        "empty_queries": res.n_empty,
        # cut-offs labelled by what was used, as `l2h eval`: N > n_db is P@n_db (one entry)
        "precision_at": {min(int(c), ndb): float(v) for c, v in zip(cut, p_at)},
        "recall_at": {min(int(c), ndb): float(v) for c, v in zip(cut, r_at)},
        "pr_curve": {"radius": np.arange(bits + 1), "precision": pr_p, "recall": pr_r},
    })
    return out
