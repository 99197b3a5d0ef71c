#!/bin/sh
# Dense multi-label Fashion-MNIST (issue 16; docs/results.md "Dense multi-label"): every method's
# mAP, graded NDCG@100, weighted mAP and distinct database codes beside ITQ and the exact
# random-ranking baseline, 32 bits, 3 seeds (split + initialisation).
#   bench/results_dense.sh BUILD_DIR OUT [FASHION_MNIST_DIR]
# Environment: SEEDS ("1 2 3"), NETS ("linear mlp"), METHODS ("mihash hashnet jmlh"), BITS (32),
# EXTRA_<method> extra `l2h train` flags per method (e.g. EXTRA_mihash="--balance 0.1").
set -eu
L=$1/l2h
O=$2
B=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
SEEDS=${SEEDS:-"1 2 3"}; NETS=${NETS:-"linear mlp"}; METHODS=${METHODS:-"mihash hashnet jmlh"}
BITS=${BITS:-32}
mkdir -p "$O"
[ -f "$O/dense/labels.npy" ] || $PY "$B/dense_multilabel.py" "$O/dense" 1 ${3:-} >&2
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} OPENBLAS_NUM_THREADS=1
epochs() { case "$1" in mihash) echo 30;; hashnet) echo 50;; jmlh) echo 50;; esac; }
flags() { # method net -> the method's settings (chosen on the validation rows, docs/results.md)
  case "$1" in
    hashnet) echo "--beta-stages 1,2,4,8,16,32";;
    jmlh) [ "$2" = linear ] && echo "--lr 3e-3" || echo "--lr 1e-3";;
    *) echo "";;
  esac
}
row() { # seed method net model
  S=$O/s$1; E="--data $S/evalset.npy --labels $S/evalset_labels.npy --split 2 --test-from 69000"
  J=$("$L" eval --model "$4" $E --ndcg-at 100 --json 2>/dev/null)
  "$L" encode --model "$4" --data "$S/evalset.npy" --output "$4.codes.npy" 2>/dev/null
  D=$($PY "$B/dense_random.py" --distinct "$4.codes.npy" 69000)
  echo "seed=$1 method=$2 net=$3 distinct_db_codes=$D $J"
}
for s in $SEEDS; do
  S=$O/s$s
  [ -f "$S/evalset.npy" ] || $PY "$B/dense_split.py" "$O/dense" "$S" "$s" 5000 >/dev/null
  T="--data $S/train.npy --labels $S/train_labels.npy --split none --seed $s"
  echo "seed=$s $($PY "$B/dense_random.py" "$S" 100)"
  [ -f "$S/itq.st" ] || "$L" train --method itq --bits "$BITS" $T -o "$S/itq.st" >/dev/null 2>&1
  row "$s" itq pca "$S/itq.st"
  for net in $NETS; do
    for m in $METHODS; do
      M=$S/${m}_$net.st
      eval "X=\${EXTRA_$m:-}"
      nice -n 10 "$L" train --method "$m" --model "$net" --bits "$BITS" --epochs "$(epochs "$m")" \
        --val-fraction 0.1 --val-every 10 $(flags "$m" "$net") $X $T -o "$M" --log "$M.csv" \
        >/dev/null 2>"$M.err" || { echo "seed=$s method=$m net=$net FAILED: $(tail -1 "$M.err")"; continue; }
      row "$s" "$m" "$net" "$M"
    done
  done
done
