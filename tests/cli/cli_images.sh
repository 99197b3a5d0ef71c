#!/bin/sh
# CLI scenario: `l2h features` on small generated photos (the fuzz seeds: grey/RGB/RGBA PNG, grey
# and colour JPEG) from a folder, a list file and a glob give identical matrices; bad inputs fail
# with the right exit code and name the file; then train -> encode -> search --report and
# eval --report write self-contained HTML pages. Needs the MobileNet model of the shared data
# ($L2H_SHARED_DATA); exits 77 (skipped) without it. $1 = path of the l2h binary.
. "$(dirname "$0")/lib/common.sh"
MODEL=${L2H_SHARED_DATA:-../shared/data}/mobilenet-v1/mobilenet_v1_1.0_224_quant_embedding_extractor.tflite
if [ ! -f "$MODEL" ]; then echo "skipped: no MobileNet model at $MODEL"; exit 77; fi
SEEDS="$(dirname "$0")/../fuzz/corpus/image"
mkdir -p "$T/img/a" "$T/img/b"
for f in grey.png rgb.png rgba.png rgb.jpg grey.jpg; do
  cp "$SEEDS/$f" "$T/img/a/$f"; cp "$SEEDS/$f" "$T/img/b/x_$f"
done

expect_code 0 "features --help" "$L2H" features --help
grep -q "usage: l2h features" "$T/out" && ok || bad "features --help prints usage"
expect_code 2 "no output" "$L2H" features "$T/img"
expect_code 2 "no input" "$L2H" features -o "$T/f.npy"
expect_code 2 "bad arithmetic" "$L2H" features -o "$T/f.npy" --arithmetic fast "$T/img"
expect_code 0 "features folder" "$L2H" features --model "$MODEL" -o "$T/f.npy" --labels "$T/l.npy" -t 2 "$T/img"
[ "$(wc -l < "$T/f.txt")" -eq 10 ] && ok || bad "paths file has 10 lines"
head -1 "$T/f.txt" | grep -q "img/a/grey.jpg$" && ok || bad "paths sorted, first is a/grey.jpg"
[ "$(wc -c < "$T/f.npy")" -eq $((128 + 10 * 1024)) ] && ok || bad "10 x 1024 uint8 .npy"
grep -q "2 classes" "$T/err" && ok || bad "labels from 2 folders"
expect_code 0 "info on the features" "$L2H" info "$T/f.npy"
sed "s|^$T/img/||" "$T/f.txt" > "$T/list.txt"
expect_code 0 "features list" "$L2H" features --model "$MODEL" -o "$T/g.npy" --list "$T/list.txt" --root "$T/img"
cmp -s "$T/f.npy" "$T/g.npy" && ok || bad "list file gives the same features"
expect_code 0 "features glob" "$L2H" features --model "$MODEL" -o "$T/h.npy" "$T/img/[ab]"
cmp -s "$T/f.npy" "$T/h.npy" && ok || bad "glob gives the same features"
expect_code 0 "features -t 1" "$L2H" features --model "$MODEL" -o "$T/one.npy" -t 1 "$T/img"
cmp -s "$T/f.npy" "$T/one.npy" && ok || bad "1 and 2 threads give the same features"

printf 'not an image' > "$T/img/b/broken.jpg"
expect_code 1 "corrupt image" "$L2H" features --model "$MODEL" -o "$T/x.npy" "$T/img"
grep -q "broken.jpg" "$T/err" && ok || bad "error names the broken file"
rm "$T/img/b/broken.jpg"
expect_code 1 "missing model" "$L2H" features --model "$T/none.tflite" -o "$T/x.npy" "$T/img"
expect_code 1 "no such image" "$L2H" features --model "$MODEL" -o "$T/x.npy" "$T/img/nope.png"

expect_code 0 "train itq" "$L2H" train --data "$T/f.npy" --labels "$T/l.npy" --split none --method itq --bits 8 -o "$T/m.safetensors"
expect_code 0 "encode" "$L2H" encode --model "$T/m.safetensors" --data "$T/f.npy" -o "$T/c.npy"
expect_code 0 "search --report" "$L2H" search --db "$T/c.npy" -q "$T/c.npy" -k 3 --report "$T/s.html" --images "$T/f.txt" --query-labels "$T/l.npy" --db-labels "$T/l.npy"
grep -q "data:image/png;base64," "$T/s.html" && ok || bad "report embeds the PNGs"
grep -q "data:image/jpeg;base64," "$T/s.html" && ok || bad "report embeds the JPEGs"
grep -qi "http" "$T/s.html" && bad "report refers to the network" || ok
[ "$(grep -c '<tr>' "$T/s.html")" -eq 8 ] && ok || bad "8 query rows by default"
grep -q 'class="rel"' "$T/s.html" && ok || bad "relevance marked"
expect_code 2 "report without images" "$L2H" search --db "$T/c.npy" -q "$T/c.npy" -k 3 --report "$T/s2.html"
expect_code 0 "eval --report" "$L2H" eval --model "$T/m.safetensors" --data "$T/f.npy" --labels "$T/l.npy" --split random --n-query 4 --n-train 6 --report "$T/e.html" --images "$T/f.txt" --report-queries 3
[ "$(grep -c '<tr>' "$T/e.html")" -eq 3 ] && ok || bad "eval report shows 3 queries"
grep -q "mAP" "$T/e.html" && ok || bad "eval report states the mAP"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
