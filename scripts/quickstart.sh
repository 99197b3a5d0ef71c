#!/usr/bin/env bash
# Quick start: install what is missing (Debian 12, as root or with sudo), build, then
#   demo  -> run `l2h demo` (Fashion-MNIST, every method)
#   test  -> run the whole test suite (release build, then the sanitizer build)
# Idempotent: packages already installed are not touched and the build is incremental.
set -euo pipefail
mode=${1:-demo}
case "$mode" in demo|test) ;; *) echo "usage: $0 demo|test" >&2; exit 2 ;; esac
cd "$(dirname "$0")/.."

pkgs=(cmake make gcc pkg-config libopenblas-dev liblapacke-dev libcjson-dev zlib1g-dev
      libjpeg62-turbo-dev libpng-dev
      dataset-fashion-mnist gnuplot-nox)
[ "$mode" = test ] && pkgs+=(python3-numpy g++ perl openmpi-bin libopenmpi-dev)
# the Python package (python/) and its tests: cffi builds the extension against python3-dev
[ "$mode" = test ] && pkgs+=(python3-dev python3-cffi python3-pytest python3-matplotlib python3-faiss)
pkgs+=(libmicrohttpd-dev)                   # l2hd, the retrieval service
[ "$mode" = test ] && pkgs+=(chromium)   # l2hd's status page test in a real browser
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "quickstart: installing ${missing[*]}" >&2
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >&2
fi

jobs=$(nproc 2>/dev/null || echo 2)
build() { # preset [extra cmake options]
  cmake --preset "$@" >/dev/null
  cmake --build --preset "$1" -j "$jobs" >&2
}

if [ "$mode" = demo ]; then
  build release
  exec ./build/release/l2h demo
fi

# release (-Werror), then the sanitizer build (-Werror, ASan+UBSan, allocation-failure
# injection on), then the ThreadSanitizer build of the concurrency test alone
t0=$(date +%s)
build release -DL2H_MPI=ON   # the tests also run l2h-mpi under mpirun (tests/mpi)
ctest --preset release
# Python package: build the extension in place against build/release, run its tests with
# Debian's interpreter (pytest exit 5 = no tests collected: a failure here, not a pass)
cmake --build --preset release --target python >&2
set +e
/usr/bin/python3 -m pytest -q -p no:cacheprovider python/tests
rc=$?
set -e
if [ "$rc" -eq 5 ]; then echo "quickstart: pytest collected no Python tests" >&2; exit 1; fi
[ "$rc" -eq 0 ] || exit "$rc"
build asan
ctest --preset asan
cmake --preset tsan >/dev/null
cmake --build --preset tsan -j "$jobs" --target test_index_concurrent l2hd >&2
ctest --preset tsan
echo "quickstart test: $(( $(date +%s) - t0 )) s on $jobs cores (load: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
