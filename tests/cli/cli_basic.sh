#!/bin/sh
# CLI scenario: usage errors, help, and train -> encode -> search -> eval -> info on the real
# multi-label `scene` data (shared/data/scene), checking exit codes and outputs.
# $1 = path of the l2h binary.
. "$(dirname "$0")/lib/common.sh"
SCENE=${L2H_SHARED_DATA:-../shared/data}/scene/scene-train.arff

expect_code 2 "no arguments" "$L2H"
expect_code 0 "--help" "$L2H" --help
expect_code 0 "--version" "$L2H" --version
expect_code 2 "unknown command" "$L2H" frobnicate
for c in demo train encode search eval info mi; do
  expect_code 0 "$c --help" "$L2H" "$c" --help
  grep -q "usage: l2h $c" "$T/out" && ok || bad "$c --help prints usage"
done
expect_code 2 "train without method" "$L2H" train --output "$T/m.safetensors"
expect_code 2 "bad option value" "$L2H" train --method lsh --bits abc --output "$T/m"
expect_code 2 "unknown option" "$L2H" eval --model x --frobnicate
expect_code 2 "mi without model or codes" "$L2H" mi
expect_code 2 "mihash with a bad network" "$L2H" train --method mihash --model resnet --output "$T/m"
# the batch registry: methods and their options are checked before any data is read (the data
# file does not exist, so reaching the load would exit 1 naming it)
N="--data $T/nope.fvecs --split none --output $T/m"
expect_code 2 "unknown method" "$L2H" train --method bogus $N
grep -q "pcah" "$T/err" && ok || bad "unknown method: the message lists the registry"
expect_code 2 "option of another method" "$L2H" train --method mihash --gamma 0.2 $N
grep -q "of jmlh, not of mihash" "$T/err" && ok || bad "names the method that has --gamma"
expect_code 2 "prefixed option of another method" "$L2H" train --method itq --mihash-bins 4 $N
expect_code 2 "bins > bits" "$L2H" train --method mihash --bits 16 --bins 32 $N
expect_code 2 "bad jmlh variant" "$L2H" train --method jmlh --jmlh-variant bogus $N
expect_code 2 "flag given a value" "$L2H" train --method jmlh --jmlh-deterministic=1 $N
expect_code 2 "one option twice" "$L2H" train --method mihash --bins 4 --mihash-bins 4 $N
expect_code 2 "SGD option for lsh" "$L2H" train --method lsh --epochs 3 $N
expect_code 2 "demo with an unknown method" "$L2H" demo --methods lsh,bogus --data "$T/nope.fvecs"
if grep -q "nope.fvecs" "$T/err"; then bad "demo read data before checking methods"; else ok; fi
expect_code 0 "train --help" "$L2H" train --help
grep -q -- "--pcah-max-train" "$T/out" && grep -q -- "--mihash-bins" "$T/out" && ok ||
  bad "train --help lists the registry's options"
expect_code 1 "missing data file" "$L2H" train --method lsh --data "$T/nope.fvecs" --split none --output "$T/m"
grep -q "nope.fvecs" "$T/err" && ok || bad "error names the missing file"
expect_code 1 "missing model" "$L2H" eval --model "$T/nope.safetensors"

if [ ! -f "$SCENE" ]; then
  echo "note: $SCENE not found; skipping the data scenario" >&2
else
  D="--data $SCENE --n-labels 6 --split random --n-query 200 --n-train 600 --seed 3"
  expect_code 0 "train itq" "$L2H" train --method itq --bits 16 $D --output "$T/itq.safetensors"
  [ -s "$T/itq.safetensors" ] && ok || bad "model file written"
  expect_code 0 "info model" "$L2H" info "$T/itq.safetensors"
  grep -q "itq" "$T/out" && ok || bad "info names the method"
  expect_code 0 "encode db" "$L2H" encode --model "$T/itq.safetensors" $D --rows db --output "$T/db.npy"
  expect_code 0 "encode queries" "$L2H" encode --model "$T/itq.safetensors" $D --rows query --output "$T/q.npy"
  expect_code 0 "info codes" "$L2H" info "$T/db.npy"
  grep -q "rows        1011" "$T/out" && ok || bad "db codes have 1211 - 200 rows"
  expect_code 0 "search k" "$L2H" search --db "$T/db.npy" --queries "$T/q.npy" -k 5 --save-index "$T/db.l2hi"
  [ "$(wc -l < "$T/out")" -eq 1000 ] && ok || bad "200 queries x 5 results"
  expect_code 0 "search radius via index" "$L2H" search --index "$T/db.l2hi" --queries "$T/q.npy" --radius 1
  expect_code 0 "eval" "$L2H" eval --model "$T/itq.safetensors" $D --json
  grep -q '"map": 0\.[0-9]' "$T/out" && ok || bad "eval prints mAP"
  expect_code 2 "split 1 on multi-label data" "$L2H" eval --model "$T/itq.safetensors" --data "$SCENE" --n-labels 6 --split 1
fi
finish
