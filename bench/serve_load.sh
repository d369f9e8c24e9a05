#!/usr/bin/env bash
# Load benchmark of `agentrt serve` with wrk on loopback (bench/RESULTS.md, issue 14):
#   (a) status reads: GET /v1/jobs/{id} of a finished job, next to GET /healthz (the HTTP
#       layer alone) with the same wrk settings in the same run;
#   (b) small job submissions (one step, one turn of 8 tokens on tiny-calc) by 10x as many
#       connections as the server has job slots (--max-running-jobs + --max-queued-jobs):
#       past capacity it must answer 429 with Retry-After. Afterwards every accepted (201)
#       job must finish and the server must still be up. Baseline in the same run: POST
#       /v1/workflows/validate of the same YAML (parsed and checked, nothing stored).
# Usage: bench/serve_load.sh AGENTRT [SECONDS=10]   (run from the repository root)
# Env: RUNNING=2 QUEUED=4 THREADS=1 (server), OUT=dir for the raw wrk output.
set -euo pipefail
agentrt=$(realpath "$1")
secs=${2:-10}
running=${RUNNING:-2}
queued=${QUEUED:-4}
capacity=$((running + queued))
conns=$((10 * capacity))
command -v wrk >/dev/null || { echo "wrk missing: apt-get install -y wrk" >&2; exit 1; }
tmp=$(mktemp -d /tmp/agentrt-serve-load.XXXXXX)
out=${OUT:-$tmp}
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$tmp/data"
}
trap cleanup EXIT

"$agentrt" serve --port 0 --data "$tmp/data" --threads "${THREADS:-1}" \
  --max-running-jobs "$running" --max-queued-jobs "$queued" \
  --max-jobs-per-client $((4 * capacity)) 2>"$out/serve.log" &
server_pid=$!
for _ in $(seq 600); do
  port=$(sed -n 's/.*serving on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$out/serve.log" | head -1)
  [ -n "$port" ] && break
  kill -0 "$server_pid" || { cat "$out/serve.log"; exit 1; }
  sleep 0.1
done
url=http://127.0.0.1:$port
until curl -fsS "$url/readyz" >/dev/null 2>&1; do sleep 0.1; done

yaml='name: load-tiny
agents:
  short:
    system: Answer briefly.
    sampling: { temperature: 0, max_tokens: 8 }
    max_turns: 1
steps:
  - id: answer
    agent: short
    input: What is 2 + 3?
outputs:
  answer: "{{ steps.answer.output }}"
'
jq -n --arg y "$yaml" '{yaml: $y}' >"$tmp/body.json"
state() { curl -fsS "$url/v1/jobs/$1" | jq -r .state; }
all_jobs() {  # every job's {id, state}, following next_cursor
  local cursor="" page
  while :; do
    page=$(curl -fsS "$url/v1/jobs?limit=1000${cursor:+&cursor=$cursor}")
    jq -c '.jobs[] | {id, state}' <<<"$page"
    cursor=$(jq -r '.next_cursor // empty' <<<"$page")
    [ -n "$cursor" ] || break
  done
}
wait_finished() {  # until no job is queued or running (limit: 600 s)
  for _ in $(seq 3000); do
    jobs=$(all_jobs)  # not piped into grep -q: with pipefail its early exit reads as failure
    grep -q '"state":"\(queued\|running\)"' <<<"$jobs" || return 0
    sleep 0.2
  done
  return 1
}

# (a) Status reads of one finished job, and /healthz as the baseline.
job=$(curl -fsS -X POST "$url/v1/jobs" -H 'Content-Type: application/json' -d @"$tmp/body.json" |
  jq -r .id)
until [ "$(state "$job")" = succeeded ]; do sleep 0.1; done
echo "== baseline: GET /healthz, 2 threads, 16 connections, ${secs}s"
wrk -t2 -c16 -d"${secs}s" --latency "$url/healthz" | tee "$out/wrk_healthz.txt"
echo "== status reads: GET /v1/jobs/$job, 2 threads, 16 connections, ${secs}s"
wrk -t2 -c16 -d"${secs}s" --latency "$url/v1/jobs/$job" | tee "$out/wrk_status.txt"

# (b) Submissions at 10x the job capacity, after the validate baseline.
lua=$(dirname "$0")/serve_load/count_status.lua
echo "== baseline: POST /v1/workflows/validate, 2 threads, $conns connections, ${secs}s"
BODY_FILE=$tmp/body.json WRK_PATH=/v1/workflows/validate wrk -t2 -c"$conns" -d"${secs}s" \
  --latency -s "$lua" "$url" | tee "$out/wrk_validate.txt"
echo "== submissions: POST /v1/jobs, 2 threads, $conns connections (capacity $capacity), ${secs}s"
mkdir -p "$tmp/ids"
BODY_FILE=$tmp/body.json IDS_DIR=$tmp/ids wrk -t2 -c"$conns" -d"${secs}s" --latency \
  -s "$lua" "$url" | tee "$out/wrk_submit.txt"
counts=$(grep '^COUNTS' "$out/wrk_submit.txt")
field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$counts"; }
accepted=$(field 201)
t0=$(date +%s.%N)
wait_finished || { echo "FAIL: jobs still unfinished after 600 s"; exit 1; }
drain_s=$(echo "$(date +%s.%N) - $t0" | bc)
all_jobs >"$out/jobs.jsonl"
total=$(wc -l <"$out/jobs.jsonl")
succeeded=$(grep -c '"state":"succeeded"' "$out/jobs.jsonl" || true)
kill -0 "$server_pid" || { echo "FAIL: the server died"; exit 1; }
curl -fsS "$url/healthz" >/dev/null && echo "server up after the load"
cat "$tmp"/ids/ids-*.txt | sort >"$out/accepted_ids.txt"
seen=$(wc -l <"$out/accepted_ids.txt")
missing=$(jq -r 'select(.state == "succeeded") | .id' "$out/jobs.jsonl" | sort |
  comm -23 "$out/accepted_ids.txt" - | wc -l)
# Submissions in flight when wrk stopped were accepted, but wrk never read their 201.
unseen=$((total - 1 - seen))
echo "accepted: $accepted 201s read by wrk ($seen ids); listed $total jobs (1 status job," \
  "$unseen accepted while wrk stopped), $succeeded succeeded; drained ${drain_s}s after wrk ended"
fail=0
[ "$seen" = "$accepted" ] && [ "$missing" = 0 ] && [ "$succeeded" = "$total" ] ||
  { echo "FAIL: $missing accepted jobs not listed as succeeded"; fail=1; }
[ "$unseen" -ge 0 ] && [ "$unseen" -le "$conns" ] ||
  { echo "FAIL: $unseen jobs listed beyond the 201s read (at most $conns in flight)"; fail=1; }
[ "$(field 429)" -gt 0 ] || { echo "FAIL: no 429 at 10x capacity"; fail=1; }
[ "$(field 429_without_retry_after)" = 0 ] || { echo "FAIL: 429 without Retry-After"; fail=1; }
[ "$(field other)" = 0 ] || { echo "FAIL: replies other than 201/429"; fail=1; }
kill -TERM "$server_pid"
wait "$server_pid" && echo "serve exited 0 after SIGTERM"
server_pid=
[ "$fail" = 0 ] && echo "serve_load: ok"
