#!/usr/bin/env python3
"""Markdown table of bench/mih_learned.sh's runs: q/s of the old and new flat scan and MIH and of
FAISS (flat, MultiHash), the ratios the issue asks for, and whether every answer agrees. FAISS
configurations that did not finish (a run stopped at its time bound) show as "-"."""
import json
import os
import sys

o = sys.argv[1]
print("| codes (1M, distinct) | query | flat old | flat new | MIH old | MIH new | FAISS flat |"
      " FAISS MultiHash | MIH new / flat old | MIH new / flat new | same answers |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")


def rows(path):
    if not os.path.exists(path):
        return []
    return [json.loads(l) for l in open(path) if l.strip().endswith("}")]


for name in ["fm-mihash", "fm-hashnet", "fm-jmlh", "fm-itq", "c10-itq", "random"]:
    new, old, fa = (rows(os.path.join(o, name + s)) for s in (".new.jsonl", ".old.jsonl",
                                                               ".faiss.jsonl"))
    if not new or not old:
        continue
    build = new[0]
    for r in new[1:]:
        key = "radius" if r["what"] == "range" else "k"
        ck = "nres_total" if key == "radius" else "dist_checksum"
        ro = next((x for x in old[1:] if x["what"] == r["what"] and x.get(key) == r[key]), None)
        if ro is None:
            continue
        f = {x["index"]: x for x in fa if x["what"] == r["what"] and x.get(key) == r[key]}
        same = r["identical"] and ro["identical"] and r[ck] == ro[ck]
        fl = f.get("flat")
        if fl is not None:
            same = same and r[ck] == fl[ck]
        mh = f.get("multihash")
        mh_s = "-"
        if mh is not None:
            exact = mh[ck] == r[ck] and not mh.get("missing")
            mh_s = "%.0f%s" % (mh["qps"], "" if exact else " (approx.)")
        q = ("r = %d" if key == "radius" else "k = %d") % r[key]
        print("| %s (%s) | %s | %.0f | %.0f | %.0f | %.0f | %s | %s | %.1fx | %.2fx | %s |"
              % (name, "{:,}".format(build.get("distinct", 0)), q, ro["flat_qps"], r["flat_qps"],
                 ro["mih_qps"], r["mih_qps"], "%.0f" % fl["qps"] if fl else "-", mh_s,
                 r["mih_qps"] / ro["flat_qps"], r["mih_qps"] / r["flat_qps"],
                 ("yes" if same else "NO") + ("" if fl else " (ours)")))
