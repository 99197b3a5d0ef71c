#!/usr/bin/python3
"""Search through the Python binding vs the C API, side by side on the same codes.

    /usr/bin/python3 bench/python_search.py [--bench-flat build/release/bench/bench_flat]
                                            [--n 1000000] [--nq 1000] [--k 10] [--repeat 5]

Codes (64 bits): "itq" = PCA-ITQ codes of all 70,000 Fashion-MNIST images (trained on 5,000
training images) replicated to --n rows, queries = the codes of the first --nq test images;
"random" = uniform random codes (seed 1234) and random queries. The C side is bench_flat
(public API: l2h_index_search, 1 thread, one warm-up, median of --repeat runs) on the same
bytes; the Python side is l2h.Index.search on the same bytes, same threads, warm-up and
median. The two alternate in --rounds rounds (C run, Python run, C run, ...); the figures are
the ratio of the medians over all timed runs of each side and, as a check on a loaded machine,
the ratio of the fastest runs. Both sides' distance checksums must agree.

Per-call overhead: one query, k=10, on a 1,000-code index: the median time of one
Index.search call from Python minus the median time of one l2h_index_search call in C
(bench_flat --nq 1), over --calls calls each, alternating 3 times (median of the 3).
Prints one JSON line per measurement and a summary table."""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "python"))
import l2h  # noqa: E402


def run_c(bench, db, q, bits, nq, k, repeat):
    r = subprocess.run([bench, "--db", db, "--queries", q, "--bits", str(bits), "--k", str(k),
                        "--nq", str(nq), "--threads", "1", "--repeat", str(repeat)],
                       capture_output=True, text=True, check=True)
    return json.loads(r.stdout)


def time_py(ix, q, k, repeat):
    ix.search(q, k)  # warm-up, as bench_flat
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        D, I = ix.search(q, k)
        times.append(time.perf_counter() - t)
    return times, int(D.astype(np.int64).sum())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench-flat", default=os.path.join(os.path.dirname(HERE), "build",
                                                         "release", "bench", "bench_flat"))
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--nq", type=int, default=1000)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--calls", type=int, default=2001)
    a = ap.parse_args()
    l2h.set_threads(1)
    bits = 64

    x, y, n_train = l2h.load_dataset("fashion-mnist")
    tr = np.arange(0, n_train, n_train // 5000)[:5000]
    itq = l2h.train(x[tr], method="itq", bits=bits).encode(x)
    rng = np.random.default_rng(1234)
    sets = {
        "itq": (np.resize(itq, (a.n, 8)), itq[n_train:n_train + a.nq]),
        "random": (rng.integers(0, 256, (a.n, 8), dtype=np.uint8),
                   rng.integers(0, 256, (a.nq, 8), dtype=np.uint8)),
    }
    summary = []
    with tempfile.TemporaryDirectory(prefix="l2h-pybench-") as tmp:
        for name, (db, q) in sets.items():
            fdb, fq = os.path.join(tmp, f"{name}.db"), os.path.join(tmp, f"{name}.q")
            db.tofile(fdb)
            q.tofile(fq)
            ix = l2h.Index(bits)
            ix.add(db)
            c_t, p_t, foreign = [], [], []
            for rnd in range(a.rounds):
                c = run_c(a.bench_flat, fdb, fq, bits, a.nq, a.k, a.repeat)
                p, checksum = time_py(ix, q, a.k, a.repeat)
                if checksum != c["dist_checksum"]:
                    raise SystemExit(f"{name}: distance checksums differ: python {checksum}, "
                                     f"C {c['dist_checksum']}")
                c_t += c["times_s"]
                p_t += p
                foreign.append(c["foreign_cpu_frac"])
                print(json.dumps({"codes": name, "round": rnd, "c_times_s": c["times_s"],
                                  "py_times_s": [round(t, 6) for t in p],
                                  "kernel": c["kernel"],
                                  "foreign_cpu_frac": c["foreign_cpu_frac"]}), flush=True)
            summary.append((name, a.nq / statistics.median(c_t), a.nq / statistics.median(p_t),
                            a.nq / min(c_t), a.nq / min(p_t), statistics.median(foreign)))

        # per-call overhead of a single small query
        small = sets["random"][0][:1000]
        q1 = sets["random"][1][:1]
        fdb, fq = os.path.join(tmp, "small.db"), os.path.join(tmp, "one.q")
        small.tofile(fdb)
        q1.tofile(fq)
        ix = l2h.Index(bits)
        ix.add(small)
        c1s, p1s = [], []
        for _ in range(3):
            c1s.append(run_c(a.bench_flat, fdb, fq, bits, 1, 10, a.calls)["time_s"])
            per = []
            ix.search(q1, 10)
            for _ in range(a.calls):
                t = time.perf_counter()
                ix.search(q1, 10)
                per.append(time.perf_counter() - t)
            p1s.append(statistics.median(per))
        c1, p1 = statistics.median(c1s), statistics.median(p1s)
    print(f"\nload: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} (1, 5 min); "
          f"kernel {l2h.kernel()}; 1 thread; {a.n:,} x {bits}-bit codes, {a.nq} queries, "
          f"k={a.k}; {a.rounds} alternating rounds of {a.repeat} timed runs per side")
    print(f"{'codes':8} {'C q/s':>9} {'Py q/s':>9} {'Py/C':>7}   {'C best':>9} {'Py best':>9} "
          f"{'Py/C':>7}  foreign CPU")
    for name, c_qps, p_qps, c_best, p_best, fg in summary:
        print(f"{name:8} {c_qps:9.1f} {p_qps:9.1f} {100 * p_qps / c_qps:6.1f}%   {c_best:9.1f} "
              f"{p_best:9.1f} {100 * p_best / c_best:6.1f}%  {fg:.2f}")
    print(f"single query, k=10, 1,000 codes: C {c1 * 1e6:.2f} us/call, Python "
          f"{p1 * 1e6:.2f} us/call, overhead {(p1 - c1) * 1e6:.2f} us/call "
          f"(median of {a.calls} calls, median of 3 alternations)")


if __name__ == "__main__":
    main()
