#!/bin/sh
# The front door: `l2h demo` on Fashion-MNIST (installed by the quick start) at 16 bits must run,
# print a row per method, and give mAP values in the range an independent implementation of the
# same protocol gives (ITQ about 0.45, LSH about 0.3 at 16-64 bits on raw pixels; MIHash's linear layer about 0.72
# at 32 bits after the demo's 10 epochs).
. "$(dirname "$0")/lib/common.sh"
if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] && [ -z "${L2H_FASHION_MNIST_DIR:-}" ]; then
  skip "dataset-fashion-mnist not installed"
fi
out=$("$L2H" demo --bits 32 --json) || { echo "demo failed"; echo "0 passed, 1 failed"; exit 1; }
echo "$out"
pass=0; fail=0
check() { if awk -v m="$2" -v lo="$3" -v hi="$4" 'BEGIN { exit !(m >= lo && m <= hi) }'; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $1 mAP $2 not in [$3, $4]"; fi; }
lsh=$(echo "$out" | grep '"method": "lsh"' | sed 's/.*"map": \([0-9.]*\).*/\1/')
itq=$(echo "$out" | grep '"method": "itq"' | sed 's/.*"map": \([0-9.]*\).*/\1/')
check lsh "${lsh:-0}" 0.20 0.50
check itq "${itq:-0}" 0.38 0.60
mih=$(echo "$out" | grep '"method": "mihash"' | sed 's/.*"map": \([0-9.]*\).*/\1/')
check mihash "${mih:-0}" 0.65 0.85
finish
