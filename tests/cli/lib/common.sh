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
