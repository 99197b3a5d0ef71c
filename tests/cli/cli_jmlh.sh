#!/bin/sh
# CLI scenario: JMLH on the real multi-label `scene` data (shared/data/scene): train with each
# variant, encode with the saved model (the classifier stays in the file, encoding ignores it),
# info names the method and lists the classifier tensors; usage errors. $1 = the l2h binary.
. "$(dirname "$0")/lib/common.sh"
SCENE=${L2H_SHARED_DATA:-../shared/data}/scene/scene-train.arff

expect_code 2 "bad jmlh variant" "$L2H" train --method jmlh --jmlh-variant vae --output "$T/m"
if [ -f "$SCENE" ]; then
  D="--data $SCENE --n-labels 6 --split random --n-query 200 --n-train 600 --seed 3"
  expect_code 0 "train jmlh" "$L2H" train --method jmlh --bits 16 --epochs 5 $D --output "$T/j.safetensors"
  expect_code 0 "info jmlh model" "$L2H" info "$T/j.safetensors"
  grep -q "jmlh" "$T/out" && ok || bad "info names the method"
  grep -q "jmlh.classifier.weight" "$T/j.safetensors" && ok || bad "the classifier is in the file"
  expect_code 0 "encode with a jmlh model" "$L2H" encode --model "$T/j.safetensors" $D --rows query --output "$T/q.npy"
  expect_code 0 "eval jmlh" "$L2H" eval --model "$T/j.safetensors" $D --json
  grep -q '"map": 0\.[0-9]' "$T/out" && ok || bad "eval prints mAP"
  for v in cont qr nr; do
    expect_code 0 "train jmlh-$v" "$L2H" train --method jmlh --jmlh-variant $v --deterministic \
      --gamma 0.2 --bits 8 --epochs 2 $D --output "$T/$v.safetensors"
  done
  expect_code 2 "negative gamma" "$L2H" train --method jmlh --gamma -0.5 --bits 8 --epochs 1 $D \
    --output "$T/g.st"
  [ -s "$T/err" ] && ok || bad "negative gamma explains itself"
fi
finish
