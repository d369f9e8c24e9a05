#!/usr/bin/env bash
# Builds the libFuzzer targets (every NAME.fuzz.cpp under engine/, workflows/, cli/, api/ and
# cluster/: cmake/Fuzz.cmake) with clang, ASan and UBSan in build-fuzz/, and runs each for
# SECONDS (default 60). Each target
# starts from the committed seeds tests/fuzz/corpus/NAME/, copied into its working corpus
# build-fuzz/corpus/fuzz_NAME/ (which keeps what runs find). A crash leaves its input in
# build-fuzz/crashes/; the script then fails after running the other targets.
# Usage: [FUZZ_JOBS=N] scripts/fuzz.sh [SECONDS [TARGET...]]   (SECONDS 0: build only;
# TARGET: fuzz_NAME; FUZZ_JOBS: targets fuzzed at once, default 1)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DAGENTRT_FUZZ=ON \
  -DAGENTRT_SANITIZE=address,undefined -DAGENTRT_BUILD_TESTS=OFF -DAGENTRT_BUILD_BENCH=OFF \
  -DAGENTRT_CUDA=OFF -DCMAKE_BUILD_TYPE=Debug >/dev/null
if [ $# -gt 0 ]; then
  targets="$*"
else
  targets=$(cd build-fuzz && ninja -t targets all | grep -o '^fuzz_[A-Za-z0-9_]*' | sort -u)
fi
[ -n "$targets" ] || { echo "fuzz: no fuzz targets"; exit 1; }
cmake --build build-fuzz -j"$(nproc)" --target $targets
[ "$seconds" != 0 ] || exit 0
mkdir -p build-fuzz/crashes
# FUZZ_JOBS targets run at once (default 1); each writes build-fuzz/NAME.log.
jobs=${FUZZ_JOBS:-1}
fuzz_one() {
  local t=$1 corpus=build-fuzz/corpus/$1
  mkdir -p "$corpus"
  local seeds=tests/fuzz/corpus/${t#fuzz_}
  [ -d "$seeds" ] && cp -n "$seeds"/* "$corpus"/ 2>/dev/null || true
  echo "== $t for ${seconds}s ($(ls "$corpus" | wc -l) inputs in the corpus)" >build-fuzz/$t.head
  ./build-fuzz/$t -max_total_time="$seconds" -artifact_prefix=build-fuzz/crashes/ \
    -print_final_stats=1 "$corpus" >build-fuzz/$t.log 2>&1
}
running=0
for t in $targets; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  rm -f "build-fuzz/$t.ok"
  (fuzz_one "$t" && touch "build-fuzz/$t.ok") &
  running=$((running + 1))
done
wait
failed=""
for t in $targets; do
  cat build-fuzz/$t.head
  if [ ! -e "build-fuzz/$t.ok" ]; then
    failed="$failed $t"
    tail -n 40 build-fuzz/$t.log
  fi
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done)' build-fuzz/$t.log || true
done
[ -z "$failed" ] || { echo "fuzz: crashes in:$failed (inputs in build-fuzz/crashes/)"; exit 1; }
