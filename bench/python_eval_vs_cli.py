#!/usr/bin/python3
"""l2h.evaluate() against `l2h eval` on Fashion-MNIST, every printed figure side by side.

    /usr/bin/python3 bench/python_eval_vs_cli.py [--cli build/release/l2h] [--bits 32]

Trains MIHash (--bits, linear, the CLI's defaults: split 1, seed 1) with `l2h train`, then
evaluates it with `l2h eval --split 2` (queries = the 10,000 test images, database = the
60,000 training images) twice (--json: 6 decimals, text: 4 decimals) and with l2h.evaluate()
on the codes of the same rows from l2h.Model.load(...).encode(). Prints every metric from both
and exits 1 if any printed digit differs."""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "python"))
import l2h  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", default=os.path.join(os.path.dirname(HERE), "build", "release",
                                                  "l2h"))
    ap.add_argument("--bits", type=int, default=32)
    ap.add_argument("--map-at", type=int, default=1000)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="l2h-evalcmp-") as tmp:
        m = os.path.join(tmp, "m.st")
        subprocess.run([a.cli, "train", "--method", "mihash", "--bits", str(a.bits), "-o", m],
                       check=True, capture_output=True)
        ev = [a.cli, "eval", "-m", m, "--split", "2", "--map-at", str(a.map_at)]
        cj = json.loads(subprocess.run(ev + ["--json"], check=True, capture_output=True,
                                       text=True).stdout)
        text = subprocess.run(ev, check=True, capture_output=True, text=True).stdout
        model = l2h.Model.load(m)
    x, y, n_train = l2h.load_dataset("fashion-mnist")
    r = l2h.evaluate(model.encode(x[n_train:]), model.encode(x[:n_train]), y[n_train:],
                     y[:n_train], bits=a.bits, map_at=a.map_at)
    lines = {ln[:17].strip(): ln[17:].split()[0] for ln in text.splitlines()[2:]}
    rows = [("mAP", "map", "mAP"), ("mAP tie-aware", "map_tie_aware", "mAP tie-aware"),
            (f"mAP@{a.map_at}", f"map_at_{a.map_at}", f"mAP@{a.map_at}"),
            ("P@H<=2", "precision_radius_2", "P@H<=2"), ("R@H<=2", "recall_radius_2", "R@H<=2")]
    bad = 0
    print(f"{'metric':14} {'l2h eval --json':>16} {'evaluate() %.6f':>16} "
          f"{'l2h eval':>9} {'evaluate() %.4f':>16}")
    for label, key, tkey in rows:
        c6, p6 = f"{cj[key]:.6f}", f"{r[key]:.6f}"
        c4, p4 = lines[tkey], f"{r[key]:.4f}"
        bad += (c6 != p6) + (c4 != p4)
        print(f"{label:14} {c6:>16} {p6:>16} {c4:>9} {p4:>16}")
    for n, v in cj["precision_at"].items():
        c6, p6 = f"{v:.6f}", f"{r['precision_at'][int(n)]:.6f}"
        c4, p4 = lines[f"P@{n}"], f"{r['precision_at'][int(n)]:.4f}"
        bad += (c6 != p6) + (c4 != p4)
        print(f"{'P@' + n:14} {c6:>16} {p6:>16} {c4:>9} {p4:>16}")
    for key in ("queries", "database", "empty_queries"):
        bad += cj[key] != r[key]
        print(f"{key:14} {cj[key]:>16} {r[key]:>16}")
    print("identical to the last printed digit" if not bad else f"{bad} figures DIFFER")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
