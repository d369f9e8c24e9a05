#!/usr/bin/env bash
# Runs every ```sh block of docs/api.md, in order, in one shell (set -euo pipefail), against a
# fresh `agentrt serve` on a free port, then stops it with SIGTERM and expects exit 0.
# Usage: tests/api_docs.sh AGENTRT_BINARY SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
tmp=$(mktemp -d)
pid=
cleanup() {
  [ -z "$pid" ] || kill -9 "$pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
"$bin" serve --port 0 --data "$tmp/data" --workflows "$src/workflows/examples" --threads 1 \
  --kv-blocks 512 2>"$tmp/log" &
pid=$!
port=
for _ in $(seq 1 600); do
  port=$(sed -n 's#.*serving on http://127.0.0.1:\([0-9]*\).*#\1#p' "$tmp/log" | head -n 1)
  [ -n "$port" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$tmp/log"; echo "api_docs: the server exited"; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { cat "$tmp/log"; echo "api_docs: the server did not start"; exit 1; }
awk '/^```sh$/ {on=1; next} /^```$/ {on=0} on' "$src/docs/api.md" >"$tmp/examples.sh"
blocks=$(grep -c '^```sh$' "$src/docs/api.md")
echo "api_docs: $blocks example blocks against port $port"
(cd "$src" && AGENTRT_URL="http://127.0.0.1:$port" bash -euo pipefail "$tmp/examples.sh") || {
  echo "api_docs: an example failed; server log:"
  cat "$tmp/log"
  exit 1
}
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=
[ "$rc" = 0 ] || { cat "$tmp/log"; echo "api_docs: serve exited $rc after SIGTERM"; exit 1; }
echo "api_docs: ok"
