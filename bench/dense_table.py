#!/usr/bin/env python3
"""Table of bench/results_dense.sh output(s): mean ± sd over seeds of mAP, NDCG@100, weighted
mAP and distinct database codes per (method, network, label), beside the exact random-ranking
baseline. Usage: dense_table.py LABEL=OUT.txt [LABEL=OUT.txt ...]"""
import json
import re
import sys
from collections import defaultdict

import numpy as np

rows, rand = defaultdict(lambda: defaultdict(list)), defaultdict(list)
for arg in sys.argv[1:]:
    label, path = arg.rsplit("=", 1)
    for line in open(path):
        m = re.match(r"seed=(\d+) (method=(\S+) net=(\S+) distinct_db_codes=(\d+) )?(\{.*\})", line)
        if not m:
            continue
        j = json.loads(m.group(6))
        if m.group(2) is None:
            if label == sys.argv[1].rsplit("=", 1)[0]:
                for k in ("random_map", "random_ndcg_at_100", "random_map_weighted"):
                    rand[k].append(j[k])
            continue
        key = (m.group(3), m.group(4), "" if m.group(3) == "itq" else label)
        r = rows[key]
        if int(m.group(1)) in r["seeds"]:  # ITQ is retrained by every run: keep one per seed
            continue
        r["seeds"].append(int(m.group(1)))
        r["map"].append(j["map"])
        r["ndcg"].append(j["ndcg_at_100"])
        r["wmap"].append(j["map_weighted"])
        r["codes"].append(int(m.group(5)))


def ms(v, f="%.3f"):
    return (f % np.mean(v)) + " ± " + (f % np.std(v, ddof=1) if len(v) > 1 else "–")


print("| method | network | variant | seeds | mAP | NDCG@100 | weighted mAP | distinct db codes |")
print("|---|---|---|---|---:|---:|---:|---:|")
print(f"| random ranking | – | exact expectation | {len(rand['random_map'])} | "
      f"{ms(rand['random_map'])} | {ms(rand['random_ndcg_at_100'])} | "
      f"{ms(rand['random_map_weighted'])} | – |")
seen = set()
for key in sorted(rows, key=lambda k: (k[0] != "itq", k[0], k[1], k[2])):
    if key in seen:
        continue
    seen.add(key)
    r = rows[key]
    print(f"| {key[0]} | {key[1]} | {key[2]} | {','.join(map(str, sorted(r['seeds'])))} | "
          f"{ms(r['map'])} | {ms(r['ndcg'])} | {ms(r['wmap'])} | {ms(r['codes'], '%.0f')} |")
