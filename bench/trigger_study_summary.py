#!/usr/bin/env python3
"""trigger_study_summary.py -- markdown summary of bench_trigger_study CSV files (issue 16).

Per data set, method and variant: updates per trial, the smallest reduction vs the fixed
policy over the trials, mean final mAP / AUC, the worst final-mAP difference vs fixed in any
trial, and whether the issue's target holds (>= 10x fewer updates than fixed AND final mAP
within 0.01 of fixed, in every trial), and the mean CPU / wall seconds of a run with the
1-minute load average seen at its end (when the CSV has them). Trials are paired by seed.

usage: trigger_study_summary.py RUNS.csv [RUNS.csv ...] > summary.md
"""
import collections
import csv
import statistics as st
import sys


def main(paths):
    rows = []
    for p in paths:
        with open(p) as f:
            rows += [r for r in csv.DictReader(f) if r.get("data") and r["data"] != "data"]
    by = collections.defaultdict(dict)
    variants = []
    for r in rows:
        by[(r["data"], r["method"], r["variant"])][r["seed"]] = r
        if r["variant"] not in variants:
            variants.append(r["variant"])
    order = {m: i for i, m in enumerate("okh osh adapthash sketchhash mihash".split())}
    print("| data | method | variant | trials | updates per trial | reduction vs fixed (min) "
          "| mAP final | Δ final vs fixed (worst) | mAP AUC | Δ AUC vs fixed (mean) | target met "
          "| CPU s | wall s | load |")
    print("|" + "---|" * 14)
    for data in sorted({r["data"] for r in rows}):
        methods = sorted({r["method"] for r in rows if r["data"] == data},
                         key=lambda m: order.get(m, 9))
        for m in methods:
            fx = by.get((data, m, "fixed"), {})
            for v in variants:
                g = by.get((data, m, v))
                if not g:
                    continue
                seeds = sorted(g)
                ups = [int(g[s]["updates"]) for s in seeds]
                mf = st.mean(float(g[s]["map_final"]) for s in seeds)
                au = st.mean(float(g[s]["map_auc"]) for s in seeds)
                red = dfin = dauc = ok = ""
                paired = [s for s in seeds if s in fx]
                if paired and v != "fixed":
                    reds = [int(fx[s]["updates"]) / max(int(g[s]["updates"]), 1) for s in paired]
                    d = [float(g[s]["map_final"]) - float(fx[s]["map_final"]) for s in paired]
                    da = [float(g[s]["map_auc"]) - float(fx[s]["map_auc"]) for s in paired]
                    red = "%.1f×" % min(reds)
                    dfin = "%+.3f" % min(d)
                    dauc = "%+.3f" % st.mean(da)
                    ok = "yes" if min(reds) >= 10 and min(d) >= -0.01 else "no"
                def mean_of(key, fmt):
                    vals = [float(g[s][key]) for s in seeds if g[s].get(key) not in (None, "")]
                    return fmt % st.mean(vals) if vals else ""
                print("| %s | %s | %s | %d | %s | %s | %.3f | %s | %.3f | %s | %s | %s | %s | %s |"
                      % (data, m, v, len(seeds), " / ".join(map(str, ups)), red, mf, dfin, au,
                         dauc, ok, mean_of("cpu_seconds", "%.0f"), mean_of("wall_seconds", "%.0f"),
                         mean_of("load1", "%.0f")))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    main(sys.argv[1:])
