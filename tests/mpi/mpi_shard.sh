#!/bin/sh
# MPI scenario: `l2h-mpi search|encode|eval` under `mpirun --oversubscribe` with 1, 2, 3 and 4
# ranks give byte-identical output to one `l2h` process (search: k-NN and radius, flat and MIH,
# on clustered codes full of ties; encode: the codes file; eval: the printed metrics), and a
# missing or corrupt file, a bad option or a rank killed mid-job end the job with an error, never
# a hang. $1 = the l2h binary, $2 = the l2h-mpi binary.
. "$(dirname "$0")/../cli/lib/common.sh"
MPI=$2
PY=/usr/bin/python3
command -v mpirun >/dev/null 2>&1 || skip "mpirun not installed (openmpi-bin)"
"$PY" -c 'import numpy' 2>/dev/null || skip "/usr/bin/python3 has no numpy"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
run_mpi() { # ranks command... (bounded: a hang fails the test instead of blocking CI)
  n=$1; shift
  timeout 120 mpirun --oversubscribe -np "$n" "$MPI" "$@"
}
"$PY" - "$T" <<'PYEOF'
import numpy as np, sys
t = sys.argv[1]
r = np.random.default_rng(7)
centres = r.integers(0, 256, (30, 8), dtype=np.uint8)
db = centres[r.integers(0, 30, 4001)]
flip = (r.random(db.shape) < 0.02).astype(np.uint8) << r.integers(0, 8, db.shape).astype(np.uint8)
db = db ^ flip
np.save(f"{t}/db.npy", db)
np.save(f"{t}/q.npy", np.ascontiguousarray(db[::97]))
np.save(f"{t}/ldb.npy", r.integers(0, 6, len(db)).astype(np.int32))
np.save(f"{t}/lq.npy", r.integers(0, 6, len(db[::97])).astype(np.int32))
np.save(f"{t}/x.npy", r.standard_normal((1003, 12)).astype(np.float32))
# per-rank shard files: the database cut in 3 uneven parts (one of a single row)
for i, (a, b) in enumerate([(0, 1500), (1500, 1501), (1501, len(db))]):
    np.save(f"{t}/part.{i}.npy", np.ascontiguousarray(db[a:b]))
PYEOF
[ -s "$T/db.npy" ] && ok || bad "test data written"

"$L2H" search --db "$T/db.npy" --queries "$T/q.npy" -k 25 >"$T/knn.ref" 2>/dev/null
"$L2H" search --db "$T/db.npy" --queries "$T/q.npy" --radius 4 >"$T/rad.ref" 2>/dev/null
[ -s "$T/knn.ref" ] && [ -s "$T/rad.ref" ] && ok || bad "single-process reference results"
"$L2H" train --data "$T/x.npy" --method lsh --bits 20 --split none -o "$T/m.st" 2>/dev/null
"$L2H" encode --model "$T/m.st" --data "$T/x.npy" -o "$T/codes.ref" 2>/dev/null
run_mpi 1 eval --queries "$T/q.npy" --db "$T/db.npy" --query-labels "$T/lq.npy" \
  --db-labels "$T/ldb.npy" --map-at 50 >"$T/eval.ref" 2>/dev/null
grep -q '^map	0\.' "$T/eval.ref" && ok || bad "eval on one rank prints mAP"

for np in 1 2 3 4; do
  for kind in flat mih; do
    expect_code 0 "search k-NN $kind np=$np" run_mpi $np search --db "$T/db.npy" \
      --queries "$T/q.npy" -k 25 --kind $kind --batch 9
    cmp -s "$T/out" "$T/knn.ref" && ok || bad "k-NN $kind on $np ranks differs from one process"
    expect_code 0 "search radius $kind np=$np" run_mpi $np search --db "$T/db.npy" \
      --queries "$T/q.npy" --radius 4 --kind $kind --batch 9
    cmp -s "$T/out" "$T/rad.ref" && ok || bad "radius $kind on $np ranks differs from one process"
  done
  # the other sharding: contiguous row ranges (the default shards by a hash of the code)
  for kind in flat mih; do
    expect_code 0 "search k-NN $kind by rows np=$np" run_mpi $np search --db "$T/db.npy" \
      --queries "$T/q.npy" -k 25 --kind $kind --batch 9 --shard rows
    cmp -s "$T/out" "$T/knn.ref" && ok || bad "k-NN $kind by rows on $np ranks differs"
  done
  expect_code 0 "encode np=$np" run_mpi $np encode --model "$T/m.st" --data "$T/x.npy" \
    -o "$T/codes$np.npy"
  cmp -s "$T/codes$np.npy" "$T/codes.ref" && ok || bad "encode on $np ranks differs"
  expect_code 0 "eval np=$np" run_mpi $np eval --queries "$T/q.npy" --db "$T/db.npy" \
    --query-labels "$T/lq.npy" --db-labels "$T/ldb.npy" --map-at 50
  cmp -s "$T/out" "$T/eval.ref" && ok || bad "eval on $np ranks differs from one rank"
done

# encode writes with MPI-IO: in 5-byte pieces (the >2 GiB path's loop, exercised small) it is
# still the same file, and an unwritable output is named with the ranks
L2H_MPI_TEST_IO_CHUNK=5 run_mpi 3 encode --model "$T/m.st" --data "$T/x.npy" -o "$T/chunked.npy" \
  >"$T/out" 2>"$T/err" && ok || bad "encode in small MPI-IO pieces"
cmp -s "$T/chunked.npy" "$T/codes.ref" && ok || bad "encode in small MPI-IO pieces differs"
expect_code 1 "unwritable codes file" run_mpi 2 encode --model "$T/m.st" --data "$T/x.npy" \
  -o "$T/nodir/c.npy"
grep -q "rank [01]: .*nodir/c.npy" "$T/err" && ok || bad "unwritable codes file named"

# one file per rank: the database is their concatenation in rank order
for kind in flat mih; do
  expect_code 0 "per-rank files k-NN $kind" run_mpi 3 search --db "$T/part.{rank}.npy" \
    --queries "$T/q.npy" -k 25 --kind $kind --batch 9
  cmp -s "$T/out" "$T/knn.ref" && ok || bad "k-NN $kind on per-rank files differs from one process"
  expect_code 0 "per-rank files radius $kind" run_mpi 3 search --db "$T/part.{rank}.npy" \
    --queries "$T/q.npy" --radius 4 --kind $kind --batch 9
  cmp -s "$T/out" "$T/rad.ref" && ok || bad "radius $kind on per-rank files differs"
done
expect_code 1 "a rank without its file" run_mpi 4 search --db "$T/part.{rank}.npy" \
  --queries "$T/q.npy" -k 3
grep -q "rank 3: .*part.3.npy" "$T/err" && ok || bad "the rank whose shard file is missing named"
cp "$T/part.0.npy" "$T/bad.0.npy"; cp "$T/part.1.npy" "$T/bad.1.npy"
head -c 1000 "$T/part.2.npy" >"$T/bad.2.npy"
expect_code 1 "a truncated shard file" run_mpi 3 search --db "$T/bad.{rank}.npy" \
  --queries "$T/q.npy" -k 3
grep -q "rank 2: .*bad.2.npy" "$T/err" && ok || bad "the rank with the truncated shard file named"

# failures end the job with the file named, never a hang
expect_code 1 "missing database" run_mpi 3 search --db "$T/none.npy" --queries "$T/q.npy" -k 3
grep -q "rank 0: .*none.npy: cannot open" "$T/err" && ok || bad "missing file named with its rank"
head -c 300 "$T/db.npy" >"$T/trunc.npy"
expect_code 1 "truncated database" run_mpi 3 search --db "$T/trunc.npy" --queries "$T/q.npy" -k 3
grep -q "trunc.npy: truncated" "$T/err" && ok || bad "truncated file named"
expect_code 1 "missing features" run_mpi 2 encode --model "$T/m.st" --data "$T/none.npy" -o "$T/c.npy"
grep -q "none.npy" "$T/err" && ok || bad "missing feature file named"
expect_code 2 "k and radius" run_mpi 2 search --db "$T/db.npy" --queries "$T/q.npy" -k 3 --radius 1
expect_code 2 "bad shard" run_mpi 2 search --db "$T/db.npy" --queries "$T/q.npy" -k 3 --shard x
expect_code 2 "bad kind" run_mpi 2 search --db "$T/db.npy" --queries "$T/q.npy" -k 3 --kind lsh
L2H_MPI_TEST_DIE=1 run_mpi 3 search --db "$T/db.npy" --queries "$T/q.npy" -k 3 >"$T/out" 2>"$T/err"
got=$?
[ "$got" -ne 0 ] && [ "$got" -ne 124 ] && ok || bad "a killed rank ends the job (exit $got; 124 = hang)"
grep -q "rank 1" "$T/err" && ok || bad "mpirun names the killed rank"

finish
