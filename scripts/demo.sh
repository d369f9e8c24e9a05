#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install packages, build, and generate on the CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh build
./build/cli/agentrt info
./build/cli/agentrt generate --tokens "1 17 42 99 3 200 7" --max-tokens 24 --temperature 0 \
  --ignore-eos "$@"
