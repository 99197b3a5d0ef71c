#!/usr/bin/env bash
# mpi_scaling.sh -- sharded exact search with l2h-mpi: 1 rank vs 2 ranks (one thread each; shards
# by code hash, the default, and by row ranges) and, for reference, 1 rank with 2 threads, on 1M and 10M x 64-bit codes: ITQ codes of the CIFAR-10
# CNN features replicated with 0-2 bit flips (the codes users store) and uniform random codes;
# 1,000 queries = database rows with 0-3 flips; k = 10 and 100; flat scan and MIH. Every run's
# output is compared with the 1-rank output (identical answers), and the search rate is the median
# of REPEAT runs as l2h-mpi reports it (search only, after the shards are loaded).
#
# usage: bench/mpi_scaling.sh BUILD_DIR OUT_DIR [SIZES="1000000 10000000"] [REPEAT=3]
#   BUILD_DIR holds l2h and l2h-mpi (cmake -DL2H_MPI=ON); OUT_DIR gets the codes and table.md.
set -euo pipefail
B=${1:?usage: $0 BUILD_DIR OUT_DIR [SIZES] [REPEAT]}
O=${2:?usage: $0 BUILD_DIR OUT_DIR [SIZES] [REPEAT]}
SIZES=${3:-"1000000 10000000"}
REPEAT=${4:-3}
mkdir -p "$O"
export OPENBLAS_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
if [ ! -s "$O/itq64.npy" ]; then
  "$B/l2h" train --method itq --bits 64 --data cifar10-cnn --split none -o "$O/itq64.st" >&2
  "$B/l2h" encode --model "$O/itq64.st" --data cifar10-cnn -o "$O/itq64.npy" >&2
fi
/usr/bin/python3 - "$O" $SIZES <<'PY'
import numpy as np, sys, os
o, sizes = sys.argv[1], [int(s) for s in sys.argv[2:]]
r = np.random.default_rng(1)
base = np.load(f"{o}/itq64.npy")
def flips(a, m):
    a = a.copy()
    for _ in range(m):
        rows = r.random(len(a)) < 0.5
        bit = r.integers(0, 64, len(a))
        a[rows, bit[rows] // 8] ^= (1 << (bit[rows] % 8)).astype(np.uint8)
    return a
for n in sizes:
    for src in ("itq", "random"):
        p = f"{o}/{src}{n}.npy"
        if os.path.exists(p): continue
        db = base[r.integers(0, len(base), n)] if src == "itq" else r.integers(0, 256, (n, 8), dtype=np.uint8)
        db = flips(db, 2) if src == "itq" else db
        np.save(p, np.ascontiguousarray(db))
        np.save(f"{o}/{src}{n}.q.npy", np.ascontiguousarray(flips(db[r.integers(0, n, 1000)], 3)))
PY
rate() { # ranks threads args... -> median queries/s over REPEAT runs; output checked against ref
  local np=$1 th=$2; shift 2
  local rates=()
  for _ in $(seq "$REPEAT"); do
    OMP_NUM_THREADS=$th mpirun --oversubscribe --bind-to none -np "$np" "$B/l2h-mpi" search "$@" \
      >"$O/out.tsv" 2>"$O/err.txt"
    cmp -s "$O/out.tsv" "$O/ref.tsv" || { echo "mpi_scaling: ANSWER DIFFERS: $np ranks $*" >&2; exit 1; }
    rates+=("$(sed -n 's/.*(\([0-9]*\) queries\/s.*/\1/p' "$O/err.txt")")
  done
  printf '%s\n' "${rates[@]}" | sort -n | sed -n "$(( (REPEAT + 1) / 2 ))p"
}
{
  echo "| codes | n | kind | k | 1 rank x 1 thread q/s | 2 ranks by hash q/s | speed-up | 2 ranks by rows q/s | speed-up | 1 rank x 2 threads q/s | bytes per batch of 1000 (2 ranks) |"
  echo "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  for n in $SIZES; do
    for src in itq random; do
      for kind in flat mih; do
        for k in 10 100; do
          args=(--db "$O/$src$n.npy" --queries "$O/$src$n.q.npy" -k $k --kind $kind --batch 1000)
          OMP_NUM_THREADS=1 mpirun -np 1 "$B/l2h-mpi" search "${args[@]}" >"$O/ref.tsv" 2>/dev/null
          r1=$(rate 1 1 "${args[@]}"); r2=$(rate 2 1 "${args[@]}")
          r2r=$(rate 2 1 "${args[@]}" --shard rows); rt=$(rate 1 2 "${args[@]}")
          bytes=$(( 1000 * (8 + k * 16) ))
          echo "| $src | $n | $kind | $k | $r1 | $r2 | $(awk "BEGIN{printf \"%.2f\", $r2/$r1}") | $r2r | $(awk "BEGIN{printf \"%.2f\", $r2r/$r1}") | $rt | $bytes |"
        done
      done
    done
  done
} | tee "$O/table.md"
echo "load: $(uptime)" | tee -a "$O/table.md"
