#!/usr/bin/env bash
# jinja_golden ctest: renders the golden cases with @huggingface/jinja (node), then checks the
# C++ interpreter against them. Usage: run.sh GTEST_BINARY OUTDIR
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ ! -d "$here/node_modules/@huggingface/jinja" ]; then
  echo "jinja_golden: $here/node_modules is missing: run 'npm ci' in tests/jinja" >&2
  exit 1
fi
node "$here/render.mjs" "$2"
JINJA_GOLDEN_FILE="$2/expected.jsonl" exec "$1"
