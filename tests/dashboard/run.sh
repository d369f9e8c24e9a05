#!/usr/bin/env bash
# The web dashboard in a real browser: starts a fresh `agentrt serve` with tiny-calc on a free
# port, then tests/dashboard/dashboard.test.mjs drives Debian's chromium with puppeteer-core
# (enter the API key, submit team_review through the form, watch it finish, check the DAG, the tool-call timeline
# and the KV pins against the REST API, an invalid workflow's diagnostics, the Engine page,
# no console errors) and saves a screenshot of each page into SCREENSHOT_DIR.
# Needs node >= 20, chromium (scripts/setup.sh) and tests/dashboard/node_modules (`npm ci` in
# tests/dashboard; scripts/test.sh does it in its setup stage).
# Usage: tests/dashboard/run.sh AGENTRT_BINARY SOURCE_DIR SCREENSHOT_DIR [node --test args...]
set -euo pipefail
bin=$1
src=$2
shots=$3
shift 3
dir="$src/tests/dashboard"
command -v node >/dev/null || { echo "dashboard: node not found (Node 20+ is needed)"; exit 1; }
browser=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
[ -n "$browser" ] || { echo "dashboard: chromium not found (scripts/setup.sh installs it)"; exit 1; }
[ -d "$dir/node_modules" ] || {
  echo "dashboard: $dir/node_modules is missing: run 'npm ci' in tests/dashboard first"
  exit 1
}
mkdir -p "$shots"
tmp=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
: >"$tmp/log"
# With an API key, entered through the page as a user would.
key="dashboard-test-key-$RANDOM$RANDOM$RANDOM"
echo "$key" >"$tmp/keys"
# The embedded dashboard is what is tested: no AGENTRT_DASHBOARD_DIR override.
env -u AGENTRT_DASHBOARD_DIR "$bin" serve --port 0 --data "$tmp/data" \
  --model "$src/models/tiny-calc" --threads 2 --api-key-file "$tmp/keys" 2>"$tmp/log" &
pid=$!
port=
for _ in $(seq 1 600); do
  port=$(sed -n 's#.*serving on http://127.0.0.1:\([0-9]*\).*#\1#p' "$tmp/log" | head -n 1 || true)
  [ -n "$port" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$tmp/log"; echo "dashboard: the server exited"; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { cat "$tmp/log"; echo "dashboard: the server did not start"; exit 1; }
url="http://127.0.0.1:$port"
echo "dashboard: $("$browser" --version 2>/dev/null || echo chromium) via node $(node --version) against $url"
rc=0
(cd "$dir" && AGENTRT_URL="$url" AGENTRT_API_KEY="$key" CHROMIUM="$browser" SCREENSHOT_DIR="$shots" \
  AGENTRT_SOURCE_DIR="$src" node --test --test-concurrency=1 "$@" ./*.test.mjs) || rc=$?
srv=0
if kill -0 "$pid" 2>/dev/null; then
  kill -TERM "$pid"
  wait "$pid" || srv=$?
  [ "$srv" = 0 ] || echo "dashboard: serve exited $srv after SIGTERM"
else
  wait "$pid" || srv=$?
  echo "dashboard: the server died during the test (exit $srv)"
  [ "$srv" != 0 ] || srv=1
fi
pid=
if [ "$rc" != 0 ] || [ "$srv" != 0 ]; then
  echo "dashboard: node --test exited $rc; server log (last 100 lines):"
  tail -n 100 "$tmp/log"
  [ "$rc" != 0 ] || rc=1
fi
echo "dashboard: screenshots in $shots"
exit "$rc"
