#!/usr/bin/env bash
# Runs the real-client tests (tests/clients/*.test.mjs: the openai npm package, LangGraph +
# LangChain's ChatOpenAI, the Vercel AI SDK, a Prometheus parser on /metrics) against a fresh
# `agentrt serve` with tiny-calc on a free port, then stops it. Exit status: node's.
# Needs node >= 20 and tests/clients/node_modules (`npm ci` in tests/clients; scripts/test.sh
# does it in its setup stage).
# Usage: tests/clients/run.sh AGENTRT_BINARY SOURCE_DIR [node --test args...]
# With AGENTRT_CLIENTS_NODES=N the server is a cluster coordinator (--cluster-port 0) with N
# `agentrt node` workers joined, so every completion runs on a worker (docs/cluster.md);
# AGENTRT_CLIENTS_FILES names the test files to run (default: all).
set -euo pipefail
bin=$1
src=$2
shift 2
dir="$src/tests/clients"
command -v node >/dev/null || { echo "clients: node not found (Node 20+ is needed)"; exit 1; }
[ -d "$dir/node_modules" ] || {
  echo "clients: $dir/node_modules is missing: run 'npm ci' in tests/clients first"
  exit 1
}
tmp=$(mktemp -d)
pid=
nodes=()
cleanup() {
  for n in "${nodes[@]}"; do kill -9 "$n" 2>/dev/null || true; done
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
: >"$tmp/log"  # exists before the server's shell opens it: the port poll reads it at once
cluster=()
if [ "${AGENTRT_CLIENTS_NODES:-0}" -gt 0 ]; then
  head -c 32 /dev/urandom | base64 >"$tmp/secret"
  cluster=(--cluster-port 0 --cluster-secret-file "$tmp/secret")
fi
"$bin" serve --port 0 --data "$tmp/data" --model "$src/models/tiny-calc" --thinking off \
  --threads 2 "${cluster[@]}" 2>"$tmp/log" &
pid=$!
port=
for _ in $(seq 1 600); do
  port=$(sed -n 's#.*serving on http://127.0.0.1:\([0-9]*\).*#\1#p' "$tmp/log" | head -n 1 || true)
  [ -n "$port" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$tmp/log"; echo "clients: the server exited"; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { cat "$tmp/log"; echo "clients: the server did not start"; exit 1; }
url="http://127.0.0.1:$port"
for i in $(seq 1 "${AGENTRT_CLIENTS_NODES:-0}"); do
  cport=$(sed -n 's#.*workers join at 127.0.0.1:\([0-9]*\).*#\1#p' "$tmp/log" | head -n 1)
  "$bin" node --join "127.0.0.1:$cport" --secret-file "$tmp/secret" --name "worker$i" \
    --model "$src/models/tiny-calc" --threads 2 2>"$tmp/node$i.log" &
  nodes+=($!)
  for _ in $(seq 1 300); do grep -q "'worker$i' joined" "$tmp/log" && break; sleep 0.1; done
  grep -q "'worker$i' joined" "$tmp/log" || { cat "$tmp/node$i.log"; echo "clients: worker$i did not join"; exit 1; }
done
ready=
for _ in $(seq 1 300); do
  if node -e "fetch('$url/readyz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"; then
    ready=1
    break
  fi
  sleep 0.1
done
[ -n "$ready" ] || { cat "$tmp/log"; echo "clients: $url/readyz never answered 200"; exit 1; }
echo "clients: node $(node --version) against $url"
rc=0
files=${AGENTRT_CLIENTS_FILES:-./*.test.mjs}
# shellcheck disable=SC2086 # the file list is a glob or names
(cd "$dir" && AGENTRT_URL="$url" AGENTRT_CLIENTS_NODES="${AGENTRT_CLIENTS_NODES:-0}" \
  node --test --test-concurrency=1 "$@" $files) || rc=$?
# The server must have survived the clients and must stop cleanly on SIGTERM.
srv=0
if kill -0 "$pid" 2>/dev/null; then
  kill -TERM "$pid"
  wait "$pid" || srv=$?
  [ "$srv" = 0 ] || echo "clients: serve exited $srv after SIGTERM"
else
  wait "$pid" || srv=$?
  echo "clients: the server died during the tests (exit $srv)"
  [ "$srv" != 0 ] || srv=1
fi
pid=
if [ "$rc" != 0 ] || [ "$srv" != 0 ]; then
  echo "clients: node --test exited $rc; server log (last 200 lines):"
  tail -n 200 "$tmp/log"
  [ "$rc" != 0 ] || rc=1
fi
exit "$rc"
