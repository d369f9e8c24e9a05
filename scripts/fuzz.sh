#!/usr/bin/env bash
# Builds the libFuzzer targets (every NAME.fuzz.cpp under engine/, workflows/, cli/, api/,
# cluster/ and actors/: cmake/Fuzz.cmake) with clang, ASan and UBSan in build-fuzz/, and runs
# each for SECONDS (default 60). With FUZZ_BUILD=DIR it uses an existing build directory
# configured with -DAGENTRT_FUZZ=ON instead (scripts/test.sh passes its clang ASan build,
# which builds the targets with the tests). Each target starts from the committed seeds
# tests/fuzz/corpus/NAME/, copied into its working corpus DIR/corpus/fuzz_NAME/ (which keeps
# what runs find; DIR is build-fuzz or FUZZ_BUILD). A crash leaves its input in
# DIR/crashes/; the script then fails after running the other targets.
# Usage: [FUZZ_JOBS=N] [FUZZ_BUILD=DIR] scripts/fuzz.sh [SECONDS [TARGET...]]   (SECONDS 0:
# build only; TARGET: fuzz_NAME; FUZZ_JOBS: targets fuzzed at once, default 1)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
dir=${FUZZ_BUILD:-build-fuzz}
if [ -z "${FUZZ_BUILD:-}" ]; then
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DAGENTRT_FUZZ=ON \
    -DAGENTRT_SANITIZE=address,undefined -DAGENTRT_BUILD_TESTS=OFF -DAGENTRT_BUILD_BENCH=OFF \
    -DAGENTRT_CUDA=OFF -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS=-O1 -fsanitize=fuzzer-no-link" \
    >/dev/null
fi
[ -f "$dir/build.ninja" ] || { echo "fuzz: $dir is not a configured build directory"; exit 1; }
if [ $# -gt 0 ]; then
  targets="$*"
else
  targets=$(cd $dir && ninja -t targets all | grep -o '^fuzz_[A-Za-z0-9_]*' | sort -u)
fi
[ -n "$targets" ] || { echo "fuzz: no fuzz targets"; exit 1; }
cmake --build $dir -j"$(nproc)" --target $targets
[ "$seconds" != 0 ] || exit 0
mkdir -p $dir/crashes
# FUZZ_JOBS targets run at once (default 1); each writes $dir/NAME.log.
jobs=${FUZZ_JOBS:-1}
fuzz_one() {
  local t=$1 corpus=$dir/corpus/$1
  mkdir -p "$corpus"
  local seeds=tests/fuzz/corpus/${t#fuzz_}
  [ -d "$seeds" ] && cp -n "$seeds"/* "$corpus"/ 2>/dev/null || true
  echo "== $t for ${seconds}s ($(ls "$corpus" | wc -l) inputs in the corpus)" >$dir/$t.head
  "$dir/$t" -max_total_time="$seconds" -artifact_prefix=$dir/crashes/ \
    -print_final_stats=1 "$corpus" >$dir/$t.log 2>&1
}
running=0
for t in $targets; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  rm -f "$dir/$t.ok"
  (fuzz_one "$t" && touch "$dir/$t.ok") &
  running=$((running + 1))
done
wait
failed=""
for t in $targets; do
  cat $dir/$t.head
  if [ ! -e "$dir/$t.ok" ]; then
    failed="$failed $t"
    tail -n 40 $dir/$t.log
  fi
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done)' $dir/$t.log || true
done
[ -z "$failed" ] || { echo "fuzz: crashes in:$failed (inputs in $dir/crashes/)"; exit 1; }
