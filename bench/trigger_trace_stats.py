#!/usr/bin/env python3
"""trigger_trace_stats.py -- the noise of the trigger's gain, from a per-check trace (issue 16).

The trace comes from a build with bench/trigger_trace.patch applied (git apply; one stderr line
per check: reservoir size n, Q_R(current) qc, Q_R(snapshot) qs, gain d, paired SE sep, the SEs of
each Q_R sec / ses, the decision). Over the checks with a full reservoir it prints: the
check-to-check scatter of Q_R(current) (sqrt of half the mean squared successive difference,
insensitive to a slow trend), the scatter and mean of the gain, the mean paired SE and the mean
unpaired SE sqrt(sec^2 + ses^2), the fires of the traced policy, and how many of the same checks
the unpaired rule (d > z * unpaired SE) would have passed (an indication only: its snapshot
would differ after a different decision).

usage: trigger_trace_stats.py [--z 1.645] TRACE.err [TRACE.err ...]
"""
import re
import statistics as st
import sys


def main(argv):
    z = 1.6448536269514722
    if len(argv) >= 2 and argv[0] == "--z":
        z = float(argv[1])
        argv = argv[2:]
    if not argv:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    for path in argv:
        rows = []
        with open(path) as f:
            for line in f:
                if line.startswith("TRACE"):
                    rows.append({k: float(v) for k, v in re.findall(r"(\w+)=([-\d.e]+)", line)})
        full = max((r["n"] for r in rows), default=0)
        rows = [r for r in rows if r["n"] == full]
        if len(rows) < 3:
            print("%s: fewer than 3 checks with a full reservoir" % path)
            continue
        qc = [r["qc"] for r in rows]
        dd = [r["d"] for r in rows]
        diffs = [b - a for a, b in zip(qc, qc[1:])]
        mssd = (sum(x * x for x in diffs) / len(diffs) / 2) ** 0.5
        unp = [(r["sec"] ** 2 + r["ses"] ** 2) ** 0.5 for r in rows]
        print("%s: checks %d (R = %d) | scatter of Q_R(cur) %.5f | gain mean %.5f sd %.5f | "
              "paired SE %.5f | unpaired SE %.5f | fires %d | unpaired rule would pass %d" % (
                  path, len(rows), full, mssd, st.mean(dd), st.stdev(dd),
                  st.mean(r["sep"] for r in rows), st.mean(unp),
                  sum(int(r["fire"]) for r in rows),
                  sum(r["d"] > z * u for r, u in zip(rows, unp))))


if __name__ == "__main__":
    main(sys.argv[1:])
