#!/usr/bin/env bash
# mpi_train_scaling.sh -- data-parallel training with l2h-mpi train: 1 rank vs 2 ranks (one BLAS
# thread each) and, for reference, 1 rank with 2 BLAS/OpenMP threads, on the CIFAR-10 MobileNet
# features (1024-d; ROWS training rows drawn with a fixed seed from the official training part),
# MIHash and HashNet on an MLP 1024 -> 1024 -> 32, 2 epochs, batch 100 and 400. Reports the median
# over REPEAT runs of the time per step by phase (slowest rank), the step rate, and the bytes each
# rank receives per step as `l2h-mpi train --stats` prints them; checks every 2-rank model against
# the 1-rank model (largest parameter difference).
#
# usage: bench/mpi_train_scaling.sh BUILD_DIR OUT_DIR [ROWS=10000] [REPEAT=3]
#   the features come from ../shared/data/cifar10 next to the checkout, or $L2H_DATA_DIR/cifar10.
set -euo pipefail
B=${1:?usage: $0 BUILD_DIR OUT_DIR [ROWS] [REPEAT]}
O=${2:?usage: $0 BUILD_DIR OUT_DIR [ROWS] [REPEAT]}
ROWS=${3:-10000}
REPEAT=${4:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
D=${L2H_DATA_DIR:-$HERE/../../shared/data}/cifar10
mkdir -p "$O"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
/usr/bin/python3 - "$D" "$O" "$ROWS" <<'PY'
import numpy as np, sys
d, o, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
x = np.fromfile(f"{d}/cifar10_mobilenetv1_1024.u8", dtype=np.uint8).reshape(60000, 1024)
y = np.fromfile(f"{d}/cifar10_labels.u8", dtype=np.uint8)
pick = np.sort(np.random.default_rng(1).choice(50000, rows, replace=False))
np.save(f"{o}/x.npy", (x[pick].astype(np.float32) * np.float32(0.023528)))
np.save(f"{o}/y.npy", y[pick].astype(np.int32))
PY
kv() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; } # line key -> value
stats() { # ranks threads args... -> the --stats line of the run with the median ms_per_step
  local np=$1 th=$2; shift 2
  for _ in $(seq "$REPEAT"); do
    OMP_NUM_THREADS=$th OPENBLAS_NUM_THREADS=$th mpirun --oversubscribe --bind-to none -np "$np" \
      "$B/l2h-mpi" train --data "$O/x.npy" --labels "$O/y.npy" --stats "$@" 2>&1 |
      grep 'train stats' | sed 's/.*stats: //'
  done | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^ms_per_step=/) { split($i, a, "="); print a[2], $0 } }' |
    sort -n | sed -n "$(( (REPEAT + 1) / 2 ))p" | cut -d' ' -f2-
}
{
  echo "| method | batch | ranks x threads | ms per step | forward | all-gather | objective | backward | gradient sum | update | bytes received per rank per step | speed-up vs 1x1 | largest parameter difference vs 1x1 |"
  echo "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for method in mihash hashnet; do
    for batch in 100 400; do
      args=(--method "$method" --bits 32 --model mlp --hidden 1024 --epochs 2 --batch "$batch")
      base=""
      for cfg in "1 1" "2 1" "1 2"; do
        set -- $cfg
        line=$(stats "$1" "$2" "${args[@]}" -o "$O/m$1$2.st")
        ms=$(kv "$line" ms_per_step)
        [ -z "$base" ] && base=$ms
        diff=$(/usr/bin/python3 "$HERE/../tests/mpi/model_diff.py" "$O/m11.st" "$O/m$1$2.st" | cut -d' ' -f1)
        row="| $method | $batch | $1 x $2 | $ms"
        for key in forward allgather objective backward gradsum update bytes_in_per_step; do
          row="$row | $(kv "$line" $key)"
        done
        echo "$row | $(awk "BEGIN{printf \"%.2f\", $base/$ms}") | $diff |"
      done
    done
  done
} | tee "$O/table.md"
echo "load: $(uptime)" | tee -a "$O/table.md"
