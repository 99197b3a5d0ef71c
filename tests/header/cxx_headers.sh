#!/bin/sh
# The public headers compile as C++ (issue 14, item 14): every include/l2h/*.h on its own and the
# umbrella header, with -Wall -Wextra -Werror -pedantic, as C++11 and C++17. $1 = include folder.
# A missing C++ compiler is a skip (77): quickstart.sh installs g++ for the tests.
inc=$1
# Item 12: every installed header starts with the SPDX licence line (l2h/image.h lacked it).
for h in "$inc"/l2h/*.h; do
  head -n 1 "$h" | grep -q 'SPDX-License-Identifier: MIT' || { echo "FAIL: no SPDX line in $h"; exit 1; }
done
CXX=${CXX:-c++}
command -v "$CXX" >/dev/null 2>&1 || { echo "skipped: no C++ compiler ($CXX)"; exit 77; }
n=0; fail=0
for std in c++11 c++17; do
  for h in "$inc"/l2h/*.h; do
    printf '#include <l2h/%s>\nint main() { return 0; }\n' "$(basename "$h")" |
      "$CXX" -std=$std -Wall -Wextra -Werror -pedantic -I"$inc" -x c++ -fsyntax-only - ||
      { echo "FAIL: $h as $std"; fail=$((fail + 1)); }
    n=$((n + 1))
  done
done
echo "$((n - fail)) passed, $fail failed"
[ "$n" -gt 0 ] && [ "$fail" -eq 0 ]
