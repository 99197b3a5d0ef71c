#!/usr/bin/env bash
# trigger_study_full.sh -- the trigger study of issue 16 on the full protocol (20,000 stream
# items, U = 100 -> 200 checks, R = 1,000, 32 bits, 10 checkpoints) for one feature set, in
# stages ordered so that a run stopped by a deadline still leaves paired rows for the cases that
# matter most (OSH and online MIHash first, the first trial first). Every stage appends CSV rows
# of bench_trigger_study (same seed = same split and stream, so rows pair across stages).
#
#   usage: bench/trigger_study_full.sh BENCH_BINARY cifar10-cnn|cifar10-gist OUT.csv [extras]
#   e.g.   OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 nice -n 10 \
#            bench/trigger_study_full.sh build/release/bench/bench_trigger_study cifar10-cnn cnn.csv extras
#   then   bench/trigger_study_summary.py cnn.csv gist.csv
# Variants: fixed, θ = 0 (the paper's), trigger-se (paired SE, 0.95), trigger-unpaired (0.95);
# with "extras", first trial of OSH and MIHash only: θ = 0.002 / 0.005 and trigger-unpaired /
# trigger-se at R = 200 and 500.
set -euo pipefail
B=$1 D=$2 OUT=$3 EXTRAS=${4:-}
V="fixed=fixed:0:0.95:1000 unp95=trigger-unpaired:0:0.95:1000 se95=trigger-se:0:0.95:1000 t0=trigger:0:0.95:1000"
X="t0002=trigger:0.002:0.95:1000 t0005=trigger:0.005:0.95:1000 unp95r200=trigger-unpaired:0:0.95:200 unp95r500=trigger-unpaired:0:0.95:500 se95r200=trigger-se:0:0.95:200"
P="--data $D --items 20000 --interval 100 --checkpoints 10"
[ -s "$OUT" ] || "$B" $P --methods osh --trials 0 > "$OUT"   # header only
run() { "$B" $P --no-header "$@" >> "$OUT"; }
run --methods "osh mihash" --trials 1 --seed 12345 --variants "$V"
run --methods "adapthash sketchhash" --trials 1 --seed 12345 --variants "$V"
run --methods "osh mihash" --trials 2 --seed 12346 --variants "$V"
if [ -n "$EXTRAS" ]; then run --methods "osh mihash" --trials 1 --seed 12345 --variants "$X"; fi
run --methods "adapthash sketchhash" --trials 2 --seed 12346 --variants "$V"
run --methods okh --trials 3 --seed 12345 --variants "$V"
