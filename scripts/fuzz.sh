#!/usr/bin/env bash
# Builds the libFuzzer targets (engine/**/*.fuzz.cpp, workflows/**/*.fuzz.cpp) with clang,
# ASan and UBSan, and runs each for SECONDS (default 60). A crash leaves its input in build-fuzz/crashes/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DAGENTRT_FUZZ=ON \
  -DAGENTRT_SANITIZE=address,undefined -DAGENTRT_BUILD_TESTS=OFF -DAGENTRT_BUILD_BENCH=OFF \
  -DAGENTRT_CUDA=OFF -DCMAKE_BUILD_TYPE=Debug >/dev/null
targets=$(cd build-fuzz && ninja -t targets all | grep -o '^fuzz_[A-Za-z0-9_]*' | sort -u)
[ -n "$targets" ] || { echo "fuzz: no fuzz targets"; exit 1; }
cmake --build build-fuzz -j"$(nproc)" --target $targets
mkdir -p build-fuzz/crashes
for t in $targets; do
  corpus=build-fuzz/corpus/$t
  mkdir -p "$corpus"
  echo "== $t for ${seconds}s"
  ./build-fuzz/$t -max_total_time="$seconds" -artifact_prefix=build-fuzz/crashes/ \
    -print_final_stats=1 "$corpus" 2>&1 | tail -n 4
done
