#!/usr/bin/env python3
"""FAISS's binary indexes on the exact bytes bench_mih searched (bench_mih --dump PREFIX).

For each radius r (ours, inclusive: distance <= r; FAISS's range_search is strict, so FAISS gets
r + 1) it times IndexBinaryFlat.range_search and IndexBinaryMultiHash.range_search with an
exact configuration (nhash substrings of b bits and nflip such that r + 1 <= nhash * (nflip + 1),
the pigeonhole condition), and for each k IndexBinaryFlat.search and IndexBinaryMultiHash.search
(approximate in FAISS: a fixed probe set). One JSON line per configuration with q/s (median of
--repeat), build time, nres_total (range) or dist_checksum (k-NN), which bench_mih prints too:
equal numbers mean equal result sets.

usage: /usr/bin/python3 bench/faiss_mih.py PREFIX --bits 64 [--radius 0,1,2,3,4] [--k 1,10,100]
       [--repeat 3] [--threads 1] [--nhash 4]
"""
import argparse
import json
import statistics
import sys
import time

import numpy as np

try:
    import faiss
except ImportError:
    sys.exit("faiss_mih.py: cannot import faiss; use /usr/bin/python3 with python3-faiss")


def timed(fn, repeat):
    fn()  # warm-up
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), out


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("prefix")
    ap.add_argument("--bits", type=int, required=True)
    ap.add_argument("--radius", default="0,1,2,3,4")
    ap.add_argument("--k", default="1,10,100")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--nhash", type=int, default=0,
                    help="MultiHash substrings (0: bits / 16, i.e. 16-bit tables)")
    a = ap.parse_args()
    faiss.omp_set_num_threads(a.threads)
    nbytes = a.bits // 8
    db = np.fromfile(a.prefix + ".db.u8", dtype=np.uint8).reshape(-1, nbytes)
    xq = np.fromfile(a.prefix + ".q.u8", dtype=np.uint8).reshape(-1, nbytes)
    nq = xq.shape[0]
    nhash = a.nhash or a.bits // 16
    b = a.bits // nhash
    base = {"faiss": faiss.__version__, "n": int(db.shape[0]), "bits": a.bits, "nq": nq,
            "threads": a.threads}
    flat = faiss.IndexBinaryFlat(a.bits)
    t0 = time.perf_counter()
    flat.add(db)
    t_flat = time.perf_counter() - t0
    mh = {}
    for r in [int(x) for x in a.radius.split(",") if x]:
        t, (lims, _, _) = timed(lambda: flat.range_search(xq, r + 1), a.repeat)
        print(json.dumps({**base, "index": "flat", "what": "range", "radius": r,
                          "qps": nq / t, "nres_total": int(lims[-1]),
                          "build_s": t_flat}), flush=True)
        nflip = max(0, -(-(r + 1) // nhash) - 1)  # smallest nflip with r+1 <= nhash*(nflip+1)
        if nflip not in mh:
            idx = faiss.IndexBinaryMultiHash(a.bits, nhash, b)
            t0 = time.perf_counter()
            idx.add(db)
            mh[nflip] = (idx, time.perf_counter() - t0)
        idx, t_build = mh[nflip]
        idx.nflip = nflip
        t, (lims, _, _) = timed(lambda: idx.range_search(xq, r + 1), a.repeat)
        print(json.dumps({**base, "index": "multihash", "what": "range", "radius": r,
                          "nhash": nhash, "b": b, "nflip": nflip, "qps": nq / t,
                          "nres_total": int(lims[-1]), "build_s": t_build}), flush=True)
    for k in [int(x) for x in a.k.split(",") if x]:
        t, (dist, _) = timed(lambda: flat.search(xq, k), a.repeat)
        print(json.dumps({**base, "index": "flat", "what": "knn", "k": k, "qps": nq / t,
                          "dist_checksum": int(dist.astype(np.int64).sum())}), flush=True)
        idx, t_build = mh.get(1) or mh[min(mh)]
        idx.nflip = 1
        t, (dist, _) = timed(lambda: idx.search(xq, k), a.repeat)
        found = dist < 2**30
        print(json.dumps({**base, "index": "multihash", "what": "knn", "k": k, "nflip": 1,
                          "qps": nq / t, "missing": int((~found).sum()),
                          "dist_checksum": int(np.where(found, dist, 0).astype(np.int64).sum())}),
              flush=True)


if __name__ == "__main__":
    main()
