#!/usr/bin/env bash
# Vendors the dashboard's chart library (uPlot) from npm at build time: `npm ci` of the
# pinned api/dashboard/package-lock.json in a scratch directory under the build tree, then
# copies the two files the page loads into OUT_DIR. Run by CMake (api/CMakeLists.txt) when
# the lock file changes; the files are then embedded into the agentrt binary. --prefer-offline:
# the npm cache serves a machine that has vendored once, without the registry.
# Usage: api/dashboard/vendor.sh SOURCE_DIR(api/dashboard) OUT_DIR
set -euo pipefail
src=$1
out=$2
npm_dir="$out/npm"
mkdir -p "$npm_dir"
cp "$src/package.json" "$src/package-lock.json" "$npm_dir/"
command -v npm >/dev/null || { echo "dashboard: npm not found (scripts/setup.sh installs it)" >&2; exit 1; }
(cd "$npm_dir" && npm ci --prefer-offline --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null)
cp "$npm_dir/node_modules/uplot/dist/uPlot.iife.min.js" "$out/uPlot.iife.min.js"
cp "$npm_dir/node_modules/uplot/dist/uPlot.min.css" "$out/uPlot.min.css"
cp "$npm_dir/node_modules/uplot/LICENSE" "$out/uPlot.LICENSE.txt"
