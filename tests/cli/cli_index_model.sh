#!/bin/sh
# CLI scenario: index files know the model that made their codes (issue 14 item 11).
# `index build --model A` records A's fingerprint; `search --model B` and `index add/replace
# --model B` with another model's codes are refused (exit 1, both fingerprints named); the same
# model passes; re-saving the model keeps its fingerprint; an index without one only warns.
# Two LSH models (seeds 1 and 2) on 1,000 random 16-byte rows written here.
# $1 = path of the l2h binary.
. "$(dirname "$0")/lib/common.sh"
head -c 16000 /dev/urandom > "$T/f.u8"
d="--data $T/f.u8 --format u8 --dim 16"
for s in 1 2; do
  expect_code 0 "train model $s" "$L2H" train --method lsh --bits 64 $d --split none --seed $s -o "$T/m$s.st"
  expect_code 0 "encode model $s" "$L2H" encode --model "$T/m$s.st" $d -o "$T/c$s.npy"
done
expect_code 0 "build with --model" "$L2H" index build --codes "$T/c1.npy" --model "$T/m1.st" --kind mih -o "$T/a.l2hi"
grep -q "^model       [0-9a-f]\{32\}$" "$T/out" && ok || bad "build prints the model fingerprint"
fp=$(sed -n 's/^model       //p' "$T/out")
expect_code 0 "info json" "$L2H" index info "$T/a.l2hi" --json
grep -q "\"model\": \"$fp\"" "$T/out" && ok || bad "info --json: the fingerprint is saved"
grep -q '"distinct": 1000' "$T/out" && ok || bad "info --json: distinct codes"

expect_code 0 "search, same model" "$L2H" search --index "$T/a.l2hi" -q "$T/c1.npy" --model "$T/m1.st" -k 1
expect_code 1 "search, other model" "$L2H" search --index "$T/a.l2hi" -q "$T/c2.npy" --model "$T/m2.st" -k 1
grep -q "queries come from model .* but the index holds codes of model $fp" "$T/err" && ok || bad "search: message names both models"
[ ! -s "$T/out" ] && ok || bad "search, other model: nothing on stdout"
expect_code 1 "add, other model" "$L2H" index add "$T/a.l2hi" --codes "$T/c2.npy" --model "$T/m2.st"
grep -q "codes to add come from model" "$T/err" && ok || bad "add: message"
expect_code 1 "replace, other model" "$L2H" index replace "$T/a.l2hi" --ids 0 --codes "$T/c2.npy" --model "$T/m2.st"
expect_code 0 "info after refusals" "$L2H" index info "$T/a.l2hi" --json
grep -q '"codes": 1000' "$T/out" && ok || bad "refused changes left the index as it was"
expect_code 0 "add, same model" "$L2H" index add "$T/a.l2hi" --codes "$T/c1.npy" --model "$T/m1.st"
grep -q "1000 -> 2000" "$T/out" && ok || bad "add, same model: 1000 -> 2000"

# the fingerprint names what the model computes: a re-encoded copy of the model passes
cp "$T/m1.st" "$T/copy.st"
expect_code 0 "search, copied model file" "$L2H" search --index "$T/a.l2hi" -q "$T/c1.npy" --model "$T/copy.st" -k 1

# an index built without --model records none: --model only warns
expect_code 0 "build without --model" "$L2H" index build --codes "$T/c1.npy" -o "$T/b.l2hi"
grep -q "^model       none$" "$T/out" && ok || bad "no model recorded"
expect_code 0 "search, unrecorded model" "$L2H" search --index "$T/b.l2hi" -q "$T/c2.npy" --model "$T/m2.st" -k 1
grep -q "warning: the index records no model" "$T/err" && ok || bad "unrecorded model: warning"
expect_code 1 "missing model file" "$L2H" search --index "$T/a.l2hi" -q "$T/c1.npy" --model "$T/none.st" -k 1

echo "cli_index_model: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
