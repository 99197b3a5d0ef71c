#!/bin/sh
# CLI scenario: `l2h stream` artefacts on the real `scene` data (labels dropped: Euclidean
# neighbours). A run saves its model and index; the same run stopped halfway with --checkpoint
# and finished with --resume writes byte-identical model, index and checkpoint files; the
# saved index answers `l2h search`; the method is validated before any data is read.
# $1 = path of the l2h binary.
. "$(dirname "$0")/lib/common.sh"
SCENE=${L2H_SHARED_DATA:-../shared/data}/scene/scene-train.arff

expect_code 2 "unknown method before loading data" "$L2H" stream --method frob --data "$T/none.fvecs"
grep -q "unknown --method" "$T/err" && ok || bad "names the bad method"
expect_code 2 "--stop-after without --checkpoint" "$L2H" stream --stop-after 10
expect_code 1 "resume a missing checkpoint" "$L2H" stream --resume "$T/none.ckpt" --data "$SCENE" --n-labels 6 --ground-truth euclidean

if [ ! -f "$SCENE" ]; then
  echo "note: $SCENE not found; skipping the data scenario" >&2
else
  for m in mihash okh; do
    D="--data $SCENE --n-labels 6 --ground-truth euclidean --n-query 100 --seed 5"
    R="--method $m --bits 16 --items 600 --interval 30 --reservoir 80 --checkpoints 5"
    [ "$m" = okh ] && R="$R --batch 2"
    expect_code 0 "$m: full run" "$L2H" stream $R $D --save-model "$T/full.m.safetensors" --save-index "$T/full.i" --checkpoint "$T/full.ck"
    grep -q "mAP final" "$T/out" && ok || bad "$m: report printed"
    mv "$T/out" "$T/full.out"
    expect_code 0 "$m: first half" "$L2H" stream $R $D --stop-after 300 --checkpoint "$T/half.ck"
    grep -q "stopped after 300 items" "$T/err" && ok || bad "$m: stop reported"
    expect_code 0 "$m: resumed" "$L2H" stream --resume "$T/half.ck" --items 600 $D --save-model "$T/res.m.safetensors" --save-index "$T/res.i" --checkpoint "$T/res.ck"
    for f in m.safetensors i ck; do
      cmp -s "$T/full.$f" "$T/res.$f" && ok || bad "$m: resumed .$f differs from the uninterrupted run"
    done
    tail -n 2 "$T/full.out" | head -n 1 > "$T/a"; tail -n 2 "$T/out" | head -n 1 > "$T/b"
    cmp -s "$T/a" "$T/b" && ok || bad "$m: same counters after resume"
    expect_code 0 "$m: model info" "$L2H" info "$T/full.m.safetensors"
    # the saved model encodes the retrieval set into the table the index holds: searching the
    # index and searching those codes give the same neighbours
    S="--split random --n-train 0"
    expect_code 0 "$m: encode queries" "$L2H" encode --model "$T/full.m.safetensors" $D $S --rows query -o "$T/q.npy"
    expect_code 0 "$m: encode the table" "$L2H" encode --model "$T/full.m.safetensors" $D $S --rows db -o "$T/db.npy"
    expect_code 0 "$m: search the saved index" "$L2H" search --index "$T/full.i" -q "$T/q.npy" -k 5
    mv "$T/out" "$T/ix.out"
    expect_code 0 "$m: search the encoded table" "$L2H" search --db "$T/db.npy" -q "$T/q.npy" -k 5
    [ -s "$T/out" ] && cmp -s "$T/out" "$T/ix.out" && ok || bad "$m: index and encoded table give other neighbours"
  done
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
