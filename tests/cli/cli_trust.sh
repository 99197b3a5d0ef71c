#!/bin/sh
# Regression scenario of issue 14 (trust): each block names the item it guards. Small synthetic
# data written by python3 (Debian's; skipped if absent). $1 = the l2h binary.
. "$(dirname "$0")/lib/common.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || skip "/usr/bin/python3 not found"
cd "$T" || exit 1
"$PY" - <<'PYEOF' || { echo "cannot write the test data"; exit 1; }
import struct, random
def npy(descr, shape, data):
    d = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
    total = ((10 + len(d) + 1 + 63) // 64) * 64; hl = total - 10
    return b'\x93NUMPY\x01\x00' + bytes([hl & 255, hl >> 8]) + d.encode() + b' ' * (hl - len(d) - 1) + b'\n' + data
random.seed(1)
open('x.npy', 'wb').write(npy('<f4', '(400, 8)', struct.pack('<3200f', *[(i // 8 % 4 == (i % 8) % 4) * 2.0 + random.random() for i in range(3200)])))
open('lab.npy', 'wb').write(npy('<i4', '(400,)', struct.pack('<400i', *[i % 4 for i in range(400)])))
open('biglab.npy', 'wb').write(npy('<i4', '(400,)', struct.pack('<400i', *([1] * 399 + [2**30]))))
open('maxlab.npy', 'wb').write(npy('<i4', '(400,)', struct.pack('<400i', *([1] * 399 + [2**31 - 1]))))
open('c10.npy', 'wb').write(npy('|u1', '(10, 4)', bytes(range(40))))
open('c5.npy', 'wb').write(npy('|u1', '(5, 4)', bytes(range(100, 120))))
open('hlen0.npy', 'wb').write(b'\x93NUMPY\x01\x00\x00\x00' + b'A' * 100000)
open('lq.npy', 'wb').write(npy('<i4', '(10,)', struct.pack('<10i', *[i % 2 for i in range(10)])))
open('mulan.arff', 'w').write('@relation r\n@attribute a numeric\n@attribute b numeric\n@attribute l1 {0,1}\n@attribute l2 {0,1}\n@data\n' + ''.join('%d,%d,%d,%d\n' % (i, i % 3, i % 2, 1 - i % 2) for i in range(40)))
PYEOF
D="--data x.npy --labels lab.npy --split random --n-query 50 --n-train 300"

# item 1: heap overflow in the codes reader -> a clear refusal
expect_code 1 "npy header length 0 (info)" "$L2H" info hlen0.npy
grep -q "header length 0 is too small" err && ok || bad "hlen0 error names the cause"
expect_code 1 "npy header length 0 (search)" "$L2H" search --db hlen0.npy -q c10.npy -k 1

# item 2: no shell, quoted paths: a quote in --plot/--log runs nothing
"$L2H" train --method mihash --bits 8 --epochs 2 $D --log "a'b.csv" --plot "x';touch PWNED;'.png" \
  -o m.safetensors >out 2>err
[ ! -e PWNED ] && ok || bad "--plot ran a shell command"
# item 7: a failing plot is a warning, the model is saved
rm -f m7.safetensors
expect_code 0 "failing plot keeps the model" "$L2H" train --method mihash --bits 8 --epochs 1 $D \
  --log l.csv --plot nodir/p.png -o m7.safetensors
[ -s m7.safetensors ] && ok || bad "model saved despite the plot"
grep -q "warning: the plot" err && ok || bad "plot failure reported as a warning"

# item 3: huge or overflowing class ids, huge k
expect_code 1 "class id 2^30" "$L2H" train --method itq --bits 8 --data x.npy --labels biglab.npy -o m3
grep -q "class id 1073741824" err && ok || bad "class id error names the id"
expect_code 1 "class id 2^31-1" "$L2H" train --method itq --bits 8 --data x.npy --labels maxlab.npy -o m3
expect_code 0 "search -k 50000000 on 10 codes" "$L2H" search --db c10.npy -q c10.npy -k 50000000
[ "$(wc -l < out)" -eq 100 ] && ok || bad "k clamped to the 10 codes"

# item 4: device nodes and links are not replaced; modes kept
expect_code 0 "index build" "$L2H" index build --codes c10.npy -o ix.l2hi
ln -s ix.l2hi link.l2hi
expect_code 0 "write through a link" "$L2H" index build --codes c5.npy -o link.l2hi
[ -L link.l2hi ] && ok || bad "the link stays a link"
mkfifo fifo && { cat fifo > fifo.out & } && sleep 0.2
expect_code 0 "write into a FIFO" "$L2H" index build --codes c10.npy -o fifo
wait
[ -p fifo ] && [ -s fifo.out ] && ok || bad "FIFO written through, not replaced"
chmod 600 ix.l2hi
expect_code 0 "index add keeps the mode" "$L2H" index add ix.l2hi --codes c5.npy
[ "$(stat -c %a ix.l2hi)" = 600 ] && ok || bad "mode 600 kept"
(umask 077; "$L2H" index build --codes c10.npy -o u.l2hi >/dev/null 2>&1)
[ "$(stat -c %a u.l2hi)" = 600 ] && ok || bad "umask respected for a new file"

# item 5: two concurrent writers lose nothing
"$L2H" index build --codes c10.npy -o cc.l2hi >/dev/null 2>&1
( for i in 1 2 3 4 5 6 7 8 9 10; do "$L2H" index add cc.l2hi --codes c5.npy >/dev/null 2>&1; done ) &
for i in 1 2 3 4 5 6 7 8 9 10; do "$L2H" index add cc.l2hi --codes c5.npy >/dev/null 2>&1; done
wait
"$L2H" index info cc.l2hi --json >out 2>err
grep -q '"codes": 110' out && ok || bad "20 concurrent adds of 5 codes: $(cat out)"

# item 6: write errors are errors; no side file left behind a failure
if [ -w /dev/full ]; then
  expect_code 1 "search > /dev/full" sh -c "\"$L2H\" search --db c10.npy -q c10.npy -k 2 > /dev/full"
  expect_code 1 "info > /dev/full" sh -c "\"$L2H\" info > /dev/full"
  expect_code 1 "index info --json > /dev/full" sh -c "\"$L2H\" index info ix.l2hi --json > /dev/full"
  expect_code 1 "train --log /dev/full" "$L2H" train --method mihash --bits 8 --epochs 1 $D --log /dev/full -o m6
fi
rm -f curves.csv
expect_code 1 "eval --curves then a failure" sh -c "\"$L2H\" eval --model m.safetensors --data x.npy --labels lab.npy --curves curves.csv --json > /dev/full"
[ ! -e curves.csv ] && ok || bad "no curves file left behind a failed eval"
ls ./*.tmp?????? >/dev/null 2>&1 && bad "temporary files left" || ok
# stale temporary files of a killed writer are removed by the next write; a fresh one is kept
: > ix.l2hi.tmpAAAAAA && touch -d '1 hour ago' ix.l2hi.tmpAAAAAA && : > ix.l2hi.tmpBBBBBB
expect_code 0 "index add after a killed writer" "$L2H" index add ix.l2hi --codes c5.npy
[ ! -e ix.l2hi.tmpAAAAAA ] && ok || bad "stale temporary file removed"
[ -e ix.l2hi.tmpBBBBBB ] && ok || bad "a fresh temporary file (a live writer) is kept"
rm -f ix.l2hi.tmpBBBBBB

# item 8: the model's split is used; an overlapping split is refused unless --force
expect_code 0 "train itq, split seed 1" "$L2H" train --method itq --bits 8 $D --seed 1 -o itq.safetensors
expect_code 0 "eval uses the recorded split" "$L2H" eval --model itq.safetensors --data x.npy --labels lab.npy
grep -q "seed 1" out && ok || bad "recorded split seed used"
expect_code 2 "eval --seed 2 overlaps" "$L2H" eval --model itq.safetensors $D --seed 2
grep -q "rows the model was trained on" err && ok || bad "overlap named"
expect_code 0 "eval --seed 2 --force" "$L2H" eval --model itq.safetensors $D --seed 2 --force
grep -q "WARNING" err && ok || bad "loud warning with --force"
expect_code 0 "split seed fixed, seed varied" "$L2H" eval --model itq.safetensors $D --split-seed 1 --seed 9

# item 9: bad numbers and conflicting options are usage errors
for a in "--lr nan" "--lr -1" "--lr 0" "--weight-decay nan" "--weight-decay -1" "--last-lr-mult nan" "--gamma nan"; do
  expect_code 2 "train $a" "$L2H" train --method mihash --bits 8 --epochs 1 $D $a -o m9
done
expect_code 2 "--model mlp with lsh" "$L2H" train --method lsh --model mlp $D -o m9
expect_code 2 "--epochs with itq" "$L2H" train --method itq --epochs 3 $D -o m9
expect_code 2 "--test-from with --split random" "$L2H" train --method itq --test-from 5 $D -o m9
expect_code 2 "both l2 flags" "$L2H" train --method mihash --l2-normalize --no-l2-normalize $D -o m9
expect_code 2 "repeated --data" "$L2H" train --method itq --data x.npy $D -o m9
expect_code 2 "unknown --format" "$L2H" train --method itq --format xyz $D -o m9
expect_code 2 "unknown --method" "$L2H" train --method foo $D -o m9
echo 3 > 5
expect_code 0 "--ids 5 is id 5" "$L2H" index remove ix.l2hi --ids 5 --json
grep -q '"changed": 1' out && ok || bad "--ids 5 removed id 5 (not the file named 5)"
expect_code 0 "index info of a quoted name" "$L2H" index build --codes c10.npy -o 'q"x.l2hi' --json
"$PY" -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' out && ok || bad "JSON with a quote in the file name parses"
expect_code 1 "ARFF with trailing {0,1} and no --n-labels" "$L2H" train --method itq --bits 8 --data mulan.arff --split none -o m9
grep -q "n-labels 2" err && ok || bad "ARFF error says --n-labels 2"
expect_code 0 "ARFF --n-labels 0 reads them as features" "$L2H" train --method itq --bits 4 --data mulan.arff --n-labels 0 --split none -o m9

# item 10: codes made elsewhere
expect_code 0 "eval codes" "$L2H" eval --codes-query c10.npy --labels-query lq.npy --codes-db c10.npy --labels-db lq.npy --map-at 100 --json
grep -q '"n_zero_at_k": ' out && ok || bad "n_zero_at_k reported"
grep -q '"map_at_10": ' out && ok || bad "mAP@k labelled by the k used (10 codes)"
grep -q '"5000"' out && bad "P@5000 shown for 10 codes" || ok
expect_code 2 "codes and a model" "$L2H" eval --model itq.safetensors --codes-query c10.npy --codes-db c10.npy --labels-query lq.npy --labels-db lq.npy
finish
