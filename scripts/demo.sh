#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install packages, build, and run the embedded
# default model (models/tiny-calc) on the CPU: it reads an arithmetic word problem and
# answers with a calculator tool call.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh build
./build/cli/agentrt info
./build/cli/agentrt generate --chat @models/tiny-calc/examples/beads.json --thinking off \
  --temperature 0 --max-tokens 96 "$@"
