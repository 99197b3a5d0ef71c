#!/bin/sh
# Regenerates every figure of docs/results.md (split 1: 1,000 queries, 5,000 training rows,
# the rest as database; hyper-parameters chosen on a 10% validation part of the training rows).
# usage: bench/results_mihash.sh BUILD_DIR OUT_DIR   (about 15 minutes on 2 cores)
set -eu
L=$1/l2h
O=${2:-results}
mkdir -p "$O"
ev() { # name model
  printf '%s ' "$1"; "$L" eval --model "$2" $3 --json 2>/dev/null
}
for b in 16 32 64; do
  "$L" train --method mihash --model linear --bits $b --epochs 30 --val-fraction 0.1 --val-every 5 \
    -o "$O/fm_lin$b.st" --log "$O/fm_lin$b.csv" 2>/dev/null >/dev/null
  ev "fmnist linear $b" "$O/fm_lin$b.st" ""
  "$L" train --data cifar10-cnn --method mihash --model linear --bits $b --epochs 30 --val-fraction 0.1 \
    --val-every 5 -o "$O/c10_lin$b.st" --log "$O/c10_lin$b.csv" 2>/dev/null >/dev/null
  ev "cifar10-cnn linear $b" "$O/c10_lin$b.st" "--data cifar10-cnn"
done
"$L" demo --methods lsh,itq --json 2>/dev/null | sed 's/^/fmnist /'
"$L" demo --data cifar10-cnn --methods lsh,itq --json 2>/dev/null | sed 's/^/cifar10-cnn /'
for b in 16 32 64; do
  "$L" train --method mihash --model mlp --bits $b --epochs 100 --lr-step 25 --val-fraction 0.1 \
    --val-every 10 -o "$O/fm_mlp$b.st" --log "$O/fm_mlp$b.csv" 2>/dev/null >/dev/null
  ev "fmnist mlp $b" "$O/fm_mlp$b.st" ""
done
for b in 16 32 64; do
  "$L" train --method mihash --model cnn --bits $b --optimizer adam --lr 1e-3 --epochs 30 --no-l2-normalize \
    --lr-step 10 --val-fraction 0.1 --val-every 5 -o "$O/fm_cnn$b.st" --log "$O/fm_cnn$b.csv" \
    2>/dev/null >/dev/null
  ev "fmnist cnn $b" "$O/fm_cnn$b.st" ""
done
