#!/bin/sh
# CLI scenario for HashNet on the multi-label `scene` data: training with the curve log (J(g)
# and L(h) columns), the |output| histogram, the HashNet-W / HashNet-C options and a β stage
# list, evaluation, and the usage errors of the HashNet options. $1 = path of the l2h binary.
. "$(dirname "$0")/lib/common.sh"
SCENE=${L2H_SHARED_DATA:-../shared/data}/scene/scene-train.arff
if [ ! -f "$SCENE" ]; then
  skip "$SCENE not found"
fi
D="--data $SCENE --n-labels 6 --split random --n-query 200 --n-train 600 --seed 3"
H="--method hashnet --bits 16 --epochs 6 --batch 50"
expect_code 2 "bad weighting" "$L2H" train $H $D --weighting sometimes --output "$T/m"
expect_code 2 "short beta schedule" "$L2H" train $H $D --beta-schedule 0.1,2 --output "$T/m"
expect_code 2 "schedule and stages" "$L2H" train $H $D --beta-schedule 0.1,2,3 --beta-stages 1,2 --output "$T/m"
expect_code 2 "hist-plot without hist" "$L2H" train $H $D --hist-plot "$T/h.png" --output "$T/m"
expect_code 2 "negative alpha" "$L2H" train $H $D --alpha -1 --output "$T/m"
grep -q "alpha" "$T/err" && ok || bad "error names alpha"

expect_code 0 "train hashnet" "$L2H" train $H $D --beta-stages 1,2,4 --log "$T/log.csv" \
  --hist "$T/hist.csv" --output "$T/hn.safetensors"
head -1 "$T/log.csv" | grep -q ',seconds,loss_aux$' && ok || bad "log header ends with loss_aux"
[ "$(wc -l < "$T/log.csv")" -eq 7 ] && ok || bad "one log row per epoch"
tail -1 "$T/log.csv" | awk -F, '{ exit !($7 != "" && $7 + 0 > 0 && $2 + 0 > 0) }' && ok || bad "J and L(h) logged"
[ "$(wc -l < "$T/hist.csv")" -eq 21 ] && ok || bad "20 histogram bins"
awk -F, 'NR > 1 { s += $3 } END { exit !(s > 0.999 && s < 1.001) }' "$T/hist.csv" && ok || bad "histogram sums to 1"
meta() { head -c 4000 "$1" | grep -ao "\"$2\": *\"[^\"]*\"" | sed 's/.*: *"\(.*\)"/\1/'; }
[ "$(meta "$T/hn.safetensors" hashnet_beta_final)" = 4 ] && ok || bad "model records the final beta"
[ "$(meta "$T/hn.safetensors" hashnet_beta_schedule)" = "stages:1,2,4" ] && ok || bad "stages recorded"
expect_code 0 "eval" "$L2H" eval --model "$T/hn.safetensors" $D --json
grep -q '"map": 0\.[0-9]' "$T/out" && ok || bad "eval prints mAP"
expect_code 0 "HashNet-W, HashNet-C" "$L2H" train $H $D --weighting none --no-continuation \
  --output "$T/hnwc.safetensors"
[ "$(meta "$T/hnwc.safetensors" hashnet_weighting)" = none ] && ok || bad "weighting none recorded"
[ "$(meta "$T/hnwc.safetensors" hashnet_beta_schedule)" = none ] && ok || bad "no continuation recorded"
[ "$(meta "$T/hnwc.safetensors" hashnet_beta_final)" = 1 ] && ok || bad "beta stays 1"
finish
