#!/bin/sh
# check_deps.sh SRC_DIR BUILD_SRC_DIR -- the module dependency rules, checked on the object files.
# 1. The rules: each `l2h_module(NAME DEPS ...)` line of src/CMakeLists.txt; the module table of
#    docs/DESIGN.md must state exactly the same dependencies (so the document stays true).
# 2. The code: for every module, each l2h_* symbol its object files leave undefined (`nm -u`) must
#    be defined by the module itself or by one of its declared DEPS. A call into another module
#    compiles whenever the callee is declared in a public header, so only this catches it.
# Exit 0 if both hold, 1 with every violation listed otherwise, 77 (skip) without nm.
set -u
SRC=$1
OBJ=$2
command -v nm >/dev/null 2>&1 || { echo "skip: nm not found"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0

# module -> deps, from CMake (the build's rules)
sed -n 's/^l2h_module(\([a-z]*\) *\(.*\))$/\1 \2/p' "$SRC/src/CMakeLists.txt" |
  awk '{ m = $1; d = ""; on = 0
         for (i = 2; i <= NF; i++) { if ($i == "DEPS") { on = 1; continue }
                                     if ($i == "LIBS") { on = 0; continue }
                                     if (on) d = d " " $i }
         print m ":" d }' | sort > "$T/cmake"
[ -s "$T/cmake" ] || { echo "FAIL: no l2h_module lines in src/CMakeLists.txt"; exit 1; }

# module -> deps, from DESIGN.md's table: | `name` | dep, dep | ... |   ("nothing" = none)
awk -F'|' '/^\| `[a-z]+` \|/ { m = $2; gsub(/[ `]/, "", m); d = $3; gsub(/[ `]/, "", d)
             if (d == "nothing") d = ""; gsub(/,/, " ", d); print m ": " d }' "$SRC/docs/DESIGN.md" |
  awk -F': ' '{ n = split($2, a, " "); for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
                  if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
                s = ""; for (i = 1; i <= n; i++) s = s " " a[i]; print $1 ":" s }' | sort > "$T/design"
awk -F: '{ n = split($2, a, " "); for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
             if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
           s = ""; for (i = 1; i <= n; i++) s = s " " a[i]; print $1 ":" s }' "$T/cmake" | sort > "$T/cmake_sorted"
if ! cmp -s "$T/cmake_sorted" "$T/design"; then
  echo "FAIL: docs/DESIGN.md's module table and src/CMakeLists.txt disagree (< CMake, > DESIGN.md):"
  diff "$T/cmake_sorted" "$T/design" | grep '^[<>]'
  fail=1
fi

# who defines what
: > "$T/defs"
for m in $(cut -d: -f1 "$T/cmake"); do
  dir="$OBJ/CMakeFiles/l2h_$m.dir"
  [ -d "$dir" ] || { echo "FAIL: no object files for module $m in $dir"; fail=1; continue; }
  find "$dir" -name '*.o' > "$T/objs_$m"
  [ -s "$T/objs_$m" ] || { echo "FAIL: module $m has no object files"; fail=1; continue; }
  xargs nm --defined-only < "$T/objs_$m" | awk -v m="$m" 'NF == 3 && $2 ~ /^[TDBR]$/ && $3 ~ /^l2h_/ { print $3, m }' >> "$T/defs"
done
sort -u "$T/defs" > "$T/defs_sorted"

# every undefined l2h_ symbol of a module: defined by itself or a declared dependency
: > "$T/und"
for m in $(cut -d: -f1 "$T/cmake"); do
  [ -s "$T/objs_$m" ] || continue
  # nm -A: "path/file.c.o:                 U symbol"
  xargs nm -A -u < "$T/objs_$m" |
    awk -v m="$m" '$2 == "U" && $3 ~ /^l2h_/ { f = $1; sub(/:$/, "", f); sub(/.*\//, "", f)
                                               sub(/\.o$/, "", f); print m, $3, f }' >> "$T/und"
done
checked=$(wc -l < "$T/und")
awk -v rules="$T/cmake" -v defs="$T/defs_sorted" '
  BEGIN { while ((getline l < rules) > 0) { split(l, p, ":"); allow[p[1]] = " " p[1] " " p[2] " "; dep[p[1]] = p[2] }
          while ((getline l < defs) > 0) { split(l, d, " "); owner[d[1]] = d[2] } }
  { m = $1; s = $2; f = $3
    if (!(s in owner)) { bad[m " uses " s ", which no module defines"] = 1; next }
    o = owner[s]
    if (index(allow[m], " " o " ") == 0) {
      k = "module " m " calls " s " of module " o
      where[k] = where[k] " " f; msg[k] = ", but " m " may use only:" dep[m] } }
  END { n = 0
        for (k in bad) { print "FAIL: " k; n++ }
        for (k in where) { print "FAIL: " k " (in" where[k] ")" msg[k]; n++ }
        exit n > 0 }' "$T/und" || fail=1
[ "$checked" -gt 0 ] || { echo "FAIL: no cross-module symbols checked (nothing was tested)"; exit 1; }
[ "$fail" -eq 0 ] && echo "module rules hold: $(wc -l < "$T/cmake") modules, $checked cross-file symbols checked"
exit "$fail"
