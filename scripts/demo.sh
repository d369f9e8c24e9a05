#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install packages, build, and run a workflow on
# the embedded default model (models/tiny-calc) on the CPU: three reviewer agents solve one
# arithmetic word problem concurrently with calculator tool calls on one shared engine, then
# a checker reads their answers (workflows/examples/team_review.yaml).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh build
./build/cli/agentrt info
./build/cli/agentrt validate workflows/examples/team_review.yaml
./build/cli/agentrt run workflows/examples/team_review.yaml "$@"
