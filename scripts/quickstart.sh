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
      dataset-fashion-mnist gnuplot-nox)
[ "$mode" = test ] && pkgs+=(python3-numpy openmpi-bin libopenmpi-dev)
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

build release -DL2H_MPI=ON   # the tests also run l2h-mpi under mpirun (tests/mpi)
ctest --preset release
build asan
ctest --preset asan
