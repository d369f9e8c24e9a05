#!/usr/bin/env bash
# The crash test's benchmark version (issue 14): 100 kill -9 cycles, 30 jobs. Usage: bench/crash_bench.sh AGENTRT [ARGS]
a=$(realpath "$1") && cd "$(dirname "$0")/.." && exec /usr/bin/time -f "wall %e s" python3 tests/crash_test.py "$a" . --cycles 100 --jobs 30 "${@:2}"
