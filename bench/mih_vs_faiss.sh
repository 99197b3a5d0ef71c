#!/usr/bin/env bash
# mih_vs_faiss.sh -- multi-index hashing (ours) vs our flat scan vs FAISS IndexBinaryMultiHash and
# IndexBinaryFlat (Debian python3-faiss) on identical bytes: 1M codes of 64 and 128 bits, real
# (ITQ codes of our CIFAR-10 CNN features, replicated with 0-2 bit flips) and uniform random;
# 1,000 queries = database codes with 0-3 flips; radius 0-4 and k = 1, 10, 100; one thread.
# Equal nres_total / dist_checksum between the two libraries = equal result sets.
#
# usage: bench/mih_vs_faiss.sh BUILD_DIR OUT_DIR [N=1000000] [REPEAT=3]
#   BUILD_DIR holds l2h and bench/bench_mih (cmake -DL2H_BUILD_BENCH=ON); OUT_DIR gets the
#   dumped codes, one .jsonl per configuration and table.md.
set -euo pipefail
B=${1:?usage: $0 BUILD_DIR OUT_DIR [N] [REPEAT]}
O=${2:?usage: $0 BUILD_DIR OUT_DIR [N] [REPEAT]}
N=${3:-1000000}
REPEAT=${4:-3}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$O"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
for bits in 64 128; do
  if [ ! -s "$O/itq$bits.npy" ]; then
    "$B/l2h" train --method itq --bits $bits --data cifar10-cnn --split none -o "$O/itq$bits.st" >&2
    "$B/l2h" encode --model "$O/itq$bits.st" --data cifar10-cnn -o "$O/itq$bits.npy" >&2
  fi
done
for src in itq random; do
  for bits in 64 128; do
    name=${src}${bits}
    echo "mih_vs_faiss: $name" >&2
    if [ $src = itq ]; then
      args=(--npy "$O/itq$bits.npy" --replicate "$N" --flip 2)
    else
      args=(--random "$N" --bits $bits)
    fi
    "$B/bench/bench_mih" "${args[@]}" --nq 1000 --qflip 3 --radius 0,1,2,3,4 --k 1,10,100 \
      --repeat "$REPEAT" --dump "$O/$name" > "$O/$name.l2h.jsonl"
    /usr/bin/python3 "$here/faiss_mih.py" "$O/$name" --bits $bits --repeat "$REPEAT" \
      > "$O/$name.faiss.jsonl"
    rm -f "$O/$name.db.u8" "$O/$name.q.u8"
  done
done
/usr/bin/python3 - "$O" > "$O/table.md" <<'PY'
import json, sys, os
o = sys.argv[1]
print("| codes (1M) | query | l2h MIH q/s | l2h flat q/s | FAISS MultiHash q/s | FAISS flat q/s |"
      " MIH / FAISS MultiHash | same results |")
print("|---|---|---:|---:|---:|---:|---:|---|")
for name in ["itq64", "itq128", "random64", "random128"]:
    ours = [json.loads(l) for l in open(os.path.join(o, name + ".l2h.jsonl"))]
    fa = [json.loads(l) for l in open(os.path.join(o, name + ".faiss.jsonl"))]
    build = ours[0]
    for r in ours[1:]:
        key = "radius" if r["what"] == "range" else "k"
        q = ("r = %d" if key == "radius" else "k = %d") % r[key]
        f = {x["index"]: x for x in fa if x["what"] == r["what"] and x.get(key) == r[key]}
        ck = "nres_total" if key == "radius" else "dist_checksum"
        mh, fl = f["multihash"], f["flat"]
        same = "same" if r[ck] == fl[ck] and r["identical"] else "DIFFER"
        fsame = "same" if mh[ck] == fl[ck] and not mh.get("missing") else "differ (approximate k-NN)"
        print("| %s (%d tables) | %s | %.0f | %.0f | %.0f | %.0f | %.1fx | ours: %s; FAISS MultiHash: %s |"
              % (name, build["tables"], q, r["mih_qps"], r["flat_qps"], mh["qps"], fl["qps"],
                 r["mih_qps"] / mh["qps"], same, fsame))
PY
cat "$O/table.md"
