#!/bin/sh
# MPI scenario: `l2h-mpi train` (data-parallel MIHash, HashNet, JMLH) under
# `mpirun --oversubscribe` against one `l2h train` process with the same options (--split none),
# MIHash on 1, 2, 3 and 4 ranks, HashNet and JMLH on 1 and 3 (to bound the suite's time):
#   - 1 rank: the model's tensors and the per-epoch losses are identical to `l2h train`'s;
#   - 2-4 ranks: within float rounding (the largest parameter difference is printed and must
#     stay below 1e-2 of the largest |value| of the model's tensors; the losses within 1e-3), and
#     a second run on 3 ranks gives the same model file byte for byte;
#   - a checkpoint written after 7 steps on 2 ranks and resumed on 2 ranks gives the
#     uninterrupted 2-rank model byte for byte; resumed on 3 ranks, within rounding of one
#     process; on 1 rank stopped and resumed, `l2h train`'s tensors exactly;
#   - a missing data file, a missing, truncated or foreign checkpoint, bad options and a rank
#     killed mid-training end the job with an error naming the rank and file, never a hang.
# $1 = the l2h binary, $2 = the l2h-mpi binary.
. "$(dirname "$0")/../cli/lib/common.sh"
MPI=$2
PY=/usr/bin/python3
DIFF="$(dirname "$0")/model_diff.py"
command -v mpirun >/dev/null 2>&1 || skip "mpirun not installed (openmpi-bin)"
"$PY" -c 'import numpy' 2>/dev/null || skip "/usr/bin/python3 has no numpy"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
run_mpi() { # ranks command... (bounded: a hang fails the test instead of blocking CI)
  n=$1; shift
  timeout 120 mpirun --oversubscribe -np "$n" "$MPI" "$@"
}
"$PY" - "$T" <<'PYEOF'
import numpy as np, sys
t = sys.argv[1]
r = np.random.default_rng(11)
C, n, d = 5, 403, 24
centre = 2.0 * r.standard_normal((C, d))
y = r.integers(0, C, n).astype(np.int32)
np.save(f"{t}/x.npy", (centre[y] + r.standard_normal((n, d))).astype(np.float32))
np.save(f"{t}/y.npy", y)
PYEOF
[ -s "$T/x.npy" ] && ok || bad "test data written"

# the loss columns (epoch, loss, loss_aux) of a --log file
losses() { cut -d, -f1,2,7 "$1"; }
# within: A B -- every loss of log B within 1e-3 of log A's
within() {
  paste -d, "$1" "$2" | awk -F, 'NR > 1 { if ($2 - $5 > 1e-3 || $5 - $2 > 1e-3) bad = 1
                                          if ($3 != "" && ($3 - $6 > 1e-3 || $6 - $3 > 1e-3)) bad = 1 }
                                 END { exit bad }'
}
# close: A.st B.st -- tensors within 1e-2 of the largest |parameter|; prints the difference
close() {
  r=$("$PY" "$DIFF" "$1" "$2") || return 1
  echo "$r" | awk '{ exit !($1 <= 1e-2 * $2) }'
}

data="--data $T/x.npy --labels $T/y.npy"
for method in mihash hashnet jmlh; do
  case $method in
    mihash) opts="--method mihash --bits 16 --model mlp --hidden 32 --epochs 3 --batch 40" ;;
    hashnet) opts="--method hashnet --bits 16 --epochs 3 --batch 50" ;;
    jmlh) opts="--method jmlh --bits 12 --epochs 3 --batch 64" ;;
  esac
  # shellcheck disable=SC2086
  "$L2H" train $data --split none $opts --log "$T/ref.csv" -o "$T/ref.st" 2>"$T/err" ||
    { bad "$method: l2h train"; cat "$T/err" >&2; continue; }
  losses "$T/ref.csv" >"$T/ref.loss"
  ranks="1 2 3 4"
  [ "$method" = mihash ] || ranks="1 3" # the bounded CI time: all counts on the most sensitive
  for np in $ranks; do
    # shellcheck disable=SC2086
    expect_code 0 "$method np=$np" run_mpi $np train $data $opts --log "$T/l$np.csv" -o "$T/m$np.st"
    losses "$T/l$np.csv" >"$T/l$np.loss"
    d=$("$PY" "$DIFF" "$T/ref.st" "$T/m$np.st")
    echo "$method, $np ranks: largest parameter difference to one process, largest |parameter|: $d"
    if [ "$np" -eq 1 ]; then
      [ "${d%% *}" = 0 ] && ok || bad "$method: 1 rank differs from l2h train ($d)"
      cmp -s "$T/ref.loss" "$T/l1.loss" && ok || bad "$method: 1 rank's losses differ from l2h train's"
    else
      close "$T/ref.st" "$T/m$np.st" && ok || bad "$method: $np ranks too far from one process ($d)"
      within "$T/ref.loss" "$T/l$np.loss" && ok || bad "$method: $np ranks' losses too far"
    fi
    if [ "$np" -eq 3 ]; then
      # shellcheck disable=SC2086
      run_mpi $np train $data $opts -o "$T/again.st" 2>/dev/null
      cmp -s "$T/m$np.st" "$T/again.st" && ok || bad "$method: two runs on $np ranks differ"
    fi
  done
  [ "$method" = mihash ] || continue
  # checkpoints: written once by rank 0, resumed on any number of ranks
  # shellcheck disable=SC2086
  expect_code 0 "stop after 7 steps, np=2" run_mpi 2 train $data $opts --stop-after 7 \
    --checkpoint "$T/ck2"
  [ -s "$T/ck2" ] && ok || bad "checkpoint written"
  cp "$T/ck2" "$T/ck2.keep"
  # shellcheck disable=SC2086
  expect_code 0 "resume np=2" run_mpi 2 train $data $opts --resume "$T/ck2" -o "$T/r2.st"
  grep -q "resumed .* at step 7" "$T/err" && ok || bad "resume reports the step"
  cmp -s "$T/m2.st" "$T/r2.st" && ok || bad "2 ranks resumed differ from 2 ranks uninterrupted"
  # shellcheck disable=SC2086
  expect_code 0 "resume np=3" run_mpi 3 train $data $opts --resume "$T/ck2.keep" -o "$T/r3.st"
  close "$T/ref.st" "$T/r3.st" && ok || bad "2 ranks then 3 ranks too far from one process"
  # shellcheck disable=SC2086
  run_mpi 1 train $data $opts --stop-after 7 --checkpoint "$T/ck1" 2>/dev/null
  # shellcheck disable=SC2086
  expect_code 0 "resume np=1" run_mpi 1 train $data $opts --resume "$T/ck1" -o "$T/r1.st"
  d=$("$PY" "$DIFF" "$T/ref.st" "$T/r1.st")
  [ "${d%% *}" = 0 ] && ok || bad "1 rank stopped and resumed differs from l2h train ($d)"

  # failures: the rank and the file named, never a hang
  # shellcheck disable=SC2086
  expect_code 1 "missing data" run_mpi 3 train --data "$T/none.npy" --labels "$T/y.npy" $opts -o "$T/f.st"
  grep -q "rank [0-2]: .*none.npy" "$T/err" && ok || bad "missing data file named with its rank"
  # shellcheck disable=SC2086
  expect_code 1 "missing checkpoint" run_mpi 2 train $data $opts --resume "$T/none.ck" -o "$T/f.st"
  grep -q "rank [01]: .*none.ck" "$T/err" && ok || bad "missing checkpoint named with its rank"
  head -c 1000 "$T/ck2.keep" >"$T/trunc.ck"
  # shellcheck disable=SC2086
  expect_code 1 "truncated checkpoint" run_mpi 3 train $data $opts --resume "$T/trunc.ck" -o "$T/f.st"
  grep -q "rank [0-2]: .*trunc.ck: .*bytes" "$T/err" && ok || bad "truncated checkpoint named"
  # shellcheck disable=SC2086
  expect_code 1 "foreign checkpoint" run_mpi 2 train $data $opts --seed 5 --resume "$T/ck2.keep" -o "$T/f.st"
  grep -q "other seed" "$T/err" && ok || bad "a checkpoint of another run is refused"
  # shellcheck disable=SC2086
  expect_code 1 "unwritable checkpoint" run_mpi 2 train $data $opts --stop-after 2 \
    --checkpoint "$T/nodir/ck"
  grep -q "rank 0: .*nodir/ck" "$T/err" && ok || bad "unwritable checkpoint named"
  # shellcheck disable=SC2086
  expect_code 2 "stop-after without checkpoint" run_mpi 2 train $data $opts --stop-after 2
  # shellcheck disable=SC2086
  expect_code 2 "bad model kind" run_mpi 2 train $data $opts --model rnn -o "$T/f.st"
  # shellcheck disable=SC2086
  L2H_MPI_TEST_DIE_STEP=1 run_mpi 3 train $data $opts -o "$T/f.st" >"$T/out" 2>"$T/err"
  got=$?
  [ "$got" -ne 0 ] && [ "$got" -ne 124 ] && ok || bad "a rank killed mid-training ends the job (exit $got; 124 = hang)"
  grep -q "rank 1" "$T/err" && ok || bad "mpirun names the killed rank"
done

finish
