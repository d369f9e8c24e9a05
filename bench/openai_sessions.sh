#!/usr/bin/env bash
# Agent sessions under KV pressure (bench/RESULTS.md, issue 15): for each session-pin mode
# (off: unpin at the end of each response, as vLLM does; predict: TTL from the gaps seen;
# fixed: one TTL), start `agentrt serve` on a fresh data dir with few KV blocks, run
# bench/openai_sessions.mjs (CLIENTS concurrent clients, each CONVERSATIONS tool loops on
# tiny-calc with a simulated tool latency), stop the server. ROUNDS rounds, the mode order
# rotated each round (the machine's load drifts). Then print a table with each mode as a
# ratio to off and write the JSON.
# Usage: bench/openai_sessions.sh [AGENTRT=build/cli/agentrt]
# Env: MODES="off predict fixed", ROUNDS=1, CLIENTS=16, CONVERSATIONS=2, KV_BLOCKS=160,
#      THREADS=2, TTL=30 (fixed mode's TTL, seconds), LATENCY_MS=200-800, SLOW=0:0-0
#      (share:range of tool runs that take longer), ABANDON=0 (share of tool-call replies
#      after which the client gives up), OPS=2-3, SEED=1, MAX_TOKENS=96,
#      SERVE_ARGS="" (more serve flags), OUT=bench/results/openai_sessions.json
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
agentrt=$(realpath "${1:-$here/../build/cli/agentrt}")
out=${OUT:-$here/results/openai_sessions.json}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/openai-sessions-bench.XXXXXX")
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"/data-* "$tmp/agentrt"' EXIT
# A copy: a build running meanwhile must not swap the binary between modes.
cp "$agentrt" "$tmp/agentrt"

start() {  # start MODE TAG: sets pid and url
  local log=$tmp/serve-$2.log port='' extra=()
  [ "$1" = fixed ] && extra=(--session-ttl "${TTL:-30}")
  # shellcheck disable=SC2086
  "$tmp/agentrt" serve --port 0 --data "$tmp/data-$2" --threads "${THREADS:-2}" \
    --kv-blocks "${KV_BLOCKS:-160}" --thinking off --session-pins "$1" "${extra[@]}" \
    ${SERVE_ARGS:-} 2>>"$log" &
  pid=$!
  until [ -n "$port" ]; do
    kill -0 "$pid" 2>/dev/null || { cat "$log"; exit 1; }
    sleep 0.05
    port=$(sed -n 's/.*serving on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -1)
  done
  url=http://127.0.0.1:$port
  until curl -fsS "$url/readyz" >/dev/null 2>&1; do sleep 0.05; done
}
stop() { kill -TERM "$pid"; wait "$pid" || true; pid=; }

echo "agentrt $agentrt; $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "clients ${CLIENTS:-16} x ${CONVERSATIONS:-2} conversations, kv-blocks ${KV_BLOCKS:-160}," \
  "threads ${THREADS:-2}, tool latency ${LATENCY_MS:-200-800} ms (slow ${SLOW:-0:0-0})," \
  "abandon ${ABANDON:-0}, ops ${OPS:-2-3}, fixed TTL ${TTL:-30} s, serve args '${SERVE_ARGS:-}'"
read -ra modes <<<"${MODES:-off predict fixed}"
runs=()
for round in $(seq "${ROUNDS:-1}"); do
  for i in "${!modes[@]}"; do
    mode=${modes[$(((i + round - 1) % ${#modes[@]}))]}
    start "$mode" "$mode-$round"
    node "$here/openai_sessions.mjs" --url "$url" --label "$mode" --clients "${CLIENTS:-16}" \
      --conversations "${CONVERSATIONS:-2}" --seed "${SEED:-1}" \
      --latency-ms "${LATENCY_MS:-200-800}" --slow "${SLOW:-0:0-0}" --abandon "${ABANDON:-0}" \
      --ops "${OPS:-2-3}" --max-tokens "${MAX_TOKENS:-96}" --out "$tmp/run-$mode-$round.json" \
      >/dev/null
    stop
    echo "round $round $mode: $(jq -c '{conversations, errors, mean_seconds, p90_seconds,
      reprefilled_tokens}' "$tmp/run-$mode-$round.json") load $(cut -d' ' -f1 /proc/loadavg)"
    runs+=("$tmp/run-$mode-$round.json")
  done
done
mkdir -p "$(dirname "$out")"
node "$here/openai_sessions.mjs" --summarize "${runs[@]}" --out "$out"
echo "wrote $out"
