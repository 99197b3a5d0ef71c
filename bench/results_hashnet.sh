#!/bin/sh
# Regenerates the HashNet figures of docs/results.md: split-1 style retrieval at 16/32/48/64 bits
# for HashNet, HashNet-W, HashNet-C, MIHash, ITQ and LSH on the CIFAR-10 CNN features (linear),
# the multi-label scene set (linear, split 2) and a deliberately more imbalanced CIFAR-10 variant
# (40 fine classes, bench/hashnet_fine_labels.py); Fashion-MNIST pixels (MLP; ITQ, LSH) and raw
# images (CNN) at FM_BITS; the J(g) / L(h) curves and the |output| histograms
# (docs/img/hashnet_*.png). Settings were chosen on the validation part of the training rows
# (--val-fraction 0.1), never on the queries (the Fashion-MNIST ones at 32 bits, reused unchanged
# at the other lengths).
# usage: bench/results_hashnet.sh BUILD_DIR OUT_DIR [DATA_DIR [PART]]
#   PART = all (default): everything; fmnist-mlp: only the Fashion-MNIST MLP / ITQ / LSH block;
#   fmnist-cnn: only the Fashion-MNIST CNN block (HashNet variants and MIHash with the MIHash CNN
#   settings of bench/results_mihash.sh). FM_BITS (environment, default "16 32 48 64")
#   are the code lengths of the Fashion-MNIST blocks.
# Times on 2 shared cores, Release build: linear blocks and figures about 15 minutes; Fashion-MNIST
# MLP block at 4 lengths about 13 minutes; CNN block about 7-10 minutes per length.
set -eu
L=$1/l2h
O=${2:-results_hashnet}
DATA=${3:-${L2H_SHARED_DATA:-../shared/data}}
PART=${4:-all}
FM_BITS=${FM_BITS:-16 32 48 64}
mkdir -p "$O"
R="$O/results.txt"
: > "$R"
HN="--method hashnet --epochs 50 --beta-stages 1,2,4,8,16,32 --val-fraction 0.1 --val-every 10"
MI="--method mihash --epochs 30 --val-fraction 0.1 --val-every 10"
if [ "$PART" = all ]; then
/usr/bin/python3 "$(dirname "$0")/hashnet_fine_labels.py" "$DATA/cifar10" 4 "$O/fine4.u8" >> "$O/fine4.txt"
fi
FINE="--data $DATA/cifar10/cifar10_mobilenetv1_1024.u8 --format u8 --dim 1024 --labels $O/fine4.u8 --split random --n-query 1000 --n-train 5000"
run() { # tag bits data-options train-options...
  tag=$1; b=$2; d=$3; shift 3
  f="$O/$(echo "$tag" | tr ' ' '_')_$b"
  "$L" train --bits "$b" $d "$@" -o "$f.st" --log "$f.csv" >/dev/null 2>&1
  printf '%s %s ' "$tag" "$b" >> "$R"
  "$L" eval --model "$f.st" $d --json 2>/dev/null >> "$R"
}
base() { # tag bits data-options method
  f="$O/$(echo "$1" | tr ' ' '_')_$2"
  "$L" train --bits "$2" $3 --method "$4" -o "$f.st" >/dev/null 2>&1
  printf '%s %s ' "$1" "$2" >> "$R"
  "$L" eval --model "$f.st" $3 --json 2>/dev/null >> "$R"
}
[ "$PART" = all ] && LIN_SETS="c10 scene fine" || LIN_SETS=""
for ds in $LIN_SETS; do
  case $ds in
    c10) D="--data cifar10-cnn" ;;
    scene) D="--data scene --split 2" ;;
    fine) D=$FINE ;;
  esac
  for b in 16 32 48 64; do
    run "$ds hashnet" $b "$D" $HN --hist "$O/${ds}_hashnet_hist_$b.csv"
    run "$ds hashnet-w" $b "$D" $HN --weighting none
    run "$ds hashnet-c" $b "$D" $HN --no-continuation --hist "$O/${ds}_hashnet-c_hist_$b.csv"
    run "$ds mihash" $b "$D" $MI
    base "$ds itq" $b "$D" itq
    base "$ds lsh" $b "$D" lsh
  done
done
FM="--model mlp --epochs 30"
if [ "$PART" = all ] || [ "$PART" = fmnist-mlp ]; then
for b in $FM_BITS; do
  run "fmnist-mlp hashnet" $b "" $HN $FM --hist "$O/fmnist-mlp_hashnet_hist_$b.csv"
  run "fmnist-mlp hashnet-w" $b "" $HN $FM --weighting none
  run "fmnist-mlp hashnet-c" $b "" $HN $FM --no-continuation --hist "$O/fmnist-mlp_hashnet-c_hist_$b.csv"
  base "fmnist itq" $b "" itq
  base "fmnist lsh" $b "" lsh
  run "fmnist-mlp mihash" $b "" --method mihash --model mlp --epochs 100 --lr-step 25 --val-fraction 0.1 --val-every 10
done
fi
# Fashion-MNIST CNN on the raw images (Adam as MIHash's CNN; hash layer at 1x: with Adam
# the 10x multiplier lost 0.04 validation mAP after 10 epochs, at 32 bits)
CNN="--model cnn --optimizer adam --lr 1e-3 --no-l2-normalize --epochs 30 --last-lr-mult 1"
if [ "$PART" = all ] || [ "$PART" = fmnist-cnn ]; then
for b in $FM_BITS; do
  run "fmnist-cnn hashnet" $b "" $HN $CNN
  run "fmnist-cnn hashnet-w" $b "" $HN $CNN --weighting none
  run "fmnist-cnn hashnet-c" $b "" $HN $CNN --no-continuation
  run "fmnist-cnn mihash" $b "" --method mihash --model cnn --optimizer adam --lr 1e-3 --epochs 30 \
    --no-l2-normalize --lr-step 10 --val-fraction 0.1 --val-every 5
done
fi
[ "$PART" = all ] || { /usr/bin/python3 "$(dirname "$0")/hashnet_table.py" "$R" > "$O/tables.md"; echo "done: $R, $O/tables.md"; exit 0; }

# Figures 6 and 7 of the seed on CIFAR-10 CNN features, 32 bits
gnuplot <<GP
set terminal pngcairo size 900,520 noenhanced font ',10'
set output '$O/hashnet_curves.png'
set datafile separator ','
set grid
set key top right
set title 'CIFAR-10 CNN features, linear, 32 bits: loss per epoch on tanh(beta z) (J) and on sign codes (L)'
set xlabel 'epoch'
set ylabel 'loss'
plot '$O/c10_hashnet_32.csv' every ::1 using 1:2 with lines lw 2 lc 1 title 'HashNet J(g)', \
     '' every ::1 using 1:7 with lines lw 2 dt 2 lc 1 title 'HashNet L(h)', \
     '$O/c10_hashnet-c_32.csv' every ::1 using 1:2 with lines lw 2 lc 2 title 'HashNet-C J(g)', \
     '' every ::1 using 1:7 with lines lw 2 dt 2 lc 2 title 'HashNet-C L(h)'
set output '$O/hashnet_hist.png'
set title 'CIFAR-10 CNN features, 32 bits: |tanh(beta z)| of the training outputs (sqrt of the fraction, as the seed)'
set xlabel '|output| before binarisation'
set ylabel 'sqrt(fraction)'
set key top left
set style fill solid 0.5
set xrange [0:1]
set boxwidth 0.022
plot '$O/c10_hashnet_hist_32.csv' every ::1 using ((\$1+\$2)/2-0.012):(sqrt(\$3)) with boxes lc 1 title 'HashNet (beta = 32)', \
     '$O/c10_hashnet-c_hist_32.csv' every ::1 using ((\$1+\$2)/2+0.012):(sqrt(\$3)) with boxes lc 2 title 'HashNet-C (beta = 1)'
GP
/usr/bin/python3 "$(dirname "$0")/hashnet_table.py" "$R" > "$O/tables.md"
echo "done: $R, $O/tables.md"
