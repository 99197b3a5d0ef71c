#!/bin/sh
# Issue 16, docs/mihash.md §12.1: is MIHash's change with the pixel scale (0-255 vs 0-1) a
# preprocessing bug or rounding sensitivity? MIHash linear, 32 bits, split 1, the settings of
# docs/results.md, on: the named dataset; the same floats from .npy; raw 0-255 pixels; pixel/255
# with half the pixels moved by one ulp; the named dataset with 2 threads.
#   bench/results_pixel_scale.sh BUILD_DIR OUT [FASHION_MNIST_DIR]      (~5 min on an idle core)
set -eu
L=$1/l2h
O=$2
D=${3:-${L2H_FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}}
mkdir -p "$O"
/usr/bin/python3 - "$O" "$D" <<'PY'
import gzip, sys
import numpy as np
o, d = sys.argv[1], sys.argv[2]
def rd(f, off):
    with gzip.open(f"{d}/{f}") as g:
        return np.frombuffer(g.read(), np.uint8, offset=off)
x = np.concatenate([rd("train-images-idx3-ubyte.gz", 16), rd("t10k-images-idx3-ubyte.gz", 16)]).reshape(-1, 784).astype(np.float32)
y = np.concatenate([rd("train-labels-idx1-ubyte.gz", 8), rd("t10k-labels-idx1-ubyte.gz", 8)]).astype(np.int32)
np.save(f"{o}/labels.npy", y)
np.save(f"{o}/raw255.npy", x)
v = x / np.float32(255)
np.save(f"{o}/div255.npy", v)
m = np.random.default_rng(0).random(v.shape) < 0.5
np.save(f"{o}/ulp.npy", np.where(m, np.nextafter(v, np.float32(2)), v).astype(np.float32))
PY
run() { # name threads data-options
  n=$1; t=$2; shift 2
  OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t "$L" train --method mihash --model linear --bits 32 \
    --epochs 30 --val-fraction 0.1 --val-every 1 "$@" -o "$O/$n.st" --log "$O/$n.csv" >/dev/null 2>&1
  echo "$n epoch1_val=$(sed -n 2p "$O/$n.csv" | cut -d, -f3) $(OMP_NUM_THREADS=1 "$L" eval --model "$O/$n.st" "$@" --json 2>/dev/null)"
}
run named 1
run npy_div255 1 --data "$O/div255.npy" --labels "$O/labels.npy"
run raw255 1 --data "$O/raw255.npy" --labels "$O/labels.npy"
run ulp 1 --data "$O/ulp.npy" --labels "$O/labels.npy"
run named_2threads 2
