#!/usr/bin/env bash
# Load benchmark of the OpenAI API of `agentrt serve` on loopback, CPU, tiny-calc
# (bench/RESULTS.md, issue 15), next to the same completions through the engine without HTTP:
#   (a) non-streaming POST /v1/chat/completions (one user message, max_tokens 8,
#       temperature 0) with wrk (bench/openai_load.lua) at each concurrency in $CLIENTS,
#       $SECONDS each: requests/s, latency p50/p99, server CPU per request;
#   (b) the same body with stream: true (bench/openai_ttft.mjs, Node fetch): requests/s,
#       time to the first SSE data chunk and to the first content chunk, p50/p99;
#   (c) overload: $OVERLOAD_CONNS connections (wrk, one thread each) on a server started
#       with $OVERLOAD_FLAGS (far above the completions it admits): 429s counted, latency
#       p50/p99/max of 200s and 429s, then /healthz and one completion must still answer
#       and the server must exit 0 on SIGTERM;
#   (d) the baseline, alternating with (a) in $ROUNDS rounds: bench/completion_direct_bench
#       (Runtime::start_completion, the same prompt tokens, max_tokens, threads, concurrency,
#       and a RocksDB KV tier as the server has).
# Then it prints server/direct ratios (per round: the machine's other work drifts).
# Usage: bench/openai_load.sh [AGENTRT=build-dev/cli/agentrt] [SECONDS=10]  (from the repo root)
# Env: CLIENTS="1 4 16", ROUNDS=3 (server and direct alternate, SECONDS each), THREADS=1
#      (engine threads, server and direct), OUT=dir (raw output),
#      DIRECT=build-bench/bench/completion_direct_bench, OVERLOAD_CONNS=512,
#      OVERLOAD_FLAGS="...", PERF=1 (perf profile of the server in round 1 of the last
#      concurrency: $OUT/server_cN_r1.json.perf.txt).
# Not autocannon: cpp-httplib closes a keep-alive connection after 5 requests, and autocannon
# 9 then times a request from a write lost on the closing socket: GET /healthz read p50
# 223 ms at 1 connection (wrk: 17 us) on the same server. wrk's own latency is not used
# either (coordinated-omission samples; see openai_load.lua).
set -euo pipefail
agentrt=$(realpath "${1:-build-dev/cli/agentrt}")
secs=${2:-10}
clients=${CLIENTS:-1 4 16}
threads=${THREADS:-1}
rounds=${ROUNDS:-3}
direct=${DIRECT:-build-bench/bench/completion_direct_bench}
overload_conns=${OVERLOAD_CONNS:-512}
overload_flags=${OVERLOAD_FLAGS:-}
model=$(realpath models/tiny-calc)
here=$(dirname "$0")
for tool in wrk node jq curl bc; do
  command -v "$tool" >/dev/null || { echo "$tool missing" >&2; exit 1; }
done
[ -x "$direct" ] || { echo "$direct missing: build the target completion_direct_bench" >&2; exit 1; }
tmp=$(mktemp -d /tmp/agentrt-openai-load.XXXXXX)
out=${OUT:-$tmp}
mkdir -p "$out"
# Private copies: a build during the run must not swap the binaries under it.
cp "$agentrt" "$tmp/agentrt" && agentrt=$tmp/agentrt
cp "$direct" "$tmp/direct" && direct=$tmp/direct
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$tmp/data" "$tmp/agentrt" "$tmp/direct" "$tmp/direct_store"
  [ "$out" = "$tmp" ] || rm -rf "$tmp"  # with OUT, the results are there
}
trap cleanup EXIT

# start_server NAME FLAGS...: sets server_pid and url; the log goes to $out/serve_NAME.log.
start_server() {
  local name=$1 port=
  shift
  rm -rf "$tmp/data"
  "$agentrt" serve --port 0 --data "$tmp/data" --model "$model" --threads "$threads" \
    --thinking off "$@" 2>"$out/serve_$name.log" &
  server_pid=$!
  for _ in $(seq 600); do
    port=$(sed -n 's/.*serving on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' \
      "$out/serve_$name.log" | head -1)
    [ -n "$port" ] && break
    kill -0 "$server_pid" || { cat "$out/serve_$name.log"; exit 1; }
    sleep 0.1
  done
  url=http://127.0.0.1:$port
  until curl -fsS "$url/readyz" >/dev/null 2>&1; do sleep 0.1; done
}
stop_server() {
  kill -TERM "$server_pid"
  if wait "$server_pid"; then echo "serve exited 0 after SIGTERM"; else
    echo "FAIL: serve exited $? after SIGTERM"; server_pid=; return 1; fi
  server_pid=
}

user='Sam has 13 stamps. Kate has 7 more stamps than Sam. How many stamps does Kate have?'
body=$(jq -cn --arg u "$user" \
  '{model: "tiny-calc", messages: [{role: "user", content: $u}], max_tokens: 8, temperature: 0}')
echo "$body" >"$tmp/body.json"
# wrk: bounded in time; a timeout far above any latency seen, so no reply is dropped.
load() {  # load CONNS SECONDS OUTFILE (one connection per wrk thread: see openai_load.lua)
  BODY_FILE=$tmp/body.json wrk -t"$1" -c"$1" -d"$2s" --timeout 120s -s "$here/openai_load.lua" \
    "$url" >"$3.txt" 2>&1 || { cat "$3.txt"; return 1; }
  sed -n 's/^RESULT //p' "$3.txt" >"$3"
}
# The server's own view (GET /metrics): sum and count of its e2e and TTFT histograms, which
# start once the body is parsed (api/openai_run.cpp) and end at the last token.
server_hist() {
  curl -fsS "$url/metrics" | awk '
    /^vllm:e2e_request_latency_seconds_sum/ {es = $2} /^vllm:e2e_request_latency_seconds_count/ {ec = $2}
    /^vllm:time_to_first_token_seconds_sum/ {ts = $2} /^vllm:time_to_first_token_seconds_count/ {tc = $2}
    END {printf "{\"e2e_sum\": %s, \"e2e_count\": %s, \"ttft_sum\": %s, \"ttft_count\": %s}\n",
      es + 0, ec + 0, ts + 0, tc + 0}'
}
hz=$(getconf CLK_TCK)
cpu_ms() { awk -v hz="$hz" '{print ($14 + $15) * 1000 / hz}' "/proc/$server_pid/stat"; }
summary() {  # one line of a wrk result (bench/openai_load.lua)
  jq -r 'def r: . * 100 | round / 100;
    "\(.ok_per_s | r) req/s (200s), latency p50 \(.latency_ms.p50 | r) ms p99" +
    " \(.latency_ms.p99 | r) ms max \(.latency_ms.max | r) ms; status \(.status | tojson);" +
    " socket errors \(.socket_errors | tojson)"' "$1"
}

start_server main
echo "== server: $agentrt, threads $threads, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
curl -fsS -X POST "$url/v1/chat/completions" -H 'Content-Type: application/json' -d "$body" |
  tee "$out/sample_reply.json" | jq -c '{choices: [.choices[] | {message, finish_reason}], usage}'
[ "$(jq .usage.completion_tokens "$out/sample_reply.json")" = 8 ] ||
  echo "WARNING: the reply does not have 8 completion tokens: server and direct differ"
load 1 2 "$out/warmup.json"
server_point() {  # server_point CONNS OUTFILE [perf]: wrk, the server's CPU and /metrics deltas
  local perf_pid='' h0 h1 cpu0 cpu1
  if [ "${3:-}" = perf ]; then
    perf record -F 499 -g -p "$server_pid" -o "$2.perf" -- sleep "$secs" >/dev/null 2>&1 &
    perf_pid=$!
  fi
  h0=$(server_hist)
  cpu0=$(cpu_ms)
  load "$1" "$secs" "$2"
  cpu1=$(cpu_ms)
  h1=$(server_hist)
  jq --argjson ms "$(echo "$cpu1 - $cpu0" | bc)" --argjson h0 "$h0" --argjson h1 "$h1" \
    '. + {server_cpu_ms: $ms,
          server_e2e_mean_ms: (1e3 * ($h1.e2e_sum - $h0.e2e_sum) / ($h1.e2e_count - $h0.e2e_count)),
          server_ttft_mean_ms: (1e3 * ($h1.ttft_sum - $h0.ttft_sum) / ($h1.ttft_count - $h0.ttft_count))}' \
    "$2" >"$tmp/point.json" && mv "$tmp/point.json" "$2"
  if [ -n "$perf_pid" ]; then
    wait "$perf_pid" || true
    perf report -i "$2.perf" --no-children --sort dso,sym -g none --stdio 2>/dev/null |
      grep -v '^#' | grep -v '^$' | head -150 >"$2.perf.txt" || true
  fi
  summary "$2"
  jq -r 'def r: . * 100 | round / 100; "server CPU \(.server_cpu_ms / .status["200"] | r) ms" +
    " per request; means: client \(.latency_ms.mean | r) ms, inside the server (/metrics)" +
    " e2e \(.server_e2e_mean_ms | r) ms, TTFT \(.server_ttft_mean_ms | r) ms"' "$2"
}
direct_point() {  # direct_point CLIENTS OUTFILE: the engine without HTTP, as the server has it
  rm -rf "$tmp/direct_store"
  "$direct" --model "$model" --threads "$threads" --seconds "$secs" --max-tokens 8 \
    --user "$user" --clients "$1" --kv-store "$tmp/direct_store" --json "$2" | sed -n '2,3p'
  rm -rf "$tmp/direct_store"
}
last=${clients##* }
for c in $clients; do
  # Server and direct alternate in rounds (the server idles meanwhile: ~1% of a core), so
  # that both see the same load from the machine's other work; ratios are per round.
  for r in $(seq "$rounds"); do
    echo "== (a) round $r: POST /v1/chat/completions, wrk $c connections, ${secs}s"
    perf=
    [ "${PERF:-0}" = 1 ] && [ "$c" = "$last" ] && [ "$r" = 1 ] && perf=perf
    server_point "$c" "$out/server_c${c}_r$r.json" $perf
    echo "== (d) round $r: the same completions without HTTP, $c clients, ${secs}s"
    direct_point "$c" "$out/direct_c${c}_r$r.json"
  done
  # The HTTP layer alone under the same conditions: GET /healthz, c connections, 3 s.
  WRK_PATH=/healthz wrk -t"$c" -c"$c" -d3s -s "$here/openai_load.lua" "$url" |
    sed -n 's/^RESULT //p' >"$out/healthz_c$c.json"
  jq -r 'def r: . * 1000 | round / 1000; "GET /healthz, \(.replies / .seconds | round) req/s," +
    " latency p50 \(.latency_ms.p50 | r) ms p99 \(.latency_ms.p99 | r) ms" +
    " mean \(.latency_ms.mean | r) ms"' "$out/healthz_c$c.json"
  echo "== (b) the same, stream: true, node fetch, $c clients, ${secs}s"
  h0=$(server_hist)
  node "$here/openai_ttft.mjs" --url "$url" --clients "$c" --seconds "$secs" >"$tmp/point.json"
  h1=$(server_hist)
  jq --argjson h0 "$h0" --argjson h1 "$h1" \
    '. + {server_ttft_mean_ms: (1e3 * ($h1.ttft_sum - $h0.ttft_sum) / ($h1.ttft_count - $h0.ttft_count)),
          server_e2e_mean_ms: (1e3 * ($h1.e2e_sum - $h0.e2e_sum) / ($h1.e2e_count - $h0.e2e_count))}' \
    "$tmp/point.json" | tee "$out/stream_c$c.json" | jq -r 'def r: . * 100 | round / 100;
    "\(.requests_per_s | r) req/s, first chunk p50 \(.first_chunk.p50_ms | r) ms p99" +
    " \(.first_chunk.p99_ms | r) ms, first token p50 \(.first_token.p50_ms | r) ms p99" +
    " \(.first_token.p99_ms | r) ms, e2e p50 \(.e2e.p50_ms | r) ms p99 \(.e2e.p99_ms | r) ms;" +
    " status \(.status) errors \(.errors) not_done \(.not_done); means: client TTFT" +
    " \(.first_token_mean_ms | r) ms, inside the server \(.server_ttft_mean_ms | r) ms;" +
    " client CPU \(.client_cpu_ms / .requests | r) ms/request"'
done
curl -fsS "$url/metrics" >"$out/metrics_after_load.txt" || true
stop_server

echo "== (c) overload: $overload_conns connections, ${secs}s, serve flags: ${overload_flags:-none}"
# shellcheck disable=SC2086  # the flags are words
start_server overload $overload_flags
server_point "$overload_conns" "$out/overload.json"
jq -r 'def r: . * 100 | round / 100; "latency by status: \(.by_status_ms | tojson)"' \
  "$out/overload.json"
fail=0
kill -0 "$server_pid" 2>/dev/null || { echo "FAIL: the server died under overload"; exit 1; }
if curl -fsS "$url/healthz" >/dev/null; then echo "server answers /healthz after the overload"
else echo "FAIL: no /healthz after the overload"; fail=1; fi
if curl -fsS -X POST "$url/v1/chat/completions" -H 'Content-Type: application/json' \
  -d "$body" | jq -e '.choices[0].finish_reason' >/dev/null; then echo "and a completion"
else echo "FAIL: no completion after the overload"; fail=1; fi
[ "$(jq '.status["429"]' "$out/overload.json")" -gt 0 ] ||
  { echo "FAIL: no 429 at $overload_conns connections"; fail=1; }
[ "$(jq '.["429_without_retry_after"]' "$out/overload.json")" = 0 ] ||
  { echo "FAIL: 429 without Retry-After"; fail=1; }
[ "$(jq '.status.other' "$out/overload.json")" = 0 ] ||
  { echo "FAIL: replies other than 200/429"; fail=1; }
[ "$(jq '.socket_errors | .connect + .read + .write + .timeout' "$out/overload.json")" = 0 ] ||
  { echo "FAIL: socket errors"; fail=1; }
curl -fsS "$url/metrics" >"$out/metrics_after_overload.txt" || true
stop_server || fail=1

# Medians over the rounds; ratios are per round (median, then the range).
echo "== server / direct, $rounds rounds of ${secs}s each (medians; ratio: median [min-max] of the rounds')"
printf '%7s %10s %10s %20s %16s %16s %16s %16s\n' clients "srv req/s" "dir req/s" "req/s ratio" \
  "e2e p50 srv/dir" "e2e p99 srv/dir" "CPU/req srv/dir" "CPU/req ratio"
for c in $clients; do
  jq -rn --argjson s "$(jq -s . "$out"/server_c"${c}"_r*.json)" \
    --argjson d "$(jq -s '[.[] | .points[0]]' "$out"/direct_c"${c}"_r*.json)" --argjson c "$c" '
    def r: . * 100 | round / 100;
    def med: sort | .[(length - 1) / 2 | floor];
    def spread: "\(med | r)x [\(min | r)-\(max | r)]";
    [range($s | length)] as $i |
    [$c, ([$s[].ok_per_s] | med | r), ([$d[].requests_per_s] | med | r),
     ([$i[] | $s[.].ok_per_s / $d[.].requests_per_s] | spread),
     "\([$s[].latency_ms.p50] | med | r)/\([$d[].e2e_p50_ms] | med | r)",
     "\([$s[].latency_ms.p99] | med | r)/\([$d[].e2e_p99_ms] | med | r)",
     "\([$s[] | .server_cpu_ms / .status["200"]] | med | r)/\([$d[].cpu_ms_per_request] | med | r)",
     ([$i[] | ($s[.].server_cpu_ms / $s[.].status["200"]) / $d[.].cpu_ms_per_request] | spread)] |
    @tsv' | awk -F'\t' '{printf "%7s %10s %10s %20s %16s %16s %16s %16s\n", $1, $2, $3, $4, $5, $6, $7, $8}'
done
echo "== where the time goes, ms (medians of the rounds): e2e means: wrk client, inside the server (/metrics), direct | TTFT: streaming client p50/p99 (node), inside the server (mean), direct p50/p99"
printf '%7s %10s %10s %10s | %16s %12s %16s\n' clients "client" "server" "direct" \
  "stream client" "server" "direct"
for c in $clients; do
  jq -rn --argjson s "$(jq -s . "$out"/server_c"${c}"_r*.json)" \
    --argjson d "$(jq -s '[.[] | .points[0]]' "$out"/direct_c"${c}"_r*.json)" \
    --slurpfile t "$out/stream_c$c.json" --argjson c "$c" '
    def r: . * 100 | round / 100;
    def med: sort | .[(length - 1) / 2 | floor];
    [$c, ([$s[].latency_ms.mean] | med | r), ([$s[].server_e2e_mean_ms] | med | r),
     ([$d[].e2e_mean_ms] | med | r),
     "\($t[0].first_token.p50_ms | r)/\($t[0].first_token.p99_ms | r)",
     ($t[0].server_ttft_mean_ms | r),
     "\([$d[].ttft_p50_ms] | med | r)/\([$d[].ttft_p99_ms] | med | r)"] | @tsv' |
    awk -F'\t' '{printf "%7s %10s %10s %10s | %16s %12s %16s\n", $1, $2, $3, $4, $5, $6, $7}'
done
echo "raw output: $out"
[ "$fail" = 0 ] && echo "openai_load: ok"
