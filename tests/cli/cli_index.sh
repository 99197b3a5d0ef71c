#!/bin/sh
# CLI scenario: `l2h index build|add|remove|replace|info` and `l2h search --index` on random
# 64-bit codes written as .npy here (no numpy needed): flat and multi-index hashing give the
# same results, ids never shift, bad inputs fail with the right exit code and message.
# $1 = path of the l2h binary.
. "$(dirname "$0")/lib/common.sh"
mknpy() { # file rows: a uint8 .npy of rows x 8 random bytes (v1 header padded to 64 bytes)
  hdr="{'descr': '|u1', 'fortran_order': False, 'shape': ($2, 8), }"
  len=${#hdr}; pad=$(( (64 - (10 + len + 1) % 64) % 64 )); hlen=$((len + 1 + pad))
  { printf '\223NUMPY\001\000'
    printf "$(printf '\\%03o\\%03o' $((hlen % 256)) $((hlen / 256)))"
    printf '%s%*s\n' "$hdr" "$pad" ""
    head -c $(($2 * 8)) /dev/urandom; } > "$1"
}
mknpy "$T/db.npy" 3000
mknpy "$T/q.npy" 20
mknpy "$T/new.npy" 3

expect_code 0 "index --help" "$L2H" index --help
grep -q "usage: l2h index build" "$T/out" && ok || bad "index --help prints usage"
expect_code 2 "no subcommand" "$L2H" index
expect_code 2 "unknown subcommand" "$L2H" index frob "$T/x"
expect_code 2 "build without -o" "$L2H" index build --codes "$T/db.npy"
expect_code 2 "bad kind" "$L2H" index build --codes "$T/db.npy" --kind lsh -o "$T/x.l2hi"
expect_code 0 "build flat" "$L2H" index build --codes "$T/db.npy" -o "$T/flat.l2hi"
expect_code 0 "build mih" "$L2H" index build --codes "$T/db.npy" --kind mih -o "$T/mih.l2hi"
grep -q "codes       3000" "$T/out" && ok || bad "build reports 3000 codes"
expect_code 0 "info mih" "$L2H" index info "$T/mih.l2hi" --json
grep -q '"kind": "mih", "bits": 64, "codes": 3000' "$T/out" && ok || bad "info json: kind, bits, size"

for s in "-k 7" "--radius 20"; do
  expect_code 0 "search flat $s" "$L2H" search --index "$T/flat.l2hi" -q "$T/q.npy" $s
  mv "$T/out" "$T/flat.out"
  expect_code 0 "search mih $s" "$L2H" search --index "$T/mih.l2hi" -q "$T/q.npy" $s
  cmp -s "$T/out" "$T/flat.out" && ok || bad "flat and mih results differ for $s"
done

expect_code 0 "add with ids" "$L2H" index add "$T/mih.l2hi" --codes "$T/new.npy" --ids 9000,9001,9002
grep -q "3000 -> 3003" "$T/out" && ok || bad "add: 3000 -> 3003"
printf '# ids to drop\n5\n\n9001\n123456\n' > "$T/rm.txt"
expect_code 0 "remove from a file" "$L2H" index remove "$T/mih.l2hi" --ids "$T/rm.txt" -o "$T/mih2.l2hi"
grep -q "removed 2 codes (3 ids given): 3003 -> 3001" "$T/out" && ok || bad "remove counts"
expect_code 0 "search after remove" "$L2H" search --index "$T/mih2.l2hi" -q "$T/new.npy" -k 1
awk '$1 == 0 && $3 != 9000 { e = 1 } $1 == 2 && $3 != 9002 { e = 1 } $3 == 9001 || $3 == 5 { e = 1 }
     END { exit e }' "$T/out" && ok || bad "ids kept after remove, removed ids gone"
expect_code 0 "original untouched with -o" "$L2H" index info "$T/mih.l2hi"
grep -q "codes       3003" "$T/out" && ok || bad "remove -o leaves the input as it was"
head -c 144 "$T/new.npy" > "$T/one.npy"  # header (128) + 2 codes
sed -i "s/(3, 8)/(2, 8)/" "$T/one.npy"
expect_code 0 "replace" "$L2H" index replace "$T/mih2.l2hi" --ids 0,1 --codes "$T/one.npy"
expect_code 0 "search replaced" "$L2H" search --index "$T/mih2.l2hi" -q "$T/one.npy" -k 1
awk '$1 == 0 && $4 == 0 && ($3 == 0 || $3 == 9000) { a = 1 } END { exit !a }' "$T/out" && ok ||
  bad "replaced code found at distance 0"
expect_code 1 "replace a missing id" "$L2H" index replace "$T/mih2.l2hi" --ids 5,1 --codes "$T/one.npy"
grep -q "id 5" "$T/err" && ok || bad "replace names the missing id"
expect_code 1 "ids/codes count mismatch" "$L2H" index add "$T/mih2.l2hi" --codes "$T/new.npy" --ids 1
printf '1\nx2\n' > "$T/bad.txt"
expect_code 1 "malformed ids file" "$L2H" index remove "$T/mih2.l2hi" --ids "$T/bad.txt"
grep -q "bad.txt:2" "$T/err" && ok || bad "error names file and line"
printf 'garbage' > "$T/bad.l2hi"
expect_code 1 "corrupt index" "$L2H" index info "$T/bad.l2hi"
grep -q "bad.l2hi" "$T/err" && ok || bad "error names the index file"
finish
