#!/usr/bin/env bash
# mih_learned.sh -- issue 15's table: search over learned (clustered) codes, before and after the
# distinct-code store and the per-query cost model, against FAISS on identical bytes.
#
# For each code set (64-bit codes of Fashion-MNIST's split-1 database from MIHash, HashNet, JMLH
# and ITQ, ITQ codes of the CIFAR-10 CNN features, uniform random codes), replicated to N codes
# with 0-2 random bit flips per copy (bench_mih --replicate N --flip 2), NQ queries = database
# codes with 0-3 flips, radius 0-4 and k = 1, 10, 100, one thread:
#   new:   this build's bench_mih (flat and MIH, each configuration timed flat then MIH)
#   old:   OLD_BENCH, bench_mih built from the commit before (same bytes, read with --db)
#   faiss: bench/faiss_mih.py (Debian python3-faiss: IndexBinaryFlat, IndexBinaryMultiHash)
# Answers must agree: our four (old/new x flat/MIH) element for element (bench_mih's "identical")
# and through nres_total / dist_checksum with FAISS's flat index.
#
# usage: bench/mih_learned.sh BUILD_DIR OLD_BENCH CODES_DIR OUT_DIR [N=1000000] [NQ=1000] [REPEAT=3]
#   CODES_DIR holds fm-mihash.npy fm-hashnet.npy fm-jmlh.npy fm-itq.npy c10-itq.npy, made with
#   l2h train --data fashion-mnist --method M --bits 64 -o fm-M.st
#   l2h encode --model fm-M.st --data fashion-mnist --rows db -o fm-M.npy
#   (c10-itq: --data cifar10-cnn --method itq). OUT_DIR gets one .jsonl per run and table.md.
#   DATASETS="fm-mihash random" limits the code sets (several instances may share OUT_DIR);
#   NO_FAISS=1 skips FAISS (its figures do not change with our code: the bytes are the same) and
#   keeps the dumped bytes for a separate faiss_mih.py run.
set -euo pipefail
B=${1:?usage}; OLD=${2:?usage}; C=${3:?usage}; O=${4:?usage}
N=${5:-1000000}; NQ=${6:-1000}; REPEAT=${7:-3}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$O"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
uptime > "$O/uptime.txt"
common=(--nq "$NQ" --qflip 3 --radius 0,1,2,3,4 --k 1,10,100)
for name in ${DATASETS:-fm-mihash fm-hashnet fm-jmlh fm-itq c10-itq random}; do
  if [ -n "${NO_FAISS:-}" ]; then [ -s "$O/$name.old.jsonl" ] && continue
  else [ -s "$O/$name.faiss.jsonl" ] && continue; fi
  echo "mih_learned: $name ($(uptime))" >&2
  if [ $name = random ]; then src=(--random "$N" --bits 64); else src=(--npy "$C/$name.npy" --replicate "$N" --flip 2); fi
  nice "$B/bench/bench_mih" "${src[@]}" "${common[@]}" --repeat "$REPEAT" --dump "$O/$name" > "$O/$name.new.jsonl"
  nice "$OLD" --db "$O/$name.db.u8" --queries "$O/$name.q.u8" --bits 64 "${common[@]}" \
    --repeat "$REPEAT" > "$O/$name.old.jsonl"
  [ -n "${NO_FAISS:-}" ] && continue
  nice /usr/bin/python3 "$here/faiss_mih.py" "$O/$name" --bits 64 --repeat 1 > "$O/$name.faiss.jsonl"
  rm -f "$O/$name.db.u8" "$O/$name.q.u8"
  uptime >> "$O/uptime.txt"
done
/usr/bin/python3 "$here/mih_learned_table.py" "$O" > "$O/table.md"
cat "$O/table.md"
