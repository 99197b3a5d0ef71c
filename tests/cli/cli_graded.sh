#!/bin/sh
# CLI scenario: graded relevance in `l2h eval` (--min-shared, --ndcg-at) on a small generated
# multi-label ARFF file (8 features, 4 labels; items carry 1-3 labels), checking exit codes, the
# JSON keys, that NDCG@K and ACG@K are in [0, 1] and weighted mAP positive (it is not bounded by
# 1: grades count labels), and that "at least 2 shared labels"
# is a stricter rule than "at least 1" (fewer relevant items -> lower precision at radius).
# $1 = path of the l2h binary.
. "$(dirname "$0")/lib/common.sh"
A="$T/ml.arff"
awk 'BEGIN {
  srand(7); print "@relation ml";
  for (j = 0; j < 8; j++) print "@attribute f" j " numeric";
  for (j = 0; j < 4; j++) print "@attribute l" j " {0,1}";
  print "@data";
  for (i = 0; i < 400; i++) {
    c = int(rand() * 4); line = "";
    for (j = 0; j < 8; j++) line = line sprintf("%.4f,", (j % 4 == c ? 2 : 0) + rand());
    for (j = 0; j < 4; j++) line = line ((j == c || rand() < 0.3) ? 1 : 0) (j < 3 ? "," : "");
    print line
  } }' > "$A"
D="--data $A --n-labels 4 --split random --n-query 50 --n-train 200 --seed 2"
expect_code 0 "train itq" "$L2H" train --method itq --bits 8 $D --output "$T/m.safetensors"
expect_code 0 "eval graded" "$L2H" eval --model "$T/m.safetensors" $D --ndcg-at 20 --json
for k in ndcg_at_20 acg_at_20; do
  grep -q "\"$k\": [01]\.[0-9]*" "$T/out" && ok || bad "eval --json reports $k in [0, 1]"
done
grep -q '"map_weighted": [0-9]*\.[0-9]*[1-9]' "$T/out" && ok || bad "eval --json reports map_weighted > 0"
p1=$(sed 's/.*"precision_radius_2": \([0-9.]*\).*/\1/' "$T/out")
expect_code 0 "eval min-shared 2" "$L2H" eval --model "$T/m.safetensors" $D --min-shared 2 --json
grep -q '"min_shared": 2' "$T/out" && ok || bad "eval --json reports min_shared"
p2=$(sed 's/.*"precision_radius_2": \([0-9.]*\).*/\1/' "$T/out")
awk -v a="$p1" -v b="$p2" 'BEGIN { exit !(b < a) }' && ok || bad "P@H<=2 with >= 2 labels ($p2) below >= 1 label ($p1)"
expect_code 0 "eval text" "$L2H" eval --model "$T/m.safetensors" $D --ndcg-at 5
grep -q "NDCG@5" "$T/out" && ok || bad "text output shows NDCG@5"
expect_code 2 "min-shared 0" "$L2H" eval --model "$T/m.safetensors" $D --min-shared 0
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
