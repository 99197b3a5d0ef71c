# common.sh -- sourced by the CLI scenarios (tests/cli/*.sh) right after their header comment:
# $1 = the l2h binary (as L2H), a temporary folder T removed on exit, pass/fail counters,
# ok / bad to count, and expect_code WANT WHAT CMD... which runs CMD with its stdout in $T/out
# and stderr in $T/err and checks the exit code.
set -u
L2H=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0; fail=0
ok()   { pass=$((pass + 1)); }
bad()  { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
expect_code() { # expected-code description command...
  want=$1; what=$2; shift 2
  "$@" >"$T/out" 2>"$T/err"; got=$?
  if [ "$got" -eq "$want" ]; then ok; else bad "$what: exit $got, wanted $want"; cat "$T/err" >&2; fi
}
# skip WHY: the scenario cannot run here (missing data); exit 77, which ctest reports as a skip
# (SKIP_RETURN_CODE) instead of a pass.
skip() { echo "skipped: $*"; exit 77; }
# finish: the closing line; a scenario that checked nothing fails.
finish() {
  echo "$pass passed, $fail failed"
  if [ $((pass + fail)) -eq 0 ]; then echo "no checks ran" >&2; exit 1; fi
  [ "$fail" -eq 0 ]
}
