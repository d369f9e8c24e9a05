#!/usr/bin/env bash
# End-to-end KV restore through `agentrt serve` (bench/RESULTS.md, issue 14): one job whose
# agent has a long system prompt (~LINES x 60 characters) runs on a server, which then
# stops (writing its KV to the store); a new server process on the same data dir runs the
# same job (its KV comes back from the store), and a server on a fresh data dir runs it
# again (recompute). Reports the step's elapsed time and kv_reused_tokens of each, ROUNDS
# times, and checks that the outputs are equal.
# Usage: bench/serve_restore.sh AGENTRT [ROUNDS=3]   Env: LINES=40, THREADS=2, OUT=dir
set -euo pipefail
agentrt=$(realpath "$1")
rounds=${2:-3}
tmp=$(mktemp -d /tmp/agentrt-serve-restore.XXXXXX)
out=${OUT:-$tmp}
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"/data-*' EXIT

start() {  # start DATA_DIR: sets pid, url and ready (seconds until /readyz answers)
  local t0 log=$out/serve-$(basename "$1").log port=
  t0=$(date +%s.%N)
  : >"$log"
  "$agentrt" serve --port 0 --data "$1" --threads "${THREADS:-2}" 2>>"$log" &
  pid=$!
  until [ -n "$port" ]; do
    kill -0 "$pid" || { cat "$log"; exit 1; }
    sleep 0.05
    port=$(sed -n 's/.*serving on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -1)
  done
  url=http://127.0.0.1:$port
  until curl -fsS "$url/readyz" >/dev/null 2>&1; do sleep 0.05; done
  ready=$(echo "$(date +%s.%N) - $t0" | bc)
}
stop() { kill -TERM "$pid"; wait "$pid"; pid=; }
run_job() {  # prints the job's first step as {elapsed, kv_reused_tokens, tokens} and outputs
  local id
  id=$(curl -fsS -X POST "$url/v1/jobs" -H 'Content-Type: application/json' -d @"$tmp/body.json" |
    jq -r .id)
  until [ "$(curl -fsS "$url/v1/jobs/$id" | jq -r .state)" = succeeded ]; do sleep 0.05; done
  curl -fsS "$url/v1/jobs/$id" |
    jq -c '{elapsed: .steps[0].elapsed, kv_reused_tokens: .steps[0].kv_reused_tokens, tokens: .steps[0].tokens, outputs}'
}

manual=$(for i in $(seq "${LINES:-40}"); do
  printf '      Rule %d: write each operation as a calculator call, then read its result.\n' "$i"
done)
yaml="name: long-system
tools:
  calculator: { builtin: calculator }
agents:
  solver:
    system: |
      You solve arithmetic word problems. Use the calculator tool for every operation,
      then give the final line as 'Answer: N'.
$manual
    tools: [calculator]
    sampling: { temperature: 0, max_tokens: 64 }
    max_turns: 4
steps:
  - id: solve
    agent: solver
    input: Sam has 7 apples and buys 8 more. How many apples does Sam have?
outputs:
  answer: '{{ steps.solve.output }}'
"
jq -n --arg y "$yaml" '{yaml: $y}' >"$tmp/body.json"

echo "system prompt: $(wc -c <<<"$manual") characters of rules; load average $(cut -d' ' -f1-3 /proc/loadavg)"
start "$tmp/data-kept"
first=$(run_job)
stop
echo "first run (fills the store):       $first"
for r in $(seq "$rounds"); do
  start "$tmp/data-fresh-$r"
  ready_fresh=$ready
  recompute=$(run_job)
  stop
  start "$tmp/data-kept"
  restore=$(run_job)
  stop
  echo "round $r recompute (fresh dir, ready ${ready_fresh}s): $recompute"
  echo "round $r restore (same dir, ready ${ready}s):  $restore"
  echo "round $r restore / recompute elapsed: $(jq -n --argjson a "$restore" --argjson b "$recompute" '$a.elapsed / $b.elapsed')"
  [ "$(jq -c .outputs <<<"$restore")" = "$(jq -c .outputs <<<"$first")" ] &&
    [ "$(jq -c .outputs <<<"$recompute")" = "$(jq -c .outputs <<<"$first")" ] ||
    { echo "FAIL: outputs differ"; exit 1; }
done
echo "load average $(cut -d' ' -f1-3 /proc/loadavg); outputs equal in every run"
