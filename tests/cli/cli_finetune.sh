#!/bin/sh
# CLI scenario: deep hashing end to end (issue 17). `l2h features --block-input` caches the last
# block's inputs of 10 small photos (same features as without it), `l2h finetune` trains the
# block + hash layer with each learned method (MIHash twice with the same seed: identical model files),
# and the model encodes the cached rows; usage and data errors. Needs the MobileNet model of
# the shared data ($L2H_SHARED_DATA); exits 77 (skipped) without it. $1 = path of the l2h binary.
. "$(dirname "$0")/lib/common.sh"
MODEL=${L2H_SHARED_DATA:-../shared/data}/mobilenet-v1/mobilenet_v1_1.0_224_quant_embedding_extractor.tflite
if [ ! -f "$MODEL" ]; then echo "skipped: no MobileNet model at $MODEL"; exit 77; fi
SEEDS="$(dirname "$0")/../fuzz/corpus/image"
mkdir -p "$T/img/a" "$T/img/b"
for f in grey.png rgb.png rgba.png rgb.jpg grey.jpg; do
  cp "$SEEDS/$f" "$T/img/a/$f"; cp "$SEEDS/$f" "$T/img/b/x_$f"
done

expect_code 0 "features" "$L2H" features --model "$MODEL" -o "$T/f.npy" --labels "$T/l.npy" "$T/img"
expect_code 0 "features --block-input" "$L2H" features --model "$MODEL" -o "$T/g.npy" --block-input "$T/blk.npy" "$T/img"
cmp -s "$T/f.npy" "$T/g.npy" && ok || bad "the features do not change with --block-input"
[ "$(wc -c < "$T/blk.npy")" -eq $((128 + 10 * 50176)) ] && ok || bad "10 x 1024*7*7 uint8 .npy"

expect_code 0 "finetune --help" "$L2H" finetune --help
grep -q "usage: l2h finetune" "$T/out" && ok || bad "finetune --help prints usage"
expect_code 2 "finetune lsh" "$L2H" finetune --tflite "$MODEL" --data "$T/blk.npy" --labels "$T/l.npy" --method lsh -o "$T/x.st"
expect_code 2 "finetune without output" "$L2H" finetune --tflite "$MODEL" --data "$T/blk.npy" --labels "$T/l.npy" --method mihash
expect_code 1 "finetune on 1024-d features" "$L2H" finetune --tflite "$MODEL" --data "$T/f.npy" --labels "$T/l.npy" --split none --method mihash -o "$T/x.st"
grep -q "block takes 1024 x 7 x 7" "$T/err" && ok || bad "the error names the expected shape"
expect_code 0 "finetune mihash again" "$L2H" finetune --tflite "$MODEL" --data "$T/blk.npy" --labels "$T/l.npy" --split none --method mihash --bits 8 --epochs 2 --batch 5 -o "$T/again.st"
for m in mihash hashnet jmlh; do
  expect_code 0 "finetune $m" "$L2H" finetune --tflite "$MODEL" --data "$T/blk.npy" --labels "$T/l.npy" --split none --method $m --bits 8 --epochs 2 --batch 5 -o "$T/$m.st"
  expect_code 0 "encode $m" "$L2H" encode --model "$T/$m.st" --data "$T/blk.npy" -o "$T/$m.codes.npy"
  [ "$(wc -c < "$T/$m.codes.npy")" -eq $((128 + 10)) ] && ok || bad "$m: 10 codes of 1 byte"
done
cmp -s "$T/mihash.st" "$T/again.st" && ok || bad "the same seed gives the same model"
expect_code 0 "info on the model" "$L2H" info "$T/mihash.st"
grep -q "^arch *cnn" "$T/out" && ok || bad "a cnn model"
grep -q "^input dim *50176" "$T/out" && ok || bad "over the block inputs (1024 x 7 x 7)"
grep -a -q 'dwconv:3x3:s1:p1,relu6,conv:1024:1x1:s1:p0,relu6,avgpool,flatten,linear:8' "$T/mihash.st" && ok || bad "model holds the block's architecture"
finish
