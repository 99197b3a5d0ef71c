#!/bin/sh
# The shared library exports exactly the functions the public headers declare with L2H_API
# (issue 14, item 14): no internal symbol leaks, no declared function is missing.
# $1 = libl2h.so, $2 = include folder.
lib=$1; inc=$2
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
nm -D --defined-only "$lib" | awk '$2 == "T" || $2 == "D" || $2 == "B" || $2 == "R" { print $3 }' |
  sed 's/@.*//' | sort -u > "$T/exported"
# declarations: the identifier before the first '(' of every L2H_API declaration (joined lines)
cat "$inc"/l2h/*.h | grep -v '^[[:space:]]*#' | perl -0777 -pe 's{/\*.*?\*/}{ }gs; s{//[^\n]*}{}g' | tr '\n' ' ' |
  tr ';{}' '\n\n\n' | grep 'L2H_API' | grep '(' |
  sed 's/(.*//' | awk '{ print $NF }' | tr -d '*' | sort -u > "$T/declared"
[ -s "$T/exported" ] && [ -s "$T/declared" ] || { echo "FAIL: no symbols read"; exit 1; }
extra=$(comm -23 "$T/exported" "$T/declared"); missing=$(comm -13 "$T/exported" "$T/declared")
[ -z "$extra" ] || { echo "FAIL: exported but not declared in include/l2h:"; echo "$extra"; }
[ -z "$missing" ] || { echo "FAIL: declared but not exported:"; echo "$missing"; }
echo "$(wc -l < "$T/declared") declared, $(wc -l < "$T/exported") exported"
[ -z "$extra" ] && [ -z "$missing" ]
