#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install packages, build, and run a workflow on
# the embedded default model (models/tiny-calc) on the CPU: three reviewer agents solve one
# arithmetic word problem concurrently with calculator tool calls on one shared engine, then
# a checker reads their answers (workflows/examples/team_review.yaml). Then the same workflow
# as a durable job on `agentrt serve`, over REST.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh build
./build/cli/agentrt info
./build/cli/agentrt validate workflows/examples/team_review.yaml
./build/cli/agentrt run workflows/examples/team_review.yaml "$@"

# The same workflow as a durable job on `agentrt serve` (docs/api.md): submit it over REST,
# stream its events, read its outputs, stop the server with SIGTERM.
data=$(mktemp -d)
./build/cli/agentrt serve --port 0 --data "$data" --workflows workflows/examples 2>"$data/log" &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -rf "$data"' EXIT
port=
for _ in $(seq 1 600); do
  port=$(sed -n 's#.*serving on http://127.0.0.1:\([0-9]*\).*#\1#p' "$data/log" | head -n 1)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { cat "$data/log"; exit 1; }
url="http://127.0.0.1:$port"
job=$(curl -fsS -X POST "$url/v1/jobs" -d '{"workflow": "team_review"}' | jq -r .id)
echo "== agentrt serve on $url: job $job"
curl -fsSN "$url/v1/jobs/$job/events" | sed -n 's/^event: //p' | paste -sd' ' -
curl -fsS "$url/v1/jobs/$job" | jq '{state, outputs, steps: [.steps[] | {id, tokens, kv_reused_tokens}]}'
kill -TERM "$server"
wait "$server"
